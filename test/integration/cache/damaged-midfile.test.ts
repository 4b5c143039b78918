/**
 * Issue 12 item 6 (last part): a cache file damaged in the middle — not cut to 0 bytes, its header
 * and pools table fine — must not show a partial offline view. A window that subscribes at start
 * gets a pool's cached graph in pieces (PoolManager.graphPieces, applied here as the renderer does:
 * renderer/src/model/objects.ts stages a reset in pieces and swaps it in with its last piece).
 * Whether the damage is in SQLite's pages or in a stored record's text, the window sees either the
 * whole cached graph or nothing of it, never a part; the file is set aside and said, like the 0-byte
 * case, and the pool no longer claims an inventory "as of" a time it lost.
 */
import Database from 'better-sqlite3'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openInventoryCache, type CacheProblem, type SqliteInventoryCache } from '../../../main/cache'
import { MemoryKeychain } from '../../../main/pools/keychain'
import type { PoolDiff } from '../../../shared/model/diff'
import { ObjectGraph } from '../../../renderer/src/model/objects'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl } from '../../sim/model'
import { connectTrusted, makeManager, waitFor } from '../pools/helpers'

const CORRUPT_NAME = /^cache\.corrupt-\d{8}-\d{6}(-\d+)?\.sqlite$/

let sim: SimControl
/** a data folder with one pool synced into its cache, and the VM count cached */
let template: string
let connectionId = ''
let cachedVms = 0

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.145', opDurationMs: 0 }) })
  template = mkdtempSync(join(tmpdir(), 'xp-damaged-template-'))
  const cache = openInventoryCache({ dataDir: template, mode: 'inline' })
  const h = makeManager({ cache, keychain: new MemoryKeychain() }, template)
  connectionId = await connectTrusted(h, sim.pool('tiny-current'))
  cachedVms = h.manager.graph(connectionId)?.all('VM').size ?? 0
  await h.close()
  await cache.flush()
  await cache.close()
}, 120_000)
afterAll(async () => {
  await sim?.stop()
  rmSync(template, { recursive: true, force: true })
})

/** a copy of the synced data folder, damaged by `damage` */
function damagedCopy(damage: (cacheFile: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'xp-damaged-'))
  for (const f of readdirSync(template)) writeFileSync(join(dir, f), readFileSync(join(template, f)))
  damage(join(dir, 'cache.sqlite'))
  return dir
}

interface Seen {
  /** VMs of the pool visible to the window after each piece it applied */
  visible: number[]
  problems: CacheProblem[]
  cachedAtAfter: string | undefined
}

/** a window subscribing at start: the pool's pieces applied as the renderer applies them */
async function subscribeAtStart(dir: string, mode: 'inline' | 'worker'): Promise<Seen> {
  const cache: SqliteInventoryCache = openInventoryCache({ dataDir: dir, mode })
  const problems: CacheProblem[] = []
  cache.onProblem((p) => problems.push(p))
  const h = makeManager({ cache, keychain: new MemoryKeychain() }, dir)
  try {
    expect(h.manager.get(connectionId)?.status).toBe('disconnected')
    const window = new ObjectGraph()
    const visible: number[] = []
    const pieces = h.manager.graphPieces(connectionId, 20)
    for (let r = pieces.next(); !r.done; r = pieces.next()) {
      const piece = r.value
      const diff: PoolDiff = 'raw' in piece ? { ...piece.diff, upserts: JSON.parse(piece.upsertsJson) as PoolDiff['upserts'] } : piece
      window.apply(diff)
      visible.push(window.pool(connectionId)?.table('VM').size ?? 0)
      // the worker writer sets a damaged file aside asynchronously: let it
      await new Promise((res) => setImmediate(res))
    }
    await waitFor('the damage said', () => problems.length > 0, 20_000)
    return { visible, problems, cachedAtAfter: h.manager.get(connectionId)?.cachedAt }
  } finally {
    await h.close()
    await cache.close()
  }
}

describe('a cache file damaged in the middle', () => {
  it('is whole before the damage: the undamaged copy shows every cached VM', async () => {
    expect(cachedVms).toBeGreaterThan(3)
    const dir = damagedCopy(() => undefined)
    try {
      const cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
      const h = makeManager({ cache, keychain: new MemoryKeychain() }, dir)
      const window = new ObjectGraph()
      for (const piece of { [Symbol.iterator]: () => h.manager.graphPieces(connectionId, 20) }) window.apply('raw' in piece ? { ...piece.diff, upserts: JSON.parse(piece.upsertsJson) as PoolDiff['upserts'] } : piece)
      expect(window.pool(connectionId)?.table('VM').size).toBe(cachedVms)
      expect(cache.status().problems).toEqual([])
      await h.close()
      await cache.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.each(['inline', 'worker'] as const)('a stored record that is not JSON any more (%s writer): nothing of the pool is shown, the file is set aside and said', async (mode) => {
    // the b-tree is intact; one VM's stored text in the middle of the pool's rows is damaged
    const dir = damagedCopy((file) => {
      const db = new Database(file)
      const refs = db.prepare(`SELECT ref FROM objects WHERE connection_id = ? AND cls = 'VM' ORDER BY ref`).all(connectionId) as { ref: string }[]
      const middle = refs[Math.floor(refs.length / 2)]?.ref
      db.prepare(`UPDATE objects SET record = '{"name_label":"half-written' WHERE connection_id = ? AND cls = 'VM' AND ref = ?`).run(connectionId, middle)
      db.close()
    })
    try {
      const seen = await subscribeAtStart(dir, mode)
      for (const n of seen.visible) expect([0, cachedVms], `visible VMs after each piece: ${seen.visible.join(', ')}`).toContain(n)
      expect(seen.visible.at(-1)).toBe(0)
      expect(seen.problems.map((p) => p.kind)).toEqual(['corrupt-recovered'])
      expect(seen.problems[0]?.message).toMatch(/was damaged \(1 stored record of .* is not readable\); it was set aside and a new one started\. The damaged file was kept as .*cache\.corrupt-/)
      expect(readdirSync(dir).filter((f) => CORRUPT_NAME.test(f))).toHaveLength(1)
      expect(seen.cachedAtAfter).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.each(['inline', 'worker'] as const)('damaged pages behind a good header and pools table (%s writer): nothing of the pool is shown, the file is set aside and said', async (mode) => {
    const dir = damagedCopy((file) => {
      const bytes = readFileSync(file)
      for (let off = Math.floor(bytes.length / 2); off < bytes.length; off += 61) bytes[off] = (bytes[off] ?? 0) ^ 0xa5
      writeFileSync(file, bytes)
    })
    try {
      const seen = await subscribeAtStart(dir, mode)
      for (const n of seen.visible) expect([0, cachedVms], `visible VMs after each piece: ${seen.visible.join(', ')}`).toContain(n)
      expect(seen.visible.at(-1)).toBe(0)
      expect(seen.problems.map((p) => p.kind)).toContain('corrupt-recovered')
      expect(readdirSync(dir).filter((f) => CORRUPT_NAME.test(f))).toHaveLength(1)
      expect(seen.cachedAtAfter).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
