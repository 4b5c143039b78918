import { describe, expect, it } from 'vitest'
import type { SimFleet, SimPoolSpec, SimRecord } from '../../sim/model'
import { buildFleet, EXTERNAL_VNC_KEY } from '../../sim/fleet'
import { cpuCount } from '../../sim/fleet/hardware'
import { vmAllowedOperations } from '../../sim/fleet/ops'
import { checkPool } from './integrity'
import { xmlRpcRecordSize } from './xml-size'

const NULL = 'OpaqueRef:NULL'

function serialise(f: SimFleet): string {
  return JSON.stringify(f, (_k, v: unknown) => (v instanceof Map ? [...v.entries()] : v))
}
function table(p: SimPoolSpec, cls: string): Map<string, SimRecord> {
  const t = p.objects.get(cls)
  if (!t) throw new Error(`${p.name} has no ${cls} table`)
  return t
}
function vmByName(p: SimPoolSpec, name: string): [string, SimRecord] {
  const hit = [...table(p, 'VM')].find(([, r]) => r.name_label === name)
  if (!hit) throw new Error(`no VM ${name} in ${p.name}`)
  return hit
}
function rec(p: SimPoolSpec, cls: string, ref: unknown): SimRecord {
  const r = typeof ref === 'string' ? table(p, cls).get(ref) : undefined
  if (!r) throw new Error(`no ${cls} ${String(ref)}`)
  return r
}
const guests = (p: SimPoolSpec): SimRecord[] => [...table(p, 'VM').values()].filter((v) => v.is_a_template === false && v.is_control_domain === false)

const tiny = buildFleet('tiny')
const demo = buildFleet('demo')

describe('tiny fleet', () => {
  it('has a current JSON-RPC pool with two hosts and a legacy XML-RPC-only 7.2 pool with one', () => {
    expect(tiny.pools.map((p) => [p.name, p.xapiRelease, p.jsonRpc, p.hosts.length])).toEqual([
      ['tiny-current', '26.2.0', true, 2],
      ['tiny-legacy', 'falcon', false, 1],
    ])
    expect(tiny.opDurationMs).toBe(0)
    expect(tiny.pools.map((p) => p.username)).toEqual(['root', 'root'])
    expect(new Set(tiny.pools.map((p) => p.password)).size).toBe(2)
  })

  it('places running VMs on both hosts, with halted, suspended, template and snapshot VMs beside them', () => {
    const p = tiny.pools[0] as SimPoolSpec
    const vms = guests(p)
    expect(vms).toHaveLength(8)
    const residentHosts = new Set(vms.filter((v) => v.power_state === 'Running').map((v) => v.resident_on))
    expect(residentHosts).toEqual(new Set(p.hosts.map((h) => h.ref)))
    expect(vms.filter((v) => v.power_state === 'Halted').length).toBeGreaterThanOrEqual(2)
    expect(vms.filter((v) => v.power_state === 'Suspended')).toHaveLength(1)
    const all = [...table(p, 'VM').values()]
    expect(all.filter((v) => v.is_default_template === true).length).toBeGreaterThanOrEqual(2)
    expect(all.filter((v) => v.is_a_template === true && v.is_default_template === false && v.is_a_snapshot === false)).toHaveLength(1)
    const [webRef] = vmByName(p, 'web-01')
    const snaps = all.filter((v) => v.is_a_snapshot === true)
    expect(snaps).toHaveLength(1)
    expect(snaps[0]).toMatchObject({ is_a_template: true, snapshot_of: webRef, power_state: 'Halted', resident_on: NULL })
    expect(all.filter((v) => v.is_control_domain === true).map((v) => v.resident_on)).toEqual(p.hosts.map((h) => h.ref))
    expect(guests(tiny.pools[1] as SimPoolSpec)).toHaveLength(3)
  })

  it('is referentially consistent in both directions', () => {
    for (const p of tiny.pools) expect(checkPool(p)).toEqual([])
  })
})

describe('demo fleet', () => {
  it('has the lab, production, legacy and DR pools on their own loopback addresses', () => {
    expect(demo.opDurationMs).toBe(1000)
    expect(demo.pools.map((p) => [p.name, p.jsonRpc, p.hosts.length])).toEqual([
      ['Lab', true, 1],
      ['Production', true, 4],
      ['Legacy', false, 2],
      ['Production-DR', true, 2],
    ])
    demo.pools.forEach((p, i) => p.hosts.forEach((h, j) => expect(h.address).toBe(`127.77.${i + 1}.${j + 1}`)))
    demo.pools.forEach((p) => p.hosts.forEach((h) => expect(rec(p, 'host', h.ref).address).toBe(h.address)))
    expect(new Set(demo.pools.map((p) => p.password)).size).toBe(4)
    const production = demo.pools[1] as SimPoolSpec
    expect(guests(production).filter((v) => v.is_a_snapshot === false).length).toBe(200)
    expect(production.xapiRelease).toBe('26.2.0')
    expect(demo.pools[2]?.xapiRelease).toBe('falcon')
    expect(rec(production, 'host', production.hosts[0]?.ref).software_version).toMatchObject({ product_brand: 'XenServer', product_version: '8.4.0' })
    expect(rec(demo.pools[0] as SimPoolSpec, 'host', demo.pools[0]?.hosts[0]?.ref).software_version).toMatchObject({ product_brand: 'XCP-ng', product_version: '8.3.0' })
  })

  it('is referentially consistent in both directions', () => {
    for (const p of demo.pools) expect(checkPool(p)).toEqual([])
  })

  it('honours addressBase, seed and opDurationMs options', () => {
    const f = buildFleet('tiny', { addressBase: '127.88', opDurationMs: 5 })
    expect(f.pools[1]?.hosts[0]?.address).toBe('127.88.2.1')
    expect(f.opDurationMs).toBe(5)
    expect(() => buildFleet('tiny', { addressBase: '10.0' })).toThrow(/127/)
  })
})

describe('determinism', () => {
  it('builds the identical fleet from the same seed, and a different one from another seed', () => {
    expect(serialise(buildFleet('demo', { seed: 99 }))).toBe(serialise(buildFleet('demo', { seed: 99 })))
    expect(serialise(buildFleet('tiny'))).toBe(serialise(tiny))
    expect(serialise(buildFleet('demo', { seed: 100 }))).not.toBe(serialise(buildFleet('demo', { seed: 99 })))
  })
})

describe('records per release', () => {
  it('gives the legacy 7.2 pool none of the newer fields and the current pool all of them', () => {
    const [current, legacy] = tiny.pools as [SimPoolSpec, SimPoolSpec]
    const lHost = rec(legacy, 'host', legacy.hosts[0]?.ref)
    const cHost = rec(current, 'host', current.hosts[0]?.ref)
    expect(lHost.cpu_info).not.toHaveProperty('threads_per_core')
    expect(lHost.cpu_info).not.toHaveProperty('nr_nodes')
    expect(lHost).not.toHaveProperty('numa_affinity_policy')
    expect(cHost.cpu_info).toMatchObject({ threads_per_core: '2', nr_nodes: '2', socket_count: '2', cpu_count: '32' })
    expect(cHost.numa_affinity_policy).toBe('best_effort')
    const [, lVm] = vmByName(legacy, 'old-web')
    expect(lVm).not.toHaveProperty('domain_type')
    expect(rec(legacy, 'VM_metrics', lVm.metrics)).not.toHaveProperty('numa_nodes')
    expect(lHost.API_version_minor).toBe(7)
    expect(lHost.software_version).toMatchObject({ product_version: '7.2.0', xapi: '1.9' })
    // XCP-ng 8.3 at 25.34.0 has the cpu_info keys but not the VM_metrics NUMA fields (26.2.0)
    const lab = demo.pools[0] as SimPoolSpec
    expect(rec(lab, 'host', lab.hosts[0]?.ref).cpu_info).toMatchObject({ threads_per_core: '2', nr_nodes: '1' })
    expect(rec(lab, 'VM_metrics', guests(lab)[0]?.metrics)).not.toHaveProperty('numa_nodes')
  })
})

describe('hosts, memory and NUMA', () => {
  const pools = [...tiny.pools, ...demo.pools]

  it('keeps cpu_info, host_CPUs and the NUMA topology in agreement', () => {
    for (const p of pools) {
      for (const h of p.hosts) {
        const host = rec(p, 'host', h.ref)
        const info = host.cpu_info as Record<string, string>
        expect(Number(info.cpu_count)).toBe(cpuCount(h.numa))
        expect(Number(info.socket_count)).toBe(h.numa.sockets)
        expect((host.host_CPUs as string[]).length).toBe(cpuCount(h.numa))
        const numbers = (host.host_CPUs as string[]).map((r) => rec(p, 'host_cpu', r).number)
        expect(numbers).toEqual([...numbers.keys()])
        expect(h.numa.distances).toHaveLength(h.numa.nodes)
        h.numa.distances.forEach((row, i) => {
          expect(row[i]).toBe(10)
          row.forEach((d, j) => expect(h.numa.distances[j]?.[i]).toBe(d))
        })
      }
    }
  })

  it('accounts host memory: free = total − Xen − every resident domain with its overhead', () => {
    for (const p of pools) {
      for (const h of p.hosts) {
        const host = rec(p, 'host', h.ref)
        const m = rec(p, 'host_metrics', host.metrics)
        let used = Number(host.memory_overhead)
        for (const vmRef of host.resident_VMs as string[]) {
          const vm = rec(p, 'VM', vmRef)
          used += Number(rec(p, 'VM_metrics', vm.metrics).memory_actual) + Number(vm.memory_overhead)
        }
        expect(Number(m.memory_free)).toBe(Number(m.memory_total) - used)
        expect(Number(m.memory_free)).toBeGreaterThan(0)
      }
    }
  })

  it('reports VM NUMA placement consistent with the host topology, most VMs on one node and some spanning', () => {
    let single = 0
    let spanning = 0
    for (const p of pools.filter((x) => x.xapiRelease === '26.2.0')) {
      for (const vm of guests(p)) {
        const m = rec(p, 'VM_metrics', vm.metrics)
        if (vm.power_state !== 'Running' && vm.power_state !== 'Paused') {
          expect(m.numa_nodes).toBe(0)
          continue
        }
        const host = p.hosts.find((h) => h.ref === vm.resident_on)
        if (!host) throw new Error('running VM without a host')
        const perNode = m.numa_node_memory as Record<string, number>
        const nodes = Object.keys(perNode).map(Number)
        expect(nodes.every((n) => n >= 0 && n < host.numa.nodes)).toBe(true)
        expect(m.numa_nodes).toBe(nodes.length)
        expect(m.numa_optimised).toBe(nodes.length === 1 || nodes.length < host.numa.nodes)
        expect(Math.abs(Object.values(perNode).reduce((a, b) => a + b, 0) - Number(m.memory_actual))).toBeLessThanOrEqual(4096 * nodes.length)
        if (nodes.length === 1) single++
        else spanning++
      }
    }
    expect(single).toBeGreaterThan(spanning)
    expect(spanning).toBeGreaterThan(0)
  })

  it('varies the topologies: 1 and 2 nodes, adjacent and split sibling numbering', () => {
    const hosts = pools.flatMap((p) => p.hosts)
    expect(new Set(hosts.map((h) => h.numa.nodes))).toEqual(new Set([1, 2]))
    expect(new Set(hosts.map((h) => h.numa.siblingNumbering))).toEqual(new Set(['adjacent', 'split']))
  })
})

describe('VMs as XAPI fills them', () => {
  const pools = [...tiny.pools, ...demo.pools]

  it('gives running VMs a domid, consoles on their resident host and guest metrics; halted ones none of that', () => {
    for (const p of pools) {
      for (const vm of guests(p)) {
        if (vm.power_state === 'Running') {
          const hostAddress = rec(p, 'host', vm.resident_on).address
          expect(Number(vm.domid)).toBeGreaterThan(0)
          const consoles = (vm.consoles as string[]).map((c) => rec(p, 'console', c))
          expect(consoles.some((c) => c.protocol === 'rfb')).toBe(true)
          for (const c of consoles) expect(c.location).toBe(`https://${String(hostAddress)}/console?uuid=${String(c.uuid)}`)
        } else if (vm.power_state === 'Halted' || vm.power_state === 'Suspended') {
          expect(vm.resident_on).toBe(NULL)
          expect(vm.domid).toBe(-1)
          expect(vm.consoles).toEqual([])
        }
        if (vm.power_state === 'Suspended' && vm.is_a_snapshot === false) expect(rec(p, 'VDI', vm.suspend_VDI).type).toBe('suspend')
      }
    }
  })

  it('lists allowed operations per power state, never a blocked one', () => {
    for (const p of pools) {
      for (const vm of table(p, 'VM').values()) {
        const ops = vm.allowed_operations as string[]
        const blocked = Object.keys(vm.blocked_operations as Record<string, string>)
        expect(ops.filter((o) => blocked.includes(o))).toEqual([])
        if (vm.is_control_domain === true || vm.is_a_template === true) continue
        const unblocked = (want: string[]): string[] => want.filter((o) => !blocked.includes(o))
        if (vm.power_state === 'Running') expect(ops).toEqual(expect.arrayContaining(unblocked(['hard_shutdown', 'clean_shutdown', 'snapshot'])))
        if (vm.power_state === 'Halted') expect(ops).toEqual(expect.arrayContaining(unblocked(['start', 'start_on', 'copy'])))
        if (vm.power_state === 'Suspended') expect(ops).toEqual(expect.arrayContaining(unblocked(['resume', 'hard_shutdown'])))
        expect(ops).not.toContain(vm.power_state === 'Running' ? 'start' : 'clean_shutdown')
        expect(ops).toEqual(vmAllowedOperations(vm, vm.guest_metrics !== NULL))
      }
    }
    const [, legacy] = vmByName(tiny.pools[0] as SimPoolSpec, 'legacy-app')
    expect(legacy.blocked_operations).toHaveProperty('destroy')
    expect(legacy.allowed_operations).not.toContain('destroy')
  })

  it('has empty CD drives with a NULL VDI and a tools ISO in the tools SR', () => {
    const p = tiny.pools[0] as SimPoolSpec
    const cds = [...table(p, 'VBD').values()].filter((v) => v.type === 'CD')
    expect(cds.some((v) => v.empty === true && v.VDI === NULL)).toBe(true)
    const tools = [...table(p, 'VDI').values()].filter((v) => v.is_tools_iso === true)
    expect(tools).toHaveLength(1)
    expect(rec(p, 'SR', tools[0]?.SR).is_tools_sr).toBe(true)
    const [, win] = vmByName(p, 'win-app-01')
    expect((win.VBDs as string[]).map((r) => rec(p, 'VBD', r)).some((v) => v.type === 'CD' && v.VDI !== NULL)).toBe(true)
  })

  it('carries XenCenter folders, tags, masks and guest networks', () => {
    const p = tiny.pools[0] as SimPoolSpec
    const [, web] = vmByName(p, 'web-01')
    expect((web.other_config as Record<string, string>).folder).toBe('/Production/Web')
    expect(web.tags).toEqual(['web'])
    expect(vmByName(p, 'pinned-01')[1].VCPUs_params).toEqual({ mask: '2,3,4,5' })
    const gm = rec(p, 'VM_guest_metrics', web.guest_metrics)
    expect(gm.networks).toMatchObject({ '0/ip': expect.any(String), '0/ipv4/0': expect.any(String) })
    expect(gm.os_version).toMatchObject({ distro: 'debian', major: '12' })
  })

  it('puts an external VNC endpoint in other_config when asked', () => {
    const f = buildFleet('tiny', { externalConsoles: { 'web-02': { host: '127.0.0.1', port: 5907 } } })
    const [, vm] = vmByName(f.pools[0] as SimPoolSpec, 'web-02')
    expect((vm.other_config as Record<string, string>)[EXTERNAL_VNC_KEY]).toBe('127.0.0.1:5907')
    expect(EXTERNAL_VNC_KEY).toBe('xenpilot_sim_vnc')
    const [, other] = vmByName(f.pools[0] as SimPoolSpec, 'web-01')
    expect(other.other_config).not.toHaveProperty(EXTERNAL_VNC_KEY)
  })

  it('weighs about 9 KB per VM as XML-RPC for 7.2 and about 11 KB for 26.x, like the real records', () => {
    // Reference: the real 7.2 records in shared/xapi/samples encode to 9.1-9.7 KB with this encoder,
    // the SDK's xapi-24 VM record to 11.4 KB.
    const avg = (p: SimPoolSpec): number => {
      const vms = guests(p).filter((v) => v.is_a_snapshot === false)
      return vms.reduce((a, v) => a + xmlRpcRecordSize('VM', v), 0) / vms.length
    }
    const legacy = avg(demo.pools[2] as SimPoolSpec)
    const current = avg(demo.pools[1] as SimPoolSpec)
    expect(legacy).toBeGreaterThan(8000)
    expect(legacy).toBeLessThan(10500)
    expect(current).toBeGreaterThan(9000)
    expect(current).toBeLessThan(12500)
  })
})
