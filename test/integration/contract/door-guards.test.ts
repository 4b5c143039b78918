/**
 * What each door refuses before a call reaches the services: the WebSocket door checks token,
 * Origin and message shape; the IPC door checks the sending frame and the call's shape.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type WebSocket from 'ws'
import { ServerMessage, IPC_CALL } from '../../../shared/contract/wire'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PoolDiff } from '../../../shared/model/diff'
import { createServices } from '../../../main/services'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { memorySettingsStore } from '../../../main/services/settings'
import { startWebServer } from '../../../main/web/server'
import { APP_PAGE, openIpcDoorForTest, openSocket, openWsDoor, FakeWebContents, type IpcDoorUnderTest, type WsDoor } from './doors'
import { FakePools } from './fake-pools'

function nextMessage(ws: WebSocket): Promise<ServerMessage> {
  return new Promise((resolve) => ws.once('message', (d) => resolve(ServerMessage.parse(JSON.parse(String(d))))))
}

describe('the browser-mode WebSocket door', () => {
  let door: WsDoor | undefined
  const sockets: WebSocket[] = []
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.terminate()
    await door?.close()
    door = undefined
  })

  async function client(): Promise<WebSocket> {
    if (!door) throw new Error('door not open')
    const ws = await openSocket(`ws://127.0.0.1:${door.server.port}/api?token=${door.server.token}`, door.server.origin)
    sockets.push(ws)
    return ws
  }

  it('refuses a WebSocket without the token, or with a wrong one, with 403', async () => {
    door = await openWsDoor()
    const { port, origin, token } = door.server
    await expect(openSocket(`ws://127.0.0.1:${port}/api`, origin)).rejects.toMatchObject({ status: 403 })
    await expect(openSocket(`ws://127.0.0.1:${port}/api?token=${token.slice(0, -1)}x`, origin)).rejects.toMatchObject({ status: 403 })
    await expect(openSocket(`ws://127.0.0.1:${port}/api?token=${token}${token}`, origin)).rejects.toMatchObject({ status: 403 })
    expect(door.server.clientCount()).toBe(1) // only the suite's own, properly authorised client
  })

  it('refuses a WebSocket with the right token from another Origin, or with no Origin at all', async () => {
    door = await openWsDoor()
    const { port, token } = door.server
    const url = `ws://127.0.0.1:${port}/api?token=${token}`
    await expect(openSocket(url, 'http://evil.example')).rejects.toMatchObject({ status: 403 })
    await expect(openSocket(url, `http://localhost:${port}`)).rejects.toMatchObject({ status: 403 })
    await expect(openSocket(url, 'null')).rejects.toMatchObject({ status: 403 })
    await expect(openSocket(url, undefined)).rejects.toMatchObject({ status: 403 })
    expect(door.server.clientCount()).toBe(1) // only the suite's own, properly authorised client
  })

  it('refuses a WebSocket that names another Host (DNS rebinding)', async () => {
    door = await openWsDoor()
    const { port, token, origin } = door.server
    await expect(openSocket(`ws://127.0.0.1:${port}/api?token=${token}`, origin, { Host: `attacker.example:${port}` })).rejects.toMatchObject({ status: 403 })
  })

  it('refuses WebSocket upgrades on any other path', async () => {
    door = await openWsDoor()
    const { port, token, origin } = door.server
    await expect(openSocket(`ws://127.0.0.1:${port}/console?token=${token}`, origin)).rejects.toMatchObject({ status: 404 })
  })

  it('answers a message that is not JSON with a bad-message error and keeps the socket open', async () => {
    door = await openWsDoor()
    const ws = await client()
    const reply = nextMessage(ws)
    ws.send('{"t":"call",')
    expect(await reply).toMatchObject({ t: 'error', id: -1, error: { code: 'bad-message', message: 'The message was not valid JSON.' } })
    const ok = nextMessage(ws)
    ws.send(JSON.stringify({ t: 'call', id: 7, method: 'app.info', args: {} }))
    expect(await ok).toMatchObject({ t: 'result', id: 7 })
  })

  it('answers a JSON message that is not a call, echoing its id when it has one', async () => {
    door = await openWsDoor()
    const ws = await client()
    let reply = nextMessage(ws)
    ws.send(JSON.stringify({ t: 'call', id: 3, args: {} }))
    const r1 = await reply
    expect(r1).toMatchObject({ t: 'error', id: 3, error: { code: 'bad-message' } })
    expect(r1.t === 'error' && r1.error.message).toContain('method')
    reply = nextMessage(ws)
    ws.send(JSON.stringify([1, 2, 3]))
    expect(await reply).toMatchObject({ t: 'error', id: -1, error: { code: 'bad-message' } })
    reply = nextMessage(ws)
    ws.send(Buffer.from([1, 2, 3]), { binary: true })
    expect(await reply).toMatchObject({ t: 'error', id: -1, error: { code: 'bad-message' } })
  })

  it('closes a socket that sends a message larger than the limit instead of buffering it', async () => {
    door = await openWsDoor()
    const ws = await client()
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    ws.send(JSON.stringify({ t: 'call', id: 1, method: 'app.info', args: { pad: 'x'.repeat(2 * 1024 * 1024) } }))
    expect(await closed).toBe(1009)
  })

  it('closes (1013) a client that stops reading instead of buffering diffs for it without end', async () => {
    const pools = new FakePools()
    const services = createServices({ pools, settings: memorySettingsStore(), keychain: memoryKeychainStatus(), app: { name: 'XenPilot', version: 't', mode: 'browser', versions: {} } })
    const staticDir = mkdtempSync(join(tmpdir(), 'xenpilot-slow-'))
    const server = await startWebServer({ services, staticDir, maxBufferedBytes: 4 * 1024 * 1024 })
    try {
      const ws = await openSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, server.origin)
      sockets.push(ws)
      const subscribed = nextMessage(ws)
      ws.send(JSON.stringify({ t: 'call', id: 1, method: 'objects.subscribe', args: {} }))
      await subscribed
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
      ws.pause() // a frozen tab: nothing is read any more
      const big = 'x'.repeat(256 * 1024)
      const emit = (pools as unknown as { emitDiff(d: PoolDiff): void }).emitDiff.bind(pools)
      // bounded: kernel buffers absorb some megabytes first, then the server's queue grows past the limit
      for (let seq = 2; seq < 2000 && services.sessionCount() > 0 && server.clientCount() > 0; seq++) {
        emit({ connectionId: 'c', seq, reset: false, upserts: [{ cls: 'VM', ref: 'OpaqueRef:v', record: { name_label: big } }], removes: [] })
        if (seq % 50 === 0) await new Promise((r) => setTimeout(r, 10))
      }
      ws.resume()
      expect(await closed).toBe(1013)
    } finally {
      await server.close()
      await services.close()
      rmSync(staticDir, { recursive: true, force: true })
    }
  })

  it('ends the service session when the socket closes', async () => {
    door = await openWsDoor()
    const ws = await client()
    const before = door.services.sessionCount()
    expect(before).toBeGreaterThanOrEqual(2)
    ws.close()
    await expect.poll(() => door?.services.sessionCount(), { timeout: 10_000 }).toBe(before - 1)
  })
})

describe('the Electron IPC door', () => {
  let door: IpcDoorUnderTest | undefined
  afterEach(async () => {
    await door?.close()
    door = undefined
  })

  it('refuses calls from a frame that is not the app’s own page', async () => {
    door = await openIpcDoorForTest()
    for (const url of ['https://evil.example/', 'file:///tmp/evil.html', 'http://127.0.0.1:5173/', APP_PAGE.replace('index.html', 'other.html'), 'about:blank']) {
      const r = await door.ipcMain.invoke(door.webContents, url, IPC_CALL, 'connections.list', {})
      expect(r, url).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    }
    const destroyedFrame = await door.ipcMain.invoke(door.webContents, null, IPC_CALL, 'connections.list', {})
    expect(destroyedFrame).toMatchObject({ ok: false, error: { code: 'forbidden' } })
  })

  it('accepts the app page with a query or hash', async () => {
    door = await openIpcDoorForTest()
    const r = await door.ipcMain.invoke(door.webContents, `${APP_PAGE}?x=1`, IPC_CALL, 'app.info', {})
    expect(r).toMatchObject({ ok: true })
  })

  it('refuses a call without a method name, or with extra arguments', async () => {
    door = await openIpcDoorForTest()
    expect(await door.ipcMain.invoke(door.webContents, APP_PAGE, IPC_CALL, 42, {})).toMatchObject({ ok: false, error: { code: 'bad-message' } })
    expect(await door.ipcMain.invoke(door.webContents, APP_PAGE, IPC_CALL)).toMatchObject({ ok: false, error: { code: 'bad-message' } })
    expect(await door.ipcMain.invoke(door.webContents, APP_PAGE, IPC_CALL, 'app.info', {}, { sneaky: true })).toMatchObject({ ok: false, error: { code: 'bad-message' } })
  })

  it('keeps one session per window and ends it when the window is destroyed', async () => {
    door = await openIpcDoorForTest()
    const second = new FakeWebContents()
    await door.ipcMain.invoke(door.webContents, APP_PAGE, IPC_CALL, 'app.info', {})
    await door.ipcMain.invoke(second, APP_PAGE, IPC_CALL, 'app.info', {})
    await door.ipcMain.invoke(second, APP_PAGE, IPC_CALL, 'app.info', {})
    expect(door.services.sessionCount()).toBe(2)
    second.destroy()
    expect(door.services.sessionCount()).toBe(1)
  })
})
