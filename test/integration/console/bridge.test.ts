/**
 * The console bridge between a viewer's WebSocket and a host's CONNECT /console, against TLS
 * hosts that answer like XAPI's console handler and the simulator's RFB servers (3.3 and 3.8), plus
 * a real Xvnc. Each refusal must name what was wrong.
 */
import { IncomingMessage } from 'node:http'
import { Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, createWebSocketStream } from 'ws'
import { ConsoleBridge } from '../../../main/console/bridge'
import { ConsoleError } from '../../../main/console/errors'
import { simScreens } from '../../sim/rfb'
import { RfbTestClient } from '../../sim/rfb/client'
import { startXvnc, xvncAvailable, type XvncHandle } from '../../sim/rfb/xvnc'
import { FakeSource, makeCert, startFakeHost, type Cert, type FakeHost } from './fake-host'

const ORIGIN = 'http://127.0.0.1:5555'
const HOST_A = '127.0.0.1'
const HOST_B = '127.0.0.2'
const VM = 'OpaqueRef:0a000000-0000-4000-8000-000000000001'
const VM_UUID = '7d3c9a40-1b2e-4f00-9a11-000000000001'
const CONSOLE = 'OpaqueRef:c0000000-0000-4000-8000-000000000001'
const DOM0 = 'OpaqueRef:0d000000-0000-4000-8000-000000000001'
const DOM0_CONSOLE = 'OpaqueRef:c0000000-0000-4000-8000-0000000000d0'
const HOST_REF = 'OpaqueRef:40000000-0000-4000-8000-00000000000a'

let certA: Cert
let certB: Cert
const cleanups: (() => Promise<void> | void)[] = []

beforeAll(() => {
  certA = makeCert('host-a')
  certB = makeCert('host-b')
})

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
  simScreens.clear()
})

interface Rig {
  bridge: ConsoleBridge
  source: FakeSource
  hostA: FakeHost
  hostB: FakeHost
  sessions: Set<string>
  ended: { consoleId: string; reason: string }[]
}

async function rig(opts: { tokenTtlMs?: number } = {}): Promise<Rig> {
  const sessions = new Set(['OpaqueRef:session-1'])
  const hostA = await startFakeHost({ address: HOST_A, cert: certA, validSessions: sessions })
  const hostB = await startFakeHost({ address: HOST_B, cert: certB, validSessions: sessions })
  cleanups.push(() => hostA.close(), () => hostB.close())
  const source = new FakeSource()
  source.hosts.set(HOST_A, { port: hostA.port, pinned: certA.fingerprint256 })
  source.hosts.set(HOST_B, { port: hostB.port, pinned: certB.fingerprint256 })
  source.vms.set(VM, {
    connectionId: 'c1',
    vmRef: VM,
    vmUuid: VM_UUID,
    vmName: 'web-01',
    consoleRef: CONSOLE,
    hostRef: HOST_REF,
    hostName: 'host-a',
    hostAddress: HOST_A,
    isControlDomain: false,
    power_state: 'Running',
  })
  source.vms.set(DOM0, {
    connectionId: 'c1',
    vmRef: DOM0,
    vmUuid: 'dom0-uuid-a',
    vmName: 'Control domain on host: host-a',
    consoleRef: DOM0_CONSOLE,
    hostRef: HOST_REF,
    hostName: 'host-a',
    hostAddress: HOST_A,
    isControlDomain: true,
    power_state: 'Running',
  })
  hostA.consoles.set(CONSOLE, { kind: 'sim', vmUuid: VM_UUID, name: 'web-01', protocol: '3.8' })
  hostA.consoles.set(DOM0_CONSOLE, { kind: 'sim', vmUuid: 'dom0-uuid-a', name: 'Control domain on host: host-a', protocol: '3.3' })
  const ended: Rig['ended'] = []
  const bridge = new ConsoleBridge({ source, allowedOrigins: [ORIGIN], tokenTtlMs: opts.tokenTtlMs, onEnded: (consoleId, reason) => ended.push({ consoleId, reason }) })
  await bridge.listen()
  cleanups.push(() => bridge.stop())
  return { bridge, source, hostA, hostB, sessions, ended }
}

/** A viewer: WebSocket with the 'binary' subprotocol, as noVNC opens it. */
function openViewer(url: string, origin = ORIGIN): Promise<{ ws: WebSocket; rfb: RfbTestClient }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['binary'], { origin })
    ws.once('open', () => {
      const rfb = new RfbTestClient(createWebSocketStream(ws))
      cleanups.push(() => ws.terminate())
      resolve({ ws, rfb })
    })
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => reject(new Error(`HTTP ${res.statusCode}: ${body.trim()}`)))
    })
    ws.once('error', reject)
  })
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function openError(p: Promise<unknown>): Promise<ConsoleError> {
  try {
    await p
  } catch (err) {
    if (err instanceof ConsoleError) return err
    throw err
  }
  throw new Error('expected console.open to fail')
}

describe('console bridge', () => {
  it('bridges a QEMU-style (RFB 3.8) VM console to a loopback WebSocket with the binary subprotocol', async () => {
    const { bridge, hostA } = await rig()
    const opened = await bridge.open({ connectionId: 'c1', vmRef: VM })
    expect(opened).toMatchObject({ vmRef: VM, vmUuid: VM_UUID, vmName: 'web-01', consoleRef: CONSOLE, hostName: 'host-a', isControlDomain: false, protocol: 'rfb' })
    expect(opened.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/console\/[A-Za-z0-9_-]{43}$/)
    expect(hostA.requests).toEqual([`CONNECT /console?ref=${encodeURIComponent(CONSOLE)}&session_id=${encodeURIComponent('OpaqueRef:session-1')} HTTP/1.0`])
    const { ws, rfb } = await openViewer(opened.wsUrl)
    expect(ws.protocol).toBe('binary')
    const init = await rfb.handshake('3.8')
    expect(init).toMatchObject({ serverVersion: '003.008', name: 'web-01', width: 800, height: 600 })
    await rfb.refresh()
    expect(rfb.colours().size).toBeGreaterThan(2)
    for (const ch of 'ls -l') rfb.tap(ch.charCodeAt(0))
    await until(() => simScreens.get(VM_UUID)?.text === 'ls -l', 'typed text on the VM')
  })

  it("bridges a host's control domain console (vncterm, RFB 3.3) found from the host", async () => {
    const { bridge } = await rig()
    const opened = await bridge.open({ connectionId: 'c1', hostRef: HOST_REF })
    expect(opened.isControlDomain).toBe(true)
    const { rfb } = await openViewer(opened.wsUrl)
    const init = await rfb.handshake('3.8')
    expect(init.serverVersion).toBe('003.003')
    expect(init.name).toBe('Control domain on host: host-a')
  })

  it.runIf(xvncAvailable())('bridges a real VNC server (Xvnc) behind the host', async () => {
    const { bridge, hostA } = await rig()
    const x: XvncHandle = await startXvnc({ desktop: 'bridged-xvnc' })
    cleanups.push(() => x.stop())
    hostA.consoles.set(CONSOLE, { kind: 'tcp', host: x.host, port: x.port })
    const opened = await bridge.open({ connectionId: 'c1', vmRef: VM })
    const { rfb } = await openViewer(opened.wsUrl)
    const init = await rfb.handshake('3.8')
    expect(init.name).toContain('bridged-xvnc')
    await rfb.refresh()
    expect(rfb.updates).toBe(1)
  })

  it('accepts each token once', async () => {
    const { bridge } = await rig()
    const opened = await bridge.open({ connectionId: 'c1', vmRef: VM })
    await openViewer(opened.wsUrl)
    await expect(openViewer(opened.wsUrl)).rejects.toThrow(/403: unknown, expired or already used console token/)
  })

  it('refuses a token that was not used in time, and frees the host connection', async () => {
    const { bridge, ended } = await rig({ tokenTtlMs: 300 })
    const opened = await bridge.open({ connectionId: 'c1', vmRef: VM })
    await until(() => bridge.list().length === 0, 'the unused session to expire')
    expect(ended).toEqual([{ consoleId: opened.consoleId, reason: 'the console token expired unused' }])
    await expect(openViewer(opened.wsUrl)).rejects.toThrow(/403: unknown, expired or already used console token/)
  })

  it('refuses a page of another origin, and a request without an Origin', async () => {
    const { bridge } = await rig()
    const opened = await bridge.open({ connectionId: 'c1', vmRef: VM })
    await expect(openViewer(opened.wsUrl, 'http://evil.example')).rejects.toThrow(/403: Origin "http:\/\/evil.example" may not open consoles/)
    const noOrigin = new Promise<number>((resolve) => {
      const ws = new WebSocket(opened.wsUrl)
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      ws.once('error', () => resolve(-1))
    })
    expect(await noOrigin).toBe(403)
    // the refused attempts did not burn the token
    await openViewer(opened.wsUrl)
  })

  it('refuses a DNS-rebinding Host header and a peer that is not on this computer', async () => {
    const { bridge } = await rig()
    const opened = await bridge.open({ connectionId: 'c1', vmRef: VM })
    await expect(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(opened.wsUrl, { origin: ORIGIN, headers: { Host: 'attacker.example:80' } })
        ws.once('open', resolve)
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
        ws.once('error', reject)
      }),
    ).rejects.toThrow('HTTP 403')
    // a request arriving from another machine (the server only binds 127.0.0.1, this is the second wall)
    const remote = new Socket()
    Object.defineProperty(remote, 'remoteAddress', { value: '192.0.2.10' })
    const req = new IncomingMessage(remote)
    req.url = new URL(opened.wsUrl).pathname
    req.headers = { host: new URL(opened.wsUrl).host, origin: ORIGIN, upgrade: 'websocket', connection: 'Upgrade' }
    const out = new PassThrough()
    let reply = ''
    out.on('data', (d: Buffer) => (reply += d.toString()))
    bridge.handleUpgrade(req, out, Buffer.alloc(0))
    await until(() => reply.includes('\r\n\r\n'), 'a refusal')
    expect(reply).toMatch(/^HTTP\/1\.1 403 Forbidden/)
    expect(reply).toContain('from this computer only (not from 192.0.2.10)')
    remote.destroy()
  })

  it('says the VM is not running when it is halted, and suspended when it is', async () => {
    const { bridge, source } = await rig()
    const vm = source.vms.get(VM)
    if (!vm) throw new Error('rig')
    vm.power_state = 'Halted'
    const halted = await openError(bridge.open({ connectionId: 'c1', vmRef: VM }))
    expect(halted.code).toBe('vm-not-running')
    expect(halted.message).toBe("VM 'web-01' is not running (Halted): start it to see its console.")
    vm.power_state = 'Suspended'
    expect((await openError(bridge.open({ connectionId: 'c1', vmRef: VM }))).code).toBe('vm-suspended')
  })

  it('logs in again once when the host rejects an expired session', async () => {
    const { bridge, source, sessions, hostA } = await rig()
    sessions.clear()
    sessions.add('OpaqueRef:session-2')
    source.nextSessionId = 'OpaqueRef:session-2'
    const opened = await bridge.open({ connectionId: 'c1', vmRef: VM })
    expect(source.refreshes).toBe(1)
    expect(hostA.requests).toHaveLength(2)
    const { rfb } = await openViewer(opened.wsUrl)
    expect((await rfb.handshake()).name).toBe('web-01')
  })

  it('gives up with session-expired when the new session is rejected too', async () => {
    const { bridge, source, sessions } = await rig()
    sessions.clear()
    const err = await openError(bridge.open({ connectionId: 'c1', vmRef: VM }))
    expect(source.refreshes).toBe(1)
    expect(err.code).toBe('session-expired')
    expect(err.message).toContain("Host 'host-a' rejected the pool's session")
  })

  it('looks again when the host says the console is not there (VM migrated), and follows the VM', async () => {
    const { bridge, source, hostA, hostB } = await rig()
    // the graph still says host A, but the VM now runs on host B
    hostA.consoles.delete(CONSOLE)
    hostB.consoles.set(CONSOLE, { kind: 'sim', vmUuid: VM_UUID, name: 'web-01', protocol: '3.8' })
    const vm = source.vms.get(VM)
    if (!vm) throw new Error('rig')
    let looks = 0
    const locate = source.locate.bind(source)
    source.locate = async (t) => {
      looks++
      const l = await locate(t)
      return looks === 1 ? l : { ...l, hostAddress: HOST_B, hostName: 'host-b' }
    }
    const opened = await bridge.open({ connectionId: 'c1', vmRef: VM })
    expect(opened.hostName).toBe('host-b')
    expect(source.connects).toEqual([HOST_A, HOST_B])
  })

  it('refuses the wrong host with the status it answered', async () => {
    const { bridge, hostA } = await rig()
    hostA.consoles.delete(CONSOLE)
    const err = await openError(bridge.open({ connectionId: 'c1', vmRef: VM }))
    expect(err.code).toBe('console-refused')
    expect(err.message).toBe("Host 'host-a' has no console for VM 'web-01' (HTTP 404 Not Found). The VM may have stopped or moved; retry in a moment.")
  })

  it('refuses a host whose certificate is not the pinned one', async () => {
    const { bridge, source } = await rig()
    const a = source.hosts.get(HOST_A)
    if (!a) throw new Error('rig')
    a.pinned = certB.fingerprint256
    const err = await openError(bridge.open({ connectionId: 'c1', vmRef: VM }))
    expect(err.code).toBe('certificate-changed')
    expect(err.message).toContain("The certificate of host 'host-a' (127.0.0.1) is not the one pinned")
  })

  it('closes the viewer when the VM reboots, and the host side when the viewer leaves', async () => {
    const { bridge, ended } = await rig()
    const first = await bridge.open({ connectionId: 'c1', vmRef: VM })
    const { ws, rfb } = await openViewer(first.wsUrl)
    await rfb.handshake()
    const screen = simScreens.get(VM_UUID)
    expect(screen?.attached).toBe(1)
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
    screen?.reboot()
    expect(await closed).toBe(1000)
    await until(() => ended.length === 1, 'console.ended')
    expect(ended[0]?.consoleId).toBe(first.consoleId)

    const second = await bridge.open({ connectionId: 'c1', vmRef: VM })
    const viewer = await openViewer(second.wsUrl)
    await viewer.rfb.handshake()
    expect(screen?.attached).toBe(1)
    viewer.ws.close()
    await until(() => screen?.attached === 0 && bridge.list().length === 0, 'the host side to close')
  })

  it('stops reading from the host while the viewer does not keep up, and loses nothing', async () => {
    const { bridge } = await rig()
    const opened = await bridge.open({ connectionId: 'c1', vmRef: VM })
    const { ws, rfb } = await new Promise<{ ws: WebSocket; rfb: RfbTestClient }>((resolve, reject) => {
      const socket = new WebSocket(opened.wsUrl, ['binary'], { origin: ORIGIN })
      cleanups.push(() => socket.terminate())
      socket.once('open', () => resolve({ ws: socket, rfb: new RfbTestClient(createWebSocketStream(socket), { decode: false }) }))
      socket.once('error', reject)
    })
    await rfb.handshake()
    // the viewer stops reading while asking for 20 full screens (20 × 1.9 MB)
    ws.pause()
    for (let i = 0; i < 20; i++) rfb.requestUpdate(false)
    await until(() => bridge.list()[0]?.hostPaused === true, 'the bridge to pause the host side')
    // what waits for the viewer stays near the high-water mark (4 MiB), not the 38 MB asked for
    expect(bridge.list()[0]?.queuedToViewer ?? 0).toBeLessThan(6 * 1024 * 1024)
    ws.resume()
    await until(() => rfb.updates === 20, 'all 20 updates')
    expect(rfb.bytesIn).toBeGreaterThanOrEqual(20 * 800 * 600 * 4)
    expect(bridge.list()[0]?.hostPaused).toBe(false)
  })

  it('closes a session on console.close', async () => {
    const { bridge } = await rig()
    const opened = await bridge.open({ connectionId: 'c1', vmRef: VM })
    const { ws, rfb } = await openViewer(opened.wsUrl)
    await rfb.handshake()
    const closed = new Promise<void>((r) => ws.once('close', () => r()))
    bridge.close(opened.consoleId)
    await closed
    expect(bridge.list()).toEqual([])
  })
})
