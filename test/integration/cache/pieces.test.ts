/**
 * Resets in pieces through the cache and the pools layer (issue 2, cold start):
 *  - the cache writes a reset that arrives in pieces as one reset, and keeps its previous graph
 *    when the pieces stop half-way;
 *  - readPages() gives the stored graph page by page as JSON text (records not parsed), and says
 *    'changed' when the graph is replaced between two pages;
 *  - PoolManager.graphPieces() streams an offline pool from the cache without loading it into
 *    main, leaving out what the window stream says (OFFLINE_OMISSION), and the pieces rebuild
 *    exactly the cached graph in the renderer's model.
 */
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { resetPieces, type ObjectUpsert, type PoolDiff } from '../../../shared/model/diff'
import { openInventoryCache, type SqliteInventoryCache } from '../../../main/cache'
import { MemoryKeychain } from '../../../main/pools/keychain'
import { PoolManager } from '../../../main/pools/manager'
import type { CachedPage, RawPoolDiff } from '../../../main/pools/api'
import { ObjectGraph } from '../../../renderer/src/model/objects'
import { OFFLINE_UNUSED_CLASSES, RENDERER_UNUSED_CLASSES } from '../../../shared/model/slim'
import { OFFLINE_OMISSION } from '../../../main/services/outbox'

function graph(id: string, vms: number, seq: number, tag: string): PoolDiff {
  const upserts: ObjectUpsert[] = [{ cls: 'pool', ref: `OpaqueRef:${id}-pool`, record: { uuid: `${id}-pool`, name_label: `pool ${tag}` } }]
  for (let i = 0; i < vms; i++) upserts.push({ cls: 'VM', ref: `OpaqueRef:${id}-vm${String(i).padStart(5, '0')}`, record: { uuid: `${id}-vm-${i}`, name_label: `${tag}-${i}`, power_state: 'Halted', tags: i % 2 ? ['web'] : [], recommendations: '<restrictions/>', VBDs: [`OpaqueRef:${id}-vbd${i}`] } })
  return { connectionId: id, seq, reset: true, upserts, removes: [] }
}

const sorted = (ups: readonly ObjectUpsert[]): ObjectUpsert[] => [...ups].sort((a, b) => (a.cls + a.ref).localeCompare(b.cls + b.ref))

let dir: string
let cache: SqliteInventoryCache
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xp-pieces-'))
  cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
})
afterEach(async () => {
  await cache.close()
  rmSync(dir, { recursive: true, force: true })
})

async function reopen(): Promise<void> {
  await cache.flush()
  await cache.close()
  cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
}

/** the damaged file is set aside once the writer has stopped (asynchronously) */
async function until(ok: () => boolean): Promise<void> {
  const end = Date.now() + 10_000
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

function pages(id: string, size: number): (CachedPage | 'changed')[] {
  return [...{ [Symbol.iterator]: () => cache.readPages(id, size) }]
}

describe('the cache and resets in pieces', () => {
  it('writes a reset that arrives in pieces as one reset; pieces that stop half-way leave the previous graph', async () => {
    const first = graph('c1', 50, 3, 'first')
    for (const p of resetPieces(first, 7)) cache.write(p, { lastSyncAt: '2026-11-25T10:00:00Z' })
    await reopen()
    expect(sorted(cache.load('c1')?.diff.upserts ?? [])).toEqual(sorted(first.upserts))

    // a second reset whose pieces stop (the connection dropped): the first graph stays whole
    const second = [...resetPieces(graph('c1', 30, 9, 'second'), 7)]
    for (const p of second.slice(0, 3)) cache.write(p)
    await reopen()
    expect(sorted(cache.load('c1')?.diff.upserts ?? [])).toEqual(sorted(first.upserts))

    // interrupted by a new reset in pieces: only the new one is written
    const third = graph('c1', 20, 12, 'third')
    for (const p of second.slice(0, 2)) cache.write(p)
    for (const p of resetPieces(third, 7)) cache.write(p)
    await reopen()
    expect(sorted(cache.load('c1')?.diff.upserts ?? [])).toEqual(sorted(third.upserts))
  })

  it('reads the stored graph page by page as JSON text, and says when it changed between pages', async () => {
    const g = graph('c1', 45, 4, 'a')
    cache.write(g, { lastSyncAt: '2026-11-25T10:00:00Z', token: 'tok-4' })
    await reopen()
    const ps = pages('c1', 10)
    expect(ps.every((p) => p !== 'changed')).toBe(true)
    const real = ps.filter((p): p is CachedPage => p !== 'changed')
    expect(real.map((p) => p.count)).toEqual([10, 10, 10, 10, 6])
    expect(real[0]?.seq).toBe(4)
    expect(real[0]?.meta.token).toBe('tok-4')
    const upserts = real.flatMap((p) => JSON.parse(p.upsertsJson) as ObjectUpsert[])
    expect(sorted(upserts)).toEqual(sorted(g.upserts))
    // nothing cached: nothing at all
    expect(pages('nobody', 10)).toEqual([])

    // a reset committed between two pages: 'changed', and nothing after it
    const it2 = cache.readPages('c1', 10)
    expect(it2.next().value).not.toBe('changed')
    cache.write(graph('c1', 5, 6, 'b'))
    await cache.flush()
    const rest: unknown[] = []
    for (let r = it2.next(); !r.done; r = it2.next()) rest.push(r.value)
    expect(rest).toEqual(['changed'])
  })

  it('leaves out the same fields and classes whether the pages come from the file or from memory; a row that is not an object is damage: no page that lacks it, the file set aside', async () => {
    const g = graph('c1', 12, 3, 'a')
    g.upserts.push({ cls: 'VIF', ref: 'OpaqueRef:vif', record: { uuid: 'vif' } })
    const omit = { fields: { VM: ['recommendations', 'VBDs'] }, classes: ['VIF'] }
    const read = (): ObjectUpsert[] => [...{ [Symbol.iterator]: () => cache.readPages('c1', 5, omit) }].flatMap((p) => (p === 'changed' ? [] : (JSON.parse(p.upsertsJson) as ObjectUpsert[])))
    cache.write(g, { lastSyncAt: '2026-11-25T10:00:00Z' })
    await cache.flush()
    const fromMemory = read()
    await reopen()
    const fromFile = read()
    expect(sorted(fromFile)).toEqual(sorted(fromMemory))
    expect(fromFile).toHaveLength(13)
    expect(fromFile.some((u) => u.cls === 'VIF' || 'recommendations' in u.record || 'VBDs' in u.record)).toBe(false)
    expect(fromFile.find((u) => u.cls === 'VM')?.record.name_label).toBe('a-0')
    // the cache keeps the whole records
    expect(cache.load('c1')?.diff.upserts.find((u) => u.cls === 'VM')?.record.VBDs).toEqual(['OpaqueRef:c1-vbd0'])
    expect(sorted(cache.load('c1')?.diff.upserts ?? [])).toEqual(sorted(g.upserts))

    // a window's omission (the fields each row keeps apart: its pages are the stored text as is), and rows
    // written before the split (their whole record in one text): the same pages from the file and from memory
    const windowPages = (): ObjectUpsert[] => [...{ [Symbol.iterator]: () => cache.readPages('c1', 5, OFFLINE_OMISSION) }].flatMap((p) => (p === 'changed' ? [] : (JSON.parse(p.upsertsJson) as ObjectUpsert[])))
    const fromSplitRows = windowPages()
    expect(fromSplitRows.filter((u) => u.cls === 'VM')).toHaveLength(12)
    expect(fromSplitRows.some((u) => 'recommendations' in u.record || 'VBDs' in u.record || u.cls === 'VIF')).toBe(false)
    await cache.close()
    const old = new Database(join(dir, 'cache.sqlite'))
    old.exec(`UPDATE objects SET record = substr(record, 1, length(record) - 1) || ',' || substr(extra, 2), extra = NULL WHERE extra IS NOT NULL AND extra <> '{}' AND record <> '{}'`)
    expect(old.prepare('SELECT count(*) AS n FROM objects WHERE extra IS NULL AND record LIKE ?').get('%recommendations%')).toEqual({ n: 12 })
    old.close()
    cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
    expect(sorted(windowPages())).toEqual(sorted(fromSplitRows))
    expect(sorted(cache.load('c1')?.diff.upserts ?? [])).toEqual(sorted(g.upserts))
    await cache.close()
    cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
    cache.write(g, { lastSyncAt: '2026-11-25T10:00:00Z' })
    await cache.flush()
    expect(sorted(windowPages())).toEqual(sorted(fromSplitRows))

    // a stored text that is not an object's: the file is damaged (issue 12 item 6). No page that
    // lacks the record is handed out; the pages before it are followed by 'changed' (the caller
    // drops what it staged); the file is set aside and said
    await cache.close()
    const db = new Database(join(dir, 'cache.sqlite'))
    db.prepare("UPDATE objects SET record = 'not json' WHERE cls = 'VM' AND ref = ?").run('OpaqueRef:c1-vm00007')
    db.close()
    cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
    const problems: string[] = []
    cache.onProblem((p) => problems.push(p.message))
    const got = pages('c1', 5)
    expect(got.at(-1)).toBe('changed')
    const handed = got.slice(0, -1).flatMap((p) => (p === 'changed' ? [] : (JSON.parse(p.upsertsJson) as ObjectUpsert[])))
    expect(handed).toHaveLength(5)
    expect(handed.some((u) => u.ref === 'OpaqueRef:c1-vm00007')).toBe(false)
    await until(() => problems.length > 0)
    expect(problems.join('\n')).toMatch(/was damaged \(1 stored record of c1 is not readable\); it was set aside/)
    expect(cache.status().problems.map((p) => p.kind)).toEqual(['corrupt-recovered'])
    expect(cache.load('c1')).toBeUndefined()
  })

  it('finds a damaged record that still looks like an object, with and without fields left out (json_remove fails on it): every page handed out is whole JSON, then the file is set aside', async () => {
    for (const omit of [undefined, { fields: { VM: ['recommendations', 'VBDs'] } }, OFFLINE_OMISSION]) {
      const g = graph('c1', 12, 3, 'a')
      cache.write(g, { lastSyncAt: '2026-11-25T10:00:00Z' })
      await cache.close()
      const db = new Database(join(dir, 'cache.sqlite'))
      // bit rot inside the text: braces intact, JSON broken — a VM (its fields go through json_remove)
      db.prepare('UPDATE objects SET record = \'{"uuid": "x", broken}\' WHERE cls = \'VM\' AND ref = ?').run('OpaqueRef:c1-vm00006')
      db.close()
      cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
      const problems: string[] = []
      cache.onProblem((p) => problems.push(p.message))
      const got = [...{ [Symbol.iterator]: () => cache.readPages('c1', 5, omit) }]
      expect(got.at(-1), JSON.stringify(omit)).toBe('changed')
      const handed = got.slice(0, -1).flatMap((p) => (p === 'changed' ? [] : (JSON.parse(p.upsertsJson) as ObjectUpsert[])))
      expect(handed).toHaveLength(5)
      expect(handed.some((u) => u.ref === 'OpaqueRef:c1-vm00006')).toBe(false)
      await until(() => problems.length > 0)
      expect(problems.join('\n')).toMatch(/1 stored record of c1 is not readable/)
      await reopen()
    }
  })
})

describe('PoolManager.graphPieces for an offline pool', () => {
  it('streams the cached graph from the file without loading it into main, in pieces that rebuild it exactly', async () => {
    const g = graph('c1', 120, 7, 'cached')
    cache.write(g, { poolName: 'cached pool', memberAddresses: ['127.66.0.1'], lastSyncAt: '2026-11-25T10:00:00Z', token: 'tok-7' })
    await reopen()
    writeFileSync(join(dir, 'connections.json'), JSON.stringify({ version: 1, connections: [{ id: 'c1', address: '127.66.0.1', username: 'root', rememberPassword: false, memberAddresses: ['127.66.0.1'], poolName: 'cached pool' }] }))
    const wholeLoads = vi.spyOn(cache, 'load')
    const manager = new PoolManager({ dataDir: dir, keychain: new MemoryKeychain(), cache })
    try {
      expect(manager.get('c1')?.cachedAt).toBe('2026-11-25T10:00:00Z')
      const out: (PoolDiff | RawPoolDiff)[] = []
      const it = manager.graphPieces('c1', 50, { omit: OFFLINE_OMISSION })
      for (let r = it.next(); !r.done; r = it.next()) out.push(r.value)
      expect(out.map((p) => ('raw' in p ? [p.diff.part, p.diff.more ?? false, p.count] : ['parsed']))).toEqual([
        [0, true, 50],
        [1, true, 50],
        [2, false, 21],
      ])
      // main still does not hold the graph: it never loaded the pool whole from the cache
      expect(wholeLoads).not.toHaveBeenCalled()
      wholeLoads.mockRestore()
      const streamed = out.flatMap((p) => ('raw' in p ? (JSON.parse(p.upsertsJson) as ObjectUpsert[]) : p.upserts))
      // fields the renderer never reads stay on disk (shared/model/slim.ts); the rest is whole
      expect(streamed.filter((u) => u.cls === 'VM').every((u) => !('recommendations' in u.record) && typeof u.record.name_label === 'string')).toBe(true)
      expect(cache.load('c1')?.diff.upserts.find((u) => u.cls === 'VM')?.record.recommendations).toBe('<restrictions/>')
      // … and so do the fields only actions disabled while offline read (a VM's VBDs: the delete plan)
      expect(streamed.filter((u) => u.cls === 'VM').some((u) => 'VBDs' in u.record)).toBe(false)
      expect(cache.load('c1')?.diff.upserts.find((u) => u.cls === 'VM')?.record.VBDs).toEqual(['OpaqueRef:c1-vbd0'])
      const model = new ObjectGraph()
      for (const p of out) model.apply('raw' in p ? { ...p.diff, upserts: JSON.parse(p.upsertsJson) as ObjectUpsert[] } : p)
      const pool = model.pool('c1')
      expect(pool?.seq).toBe(7)
      expect(pool?.all('VM').size).toBe(120)
      expect(pool?.index('tag').get('web').size).toBe(60)
      // once main needs it (NUMA, console, connect) it is loaded, and pieces come from memory
      expect(manager.graph('c1')?.size).toBe(121)
      const fromMemory = [...{ [Symbol.iterator]: () => manager.graphPieces('c1', 1000) }]
      expect(fromMemory).toHaveLength(1)
      expect(fromMemory[0] && 'raw' in fromMemory[0]).toBe(false)
    } finally {
      await manager.close()
    }
  })

  it('leaves out the classes a window never reads and those only a connected pool needs; the cache keeps them', async () => {
    const g = graph('c1', 30, 5, 'cached')
    const left = [...RENDERER_UNUSED_CLASSES, ...OFFLINE_UNUSED_CLASSES]
    for (const cls of left) for (let i = 0; i < 4; i++) g.upserts.push({ cls, ref: `OpaqueRef:${cls}-${i}`, record: { uuid: `${cls}-${i}` } })
    cache.write(g, { poolName: 'cached pool', memberAddresses: ['127.66.0.1'], lastSyncAt: '2026-11-25T10:00:00Z', token: 'tok-5' })
    await reopen()
    writeFileSync(join(dir, 'connections.json'), JSON.stringify({ version: 1, connections: [{ id: 'c1', address: '127.66.0.1', username: 'root', rememberPassword: false, memberAddresses: ['127.66.0.1'], poolName: 'cached pool' }] }))
    const manager = new PoolManager({ dataDir: dir, keychain: new MemoryKeychain(), cache })
    try {
      const out = [...{ [Symbol.iterator]: () => manager.graphPieces('c1', 7, { omit: OFFLINE_OMISSION }) }]
      expect(out.every((p) => 'raw' in p)).toBe(true)
      const streamed = out.flatMap((p) => ('raw' in p ? (JSON.parse(p.upsertsJson) as ObjectUpsert[]) : p.upserts))
      expect(streamed.filter((u) => left.includes(u.cls))).toEqual([])
      // pages are full though rows were left out: 31 records in pages of 7
      expect(out.map((p) => ('raw' in p ? p.count : -1))).toEqual([7, 7, 7, 7, 3])
      const model = new ObjectGraph()
      for (const p of out) model.apply('raw' in p ? { ...p.diff, upserts: JSON.parse(p.upsertsJson) as ObjectUpsert[] } : p)
      expect(model.pool('c1')?.all('VM').size).toBe(30)
      // the cache itself keeps every class
      expect(cache.load('c1')?.diff.upserts.filter((u) => left.includes(u.cls))).toHaveLength(left.length * 4)
    } finally {
      await manager.close()
    }
  })
})
