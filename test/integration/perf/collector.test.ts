/**
 * The RRD collector against the real HTTPS simulator through a real PoolManager and the real
 * cache database: first sight fills the history (host dump, hourly/daily rows of its VMs), the
 * 60 s feed keeps it, a restart resumes from the stored cursor without gap or duplicate, old rows
 * are consolidated and pruned, and a watched VM is polled at 5 s.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openInventoryCache, type SqliteInventoryCache } from '../../../main/cache'
import { BLOCK_SLOTS, decodeBlock } from '../../../main/cache/perf'
import { RrdCollector, type LiveUpdate } from '../../../main/perf/collector'
import type { SimControl } from '../../sim/model'
import type { TinyPool } from '../../unit/sim/tiny-pool'
import { waitFor, type Harness } from '../pools/helpers'
import { fed } from './fed'
import { perfPool, type PerfPool } from './pool'

let pool: PerfPool
let sim: SimControl, tp: TinyPool, h: Harness, connId: string, dir: string

beforeAll(async () => {
  pool = await perfPool('perf-collector', '127.86.16')
  ;({ sim, tp, h, connId, dir } = pool)
}, 120_000)
afterAll(async () => {
  await pool?.close()
})

const uuidOf = (cls: string, ref: string): string => pool.uuidOf(cls, ref)

function collector(cache: SqliteInventoryCache, extra: Partial<ConstructorParameters<typeof RrdCollector>[0]> = {}): RrdCollector {
  return new RrdCollector({ pools: h.manager, history: () => cache.perf, tickMs: 3_600_000, feedMs: 60_000, unwatchedFeedMs: 60_000, log: () => {}, ...extra })
}

/** every stored 60 s time of a series, straight from the file */
function stored60(uuid: string, ds: string): number[] {
  const db = new Database(join(dir, 'cache.sqlite'), { readonly: true })
  try {
    const rows = db.prepare('SELECT b.t0, b.data FROM perf_block b JOIN perf_series s ON s.id = b.series WHERE s.uuid = ? AND s.ds = ? AND b.res = 60 ORDER BY b.t0').all(uuid, ds) as { t0: number; data: Buffer }[]
    const out: number[] = []
    for (const r of rows) {
      const v = decodeBlock(r.data)
      for (let i = 0; i < BLOCK_SLOTS; i++) if (!Number.isNaN(v[i] as number)) out.push(r.t0 + i * 60)
    }
    return out
  } finally {
    db.close()
  }
}

describe('RRD collector → performance history', () => {
  let firstEnd = 0
  it('fills the history on first sight: 60 s, hourly and daily rows for the host and its VMs', async () => {
    const cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
    const c = collector(cache)
    await fed(c)
    expect(c.status().every((s) => s.error === undefined)).toBe(true)
    const perf = cache.perf
    if (!perf) throw new Error('no perf history')
    const hostUuid = uuidOf('host', tp.refs.hosts[0] ?? '')
    const vmUuid = uuidOf('VM', tp.refs.running)
    expect(perf.knows(hostUuid)).toBe(true)
    expect(perf.knows(vmUuid)).toBe(true)
    const now = Math.floor(Date.now() / 1000)
    // the last 2 hours at 60 s (the host's 60 s archive), a week hourly, a year daily
    const day = perf.read(vmUuid, ['cpu0', 'memory'], now - 7200, now, 60)
    expect(day.resolution).toBe(60)
    expect(day.times.length).toBeGreaterThanOrEqual(100)
    expect(day.values[0]?.filter((v) => v !== null).length).toBeGreaterThanOrEqual(100)
    const week = perf.read(hostUuid, ['cpu_avg'], now - 7 * 86400, now, 3600)
    expect(week.times.length).toBeGreaterThanOrEqual(160)
    const year = perf.read(vmUuid, ['cpu0'], now - 365 * 86400, now, 86400)
    expect(year.times.length).toBeGreaterThan(300)
    // kept: what a graph or the overview draws; a VM's memory_target is drawn by none, a host keeps every source
    const kept = perf.sourcesOf(vmUuid).map((s) => s.ds)
    expect(kept).toEqual(expect.arrayContaining(['cpu0', 'cpu_usage', 'memory']))
    expect(kept).not.toContain('memory_target')
    expect(perf.sourcesOf(hostUuid).map((s) => s.ds)).toEqual(expect.arrayContaining(['cpu_avg', 'memory_total_kib', 'running_vcpus']))
    firstEnd = c.status().find((s) => s.hostUuid === hostUuid)?.lastEnd ?? 0
    expect(firstEnd).toBeGreaterThan(now - 120)
    // the overview's figures come with the feed
    const vmSummary = c.summaries().find((s) => s.uuid === vmUuid)
    expect(vmSummary?.cpu).toBeGreaterThan(0)
    expect(vmSummary?.memTotal).toBeGreaterThan(0)
    await c.close()
    await cache.close()
  }, 120_000)

  it('resumes after a restart from the stored cursor: no gap, no duplicate', async () => {
    const hostUuid = uuidOf('host', tp.refs.hosts[0] ?? '')
    const before = stored60(hostUuid, 'cpu_avg')
    expect(before.length).toBeGreaterThan(100)
    const cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
    const perf = cache.perf
    if (!perf) throw new Error('no perf history')
    expect(perf.cursor(hostUuid)).toBe(firstEnd)
    const asked: number[] = []
    const c = collector(cache)
    // what the restarted collector asks the host (the request goes through the one HTTP helper)
    type Get = (connectionId: string, address: string, path: string, query: Record<string, unknown>) => Promise<string>
    const spy = c as unknown as { get: Get }
    const origGet = spy.get.bind(c)
    spy.get = (connectionId, address, path, query) => {
      if (path === '/rrd_updates' && query['interval'] === 60) asked.push(Number(query['start']))
      return origGet(connectionId, address, path, query)
    }
    await fed(c)
    expect(asked).toContain(firstEnd)
    // no first-sight dump again: the history knew the host
    expect(c.counters.dumps).toBe(0)
    await c.close()
    await cache.close()
    const after = stored60(hostUuid, 'cpu_avg')
    // nothing lost, nothing twice, and every minute from the first row to the last is there
    expect(new Set(after).size).toBe(after.length)
    for (const t of before) expect(after).toContain(t)
    const first = after[0] ?? 0
    const last = after.at(-1) ?? 0
    expect(after.length).toBe((last - first) / 60 + 1)
  }, 120_000)

  it('consolidates 60 s rows older than the limit into hourly ones and prunes by age and size', async () => {
    const hostUuid = uuidOf('host', tp.refs.hosts[0] ?? '')
    const now = Math.floor(Date.now() / 1000)
    // as if 40 days had passed: keep 60 s rows for 30 days
    const cache = openInventoryCache({ dataDir: dir, mode: 'inline', now: () => new Date((now + 40 * 86400) * 1000) })
    const perf = cache.perf
    if (!perf) throw new Error('no perf history')
    const before60 = stored60(hostUuid, 'cpu_avg').length
    expect(before60).toBeGreaterThan(100)
    const hourlyBefore = perf.read(hostUuid, ['cpu_avg'], now - 3 * 3600, now, 3600)
    const r = perf.prune()
    expect(r.consolidated).toBeGreaterThan(0)
    expect(stored60(hostUuid, 'cpu_avg')).toEqual([])
    // the hours of the last 2 hours are still drawn (from the consolidated rows)
    const hourlyAfter = perf.read(hostUuid, ['cpu_avg'], now - 3 * 3600, now, 3600)
    expect(hourlyAfter.times.length).toBeGreaterThanOrEqual(hourlyBefore.times.length - 1)
    expect(hourlyAfter.resolution).toBe(3600)
    // size bound: a tiny maximum leaves the history under it
    const bytes = perf.sizeBytes()
    await cache.close()
    const small = openInventoryCache({ dataDir: dir, mode: 'inline', perf: { maxBytes: Math.floor(bytes / 4) } })
    const r2 = small.perf?.prune()
    expect(r2?.bytes).toBeLessThanOrEqual(Math.floor(bytes / 4))
    await small.close()
  }, 60_000)

  it('polls a watched VM every 5 s and hands the new rows to the open graph', async () => {
    const cache = openInventoryCache({ dataDir: mkdtempSync(join(tmpdir(), 'xp-perf-live-')), mode: 'inline' })
    const c = collector(cache, { liveMs: 5000 })
    const vmUuid = uuidOf('VM', tp.refs.running)
    const updates: LiveUpdate[] = []
    c.onLive((u) => updates.push(u))
    c.watch('w1', connId, [vmUuid])
    c.tick()
    await waitFor('a live update', () => updates.length > 0, 30_000).catch(async () => {
      await c.idle()
    })
    await c.idle()
    expect(updates.length).toBeGreaterThan(0)
    const u = updates[0]
    expect(u?.uuid).toBe(vmUuid)
    // the last 10 minutes at 5 s
    expect(u?.times.length).toBeGreaterThanOrEqual(90)
    expect((u?.times[1] ?? 0) - (u?.times[0] ?? 0)).toBe(5)
    expect(Object.keys(u?.series ?? {})).toEqual(expect.arrayContaining(['cpu0', 'memory']))
    // only the watched VM, not its host or other VMs
    expect(updates.every((x) => x.uuid === vmUuid)).toBe(true)
    c.unwatch('w1')
    await c.close()
    await cache.close()
  }, 60_000)
  it('gives an object watched after another on the same host its whole last 10 minutes, not only the rows since the last answer', async () => {
    const cache = openInventoryCache({ dataDir: mkdtempSync(join(tmpdir(), 'xp-perf-live2-')), mode: 'inline' })
    let clock = Date.now()
    const c = collector(cache, { liveMs: 5000, now: () => clock })
    const vmUuid = uuidOf('VM', tp.refs.running)
    const vmRec = sim.pool('perf-collector').objects.get('VM')?.get(tp.refs.running)
    const hostUuid = uuidOf('host', String(vmRec?.['resident_on']))
    const updates: LiveUpdate[] = []
    c.onLive((u) => updates.push(u))
    // the VM's graph is open: its host answers the VM's last 10 minutes
    c.watch('vm-graph', connId, [vmUuid])
    for (let i = 0; i < 100 && !updates.some((u) => u.uuid === vmUuid); i++) {
      c.tick()
      await c.idle()
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(updates.some((u) => u.uuid === vmUuid)).toBe(true)
    // a few seconds later the host's graph opens too (the pool's Performance tab)
    clock += 6000
    c.watch('host-graph', connId, [hostUuid])
    c.tick()
    await c.idle()
    const hostUpdate = updates.find((u) => u.uuid === hostUuid)
    expect(hostUpdate?.times.length ?? 0).toBeGreaterThanOrEqual(90)
    const series = [...(c.liveOf(hostUuid)?.values() ?? [])]
    expect(series.length).toBeGreaterThan(0)
    for (const s of series) expect(s.t.length).toBeGreaterThanOrEqual(90)
    await c.close()
    await cache.close()
  }, 60_000)
  it('pauses: nothing is asked while paused, even when every feed and the watched VM are due; resume asks again', async () => {
    const cache = openInventoryCache({ dataDir: mkdtempSync(join(tmpdir(), 'xp-perf-pause-')), mode: 'inline' })
    let clock = Date.now()
    const c = collector(cache, { now: () => clock })
    for (let i = 0; i < 100 && !(c.status().length === 2 && c.status().every((s) => s.lastEnd !== undefined)); i++) {
      clock += 1000
      c.tick()
      await c.idle()
    }
    c.watch('w-pause', connId, [uuidOf('VM', tp.refs.running)])
    c.pause(true)
    const before = { ...c.counters }
    // ten minutes later: every host's feed and the watched VM's 5 s poll are long due
    for (let i = 0; i < 10; i++) {
      clock += 60_000
      c.watch('w-pause', connId, [uuidOf('VM', tp.refs.running)])
      c.tick()
      await c.idle()
    }
    expect(c.counters).toEqual(before)
    c.pause(false)
    c.tick()
    await c.idle()
    expect(c.counters.feeds).toBe(before.feeds + 2)
    expect(c.counters.lives).toBeGreaterThan(before.lives)
    await c.close()
    await cache.close()
  }, 120_000)

  it('reads the whole RRD (/vm_rrd) of a VM first seen after its host (started later), once', async () => {
    const cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
    const halted = tp.refs.halted
    const vmUuid = uuidOf('VM', halted)
    expect(cache.perf?.knows(vmUuid)).toBe(false)
    const clock = { t: Date.now() }
    const c = collector(cache, { now: () => clock.t })
    // the hosts' own state first: fed and their first sight (or catch-up) done while the VM is still halted —
    // otherwise a host's first-sight job brings the new VM's past with its own and no /vm_rrd is asked
    await fed(c, { clock })
    expect(cache.perf?.knows(vmUuid)).toBe(false)
    await h.manager.callAsync(connId, 'VM.start', [halted, false, false])
    const dumps: string[] = []
    type Get = (connectionId: string, address: string, path: string, query: Record<string, unknown>) => Promise<string>
    const spy = c as unknown as { get: Get }
    const origGet = spy.get.bind(c)
    spy.get = (connectionId, address, path, query) => {
      if (path === '/vm_rrd') dumps.push(String(query['uuid']))
      return origGet(connectionId, address, path, query)
    }
    // feeds a minute apart until the new VM's dump was read (the hosts known: no first-sight dump);
    // real time passes between feeds too (a feed that failed waits its back-off, and a loaded machine is slow)
    const until = Date.now() + 60_000
    while (dumps.length === 0 && Date.now() < until) {
      clock.t += 61_000
      c.tick()
      await c.idle()
      c.tick()
      await c.idle()
      if (dumps.length === 0) await new Promise((r) => setTimeout(r, 100))
    }
    expect(dumps, `collector: ${JSON.stringify(c.status())}; first sight ${JSON.stringify(c.firstSightStatus())}`).toEqual([vmUuid])
    // more feeds (its rows are still empty: it has just started): it is not read again
    for (let i = 0; i < 3; i++) {
      clock.t += 61_000
      c.tick()
      await c.idle()
    }
    expect(dumps).toEqual([vmUuid])
    await c.close()
    await cache.close()
    await h.manager.callAsync(connId, 'VM.hard_shutdown', [halted])
  }, 120_000)

  it('keeps a VM source that only a custom graph (pool.gui_config, XenCenter keys) draws', async () => {
    const poolRef = [...(h.manager.graph(connId)?.all('pool').keys() ?? [])][0] ?? ''
    const vmUuid = uuidOf('VM', tp.refs.running)
    await h.manager.call(connId, 'pool.add_to_gui_config', [poolRef, `XenCenter.GraphLayout.0.vm.${vmUuid}`, 'memory_target'])
    await waitFor('gui_config seen', () => (h.manager.graph(connId)?.get('pool', poolRef)?.['gui_config'] as Record<string, string> | undefined)?.[`XenCenter.GraphLayout.0.vm.${vmUuid}`] === 'memory_target', 10_000)
    const cache = openInventoryCache({ dataDir: mkdtempSync(join(tmpdir(), 'xp-perf-custom-')), mode: 'inline' })
    const c = collector(cache)
    await fed(c)
    expect(cache.perf?.sourcesOf(vmUuid).map((s) => s.ds)).toContain('memory_target')
    await c.close()
    await cache.close()
    await h.manager.call(connId, 'pool.remove_from_gui_config', [poolRef, `XenCenter.GraphLayout.0.vm.${vmUuid}`])
  }, 120_000)
})
