/**
 * The performance share of the contract (shared/contract/perf.ts) over the RRD collector
 * (main/perf/collector.ts) and the cache's performance history (main/cache/perf.ts).
 *
 *   createServices({ …, modules: [perfModule({ collector, history: () => cache?.perf })] })
 */
import { PERF_RANGES, type PerfDataSource, type PerfDepth, type PerfSeriesResult, type perfMethods } from '../../shared/contract/perf'
import type { PerfDepth as StoredDepth, PerfHistory } from '../cache/perf'
import type { RrdCollector } from '../perf/collector'
import { isFigureSource, periodFigures, type ObjectSummary } from '../perf/summary'
import type { PoolGraph } from '../pools/api'
import { guiConfigFor, guiConfigKeysOf, unitOf } from '../../shared/perf/graphs'
import { ServiceError } from './errors'
import type { ModuleFactory } from './module'

export interface PerfServiceOptions {
  collector: RrdCollector
  history: () => PerfHistory | undefined
  now?: () => number
}

/** a period's figures are kept this long (yesterday does not change) */
const PERIOD_TTL_MS = 10 * 60_000
/** objects read between two yields of the main thread */
const PERIOD_SLICE = 100

const depthOf = (d: StoredDepth): PerfDepth => ({ minute: d[60], hour: d[3600], day: d[86400] })

export function perfModule(opts: PerfServiceOptions): ModuleFactory<keyof typeof perfMethods> {
  return (ctx) => {
    // the pool's live object graph: the one accessor (PoolManagerApi.graph)
    const graph = (connectionId: string) => ctx.pools.graph(connectionId)
    const { pools } = ctx
    const { collector } = opts
    const now = opts.now ?? (() => Date.now())
    const stopLive = collector.onLive((u) => ctx.broadcast('perf.live', u))

    const connection = (id: string): { label: string; connected: boolean } => {
      const s = pools.get(id)
      if (!s) throw new ServiceError('not-found', `There is no connection ${id}.`)
      return { label: s.label, connected: s.status === 'connected' }
    }

    /** the object's ref in the connected pool's graph, by uuid */
    const refOf = (connectionId: string, cls: 'host' | 'VM', uuid: string): string => {
      const hit = graph(connectionId)?.byUuid(uuid)
      if (!hit || hit.cls !== cls) throw new ServiceError('not-found', `No ${cls === 'VM' ? 'VM' : 'server'} with uuid ${uuid} in this pool (it may have been deleted).`)
      return hit.ref
    }

    /**
     * Every object's figures over a period from the history (hourly means), computed a slice of
     * objects at a time (the main thread yields between slices) and kept 10 minutes per period.
     */
    const periods = new Map<string, { at: number; rows: Promise<(ObjectSummary & { stale: false; gone: boolean })[]> }>()
    const periodRows = (from: number, to: number): Promise<(ObjectSummary & { stale: false; gone: boolean })[]> => {
      const key = `${from}-${to}`
      const hit = periods.get(key)
      if (hit && now() - hit.at < PERIOD_TTL_MS) return hit.rows
      const rows = (async () => {
        const hist = opts.history()
        if (!hist) return []
        const out: (ObjectSummary & { stale: false; gone: boolean })[] = []
        const objects = hist.objects()
        // a deleted VM is in the history for a while (keepGoneDays): its row says so
        const gone = collector.knownGone()
        for (let i = 0; i < objects.length; i++) {
          if (i % PERIOD_SLICE === PERIOD_SLICE - 1) await new Promise((r) => setImmediate(r))
          const o = objects[i]
          if (!o) continue
          const dss = hist.sourcesOf(o.uuid).filter((s) => isFigureSource(o.kind, s.ds)).map((s) => s.ds)
          if (dss.length === 0) continue
          const r = hist.read(o.uuid, dss, from, to, 3600)
          if (r.times.length === 0) continue
          const hours = r.times.map((_, ti) => {
            const h: Record<string, number> = {}
            dss.forEach((ds, di) => {
              const v = r.values[di]?.[ti]
              if (v !== null && v !== undefined) h[ds] = v
            })
            return h
          })
          out.push({ connectionId: o.connectionId, kind: o.kind, uuid: o.uuid, at: to, ...periodFigures(o.kind, hours), stale: false, gone: gone(o) })
        }
        return out
      })()
      periods.set(key, { at: now(), rows })
      for (const [k, v] of periods) if (now() - v.at >= PERIOD_TTL_MS || periods.size > 4) periods.delete(k)
      rows.catch(() => periods.delete(key))
      return rows
    }

    return {
      close: () => stopLive(),
      handlers: {
        'perf.series': (a): PerfSeriesResult => {
          const conn = connection(a.connectionId)
          const hist = opts.history()
          const span = PERF_RANGES[a.range]
          let to = a.to ?? Math.floor(now() / 1000)
          let from = a.from ?? to - span
          let asOf: string | null = null
          if (!conn.connected && a.to === undefined) {
            // an offline pool: the range ends at the newest row stored
            const newest = hist?.newest(a.uuid)
            if (newest !== undefined) {
              to = newest
              from = to - span
            }
            asOf = newest !== undefined ? new Date(newest * 1000).toISOString() : null
          }
          if (!(to > from)) throw new ServiceError('invalid-args', 'The end of the range must be after its start.')
          // an open graph asks every minute: its host is fed every minute while it does (main/perf/collector.ts)
          if (conn.connected) collector.showObject(a.connectionId, a.uuid)
          // the last 10 minutes of a watched object: the host's 5 s rows held in memory
          const live = conn.connected && to - from <= 900 ? collector.liveOf(a.uuid) : undefined
          if (live && live.size > 0) {
            const first = a.ds.map((d) => live.get(d)).find((s) => s !== undefined)
            if (first && first.t.length > 0 && (first.t[0] ?? Infinity) <= from + 60) {
              const idx = first.t.map((t, i) => [t, i] as const).filter(([t]) => t > from && t <= to + 60)
              const times = idx.map(([t]) => t)
              const series: Record<string, (number | null)[]> = {}
              for (const d of a.ds) {
                const s = live.get(d)
                series[d] = times.map((t) => {
                  const i = s ? s.t.indexOf(t) : -1
                  const v = i >= 0 ? s?.v[i] : undefined
                  return v !== undefined && Number.isFinite(v) ? v : null
                })
              }
              return { times, series, resolution: 5, from, to, source: 'live', asOf: null, depth: null }
            }
          }
          if (!hist) return { times: [], series: Object.fromEntries(a.ds.map((d) => [d, []])), resolution: 0, from, to, source: 'history', asOf, depth: null }
          const bucket = Math.max(60, Math.ceil((to - from) / a.points / 60) * 60)
          const r = hist.read(a.uuid, a.ds, from, to, bucket)
          const series: Record<string, (number | null)[]> = {}
          a.ds.forEach((d, i) => (series[d] = r.values[i] ?? []))
          return { times: r.times, series, resolution: r.resolution, from, to, source: 'history', asOf, depth: depthOf(hist.depth(a.uuid)) }
        },
        'perf.watch': (a) => {
          collector.watch(a.watchId, a.connectionId, a.uuids)
          return null
        },
        'perf.unwatch': (a) => {
          collector.unwatch(a.watchId)
          return null
        },
        'perf.overview': async (a) => {
          // the overview is open: every host is fed every minute while it asks (a host nobody looked at is asked at once)
          await collector.showOverview()
          return {
            rows: a.period ? await periodRows(a.period.from, a.period.to) : collector.summaries(),
            paused: collector.isPaused(),
            hosts: collector.status().map((s) => ({ connectionId: s.connectionId, hostUuid: s.hostUuid, hostName: s.hostName, lastEnd: s.lastEnd ?? null, failures: s.failures, error: s.error ?? null })),
            period: a.period ?? null,
          }
        },
        'perf.history': () => {
          const hist = opts.history()
          if (!hist) throw new ServiceError('unavailable', 'There is no performance history: the cache database could not be opened.')
          return {
            bytes: hist.sizeBytes(),
            maxBytes: hist.limits.maxBytes,
            keep60sDays: hist.limits.keep60sDays,
            keepGoneDays: hist.limits.keepGoneDays,
            depth: depthOf(hist.depth()),
            byResolution: { minute: hist.sizeOf(60), hour: hist.sizeOf(3600), day: hist.sizeOf(86400) },
            pendingValues: hist.pendingValues(),
            nextWriteAt: Math.floor(collector.nextFlushAt() / 1000),
          }
        },
        'perf.pause': (a) => {
          collector.pause(a.paused)
          ctx.log(`perf: polling ${a.paused ? 'paused' : 'resumed'}`)
          return { paused: collector.isPaused() }
        },
        'perf.sources': async (a): Promise<PerfDataSource[]> => {
          const conn = connection(a.connectionId)
          const stored = new Set((opts.history()?.sourcesOf(a.uuid) ?? []).map((s) => s.ds))
          if (!conn.connected) return [...stored].sort().map((name) => ({ name, description: '', units: '', enabled: true, standard: true, stored: true }))
          const ref = refOf(a.connectionId, a.kind === 'host' ? 'host' : 'VM', a.uuid)
          const list = await pools.call(a.connectionId, `${a.kind === 'host' ? 'host' : 'VM'}.get_data_sources`, [ref])
          if (!Array.isArray(list)) throw new ServiceError('bad-response', 'get_data_sources did not answer a list.')
          return list
            .filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null && typeof (d as Record<string, unknown>)['name_label'] === 'string')
            .map((d) => ({
              name: String(d['name_label']),
              description: typeof d['name_description'] === 'string' ? d['name_description'] : '',
              units: typeof d['units'] === 'string' ? d['units'] : '',
              enabled: d['enabled'] === true,
              standard: d['standard'] === true,
              stored: stored.has(String(d['name_label'])),
            }))
        },
        'perf.saveLayout': async (a) => {
          if (!connection(a.connectionId).connected) throw new ServiceError('unavailable', 'The pool is not connected: graphs are saved in the pool, so it must be connected.')
          const g = graph(a.connectionId)
          const [poolRef, pool] = [...(g?.all('pool') ?? new Map<string, Record<string, unknown>>()).entries()][0] ?? []
          if (!poolRef || !pool) throw new ServiceError('not-found', 'The pool record is not loaded yet.')
          const gui = pool['gui_config'] && typeof pool['gui_config'] === 'object' ? (pool['gui_config'] as Record<string, string>) : {}
          const next = a.graphs ? guiConfigFor(a.graphs.map((g, i) => ({ id: `custom-${i}`, title: g.title, unit: unitOf(g.series[0]?.ds ?? ''), series: g.series.map((x) => ({ ds: x.ds, label: x.ds, ...(x.color ? { color: x.color } : {}) })) })), a.kind, a.uuid) : {}
          // XAPI refuses add_to_gui_config for a key that exists (MAP_DUPLICATE_KEY): remove, then add.
          // The object's layout and name keys go; a colour key stays unless it is written again (as XenCenter does)
          const gone = new Set([...guiConfigKeysOf(gui, a.kind, a.uuid), ...Object.keys(next).filter((k) => k in gui && gui[k] !== next[k])])
          for (const k of gone) await pools.call(a.connectionId, 'pool.remove_from_gui_config', [poolRef, k])
          for (const [k, v] of Object.entries(next)) if (gone.has(k) || !(k in gui)) await pools.call(a.connectionId, 'pool.add_to_gui_config', [poolRef, k, v])
          ctx.log(`perf: ${a.graphs ? `${a.graphs.length} graph(s) saved` : 'default graphs restored'} for ${a.kind} ${a.uuid}`)
          return null
        },
        'perf.recordSource': async (a) => {
          if (!connection(a.connectionId).connected) throw new ServiceError('unavailable', 'The pool is not connected: a data source can only be enabled on a connected pool.')
          const ref = refOf(a.connectionId, a.kind === 'host' ? 'host' : 'VM', a.uuid)
          await pools.call(a.connectionId, `${a.kind === 'host' ? 'host' : 'VM'}.record_data_source`, [ref, a.name])
          ctx.log(`perf: recording ${a.name} of ${a.kind} ${a.uuid}`)
          return null
        },
      },
    }
  }
}
