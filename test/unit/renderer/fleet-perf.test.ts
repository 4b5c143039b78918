/** The fleet overview's order (renderer/src/model/fleet-perf.ts): rows not current ("as of") never rank among the busiest now. */
import { describe, expect, it } from 'vitest'
import { asOfText, sortFleetPerf, type FleetPerfRow } from '../../../renderer/src/model/fleet-perf'

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
