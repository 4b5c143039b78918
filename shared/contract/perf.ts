// OWNER: graphs (issue 16). Performance methods/events of the contract (merged into shared/contract/index.ts).
/**
 * Performance graphs: series of an object over a range from the local history (main/cache/perf.ts)
 * and, for the last 10 minutes of a watched object, the host's 5 s rows; live rows as events; the
 * fleet overview's figures; the collector's state; data sources (get_data_sources /
 * record_data_source) and the graph layouts XenCenter keeps in pool.gui_config.
 * An offline pool answers from history, ending at the newest stored row, with `asOf`.
 */
import { z } from 'zod'

const ConnectionId = z.string().min(1).max(200)
const Uuid = z.string().regex(/^[0-9a-fA-F-]{8,64}$/, 'must be a uuid')
const DsName = z.string().regex(/^[A-Za-z0-9_.:-]{1,120}$/, 'must be a data source name')
export const PerfKind = z.enum(['host', 'vm'])
export type PerfKind = z.infer<typeof PerfKind>

/** the range picker's choices (seconds) */
export const PERF_RANGES = { '10m': 600, '1h': 3600, '2h': 7200, '6h': 21600, '12h': 43200, '24h': 86400, '7d': 604800, '30d': 2592000, '1y': 31536000 } as const
export const PerfRange = z.enum(['10m', '1h', '2h', '6h', '12h', '24h', '7d', '30d', '1y'])
export type PerfRange = z.infer<typeof PerfRange>

const Nullable = z.number().nullable()

/** how far back each resolution of the local history goes: the oldest time with a value (epoch s), null: none */
export const PerfDepth = z.object({ minute: Nullable, hour: Nullable, day: Nullable })
export type PerfDepth = z.infer<typeof PerfDepth>

export const PerfSeriesResult = z.object({
  /** point times, epoch seconds, ascending */
  times: z.array(z.number()),
  /** ds → one value per time (null: no value) */
  series: z.record(z.string(), z.array(Nullable)),
  /** seconds between points of the finest data used (5 live, 60, 3600, 86400), 0 when there is none */
  resolution: z.number(),
  from: z.number(),
  to: z.number(),
  /** 'live': the host's 5 s rows (watched objects, last 10 min) · 'history': the local history */
  source: z.enum(['live', 'history']),
  /** the pool is not connected: the newest stored row, ISO time ("as of …"); null when live */
  asOf: z.string().nullable(),
  /** the object's stored history: how far back 1-minute, hourly and daily rows go (null: no history) */
  depth: PerfDepth.nullable(),
})
export type PerfSeriesResult = z.infer<typeof PerfSeriesResult>

export const PerfLive = z.object({
  connectionId: z.string(),
  kind: PerfKind,
  uuid: z.string(),
  times: z.array(z.number()),
  series: z.record(z.string(), z.array(Nullable)),
})
export type PerfLive = z.infer<typeof PerfLive>

export const PerfOverviewRow = z.object({
  connectionId: z.string(),
  kind: PerfKind,
  uuid: z.string(),
  /** row time, epoch seconds */
  at: z.number(),
  /** 0..1 */
  cpu: Nullable,
  /** bytes */
  memUsed: Nullable,
  memTotal: Nullable,
  /** bytes per second */
  net: Nullable,
  disk: Nullable,
  /** the last hour, one point per minute (a period: one point per hour) */
  spark: z.object({ cpu: z.array(Nullable), mem: z.array(Nullable), net: z.array(Nullable), disk: z.array(Nullable) }),
  /**
   * "now" rows: the figures are not current but as of `at` — the pool is not connected now, or the feed
   * has not brought the object for minutes (a VM shut down, a server not answering); false for a period
   */
  stale: z.boolean(),
  /**
   * a period's row of an object no longer in its pool (deleted: its history is kept perf.history's keepGoneDays after
   * its last value); "now" rows never hold one
   */
  gone: z.boolean(),
})
export type PerfOverviewRow = z.infer<typeof PerfOverviewRow>

export const PerfHostStatus = z.object({
  connectionId: z.string(),
  hostUuid: z.string(),
  hostName: z.string(),
  lastEnd: z.number().nullable(),
  failures: z.number().int(),
  /** a sentence when the last attempt failed */
  error: z.string().nullable(),
})

export const PerfDataSource = z.object({
  name: z.string(),
  description: z.string(),
  units: z.string(),
  /** recorded by the host now */
  enabled: z.boolean(),
  /** recorded by default */
  standard: z.boolean(),
  /** has values in the local history */
  stored: z.boolean(),
})
export type PerfDataSource = z.infer<typeof PerfDataSource>

export const perfMethods = {
  /** an object's data sources over a range (or an explicit from/to after a zoom), at most ~`points` points */
  'perf.series': {
    args: z
      .object({
        connectionId: ConnectionId,
        kind: PerfKind,
        uuid: Uuid,
        ds: z.array(DsName).min(1).max(128),
        range: PerfRange,
        /** zoomed: epoch seconds (to > from) */
        from: z.number().int().min(0).optional(),
        to: z.number().int().min(0).optional(),
        points: z.number().int().min(10).max(4000).default(720),
      })
      .strict(),
    result: PerfSeriesResult,
  },
  /** poll these objects every 5 s and send `perf.live` (a lease: call again within 30 s to keep it) */
  'perf.watch': { args: z.object({ watchId: z.string().min(1).max(100), connectionId: ConnectionId, uuids: z.array(Uuid).max(200) }).strict(), result: z.null() },
  'perf.unwatch': { args: z.object({ watchId: z.string().min(1).max(100) }).strict(), result: z.null() },
  /**
   * Every host and VM the feed has seen, with the figures of its newest 60 s row and the last hour;
   * or, with `period` (e.g. yesterday, the window's local day), every object of the local history —
   * offline pools' too — with its averages over the period and one sparkline point per hour
   */
  'perf.overview': {
    args: z
      .object({
        period: z
          .object({ from: z.number().int().min(0), to: z.number().int().min(0) })
          .strict()
          .refine((p) => p.to > p.from && p.to - p.from <= 7 * 86400, 'A period ends after it starts and spans at most 7 days')
          .optional(),
      })
      .strict(),
    result: z.object({ rows: z.array(PerfOverviewRow), paused: z.boolean(), hosts: z.array(PerfHostStatus), period: z.object({ from: z.number(), to: z.number() }).nullable() }),
  },
  /**
   * the local history as stored: its size (blocks, bytes) against the bound (the perfHistoryMiB setting), how far back each
   * resolution goes; `pendingValues` are held in memory until the next write (`nextWriteAt`, s; null when nothing collects)
   */
  'perf.history': {
    args: z.object({}).strict(),
    result: z.object({
      bytes: z.number(),
      maxBytes: z.number(),
      keep60sDays: z.number(),
      /** a VM or server deleted from its pool keeps its history this many days after its last value */
      keepGoneDays: z.number(),
      depth: PerfDepth,
      byResolution: z.object({ minute: z.number(), hour: z.number(), day: z.number() }),
      pendingValues: z.number(),
      nextWriteAt: z.number().nullable(),
    }),
  },
  /** pause / resume all performance polling */
  'perf.pause': { args: z.object({ paused: z.boolean() }).strict(), result: z.object({ paused: z.boolean() }) },
  /** the object's data sources: XAPI's get_data_sources when connected, else those stored */
  'perf.sources': { args: z.object({ connectionId: ConnectionId, kind: PerfKind, uuid: Uuid }).strict(), result: z.array(PerfDataSource) },
  /** record_data_source: the host starts recording a non-default source */
  'perf.recordSource': { args: z.object({ connectionId: ConnectionId, kind: PerfKind, uuid: Uuid, name: DsName }).strict(), result: z.null() },
  /**
   * Save an object's graphs in pool.gui_config with XenCenter's keys (its earlier layout keys are
   * removed first); `graphs: null` restores the default graphs (removes the keys)
   */
  'perf.saveLayout': {
    args: z
      .object({
        connectionId: ConnectionId,
        kind: PerfKind,
        uuid: Uuid,
        graphs: z
          .array(
            z
              .object({
                title: z.string().trim().min(1, 'A graph needs a name').max(100),
                series: z.array(z.object({ ds: DsName, color: z.string().regex(/^#[0-9a-fA-F]{6}$/).optional() }).strict()).min(1, 'A graph needs at least one data source').max(32),
              })
              .strict(),
          )
          .max(32)
          .nullable(),
      })
      .strict(),
    result: z.null(),
  },
} as const

export const perfEvents = {
  /** new 5 s rows of a watched object */
  'perf.live': PerfLive,
} as const
