/** Networks as XAPI holds them: networks, PIFs with PIF_metrics, VLANs; both directions of every link kept. */
import { NULL_DATE, NULL_REF } from '../records'
import { arr, type BuildContext, type HostState } from './context'

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

function addPif(b: BuildContext, h: HostState, o: { device: string; network: string; mac: string; vlan: number; physical: boolean; management: boolean; ip?: string; mtu?: number; pci?: string }): string {
  let metrics = NULL_REF
  if (o.physical) {
    metrics = b.add('PIF_metrics', {
      io_read_kbs: 0,
      io_write_kbs: 0,
      carrier: true,
      vendor_id: '8086',
      vendor_name: 'Intel Corporation',
      device_id: '1572',
      device_name: 'Ethernet Controller X710 for 10GbE SFP+',
      speed: 10000,
      duplex: true,
      pci_bus_path: o.pci ?? '',
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
    currently_attached: true,
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
  h.pifs.eth0 = addPif(b, h, { device: 'eth0', network: n.eth0, mac: b.mac(), vlan: -1, physical: true, management: true, ip: h.spec.address, pci: '0000:3b:00.0' })
  const eth1Mac = b.mac()
  h.pifs.eth1 = addPif(b, h, { device: 'eth1', network: n.eth1, mac: eth1Mac, vlan: -1, physical: true, management: false, pci: '0000:3b:00.1' })
  if (n.vlan) {
    const vlanPif = addPif(b, h, { device: 'eth1', network: n.vlan, mac: eth1Mac, vlan: 20, physical: false, management: false, mtu: 9000 })
    h.pifs.vlan = vlanPif
    const { ref: vlanRef } = b.add('VLAN', { tagged_PIF: h.pifs.eth1, untagged_PIF: vlanPif, tag: 20, other_config: {} })
    b.get('PIF', vlanPif).VLAN_master_of = vlanRef
    arr(b.get('PIF', h.pifs.eth1), 'VLAN_slave_of').push(vlanRef)
  }
}
