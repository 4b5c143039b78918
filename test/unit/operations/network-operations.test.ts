/**
 * The networking rules both sides use (shared/operations/network.ts), on the simulator's own
 * networking pool: what XenCenter shows and hides, the NICs/bonds/VLANs of a host, a network
 * across hosts, and the reasons XAPI would refuse — each rule tested so that removing it fails.
 */
import { describe, expect, it } from 'vitest'
import * as net from '../../../shared/operations/network'
import type { NetGraph } from '../../../shared/operations/network'
import type { SimRecord } from '../../sim/model'
import { poolHarness } from '../sim/harness'
import { netPool } from '../sim/net-pool'

function setup() {
  const t = netPool()
  const h = poolHarness(t)
  const g: NetGraph = { get: (c, r) => h.pool.db.get(c, r), all: (c) => h.pool.db.table(c) }
  const set = (cls: string, ref: string, patch: SimRecord): void => void h.pool.db.update(cls, ref, patch)
  return { ...h, n: t.net, g, set }
}

describe('what XenCenter shows', () => {
  it('hides networks marked HideFromXenCenter, bond members’ networks and the guest installer network, unless asked', async () => {
    const s = setup()
    const hidden = String(await s.call('network.create', { name_label: 'secret', other_config: { HideFromXenCenter: 'true' } }))
    expect(net.isNetworkShown(s.g, hidden, false)).toBe(false)
    expect(net.isNetworkShown(s.g, hidden, true)).toBe(true)
    expect(net.isNetworkShown(s.g, s.n.internal, false)).toBe(false)
    const bondNet = String(await s.call('network.create', { name_label: 'bond' }))
    await s.call('Bond.create', bondNet, [s.n.pifs[0]?.eth1 ?? '', s.n.pifs[0]?.eth2 ?? ''], '', 'active-backup', {})
    expect(net.isNetworkShown(s.g, s.n.networks.eth1, false)).toBe(false)
    expect(net.isNetworkShown(s.g, bondNet, false)).toBe(true)
    expect(net.selectableNetworks(s.g).map((x) => x.name)).toEqual(['bond', 'Pool-wide network associated with eth0'])
  })

  it('lists a VM’s NICs with IPs from the guest agent, effective locking and rate limit', () => {
    const s = setup()
    s.set('VIF', s.n.vifs.running, { qos_algorithm_type: 'ratelimit', qos_algorithm_params: { kbps: '1024' }, locking_mode: 'network_default' })
    s.set('network', s.n.networks.eth0, { default_locking_mode: 'disabled' })
    const [row] = net.vifRows(s.g, s.t.refs.running)
    expect(row).toMatchObject({ device: '0', networkName: 'Pool-wide network associated with eth0', ips: ['10.0.0.11'], rateLimitKbps: 1024, effectiveLocking: 'disabled', attached: true })
    expect(net.vifIps({ '1/ip': '10.0.0.5', '1/ipv4/0': '10.0.0.5', '1/ipv4/1': '10.0.0.6', '1/ipv6/0': 'fe80::1', '0/ip': '9.9.9.9' }, '1')).toEqual(['10.0.0.5', '10.0.0.6', 'fe80::1'])
  })

  it('names NICs as XenCenter does and reads PIF_metrics', async () => {
    const s = setup()
    const host = s.t.refs.hosts[0] ?? ''
    const rows = net.nicRows(s.g, host)
    expect(rows.map((r) => [r.name, r.link, r.speed, r.management])).toEqual([
      ['NIC 0', 'connected', 10000, true],
      ['NIC 1', 'connected', 10000, false],
      ['NIC 2', 'connected', 10000, false],
    ])
    s.set('PIF_metrics', String(s.g.get('PIF', s.n.pifs[0]?.eth2 ?? '')?.metrics), { carrier: false })
    const bondNet = String(await s.call('network.create', { name_label: 'b' }))
    await s.call('Bond.create', bondNet, [s.n.pifs[0]?.eth1 ?? '', s.n.pifs[0]?.eth2 ?? ''], '', 'active-backup', {})
    const [bond] = net.bondRows(s.g, host)
    expect(bond).toMatchObject({ name: 'Bond 1+2', mode: 'active-backup', linksUp: 1 })
    // active-backup: the primary carries traffic while its link is up
    expect(bond?.active).toEqual([s.n.pifs[0]?.eth1])
    expect(net.nicRows(s.g, host).find((r) => r.device === 'eth2')).toMatchObject({ link: 'disconnected', bondMemberOf: 'Bond 1+2' })
  })
})

describe('a network across the pool', () => {
  it('finds hosts missing a network and networks on different devices per host', async () => {
    const s = setup()
    expect(net.networkMismatches(s.g)).toEqual([])
    // eth2's network: host 2 reaches it through eth1's card instead
    const vlanNet = String(await s.call('network.create', { name_label: 'VLAN 9' }))
    await s.call('VLAN.create', s.n.pifs[0]?.eth1 ?? '', 9, vlanNet)
    const mm = net.networkMismatches(s.g)
    expect(mm.map(net.describeMismatch)).toEqual(['VLAN 9: missing on sim-host-2'])
    await s.call('VLAN.create', s.n.pifs[1]?.eth2 ?? '', 9, vlanNet)
    expect(net.networkMismatches(s.g).map(net.describeMismatch)).toEqual(['VLAN 9: carried by VLAN 9 on eth1 on sim-host-1; VLAN 9 on eth2 on sim-host-2'])
    expect(net.networkAcrossHosts(s.g, vlanNet).map((h) => h.nicName)).toEqual(['VLAN 9 on NIC 1', 'VLAN 9 on NIC 2'])
  })
})

describe('why XAPI would refuse', () => {
  it('NIC hot-plug needs a running VM with guest tools', () => {
    const s = setup()
    expect(net.canUnplugVif(s.g, s.n.vifs.running)).toBe(true)
    expect(net.canPlugVif(s.g, s.n.vifs.running)).toBe('The NIC is already connected')
    s.set('VM', s.t.refs.running, { guest_metrics: 'OpaqueRef:NULL' })
    expect(net.canUnplugVif(s.g, s.n.vifs.running)).toBe('web-01 has no guest tools running, so its NICs cannot be changed while it runs')
    expect(net.canRemoveVif(s.g, s.n.vifs.running)).toMatch(/shut it down to remove the NIC/)
    s.set('VM', s.t.refs.running, { domain_type: 'pvh' })
    expect(net.canRemoveVif(s.g, s.n.vifs.running)).toBe(true)
    expect(net.canPlugVif(s.g, s.n.vifs.halted)).toBe('db-01 is halted')
    expect(net.canRemoveVif(s.g, s.n.vifs.halted)).toBe(true)
  })

  it('a running NIC moves only to a network its server reaches; snapshots keep theirs', () => {
    const s = setup()
    expect(net.canMoveVif(s.g, s.n.vifs.running, s.n.networks.eth1)).toBe(true)
    expect(net.canMoveVif(s.g, s.n.vifs.running, s.n.networks.eth0)).toBe('The NIC is already on Pool-wide network associated with eth0')
    s.set('network', s.n.networks.eth1, { PIFs: [s.n.pifs[1]?.eth1 ?? ''] })
    expect(net.canMoveVif(s.g, s.n.vifs.running, s.n.networks.eth1)).toBe('sim-host-1, where web-01 runs, has no NIC on Pool-wide network associated with eth1')
    expect(net.canMoveVif(s.g, s.n.vifs.halted, s.n.networks.eth1)).toBe(true)
    s.set('VM', s.t.refs.halted, { is_a_snapshot: true })
    expect(net.canAddVif(s.g, s.t.refs.halted)).toBe('db-01 is a snapshot: its NICs are kept as they were')
  })

  it('a VM has at most 16 NICs; MACs are checked', () => {
    const s = setup()
    expect(net.canAddVif(s.g, s.t.refs.halted)).toBe(true)
    expect(net.freeVifDevice(s.g, s.t.refs.halted)).toBe('1')
    const many = Array.from({ length: 16 }, (_, i) => `OpaqueRef:00000000-0000-0000-0000-${String(i).padStart(12, '0')}`)
    for (const [i, ref] of many.entries()) s.pool.db.insert('VIF', ref, s.pool.db.blank('VIF', { VM: s.t.refs.halted, device: String(i) }))
    s.set('VM', s.t.refs.halted, { VIFs: many })
    expect(net.canAddVif(s.g, s.t.refs.halted)).toBe('db-01 already has 16 NICs, the most XAPI allows')
    expect(net.isValidMac('02:16:3e:AA:bb:0c')).toBe(true)
    expect(net.canChangeMac(s.g, s.n.vifs.halted, '02:16:3e:aa:bb')).toMatch(/is not a MAC address/)
    expect(net.isUnicastMac('03:00:00:00:00:01')).toBe(false)
  })

  it('bonds: 2 to 4 NICs of one server, none bonded already, none a VLAN, at most one with an IP; HA guards the management interface', async () => {
    const s = setup()
    const [a, b] = [s.n.pifs[0]?.eth1 ?? '', s.n.pifs[0]?.eth2 ?? '']
    expect(net.canCreateBond(s.g, [a, b], 'lacp')).toBe(true)
    expect(net.canCreateBond(s.g, [a], 'lacp')).toBe('Choose at least 2 NICs')
    expect(net.canCreateBond(s.g, [a, a], 'lacp')).toBe('Choose at least 2 NICs')
    expect(net.canCreateBond(s.g, [a, b], 'round-robin')).toMatch(/Choose a bond mode/)
    expect(net.canCreateBond(s.g, [a, s.n.pifs[1]?.eth2 ?? ''], 'lacp')).toBe('All NICs of a bond must be on the same server')
    s.set('PIF', b, { ip_configuration_mode: 'DHCP' })
    expect(net.canCreateBond(s.g, [s.n.pifs[0]?.eth0 ?? '', b], 'lacp')).toMatch(/Only one NIC of a bond may have an IP address/)
    s.set('PIF', b, { ip_configuration_mode: 'None' })
    expect(net.bondTakesManagement(s.g, [s.n.pifs[0]?.eth0 ?? '', b])).toBe(true)
    s.set('pool', s.t.refs.pool, { ha_enabled: true })
    expect(net.canCreateBond(s.g, [s.n.pifs[0]?.eth0 ?? '', b], 'lacp')).toMatch(/management interface and HA is on/)
    s.set('pool', s.t.refs.pool, { ha_enabled: false })
    const bondNet = String(await s.call('network.create', { name_label: 'b' }))
    const bond = String(await s.call('Bond.create', bondNet, [a, b], '', 'lacp', {}))
    expect(net.canBondPif(s.g, a)).toBe('NIC 1 is already in a bond')
    expect(net.canDestroyBond(s.g, bond)).toBe(true)
    const vlanNet = String(await s.call('network.create', { name_label: 'v' }))
    // pool-wide, the VLAN would also go on host 1's eth1, now a bond member: xapi refuses
    expect(await s.fails('pool.create_VLAN_from_PIF', s.n.pifs[1]?.eth1 ?? '', vlanNet, 5)).toEqual(['CANNOT_ADD_VLAN_TO_BOND_SLAVE', a])
    expect(net.canCreateVlan(s.g, s.n.pifs[1]?.eth1 ?? '', 5)).toBe('sim-host-1: NIC 1 is a bond member: put the VLAN on the bond')
    const vlan = String(await s.call('VLAN.create', s.n.pifs[1]?.eth1 ?? '', 5, vlanNet))
    expect(net.canBondPif(s.g, String(s.g.get('VLAN', vlan)?.untagged_PIF))).toBe('VLAN 5 on NIC 1 is a VLAN')
  })

  it('VLANs: tag 0–4094, not on a bond member nor on a VLAN, not twice; the plan names the servers that get it', async () => {
    const s = setup()
    const eth1 = s.n.pifs[0]?.eth1 ?? ''
    expect(net.vlanTagReason(4095)).toBe('4095 is not a VLAN tag: it must be between 0 and 4094')
    expect(net.vlanTagReason(-1)).toMatch(/between 0 and 4094/)
    expect(net.vlanTagReason(1.5)).toMatch(/whole number/)
    expect(net.canCreateVlan(s.g, eth1, 4095)).toBe('sim-host-1: 4095 is not a VLAN tag: it must be between 0 and 4094')
    expect(net.canCreateVlan(s.g, eth1, 10)).toBe(true)
    expect(net.vlanPlan(s.g, eth1, 10).on.map((x) => x.hostName)).toEqual(['sim-host-1', 'sim-host-2'])
    const vlanNet = String(await s.call('network.create', { name_label: 'v' }))
    const [untagged] = (await s.call('pool.create_VLAN_from_PIF', eth1, vlanNet, 10)) as string[]
    expect(net.canVlanOnPif(s.g, eth1, 10)).toBe('NIC 1 already has VLAN 10')
    expect(net.canVlanOnPif(s.g, untagged ?? '', 11)).toMatch(/is already a VLAN/)
    const bondNet = String(await s.call('network.create', { name_label: 'b' }))
    await s.call('Bond.create', bondNet, [s.n.pifs[1]?.eth2 ?? '', s.n.pifs[1]?.eth0 ?? ''], '', 'active-backup', {})
    expect(net.canVlanOnPif(s.g, s.n.pifs[1]?.eth2 ?? '', 12)).toBe('NIC 2 is a bond member: put the VLAN on the bond')
    // eth2's network now has no PIF on host 2 (it is a bond member there, still on it) — host 1 only is live for eth0's
    s.set('host_metrics', String(s.g.get('host', s.t.refs.hosts[1] ?? '')?.metrics), { live: false })
    expect(net.vlanPlan(s.g, s.n.pifs[0]?.eth0 ?? '', 13).notOn.map((x) => x.hostName)).toEqual(['sim-host-2'])
  })

  it('a VLAN that is a management interface or in use by a running VM is not deleted', async () => {
    const s = setup()
    const vlanNet = String(await s.call('network.create', { name_label: 'v' }))
    const [p1] = (await s.call('pool.create_VLAN_from_PIF', s.n.pifs[0]?.eth1 ?? '', vlanNet, 20)) as string[]
    expect(net.canDestroyVlanPif(s.g, p1 ?? '')).toBe(true)
    await s.call('VIF.move', s.n.vifs.running, vlanNet)
    expect(net.canDestroyVlanPif(s.g, p1 ?? '')).toBe('web-01 uses it on sim-host-1')
    s.set('PIF', p1 ?? '', { management: true })
    expect(net.canDestroyVlanPif(s.g, p1 ?? '')).toBe('VLAN 20 on NIC 1 is the management interface of sim-host-1; move management elsewhere first')
  })

  it('a network goes with its VLANs and bonds, never a physical NIC’s, never while a running VM uses it', async () => {
    const s = setup()
    expect(net.canRemoveNetwork(s.g, s.n.networks.eth1)).toMatch(/is the network of a physical NIC \(NIC 1 on sim-host-1\)/)
    expect(net.canRemoveNetwork(s.g, s.n.networks.eth0)).toBe('web-01 is connected to Pool-wide network associated with eth0: disconnect or move their NICs first')
    expect(net.canRemoveNetwork(s.g, s.n.internal)).toBe('Host internal management network is a system network and cannot be removed')
    const vlanNet = String(await s.call('network.create', { name_label: 'v' }))
    await s.call('pool.create_VLAN_from_PIF', s.n.pifs[0]?.eth2 ?? '', vlanNet, 20)
    const r = net.networkRemoval(s.g, vlanNet)
    expect(r.ok && r.plan.vlans.length).toBe(2)
    expect(net.mtuReason(9217)).toMatch(/from 1500 to 9216/)
    expect(net.mtuReason(9000)).toBe(true)
  })
})
