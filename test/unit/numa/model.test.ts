import { describe, expect, it } from 'vitest'
import { buildHostNuma } from '../../../shared/numa/model'
import { HostNuma } from '../../../shared/numa/schema'
import { GiB, hostRecord, pluginDoc, vcpuRows, vmRecord } from './helpers'

const D2 = [
  [10, 21],
  [21, 10],
]

describe('NUMA model: legacy host (XenServer 7.2: no threads_per_core, nr_nodes, policy or VM NUMA fields)', () => {
  const model = buildHostNuma({
    hostRef: 'OpaqueRef:h',
    host: hostRecord({ xapi: '1.20', cpuInfo: { cpu_count: '24', socket_count: '2', vendor: 'GenuineIntel' }, policy: null }),
    hostMetrics: { memory_total: 96 * GiB, memory_free: 40 * GiB },
    vms: [{ ref: 'OpaqueRef:v1', vm: vmRecord({ name: 'old', vcpus: 2, memGiB: 4, domid: 3 }), metrics: { memory_actual: 4 * GiB, VCPUs_number: 2 } }],
  })
  it('keeps what XAPI says, marks the rest unknown with the reason, and never invents a fact', () => {
    expect(HostNuma.parse(model)).toBeTruthy()
    expect(model.cpuCount).toEqual({ value: 24, source: 'xapi' })
    expect(model.sockets).toEqual({ value: 2, source: 'xapi' })
    expect(model.threadsPerCore.source).toBe('unknown')
    expect(model.threadsPerCore.note).toMatch(/24\.12/)
    expect(model.nrNodes.source).toBe('unknown')
    expect(model.policy.source).toBe('unknown')
    expect(model.policySettable).toBe(false)
    expect(model.distances.source).toBe('unknown')
  })
  it('draws a derived layout and states the assumption: one node per socket, contiguous blocks', () => {
    expect(model.topology.source).toBe('derived')
    expect(model.topology.note).toMatch(/one NUMA node per socket/)
    expect(model.nodes.map((n) => n.pcpus.length)).toEqual([12, 12])
    expect(model.pcpus.every((p) => p.core === null && p.siblings.length === 0)).toBe(true)
    expect(model.nodes[0]?.memSize).toMatchObject({ value: 48 * GiB, source: 'derived' })
  })
  it('reports the VM NUMA state as unknown because the fields do not exist yet', () => {
    const vm = model.vms[0]
    expect(vm?.numaNodes.source).toBe('unknown')
    expect(vm?.numaNodes.note).toMatch(/26\.2/)
    expect(vm?.placement).toBe('unknown')
  })
  it('does not crash on garbage records', () => {
    const m = buildHostNuma({ hostRef: 'OpaqueRef:x', host: { cpu_info: 'nonsense', name_label: 7 }, vms: [{ ref: 'r', vm: { VCPUs_max: 'two' } }] })
    expect(m.cpuCount.source).toBe('unknown')
    expect(m.topology.source).toBe('unknown')
    expect(m.vms[0]?.vcpusMax).toBe(0)
  })
})

describe('NUMA model: current host over XAPI alone', () => {
  const host = hostRecord({ xapi: '26.3.0', cpuInfo: { cpu_count: '32', socket_count: '2', threads_per_core: '2', nr_nodes: '2' }, policy: 'best_effort' })
  const model = buildHostNuma({
    hostRef: 'OpaqueRef:h',
    host,
    hostMetrics: { memory_total: 256 * GiB, memory_free: 200 * GiB },
    vms: [
      { ref: 'OpaqueRef:a', vm: vmRecord({ name: 'a', vcpus: 4, memGiB: 8, domid: 1 }), metrics: { numa_nodes: 1, numa_node_memory: { '1': 8 * GiB }, numa_optimised: true } },
      { ref: 'OpaqueRef:b', vm: vmRecord({ name: 'b', vcpus: 4, memGiB: 8, domid: 2 }), metrics: { numa_nodes: 2, numa_node_memory: { '0': 4 * GiB, '1': 4 * GiB }, numa_optimised: false } },
      { ref: 'OpaqueRef:c', vm: vmRecord({ name: 'c', vcpus: 2, memGiB: 2, domid: 3 }), metrics: { numa_nodes: -1, numa_node_memory: {}, numa_optimised: false } },
      { ref: 'OpaqueRef:d', vm: vmRecord({ name: 'd', vcpus: 2, memGiB: 2, domid: 4, mask: '0,1' }), metrics: { numa_nodes: 0 } },
    ],
  })
  it('reads counts and policy from XAPI and derives cores per socket with its formula', () => {
    expect(model.threadsPerCore).toEqual({ value: 2, source: 'xapi' })
    expect(model.nrNodes).toEqual({ value: 2, source: 'xapi' })
    expect(model.coresPerSocket).toMatchObject({ value: 8, source: 'derived' })
    expect(model.policy).toEqual({ value: 'best_effort', source: 'xapi' })
    expect(model.topology.note).toMatch(/adjacently/)
    expect(model.pcpus[0]?.siblings).toEqual([1])
  })
  it('uses VM_metrics NUMA fields: single node with its home, interleaved, -1 unknown, 0 never sampled', () => {
    const [a, b, c, d] = model.vms
    expect(a).toMatchObject({ placement: 'single-node', homeNodes: [1], placementSource: 'xapi' })
    expect(a?.localFraction.value).toBe(1)
    expect(b?.placement).toBe('interleaved')
    expect(c?.numaNodes).toMatchObject({ value: null, source: 'unknown', note: expect.stringMatching(/-1/) })
    expect(d?.numaNodes.note).toMatch(/not sampled/)
    expect(d).toMatchObject({ placement: 'hard-pinned', homeNodes: [0] })
  })
  it('splits node memory bars by VM from numa_node_memory', () => {
    expect(model.nodes[1]?.vmMem['OpaqueRef:a']).toBe(8 * GiB)
    expect(model.nodes[0]?.vmMem['OpaqueRef:b']).toBe(4 * GiB)
  })
  it('reads default_policy as best_effort from xapi 25.20 on, any before, saying so', () => {
    const newer = buildHostNuma({ hostRef: 'h', host: hostRecord({ xapi: '25.20.0', policy: 'default_policy' }), vms: [] })
    const older = buildHostNuma({ hostRef: 'h', host: hostRecord({ xapi: '24.16.0', policy: 'default_policy' }), vms: [] })
    expect(newer.effectivePolicy).toMatchObject({ value: 'best_effort', source: 'derived' })
    expect(older.effectivePolicy).toMatchObject({ value: 'any', source: 'derived' })
  })
})

describe('NUMA model: with the plugin', () => {
  const doc = pluginDoc({
    sockets: 2,
    nodesPerSocket: 1,
    coresPerSocket: 8,
    threadsPerCore: 2,
    numbering: 'split',
    memfree: [100_000, 60_000],
    memsize: [133_120, 131_072],
    distances: D2,
    vcpus: [...vcpuRows('Domain-0', 0, 2, 'all', 'all'), ...vcpuRows('db', 5, 4, 'all', '8-15,24-31'), ...vcpuRows('web', 6, 2, 'all', 'all')],
  })
  const model = buildHostNuma({
    hostRef: 'OpaqueRef:h',
    host: hostRecord({ xapi: '25.33.0', cpuInfo: { cpu_count: '32', socket_count: '2', threads_per_core: '2', nr_nodes: '2' } }),
    vms: [
      { ref: 'OpaqueRef:dom0', vm: vmRecord({ name: 'Control domain', vcpus: 2, memGiB: 8, domid: 0, control: true }) },
      { ref: 'OpaqueRef:db', vm: vmRecord({ name: 'db', vcpus: 4, memGiB: 16, domid: 5 }) },
      { ref: 'OpaqueRef:web', vm: vmRecord({ name: 'web', vcpus: 2, memGiB: 4, domid: 6 }) },
    ],
    plugin: { kind: 'answer', data: JSON.stringify(doc) },
  })
  it('takes the exact map from the plugin: split numbering puts CPU 0 and 16 on one core', () => {
    expect(model.plugin).toEqual({ status: 'present', version: 1 })
    expect(model.topology.source).toBe('plugin')
    expect(model.pcpus[0]?.siblings).toEqual([16])
    expect(model.nodes[1]?.pcpus).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31])
    expect(model.nodes[0]?.memFree).toMatchObject({ value: 100_000 * 1024 * 1024, source: 'plugin' })
    expect(model.distances).toEqual({ value: D2, source: 'plugin' })
  })
  it('places VMs from live soft affinity and counts affine vCPUs per node', () => {
    const db = model.vms.find((v) => v.name === 'db')
    const web = model.vms.find((v) => v.name === 'web')
    expect(db).toMatchObject({ placement: 'single-node', homeNodes: [1], placementSource: 'plugin' })
    expect(db?.vcpuLive?.length).toBe(4)
    expect(web?.placement).toBe('interleaved')
    expect(model.nodes[1]?.vcpusAffine).toBe(4)
    expect(model.nodes[1]?.vmMemSource).toBe('derived')
  })
  it('falls back to derived values with a clear note when the plugin answer is bad', () => {
    const bad = buildHostNuma({
      hostRef: 'h',
      host: hostRecord({ cpuInfo: { cpu_count: '8', socket_count: '1', threads_per_core: '2', nr_nodes: '1' } }),
      vms: [],
      plugin: { kind: 'answer', data: '{"version":1,"cpus":"lots"}' },
    })
    expect(bad.plugin.status).toBe('error')
    expect(bad.notes.join(' ')).toMatch(/unexpected shape.*Falling back/)
    expect(bad.topology.source).toBe('derived')
  })
  it('tells how to install the plugin when it is absent', () => {
    const absent = buildHostNuma({ hostRef: 'h', host: hostRecord({}), vms: [], plugin: { kind: 'absent' } })
    expect(absent.plugin).toMatchObject({ status: 'absent', install: expect.stringMatching(/\/etc\/xapi\.d\/plugins/) })
  })
})
