import { describe, expect, it } from 'vitest'
import { buildHostNuma } from '../../../shared/numa/model'
import { cpusOfVm, floatingNote, hostLayout, memSegments, numastat, unhomedVms, vmHue } from '../../../renderer/src/views/numa/layout'
import { GiB, hostRecord, pluginDoc, vcpuRows, vmRecord } from './helpers'

// 2 sockets × 2 nodes (sub-NUMA), 8 cores SMT2 per socket, split numbering
const model = buildHostNuma({
  hostRef: 'OpaqueRef:h',
  host: hostRecord({ xapi: '25.33.0' }),
  vms: [
    { ref: 'OpaqueRef:a', vm: vmRecord({ name: 'a', vcpus: 2, memGiB: 4, domid: 1 }), metrics: { numa_nodes: 1, numa_node_memory: { '2': 4 * GiB } } },
    { ref: 'OpaqueRef:b', vm: vmRecord({ name: 'b', vcpus: 2, memGiB: 4, domid: 2 }) },
    // memory on node 1 but no affinity: what a VM started under 'any' whose memory fitted one node looks like
    { ref: 'OpaqueRef:c', vm: vmRecord({ name: 'c', vcpus: 4, memGiB: 4, domid: 3 }), metrics: { numa_nodes: 1, numa_node_memory: { '1': 4 * GiB } } },
  ],
  plugin: {
    kind: 'answer',
    data: pluginDoc({
      sockets: 2,
      nodesPerSocket: 2,
      coresPerSocket: 8,
      threadsPerCore: 2,
      numbering: 'split',
      memfree: [30_000, 30_000, 26_000, 30_000],
      memsize: [32_768, 32_768, 32_768, 32_768],
      distances: [
        [10, 11, 21, 21],
        [11, 10, 21, 21],
        [21, 21, 10, 11],
        [21, 21, 11, 10],
      ],
      vcpus: [...vcpuRows('a', 1, 2, 'all', '8-11,24-27'), ...vcpuRows('b', 2, 2, 'all', 'all'), ...vcpuRows('c', 3, 4, 'all', 'all')],
    }),
  },
})

describe('NUMA view layout', () => {
  it('groups nodes by socket and threads by core, siblings together', () => {
    const l = hostLayout(model)
    expect(l.map((s) => [s.socket, s.nodes.map((n) => n.node.id)])).toEqual([
      [0, [0, 1]],
      [1, [2, 3]],
    ])
    const node0 = l[0]?.nodes[0]
    expect(node0?.cores).toHaveLength(4)
    expect(node0?.cores[0]?.threads.map((t) => t.id)).toEqual([0, 16])
  })
  it('lists a VM under its home node and the others apart', () => {
    const l = hostLayout(model)
    expect(l[1]?.nodes[0]?.vms.map((v) => v.name)).toEqual(['a'])
    expect(unhomedVms(model).map((v) => v.name)).toEqual(['b'])
  })
  it("a node's vCPU count agrees with the VMs it lists: vCPUs no affinity keeps there are counted apart and said", () => {
    const l = hostLayout(model)
    const node1 = l[0]?.nodes[1]
    expect(node1?.vms.map((v) => v.name)).toEqual(['c'])
    expect(node1?.node.vcpusAffine).toBe(0)
    expect(node1?.floatingVcpus).toBe(4)
    const c = model.vms.find((v) => v.name === 'c')
    if (!c) throw new Error('vm c')
    expect(c.vcpusOnNode).toBe(0)
    expect(floatingNote(c)).toBe('vCPUs not pinned to a node')
    const a = model.vms.find((v) => v.name === 'a')
    if (!a) throw new Error('vm a')
    expect(a.vcpusOnNode).toBe(2)
    expect(floatingNote(a)).toBe('')
    for (const nl of l.flatMap((s) => s.nodes)) expect(nl.node.vcpusAffine + nl.floatingVcpus).toBe(nl.vms.reduce((n, v) => n + v.vcpusAtStartup, 0))
  })
  it('splits a node memory bar into VMs, other and free', () => {
    const node2 = model.nodes.find((n) => n.id === 2)
    if (!node2) throw new Error('node 2')
    const segs = memSegments(node2, model.vms)
    expect(segs.map((s) => s.kind)).toEqual(['vm', 'vm', 'other', 'free'])
    // slivers below 0.5% of the node merge into one segment, unless it is the selected VM
    const tiny = { ...node2, vmMem: { ...node2.vmMem, 'OpaqueRef:t1': 1024 * 1024, 'OpaqueRef:t2': 1024 * 1024 } }
    expect(memSegments(tiny, model.vms).filter((s) => s.kind === 'small').map((s) => s.label)).toEqual(['2 more VMs'])
    expect(memSegments(tiny, model.vms, 'OpaqueRef:t1').filter((s) => s.kind === 'small').map((s) => s.label)).toEqual(['1 more VM'])
    // a crowded node keeps its 20 largest VMs apart and merges the rest
    const crowded = { ...node2, vmMem: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`OpaqueRef:c${i}`, (i + 1) * 256 * 1024 * 1024])) }
    const c = memSegments(crowded, model.vms)
    expect(c.filter((s) => s.kind === 'vm')).toHaveLength(20)
    expect(c.find((s) => s.kind === 'small')?.label).toBe('10 more VMs')
    expect(segs.reduce((a, s) => a + s.fraction, 0)).toBeCloseTo(1, 5)
  })
  it('highlights the pCPUs a VM may run on and those it runs on now', () => {
    const a = model.vms.find((v) => v.name === 'a')
    if (!a) throw new Error('a')
    const { allowed, current } = cpusOfVm(a, model)
    expect([...allowed].sort((x, y) => x - y)).toEqual([8, 9, 10, 11, 24, 25, 26, 27])
    expect([...current]).toEqual([0, 1])
    expect(vmHue('OpaqueRef:a')).toBe(vmHue('OpaqueRef:a'))
  })
  it('builds a numastat-style VM × node matrix, XAPI figures and derived ones told apart', () => {
    const rows = numastat(model)
    expect(rows.map((r) => [r.vm.name, r.perNode.map((b) => b / GiB), r.source])).toEqual([
      ['a', [0, 0, 4, 0], 'xapi'],
      ['b', [1, 1, 1, 1], 'derived'],
      ['c', [0, 4, 0, 0], 'xapi'],
    ])
  })
})
