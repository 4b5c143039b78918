/**
 * The two doors as the contract suite sees them: something that can `call` and that records the
 * events it receives. The WebSocket door is the real server over loopback; the IPC door is the
 * real routing module driven through a fake ipcMain and fake WebContents.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { ServerMessage, IPC_CALL, IPC_EVENT } from '../../../shared/contract/wire'
import type { ContractError } from '../../../shared/contract'
import { createServices, type Services } from '../../../main/services'
import { memorySettingsStore } from '../../../main/services/settings'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { startWebServer, type WebServer } from '../../../main/web/server'
import { openIpcDoor, type IpcEnvelope, type IpcInvokeEventLike, type IpcMainLike, type WebContentsLike } from '../../../main/app/ipc-door'
import { FakePools } from './fake-pools'

export type CallOutcome = { ok: true; result: unknown } | { ok: false; error: ContractError }
export interface ReceivedEvent {
  event: string
  payload: unknown
}

export interface DoorUnderTest {
  pools: FakePools
  services: Services
  call(method: string, args?: unknown): Promise<CallOutcome>
  events: ReceivedEvent[]
  /** resolves with the first recorded event (past or future) matching; rejects after timeoutMs */
  waitForEvent(pred: (e: ReceivedEvent) => boolean, timeoutMs?: number): Promise<ReceivedEvent>
  close(): Promise<void>
}

function makeServices(mode: 'browser' | 'electron'): { pools: FakePools; services: Services } {
  const pools = new FakePools()
  const services = createServices({
    pools,
    settings: memorySettingsStore(),
    keychain: memoryKeychainStatus(),
    app: { name: 'XenPilot', version: '0.0.0-test', mode, versions: { node: process.versions.node } },
  })
  return { pools, services }
}

function eventRecorder(): { events: ReceivedEvent[]; push(e: ReceivedEvent): void; waitForEvent: DoorUnderTest['waitForEvent'] } {
  const events: ReceivedEvent[] = []
  const waiters = new Set<{ pred: (e: ReceivedEvent) => boolean; resolve: (e: ReceivedEvent) => void }>()
  return {
    events,
    push(e) {
      events.push(e)
      for (const w of waiters) if (w.pred(e)) (waiters.delete(w), w.resolve(e))
    },
    waitForEvent(pred, timeoutMs = 10_000) {
      const past = events.find(pred)
      if (past) return Promise.resolve(past)
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (e: ReceivedEvent) => (clearTimeout(t), resolve(e)) }
        const t = setTimeout(() => (waiters.delete(w), reject(new Error(`no matching event within ${timeoutMs} ms; got ${events.map((x) => x.event).join(', ') || 'none'}`))), timeoutMs)
        waiters.add(w)
      })
    },
  }
}

export interface WsDoor extends DoorUnderTest {
  server: WebServer
  staticDir: string
}

export async function openWsDoor(): Promise<WsDoor> {
  const { pools, services } = makeServices('browser')
  const staticDir = mkdtempSync(join(tmpdir(), 'xenpilot-static-'))
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>XenPilot</title><script type="module" src="./app.js"></script>')
  const server = await startWebServer({ services, staticDir })
  const ws = await openSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, server.origin)
  const rec = eventRecorder()
  const pending = new Map<number, (o: CallOutcome) => void>()
  let nextId = 1
  ws.on('message', (data) => {
    const msg = ServerMessage.parse(JSON.parse(String(data)))
    if (msg.t === 'event') rec.push({ event: msg.event, payload: msg.payload })
    else {
      const p = pending.get(msg.id)
      pending.delete(msg.id)
      p?.(msg.t === 'result' ? { ok: true, result: msg.result } : { ok: false, error: msg.error })
    }
  })
  return {
    pools,
    services,
    server,
    staticDir,
    events: rec.events,
    waitForEvent: rec.waitForEvent,
    call(method, args) {
      const id = nextId++
      return new Promise((resolve) => {
        pending.set(id, resolve)
        ws.send(JSON.stringify({ t: 'call', id, method, args: args === undefined ? {} : args }))
      })
    },
    async close() {
      ws.close()
      await server.close()
      await services.close()
      rmSync(staticDir, { recursive: true, force: true })
    },
  }
}

/** A WebSocket client that resolves once open, or rejects with the HTTP status the server refused with. */
export function openSocket(url: string, origin: string | undefined, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { ...(origin !== undefined ? { Origin: origin } : {}), ...headers } })
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`refused with HTTP ${res.statusCode}`), { status: res.statusCode }))
      res.resume()
    })
    ws.once('error', reject)
  })
}

export class FakeWebContents implements WebContentsLike {
  private static nextId = 1
  readonly id = FakeWebContents.nextId++
  readonly sent: { channel: string; args: unknown[] }[] = []
  destroyed = false
  private destroyedCbs: (() => void)[] = []
  constructor(private readonly onSend?: (channel: string, args: unknown[]) => void) {}
  send(channel: string, ...args: unknown[]): void {
    // Electron serialises IPC payloads with the structured clone algorithm: copy like it does.
    const copy = structuredClone(args)
    this.sent.push({ channel, args: copy })
    this.onSend?.(channel, copy)
  }
  isDestroyed(): boolean {
    return this.destroyed
  }
  once(_event: 'destroyed', listener: () => void): void {
    this.destroyedCbs.push(listener)
  }
  destroy(): void {
    this.destroyed = true
    for (const cb of this.destroyedCbs.splice(0)) cb()
  }
}

export class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<unknown> | unknown>()
  handle(channel: string, listener: (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<unknown> | unknown): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
    this.handlers.set(channel, listener)
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel)
  }
  /** what ipcRenderer.invoke does: structured-clone the args, run the handler, clone the answer */
  async invoke(sender: WebContentsLike, frameUrl: string | null, channel: string, ...args: unknown[]): Promise<unknown> {
    const h = this.handlers.get(channel)
    if (!h) throw new Error(`No handler registered for '${channel}'`)
    const event: IpcInvokeEventLike = { sender, senderFrame: frameUrl === null ? null : { url: frameUrl } }
    return structuredClone(await h(event, ...structuredClone(args)))
  }
}

export const APP_PAGE = 'file:///opt/XenPilot/resources/app.asar/out/renderer/index.html'

export interface IpcDoorUnderTest extends DoorUnderTest {
  ipcMain: FakeIpcMain
  webContents: FakeWebContents
}

export async function openIpcDoorForTest(): Promise<IpcDoorUnderTest> {
  const { pools, services } = makeServices('electron')
  const ipcMain = new FakeIpcMain()
  const rec = eventRecorder()
  const webContents = new FakeWebContents((channel, args) => {
    if (channel === IPC_EVENT) rec.push({ event: String(args[0]), payload: args[1] })
  })
  const door = openIpcDoor({ ipcMain, services, isTrustedUrl: (u) => u.split('?')[0] === APP_PAGE })
  return {
    pools,
    services,
    ipcMain,
    webContents,
    events: rec.events,
    waitForEvent: rec.waitForEvent,
    async call(method, args) {
      return (await ipcMain.invoke(webContents, APP_PAGE, IPC_CALL, method, args === undefined ? {} : args)) as IpcEnvelope
    },
    async close() {
      webContents.destroy()
      door.close()
      await services.close()
    },
  }
}
