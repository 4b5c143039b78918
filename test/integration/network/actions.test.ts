/**
 * Every networking action end to end: contract arguments → network module → PoolManager → XAPI
 * calls and Async tasks on the real HTTPS simulator → results, history, progress, the object graph.
 * XAPI's refusals come back with its exact code and parameters and a sentence; the rules main
 * checks first answer 'refused'; nothing is left half done.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methods, type EventName, type EventPayload } from '../../../shared/contract'
import type { NetworkResult } from '../../../shared/contract/network'
import type { HistoryEntry } from '../../../shared/contract/operations'
import { networkModule } from '../../../main/services/network'
import { MemoryHistory } from '../../../main/services/operations'
import type { HandlerArgs, ServiceModule } from '../../../main/services'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle, SimRecord } from '../../sim/model'
import { netPool } from '../../unit/sim/net-pool'
import { tinyFleet } from '../../unit/sim/tiny-pool'
import { connectTrusted, makeManager, waitFor, type Harness } from '../pools/helpers'

let sim: SimControl
let h: Harness
let tiny: SimPoolHandle
let old: SimPoolHandle
let cur = ''
let oldId = ''
const history = new MemoryHistory()
const appended: HistoryEntry[] = []
const progress: EventPayload<'operation.progress'>[] = []
type NetMethod = keyof typeof import('../../../shared/contract/network').networkMethods
let mod: ServiceModule<NetMethod>

beforeAll(async () => {
  const fleet = buildFleet('tiny', { addressBase: '127.91', opDurationMs: 0 })
  // a XenServer 7.0 pool: no VIF.move yet (it came with 7.1), a NIC eth3 nobody scanned
  const dundee = netPool({ name: 'old-dundee', release: 'dundee', jsonRpc: false, addressBase: '127.91.9' })
  sim = await startSimulator({ fleet: tinyFleet([fleet.pools[0] ?? dundee.spec, dundee.spec], 0) })
  tiny = sim.pool('tiny-current')
  old = sim.pool('old-dundee')
  h = makeManager()
  cur = await connectTrusted(h, tiny)
  oldId = await connectTrusted(h, old)
  mod = networkModule({ history })({
    pools: h.manager,
    broadcast: <E extends EventName>(event: E, payload: EventPayload<E>) => {
      if (event === 'operation.progress') progress.push(payload as EventPayload<'operation.progress'>)
      if (event === 'history.appended') appended.push(payload as HistoryEntry)
    },
    log: () => {},
  })
}, 120_000)

afterAll(async () => {
  await h?.close()
  await sim?.stop()
})

/** a contract method through its schema, as a door would; rejections come back as {code, message} */
async function run(m: NetMethod, args: unknown): Promise<NetworkResult> {
  const parsed = methods[m].args.parse(args) as HandlerArgs<typeof m>
  const handler = mod.handlers[m] as ((a: HandlerArgs<typeof m>, ctx: never) => Promise<NetworkResult>) | undefined
  if (!handler) throw new Error(`no handler for ${m}`)
  return handler(parsed, undefined as never)
}
async function refused(m: NetMethod, args: unknown): Promise<{ code: string; message: string }> {
  try {
    await run(m, args)
  } catch (e) {
    return e as { code: string; message: string }
  }
  throw new Error(`${m} was not refused`)
}

const rec = (p: SimPoolHandle, cls: string, ref: string): SimRecord => {
  const r = p.objects.get(cls)?.get(ref)
  if (!r) throw new Error(`${cls} ${ref} missing in ${p.name}`)
  return r
}
const byName = (p: SimPoolHandle, cls: string, name: string): string => {
  for (const [ref, r] of p.objects.get(cls) ?? []) if (r.name_label === name && r.is_a_snapshot !== true) return ref
  throw new Error(`no ${cls} ${name}`)
}
const pifOf = (p: SimPoolHandle, host: number, device: string, vlan = -1): string => {
  const hostRef = p.hosts[host]?.ref
  for (const [ref, r] of p.objects.get('PIF') ?? []) if (r.host === hostRef && r.device === device && r.VLAN === vlan) return ref
  throw new Error(`no PIF ${device} on host ${host}`)
}
const network = (p: SimPoolHandle, name: string): string => byName(p, 'network', name)
const vifsOf = (p: SimPoolHandle, vm: string): string[] => (rec(p, 'VM', vm).VIFs as string[]) ?? []
/** main's graph caught up with the simulator */
const synced = (what: string, fn: () => boolean) => waitFor(what, () => fn() || undefined)

describe('a VM’s NICs', () => {
  it('adds a NIC to a running VM: VIF.create on the first free device with the network’s MTU, plugged, one Activity action, history', async () => {
    const vm = byName(tiny, 'VM', 'web-01')
    const net = network(tiny, 'Pool-wide network associated with eth1')
    const before = new Set(vifsOf(tiny, vm))
    const r = await run('vif.create', { connectionId: cur, vm, network: net, rateLimitKbps: 2048, lockingMode: 'locked', ipv4Allowed: ['10.1.0.50'] })
    expect(r).toMatchObject({ ok: true, ref: vm })
    const vif = r.created ?? ''
    expect(before.has(vif)).toBe(false)
    expect(rec(tiny, 'VIF', vif)).toMatchObject({
      device: '1',
      network: net,
      MTU: 1500,
      currently_attached: true,
      MAC_autogenerated: true,
      qos_algorithm_type: 'ratelimit',
      qos_algorithm_params: { kbps: '2048' },
      locking_mode: 'locked',
      ipv4_allowed: ['10.1.0.50'],
    })
    const mine = progress.filter((p) => p.action?.title === 'Add NIC')
    expect(new Set(mine.map((p) => p.action?.id)).size).toBe(1)
    expect(mine.every((p) => p.ref === vm && p.cls === 'VM')).toBe(true)
    expect(appended.at(-1)).toMatchObject({ cls: 'VM', ref: vm, objectName: 'web-01', action: 'Add NIC', ok: true, params: { network: 'Pool-wide network associated with eth1', rateLimitKbps: 2048 } })
    await synced('graph has the VIF', () => h.manager.graph(cur)?.get('VIF', vif)?.currently_attached === true)
  })

  it('adds a NIC to a halted VM without plugging it', async () => {
    const vm = byName(tiny, 'VM', 'build-01')
    const r = await run('vif.create', { connectionId: cur, vm, network: network(tiny, 'Pool-wide network associated with eth0'), mac: '02:16:3e:12:34:56' })
    expect(rec(tiny, 'VIF', r.created ?? '')).toMatchObject({ currently_attached: false, MAC: '02:16:3e:12:34:56', MAC_autogenerated: false })
    await synced('graph has it', () => h.manager.graph(cur)?.get('VIF', r.created ?? '') !== undefined)
  })

  it('moves a running VM’s NIC to another network with VIF.move', async () => {
    const vm = byName(tiny, 'VM', 'web-01')
    const vif = vifsOf(tiny, vm).find((v) => rec(tiny, 'VIF', v).device === '1') ?? ''
    const to = network(tiny, 'Pool-wide network associated with eth2')
    const r = await run('vif.move', { connectionId: cur, vif, network: to })
    expect(r).toMatchObject({ ok: true })
    expect(r.note).toBeUndefined()
    expect(rec(tiny, 'VIF', vif)).toMatchObject({ network: to, currently_attached: true })
    expect(appended.at(-1)).toMatchObject({ action: 'Move NIC', params: { from: 'Pool-wide network associated with eth1', to: 'Pool-wide network associated with eth2' } })
    await synced('graph moved', () => h.manager.graph(cur)?.get('VIF', vif)?.network === to)
  })

  it('refuses a move to a network the VM’s server has no NIC on (checked first), and XAPI refuses it with HOST_CANNOT_ATTACH_NETWORK [host, network]', async () => {
    const vm = byName(tiny, 'VM', 'web-01')
    const vif = vifsOf(tiny, vm).find((v) => rec(tiny, 'VIF', v).device === '1') ?? ''
    // a network only tiny-host-2 reaches (a VLAN on its eth1 alone, as VLAN.create makes it)
    const made = await run('network.create', { connectionId: cur, name: 'Only on host 2' })
    const only2 = made.created ?? ''
    await h.manager.call(cur, 'VLAN.create', [pifOf(tiny, 1, 'eth1'), 77, only2])
    await synced('graph has the VLAN network', () => (h.manager.graph(cur)?.get('network', only2)?.PIFs as string[] | undefined)?.length === 1)
    const e = await refused('vif.move', { connectionId: cur, vif, network: only2 })
    expect(e).toMatchObject({ code: 'refused', message: "tiny-host-1, where web-01 runs, has no NIC on Only on host 2" })
    const host1 = tiny.hosts[0]?.ref
    await expect(h.manager.call(cur, 'VIF.move', [vif, only2])).rejects.toMatchObject({ code: 'HOST_CANNOT_ATTACH_NETWORK', params: [host1, only2] })
  })

  it('changes rate limit and locking in place (with a note), and a new MAC re-creates the NIC, still plugged', async () => {
    const vm = byName(tiny, 'VM', 'web-01')
    const vif = vifsOf(tiny, vm).find((v) => rec(tiny, 'VIF', v).device === '1') ?? ''
    const r = await run('vif.update', { connectionId: cur, vif, rateLimitKbps: null, lockingMode: 'unlocked', ipv4Allowed: [] })
    expect(r.note).toMatch(/applies when the NIC is next connected/)
    expect(rec(tiny, 'VIF', vif)).toMatchObject({ qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'unlocked', ipv4_allowed: [] })
    await synced('graph unlocked', () => h.manager.graph(cur)?.get('VIF', vif)?.locking_mode === 'unlocked')
    const m = await run('vif.update', { connectionId: cur, vif, mac: '02:16:3e:00:00:99' })
    expect(m).toMatchObject({ ok: true })
    expect(tiny.objects.get('VIF')?.has(vif)).toBe(false)
    expect(rec(tiny, 'VIF', m.created ?? '')).toMatchObject({ MAC: '02:16:3e:00:00:99', device: '1', currently_attached: true, locking_mode: 'unlocked' })
    expect(appended.at(-1)).toMatchObject({ action: 'Change NIC MAC address', ok: true })
    await synced('graph has the new VIF, plugged', () => h.manager.graph(cur)?.get('VIF', m.created ?? '')?.currently_attached === true)
  })

  it('disconnects and connects a NIC; XAPI refuses connecting it twice with DEVICE_ALREADY_ATTACHED [vif]', async () => {
    const vm = byName(tiny, 'VM', 'web-01')
    const vif = vifsOf(tiny, vm).find((v) => rec(tiny, 'VIF', v).device === '1') ?? ''
    expect(await run('vif.unplug', { connectionId: cur, vif })).toMatchObject({ ok: true })
    expect(rec(tiny, 'VIF', vif).currently_attached).toBe(false)
    await synced('graph detached', () => h.manager.graph(cur)?.get('VIF', vif)?.currently_attached === false)
    expect(await run('vif.plug', { connectionId: cur, vif })).toMatchObject({ ok: true })
    await synced('graph attached', () => h.manager.graph(cur)?.get('VIF', vif)?.currently_attached === true)
    expect(await refused('vif.plug', { connectionId: cur, vif })).toMatchObject({ code: 'refused', message: 'The NIC is already connected' })
    await expect(h.manager.call(cur, 'VIF.plug', [vif])).rejects.toMatchObject({ code: 'DEVICE_ALREADY_ATTACHED', params: [vif] })
  })

  it('removes a running VM’s NIC: unplugged, then destroyed', async () => {
    const vm = byName(tiny, 'VM', 'web-01')
    const vif = vifsOf(tiny, vm).find((v) => rec(tiny, 'VIF', v).device === '1') ?? ''
    expect(await run('vif.remove', { connectionId: cur, vif })).toMatchObject({ ok: true })
    expect(tiny.objects.get('VIF')?.has(vif)).toBe(false)
    expect(vifsOf(tiny, vm)).not.toContain(vif)
    expect(appended.at(-1)).toMatchObject({ action: 'Remove NIC', ok: true, params: { device: '1' } })
  })

  it('on XenServer 7.0 (no VIF.move) moves a NIC by re-creating it with the same device and MAC, and says so', async () => {
    const vm = byName(old, 'VM', 'db-01')
    const vif = vifsOf(old, vm)[0] ?? ''
    const mac = rec(old, 'VIF', vif).MAC
    const to = network(old, 'Pool-wide network associated with eth2')
    await expect(h.manager.call(oldId, 'VIF.move', [vif, to])).rejects.toMatchObject({ code: 'MESSAGE_METHOD_UNKNOWN', params: ['VIF.move'] })
    const r = await run('vif.move', { connectionId: oldId, vif, network: to })
    expect(r).toMatchObject({ ok: true })
    expect(r.note).toMatch(/predates VIF.move/)
    expect(rec(old, 'VIF', r.created ?? '')).toMatchObject({ network: to, MAC: mac, device: '0' })
    expect(old.objects.get('VIF')?.has(vif)).toBe(false)
  })
})

describe('a host’s NICs, bonds and VLANs', () => {
  it('rescans a host’s NICs and names the one it found', async () => {
    const host = old.hosts[0]?.ref ?? ''
    const r = await run('pif.scan', { connectionId: oldId, host })
    expect(r).toMatchObject({ ok: true, note: 'Found 1 new NIC: eth3.' })
    expect((await run('pif.scan', { connectionId: oldId, host })).note).toBe('No new NICs found.')
    expect(appended.at(-1)).toMatchObject({ cls: 'host', ref: host, action: 'Rescan NICs' })
  })

  it('creates a bond of two NICs on a new network, changes its mode, and destroys it with its network', async () => {
    const host = tiny.hosts[0]?.ref ?? ''
    const members = [pifOf(tiny, 0, 'eth2'), pifOf(tiny, 0, 'eth3')]
    const r = await run('bond.create', { connectionId: cur, host, members, mode: 'lacp', name: 'Bond 2+3', hashingAlgorithm: 'src_mac' })
    expect(r).toMatchObject({ ok: true, ref: host })
    const bond = r.created ?? ''
    const b = rec(tiny, 'Bond', bond)
    expect(b).toMatchObject({ mode: 'lacp', properties: { hashing_algorithm: 'src_mac', 'lacp-time': 'slow', 'lacp-fallback-ab': 'true' } })
    const master = rec(tiny, 'PIF', String(b.master))
    expect(master).toMatchObject({ device: 'bond0', network: network(tiny, 'Bond 2+3'), currently_attached: true })
    for (const m of members) expect(rec(tiny, 'PIF', m).bond_slave_of).toBe(bond)
    expect(appended.at(-1)).toMatchObject({ cls: 'host', action: 'Create bond', params: { members: ['NIC 2', 'NIC 3'], mode: 'lacp' } })
    await synced('graph has the bond', () => h.manager.graph(cur)?.get('Bond', bond) !== undefined)

    expect(await run('bond.setMode', { connectionId: cur, bond, mode: 'active-backup' })).toMatchObject({ ok: true })
    expect(rec(tiny, 'Bond', bond)).toMatchObject({ mode: 'active-backup', properties: {} })
    await synced('graph has the new mode', () => h.manager.graph(cur)?.get('Bond', bond)?.mode === 'active-backup')

    const net = network(tiny, 'Bond 2+3')
    expect(await run('bond.destroy', { connectionId: cur, bond })).toMatchObject({ ok: true })
    expect(tiny.objects.get('Bond')?.has(bond)).toBe(false)
    expect(tiny.objects.get('network')?.has(net)).toBe(false)
    for (const m of members) expect(rec(tiny, 'PIF', m)).toMatchObject({ bond_slave_of: 'OpaqueRef:NULL', currently_attached: true })
    expect(appended.at(-1)).toMatchObject({ action: 'Delete bond', ok: true })
  })

  it('refuses to bond a NIC that is already bonded with PIF_ALREADY_BONDED [pif], and removes the network it made for it', async () => {
    const host = tiny.hosts[1]?.ref ?? ''
    const first = await run('bond.create', { connectionId: cur, host, members: [pifOf(tiny, 1, 'eth2'), pifOf(tiny, 1, 'eth3')], mode: 'balance-slb', name: 'Bond A' })
    expect(first.ok).toBe(true)
    const eth2 = pifOf(tiny, 1, 'eth2')
    const r = await run('bond.create', { connectionId: cur, host, members: [eth2, pifOf(tiny, 1, 'eth1')], mode: 'balance-slb', name: 'Bond B' })
    expect(r).toMatchObject({ ok: false, error: { code: 'PIF_ALREADY_BONDED', params: [eth2] } })
    expect(r.error?.message).toBe('NIC 2 on tiny-host-2 is already part of a bond.')
    expect([...(tiny.objects.get('network')?.values() ?? [])].some((n) => n.name_label === 'Bond B')).toBe(false)
    expect(appended.at(-1)).toMatchObject({ action: 'Create bond', ok: false, errorCode: 'PIF_ALREADY_BONDED' })
    expect(await refused('bond.create', { connectionId: cur, host, members: [pifOf(tiny, 0, 'eth2'), pifOf(tiny, 1, 'eth1')], mode: 'lacp', name: 'x' })).toMatchObject({
      code: 'refused',
      message: 'NIC 2 is not a NIC of tiny-host-2',
    })
    await synced('graph has bond A', () => h.manager.graph(cur)?.get('Bond', first.created ?? '') !== undefined)
    expect(await run('bond.destroy', { connectionId: cur, bond: first.created ?? '' })).toMatchObject({ ok: true })
  })

  it('creates a VLAN on every host whose NIC shares the network; refuses tag 5000 with VLAN_TAG_INVALID ["5000"] and leaves no network behind', async () => {
    const r = await run('vlan.create', { connectionId: cur, pif: pifOf(tiny, 0, 'eth1'), tag: 30, name: 'VLAN 30' })
    expect(r).toMatchObject({ ok: true })
    const net = r.created ?? ''
    for (const host of [0, 1]) expect(rec(tiny, 'PIF', pifOf(tiny, host, 'eth1', 30))).toMatchObject({ network: net, currently_attached: true })
    expect(appended.at(-1)).toMatchObject({ action: 'Create VLAN', params: { tag: 30, servers: ['tiny-host-1', 'tiny-host-2'] } })

    const bad = await run('vlan.create', { connectionId: cur, pif: pifOf(tiny, 0, 'eth1'), tag: 5000, name: 'VLAN 5000' })
    expect(bad).toMatchObject({ ok: false, error: { code: 'VLAN_TAG_INVALID', params: ['5000'] } })
    expect(bad.error?.message).toBe('5000 is not a valid VLAN tag: a tag is a whole number from 0 to 4094.')
    expect([...(tiny.objects.get('network')?.values() ?? [])].some((n) => n.name_label === 'VLAN 5000')).toBe(false)
    const dup = await run('vlan.create', { connectionId: cur, pif: pifOf(tiny, 0, 'eth1'), tag: 30, name: 'VLAN 30 again' })
    expect(dup).toMatchObject({ ok: false, error: { code: 'PIF_VLAN_EXISTS', params: ['eth1'] } })
  })

  it('deletes a VLAN on one host; refuses the management interface with PIF_IS_MANAGEMENT_INTERFACE [pif]', async () => {
    await synced('graph has VLAN 30 on host 2', () => h.manager.graph(cur)?.get('PIF', pifOf(tiny, 1, 'eth1', 30)) !== undefined)
    const untagged = pifOf(tiny, 1, 'eth1', 30)
    const vlan = String(rec(tiny, 'PIF', untagged).VLAN_master_of)
    // the VLAN carries tiny-host-2's management (set behind XenPilot's back, as another client could)
    const live = tiny.objects.get('PIF')?.get(untagged)
    if (live) live.management = true
    const r = await run('vlan.destroy', { connectionId: cur, vlan })
    expect(r).toMatchObject({ ok: false, error: { code: 'PIF_IS_MANAGEMENT_INTERFACE', params: [untagged] } })
    expect(r.error?.message).toBe("VLAN 30 on NIC 1 on tiny-host-2 is the server's management interface, so XAPI will not take it down.")
    if (live) live.management = false
    expect(await run('vlan.destroy', { connectionId: cur, vlan })).toMatchObject({ ok: true })
    expect(tiny.objects.get('VLAN')?.has(vlan)).toBe(false)
  })
})

describe('networks', () => {
  it('creates a private network, sets its MTU, and removes it with the idle NICs on it', async () => {
    const r = await run('network.create', { connectionId: cur, name: 'Lab private', mtu: 9000 })
    const net = r.created ?? ''
    expect(rec(tiny, 'network', net)).toMatchObject({ name_label: 'Lab private', MTU: 9000, PIFs: [] })
    await synced('graph has it', () => h.manager.graph(cur)?.get('network', net) !== undefined)
    expect(await run('network.setMtu', { connectionId: cur, network: net, mtu: 1500 })).toMatchObject({ ok: true })
    expect(rec(tiny, 'network', net).MTU).toBe(1500)
    const vm = byName(tiny, 'VM', 'build-01')
    const vif = (await run('vif.create', { connectionId: cur, vm, network: net })).created ?? ''
    await synced('graph has the VIF', () => h.manager.graph(cur)?.get('network', net) !== undefined && h.manager.graph(cur)?.get('VIF', vif) !== undefined)
    expect(await run('network.remove', { connectionId: cur, network: net })).toMatchObject({ ok: true })
    expect(tiny.objects.get('network')?.has(net)).toBe(false)
    expect(tiny.objects.get('VIF')?.has(vif)).toBe(false)
  })

  it('removes a VLAN network from every host; refuses a physical NIC’s network and one a running VM uses', async () => {
    const made = await run('vlan.create', { connectionId: cur, pif: pifOf(tiny, 0, 'eth0'), tag: 31, name: 'VLAN 31' })
    const net = made.created ?? ''
    await synced('graph has both VLAN PIFs', () => (h.manager.graph(cur)?.get('network', net)?.PIFs as string[] | undefined)?.length === 2)
    expect(await run('network.remove', { connectionId: cur, network: net })).toMatchObject({ ok: true })
    expect(tiny.objects.get('network')?.has(net)).toBe(false)
    expect([...(tiny.objects.get('VLAN')?.values() ?? [])].some((v) => v.tag === 31)).toBe(false)

    const eth1 = network(tiny, 'Pool-wide network associated with eth1')
    expect(await refused('network.remove', { connectionId: cur, network: eth1 })).toMatchObject({ code: 'refused', message: expect.stringMatching(/is the network of a physical NIC/) })
    const eth0 = network(tiny, 'Pool-wide network associated with eth0')
    expect(await refused('network.remove', { connectionId: cur, network: eth0 })).toMatchObject({ code: 'refused', message: expect.stringMatching(/connected to Pool-wide network associated with eth0/) })
    // XAPI's own refusals, exact parameters
    const pifs = rec(tiny, 'network', eth1).PIFs as string[]
    await expect(h.manager.call(cur, 'network.destroy', [eth1])).rejects.toMatchObject({ code: 'NETWORK_CONTAINS_PIF', params: pifs })
    const internal = network(tiny, 'Host internal management network')
    await expect(h.manager.call(cur, 'network.destroy', [internal])).rejects.toMatchObject({ code: 'CANNOT_DESTROY_SYSTEM_NETWORK', params: [internal] })
  })

  it('refuses every change on a pool that is not connected, saying since when', async () => {
    await h.manager.disconnect(oldId)
    const e = await refused('network.create', { connectionId: oldId, name: 'x' })
    expect(e.code).toBe('offline')
    expect(e.message).toMatch(/is not connected.*reconnect to change its networking/)
  })
})
