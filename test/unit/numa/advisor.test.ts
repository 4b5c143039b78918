import { describe, expect, it } from 'vitest'
import { advise, adviseHost, auditHost, candidateSets, pendingPlacements, planPlacement, poolSummary, reachableNodes, type NodeResource } from '../../../shared/numa/advisor'
import { buildHostNuma } from '../../../shared/numa/model'
import { GiB, hostRecord, pluginDoc, vcpuRows, vmRecord, type TopoSpec } from './helpers'

const OPTERON = [
  [10, 16, 16, 22, 16, 22, 16, 22],
  [16, 10, 22, 16, 16, 22, 22, 16],
  [16, 22, 10, 16, 16, 16, 16, 16],
  [22, 16, 16, 10, 16, 16, 22, 22],
  [16, 16, 16, 16, 10, 16, 16, 22],
  [22, 22, 16, 16, 16, 10, 22, 16],
  [16, 22, 16, 22, 16, 22, 10, 16],
  [22, 16, 16, 22, 22, 16, 16, 10],
]
const SNC = [
  [10, 11, 21, 21],
  [11, 10, 21, 21],
  [21, 21, 10, 11],
  [21, 21, 11, 10],
]

function host(spec: TopoSpec, opts: { name?: string; xapi?: string; policy?: string; vms?: Parameters<typeof buildHostNuma>[0]['vms'] } = {}) {
  const doc = pluginDoc(spec)
  return buildHostNuma({
    hostRef: `OpaqueRef:${opts.name ?? 'h'}`,
    host: hostRecord({ name: opts.name ?? 'h', xapi: opts.xapi ?? '25.33.0', policy: opts.policy ?? 'best_effort' }),
    vms: opts.vms ?? [],
    plugin: { kind: 'answer', data: doc },
  })
}
const res = (id: number, memGiB: number, threads: number, cores: number, vcpusAffine = 0): NodeResource => ({ id, memAvail: memGiB * GiB, threads, cores, vcpusAffine })

describe("xenopsd's candidate generation (docs/numa.md §2.1)", () => {
  it('keys subsets by (max, mean) with the diagonal included: a singleton scores (10, 10)', () => {
    const c = candidateSets([0, 1], (a, b) => (a === b ? 10 : 21))
    expect(c.map((x) => [x.nodes, x.max, x.mean])).toEqual([
      [[0], 10, 10],
      [[1], 10, 10],
      [[0, 1], 21, 15.5],
    ])
  })
  it('enumerates all 2^n − 1 subsets up to 16 nodes and only singletons beyond', () => {
    expect(candidateSets([0, 1, 2, 3], () => 10)).toHaveLength(15)
    const seventeen = Array.from({ length: 17 }, (_, i) => i)
    expect(candidateSets(seventeen, (a, b) => (a === b ? 10 : 20))).toHaveLength(17)
  })
  it('drops unreachable nodes and disables placement on a bad matrix', () => {
    expect(reachableNodes([0, 1], [[10, 21], [21, 300]]).nodes).toEqual([0])
    expect(reachableNodes([0, 1], [[10, 9], [9, 10]]).disabled).toMatch(/below 10/)
    expect(reachableNodes([0, 1], [[11, 21], [21, 10]]).disabled).toMatch(/not 10/)
  })
})

describe('planPlacement: hand-worked cases', () => {
  it('2 nodes: a VM that fits one node goes to the less loaded one', () => {
    const p = planPlacement([res(0, 100, 16, 8, 12), res(1, 100, 16, 8, 2)], [[10, 21], [21, 10]], { memory: 16 * GiB, vcpus: 4, cores: 4 })
    expect(p.group).toEqual([[0], [1]])
    expect(p.chosen).toEqual([1])
  })
  it('sub-NUMA 10/11/21: too big for one node, it takes the sibling node on the same socket, not the other socket', () => {
    const nodes = [res(0, 40, 32, 16), res(1, 40, 32, 16), res(2, 40, 32, 16), res(3, 40, 32, 16)]
    const p = planPlacement(nodes, SNC, { memory: 64 * GiB, vcpus: 8, cores: 8 })
    expect(p.group).toEqual([
      [0, 1],
      [2, 3],
    ])
    expect(p.chosen).toEqual([0, 1])
  })
  it("Opteron 6272 (xen-api test_topology.ml): 4/3 of a node's memory → the first group is every pair at distance 16", () => {
    const nodes = Array.from({ length: 8 }, (_, i) => res(i, 16, 4, 4))
    const p = planPlacement(nodes, OPTERON, { memory: (4 * 16 * GiB) / 3, vcpus: 4, cores: 4 })
    expect(p.group).toHaveLength(18)
    for (const [a, b] of p.group as [number, number][]) expect(OPTERON[a]?.[b]).toBe(16)
    expect(p.chosen).toEqual([0, 1])
  })
  it('validity needs Σmem ≥ memory, Σthreads ≥ vCPUs and Σcores ≥ cores', () => {
    const d = [[10, 21], [21, 10]]
    const n = [res(0, 64, 16, 8), res(1, 64, 16, 8)]
    expect(planPlacement(n, d, { memory: 32 * GiB, vcpus: 12, cores: 0 }).chosen).toEqual([0])
    expect(planPlacement(n, d, { memory: 32 * GiB, vcpus: 12, cores: 12 }).chosen).toEqual([0, 1])
    expect(planPlacement(n, d, { memory: 32 * GiB, vcpus: 40, cores: 0 }).chosen).toBeNull()
  })
})

const twoNode = (memfree: number[]): TopoSpec => ({ sockets: 2, nodesPerSocket: 1, coresPerSocket: 8, threadsPerCore: 2, memfree, distances: [[10, 21], [21, 10]] })

describe('adviseHost: predictions and warnings', () => {
  it('predicts a single node when the VM fits one', () => {
    const a = adviseHost(host(twoNode([100_000, 100_000])), { name: 'vm', memory: 16 * GiB, vcpus: 4, hardMasks: [] })
    expect(a).toMatchObject({ prediction: 'single-node', nodes: [0], feasible: true, dataSource: 'plugin' })
  })
  it('CA-420968: 12 vCPUs on 8-core nodes — xapi ≥ 25.39 counts cores and interleaves, older xapi packs one node sharing SMT siblings', () => {
    const req = { name: 'vm', memory: 16 * GiB, vcpus: 12, hardMasks: [] }
    const newer = adviseHost(host(twoNode([100_000, 100_000]), { xapi: '25.39.0' }), req)
    expect(newer).toMatchObject({ prediction: 'interleaved', nodes: [0, 1] })
    const older = adviseHost(host(twoNode([100_000, 100_000]), { xapi: '25.33.0' }), req)
    expect(older).toMatchObject({ prediction: 'single-node', nodes: [0] })
    expect(older.warnings.map((w) => w.code)).toContain('smt-sharing')
  })
  it('warns when a VM can never fit one node by vCPUs or by memory', () => {
    const big = adviseHost(host(twoNode([100_000, 100_000])), { name: 'vm', memory: 120 * GiB, vcpus: 20, hardMasks: [] })
    expect(big.warnings.map((w) => w.code)).toEqual(expect.arrayContaining(['never-single-node-vcpus', 'never-single-node-memory']))
    expect(big.prediction).toBe('interleaved')
  })
  it("policy 'any' means interleaved; a hard mask means hard-pinned with its warnings", () => {
    expect(adviseHost(host(twoNode([100_000, 100_000]), { policy: 'any' }), { name: 'vm', memory: GiB, vcpus: 2, hardMasks: [] }).prediction).toBe('interleaved')
    const pinned = adviseHost(host(twoNode([100_000, 100_000])), { name: 'vm', memory: GiB, vcpus: 4, hardMasks: [[0, 1, 16, 17]] })
    expect(pinned).toMatchObject({ prediction: 'hard-pinned', nodes: [0, 1] })
    expect(pinned.warnings.map((w) => w.code)).toEqual(expect.arrayContaining(['mask-disables-placement', 'mask-spans-nodes']))
    const narrow = adviseHost(host(twoNode([100_000, 100_000])), { name: 'vm', memory: GiB, vcpus: 4, hardMasks: [[0], [0]] })
    expect(narrow.warnings.map((w) => w.code)).toContain('mask-too-few-threads')
  })
  it('a bad distance matrix disables placement and says why', () => {
    const bad = adviseHost(host({ ...twoNode([100_000, 100_000]), distances: [[10, 21], [21, 11]] }), { name: 'vm', memory: GiB, vcpus: 2, hardMasks: [] })
    expect(bad.prediction).toBe('interleaved')
    expect(bad.warnings.map((w) => w.code)).toContain('numa-disabled')
  })
})

describe('advise: ranking hosts', () => {
  it('ranks single-node hosts first, then by load, and puts hosts without memory last', () => {
    const full = host(twoNode([1_000, 1_000]), { name: 'full' })
    const busy = host(twoNode([100_000, 100_000]), {
      name: 'busy',
      vms: [
        { ref: 'OpaqueRef:x', vm: vmRecord({ name: 'x', vcpus: 16, memGiB: 8, domid: 4 }) },
      ],
    })
    const idle = host(twoNode([100_000, 100_000]), { name: 'idle' })
    const tight = host(twoNode([12_000, 12_000]), { name: 'tight' })
    const r = advise([full, tight, busy, idle], { name: 'vm', memory: 16 * GiB, vcpus: 4, hardMasks: [] })
    expect(r.hosts.map((h) => [h.hostName, h.prediction])).toEqual([
      ['busy', 'single-node'],
      ['idle', 'single-node'],
      ['tight', 'interleaved'],
      ['full', 'cannot-start'],
    ])
  })
})

describe('audit of running VMs', () => {
  it('flags a VM spanning nodes while one node now has room, and node imbalance', () => {
    const doc: TopoSpec = {
      ...twoNode([100_000, 100_000]),
      vcpus: [...vcpuRows('spread', 3, 4, 'all', 'all'), ...vcpuRows('packed', 4, 14, 'all', '0-15')],
    }
    const h = host(doc, {
      vms: [
        { ref: 'OpaqueRef:s', vm: vmRecord({ name: 'spread', vcpus: 4, memGiB: 8, domid: 3 }) },
        { ref: 'OpaqueRef:p', vm: vmRecord({ name: 'packed', vcpus: 14, memGiB: 8, domid: 4 }) },
      ],
    })
    const f = auditHost(h)
    expect(f.map((x) => x.code).sort()).toEqual(['node-imbalance', 'spans-nodes-with-room'])
    expect(f.find((x) => x.code === 'spans-nodes-with-room')?.message).toMatch(/spread spans nodes.*restart it, or migrate/)
    const s = poolSummary([h])
    expect(s.spanningVms.map((v) => v.name)).toEqual(['spread'])
    expect(s.hosts[0]).toMatchObject({ spanning: 1, unbalanced: true })
  })
})

describe('audit on hosts that do not place VMs', () => {
  it("says once that policy 'any' places nothing, instead of telling to restart every VM", () => {
    const h = host({ ...twoNode([100_000, 100_000]), vcpus: vcpuRows('spread', 3, 4, 'all', 'all') }, { policy: 'any', vms: [{ ref: 'OpaqueRef:s', vm: vmRecord({ name: 'spread', vcpus: 4, memGiB: 8, domid: 3 }) }] })
    const f = auditHost(h)
    expect(f.map((x) => x.code)).toEqual(['no-placement'])
    expect(f[0]?.message).toMatch(/Set the NUMA policy to best_effort/)
  })
})

describe('starts in flight', () => {
  it('counts memory a concurrent start will claim, so two starts are not sent to the same node', () => {
    const h = host(twoNode([20_000, 19_000]))
    const req = { name: 'vm', memory: 16 * GiB, vcpus: 4, hardMasks: [] }
    expect(adviseHost(h, req).nodes).toEqual([0])
    const pending = pendingPlacements([h], [{ ...req, name: 'other', hostRef: h.hostRef }])
    expect(pending[h.hostRef]?.[0]).toBe(16 * GiB)
    expect(adviseHost(h, req, { pending: pending[h.hostRef] ?? {} }).nodes).toEqual([1])
  })
})
