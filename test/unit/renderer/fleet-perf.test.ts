/** The fleet overview's order (renderer/src/model/fleet-perf.ts): rows not current ("as of") never rank among the busiest now. */
import { describe, expect, it } from 'vitest'
import { asOfText, namedRows, sortFleetPerf, type FleetPerfRow } from '../../../renderer/src/model/fleet-perf'
import { ObjectGraph } from '../../../renderer/src/model/objects'
import { generatePool, uuidOf } from './fleet'

const row = (name: string, cpu: number | null, stale = false): FleetPerfRow => ({
  connectionId: 'c',
  kind: 'vm',
  uuid: `00000000-0000-0000-0000-${name.padStart(12, '0')}`,
  at: 1_796_601_600,
  cpu,
  memUsed: null,
  memTotal: null,
  net: null,
  disk: null,
  spark: { cpu: [], mem: [], net: [], disk: [] },
  stale,
  gone: false,
  name,
  pool: 'p',
})

describe('fleet overview order', () => {
  it('sorts by a figure with the rows not current after every current one, in both directions', () => {
    const rows = [row('a', 0.2), row('halted', 0.99, true), row('b', 0.7), row('offline', 0.5, true)]
    expect(sortFleetPerf(rows, 'cpu', true).map((r) => r.name)).toEqual(['b', 'a', 'halted', 'offline'])
    expect(sortFleetPerf(rows, 'cpu', false).map((r) => r.name)).toEqual(['a', 'b', 'offline', 'halted'])
    // by name they mix: the name decides
    expect(sortFleetPerf(rows, 'name', false).map((r) => r.name)).toEqual(['a', 'b', 'halted', 'offline'])
    // a copy: the rows given keep their order
    expect(rows.map((r) => r.name)).toEqual(['a', 'halted', 'b', 'offline'])
  })

  it('says "as of" with the time, and the date when it is not today', () => {
    const at = new Date(2026, 11, 8, 14, 2).getTime() / 1000
    expect(asOfText(at, new Date(2026, 11, 8, 18, 0).getTime())).toMatch(/^as of \D*2:02|^as of 14:02/)
    expect(asOfText(at, new Date(2026, 11, 10, 9, 0).getTime())).toMatch(/^as of .*2026/)
  })
})

describe('fleet overview names', () => {
  it("names each row from its own pool's object by uuid, and says the uuid for an object its pool does not hold", () => {
    const graph = new ObjectGraph()
    const gen = generatePool({ connectionId: 'c1', poolName: 'alpha', hosts: 1, runningPerHost: 2, halted: 0 })
    graph.apply(gen.diff)
    const vmUuid = String(graph.pool('c1')?.get('VM', gen.runningVmRefs[1])?.uuid)
    const hostUuid = String(graph.pool('c1')?.get('host', gen.hostRefs[0])?.uuid)
    const base = row('x', 0.1)
    const named = namedRows(
      [
        { ...base, uuid: vmUuid, connectionId: 'c1' },
        { ...base, uuid: hostUuid, connectionId: 'c1', kind: 'host' },
        { ...base, uuid: vmUuid, connectionId: 'c2' },
        { ...base, uuid: uuidOf(0, 9, 99), connectionId: 'c1' },
      ],
      graph,
    )
    expect(named.map((r) => [r.name, r.pool])).toEqual([
      ['alpha-vm1', 'alpha'],
      ['alpha-host0', 'alpha'],
      [vmUuid, ''],
      [uuidOf(0, 9, 99), ''],
    ])
  })
})
