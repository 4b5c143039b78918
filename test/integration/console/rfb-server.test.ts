/**
 * The simulator's RFB server, spoken to over plain TCP the way XAPI's backends are: vncterm (3.3)
 * and QEMU (3.8), answered by a 3.3 client (XenCenter) or a 3.8 client (noVNC).
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { attachConsole, simScreens, type ConsoleTarget } from '../../sim/rfb'
import { RfbTestClient } from '../../sim/rfb/client'
import { startXvnc, xvncAvailable, type XvncHandle } from '../../sim/rfb/xvnc'

const servers: Server[] = []
const clients: RfbTestClient[] = []
const xvncs: XvncHandle[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
  for (const x of xvncs.splice(0)) await x.stop()
  simScreens.clear()
})

async function serve(target: ConsoleTarget, opts: { extendedKeys?: boolean } = {}): Promise<RfbTestClient> {
  const srv = createServer((sock) => attachConsole(sock, target))
  servers.push(srv)
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const addr = srv.address()
  if (!addr || typeof addr !== 'object') throw new Error('no address')
  const sock: Socket = connect({ host: '127.0.0.1', port: addr.port })
  const client = new RfbTestClient(sock, opts)
  clients.push(client)
  return client
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const uuid = '3f1c0a52-8d0e-4c1e-9f00-5a1b2c3d4e5f'

describe('simulated RFB server', () => {
  it('greets as vncterm with RFB 3.3, picks security None itself and names the VM in ServerInit', async () => {
    const c = await serve({ kind: 'sim', vmUuid: uuid, name: 'Control domain on host-1', protocol: '3.3' })
    const init = await c.handshake('3.8')
    expect(init.serverVersion).toBe('003.003')
    expect(init.clientVersion).toBe('003.003')
    expect(init.name).toBe('Control domain on host-1')
    expect([init.width, init.height]).toEqual([800, 600])
    await c.refresh()
    // background plus the white title: the screen is not blank
    expect(c.colours().size).toBeGreaterThan(2)
    expect(c.colours().has(0xffffff)).toBe(true)
    expect(simScreens.get(uuid)?.lastProtocol).toBe('3.3')
  })

  it('greets as QEMU with RFB 3.8, offers None and confirms with a SecurityResult', async () => {
    const c = await serve({ kind: 'sim', vmUuid: uuid, name: 'web-01', protocol: '3.8' })
    const init = await c.handshake('3.8')
    expect(init.serverVersion).toBe('003.008')
    expect(init.clientVersion).toBe('003.008')
    expect(init.name).toBe('web-01')
    expect(simScreens.get(uuid)?.lastProtocol).toBe('3.8')
  })

  it('accepts the 3.3 answer XenCenter always sends to a 3.8 server', async () => {
    const c = await serve({ kind: 'sim', vmUuid: uuid, name: 'web-01', protocol: '3.8' })
    const init = await c.handshake('3.3')
    expect(init.serverVersion).toBe('003.008')
    expect(init.clientVersion).toBe('003.003')
    await c.refresh()
    expect(c.colours().has(0xffffff)).toBe(true)
    expect(simScreens.get(uuid)?.lastProtocol).toBe('3.3')
  })

  it('records typed keys, shows them on screen and pushes the change to a waiting client', async () => {
    const c = await serve({ kind: 'sim', vmUuid: uuid, name: 'web-01', protocol: '3.8' })
    await c.handshake()
    await c.refresh()
    const before = c.pixels.slice()
    const changed = c.nextUpdate()
    c.requestUpdate(true)
    for (const ch of 'root') c.tap(ch.charCodeAt(0))
    c.tap(0xff0d)
    await changed
    const screen = simScreens.get(uuid)
    await until(() => (screen?.keysyms.length ?? 0) === 10, 'ten key events')
    expect(screen?.text).toBe('root\n')
    expect(screen?.keysyms.slice(0, 2)).toEqual([
      { keysym: 0x72, down: true },
      { keysym: 0x72, down: false },
    ])
    expect(c.pixels).not.toEqual(before)
    // green typed text is on the screen now
    await c.refresh()
    expect(c.colours().has(0x8ae234)).toBe(true)
  })

  it('follows a guest resolution change with a DesktopSize update', async () => {
    const c = await serve({ kind: 'sim', vmUuid: uuid, name: 'win-01', protocol: '3.8' })
    await c.handshake()
    await c.refresh()
    const resized = c.nextUpdate()
    c.requestUpdate(true)
    simScreens.get(uuid)?.resize(1024, 768)
    await resized
    expect([c.width, c.height]).toEqual([1024, 768])
    const full = c.nextUpdate()
    c.requestUpdate(true)
    await full
    expect(c.colours().has(0xffffff)).toBe(true)
  })

  it('carries cut text both ways', async () => {
    const c = await serve({ kind: 'sim', vmUuid: uuid, name: 'web-01', protocol: '3.8' })
    await c.handshake()
    c.cutText('from the client')
    await until(() => simScreens.get(uuid)?.cutText.length === 1, 'ClientCutText')
    expect(simScreens.get(uuid)?.cutText).toEqual(['from the client'])
    simScreens.get(uuid)?.setGuestClipboard('from the guest')
    await until(() => c.cutTexts.length === 1, 'ServerCutText')
    expect(c.cutTexts).toEqual(['from the guest'])
  })

  it('closes console connections when the VM reboots, and the screen comes back empty', async () => {
    const c = await serve({ kind: 'sim', vmUuid: uuid, name: 'web-01', protocol: '3.8' })
    await c.handshake()
    c.tap(0x61)
    await until(() => simScreens.get(uuid)?.text === 'a', 'typed a')
    simScreens.get(uuid)?.reboot()
    await until(() => c.closed, 'connection closed')
    expect(simScreens.get(uuid)?.text).toBe('')
  })

  it('offers QEMU extended key events on 3.8 screens and records their scancodes', async () => {
    const rfb = await serve({ kind: 'sim', vmUuid: uuid, name: 'win-01', protocol: '3.8' }, { extendedKeys: true })
    await rfb.handshake()
    await until(() => rfb.extendedKeys, 'the extended key event acknowledgement')
    rfb.scancodeKey(0x7a, 0x15, true) // "z" typed with the key US keyboards label Y (a German guest)
    rfb.scancodeKey(0x7a, 0x15, false)
    const screen = simScreens.get(uuid)
    await until(() => screen?.scancodes.length === 2, 'two scancode events')
    expect(screen?.scancodes).toEqual([
      { scancode: 0x15, keysym: 0x7a, down: true },
      { scancode: 0x15, keysym: 0x7a, down: false },
    ])
    expect(screen?.text).toBe('z')
  })

  it('does not offer them on vncterm (3.3) screens', async () => {
    const rfb = await serve({ kind: 'sim', vmUuid: uuid, name: 'dom0', protocol: '3.3' }, { extendedKeys: true })
    await rfb.handshake()
    await rfb.refresh()
    expect(rfb.extendedKeys).toBe(false)
  })

  it('drops a client that speaks garbage', async () => {
    const c = await serve({ kind: 'sim', vmUuid: uuid, name: 'web-01', protocol: '3.8' })
    await c.read(12)
    c.socket.write('HTTP/1.1 GET\n')
    await until(() => c.closed, 'connection closed')
  })
})

describe.runIf(xvncAvailable())('tcp target (real Xvnc)', () => {
  it('pipes the bytes of a real VNC server unchanged', async () => {
    const x = await startXvnc({ desktop: 'real-xvnc' })
    xvncs.push(x)
    const c = await serve({ kind: 'tcp', host: x.host, port: x.port })
    const init = await c.handshake('3.8')
    expect(init.serverVersion).toBe('003.008')
    expect(init.name).toContain('real-xvnc')
    expect([init.width, init.height]).toEqual([800, 600])
    await c.refresh()
    expect(c.updates).toBeGreaterThan(0)
  })
})
