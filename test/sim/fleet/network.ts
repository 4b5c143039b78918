/**
 * Networks as XAPI holds them: networks, PIFs with PIF_metrics, VLANs and bonds, both directions of
 * every link kept; the hosts' NICs (SimHostSpec.nics, what PIF.scan sees), including ports XAPI has
 * no PIF for yet. `buildNetworkTopology` adds what a pool's plan asks beyond eth0/eth1 (more NICs,
 * bonds, VLANs, hidden networks, devices that differ between hosts) after every other step, so the
 * records built before it stay as they were.
 */
import type { SimNic } from '../model'
import { NULL_DATE, NULL_REF } from '../records'
import { arr, str, type BuildContext, type HostState } from './context'
import type { NetworkPlan, NicModel } from './plan'

interface NicModelSpec {
  vendorId: string
  vendorName: string
  deviceId: string
  deviceName: string
  speedMbit: number
  /** PCI bus and slot of the card; ports are its functions from `fn` on */
  bus: string
  slot?: string
  fn?: number
}

/** real cards, as lspci and PIF_metrics name them */
export const NIC_MODELS: Readonly<Record<NicModel, NicModelSpec>> = {
  x710: { vendorId: '8086', vendorName: 'Intel Corporation', deviceId: '1572', deviceName: 'Ethernet Controller X710 for 10GbE SFP+', speedMbit: 10000, bus: '3b' },
  i350: { vendorId: '8086', vendorName: 'Intel Corporation', deviceId: '1521', deviceName: 'I350 Gigabit Network Connection', speedMbit: 1000, bus: '02' },
  i219: { vendorId: '8086', vendorName: 'Intel Corporation', deviceId: '15bb', deviceName: 'Ethernet Connection (7) I219-LM', speedMbit: 1000, bus: '00', slot: '1f', fn: 6 },
  rtl8111: { vendorId: '10ec', vendorName: 'Realtek Semiconductor Co., Ltd.', deviceId: '8168', deviceName: 'RTL8111/8168/8411 PCI Express Gigabit Ethernet Controller', speedMbit: 1000, bus: '03' },
  bcm57414: { vendorId: '14e4', vendorName: 'Broadcom Inc. and subsidiaries', deviceId: '16d7', deviceName: 'BCM57414 NetXtreme-E 10Gb/25Gb RDMA Ethernet Controller', speedMbit: 25000, bus: '5e' },
  cx5: { vendorId: '15b3', vendorName: 'Mellanox Technologies', deviceId: '1017', deviceName: 'MT27800 Family [ConnectX-5]', speedMbit: 25000, bus: 'af' },
  '82599': { vendorId: '8086', vendorName: 'Intel Corporation', deviceId: '10fb', deviceName: '82599ES 10-Gigabit SFI/SFP+ Network Connection', speedMbit: 10000, bus: '04' },
}

/** the card's PCI address for a port: ports of one card share the bus, numbered by function */
function pciOf(model: NicModel, port: number): string {
  const m = NIC_MODELS[model]
  return `0000:${m.bus}:${m.slot ?? '00'}.${(m.fn ?? 0) + port}`
}

function nicOf(device: string, mac: string, model: NicModel, port: number, carrier: boolean): SimNic {
  const m = NIC_MODELS[model]
  return { device, mac, carrier, speedMbit: m.speedMbit, vendorId: m.vendorId, vendorName: m.vendorName, deviceId: m.deviceId, deviceName: m.deviceName, pciBusPath: pciOf(model, port) }
}

export function addNetwork(b: BuildContext, name: string, bridge: string, description: string, otherConfig: Record<string, string>, mtu = 1500): string {
  const { ref } = b.add('network', { name_label: name, name_description: description, allowed_operations: [], VIFs: [], PIFs: [], MTU: mtu, other_config: otherConfig, bridge, managed: true })
  return ref
}

export function buildNetworks(b: BuildContext): void {
  const n = b.pool.networks
  n.eth0 = addNetwork(b, 'Pool-wide network associated with eth0', 'xenbr0', '', {})
  n.eth1 = addNetwork(b, 'Pool-wide network associated with eth1', 'xenbr1', '', {})
  if (b.plan.vlan) n.vlan = addNetwork(b, 'VLAN 20 (storage)', 'xapi1', 'Storage traffic', {}, 9000)
  n.internal = addNetwork(b, 'Host internal management network', 'xenapi', 'Network on which guests will be assigned a private link-local IP address which can be used to talk XenAPI', {
    ip_begin: '169.254.0.1',
    ip_end: '169.254.255.254',
    is_guest_installer_network: 'true',
    is_host_internal_management_network: 'true',
    netmask: '255.255.0.0',
  })
}

function addPif(b: BuildContext, h: HostState, o: { device: string; network: string; mac: string; vlan: number; physical: boolean; management: boolean; ip?: string; mtu?: number; nic?: SimNic; metrics?: string; attached?: boolean }): string {
  let metrics = o.metrics ?? NULL_REF
  if (o.physical) {
    const nic = o.nic ?? nicOf(o.device, o.mac, 'x710', 0, true)
    metrics = b.add('PIF_metrics', {
      io_read_kbs: 0,
      io_write_kbs: 0,
      carrier: nic.carrier,
      vendor_id: nic.vendorId,
      vendor_name: nic.vendorName,
      device_id: nic.deviceId,
      device_name: nic.deviceName,
      speed: nic.carrier ? nic.speedMbit : 0,
      duplex: nic.carrier,
      pci_bus_path: nic.pciBusPath,
      last_updated: NULL_DATE,
    }).ref
  }
  const { ref } = b.add('PIF', {
    device: o.device,
    network: o.network,
    host: h.ref,
    MAC: o.mac,
    MTU: o.mtu ?? 1500,
    VLAN: o.vlan,
    metrics,
    physical: o.physical,
    currently_attached: o.attached ?? true,
    ip_configuration_mode: o.ip ? 'Static' : 'None',
    IP: o.ip ?? '',
    netmask: o.ip ? '255.255.255.0' : '',
    gateway: o.ip ? `${b.plan.addressPrefix}.254` : '',
    DNS: o.ip ? '10.0.0.2,10.0.0.3' : '',
    management: o.management,
    other_config: {},
    primary_address_type: 'IPv4',
    managed: true,
    properties: o.physical && !b.legacy ? { gro: 'on' } : {},
    capabilities: [],
    igmp_snooping_status: b.legacy ? 'unknown' : 'disabled',
  })
  arr(h.rec, 'PIFs').push(ref)
  arr(b.get('network', o.network), 'PIFs').push(ref)
  return ref
}

/** the host's PIFs on the pool-wide networks (eth0 management, eth1, and the VLAN when the pool has one) */
export function buildHostNetwork(b: BuildContext, h: HostState): void {
  const n = b.pool.networks
  const plan = b.plan.network
  const [m0, m1] = plan?.nicModels ?? ['x710', 'x710']
  const index = b.hosts.indexOf(h)
  const eth0 = nicOf('eth0', b.mac(), m0, 0, true)
  h.pifs.eth0 = addPif(b, h, { device: 'eth0', network: n.eth0, mac: eth0.mac, vlan: -1, physical: true, management: true, ip: h.spec.address, nic: eth0 })
  const eth1 = nicOf('eth1', b.mac(), m1, m0 === m1 ? 1 : 0, !(plan?.eth1DownOn ?? []).includes(index))
  h.pifs.eth1 = addPif(b, h, { device: 'eth1', network: n.eth1, mac: eth1.mac, vlan: -1, physical: true, management: false, nic: eth1 })
  h.spec.nics = [eth0, eth1]
  if (n.vlan) {
    // a VLAN's PIF shares its tagged PIF's metrics (xapi_vlan.ml pool_introduce)
    const vlanPif = addPif(b, h, { device: 'eth1', network: n.vlan, mac: eth1.mac, vlan: 20, physical: false, management: false, mtu: 9000, metrics: str(b.get('PIF', h.pifs.eth1), 'metrics') })
    h.pifs.vlan = vlanPif
    const { ref: vlanRef } = b.add('VLAN', { tagged_PIF: h.pifs.eth1, untagged_PIF: vlanPif, tag: 20, other_config: {} })
    b.get('PIF', vlanPif).VLAN_master_of = vlanRef
    arr(b.get('PIF', h.pifs.eth1), 'VLAN_slave_of').push(vlanRef)
  }
}

// ---------------------------------------------------------------------------------------------
// what the pool's plan asks beyond eth0/eth1

type BondMode = NonNullable<NetworkPlan['bonds']>[number]['mode']

/** the next xapiN bridge no network uses (network.create's choose_bridge_name) */
function freeBridge(b: BuildContext): string {
  const used = new Set([...(b.objects.get('network')?.values() ?? [])].map((n) => String(n.bridge)))
  let i = 0
  while (used.has(`xapi${i}`)) i++
  return `xapi${i}`
}

function networkByName(b: BuildContext, made: Map<string, string>, name: string, bridge: () => string, mtu = 1500, otherConfig: Record<string, string> = {}, description = ''): string {
  let ref = made.get(name)
  if (!ref) {
    ref = addNetwork(b, name, bridge(), description, otherConfig, mtu)
    made.set(name, ref)
  }
  return ref
}

const onHost = (hosts: readonly number[] | undefined, i: number): boolean => hosts === undefined || hosts.includes(i)

/** the bond master PIF as the monitor reports it from its members */
function bondMetrics(b: BuildContext, members: string[], mode: BondMode): { carrier: boolean; speed: number; linksUp: number } {
  const ms = members.map((m) => b.get('PIF_metrics', str(b.get('PIF', m), 'metrics')))
  const up = ms.filter((m) => m.carrier === true)
  const speeds = up.map((m) => (typeof m.speed === 'number' ? m.speed : 0))
  return { carrier: up.length > 0, speed: mode === 'active-backup' ? (speeds[0] ?? 0) : speeds.reduce((a, x) => a + x, 0), linksUp: up.length }
}

export function buildNetworkTopology(b: BuildContext): void {
  const plan = b.plan.network
  if (!plan) return
  const made = new Map<string, string>()
  const physical = (device: string): string => {
    const n = /^eth(\d+)$/.exec(device)?.[1]
    return networkByName(b, made, `Pool-wide network associated with ${device}`, () => (n !== undefined ? `xenbr${n}` : `br${device}`))
  }
  /** host index → device → PIF */
  const pifs = b.hosts.map((h) => new Map<string, string>([['eth0', h.pifs.eth0], ['eth1', h.pifs.eth1]]))

  // the ports beyond eth0/eth1: PIFs on their networks, or no PIF yet
  // ports of one model are functions of one card: eth2, eth3 → 00.0, 00.1
  const ports = new Map<string, number>()
  for (const nic of plan.nics ?? []) {
    const key = `${nic.model}|${nic.device}`
    const port = ports.get(key) ?? [...ports.keys()].filter((k) => k.startsWith(`${nic.model}|`)).length
    ports.set(key, port)
    b.hosts.forEach((h, i) => {
      if (!onHost(nic.hosts, i)) return
      const card = nicOf(nic.device, b.mac(), nic.model, port, nic.carrier ?? true)
      h.spec.nics = [...(h.spec.nics ?? []), card]
      if (nic.introduced === false) return
      const network = nic.network ? networkByName(b, made, nic.network, () => freeBridge(b)) : physical(nic.device)
      pifs[i]?.set(nic.device, addPif(b, h, { device: nic.device, network, mac: card.mac, vlan: -1, physical: true, management: false, nic: card }))
    })
  }

  // bonds: a master PIF (bondN) on the bond network, the members its slaves (down, as networkd leaves them)
  for (const bond of plan.bonds ?? []) {
    const net = networkByName(b, made, bond.name, () => freeBridge(b), bond.mtu ?? 1500, { automatic: 'true' })
    b.hosts.forEach((h, i) => {
      if (!onHost(bond.hosts, i)) return
      const members = bond.devices.map((d) => pifs[i]?.get(d)).filter((p): p is string => p !== undefined)
      const primary = members[0]
      if (!primary || members.length < 2) throw new Error(`fleet: bond ${bond.name} on host ${i} lacks its NICs`)
      const m = bondMetrics(b, members, bond.mode)
      const bondRef = b.ref()
      const metrics = b.add('PIF_metrics', { io_read_kbs: 0, io_write_kbs: 0, carrier: m.carrier, vendor_id: '', vendor_name: '', device_id: '', device_name: '', speed: m.speed, duplex: m.carrier, pci_bus_path: '', last_updated: NULL_DATE }).ref
      const used = [...pifs[i]?.keys() ?? []].filter((d) => /^bond\d+$/.test(d)).length
      const master = addPif(b, h, { device: `bond${used}`, network: net, mac: str(b.get('PIF', primary), 'MAC'), vlan: -1, physical: false, management: false, mtu: bond.mtu ?? 1500, metrics })
      b.get('PIF', master).bond_master_of = [bondRef]
      b.get('PIF', master).properties = b.legacy ? {} : { gro: 'on' }
      pifs[i]?.set(`bond${used}`, master)
      const properties: Record<string, string> = bond.mode === 'lacp' ? { hashing_algorithm: 'tcpudp_ports', 'lacp-time': 'slow', 'lacp-fallback-ab': 'true' } : {}
      b.add('Bond', { master, slaves: members, other_config: {}, primary_slave: primary, mode: bond.mode, properties, links_up: m.linksUp, auto_update_mac: true }, bondRef)
      for (const p of members) Object.assign(b.get('PIF', p), { bond_slave_of: bondRef, currently_attached: false })
    })
    // the VMs that use the bond: their first NIC moves from eth0's network onto it
    if (bond.vms) {
      const prefix = bond.vms
      for (const [vifRef, vif] of b.objects.get('VIF') ?? []) {
        const vm = b.objects.get('VM')?.get(str(vif, 'VM'))
        if (!vm || !str(vm, 'name_label').startsWith(prefix) || vif.device !== '0' || vif.network !== b.pool.networks.eth0) continue
        const from = arr(b.get('network', b.pool.networks.eth0), 'VIFs')
        from.splice(from.indexOf(vifRef), 1)
        vif.network = net
        arr(b.get('network', net), 'VIFs').push(vifRef)
      }
    }
  }

  // VLANs: the untagged PIF shares its tagged PIF's metrics
  for (const vlan of plan.vlans ?? []) {
    const net = networkByName(b, made, vlan.name, () => freeBridge(b), vlan.mtu ?? 1500, { automatic: 'true' })
    b.hosts.forEach((h, i) => {
      if (!onHost(vlan.hosts, i)) return
      const tagged = pifs[i]?.get(vlan.device)
      if (!tagged) throw new Error(`fleet: VLAN ${vlan.tag} on host ${i} lacks ${vlan.device}`)
      const t = b.get('PIF', tagged)
      const untagged = addPif(b, h, { device: vlan.device, network: net, mac: str(t, 'MAC'), vlan: vlan.tag, physical: false, management: false, mtu: vlan.mtu ?? 1500, metrics: str(t, 'metrics') })
      const { ref } = b.add('VLAN', { tagged_PIF: tagged, untagged_PIF: untagged, tag: vlan.tag, other_config: {} })
      b.get('PIF', untagged).VLAN_master_of = ref
      arr(t, 'VLAN_slave_of').push(ref)
    })
  }

  for (const h of plan.hidden ?? []) networkByName(b, made, h.name, () => freeBridge(b), 1500, { HideFromXenCenter: 'true' }, h.description)
}
