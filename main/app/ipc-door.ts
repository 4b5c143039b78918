/**
 * Electron's door, without Electron: the routing and validation behind `ipcMain.handle`, written
 * against the few members of ipcMain / WebContents it uses so tests drive it with fakes
 * (test/integration/contract runs the same suite against this door and the WebSocket one).
 *
 *   preload: ipcRenderer.invoke(IPC_CALL, method, args)  ──▶  handle(): sender frame checked,
 *            ◀── { ok: true, result } | { ok: false, error: ContractError }     session.call(…)
 *   main:    webContents.send(IPC_EVENT, event, payload)  (one ServiceSession per WebContents)
 *
 * Results travel in an envelope because Electron flattens a thrown error into a string; the
 * preload turns `{ ok: false }` back into a rejected ContractError.
 */
import { pathToFileURL } from 'node:url'
import type { ContractError } from '../../shared/contract'
import { IPC_CALL, IPC_EVENT } from '../../shared/contract/wire'
import { ServiceError, toContractError } from '../services/errors'
import type { EventSink, ServiceSession, Services } from '../services'

export type IpcEnvelope = { ok: true; result: unknown } | { ok: false; error: ContractError }

export interface WebContentsLike {
  readonly id: number
  send(channel: string, ...args: unknown[]): void
  isDestroyed(): boolean
  once(event: 'destroyed', listener: () => void): unknown
}

export interface IpcInvokeEventLike {
  readonly sender: WebContentsLike
  /** null when the frame navigated away or was destroyed before the message was handled */
  readonly senderFrame: { readonly url: string } | null
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<unknown> | unknown): void
  removeHandler(channel: string): void
}

export interface IpcDoorOptions {
  ipcMain: IpcMainLike
  services: Services
  /** is this the app's own page? (file:// of the packaged renderer, or the dev server URL) */
  isTrustedUrl(url: string): boolean
  log?: (line: string) => void
}

export interface IpcDoor {
  /** open sessions (one per WebContents that has called at least once) */
  sessionCount(): number
  close(): void
}

const MAX_METHOD_NAME = 128

export function openIpcDoor(opts: IpcDoorOptions): IpcDoor {
  const log = opts.log ?? (() => {})
  const sessions = new Map<number, ServiceSession>()

  function sessionFor(sender: WebContentsLike): ServiceSession {
    const existing = sessions.get(sender.id)
    if (existing) return existing
    const emit: EventSink = (event, payload) => {
      if (!sender.isDestroyed()) sender.send(IPC_EVENT, event, payload)
    }
    const session = opts.services.openSession(emit)
    sessions.set(sender.id, session)
    sender.once('destroyed', () => {
      session.close()
      sessions.delete(sender.id)
    })
    return session
  }

  opts.ipcMain.handle(IPC_CALL, async (event: IpcInvokeEventLike, ...rest: unknown[]): Promise<IpcEnvelope> => {
    const frameUrl = event.senderFrame?.url
    if (typeof frameUrl !== 'string' || !opts.isTrustedUrl(frameUrl)) {
      log(`ipc: refused a call from ${frameUrl === undefined ? 'a destroyed frame' : JSON.stringify(frameUrl)}`)
      return fail(new ServiceError('forbidden', 'This page is not XenPilot’s own window; the call was refused.'))
    }
    const [method, args, ...extra] = rest
    if (typeof method !== 'string' || method.length === 0 || method.length > MAX_METHOD_NAME) {
      return fail(new ServiceError('bad-message', 'The call did not name a method.'))
    }
    if (extra.length > 0) return fail(new ServiceError('bad-message', `${method} was called with more than one argument object.`))
    try {
      return { ok: true, result: await sessionFor(event.sender).call(method, args) }
    } catch (err) {
      return fail(err)
    }
  })

  return {
    sessionCount: () => sessions.size,
    close() {
      opts.ipcMain.removeHandler(IPC_CALL)
      for (const s of sessions.values()) s.close()
      sessions.clear()
    },
  }
}

function fail(err: unknown): IpcEnvelope {
  return { ok: false, error: toContractError(err) }
}

/**
 * The pages allowed to use the API: exactly the packaged renderer's index.html (a file:// URL,
 * query and hash ignored) or, in development, any page of the electron-vite dev server's origin.
 */
export function trustedUrlMatcher(opts: { rendererFile?: string; devServerUrl?: string }): (url: string) => boolean {
  const filePath = opts.rendererFile ? pathToFileURL(opts.rendererFile).pathname : undefined
  const devOrigin = opts.devServerUrl ? new URL(opts.devServerUrl).origin : undefined
  return (url: string) => {
    let u: URL
    try {
      u = new URL(url)
    } catch {
      return false
    }
    if (u.protocol === 'file:') return filePath !== undefined && u.host === '' && u.pathname === filePath
    if (u.protocol === 'http:' || u.protocol === 'https:') return devOrigin !== undefined && u.origin === devOrigin
    return false
  }
}
