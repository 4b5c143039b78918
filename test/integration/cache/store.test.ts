/**
 * Generations, the mechanism behind chunked resets, on a real file: rows of a reset stay invisible
 * until its commit, survive garbage collection while it is running, and rows of a reset that never
 * committed (abandoned, or its writer died) never become visible and are collected.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { openCacheDatabase } from '../../../main/cache/open'
import { toRow } from '../../../main/cache/serialize'
import { CacheStore } from '../../../main/cache/store'
import { tempDir, vm } from './helpers'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})

function store(dir: string): CacheStore {
  const { db } = openCacheDatabase(dir)
  cleanups.push(() => db.close())
  return new CacheStore(db)
}

const rows = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => toRow(vm(`OpaqueRef:${prefix}${i}`, `${prefix}${i}`)))
const visible = (s: CacheStore, id = 'c1') => (s.load(id)?.rows ?? []).map(([, ref]) => ref).sort()

describe('generations', () => {
  it('keep a running reset invisible and safe from garbage collection until it commits', () => {
    const t = tempDir()
    cleanups.push(t.remove)
    const s = store(t.dir)
    s.applyBatch('c1', rows('old', 3), [], { token: 'a' })
    const gen = s.beginReset('c1')
    s.resetChunk('c1', gen, rows('new', 2))
    expect(s.collectGarbage(1000)).toBe(0)
    expect(visible(s)).toEqual(['OpaqueRef:old0', 'OpaqueRef:old1', 'OpaqueRef:old2'])
    s.resetChunk('c1', gen, rows('more', 1))
    s.commitReset('c1', gen, { token: 'b', seq: 9 })
    expect(visible(s)).toEqual(['OpaqueRef:more0', 'OpaqueRef:new0', 'OpaqueRef:new1'])
    expect(s.pool('c1')).toMatchObject({ seq: 9, meta: { token: 'b' } })
    expect(s.collectGarbage(1000)).toBe(3) // the old generation
    expect(s.collectGarbage(1000)).toBe(0)
  })

  it('never show rows of an abandoned reset, not even after a clear, and collect them', () => {
    const t = tempDir()
    cleanups.push(t.remove)
    const s = store(t.dir)
    s.applyBatch('c1', rows('old', 2), [], {})
    const gen = s.beginReset('c1')
    s.resetChunk('c1', gen, rows('half', 5))
    s.abandonReset('c1', gen)
    s.clear('c1')
    expect(visible(s)).toEqual([])
    s.applyBatch('c1', rows('after', 1), [], {})
    expect(visible(s)).toEqual(['OpaqueRef:after0'])
    expect(s.collectGarbage(1000)).toBe(7)
    expect(visible(s)).toEqual(['OpaqueRef:after0'])
  })

  it('collect the rows of a reset whose writer died before committing', () => {
    const t = tempDir()
    cleanups.push(t.remove)
    const first = store(t.dir)
    first.applyBatch('c1', rows('old', 2), [], { token: 'a' })
    const gen = first.beginReset('c1')
    first.resetChunk('c1', gen, rows('half', 4))
    // a new owner (the next start) knows nothing of that reset
    const next = store(t.dir)
    expect(visible(next)).toEqual(['OpaqueRef:old0', 'OpaqueRef:old1'])
    expect(next.collectGarbage(1000)).toBe(4)
    const again = next.beginReset('c1')
    expect(again).toBeGreaterThan(gen - 1)
    next.resetChunk('c1', again, rows('fresh', 1))
    next.commitReset('c1', again, { token: 'c' })
    expect(visible(next)).toEqual(['OpaqueRef:fresh0'])
  })
})
