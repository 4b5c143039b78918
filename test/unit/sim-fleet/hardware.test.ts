import { describe, expect, it } from 'vitest'
import { cpuCount, cpuLocation, cpusOfNode, epycHost, haswellHost, labHost, sncHost, twoNodeHost } from '../../sim/fleet/hardware'

describe('NUMA topologies', () => {
  it('numbers adjacent siblings 2i, 2i+1 on a 2-socket 2-node 32-thread host (10,21)', () => {
    const t = twoNodeHost('S', 'adjacent').topology
    expect(cpuCount(t)).toBe(32)
    expect(t.distances).toEqual([
      [10, 21],
      [21, 10],
    ])
    expect(cpuLocation(t, 0)).toEqual({ socket: 0, core: 0, thread: 0, node: 0 })
    expect(cpuLocation(t, 1)).toEqual({ socket: 0, core: 0, thread: 1, node: 0 })
    expect(cpuLocation(t, 16)).toEqual({ socket: 1, core: 0, thread: 0, node: 1 })
    expect(cpusOfNode(t, 1)).toEqual(Array.from({ length: 16 }, (_, i) => 16 + i))
  })

  it('numbers split siblings i and i + n/2', () => {
    const t = twoNodeHost('S', 'split').topology
    expect(cpuLocation(t, 3)).toEqual({ socket: 0, core: 3, thread: 0, node: 0 })
    expect(cpuLocation(t, 19)).toEqual({ socket: 0, core: 3, thread: 1, node: 0 })
    expect(cpuLocation(t, 8)).toMatchObject({ socket: 1, node: 1 })
    expect(cpusOfNode(t, 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23])
  })

  it('models sub-NUMA clustering: 2 sockets, 4 nodes, 128 threads, distances 10/11/21', () => {
    const t = sncHost('S').topology
    expect(cpuCount(t)).toBe(128)
    expect(t.nodes).toBe(4)
    expect(t.distances[0]).toEqual([10, 11, 21, 21])
    expect(t.distances[3]).toEqual([21, 21, 11, 10])
    for (let n = 0; n < 4; n++) expect(cpusOfNode(t, n)).toHaveLength(32)
    expect(cpuLocation(t, 16).node).toBe(1)
    expect(cpuLocation(t, 64 + 16).node).toBe(1)
  })

  it('puts the MMIO hole on node 0 only', () => {
    for (const hw of [labHost('S'), twoNodeHost('S', 'adjacent'), sncHost('S'), epycHost('S'), haswellHost('S')]) {
      const [first, ...rest] = hw.topology.nodeMemMiB
      for (const m of rest) expect(first).toBe(m + hw.holeMiB)
      expect(hw.topology.nodeMemMiB).toHaveLength(hw.topology.nodes)
    }
    expect(labHost('S').topology.nodes).toBe(1)
  })
})
