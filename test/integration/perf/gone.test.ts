/**
 * Objects that are gone (issue 16), against the real HTTPS simulator, a real PoolManager and the real
 * cache database:
 *   - the fleet overview's "now" rows: a VM destroyed leaves them at once; a pool offline keeps its
 *     rows marked stale ("as of"), and so does a VM the feed no longer brings; a connection removed
 *     leaves them too; a period's rows (yesterday) keep the deleted VM, marked gone;
 *   - the history: a VM destroyed in a connected pool keeps its history for keepGoneDays (30) after its
 *     newest value — still drawn — then the prune deletes all of it (series rows and blocks); while
 *     its pool is offline nothing says it is gone, so nothing goes.
 * The tests run in order: the first fills the history the second prunes.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openInventoryCache } from '../../../main/cache'
import { RrdCollector } from '../../../main/perf/collector'
import { perfModule } from '../../../main/services/perf'
import { methods } from '../../../shared/contract'
import type { SimControl } from '../../sim/model'
import type { TinyPool } from '../../unit/sim/tiny-pool'
import { waitFor, type Harness } from '../pools/helpers'
import { fed } from './fed'
import { perfPool, type PerfPool } from './pool'

let pool: PerfPool
let sim: SimControl, tp: TinyPool, h: Harness, connId: string, dir: string
/** the running VM the tests destroy, and the first host */
let vmUuid: string
let hostUuid: string

beforeAll(async () => {
  pool = await perfPool('perf-gone', '127.86.18')
  ;({ sim, tp, h, connId, dir } = pool)
  vmUuid = uuidOf('VM', tp.refs.running)
  hostUuid = uuidOf('host', tp.refs.hosts[0] ?? '')
}, 120_000)
afterAll(async () => {
  await pool?.close()
})

const uuidOf = (cls: string, ref: string): string => pool.uuidOf(cls, ref)

/** series rows and blocks stored for an object, straight from the file */
function stored(uuid: string): { series: number; blocks: number } {
  const db = new Database(join(dir, 'cache.sqlite'), { readonly: true })
  try {
    const series = (db.prepare('SELECT count(*) AS n FROM perf_series WHERE uuid = ?').get(uuid) as { n: number }).n
    const blocks = (db.prepare('SELECT count(*) AS n FROM perf_block WHERE series IN (SELECT id FROM perf_series WHERE uuid = ?)').get(uuid) as { n: number }).n
    return { series, blocks }
  } finally {
    db.close()
  }
}

/** the cache as it is `days` from now (the prune's clock), with a collector on the pool */
function later(days: number): { cache: ReturnType<typeof openInventoryCache>; c: RrdCollector } {
  const at = Date.now() + days * 86_400_000
  const cache = openInventoryCache({ dataDir: dir, mode: 'inline', now: () => new Date(at) })
  const c = new RrdCollector({ pools: h.manager, history: () => cache.perf, tickMs: 3_600_000, log: () => {} })
  return { cache, c }
}

describe('objects that are gone', () => {
  it('the overview’s now rows: a VM destroyed leaves them; a pool offline, or a VM the feed no longer brings, stays marked stale', async () => {
    const cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
    const clock = { t: Date.now() }
    const c = new RrdCollector({ pools: h.manager, history: () => cache.perf, tickMs: 3_600_000, feedMs: 60_000, unwatchedFeedMs: 60_000, now: () => clock.t, log: () => {} })
    await fed(c, { clock })
    expect(cache.perf?.knows(vmUuid)).toBe(true)
    const row = (uuid: string) => c.summaries().find((r) => r.uuid === uuid)
    expect(row(vmUuid)?.stale).toBe(false)
    expect(row(hostUuid)?.stale).toBe(false)

    // the pool goes offline: its rows stay, as of their time
    await h.manager.disconnect(connId)
    expect(row(vmUuid)?.stale).toBe(true)
    expect(row(hostUuid)?.stale).toBe(true)
    await h.manager.connect(connId)
    await waitFor('connected again', () => h.manager.get(connId)?.status === 'connected', 30_000)
    clock.t += 61_000
    await fed(c, { clock })
    expect(row(vmUuid)?.stale).toBe(false)

    // three feeds pass without the VM in them (as when it is shut down): stale
    clock.t += 3 * 60_000 + 1000
    expect(row(vmUuid)?.stale).toBe(true)
    clock.t += 1000
    c.tick()
    await c.idle()
    expect(row(vmUuid)?.stale).toBe(false)

    // destroyed: gone from the rows at once (not after a prune), and from memory
    await h.manager.callAsync(connId, 'VM.hard_shutdown', [tp.refs.running])
    await h.manager.callAsync(connId, 'VM.destroy', [tp.refs.running])
    await waitFor('the VM gone from the graph', () => h.manager.graph(connId)?.byUuid(vmUuid) === undefined, 10_000)
    expect(row(vmUuid)).toBeUndefined()
    expect(row(hostUuid)?.stale).toBe(false)
    // its history can still be looked at: the last day's averages have a row for it, saying it was deleted
    const mod = perfModule({ collector: c, history: () => cache.perf })({ pools: h.manager, broadcast: () => {}, log: () => {} })
    const to = Math.floor(Date.now() / 1000)
    const overview = mod.handlers['perf.overview'] as (a: unknown, c: unknown) => Promise<unknown>
    const period = methods['perf.overview'].result.parse(await overview(methods['perf.overview'].args.parse({ period: { from: to - 86400, to } }), { emit: () => {}, subscribeObjects: () => {} }))
    expect(period.rows.find((r) => r.uuid === vmUuid)).toMatchObject({ gone: true, stale: false })
    expect(period.rows.find((r) => r.uuid === hostUuid)).toMatchObject({ gone: false })
    expect(period.rows.find((r) => r.uuid === vmUuid)?.cpu).toBeGreaterThan(0)
    await mod.close?.()
    await c.close()
    await cache.close()
  }, 180_000)

  it('keeps a destroyed VM’s history for 30 days after its last value (not while its pool is offline), then deletes all of it', async () => {
    // the first test filled the history, then destroyed the VM
    expect(h.manager.graph(connId)?.byUuid(vmUuid)).toBeUndefined()
    const before = stored(vmUuid)
    expect(before.series).toBeGreaterThan(0)
    expect(before.blocks).toBeGreaterThan(0)

    // 10 days on: still kept, still drawn
    {
      const { cache, c } = later(10)
      const r = c.prune(Number.POSITIVE_INFINITY)
      expect(r?.forgotten).toBe(0)
      const now = Math.floor(Date.now() / 1000)
      const drawn = cache.perf?.read(vmUuid, ['cpu0'], now - 7 * 86400, now, 3600)
      expect(drawn?.values[0]?.some((v) => v !== null)).toBe(true)
      await c.close()
      await cache.close()
    }
    expect(stored(vmUuid).series).toBe(before.series)

    // 32 days on, the pool offline: nothing says the VM is gone, nothing goes
    await h.manager.disconnect(connId)
    {
      const { cache, c } = later(32)
      expect(c.prune(Number.POSITIVE_INFINITY)?.forgotten).toBe(0)
      await c.close()
      await cache.close()
    }
    expect(stored(vmUuid).series).toBe(before.series)

    // connected again, 32 days on: the destroyed VM's whole history goes; its host's stays
    await h.manager.connect(connId)
    await waitFor('connected again', () => h.manager.get(connId)?.status === 'connected', 30_000)
    {
      const { cache, c } = later(32)
      const r = c.prune(Number.POSITIVE_INFINITY)
      expect(r?.forgotten).toBe(1)
      expect(cache.perf?.knows(vmUuid)).toBe(false)
      expect(cache.perf?.objects().some((o) => o.uuid === vmUuid)).toBe(false)
      await c.close()
      await cache.close()
    }
    expect(stored(vmUuid)).toEqual({ series: 0, blocks: 0 })
    expect(stored(hostUuid).blocks).toBeGreaterThan(0)
  }, 180_000)

  it('the overview’s now rows of a connection removed go with it', async () => {
    const cache = openInventoryCache({ dataDir: mkdtempSync(join(tmpdir(), 'xp-perf-gone-conn-')), mode: 'inline' })
    const c = new RrdCollector({ pools: h.manager, history: () => cache.perf, tickMs: 3_600_000, log: () => {} })
    await fed(c)
    expect(c.summaries().some((r) => r.uuid === hostUuid)).toBe(true)
    await h.manager.forget(connId)
    expect(c.summaries().filter((r) => r.connectionId === connId)).toEqual([])
    await c.close()
    await cache.close()
  }, 120_000)
})
