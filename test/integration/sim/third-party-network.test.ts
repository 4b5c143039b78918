/**
 * The networking calls XenPilot makes (issue 13) work for clients written by others against real
 * XAPI: the official XenAPI Python client (XML-RPC) and Xen Orchestra's `xen-api` (JSON-RPC on a
 * current host, XML-RPC on a 7.2 one) — results, Async tasks and XAPI's failures with the
 * parameters those clients expect (PIF_IS_MANAGEMENT_INTERFACE, VLAN_TAG_INVALID, PIF_ALREADY_BONDED, …).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Xapi } from 'xen-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle, SimRecord } from '../../sim/model'
import { netPool } from '../../unit/sim/net-pool'
import { tinyFleet } from '../../unit/sim/tiny-pool'
import { runPython } from '../../helpers/python'

let sim: SimControl
let tmp: string

beforeAll(async () => {
  const tiny = buildFleet('tiny', { addressBase: '127.98', opDurationMs: 0 })
  // a pool whose hosts have a NIC eth3 XAPI has no PIF for yet (PIF.scan finds it); XML-RPC only
  const scanned = netPool({ name: 'net-scan', jsonRpc: false, addressBase: '127.98.9' })
  sim = await startSimulator({ fleet: tinyFleet([...tiny.pools, scanned.spec], 0) })
  tmp = await mkdtemp(join(tmpdir(), 'xenpilot-sim-network-clients-'))
}, 60_000)
afterAll(async () => {
  await sim?.stop()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

async function python(mode: 'main' | 'scan', pool: SimPoolHandle): Promise<Record<string, unknown>> {
  const master = pool.hosts[0]
  if (!master) throw new Error('no master')
  const cafile = join(tmp, `${pool.name}.pem`)
  await writeFile(cafile, master.certPem)
  const script = fileURLToPath(new URL('./xenapi_network.py', import.meta.url))
  return JSON.parse(await runPython(script, [mode, pool.masterUrl, cafile, pool.username, pool.password])) as Record<string, unknown>
}

const find = (pool: SimPoolHandle, cls: string, pred: (r: SimRecord) => boolean): string => {
  for (const [ref, r] of pool.objects.get(cls) ?? []) if (pred(r)) return ref
  throw new Error(`no ${cls}`)
}
const pifOf = (pool: SimPoolHandle, host: number, device: string): string => find(pool, 'PIF', (r) => r.host === pool.hosts[host]?.ref && r.device === device && r.VLAN === -1)
const networkNamed = (pool: SimPoolHandle, name: string): string => find(pool, 'network', (r) => r.name_label === name)

describe('official XenAPI Python client (os_xenapi, XML-RPC): networking', () => {
  it('adds, plugs, moves, locks and removes a NIC; bonds two NICs and unbonds them; makes a VLAN on every host; reads XAPI’s failures with their parameters', async () => {
    const pool = sim.pool('tiny-current')
    const out = await python('main', pool)
    expect(out['first_device']).toBe('1')
    expect(out).toMatchObject({ mac_generated: true, mtu: '1500', plug: 'success', attached: true, move: 'success', moved_to_eth2: true, in_eth2_vifs: true, still_attached: true })
    expect(out['mac']).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/)
    expect((out['plug_again'] as string[])[0]).toBe('DEVICE_ALREADY_ATTACHED')
    expect(out['destroy_attached']).toEqual(['OPERATION_NOT_ALLOWED', 'VIF currently attached to a running VM'])
    expect(out).toMatchObject({ locking: 'locked', ipv4_allowed: ['10.1.0.50', '10.1.0.51'], destroyed: true })
    // xapi refuses a CIDR where an address belongs (Helpers.assert_is_valid_ip_addr)
    expect(out['bad_ipv4']).toEqual(['INVALID_IP_ADDRESS_SPECIFIED', 'ipv4_allowed'])
    expect(out['bad_device']).toEqual(['DEVICE_ALREADY_EXISTS', '0'])

    const eth2 = pifOf(pool, 0, 'eth2')
    expect(out).toMatchObject({ bond_create: 'success', bond_mode: 'active-backup', bond_master_device: 'bond0', bond_master_network: true, bond_slaves: ['eth2', 'eth3'], slave_bonded: true })
    expect(out['bond_again']).toEqual(['PIF_ALREADY_BONDED', eth2])
    expect(out['bond_bad_property']).toEqual(['INVALID_VALUE', 'properties', 'hashing_algorithm = round-robin'])
    expect(out['lacp_properties']).toMatchObject({ hashing_algorithm: 'tcpudp_ports', 'lacp-time': 'slow' })
    expect(out['plug_slave']).toEqual(['CANNOT_PLUG_BOND_SLAVE', eth2])
    expect(out).toMatchObject({ bond_destroy: 'success', slave_free: 'OpaqueRef:NULL', master_gone: true, network_destroyed: true })
    expect((out['network_contains_pif'] as string[])[0]).toBe('NETWORK_CONTAINS_PIF')

    expect(out).toMatchObject({ vlan_create: 'success', vlan_hosts: 2, vlan_tags: ['40'], vlan_attached: true })
    expect(out['vlan_tag_invalid']).toEqual(['VLAN_TAG_INVALID', '4095'])
    expect(out['vlan_tag_invalid_left']).toBe(0)
    expect(out['vlan_exists']).toEqual(['PIF_VLAN_EXISTS', 'eth1'])
    expect(out['vlan_on_vlan']).toEqual(['PIF_IS_VLAN', out['vlan_on_vlan_expected']])
    expect(out['vlan_destroyed']).toBe(0)

    expect(out['unplug_management']).toEqual(['PIF_IS_MANAGEMENT_INTERFACE', out['management_pif']])
  }, 120_000)

  it('PIF.scan introduces the NIC the host has and XAPI did not know, with its PIF_metrics; a second scan finds nothing', async () => {
    const out = await python('scan', sim.pool('net-scan'))
    expect(out).toMatchObject({ scan: 'success', found: 1, found_device: 'eth3', found_speed: '10000', found_vendor: 'Intel Corporation', found_carrier: true, rescan_found: 0 })
  }, 120_000)
})

describe("Xen Orchestra's xen-api client: networking", () => {
  const clients: Xapi[] = []
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.disconnect().catch(() => undefined)))
  })
  function client(pool: SimPoolHandle): Xapi {
    const x = new Xapi({ url: pool.masterUrl, auth: { user: pool.username, password: pool.password }, allowUnauthorized: true, debounce: 50 })
    clients.push(x)
    return x
  }

  it('JSON-RPC on a current host: VIF.create + Async VIF.plug/move (HOST_CANNOT_ATTACH_NETWORK), VIF.destroy; Async Bond.create/destroy; Async pool.create_VLAN_from_PIF; XAPI errors with their params', async () => {
    const pool = sim.pool('tiny-current')
    const x = client(pool)
    await x.connect()
    const vm = find(pool, 'VM', (r) => r.name_label === 'web-02')
    const eth1 = networkNamed(pool, 'Pool-wide network associated with eth1')
    const eth3 = networkNamed(pool, 'Pool-wide network associated with eth3')
    const devices = (await x.call('VM.get_allowed_VIF_devices', vm)) as string[]
    const vif = (await x.call('VIF.create', { device: devices[0], network: eth1, VM: vm, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} })) as string
    await x.callAsync('VIF.plug', vif)
    expect(pool.objects.get('VIF')?.get(vif)?.currently_attached).toBe(true)
    // ints are JSON numbers on this transport
    expect(await x.call('VIF.get_MTU', vif)).toBe(1500)
    await x.callAsync('VIF.move', vif, eth3)
    expect(await x.call('VIF.get_network', vif)).toBe(eth3)
    // a network only the other host has a NIC on: XAPI refuses the move of a plugged NIC
    const resident = String(pool.objects.get('VM')?.get(vm)?.resident_on)
    const otherHost = pool.hosts.findIndex((h) => h.ref !== resident)
    const elsewhere = (await x.call('network.create', { name_label: 'xo-elsewhere', name_description: '', MTU: 1500, other_config: {} })) as string
    const lonely = (await x.call('VLAN.create', pifOf(pool, otherHost, 'eth1'), 77, elsewhere)) as string
    await expect(x.callAsync('VIF.move', vif, elsewhere)).rejects.toMatchObject({ code: 'HOST_CANNOT_ATTACH_NETWORK', params: [resident, elsewhere] })
    await x.call('VLAN.destroy', lonely)
    await x.call('network.destroy', elsewhere)
    await expect(x.call('VIF.destroy', vif)).rejects.toMatchObject({ code: 'OPERATION_NOT_ALLOWED', params: ['VIF currently attached to a running VM'] })
    await x.callAsync('VIF.unplug', vif)
    await x.call('VIF.destroy', vif)
    expect(pool.objects.get('VIF')?.has(vif)).toBe(false)

    // a bond on the second host (the Python test bonded the first host's eth2 and eth3 and unbonded them)
    const net = (await x.call('network.create', { name_label: 'xo-bond', name_description: '', MTU: 1500, other_config: {} })) as string
    const members = [pifOf(pool, 1, 'eth2'), pifOf(pool, 1, 'eth3')]
    const bond = (await x.callAsync('Bond.create', net, members, '', 'balance-slb', {})) as string
    expect(pool.objects.get('Bond')?.get(bond)).toMatchObject({ mode: 'balance-slb' })
    const masterPif = String(pool.objects.get('Bond')?.get(bond)?.master)
    expect(pool.objects.get('PIF')?.get(masterPif)).toMatchObject({ host: pool.hosts[1]?.ref, network: net, currently_attached: true })
    const other = (await x.call('network.create', { name_label: 'xo-bond-2', name_description: '', MTU: 1500, other_config: {} })) as string
    await expect(x.call('Bond.create', other, [members[0], pifOf(pool, 1, 'eth1')], '', 'lacp', {})).rejects.toMatchObject({ code: 'PIF_ALREADY_BONDED', params: [members[0]] })
    await expect(x.call('PIF.plug', members[1])).rejects.toMatchObject({ code: 'CANNOT_PLUG_BOND_SLAVE', params: [members[1]] })
    await x.callAsync('Bond.destroy', bond)
    expect(pool.objects.get('Bond')?.has(bond)).toBe(false)
    expect(pool.objects.get('PIF')?.get(members[0] ?? '')?.bond_slave_of).toBe('OpaqueRef:NULL')
    await x.call('network.destroy', net)
    await x.call('network.destroy', other)

    // a VLAN on every host whose NIC shares eth1's network; the set of new PIFs comes back from the task
    const vnet = (await x.call('network.create', { name_label: 'xo-vlan', name_description: '', MTU: 1500, other_config: {} })) as string
    const made = (await x.callAsync('pool.create_VLAN_from_PIF', pifOf(pool, 0, 'eth1'), vnet, 41)) as string[]
    expect(made).toHaveLength(2)
    expect(made.map((p) => pool.objects.get('PIF')?.get(p)?.VLAN)).toEqual([41, 41])
    // the network already has this host's VLAN PIF: xapi says so before it looks at the tag
    await expect(x.call('pool.create_VLAN_from_PIF', pifOf(pool, 0, 'eth1'), vnet, 4095)).rejects.toMatchObject({ code: 'NETWORK_ALREADY_CONNECTED', params: [pool.hosts[0]?.ref, made[0]] })
    const fresh = (await x.call('network.create', { name_label: 'xo-vlan-2', name_description: '', MTU: 1500, other_config: {} })) as string
    await expect(x.call('pool.create_VLAN_from_PIF', pifOf(pool, 0, 'eth1'), fresh, 4095)).rejects.toMatchObject({ code: 'VLAN_TAG_INVALID', params: ['4095'] })
    await expect(x.call('pool.create_VLAN_from_PIF', pifOf(pool, 0, 'eth1'), fresh, 41)).rejects.toMatchObject({ code: 'PIF_VLAN_EXISTS', params: ['eth1'] })
    expect(pool.objects.get('network')?.get(fresh)?.PIFs).toEqual([])
    await expect(x.call('network.destroy', vnet)).rejects.toMatchObject({ code: 'NETWORK_CONTAINS_PIF' })
    for (const p of made) await x.call('VLAN.destroy', pool.objects.get('PIF')?.get(p)?.VLAN_master_of)
    await x.call('network.destroy', vnet)
    await x.call('network.destroy', fresh)

    const mgmt = find(pool, 'PIF', (r) => r.host === pool.hosts[1]?.ref && r.management === true)
    await expect(x.call('PIF.unplug', mgmt)).rejects.toMatchObject({ code: 'PIF_IS_MANAGEMENT_INTERFACE', params: [mgmt] })
  })

  it('XML-RPC on a 7.2 host: VIF.move of a running VM’s NIC, VLAN.create, VLAN_TAG_INVALID, PIF_IS_MANAGEMENT_INTERFACE', async () => {
    const pool = sim.pool('tiny-legacy')
    const x = client(pool)
    await x.connect()
    const vm = find(pool, 'VM', (r) => r.name_label === 'old-web')
    const vif = find(pool, 'VIF', (r) => r.VM === vm)
    const eth0 = networkNamed(pool, 'Pool-wide network associated with eth0')
    const eth1 = networkNamed(pool, 'Pool-wide network associated with eth1')
    const from = String(pool.objects.get('VIF')?.get(vif)?.network)
    const to = from === eth1 ? eth0 : eth1
    await x.callAsync('VIF.move', vif, to)
    expect(pool.objects.get('VIF')?.get(vif)?.network).toBe(to)
    // a private network (no NIC anywhere) is reachable from every host
    const privateNet = (await x.call('network.create', { name_label: 'xo-private', name_description: '', MTU: 1500, other_config: {} })) as string
    await x.callAsync('VIF.move', vif, privateNet)
    await x.callAsync('VIF.move', vif, from)
    await x.call('network.destroy', privateNet)
    const vnet = (await x.call('network.create', { name_label: 'xo-vlan', name_description: '', MTU: 1500, other_config: {} })) as string
    const eth1Pif = pifOf(pool, 0, 'eth1')
    await expect(x.call('pool.create_VLAN_from_PIF', eth1Pif, vnet, 5000)).rejects.toMatchObject({ code: 'VLAN_TAG_INVALID', params: ['5000'] })
    await expect(x.call('VLAN.create', eth1Pif, -1, vnet)).rejects.toMatchObject({ code: 'VLAN_TAG_INVALID', params: ['-1'] })
    const vlan = (await x.call('VLAN.create', eth1Pif, 12, vnet)) as string
    expect(pool.objects.get('VLAN')?.get(vlan)).toMatchObject({ tag: 12, tagged_PIF: eth1Pif })
    await x.call('VLAN.destroy', vlan)
    await x.call('network.destroy', vnet)
    const mgmt = pifOf(pool, 0, 'eth0')
    await expect(x.call('PIF.unplug', mgmt)).rejects.toMatchObject({ code: 'PIF_IS_MANAGEMENT_INTERFACE', params: [mgmt] })
  })

  it('XML-RPC: Async PIF.scan introduces the host’s unknown NIC; Bond.create refuses NICs of two hosts', async () => {
    const pool = sim.pool('net-scan')
    const x = client(pool)
    await x.connect()
    const host = pool.hosts[1]?.ref ?? ''
    const before = (pool.objects.get('host')?.get(host)?.PIFs as string[]).length
    await x.callAsync('PIF.scan', host)
    const after = pool.objects.get('host')?.get(host)?.PIFs as string[]
    expect(after).toHaveLength(before + 1)
    const found = pool.objects.get('PIF')?.get(after.at(-1) ?? '')
    expect(found).toMatchObject({ device: 'eth3', physical: true })
    expect(pool.objects.get('PIF_metrics')?.get(String(found?.metrics))).toMatchObject({ speed: 10000, vendor_name: 'Intel Corporation', pci_bus_path: '0000:3b:00.3' })
    const net = (await x.call('network.create', { name_label: 'xo-cross', name_description: '', MTU: 1500, other_config: {} })) as string
    await expect(x.call('Bond.create', net, [pifOf(pool, 0, 'eth1'), pifOf(pool, 1, 'eth1')], '', 'balance-slb', {})).rejects.toMatchObject({ code: 'PIF_CANNOT_BOND_CROSS_HOST', params: [] })
  })
})
