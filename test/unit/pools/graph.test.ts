import { describe, expect, it } from 'vitest'
import { ObjectGraph } from '../../../main/pools/graph'

describe('ObjectGraph', () => {
  it('keeps the reverse indexes right through moves and removals, incrementally', () => {
    const g = new ObjectGraph()
    g.upsert('host', 'H1', { uuid: 'h1', name_label: 'host-1' })
    g.upsert('host', 'H2', { uuid: 'h2', name_label: 'host-2' })
    g.upsert('VM', 'V1', { uuid: 'v1', name_label: 'web', resident_on: 'H1' })
    g.upsert('VM', 'V2', { uuid: 'v2', name_label: 'db', resident_on: 'H1' })
    g.upsert('VBD', 'B1', { uuid: 'b1', VM: 'V1', VDI: 'D1' })
    g.upsert('VDI', 'D1', { uuid: 'd1', SR: 'S1' })
    expect(g.related('VMsByHost', 'H1').sort()).toEqual(['V1', 'V2'])
    // migration: V1 moves to H2
    g.upsert('VM', 'V1', { uuid: 'v1', name_label: 'web', resident_on: 'H2' })
    expect(g.related('VMsByHost', 'H1')).toEqual(['V2'])
    expect(g.related('VMsByHost', 'H2')).toEqual(['V1'])
    // shutdown: resident_on becomes null
    g.upsert('VM', 'V2', { uuid: 'v2', name_label: 'db', resident_on: null })
    expect(g.related('VMsByHost', 'H1')).toEqual([])
    expect(g.related('VBDsByVM', 'V1')).toEqual(['B1'])
    expect(g.related('VDIsBySR', 'S1')).toEqual(['D1'])
    g.remove('VBD', 'B1')
    expect(g.related('VBDsByVM', 'V1')).toEqual([])
    expect(g.byUuid('v1')?.ref).toBe('V1')
    expect(g.getByRef('V1')?.cls).toBe('VM')
    expect(g.describeRef('V1')).toBe('VM “web”')
    expect(g.hostsOfPool().sort()).toEqual(['H1', 'H2'])
    g.remove('VM', 'V1')
    expect(g.byUuid('v1')).toBeUndefined()
    expect(g.related('VMsByHost', 'H2')).toEqual([])
    expect(g.size).toBe(4)
  })

  it('takes over a freshly loaded graph in one step (full resync leaves no ghost)', () => {
    const g = new ObjectGraph()
    g.upsert('VM', 'OLD', { uuid: 'old', resident_on: 'H1' })
    const fresh = new ObjectGraph()
    fresh.upsert('VM', 'NEW', { uuid: 'new', resident_on: 'H1' })
    g.replaceWith(fresh)
    expect(g.get('VM', 'OLD')).toBeUndefined()
    expect(g.byUuid('old')).toBeUndefined()
    expect(g.related('VMsByHost', 'H1')).toEqual(['NEW'])
    expect(fresh.size).toBe(0)
    fresh.upsert('VM', 'X', { resident_on: 'H9' })
    expect(fresh.related('VMsByHost', 'H9')).toEqual(['X'])
    expect(g.related('VMsByHost', 'H9')).toEqual([])
  })
})
