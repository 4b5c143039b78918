/**
 * The tiny pool with its networking filled in, for the networking tests: on each host eth0
 * (management, 10 GbE), eth1 and eth2 (unused, 10 GbE) with PIF_metrics, each on its pool-wide
 * network; a NIC eth3 the hosts have but XAPI has no PIF for yet (PIF.scan finds it); VMs with a
 * mac_seed; web-01 running with PV drivers, db-01 halted with a NIC on eth0's network.
 */
import { randomUUID } from 'node:crypto'
import type { SimNic, SimRecord, SimTable } from '../../sim/model'
import { defaultRecord } from '../../sim/records'
import { tinyPool, type TinyPool } from './tiny-pool'

export interface NetPool extends TinyPool {
  net: {
    /** network per device: eth0 is tiny's own network */
    networks: Record<'eth0' | 'eth1' | 'eth2', string>
    /** PIF per host per device */
    pifs: Record<'eth0' | 'eth1' | 'eth2', string>[]
    /** web-01's and db-01's VIF (device 0, on eth0's network) */
    vifs: { running: string; halted: string }
    internal: string
  }
}

const ref = (): string => `OpaqueRef:${randomUUID()}`

export function nic(device: string, host: number, index: number, over: Partial<SimNic> = {}): SimNic {
  return {
    device,
    mac: `00:1b:21:0${host}:00:${index.toString(16).padStart(2, '0')}`,
    carrier: true,
    speedMbit: 10000,
    vendorId: '8086',
    vendorName: 'Intel Corporation',
    deviceId: '1572',
    deviceName: 'Ethernet Controller X710 for 10GbE SFP+',
    pciBusPath: `0000:3b:00.${index}`,
    ...over,
  }
}

export function netPool(opts: Parameters<typeof tinyPool>[0] = {}): NetPool {
  const t = tinyPool(opts)
  const release = t.spec.xapiRelease
  const objects = t.spec.objects
  const table = (cls: string): SimTable => {
    let x = objects.get(cls)
    if (!x) {
      x = new Map()
      objects.set(cls, x)
    }
    return x
  }
  const put = (cls: string, r: string, over: SimRecord): string => {
    table(cls).set(r, defaultRecord(cls, release, { uuid: randomUUID(), ...over }))
    return r
  }
  const must = (cls: string, r: string): SimRecord => {
    const x = objects.get(cls)?.get(r)
    if (!x) throw new Error(`net pool: ${cls} ${r} missing`)
    return x
  }
  const push = (rec: SimRecord, field: string, v: string): void => {
    rec[field] = [...(Array.isArray(rec[field]) ? (rec[field] as string[]) : []), v]
  }

  const eth0 = t.refs.network
  must('network', eth0)['managed'] = true
  const eth1 = put('network', ref(), { name_label: 'Pool-wide network associated with eth1', bridge: 'xenbr1', MTU: 1500, managed: true })
  const eth2 = put('network', ref(), { name_label: 'Pool-wide network associated with eth2', bridge: 'xenbr2', MTU: 1500, managed: true })
  const internal = put('network', ref(), {
    name_label: 'Host internal management network',
    bridge: 'xenapi',
    MTU: 1500,
    managed: true,
    other_config: { is_guest_installer_network: 'true', is_host_internal_management_network: 'true' },
  })
  const networks = { eth0, eth1, eth2 }
  const pifs: NetPool['net']['pifs'] = []
  t.spec.hosts.forEach((h, hi) => {
    const host = must('host', h.ref)
    const cards = [0, 1, 2, 3].map((i) => nic(`eth${i}`, hi + 1, i))
    h.nics = cards
    const mine = {} as Record<'eth0' | 'eth1' | 'eth2', string>
    for (const dev of ['eth0', 'eth1', 'eth2'] as const) {
      const i = Number(dev.slice(3))
      const card = cards[i]
      if (!card) throw new Error('net pool: nic missing')
      const metrics = put('PIF_metrics', ref(), {
        carrier: card.carrier,
        vendor_id: card.vendorId,
        vendor_name: card.vendorName,
        device_id: card.deviceId,
        device_name: card.deviceName,
        speed: card.speedMbit,
        duplex: true,
        pci_bus_path: card.pciBusPath,
      })
      const management = dev === 'eth0'
      const pif = put('PIF', ref(), {
        device: dev,
        network: networks[dev],
        host: h.ref,
        MAC: card.mac,
        MTU: 1500,
        VLAN: -1,
        metrics,
        physical: true,
        currently_attached: management,
        management,
        managed: true,
        ip_configuration_mode: management ? 'Static' : 'None',
        IP: management ? h.address : '',
        netmask: management ? '255.255.255.0' : '',
        primary_address_type: 'IPv4',
        properties: { gro: 'on' },
        bond_slave_of: 'OpaqueRef:NULL',
        VLAN_master_of: 'OpaqueRef:NULL',
      })
      push(host, 'PIFs', pif)
      push(must('network', networks[dev]), 'PIFs', pif)
      mine[dev] = pif
    }
    pifs.push(mine)
  })

  // every VM gets the mac_seed xapi gives VMs it creates; every VIF its metrics and reverse link
  for (const [, vm] of table('VM')) vm['other_config'] = { ...(vm['other_config'] as Record<string, string>), mac_seed: randomUUID() }
  const vifOf = (vm: string): string => {
    const v = (must('VM', vm)['VIFs'] as string[])[0]
    if (!v) throw new Error('net pool: VM without VIF')
    return v
  }
  for (const [vifRef, vif] of table('VIF')) {
    vif['metrics'] = put('VIF_metrics', ref(), {})
    vif['locking_mode'] = 'network_default'
    push(must('network', String(vif['network'])), 'VIFs', vifRef)
  }
  const running = vifOf(t.refs.running)
  must('VIF', running)['currently_attached'] = true
  must('VIF', running)['allowed_operations'] = ['attach', 'unplug']
  must('VIF', vifOf(t.refs.halted))['allowed_operations'] = ['attach']
  // web-01 has guest tools, so its NICs can be hot-plugged
  const gm = put('VM_guest_metrics', ref(), { PV_drivers_detected: true, networks: { '0/ip': '10.0.0.11', '0/ipv4/0': '10.0.0.11' }, live: true })
  must('VM', t.refs.running)['guest_metrics'] = gm

  return { ...t, net: { networks, pifs, vifs: { running, halted: vifOf(t.refs.halted) }, internal } }
}
