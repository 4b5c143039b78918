/**
 * The fleets' networking is what a real pool holds and what the Network view, the NICs tab and
 * the drift report (#19) need to show: varied NIC hardware, bonds, VLANs, a hidden network, a port
 * XAPI has not scanned yet, and a pool whose hosts carry a network on different devices.
 */
import { describe, expect, it } from 'vitest'
import { bondRows, describeMismatch, isNetworkShown, networkMismatches, nicRows, type NetGraph } from '../../../shared/operations/network'
import { buildFleet } from '../../sim/fleet'
import type { SimPoolSpec } from '../../sim/model'
import { PoolState } from '../../sim/server/pool'

const demo = buildFleet('demo')
const tiny = buildFleet('tiny')

function pool(fleet: typeof demo, name: string): SimPoolSpec {
  const p = fleet.pools.find((x) => x.name === name)
  if (!p) throw new Error(`no pool ${name}`)
  return p
}

function graph(p: SimPoolSpec): NetGraph {
  return { get: (c, r) => p.objects.get(c)?.get(r), all: (c) => p.objects.get(c) ?? new Map() }
}

const hostRef = (p: SimPoolSpec, name: string): string => {
  for (const [ref, h] of p.objects.get('host') ?? []) if (h.name_label === name) return ref
  throw new Error(`no host ${name}`)
}

describe('demo fleet networking', () => {
  it('Production carries iSCSI path B on another device on one host and lacks the backup VLAN there', () => {
    const p = pool(demo, 'Production')
    expect(networkMismatches(graph(p)).map(describeMismatch)).toEqual([
      'Backup (VLAN 40): missing on xs-prod-04',
      'iSCSI path B: carried by eth4 on xs-prod-01, xs-prod-02, xs-prod-03; eth5 on xs-prod-04',
    ])
  })

  it('has a 25 GbE LACP bond on every Production host, with its members hidden from the network lists', () => {
    const p = pool(demo, 'Production')
    const g = graph(p)
    for (const h of ['xs-prod-01', 'xs-prod-02', 'xs-prod-03', 'xs-prod-04']) {
      const [b] = bondRows(g, hostRef(p, h))
      expect(b).toMatchObject({ name: 'Bond 2+3', mode: 'lacp', linksUp: 2, networkName: 'Bond 2+3 (guest traffic)' })
      expect(b?.properties).toMatchObject({ hashing_algorithm: 'tcpudp_ports' })
      const nics = nicRows(g, hostRef(p, h))
      expect(nics.find((n) => n.isBond)).toMatchObject({ speed: 50000, link: 'connected' })
      expect(nics.filter((n) => n.bondMemberOf === 'Bond 2+3').map((n) => n.vendor)).toEqual(['Mellanox Technologies', 'Mellanox Technologies'])
    }
    const member = [...(p.objects.get('network') ?? [])].find(([, n]) => n.name_label === 'Pool-wide network associated with eth2')?.[0] ?? ''
    expect(isNetworkShown(g, member, false)).toBe(false)
    // the k8s nodes' first NIC is on the bond
    const bondNet = [...(p.objects.get('network') ?? [])].find(([, n]) => n.name_label === 'Bond 2+3 (guest traffic)')
    const onBond = (bondNet?.[1].VIFs as string[]).map((v) => p.objects.get('VM')?.get(String(p.objects.get('VIF')?.get(v)?.VM))?.name_label)
    expect(onBond.length).toBeGreaterThan(0)
    expect(onBond.every((n) => String(n).startsWith('k8s-node'))).toBe(true)
  })

  it('has a degraded active-backup bond in Legacy, a hidden network, and NICs from several vendors', () => {
    const legacy = pool(demo, 'Legacy')
    const [b] = bondRows(graph(legacy), hostRef(legacy, 'xs72-02'))
    expect(b).toMatchObject({ mode: 'active-backup', linksUp: 1 })
    expect(b?.members.map((m) => m.link)).toEqual(['connected', 'disconnected'])
    expect(b?.active).toEqual([b?.primary])
    const prod = pool(demo, 'Production')
    const hidden = [...(prod.objects.get('network') ?? [])].find(([, n]) => n.name_label === 'Replication')?.[0] ?? ''
    expect(isNetworkShown(graph(prod), hidden, false)).toBe(false)
    expect(isNetworkShown(graph(prod), hidden, true)).toBe(true)
    const vendors = new Set(demo.pools.flatMap((p) => [...(p.objects.get('PIF_metrics')?.values() ?? [])].map((m) => String(m.vendor_name)).filter(Boolean)))
    expect([...vendors].sort()).toEqual(['Broadcom Inc. and subsidiaries', 'Intel Corporation', 'Mellanox Technologies', 'Realtek Semiconductor Co., Ltd.'])
  })

  it('lists every host NIC in the host spec; Lab has a card PIF.scan introduces', async () => {
    for (const p of [...demo.pools, ...tiny.pools]) {
      for (const h of p.hosts) {
        const macs = new Set((h.nics ?? []).map((n) => n.mac))
        for (const pif of p.objects.get('PIF')?.values() ?? []) if (pif.host === h.ref && pif.physical === true) expect(macs.has(String(pif.MAC))).toBe(true)
      }
    }
    const lab = pool(buildFleet('demo'), 'Lab')
    const state = new PoolState(lab, 0)
    const host = lab.hosts[0]?.ref ?? ''
    const before = nicRows(graph(lab), host).map((n) => n.device)
    const r = await import('../../sim/server/dispatch').then((d) => d.dispatch(state, { hostRef: host }, 'PIF.scan', [state.adminSession, host]))
    expect(r.kind).toBe('value')
    expect(before).toEqual(['eth0', 'eth1'])
    expect(nicRows(graph(lab), host).map((n) => `${n.device} ${n.vendor} ${n.speed}`)).toEqual(['eth0 Intel Corporation 1000', 'eth1 Realtek Semiconductor Co., Ltd. undefined', 'eth2 Intel Corporation 1000'])
  })

  it('gives tiny-current two spare NICs per host to bond', () => {
    const p = pool(tiny, 'tiny-current')
    for (const h of p.hosts) expect(nicRows(graph(p), h.ref).map((n) => `${n.device}:${n.bondMemberOf ?? 'free'}`)).toEqual(['eth0:free', 'eth1:free', 'eth2:free', 'eth3:free'])
  })
})
