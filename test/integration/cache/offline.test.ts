/**
 * The offline cache with the real PoolManager and the real HTTPS simulator: a cold start with the
 * simulator stopped shows the last-known graph, and after changes made while the app was away
 * (a VM added, one deleted, one moved to another host) the cache ends equal to the live pool —
 * through token resume (pool kept running, and pool restarted) and through a full resync (a
 * toolstack restart voids the cached token).
 * The PoolManager does resume/resync; this test checks what the cache holds on disk afterwards.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openInventoryCache, type SqliteInventoryCache } from '../../../main/cache'
import type { ObjectUpsert } from '../../../shared/model/diff'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimFleet, SimPoolHandle } from '../../sim/model'
import { comparableClasses, connectTrusted, makeManager, waitFor, type Harness } from '../pools/helpers'
import { fileBytes, tempDir } from './helpers'
import { upsertsOf } from '../../helpers/graph'

let fleet: SimFleet
let sim: SimControl | undefined
let stateDir: { dir: string; remove: () => void }
const cleanups: (() => Promise<void> | void)[] = []

beforeAll(async () => {
  stateDir = tempDir('xp-cache-sim-')
  fleet = buildFleet('tiny', { opDurationMs: 0 })
  sim = await startSimulator({ fleet, stateDir: stateDir.dir })
})
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
afterAll(async () => {
  await sim?.stop()
  stateDir.remove()
})

/** prune limits that keep every message, so the cache can be compared to the pool table by table */
const KEEP_ALL = { messageMaxAgeDays: 36_500, messageMaxPerPool: 100_000 }

function open(dataDir: string): SqliteInventoryCache {
  const c = openInventoryCache({ dataDir, prune: KEEP_ALL })
  cleanups.push(() => c.close())
  return c
}

function managerWith(cache: SqliteInventoryCache, dataDir: string): Harness {
  const h = makeManager({ cache }, dataDir)
  cleanups.push(() => h.close())
  return h
}

/** refs per class of a graph given as upserts */
function tables(upserts: readonly ObjectUpsert[]): Map<string, Map<string, Record<string, unknown>>> {
  const t = new Map<string, Map<string, Record<string, unknown>>>()
  for (const u of upserts) {
    let m = t.get(u.cls)
    if (!m) t.set(u.cls, (m = new Map()))
    m.set(u.ref, u.record)
  }
  return t
}

/** what is in the cache file (read by a fresh instance) equals the simulator's live tables */
async function expectFileEqualsPool(dataDir: string, id: string, pool: SimPoolHandle): Promise<void> {
  const reader = openInventoryCache({ dataDir, prune: KEEP_ALL })
  try {
    const loaded = reader.load(id)
    expect(loaded).toBeDefined()
    const t = tables(loaded?.diff.upserts ?? [])
    for (const cls of comparableClasses(pool)) {
      const live = [...(pool.objects.get(cls) ?? [])].filter(([, r]) => cls !== 'task' || r.status === 'pending')
      expect([...(t.get(cls)?.keys() ?? [])].sort(), `refs of ${cls}`).toEqual(live.map(([ref]) => ref).sort())
      for (const [ref, r] of live) {
        const ours = t.get(cls)?.get(ref)
        if ('name_label' in r) expect(ours?.name_label, `${cls} ${ref} name_label`).toBe(r.name_label)
        if (cls === 'VM') expect(ours?.resident_on ?? 'OpaqueRef:NULL', `VM ${String(r.name_label)} resident_on`).toBe(r.resident_on)
      }
    }
    expect(loaded?.meta).toMatchObject({ poolUuid: pool.uuid, poolName: pool.name, masterAddress: expect.any(String) })
    expect(loaded?.meta.memberAddresses.length).toBeGreaterThan(0)
    expect(loaded?.meta.token).toBeTruthy()
  } finally {
    await reader.close()
  }
}

/** neither the pool password nor any session id the pool handed out is anywhere in the file */
function expectNoSecrets(dataDir: string, pool: SimPoolHandle): void {
  const bytes = fileBytes(dataDir)
  expect(bytes.length).toBeGreaterThan(10_000)
  expect(bytes.includes(pool.password), 'pool password in the cache file').toBe(false)
  const sessions = [...(pool.objects.get('session')?.keys() ?? [])]
  expect(sessions.length).toBeGreaterThan(0)
  for (const s of sessions) expect(bytes.includes(s.replace('OpaqueRef:', '')), `session ${s} in the cache file`).toBe(false)
}

/** makes harmless changes until the pool's event generation is beyond `token`'s */
async function advancePast(pool: SimPoolHandle, token: string): Promise<void> {
  const target = Number(token.split(',')[0] ?? 0)
  const vm = vmByName(pool, 'web-02')
  for (let i = 0; i < 100_000; i++) {
    const now = await pool.call('event.from', [[], '', 0])
    const current = typeof now === 'object' && now !== null && !Array.isArray(now) ? Number(String(now.token).split(',')[0]) : Infinity
    if (current > target) return
    await pool.call('VM.set_name_description', [vm, `generation ${i}`])
  }
  throw new Error(`could not advance the simulator past ${token}`)
}

function vmByName(pool: SimPoolHandle, name: string): string {
  for (const [ref, r] of pool.objects.get('VM') ?? []) if (r.name_label === name && !r.is_a_snapshot) return ref
  throw new Error(`no VM ${name}`)
}

/** changes an admin makes with another tool while XenPilot is closed */
async function changeWhileAway(pool: SimPoolHandle, tag: string): Promise<{ added: string; deleted: string; moved: string; to: string }> {
  const source = vmByName(pool, `build-01${tag === 'a' ? '' : '-a'}`)
  const added = String(await pool.call('VM.clone', [source, `build-01-${tag}`]))
  const deleted = vmByName(pool, { a: 'suspended-01', b: 'legacy-app' }[tag] ?? 'build-01-b')
  if (tag === 'a') await pool.call('VM.hard_shutdown', [deleted])
  if (tag === 'b') await pool.call('VM.set_blocked_operations', [deleted, {}])
  await pool.call('VM.destroy', [deleted])
  const moved = vmByName(pool, 'web-01')
  const from = String(pool.objects.get('VM')?.get(moved)?.resident_on)
  const to = [...(pool.objects.get('host')?.keys() ?? [])].find((h) => h !== from) ?? ''
  await pool.call('VM.pool_migrate', [moved, to, {}])
  return { added, deleted, moved, to }
}

describe('offline cache with the pool manager and the simulator', () => {
  it('cold start with the simulator stopped shows the cached graph; reconnecting reconciles adds, deletes and moves', async () => {
    if (!sim) throw new Error('no simulator')
    const data = tempDir('xp-cache-offline-')
    cleanups.push(data.remove)
    let pool = sim.pool('tiny-current')
    const port = pool.port

    // 1. a first session fills the cache
    let id = ''
    {
      const cache = open(data.dir)
      const h = managerWith(cache, data.dir)
      id = await connectTrusted(h, pool)
      await waitFor('graph in the cache', () => (cache.load(id)?.diff.upserts.length ?? 0) > 50)
      await h.close()
      await cache.close()
      await expectFileEqualsPool(data.dir, id, pool)
    }
    expectNoSecrets(data.dir, pool)

    // 2. token resume: changes while XenPilot was closed, pool kept running
    const first = await changeWhileAway(pool, 'a')
    {
      const cache = open(data.dir)
      const h = managerWith(cache, data.dir)
      const before = upsertsOf(h.manager.graph(id))
      expect(before.some((u) => u.ref === first.deleted)).toBe(true) // still the old graph
      await h.manager.connect(id, pool.password)
      await waitFor('connected', () => h.manager.get(id)?.status === 'connected')
      await waitFor('the cache holds the added VM', () => cache.load(id)?.diff.upserts.some((u) => u.ref === first.added))
      await waitFor('the cache dropped the deleted VM', () => !cache.load(id)?.diff.upserts.some((u) => u.ref === first.deleted))
      await waitFor('the cache saw the move', () => cache.load(id)?.diff.upserts.find((u) => u.ref === first.moved)?.record.resident_on === first.to)
      await h.close()
      await cache.close()
      await expectFileEqualsPool(data.dir, id, pool)
    }

    // 3. cold start with the simulator stopped: the graph is there, marked offline as of the last sync
    await sim.stop()
    sim = undefined
    {
      const cache = open(data.dir)
      const h = managerWith(cache, data.dir)
      const state = h.manager.get(id)
      expect(state?.status).not.toBe('connected')
      expect(Date.parse(state?.cachedAt ?? '')).toBeGreaterThan(Date.now() - 10 * 60_000)
      const names = new Set(upsertsOf(h.manager.graph(id)).filter((u) => u.cls === 'VM').map((u) => u.record.name_label))
      expect(names.has('build-01-a')).toBe(true)
      expect(names.has('suspended-01')).toBe(false)
      expect(cache.searchByName('build-01-a').map((r) => r.ref)).toEqual([first.added])

      // 4. the pool comes back (restarted) and is changed again before XenPilot reconnects.
      // Real XAPI keeps its event generation across restarts (it is in the pool database); the
      // simulator starts a new process at generation 1, so advance it past the cached token first.
      sim = await startSimulator({ fleet, stateDir: stateDir.dir, port })
      pool = sim.pool('tiny-current')
      await advancePast(pool, cache.load(id)?.meta.token ?? '')
      const second = await changeWhileAway(pool, 'b')
      await h.manager.connect(id, pool.password)
      await waitFor('connected again', () => h.manager.get(id)?.status === 'connected', 60_000)
      // the pool manager reconciles its graph (resume or resync: its business) …
      await waitFor('the manager graph has the VM added while away', () => h.manager.graph(id)?.get('VM', second.added) !== undefined, 60_000)
      // … and the cache follows it
      await waitFor('the cache holds the VM added while away', () => cache.load(id)?.diff.upserts.some((u) => u.ref === second.added), 60_000)
      await waitFor('the cache dropped the VM deleted while away', () => !cache.load(id)?.diff.upserts.some((u) => u.ref === second.deleted))
      await waitFor('the cache saw the move', () => cache.load(id)?.diff.upserts.find((u) => u.ref === second.moved)?.record.resident_on === second.to)
      await h.close()
      await cache.close()
      await expectFileEqualsPool(data.dir, id, pool)
    }

    // 5. changes while away, then a toolstack restart voids the cached token: a full resync
    const third = await changeWhileAway(pool, 'c')
    await pool.restartToolstack()
    {
      const cache = open(data.dir)
      const h = managerWith(cache, data.dir)
      await h.manager.connect(id, pool.password)
      await waitFor('connected after the toolstack restart', () => h.manager.get(id)?.status === 'connected', 60_000)
      await waitFor('the cache holds the VM added while away', () => cache.load(id)?.diff.upserts.some((u) => u.ref === third.added), 60_000)
      await waitFor('the cache dropped the VM deleted while away', () => !cache.load(id)?.diff.upserts.some((u) => u.ref === third.deleted))
      await waitFor('the cache saw the move', () => cache.load(id)?.diff.upserts.find((u) => u.ref === third.moved)?.record.resident_on === third.to)
      await h.close()
      await cache.close()
      await expectFileEqualsPool(data.dir, id, pool)
      expectNoSecrets(data.dir, pool)
    }
  }, 240_000)
})
