/**
 * Consoles end to end in main: the real HTTPS simulator (tiny fleet), the real PoolManager with
 * pinned certificates, the console service, and viewers on the loopback WebSocket — against the
 * simulator's RFB servers (QEMU-style 3.8, vncterm-style 3.3 for dom0) and a real Xvnc put behind
 * a VM's console with the fleet's externalConsoles option.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, createWebSocketStream } from 'ws'
import type { ConsoleTargetArgs } from '../../../shared/contract/console'
import { ConsoleBridge, type ConsoleSource } from '../../../main/console/bridge'
import { ConsoleError } from '../../../main/console/errors'
import { PoolConsoleSource } from '../../../main/console/pool-source'
import { startSimulator, type SimControl, type SimPoolHandle } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import { simScreens } from '../../sim/rfb'
import { RfbTestClient } from '../../sim/rfb/client'
import { startXvnc, xvncAvailable, type XvncHandle } from '../../sim/rfb/xvnc'
import { connectTrusted, makeManager, waitFor, type Harness } from '../pools/helpers'

const ORIGIN = 'http://127.0.0.1:4444'

let xvnc: XvncHandle | undefined
let sim: SimControl
let pool: SimPoolHandle
let h: Harness
let connectionId: string
let source: PoolConsoleSource
let bridge: ConsoleBridge
const viewers: WebSocket[] = []

function vmRef(name: string): string {
  for (const [ref, rec] of pool.objects.get('VM') ?? []) if (rec['name_label'] === name) return ref
  throw new Error(`no VM ${name}`)
}
function vmField(ref: string, field: string): unknown {
  return pool.objects.get('VM')?.get(ref)?.[field]
}

beforeAll(async () => {
  xvnc = xvncAvailable() ? await startXvnc({ desktop: 'db-01-real' }) : undefined
  const fleet = buildFleet('tiny', { opDurationMs: 0, ...(xvnc ? { externalConsoles: { 'db-01': { host: xvnc.host, port: xvnc.port } } } : {}) })
  sim = await startSimulator({ fleet })
  pool = sim.pool('tiny-current')
  h = makeManager()
  connectionId = await connectTrusted(h, pool)
  source = new PoolConsoleSource(h.manager, h.manager)
  bridge = new ConsoleBridge({ source, allowedOrigins: [ORIGIN] })
  await bridge.listen()
})

afterAll(async () => {
  for (const v of viewers) v.terminate()
  await bridge?.stop()
  await h?.close()
  await sim?.stop()
  await xvnc?.stop()
  simScreens.clear()
})

/** a viewer, as noVNC opens it: the RFB stream is attached before the first message can arrive */
function view(url: string): Promise<RfbTestClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['binary'], { origin: ORIGIN })
    viewers.push(ws)
    ws.once('open', () => resolve(new RfbTestClient(createWebSocketStream(ws))))
    ws.once('error', reject)
  })
}

/** the master: the pools layer pins it when the user trusts it */
function master(): { ref: string; address: string; name: string } {
  const m = pool.hosts[0]
  if (!m) throw new Error('no master')
  return m
}

async function failure(p: Promise<unknown>): Promise<ConsoleError> {
  try {
    await p
  } catch (err) {
    if (err instanceof ConsoleError) return err
    throw err
  }
  throw new Error('expected the console to be refused')
}

describe('consoles through the simulator', () => {
  it("opens a running VM's console on its resident host, in the RFB version of its display backend, and types into it", async () => {
    const ref = vmRef('web-01')
    expect(vmField(ref, 'resident_on')).toBe(master().ref)
    const opened = await bridge.open({ connectionId, vmRef: ref })
    expect(opened.hostRef).toBe(master().ref)
    expect(opened.consoleRef).toBe((vmField(ref, 'consoles') as string[])[0])
    const rfb = await view(opened.wsUrl)
    const init = await rfb.handshake('3.8')
    // HVM guests are served by QEMU (3.8), PV guests by vncterm (3.3)
    expect(init.serverVersion).toBe(vmField(ref, 'domain_type') === 'hvm' ? '003.008' : '003.003')
    expect(init.name).toBe('web-01')
    await rfb.refresh()
    expect(rfb.colours().size).toBeGreaterThan(2)
    for (const ch of 'hello') rfb.tap(ch.charCodeAt(0))
    const uuid = String(vmField(ref, 'uuid'))
    await waitFor('typed text', () => simScreens.get(uuid)?.text === 'hello')
    rfb.close()
  })

  it("opens a host's control domain console (vncterm, RFB 3.3) from the host", async () => {
    const opened = await bridge.open({ connectionId, hostRef: master().ref })
    expect(opened.isControlDomain).toBe(true)
    expect(opened.hostRef).toBe(master().ref)
    expect(opened.vmName).toContain('Control domain')
    const rfb = await view(opened.wsUrl)
    const init = await rfb.handshake('3.8')
    expect(init.serverVersion).toBe('003.003')
    expect(init.clientVersion).toBe('003.003')
    rfb.close()
  })

  it.runIf(xvncAvailable())('reaches a real Xvnc put behind a VM console', async () => {
    const opened = await bridge.open({ connectionId, vmRef: vmRef('db-01') })
    const rfb = await view(opened.wsUrl)
    const init = await rfb.handshake('3.8')
    expect(init.serverVersion).toBe('003.008')
    expect(init.name).toContain('db-01-real')
    await rfb.refresh()
    expect(rfb.updates).toBe(1)
    rfb.close()
  })

  it('says a halted VM is not running and a suspended VM is suspended', async () => {
    const halted = await failure(bridge.open({ connectionId, vmRef: vmRef('build-01') }))
    expect(halted.code).toBe('vm-not-running')
    expect(halted.message).toBe("VM 'build-01' is not running (Halted): start it to see its console.")
    const suspended = await failure(bridge.open({ connectionId, vmRef: vmRef('suspended-01') }))
    expect(suspended.code).toBe('vm-suspended')
    expect(suspended.message).toBe("VM 'suspended-01' is suspended: resume it to see its console.")
  })

  it('refuses a VM ref the pool does not have', async () => {
    const err = await failure(bridge.open({ connectionId, vmRef: 'OpaqueRef:00000000-0000-0000-0000-000000000000' }))
    expect(err.code).toBe('not-found')
  })

  it('logs in again when the pool session expired, then opens the console', async () => {
    pool.expireAllSessions()
    const opened = await bridge.open({ connectionId, vmRef: vmRef('web-01') })
    const rfb = await view(opened.wsUrl)
    expect((await rfb.handshake()).name).toBe('web-01')
    rfb.close()
  })

  it('is refused by a host the VM does not run on, with what the host said', async () => {
    const ref = vmRef('win-app-01')
    expect(vmField(ref, 'resident_on')).not.toBe(master().ref)
    // a graph that always points at the wrong host
    const lying: ConsoleSource = {
      locate: async (t: ConsoleTargetArgs) => ({ ...(await source.locate(t)), hostAddress: master().address, hostName: master().name }),
      connectTls: (id, addr) => source.connectTls(id, addr),
      refreshSession: (id) => source.refreshSession(id),
    }
    const b = new ConsoleBridge({ source: lying, allowedOrigins: [ORIGIN] })
    await b.listen()
    try {
      const err = await failure(b.open({ connectionId, vmRef: ref }))
      expect(err.code).toBe('console-refused')
      expect(err.message).toContain(`Host '${master().name}' has no console for VM 'win-app-01' (HTTP 404 Not Found)`)
      expect(err.message).toContain('is not resident on this host')
    } finally {
      await b.stop()
    }
  })

  it('follows a VM that migrated: its console is opened on the new host', async () => {
    const ref = vmRef('win-app-01')
    await pool.call('VM.pool_migrate', [ref, master().ref, {}])
    await waitFor('the graph to see the migration', () => h.manager.graph(connectionId)?.get('VM', ref)?.['resident_on'] === master().ref)
    const opened = await bridge.open({ connectionId, vmRef: ref })
    expect(opened.hostRef).toBe(master().ref)
    const rfb = await view(opened.wsUrl)
    expect((await rfb.handshake()).name).toBe('win-app-01')
    rfb.close()
  })

  it('opens the console again after a reboot, on the console object the VM has then', async () => {
    const ref = vmRef('pinned-01')
    const before = await bridge.open({ connectionId, vmRef: ref })
    const domid = vmField(ref, 'domid')
    await pool.call('VM.clean_reboot', [ref])
    await waitFor('the graph to see the new domain', () => h.manager.graph(connectionId)?.get('VM', ref)?.['domid'] !== domid)
    const after = await bridge.open({ connectionId, vmRef: ref })
    expect(after.consoleRef).toBe((vmField(ref, 'consoles') as string[])[0])
    const rfb = await view(after.wsUrl)
    expect((await rfb.handshake()).name).toBe('pinned-01')
    rfb.close()
    bridge.close(before.consoleId)
  })

  it('opens consoles on a legacy XenServer 7.2 pool (XML-RPC only) too', async () => {
    const legacy = sim.pool('tiny-legacy')
    const legacyId = await connectTrusted(h, legacy)
    let ref = ''
    for (const [r, rec] of legacy.objects.get('VM') ?? []) if (rec['name_label'] === 'old-web') ref = r
    const opened = await bridge.open({ connectionId: legacyId, vmRef: ref })
    const rfb = await view(opened.wsUrl)
    expect((await rfb.handshake('3.3')).name).toBe('old-web')
    rfb.close()
    const dom0 = await bridge.open({ connectionId: legacyId, hostRef: legacy.hosts[0]?.ref ?? '' })
    expect(dom0.isControlDomain).toBe(true)
    bridge.close(dom0.consoleId)
  })

  // last: the pool's own connection to the master is affected too
  it("refuses a host whose certificate changed, before sending it the pool's session", async () => {
    await pool.rotateCertificate(master().address)
    const err = await failure(bridge.open({ connectionId, vmRef: vmRef('web-01') }))
    expect(err.code).toBe('certificate-changed')
    expect(err.message).toContain(`The certificate of host '${master().name}'`)
  })
})
