/**
 * The fleet overview's pool rows (renderer/src/model/overview.ts): a pool whose objects have not all
 * reached the window yet (Connect All after a cold start, a first connect streaming in pieces) is not
 * shown as a pool of 0 servers and 0 VMs — no figures until its objects are here, its state says they
 * are loading, and the totals say how many pools they leave out.
 */
import { describe, expect, it } from 'vitest'
import { resetPieces } from '../../../shared/model/diff'
import { ObjectGraph } from '../../../renderer/src/model/objects'
import { overviewRows, overviewTotals } from '../../../renderer/src/model/overview'
import { connectionState, generatePool } from './fleet'

const NOW = 1_796_601_600_000

describe('fleet overview rows', () => {
  it('a connected pool whose objects are not here yet has no figures and says it is loading; the totals count it as loading', () => {
    const graph = new ObjectGraph()
    const a = generatePool({ connectionId: 'a', poolName: 'alpha', hosts: 2, runningPerHost: 3, halted: 1 })
    graph.apply(a.diff)
    const list = [connectionState('a', { status: 'connected' }), connectionState('b', { status: 'connected', label: 'beta.example' }), connectionState('c', { status: 'connecting' })]
    const rows = overviewRows(list, graph, NOW)
    expect(rows.map((r) => [r.name, r.loading, r.figures])).toEqual([
      ['alpha', false, { hosts: 2, vms: 7, running: 6 }],
      ['beta.example', true, undefined],
      [expect.any(String), false, undefined],
    ])
    expect(rows[0]?.state).toBe('Connected')
    expect(rows[1]?.state).toBe('Connected, its objects still loading…')
    expect(overviewTotals(rows)).toEqual({ hosts: 2, vms: 7, running: 6, loading: 1 })
  })

  it('a pool whose new reset is arriving in pieces (connected after a cold start from the cache) is loading until its last piece', () => {
    const graph = new ObjectGraph()
    const cached = generatePool({ connectionId: 'b', poolName: 'beta', hosts: 2, runningPerHost: 40, halted: 10 })
    graph.apply(cached.diff)
    const live = generatePool({ connectionId: 'b', poolName: 'beta', hosts: 2, runningPerHost: 41, halted: 10 })
    const pieces = [...resetPieces({ ...live.diff, seq: cached.diff.seq + 1 }, 50)]
    expect(pieces.length).toBeGreaterThan(2)
    const list = [connectionState('b', { status: 'connected' })]
    for (const piece of pieces.slice(0, -1)) graph.apply(piece)
    // what the window has meanwhile is the cached graph: shown, and said to be loading
    expect(overviewRows(list, graph, NOW)[0]).toMatchObject({ loading: true, figures: { hosts: 2, vms: 90, running: 80 } })
    graph.apply(pieces.at(-1) ?? live.diff)
    const rows = overviewRows(list, graph, NOW)
    expect(rows[0]).toMatchObject({ name: 'beta', loading: false, state: 'Connected', figures: { hosts: 2, vms: 92, running: 82 } })
    expect(overviewTotals(rows).loading).toBe(0)
  })
})
