/**
 * PoolManager with the real SQLite inventory cache: saved pools appear offline with their cached
 * graph at start, and reconnecting resumes from the cached event token (only the changes made
 * while away arrive, as a normal diff) — or resyncs fully when the pool no longer accepts it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl } from '../../sim/model'
import { openInventoryCache } from '../../../main/cache/cache'
import { MemoryKeychain } from '../../../main/pools/keychain'
import { connectTrusted, expectGraphMatchesSim, makeManager, waitFor } from './helpers'
import { upsertsOf } from '../../helpers/graph'

let sim: SimControl
let dataDir: string
beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.82', opDurationMs: 0 }) })
  dataDir = mkdtempSync(join(tmpdir(), 'xp-pools-cache-'))
})
afterAll(async () => {
  await sim?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

function vmOf(poolName: string): string {
  for (const [ref, r] of sim.pool(poolName).objects.get('VM') ?? []) if (!r.is_a_template && !r.is_control_domain) return ref
  throw new Error('no VM')
}

describe('offline cache', () => {
  it('shows the cached graph while offline, then resumes from the cached token with only what changed', async () => {
    const p = sim.pool('tiny-current')
    const keychain = new MemoryKeychain()
    const vm = vmOf('tiny-current')

    // first run: connect, let the cache write, close
    const cache1 = openInventoryCache({ dataDir, mode: 'inline' })
    const h1 = makeManager({ cache: cache1, keychain }, dataDir)
    const id = await connectTrusted(h1, p, { rememberPassword: true })
    // the cache keeps everything but finished tasks and messages (main/cache policy)
    const cacheable = (u: { cls: string; record: Record<string, unknown> }): boolean => u.cls !== 'message' && (u.cls !== 'task' || u.record.status === 'pending')
    const firstRun = upsertsOf(h1.manager.graph(id)).filter(cacheable)
    const objects = firstRun.length
    expect(objects).toBeGreaterThan(100)
    await h1.close()
    await new Promise((r) => setTimeout(r, 50))
    await cache1.flush()
    await cache1.close()

    // while the app is closed the pool changes
    await p.call('VM.set_name_label', [vm, 'renamed-while-offline'])

    // second run: the pool is there, offline, with its cached inventory
    const cache2 = openInventoryCache({ dataDir, mode: 'inline' })
    const h2 = makeManager({ cache: cache2, keychain }, dataDir)
    try {
      const offline = h2.manager.get(id)
      expect(offline?.status).toBe('disconnected')
      expect(offline?.cachedAt).toBeTruthy()
      expect(offline?.label).toBe('tiny-current')
      const cached = upsertsOf(h2.manager.graph(id))
      const cachedSeq = cache2.load(id)?.diff.seq ?? 0
      const byClass = (us: { cls: string }[]) => us.reduce<Record<string, number>>((a, u) => ((a[u.cls] = (a[u.cls] ?? 0) + 1), a), {})
      expect(byClass(cached)).toEqual(byClass(firstRun))
      expect(cached.length).toBe(objects)
      expect(h2.manager.graph(id)?.get('VM', vm)?.name_label).not.toBe('renamed-while-offline')

      await h2.manager.connect(id) // password from the keychain
      await waitFor('connected', () => h2.manager.get(id)?.status === 'connected')
      await waitFor('rename arrives', () => h2.manager.graph(id)?.get('VM', vm)?.name_label === 'renamed-while-offline')
      // resumed: the change came as an incremental diff, no full reset
      expect(h2.diffs.filter((d) => d.connectionId === id && d.reset)).toEqual([])
      expect(h2.diffs.some((d) => d.upserts.some((u) => u.ref === vm && u.record.name_label === 'renamed-while-offline'))).toBe(true)
      expect(h2.diffs[0]?.seq ?? 0).toBeGreaterThan(cachedSeq)
      expectGraphMatchesSim(h2, id, p)

      // the cache follows the live graph
      await new Promise((r) => setTimeout(r, 50))
      await cache2.flush()
      expect(cache2.load(id)?.diff.upserts.find((u) => u.ref === vm)?.record.name_label).toBe('renamed-while-offline')
    } finally {
      await h2.close()
      await cache2.close()
    }
  })

  it('resyncs fully (one reset diff, no ghost) when the cached token is no longer accepted', async () => {
    const p = sim.pool('tiny-legacy')
    const keychain = new MemoryKeychain()
    const dir = mkdtempSync(join(tmpdir(), 'xp-pools-cache2-'))
    try {
      const cache1 = openInventoryCache({ dataDir: dir, mode: 'inline' })
      const h1 = makeManager({ cache: cache1, keychain }, dir)
      const id = await connectTrusted(h1, p, { rememberPassword: true })
      await h1.close()
      await new Promise((r) => setTimeout(r, 50))
      await cache1.flush()
      await cache1.close()

      await p.restartToolstack()
      const cache2 = openInventoryCache({ dataDir: dir, mode: 'inline' })
      const h2 = makeManager({ cache: cache2, keychain }, dir)
      try {
        await h2.manager.connect(id)
        await waitFor('connected', () => h2.manager.get(id)?.status === 'connected')
        expect(h2.diffs.filter((d) => d.reset).length).toBe(1)
        expectGraphMatchesSim(h2, id, p)
      } finally {
        await h2.close()
        await cache2.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('"do not cache"', () => {
  it('drops the cached inventory of that server but keeps the record of what XenPilot did there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xp-pools-nocache-'))
    const cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
    const h = makeManager({ cache, keychain: new MemoryKeychain() }, dir)
    try {
      const id = await connectTrusted(h, sim.pool('tiny-legacy'))
      await cache.flush()
      await waitFor('graph cached', () => (cache.load(id)?.diff.upserts.length ?? 0) > 10)
      cache.history.append({ at: new Date().toISOString(), connectionId: id, cls: 'VM', ref: 'OpaqueRef:1', objectName: 'old-web', action: 'Start', params: {}, ok: true, durationMs: 5, user: 'root' })
      await h.manager.edit({ id, doNotCache: true })
      await cache.flush()
      expect(cache.load(id)).toBeUndefined()
      expect(cache.history.list({ connectionId: id }).map((e) => e.action)).toEqual(['Start'])
    } finally {
      await h.close()
      await cache.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
