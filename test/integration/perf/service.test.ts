/**
 * The performance contract (shared/contract/perf.ts) against the simulator through a real
 * PoolManager, collector and cache: ranges from the history, the last 10 minutes live at 5 s for a
 * watched VM, the overview, data sources and record_data_source, and an offline pool's graph from
 * history marked "as of".
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methods } from '../../../shared/contract'
import { openInventoryCache, type SqliteInventoryCache } from '../../../main/cache'
import { RrdCollector } from '../../../main/perf/collector'
import { perfModule } from '../../../main/services/perf'
import type { ServiceModule } from '../../../main/services/index'
import type { perfMethods } from '../../../shared/contract/perf'
import type { SimControl } from '../../sim/model'
import type { TinyPool } from '../../unit/sim/tiny-pool'
import type { Harness } from '../pools/helpers'
import { fed } from './fed'
import { perfPool, type PerfPool } from './pool'
import { cssToArgb, graphsFromGuiConfig } from '../../../shared/perf/graphs'

let pool: PerfPool
let sim: SimControl, tp: TinyPool, h: Harness, connId: string, dir: string
let cache: SqliteInventoryCache
let c: RrdCollector
let mod: ServiceModule<keyof typeof perfMethods>
const events: { event: string; payload: unknown }[] = []
const ctx = { emit: () => {}, subscribeObjects: () => {} }

beforeAll(async () => {
  pool = await perfPool('perf-service', '127.86.17')
  ;({ sim, tp, h, connId, dir } = pool)
  cache = openInventoryCache({ dataDir: dir, mode: 'inline' })
  c = new RrdCollector({ pools: h.manager, history: () => cache.perf, tickMs: 3_600_000 })
  mod = perfModule({ collector: c, history: () => cache.perf })({ pools: h.manager, broadcast: (event, payload) => events.push({ event, payload }), log: () => {} })
  await fed(c)
}, 120_000)
afterAll(async () => {
  await mod?.close?.()
  await c?.close()
  await cache?.close()
  await pool?.close()
})

const uuidOf = (cls: string, ref: string): string => pool.uuidOf(cls, ref)

async function call<M extends keyof typeof perfMethods>(m: M, args: unknown) {
  const parsed = methods[m].args.parse(args)
  const r = await (mod.handlers[m] as (a: unknown, c: unknown) => unknown)(parsed, ctx)
  return methods[m].result.parse(r) as ReturnType<(typeof methods)[M]['result']['parse']>
}

describe('perf contract', () => {
  it('draws a VM over 24 h from the history (60 s where stored, hourly before)', async () => {
    const vm = uuidOf('VM', tp.refs.running)
    const r = await call('perf.series', { connectionId: connId, kind: 'vm', uuid: vm, ds: ['cpu0', 'memory'], range: '24h' })
    expect(r.source).toBe('history')
    expect(r.asOf).toBeNull()
    expect(r.resolution).toBe(60)
    expect(r.times.length).toBeGreaterThan(40)
    expect(r.series['cpu0']?.filter((v) => v !== null).length).toBeGreaterThan(40)
    // ascending, inside the range
    expect(r.times.every((t, i) => i === 0 || t > (r.times[i - 1] ?? 0))).toBe(true)
    expect((r.times[0] ?? 0) > r.from && (r.times.at(-1) ?? Infinity) <= r.to).toBe(true)
    // how far back its history goes, as stored: 1-minute rows from the host's 60 s archive (2 h), hourly and daily before
    expect(r.depth?.minute ?? 0).toBeGreaterThan(r.to - 3 * 3600)
    expect(r.depth?.minute ?? Infinity).toBeLessThan(r.to - 3600)
    expect(r.depth?.hour ?? Infinity).toBeLessThan(r.depth?.minute ?? 0)
    expect(r.depth?.day ?? Infinity).toBeLessThan(r.depth?.hour ?? 0)
  })

  it('says how big the history is against its bound and how far back each resolution goes', async () => {
    const h = await call('perf.history', {})
    expect(h.maxBytes).toBe(2 * 1024 ** 3)
    expect(h.keepGoneDays).toBe(30)
    expect(h.bytes).toBe(h.byResolution.minute + h.byResolution.hour + h.byResolution.day)
    // before the first write (every 15 minutes) the values wait in memory, and the answer says so
    if (h.bytes === 0) expect(h.pendingValues).toBeGreaterThan(0)
    expect(h.nextWriteAt ?? 0).toBeGreaterThan(Date.now() / 1000)
    expect(h.depth.minute).not.toBeNull()
    expect(h.depth.hour ?? Infinity).toBeLessThan(h.depth.minute ?? 0)
  })

  it('draws the last 10 minutes of a watched VM at 5 s and sends its new rows as perf.live', async () => {
    const vm = uuidOf('VM', tp.refs.running)
    await call('perf.watch', { watchId: 'graph-1', connectionId: connId, uuids: [vm] })
    for (let i = 0; i < 50 && !c.liveOf(vm); i++) {
      c.tick()
      await c.idle()
      await new Promise((r) => setTimeout(r, 100))
    }
    const r = await call('perf.series', { connectionId: connId, kind: 'vm', uuid: vm, ds: ['cpu0', 'memory'], range: '10m' })
    expect(r.source).toBe('live')
    expect(r.resolution).toBe(5)
    expect(r.times.length).toBeGreaterThanOrEqual(90)
    const live = events.filter((e) => e.event === 'perf.live')
    expect(live.length).toBeGreaterThan(0)
    expect(() => methods['perf.watch'].args.parse({ watchId: 'x', connectionId: connId, uuids: ['not a uuid!'] })).toThrow()

    // a second graph opened later on the same host (the pool tab after a VM's tab): its object gets the last
    // 10 minutes too, not only the rows after the host's last live answer (which the VM's graph already had)
    const hostRef = String(sim.pool('perf-service').objects.get('VM')?.get(tp.refs.running)?.['resident_on'])
    const host = uuidOf('host', hostRef)
    await call('perf.watch', { watchId: 'graph-2', connectionId: connId, uuids: [host] })
    for (let i = 0; i < 50 && !c.liveOf(host); i++) {
      c.tick()
      await c.idle()
      await new Promise((r) => setTimeout(r, 100))
    }
    const hr = await call('perf.series', { connectionId: connId, kind: 'host', uuid: host, ds: ['cpu_avg', 'memory_total_kib'], range: '10m' })
    expect(hr.source).toBe('live')
    expect(hr.times.length).toBeGreaterThanOrEqual(90)
    await call('perf.unwatch', { watchId: 'graph-2' })
    await call('perf.unwatch', { watchId: 'graph-1' })
  })

  it('lists every host and running VM in the overview; pause stops and resume restarts polling', async () => {
    const r = await call('perf.overview', {})
    const vm = uuidOf('VM', tp.refs.running)
    expect(r.rows.some((x) => x.uuid === vm && x.kind === 'vm' && x.cpu !== null)).toBe(true)
    expect(r.rows.filter((x) => x.kind === 'host')).toHaveLength(2)
    expect(r.hosts.every((x) => x.error === null)).toBe(true)
    // the sparkline has the minutes the first answer brought (its last 5 minutes: a point per 60 s row), not one point per answer
    const spark = r.rows.find((x) => x.uuid === vm)?.spark.cpu ?? []
    expect(spark.length).toBeGreaterThanOrEqual(4)
    expect(spark.every((v) => v !== null && v > 0)).toBe(true)
    expect((await call('perf.pause', { paused: true })).paused).toBe(true)
    const before = c.counters.feeds + c.counters.lives
    c.tick()
    await c.idle()
    expect(c.counters.feeds + c.counters.lives).toBe(before)
    expect((await call('perf.pause', { paused: false })).paused).toBe(false)
  })

  it('ranks by yesterday: every object of the history with its averages over the period and one sparkline point per hour', async () => {
    const to = Math.floor(Date.now() / 1000 / 86400) * 86400
    const r = await call('perf.overview', { period: { from: to - 86400, to } })
    expect(r.period).toEqual({ from: to - 86400, to })
    const vm = uuidOf('VM', tp.refs.running)
    const row = r.rows.find((x) => x.uuid === vm)
    expect(row?.at).toBe(to)
    expect(row?.cpu ?? -1).toBeGreaterThan(0)
    expect(row?.memTotal ?? -1).toBeGreaterThan(0)
    expect(row?.spark.cpu.length).toBe(24)
    // the same as the history's own hourly means for that VM
    const h = await call('perf.series', { connectionId: connId, kind: 'vm', uuid: vm, ds: ['cpu_usage'], range: '24h', from: to - 86400, to, points: 24 })
    const vals = (h.series['cpu_usage'] ?? []).filter((v): v is number => v !== null)
    if (vals.length === 24) expect(row?.cpu ?? 0).toBeCloseTo(vals.reduce((a, b) => a + b, 0) / 24, 6)
    expect(() => methods['perf.overview'].args.parse({ period: { from: to, to: to - 1 } })).toThrow()
    expect(() => methods['perf.overview'].args.parse({ period: { from: 0, to: 30 * 86400 } })).toThrow()
  })

  it('lists data sources and enables a non-default one with record_data_source', async () => {
    const vm = uuidOf('VM', tp.refs.running)
    const before = await call('perf.sources', { connectionId: connId, kind: 'vm', uuid: vm })
    expect(before.find((d) => d.name === 'cpu0')).toMatchObject({ enabled: true, standard: true, stored: true })
    expect(before.find((d) => d.name === 'runstate_fullrun')).toMatchObject({ enabled: false, standard: false })
    await call('perf.recordSource', { connectionId: connId, kind: 'vm', uuid: vm, name: 'runstate_fullrun' })
    const after = await call('perf.sources', { connectionId: connId, kind: 'vm', uuid: vm })
    expect(after.find((d) => d.name === 'runstate_fullrun')?.enabled).toBe(true)
    await expect(call('perf.recordSource', { connectionId: connId, kind: 'vm', uuid: vm, name: 'no_such_source' })).rejects.toMatchObject({ code: 'INTERNAL_ERROR' })
  })

  it('saves a layout over one XenCenter wrote: its layout and name keys replaced, its colours kept or rewritten, XAPI never refuses a key', async () => {
    const vm = uuidOf('VM', tp.refs.running)
    const simPool = (): Record<string, string> => [...(sim.pool('perf-service').objects.get('pool')?.values() ?? [])][0]?.['gui_config'] as Record<string, string>
    const poolRef = [...(h.manager.graph(connId)?.all('pool').keys() ?? [])][0] ?? ''
    const red = cssToArgb('#990033')
    // as XenCenter leaves it (SaveDataSourceStateAction): two graphs, one colour of a series and one of used memory
    const xc: Record<string, string> = {
      [`XenCenter.GraphLayout.0.vm.${vm}`]: 'cpu0,cpu1',
      [`XenCenter.GraphName.0.vm.${vm}`]: 'CPUs',
      [`XenCenter.GraphLayout.1.vm.${vm}`]: 'memory,memory_internal_free',
      [`XenCenter.DataSource.vm.${vm}.cpu0`]: cssToArgb('#0066ff'),
      [`XenCenter.DataSource.vm.${vm}.memory_internal_free`]: red,
    }
    for (const [k, v] of Object.entries(xc)) await h.manager.call(connId, 'pool.add_to_gui_config', [poolRef, k, v])
    const seen = async (pred: (gui: Record<string, string>) => boolean): Promise<void> => {
      for (let i = 0; i < 100 && !pred((h.manager.graph(connId)?.get('pool', poolRef)?.['gui_config'] ?? {}) as Record<string, string>); i++) await new Promise((r) => setTimeout(r, 50))
    }
    await seen((g) => Object.keys(xc).every((k) => k in g))
    expect(graphsFromGuiConfig(simPool(), 'vm', vm)?.map((g) => [g.title, g.series.map((s) => s.ds)])).toEqual([
      ['CPUs', ['cpu0', 'cpu1']],
      ['Graph 2', ['memory', 'memory_used']],
    ])

    await call('perf.saveLayout', { connectionId: connId, kind: 'vm', uuid: vm, graphs: [{ title: 'Busy', series: [{ ds: 'cpu0', color: '#ff0000' }, { ds: 'memory_used' }] }] })
    const after = simPool()
    expect(Object.keys(after).filter((k) => k.startsWith('XenCenter.Graph') && k.endsWith(vm)).sort()).toEqual([`XenCenter.GraphLayout.0.vm.${vm}`, `XenCenter.GraphName.0.vm.${vm}`])
    expect(after[`XenCenter.GraphLayout.0.vm.${vm}`]).toBe('cpu0,memory_internal_free')
    expect(after[`XenCenter.GraphName.0.vm.${vm}`]).toBe('Busy')
    expect(after[`XenCenter.DataSource.vm.${vm}.cpu0`]).toBe(cssToArgb('#ff0000'))
    expect(after[`XenCenter.DataSource.vm.${vm}.memory_internal_free`]).toBe(red)

    await seen((g) => g[`XenCenter.GraphName.0.vm.${vm}`] === 'Busy')
    await call('perf.saveLayout', { connectionId: connId, kind: 'vm', uuid: vm, graphs: null })
    const restored = simPool()
    expect(graphsFromGuiConfig(restored, 'vm', vm)).toBeUndefined()
    expect(restored[`XenCenter.DataSource.vm.${vm}.memory_internal_free`]).toBe(red)
  })

  it('draws an offline pool from history, ending at the newest stored row, marked as of', async () => {
    c.flush()
    const vm = uuidOf('VM', tp.refs.running)
    await h.manager.disconnect(connId)
    const r = await call('perf.series', { connectionId: connId, kind: 'vm', uuid: vm, ds: ['cpu0'], range: '24h' })
    expect(r.asOf).not.toBeNull()
    expect(Date.parse(r.asOf ?? '') / 1000).toBe(r.to)
    expect(r.times.length).toBeGreaterThan(40)
    const sources = await call('perf.sources', { connectionId: connId, kind: 'vm', uuid: vm })
    expect(sources.map((s) => s.name)).toContain('cpu0')
  })
})
