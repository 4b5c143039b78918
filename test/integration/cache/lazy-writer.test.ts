/**
 * The writer thread starts with the first write that needs it, not at open: a cold start that only
 * reads the cache (load, readPages, cachedConnections, search, history) never pays for a thread.
 * Housekeeping found at open (rows of old generations, many free pages) is a write: it starts the
 * thread. A thread that cannot start (e.g. worker.js missing from a build) hands every operation
 * it never applied to the main thread, so nothing of what was written is lost.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openInventoryCache, type SqliteInventoryCache } from '../../../main/cache'
import { CacheStore, DEFAULT_PRUNE } from '../../../main/cache/store'
import { batch, namesOf, peek, reset, tempDir, vm } from './helpers'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function waitFor(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!probe()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function dir(): string {
  const t = tempDir()
  cleanups.push(t.remove)
  return t.dir
}

function open(dataDir: string, workerUrl?: URL): SqliteInventoryCache {
  const c = openInventoryCache({ dataDir, ...(workerUrl ? { workerUrl } : {}) })
  cleanups.push(() => c.close())
  return c
}

/** a cache file holding pool c1 (two VMs), written and closed */
async function filled(dataDir: string): Promise<void> {
  const c = openInventoryCache({ dataDir, mode: 'inline' })
  c.write(reset('c1', 1, [vm('OpaqueRef:1', 'alpha'), vm('OpaqueRef:2', 'beta')]), { poolName: 'Lab', lastSyncAt: new Date().toISOString() })
  await c.close()
}

const objectRows = (dataDir: string): number => peek(dataDir, (db) => (db.prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n)

describe('the cache writer thread starts lazily', () => {
  it('a start that only reads the cache starts no thread; the first write does, and is written', async () => {
    const d = dir()
    await filled(d)
    const c = open(d)
    expect(c.status()).toMatchObject({ state: 'ok', mode: 'worker', workerStarted: false, problems: [] })
    expect(c.cachedConnections().map((p) => p.connectionId)).toEqual(['c1'])
    expect([...c.readPages('c1', 1)].reduce((n, p) => n + (p === 'changed' ? 0 : p.count), 0)).toBe(2)
    expect(c.searchByName('alp').map((r) => r.ref)).toEqual(['OpaqueRef:1'])
    expect(c.history.list()).toEqual([])
    expect(namesOf(c.load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'alpha', 'VM OpaqueRef:2': 'beta' })
    await c.flush()
    await new Promise((r) => setTimeout(r, 100))
    expect(c.status().workerStarted).toBe(false)

    c.write(batch('c1', 2, [vm('OpaqueRef:3', 'gamma')]))
    await c.flush()
    expect(c.status()).toMatchObject({ state: 'ok', mode: 'worker', workerStarted: true, problems: [] })
    await c.close()
    const again = openInventoryCache({ dataDir: d, mode: 'inline' })
    cleanups.push(() => again.close())
    expect(namesOf(again.load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'alpha', 'VM OpaqueRef:2': 'beta', 'VM OpaqueRef:3': 'gamma' })
  })

  it('a brand-new cache closes without ever starting a thread', async () => {
    const c = open(dir())
    await c.flush()
    expect(c.status()).toMatchObject({ state: 'ok', mode: 'worker', workerStarted: false })
    await c.close()
    expect(c.status().workerStarted).toBe(false)
  })

  it('rows of an old generation found at open (a reset cut short by kill -9) are collected: housekeeping starts the thread', async () => {
    const d = dir()
    await filled(d)
    // what a process killed in the middle of a reset leaves: rows of a generation never made visible
    const db = new Database(join(d, 'cache.sqlite'))
    const store = new CacheStore(db, DEFAULT_PRUNE)
    const gen = store.beginReset('c1')
    store.resetChunk('c1', gen, [{ cls: 'VM', ref: 'OpaqueRef:9', uuid: 'u9', name: 'half', at: null, json: '{"name_label":"half"}', extra: '{}' }])
    db.close()
    expect(objectRows(d)).toBe(3)

    const c = open(d)
    await waitFor('the writer thread to start', () => c.status().workerStarted === true)
    await c.flush()
    expect(objectRows(d)).toBe(2)
    expect(namesOf(c.load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'alpha', 'VM OpaqueRef:2': 'beta' })
    expect(c.status()).toMatchObject({ state: 'ok', mode: 'worker', problems: [] })
  })

  it('when the thread cannot start at the first write, the main thread writes what it was given (a token-resumed pool’s changes too)', async () => {
    const d = dir()
    await filled(d)
    // streamed at cold start (readPages): the cache holds nothing of c1 in memory
    const c = open(d, new URL('file:///nonexistent/xenpilot-cache-worker.js'))
    expect([...c.readPages('c1', 10)].length).toBe(1)
    expect(c.status().workerStarted).toBe(false)
    // the pool reconnected with its token: incremental batches on a graph main does not hold
    c.write(batch('c1', 2, [vm('OpaqueRef:3', 'gamma')], [{ cls: 'VM', ref: 'OpaqueRef:2' }]))
    c.write(batch('c1', 3, [vm('OpaqueRef:1', 'alpha renamed')]))
    await waitFor('the fallback to the main thread', () => c.status().mode === 'inline')
    await c.flush()
    expect(c.status()).toMatchObject({ state: 'ok', mode: 'inline', problems: [] })
    await c.close()
    const again = openInventoryCache({ dataDir: d, mode: 'inline' })
    cleanups.push(() => again.close())
    const loaded = again.load('c1')
    expect(namesOf(loaded?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'alpha renamed', 'VM OpaqueRef:3': 'gamma' })
    expect(loaded?.meta.token).toBe('tok-3')
  })

  it.each([
    // not a file: URL: new Worker() throws at once (ERR_INVALID_URL_SCHEME)
    ['cannot even be created (the Worker constructor throws)', 'https://example.invalid/xenpilot-cache-worker.js'],
    // created, then dies before 'ready' (module not found)
    ['dies before it is ready', 'file:///nonexistent/xenpilot-cache-worker.js'],
  ])('a thread that %s: a reset of 5,000 objects and the batch after it are all written by the main thread', async (_what, url) => {
    const d = dir()
    const c = open(d, new URL(url))
    const many = Array.from({ length: 5000 }, (_, i) => vm(`OpaqueRef:${i}`, `vm-${i}`))
    c.write(reset('c1', 1, many), { poolName: 'Big', lastSyncAt: new Date().toISOString() })
    c.write(batch('c1', 2, [vm('OpaqueRef:0', 'first renamed')]))
    await c.flush()
    expect(c.status()).toMatchObject({ state: 'ok', mode: 'inline', workerStarted: false, problems: [] })
    await c.close()
    const again = openInventoryCache({ dataDir: d, mode: 'inline' })
    cleanups.push(() => again.close())
    const names = namesOf(again.load('c1')?.diff.upserts ?? [])
    expect(Object.keys(names)).toHaveLength(5000)
    expect(names['VM OpaqueRef:0']).toBe('first renamed')
    expect(names['VM OpaqueRef:4999']).toBe('vm-4999')
  })
})
