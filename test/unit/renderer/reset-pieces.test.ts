/**
 * Resets in pieces (PoolDiff.part/more): the renderer's graph stages them and swaps the pool's
 * graph only with the last piece (a live sync's pieces of a pool it showed nothing of: shown as they
 * come); the store applies large diffs in slices with the same result as
 * applying them at once.
 */
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { resetPieces, type PoolDiff } from '../../../shared/model/diff'
import { ObjectGraph, type PoolObjects } from '../../../renderer/src/model/objects'
import { APPLY_SLICE, useObjectsStore } from '../../../renderer/src/stores/objects'
import { parsePoolDiff } from '../../../renderer/src/api/pool-diff'
import { RENDERER_UNUSED_CLASSES } from '../../../shared/model/slim'
import { generatePool } from './fleet'

const spec = { connectionId: 'c1', poolName: 'alpha', hosts: 3, runningPerHost: 20, halted: 15 }

/** what a consumer can observe of a pool: tables, uuid index and every index */
function state(p: PoolObjects | undefined): unknown {
  if (!p) return undefined
  const tables = [...p.tables].map(([cls, t]) => [cls, [...t].sort(([a], [b]) => a.localeCompare(b))]).sort(([a], [b]) => String(a).localeCompare(String(b)))
  const indexes = (['residentOn', 'tag', 'folder', 'ip', 'guestMetrics', 'snapshotOf', 'taskStatus', 'pbdHost'] as const).map((n) =>
    [...p.index(n).entries()].map(([k, refs]) => [k, [...refs].sort()]).sort(([a], [b]) => String(a).localeCompare(String(b))),
  )
  return { tables, uuids: [...p.byUuid].sort(([a], [b]) => a.localeCompare(b)), indexes, seq: p.seq }
}

function pieces(diff: PoolDiff, size: number): PoolDiff[] {
  return [...resetPieces(diff, size)]
}

describe('a reset in pieces', () => {
  it('splits into numbered pieces with more on all but the last, and leaves a small reset whole', () => {
    const gen = generatePool(spec)
    const ps = pieces(gen.diff, 10)
    expect(ps.length).toBe(Math.ceil(gen.diff.upserts.length / 10))
    expect(ps.map((p) => p.part)).toEqual(ps.map((_, i) => i))
    expect(ps.slice(0, -1).every((p) => p.more === true)).toBe(true)
    expect(ps.at(-1)?.more).toBeUndefined()
    expect(ps.every((p) => p.reset && p.seq === gen.diff.seq)).toBe(true)
    expect(ps.flatMap((p) => p.upserts)).toEqual(gen.diff.upserts)
    expect(pieces(gen.diff, 1_000_000)).toEqual([gen.diff])
  })

  it('gives the same graph as the reset in one piece, and shows nothing of it before the last piece', () => {
    const gen = generatePool(spec)
    const whole = new ObjectGraph()
    whole.apply(gen.diff)
    const staged = new ObjectGraph()
    const ps = pieces(gen.diff, 7)
    for (const p of ps.slice(0, -1)) {
      const r = staged.apply(p)
      expect(r.changed).toBe(false)
      expect(r.gap).toBe(false)
    }
    expect(staged.pool('c1')).toBeUndefined()
    expect(staged.staging('c1')).toBe(true)
    const last = ps.at(-1)
    if (!last) throw new Error('no pieces')
    const r = staged.apply(last)
    expect(r.changed).toBe(true)
    expect(staged.staging('c1')).toBe(false)
    expect(state(staged.pool('c1'))).toEqual(state(whole.pool('c1')))
  })

  it("a live sync's pieces of a pool the window showed nothing of are shown as they come, ending in the same graph (issue 20)", () => {
    const gen = generatePool(spec)
    const whole = new ObjectGraph()
    whole.apply(gen.diff)
    const g = new ObjectGraph()
    const ps = pieces(gen.diff, 7).map((p) => ({ ...p, live: true }))
    let version = -1
    for (const p of ps.slice(0, -1)) {
      const r = g.apply(p)
      // nothing to mix with: each piece is visible at once, the versions move
      expect(r.changed).toBe(true)
      expect(r.gap).toBe(false)
      const shown = g.pool('c1')
      for (const u of p.upserts) if (!RENDERER_UNUSED_CLASSES.has(u.cls)) expect(shown?.get(u.cls as 'VM', u.ref), u.ref).toBeDefined()
      expect(shown?.version).toBeGreaterThan(version)
      version = shown?.version ?? -1
    }
    expect(g.staging('c1')).toBe(true)
    g.apply(ps.at(-1) as PoolDiff)
    expect(g.staging('c1')).toBe(false)
    expect(state(g.pool('c1'))).toEqual(state(whole.pool('c1')))

    // a pool already shown (its cached graph) keeps it until the live sync's last piece: no mix
    const before = generatePool({ ...spec, halted: 3 })
    const h = new ObjectGraph()
    h.apply(before.diff)
    const oldState = state(h.pool('c1'))
    const again = pieces({ ...gen.diff, seq: 7 }, 7).map((p) => ({ ...p, live: true }))
    for (const p of again.slice(0, -1)) expect(h.apply(p).changed).toBe(false)
    expect(state(h.pool('c1'))).toEqual(oldState)
    h.apply(again.at(-1) as PoolDiff)
    const expected = new ObjectGraph()
    expected.apply({ ...gen.diff, seq: 7 })
    expect(state(h.pool('c1'))).toEqual(state(expected.pool('c1')))
  })

  it('replaces an older graph only at the last piece (the old one stays visible until then, no mix)', () => {
    const before = generatePool({ ...spec, halted: 3 })
    const after = generatePool({ ...spec, runningPerHost: 5 })
    const g = new ObjectGraph()
    g.apply(before.diff)
    const oldState = state(g.pool('c1'))
    const treeVersion = g.pool('c1')?.treeVersion ?? 0
    const ps = pieces({ ...after.diff, seq: 9 }, 5)
    for (const p of ps.slice(0, -1)) g.apply(p)
    expect(state(g.pool('c1'))).toEqual(oldState)
    g.apply(ps.at(-1) as PoolDiff)
    const expected = new ObjectGraph()
    expected.apply({ ...after.diff, seq: 9 })
    expect(state(g.pool('c1'))).toEqual(state(expected.pool('c1')))
    expect(g.pool('c1')?.treeVersion).toBeGreaterThan(treeVersion)
  })

  it('a new reset interrupting the pieces wins: nothing of the abandoned one remains', () => {
    const first = generatePool({ ...spec, poolName: 'first' })
    const second = generatePool({ ...spec, poolName: 'second', runningPerHost: 4, halted: 1 })
    // pieces of the first reset, then a new reset in pieces from part 0
    const g = new ObjectGraph()
    const a = pieces({ ...first.diff, seq: 5 }, 9)
    g.apply(a[0] as PoolDiff)
    g.apply(a[1] as PoolDiff)
    for (const p of pieces({ ...second.diff, seq: 6 }, 9)) g.apply(p)
    // a late piece of the abandoned reset is a gap and changes nothing
    const late = g.apply(a[2] as PoolDiff)
    expect(late.gap).toBe(true)
    expect(late.changed).toBe(false)
    const expected = new ObjectGraph()
    expected.apply({ ...second.diff, seq: 6 })
    expect(state(g.pool('c1'))).toEqual(state(expected.pool('c1')))

    // the same with a complete (one-piece) reset interrupting
    const h = new ObjectGraph()
    h.apply(a[0] as PoolDiff)
    h.apply({ ...second.diff, seq: 6 })
    expect(h.staging('c1')).toBe(false)
    expect(state(h.pool('c1'))).toEqual(state(expected.pool('c1')))
  })

  it('a missing piece is a gap: the staged copy is dropped and the previous graph stays', () => {
    const before = generatePool({ ...spec, halted: 2 })
    const after = generatePool(spec)
    const g = new ObjectGraph()
    g.apply(before.diff)
    const oldState = state(g.pool('c1'))
    const ps = pieces({ ...after.diff, seq: 4 }, 6)
    g.apply(ps[0] as PoolDiff)
    const r = g.apply(ps[2] as PoolDiff)
    expect(r.gap).toBe(true)
    expect(g.staging('c1')).toBe(false)
    g.apply(ps.at(-1) as PoolDiff)
    expect(state(g.pool('c1'))).toEqual(oldState)
  })

  it('live diffs arriving between the pieces are applied after the swap; ones the reset already holds are skipped', () => {
    const gen = generatePool(spec)
    const vm = gen.haltedVmRefs[0] ?? ''
    const ps = pieces({ ...gen.diff, seq: 10 }, 8)
    const g = new ObjectGraph()
    g.apply(ps[0] as PoolDiff)
    const rec = { ...(gen.diff.upserts.find((u) => u.ref === vm)?.record ?? {}), name_label: 'renamed' }
    const held = g.apply({ connectionId: 'c1', seq: 11, reset: false, upserts: [{ cls: 'VM', ref: vm, record: rec }], removes: [] })
    expect(held.changed).toBe(false)
    for (const p of ps.slice(1)) g.apply(p)
    expect(g.pool('c1')?.get('VM', vm)?.name_label).toBe('renamed')
    expect(g.pool('c1')?.seq).toBe(11)
    // a diff older than the reset (already in it) is skipped, not a gap
    const stale = g.apply({ connectionId: 'c1', seq: 9, reset: false, upserts: [], removes: [{ cls: 'VM', ref: vm }] })
    expect(stale.gap).toBe(false)
    expect(g.pool('c1')?.get('VM', vm)).toBeDefined()
  })

  it('the renderer accepts pieces on the wire and refuses part/more without reset', () => {
    const gen = generatePool(spec)
    const [p0] = pieces(gen.diff, 10)
    const parsed = parsePoolDiff(JSON.parse(JSON.stringify(p0)))
    expect(typeof parsed).toBe('object')
    expect(parsed).toMatchObject({ part: 0, more: true, reset: true })
    expect(parsePoolDiff({ connectionId: 'c1', seq: 1, reset: false, part: 1, upserts: [], removes: [] })).toMatch(/part\/more without reset/)
    expect(parsePoolDiff({ connectionId: 'c1', seq: 1, reset: true, part: -1, upserts: [], removes: [] })).toMatch(/part/)
  })
})

describe('objects store: large diffs in slices', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('a fleet applied through the queue in slices ends in the same state as applied at once', async () => {
    const big = generatePool({ connectionId: 'c1', poolName: 'big', hosts: 4, runningPerHost: Math.ceil(APPLY_SLICE / 4), halted: 200 })
    expect(big.diff.upserts.length).toBeGreaterThan(APPLY_SLICE)
    const small = generatePool({ connectionId: 'c2', poolName: 'small', poolIndex: 1, hosts: 1, runningPerHost: 2, halted: 1 })
    const whole = new ObjectGraph()
    whole.apply(big.diff)
    whole.apply(small.diff)

    const objects = useObjectsStore()
    const v0 = objects.version
    objects.apply(big.diff)
    // queued (a large reset is applied in slices on later tasks); a small diff behind it waits its turn
    expect(objects.graph.pool('c1')).toBeUndefined()
    objects.apply(small.diff)
    expect(objects.graph.pool('c2')).toBeUndefined()
    await objects.settled()
    expect(state(objects.graph.pool('c1'))).toEqual(state(whole.pool('c1')))
    expect(state(objects.graph.pool('c2'))).toEqual(state(whole.pool('c2')))
    expect(objects.version).toBeGreaterThan(v0)

    // pieces from main go through the queue too and end the same
    setActivePinia(createPinia())
    const again = useObjectsStore()
    for (const p of pieces(big.diff, 500)) again.apply(p)
    await again.settled()
    expect(state(again.graph.pool('c1'))).toEqual(state(whole.pool('c1')))
  })

  it('a small diff with nothing queued is applied at once (the steady state of a connected pool)', () => {
    const objects = useObjectsStore()
    const gen = generatePool({ ...spec, runningPerHost: 2, halted: 1 })
    objects.apply(gen.diff)
    expect(objects.graph.pool('c1')?.all('VM').size).toBeGreaterThan(0)
    expect(objects.version).toBe(1)
  })

  it('tells its listener how many received diffs are applied, as soon as each is (flow control acknowledges them); dropped ones count as handled', async () => {
    const objects = useObjectsStore()
    const told: number[] = []
    objects.onApplied((n) => told.push(n))
    const total = (): number => told.reduce((a, b) => a + b, 0)
    // a small diff with nothing queued: applied and told at once
    const small = generatePool({ connectionId: 'c2', poolName: 'small', poolIndex: 1, hosts: 1, runningPerHost: 2, halted: 1 })
    objects.apply(small.diff)
    expect(told).toEqual([1])
    // a large reset is one received diff however many slices it is applied in: told after its last slice only
    const big = generatePool({ connectionId: 'c1', poolName: 'big', hosts: 4, runningPerHost: APPLY_SLICE, halted: 10 })
    objects.apply(big.diff)
    expect(total()).toBe(1)
    const ps = pieces({ ...small.diff, seq: 5 }, 3)
    for (const p of ps) objects.apply(p)
    await new Promise<void>((ok) => {
      objects.onApplied((n) => {
        told.push(n)
        if (total() === 2 + ps.length) ok()
      })
    })
    expect(total()).toBe(2 + ps.length)
    expect(objects.graph.pool('c2')?.seq).toBe(5)
    await objects.settled()
    // queued diffs of a connection dropped before they were applied are handled too
    const again = generatePool({ connectionId: 'c3', poolName: 'again', poolIndex: 2, hosts: 2, runningPerHost: APPLY_SLICE, halted: 0 })
    const n0 = total()
    objects.apply(again.diff)
    objects.apply({ ...again.diff, seq: 2 })
    objects.drop('c3')
    expect(total()).toBe(n0 + 2)
    objects.onApplied(null)
  })

  it('dropping a connection discards its queued diffs', async () => {
    const objects = useObjectsStore()
    const gen = generatePool({ connectionId: 'c1', poolName: 'big', hosts: 2, runningPerHost: APPLY_SLICE, halted: 0 })
    objects.apply(gen.diff)
    objects.drop('c1')
    await objects.settled()
    expect(objects.graph.pool('c1')).toBeUndefined()
  })
})
