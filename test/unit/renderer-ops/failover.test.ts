import { describe, expect, it } from 'vitest'
import { masterChanges, mastersOf } from '../../../renderer/src/model/failover'
import { ObjectGraph } from '../../../renderer/src/model/objects'

function graph(master: string): ObjectGraph {
  const g = new ObjectGraph()
  g.apply({
    connectionId: 'c1',
    seq: 0,
    reset: true,
    removes: [],
    upserts: [
      { cls: 'pool', ref: 'OpaqueRef:pool', record: { uuid: 'p', name_label: 'Production', master } },
      { cls: 'host', ref: 'OpaqueRef:h1', record: { uuid: 'h1', name_label: 'prod-1' } },
      { cls: 'host', ref: 'OpaqueRef:h2', record: { uuid: 'h2', name_label: 'prod-2' } },
    ],
  })
  return g
}

describe('pool master failover notice', () => {
  it('a change of pool.master is a change, named by host; a first reading or the same master is not', () => {
    const a = mastersOf(graph('OpaqueRef:h1'))
    expect(a.get('c1')).toEqual({ ref: 'OpaqueRef:h1', name: 'prod-1' })
    expect(masterChanges(new Map(), a)).toEqual([])
    expect(masterChanges(a, mastersOf(graph('OpaqueRef:h1')))).toEqual([])
    expect(masterChanges(a, mastersOf(graph('OpaqueRef:h2')))).toEqual([{ connectionId: 'c1', from: { ref: 'OpaqueRef:h1', name: 'prod-1' }, to: { ref: 'OpaqueRef:h2', name: 'prod-2' } }])
    // a pool without a master yet (or NULL) is left out, so the last known one is kept by the caller
    expect(mastersOf(graph('OpaqueRef:NULL')).size).toBe(0)
  })
})
