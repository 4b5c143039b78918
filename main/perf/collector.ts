/**
 * The RRD collector (issue 16): one feed per connected host, through the one HTTP helper on the
 * pinned agent (main/xapi/http.ts), parsed by ./rrd.ts, stored in the cache's performance history
 * (main/cache/perf.ts).
 *
 * Cost follows what is watched:
 *   - every connected host: GET /rrd_updates (start = the end of the last answer stored, cf=AVERAGE,
 *     interval=60, host=true, json) — the history feed, also what the fleet overview reads (nothing
 *     more is asked for the overview, nothing at all for a pool that is not connected). Every 60 s
 *     while someone looks: the fleet overview open (`showOverview`, a lease its polls renew), or a
 *     graph of the host or of one of its VMs (`watch`, `showObject`); every 5 minutes (`unwatchedFeedMs`)
 *     for a host nobody looks at — the answer then brings the 60 s rows of those minutes (XAPI keeps
 *     2 hours of them), so the history keeps every 60 s row either way. When the overview opens, the
 *     hosts fed longer than a minute ago are asked at once (at most FEEDS_AT_ONCE at a time); until
 *     their answer its rows older than STALE_AFTER_FEEDS minutes say "as of" their time;
 *   - the objects of an open graph (`watch`): their host is asked every 5 s for just them
 *     (vm_uuid=…, host= only when the host itself is watched), kept in memory for the last 10 minutes.
 * The answer's `step` is the truth (XAPI answers from a coarser archive when `start` is old): rows
 * go to the resolution they have. Errors back off per host (60 s × 2ⁿ, at most 15 min) and say why in
 * `status()`. `pause()` stops all.
 *
 * First sight fills the past, on a budget (it is the costly part: a host's whole RRD is a year of
 * rows of every source, and at 100,000 VMs there are 100,000 of them). A host the history does not
 * know gets one first-sight job: its full dump (/host_rrd: 60 s, hourly and daily rows) and one 60 s
 * (2 hours), one hourly and one daily /rrd_updates for all its resident VMs at once; a known host whose
 * stored cursor is older than FIRST_FEED_S gets a catch-up job (/rrd_updates from the cursor); a VM
 * first seen later (started, migrated in) gets its own job (/vm_rrd). A host's first feed asks only the
 * last FIRST_FEED_S, and its stored cursor stays put until its job is done (a restart in between asks
 * again from there). Jobs wait in a queue, hosts before VMs, and run
 *   - at most FIRST_SIGHT.global at a time in the app and FIRST_SIGHT.perPool per pool;
 *   - behind the live feeds: never while a watched object's 5 s poll is on its way, never on a host
 *     whose 60 s feed is on its way; the 60 s feed never waits for first sight (the overview has its
 *     figures from the first minute on);
 *   - within a share of the main thread: after a job's answer took X ms to parse and store, the next
 *     job starts X × (1/cpuShare − 1) ms later at the earliest;
 *   - backing off on errors: a failed job is tried again after 60 s × 2ⁿ (at most 15 min), and the
 *     pool's other jobs wait as long; after FIRST_SIGHT_ATTEMPTS it is given up (logged; the feed
 *     keeps the history from now on).
 * So a pool nobody looks at costs its 60 s feed, and first sight of a big fleet is spread out instead
 * of every host being asked for its whole RRD at once.
 * The history keeps every source of a host and, of a VM, what its default graphs, the overview and
 * its custom graphs (pool.gui_config) draw (shared/perf/graphs.ts isHistorySource / customSources).
 * It is written every 15 minutes: the cursor is written with the data, and a host keeps its 60 s
 * rows for 2 hours, so a crash in between loses nothing (the restart asks again from the cursor).
 */
import type { ObjectRecord } from '../../shared/model/diff'
import type { PerfHistory, PerfKind, PerfObject, PerfRes, PruneReport, SeriesWriter } from '../cache/perf'
import { slotTime } from '../cache/perf'
import type { PoolGraph, Unsubscribe } from '../pools/api'
import { httpGet, type PoolHttpContext } from '../xapi/http'
import { customSources, isHistorySource } from '../../shared/perf/graphs'
import { parseRrdDump, parseRrdUpdates, type RrdUpdates } from './rrd'
import { addRow, emptySummary, figurePlan, planFigures, type FigurePlan, type ObjectSummary } from './summary'

export interface CollectorPools {
  list(): { id: string; status: string; label: string }[]
  graph(id: string): PoolGraph | undefined
  hostHttp(id: string): PoolHttpContext
  onState?(cb: (s: { id: string; status: string }) => void): Unsubscribe
}

export interface CollectorOptions {
  pools: CollectorPools
  /** the cache's performance history (undefined: memory only, no history) */
  history: () => PerfHistory | undefined
  feedMs?: number
  /** a host nobody looks at (see the header) is fed this often; default UNWATCHED_FEED_MS */
  unwatchedFeedMs?: number
  liveMs?: number
  /** pending history written every … (and on close) */
  flushMs?: number
  pruneMs?: number
  /** the scheduler's tick */
  tickMs?: number
  /** the first-sight budget (defaults: FIRST_SIGHT) */
  firstSight?: Partial<FirstSightBudget>
  now?: () => number
  log?: (line: string) => void
  /** while it answers true no first-sight job starts (a window is catching up: main/services/outbox.ts CatchUp) */
  yieldTo?: () => boolean
}

/** the newest 5 s values of a watched object, for the open graph */
export interface LiveUpdate {
  connectionId: string
  kind: PerfKind
  uuid: string
  times: number[]
  /** ds → values, one per time (null = no value) */
  series: Record<string, (number | null)[]>
}

export interface HostFeedStatus {
  connectionId: string
  hostUuid: string
  hostName: string
  /** end of the last answer stored (host clock, s) */
  lastEnd: number | undefined
  failures: number
  /** a sentence, when the last attempt failed */
  error: string | undefined
  nextAt: number
}

/** how much first sight may take at once (see the header) */
export interface FirstSightBudget {
  /** jobs running at once in the whole app */
  global: number
  /** jobs running at once per pool (connection) */
  perPool: number
  /** the share of the main thread parsing and storing first-sight answers may use (0 < share ≤ 1) */
  cpuShare: number
}
export const FIRST_SIGHT: FirstSightBudget = { global: 2, perPool: 1, cpuShare: 0.25 }
/** a first-sight job that failed this many times is given up */
export const FIRST_SIGHT_ATTEMPTS = 5

/** what first sight is doing: jobs waiting, running, done, given up */
export interface FirstSightStatus {
  queued: number
  running: number
  done: number
  failed: number
}

interface SightJob {
  /** host: a host new to the history; catchup: a known host last fed long ago (from its stored cursor); vm: a VM new to the history */
  what: 'host' | 'catchup' | 'vm'
  /** catchup: the stored cursor (s, host clock) */
  from?: number
  connectionId: string
  /** the host asked (HostState.key) */
  hostKey: string
  uuid: string
  attempts: number
  notBefore: number
}

const LIVE_KEEP_S = 720
/** a host nobody looks at is fed every 5 minutes (its answer brings the 60 s rows of those minutes: XAPI keeps 2 hours of them) */
export const UNWATCHED_FEED_MS = 5 * 60_000
/** 60 s feeds on their way at once (the hosts due when the overview opens are caught up this many at a time) */
export const FEEDS_AT_ONCE = 8
/** the overview counts as open this long after it last asked (it asks every minute) */
export const OVERVIEW_LEASE_MS = 150_000
/** a graph asked for (perf.series) keeps its host at 60 s this long (an open graph asks again every minute) */
export const SHOWN_LEASE_MS = 150_000
/** how long showOverview waits for the catch-up of the hosts nobody looked at before it answers */
const CATCH_UP_WAIT_MS = 2_000
/** an overview row no feed answer refreshed for this many feed intervals is stale ("as of") */
export const STALE_AFTER_FEEDS = 3
/**
 * A host's first feed asks at most this far back (s): more (2 hours of 60 s rows of every VM when
 * the history does not know the host, or everything since a cursor left hours ago) is first-sight
 * work, done on its budget.
 */
export const FIRST_FEED_S = 300
const MAX_BACKOFF_MS = 15 * 60_000
const RRD_MAX_BYTES = 64 * 1024 * 1024
const NULL_UUID = '00000000-0000-0000-0000-000000000000'
/** values held for the history before it is written early (≈ 16 bytes each in memory) */
const MAX_PENDING_VALUES = 2_000_000
/** the longest one prune() call may hold the main thread */
const PRUNE_BUDGET_MS = 250

interface HostState {
  key: string
  connectionId: string
  ref: string
  uuid: string
  name: string
  address: string
  /** the next feed while someone looks at the host (and the retry after a failure) */
  nextFeedAt: number
  /** when its last feed was answered (this clock, ms): nobody looking, it is fed again unwatchedFeedMs later */
  fedAt: number | undefined
  nextLiveAt: number
  feeding: boolean
  living: boolean
  failures: number
  error: string | undefined
  lastEnd: number | undefined
  liveEnd: number | undefined
  /** the objects the last live answer covered: `liveEnd` only holds for them */
  liveCovered: Set<string>
  /** first sight of the host: not decided yet, waiting for its job, done (or not needed, or given up) */
  sight: 'unknown' | 'queued' | 'done'
  /** while its first-sight job has not filled the past, the stored cursor stays where it was (a restart asks again from there) */
  holdCursor: boolean
  /** what the columns of its 60 s answers are, while their legend and the pool's custom graphs stay the same */
  plan: ColumnPlan | undefined
}

/** one object of an answer's legend: its columns and what is done with them */
interface PlanObject {
  uuid: string
  kind: PerfKind
  /** the answer's columns of its AVERAGE sources, and their names */
  cols: number[]
  dss: string[]
  /** positions in `cols` the history keeps (isHistorySource, or in a custom graph), and their names */
  kept: number[]
  keptDs: string[]
  /** the overview's figures from positions in `cols` */
  figures: FigurePlan
}

/**
 * What each column of an answer is — its object, its source, whether the history keeps it, which figure
 * it makes — worked out once per legend. A host's 60 s answers name the same columns minute after minute
 * (the same resident VMs), and parseRrdUpdates hands back the previous answer's legend array while the
 * text is the same: a plan is reused only for that very array and the same custom graphs (a VM arriving
 * or leaving changes the legend, a graph saved changes the custom sources: a new plan).
 */
interface ColumnPlan {
  legend: RrdUpdates['legend']
  legendText: RrdUpdates['legendText']
  custom: Map<string, Set<string>>
  objects: PlanObject[]
}

function columnPlan(u: RrdUpdates, custom: Map<string, Set<string>>): ColumnPlan {
  const byUuid = new Map<string, { kind: PerfKind; cols: number[]; dss: string[] }>()
  u.legend.forEach((l, i) => {
    if (!l || l.cf !== 'AVERAGE' || (l.kind !== 'host' && l.kind !== 'vm')) return
    let o = byUuid.get(l.uuid)
    if (!o) byUuid.set(l.uuid, (o = { kind: l.kind, cols: [], dss: [] }))
    o.cols.push(i)
    o.dss.push(l.ds)
  })
  const objects: PlanObject[] = []
  for (const [uuid, o] of byUuid) {
    const own = o.kind === 'vm' ? custom.get(uuid) : undefined
    const kept: number[] = []
    o.dss.forEach((ds, k) => {
      if (isHistorySource(o.kind, ds) || own?.has(ds)) kept.push(k)
    })
    objects.push({ uuid, kind: o.kind, cols: o.cols, dss: o.dss, kept, keptDs: kept.map((k) => o.dss[k] as string), figures: figurePlan(o.kind, o.dss) })
  }
  return { legend: u.legend, legendText: u.legendText, custom, objects }
}

interface LiveSeries {
  t: number[]
  v: number[]
}

const str = (r: ObjectRecord | undefined, k: string): string => {
  const v = r?.[k]
  return typeof v === 'string' ? v : ''
}

export class RrdCollector {
  private readonly hosts = new Map<string, HostState>()
  private readonly watches = new Map<string, { connectionId: string; uuids: Set<string>; until: number }>()
  private readonly live = new Map<string, Map<string, LiveSeries>>()
  private readonly latest = new Map<string, ObjectSummary>()
  /** when a feed answer last refreshed each summary (this clock, ms) */
  private readonly latestSeen = new Map<string, number>()
  private readonly liveListeners = new Set<(u: LiveUpdate) => void>()
  private readonly custom = new Map<string, { gui: unknown; sources: Map<string, Set<string>> }>()
  /** first-sight jobs waiting: hosts, then VMs (each in arrival order) */
  private readonly sightHosts: SightJob[] = []
  private readonly sightVms: SightJob[] = []
  /** VMs with a job queued or running, or whose dump held no value (not asked again) */
  private readonly sightVmSeen = new Set<string>()
  /** connection → first-sight jobs running */
  private readonly sightRunning = new Map<string, number>()
  private sightRunningTotal = 0
  /** no first-sight job starts before (the main-thread share); per pool: after an error */
  private sightNotBefore = 0
  private readonly poolSightNotBefore = new Map<string, number>()
  private readonly sightCounts = { done: 0, failed: 0 }
  private readonly budget: FirstSightBudget
  /** 5 s polls of watched objects on their way (first sight waits for them) */
  private livesInFlight = 0
  private paused = false
  private closed = false
  private timer: ReturnType<typeof setInterval> | undefined
  private lastFlush: number
  private lastPrune = 0
  private readonly feedMs: number
  private readonly unwatchedFeedMs: number
  /** the fleet overview is open until (this clock, ms) */
  private overviewUntil = 0
  /** objects whose graph asked for its series lately: uuid → its connection and until when */
  private readonly shown = new Map<string, { connectionId: string; until: number }>()
  private feedsInFlight = 0
  private readonly liveMs: number
  private readonly flushMs: number
  private readonly pruneMs: number
  private readonly now: () => number
  private readonly log: (line: string) => void
  private readonly inFlight = new Set<Promise<unknown>>()
  /** figures for the benchmark and status: requests, bytes parsed */
  readonly counters = { feeds: 0, lives: 0, dumps: 0, bytes: 0, errors: 0, firstSightMs: 0 }

  constructor(private readonly opts: CollectorOptions) {
    this.feedMs = opts.feedMs ?? 60_000
    this.unwatchedFeedMs = opts.unwatchedFeedMs ?? UNWATCHED_FEED_MS
    this.liveMs = opts.liveMs ?? 5_000
    this.flushMs = opts.flushMs ?? 15 * 60_000
    this.pruneMs = opts.pruneMs ?? 3_600_000
    this.now = opts.now ?? (() => Date.now())
    this.log = opts.log ?? (() => {})
    this.budget = { ...FIRST_SIGHT, ...opts.firstSight }
    this.lastFlush = this.now()
    this.timer = setInterval(() => this.tick(), opts.tickMs ?? 1000)
    this.timer.unref?.()
  }

  // ---------------------------------------------------------------------------------------------
  // public

  pause(on: boolean): void {
    this.paused = on
  }

  isPaused(): boolean {
    return this.paused
  }

  /** the open graph's objects, polled every 5 s until `until` (a lease the window renews) */
  watch(watchId: string, connectionId: string, uuids: readonly string[], leaseMs = 30_000): void {
    this.watches.set(watchId, { connectionId, uuids: new Set(uuids), until: this.now() + leaseMs })
    // start now rather than at the next 5 s mark
    for (const h of this.hosts.values()) if (h.connectionId === connectionId) h.nextLiveAt = Math.min(h.nextLiveAt, this.now())
  }

  unwatch(watchId: string): void {
    this.watches.delete(watchId)
  }

  /**
   * The fleet overview asks for its figures (a lease: it asks every minute while open). Every host is fed at 60 s
   * while it lasts; when it opens, the hosts fed longer than a minute ago are asked at once (FEEDS_AT_ONCE at a
   * time), and the answer waits a little (at most CATCH_UP_WAIT_MS) for them.
   */
  async showOverview(leaseMs = OVERVIEW_LEASE_MS): Promise<void> {
    const now = this.now()
    const opening = this.overviewUntil < now
    this.overviewUntil = Math.max(this.overviewUntil, now + leaseMs)
    if (!opening || this.paused || this.closed) return
    const started = this.pumpFeeds(now)
    if (started.length === 0) return
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([Promise.allSettled(started), new Promise<void>((r) => (timer = setTimeout(r, CATCH_UP_WAIT_MS)))])
    clearTimeout(timer)
  }

  /** an object's graph asked for its series (a lease: an open graph asks every minute): its host is fed at 60 s */
  showObject(connectionId: string, uuid: string, leaseMs = SHOWN_LEASE_MS): void {
    const now = this.now()
    const was = this.shown.get(uuid)
    this.shown.set(uuid, { connectionId, until: Math.max(was?.until ?? 0, now + leaseMs) })
    if (!was || was.until < now) this.pumpFeeds(now)
  }

  onLive(cb: (u: LiveUpdate) => void): Unsubscribe {
    this.liveListeners.add(cb)
    return () => this.liveListeners.delete(cb)
  }

  /** what is in memory of the last 10 minutes at 5 s for an object (watched objects only) */
  liveOf(uuid: string): Map<string, LiveSeries> | undefined {
    return this.live.get(uuid)
  }

  /**
   * The overview's "now" figures (newest 60 s row and the last hour) of every object the feed has seen
   * that still exists: an object known gone (destroyed, forgotten: see knownGone) or of a connection
   * no longer in the list is dropped, here and from memory. A row not refreshed lately is `stale`:
   * its pool is not connected now, or no feed answer brought it for STALE_AFTER_FEEDS feeds (a VM shut
   * down, a server not answering) — its figures are as of its `at`, not now.
   */
  summaries(): (ObjectSummary & { stale: boolean; gone: false })[] {
    this.dropGoneSummaries()
    const status = new Map(this.opts.pools.list().map((c) => [c.id, c.status]))
    const old = this.now() - STALE_AFTER_FEEDS * this.feedMs
    // the summaries' sparklines grow in place: the caller gets copies
    return [...this.latest.values()].map((s) => ({
      ...s,
      spark: { cpu: s.spark.cpu.slice(), mem: s.spark.mem.slice(), net: s.spark.net.slice(), disk: s.spark.disk.slice() },
      stale: status.get(s.connectionId) !== 'connected' || (this.latestSeen.get(s.uuid) ?? 0) < old,
      gone: false,
    }))
  }

  /** summaries of objects known gone or of connections no longer in the list leave memory */
  private dropGoneSummaries(): void {
    const ids = new Set(this.opts.pools.list().map((c) => c.id))
    const gone = this.knownGone()
    for (const [uuid, s] of this.latest) {
      if (ids.has(s.connectionId) && !gone(s)) continue
      this.latest.delete(uuid)
      this.latestSeen.delete(uuid)
    }
  }

  /**
   * VMs first sight remembers (a dump that held no value: not asked again) leave memory once no connected pool has
   * them (destroyed, or their pool is disconnected: a reconnect decides again); those with a job waiting stay
   */
  private forgetSightOfGone(): void {
    if (this.sightVmSeen.size === 0) return
    const graphs = this.connectedGraphs()
    const waiting = new Set(this.sightVms.map((j) => j.uuid))
    for (const uuid of this.sightVmSeen) if (!waiting.has(uuid) && !graphs.some((g) => g.byUuid(uuid)?.cls === 'VM')) this.sightVmSeen.delete(uuid)
  }

  /** the graphs of the pools connected now (whole: a pool is connected once its graph is read) */
  private connectedGraphs(): PoolGraph[] {
    const out: PoolGraph[] = []
    for (const c of this.opts.pools.list()) {
      const g = c.status === 'connected' ? this.opts.pools.graph(c.id) : undefined
      if (g) out.push(g)
    }
    return out
  }

  /** VMs first sight remembers (tests: memory stays bounded) */
  sightRemembered(): number {
    return this.sightVmSeen.size
  }

  /** first sight's queue: jobs waiting, running, done, given up */
  firstSightStatus(): FirstSightStatus {
    return { queued: this.sightHosts.length + this.sightVms.length, running: this.sightRunningTotal, done: this.sightCounts.done, failed: this.sightCounts.failed }
  }

  status(): HostFeedStatus[] {
    return [...this.hosts.values()].map((h) => ({ connectionId: h.connectionId, hostUuid: h.uuid, hostName: h.name, lastEnd: h.lastEnd, failures: h.failures, error: h.error, nextAt: this.feedDueAt(h, this.now()) }))
  }

  /** one scheduling pass (the timer calls it; tests may too) */
  tick(): void {
    if (this.closed) return
    const now = this.now()
    this.syncHosts(now)
    for (const [id, w] of this.watches) if (w.until < now) this.watches.delete(id)
    for (const [uuid, w] of this.shown) if (w.until < now) this.shown.delete(uuid)
    if (!this.paused) {
      this.pumpFeeds(now)
      for (const h of this.hosts.values()) if (!h.living && now >= h.nextLiveAt) this.track(this.livePoll(h))
      this.pumpSight(now)
    }
    if (now - this.lastFlush >= this.flushMs || (this.opts.history()?.pendingValues() ?? 0) > MAX_PENDING_VALUES) this.flush()
    if (now - this.lastPrune >= this.pruneMs) {
      this.lastPrune = now
      // a quarter of a second at a time: a bound made smaller is reached over the next ticks
      const r = this.prune()
      if (r && !r.done) this.lastPrune = now - this.pruneMs + 1000
    }
  }

  /**
   * One budgeted prune of the history (the tick runs it hourly): age limits, objects known gone (see
   * knownGone), the size bound. Undefined when there is no history or it failed (logged).
   */
  prune(budgetMs = PRUNE_BUDGET_MS): PruneReport | undefined {
    try {
      // the overview's figures of objects gone leave memory too, even when nobody opens the overview, and so do the VMs
      // first sight remembered (a dump without a value) that no connected pool still holds
      this.dropGoneSummaries()
      this.forgetSightOfGone()
      const isGone = this.knownGone()
      const graphs = this.connectedGraphs()
      const r = this.opts.history()?.prune(undefined, budgetMs, { present: (uuid) => graphs.some((g) => g.byUuid(uuid) !== undefined), isGone })
      if (r && r.forgotten > 0) this.log(`perf: the history of ${r.forgotten} object(s) deleted from their pool was removed`)
      return r
    } catch (e) {
      this.log(`perf: pruning the history failed: ${(e as Error).message}`)
      return undefined
    }
  }

  /**
   * Whether an object of the history is known gone: its pool is connected (its graph is whole once
   * connected) and neither it nor any other connected pool has it (a VM destroyed or moved to a pool
   * not connected here is gone from this one's view; moved to a connected one, it is still there).
   * A pool offline now, or a connection not in the list, says nothing: its objects are not gone.
   */
  knownGone(): (o: PerfObject) => boolean {
    const status = new Map(this.opts.pools.list().map((c) => [c.id, c.status]))
    const graphs = this.connectedGraphs()
    return (o) => {
      const own = status.get(o.connectionId) === 'connected' ? this.opts.pools.graph(o.connectionId) : undefined
      if (!own) return false
      const cls = o.kind === 'vm' ? 'VM' : 'host'
      // its own pool first (one lookup for nearly every object), the other connected pools only when it is not there
      return own.byUuid(o.uuid)?.cls !== cls && !graphs.some((g) => g.byUuid(o.uuid)?.cls === cls)
    }
  }

  /** when pending history is written next (ms; earlier when a lot is pending) */
  nextFlushAt(): number {
    return this.lastFlush + this.flushMs
  }

  /** prune at the next tick (the size bound changed) */
  pruneSoon(): void {
    this.lastPrune = this.now() - this.pruneMs
  }

  /** everything asked so far answered (tests, close) */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  flush(): void {
    this.lastFlush = this.now()
    try {
      this.opts.history()?.flush()
    } catch (e) {
      // the cache worker held the write lock (or the disk said no): everything stays pending, tried again in 10 s
      this.lastFlush = this.now() - this.flushMs + 10_000
      this.log(`perf: writing the history failed (tried again in 10 s): ${(e as Error).message}`)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    await this.idle()
    this.flush()
  }

  // ---------------------------------------------------------------------------------------------
  // hosts

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p)
    void p.finally(() => this.inFlight.delete(p))
  }

  /** the 60 s feeds due now, started (at most FEEDS_AT_ONCE on their way); the promises of those started */
  private pumpFeeds(now: number): Promise<void>[] {
    const started: Promise<void>[] = []
    if (this.paused || this.closed) return started
    for (const h of this.hosts.values()) {
      if (this.feedsInFlight >= FEEDS_AT_ONCE) break
      if (h.feeding || now < this.feedDueAt(h, now)) continue
      const p = this.feed(h)
      this.track(p)
      started.push(p)
    }
    return started
  }

  /** when a host's next feed is due: 60 s after the last while someone looks at it, else unwatchedFeedMs; a retry after a failure at its back-off */
  private feedDueAt(h: HostState, now: number): number {
    if (h.fedAt === undefined || h.failures > 0) return h.nextFeedAt
    return this.lookedAt(h, now) ? h.nextFeedAt : Math.max(h.nextFeedAt, h.fedAt + this.unwatchedFeedMs)
  }

  /** whether someone looks at the host: the overview open, or a graph of it or of a VM resident on it */
  private lookedAt(h: HostState, now: number): boolean {
    if (this.overviewUntil >= now) return true
    if (this.watches.size === 0 && this.shown.size === 0) return false
    const graph = this.opts.pools.graph(h.connectionId)
    const onHost = (connectionId: string, uuid: string): boolean => {
      if (connectionId !== h.connectionId) return false
      if (uuid === h.uuid) return true
      const hit = graph?.byUuid(uuid)
      return hit?.cls === 'VM' && graph?.get('VM', hit.ref)?.['resident_on'] === h.ref
    }
    for (const [uuid, w] of this.shown) if (w.until >= now && onHost(w.connectionId, uuid)) return true
    for (const w of this.watches.values()) if (w.until >= now) for (const uuid of w.uuids) if (onHost(w.connectionId, uuid)) return true
    return false
  }

  private syncHosts(now: number): void {
    const seen = new Set<string>()
    for (const c of this.opts.pools.list()) {
      if (c.status !== 'connected') continue
      const graph = this.opts.pools.graph(c.id)
      if (!graph) continue
      for (const [ref, rec] of graph.all('host')) {
        const key = `${c.id}\u0000${ref}`
        seen.add(key)
        const uuid = str(rec, 'uuid')
        const address = str(rec, 'address')
        let h = this.hosts.get(key)
        if (!h) {
          // spread the first feeds over the first few seconds
          const jitter = Math.floor(Math.random() * Math.min(5000, this.feedMs))
          h = { key, connectionId: c.id, ref, uuid, name: str(rec, 'name_label'), address, nextFeedAt: now + jitter, fedAt: undefined, nextLiveAt: now, feeding: false, living: false, failures: 0, error: undefined, lastEnd: undefined, liveEnd: undefined, liveCovered: new Set(), sight: 'unknown', holdCursor: false, plan: undefined }
          this.hosts.set(key, h)
        }
        h.address = address
        h.name = str(rec, 'name_label')
      }
    }
    for (const k of this.hosts.keys()) if (!seen.has(k)) this.hosts.delete(k)
    // first-sight jobs of hosts gone (a pool disconnected): dropped; a reconnect decides again
    for (const q of [this.sightHosts, this.sightVms])
      for (let i = q.length - 1; i >= 0; i--) {
        const j = q[i]
        if (j && !this.hosts.has(j.hostKey)) {
          q.splice(i, 1)
          if (j.what === 'vm') this.sightVmSeen.delete(j.uuid)
        }
      }
  }

  private failed(h: HostState, e: unknown, what: string): void {
    h.failures++
    this.counters.errors++
    const msg = e instanceof Error ? e.message : String(e)
    if (h.error !== msg) this.log(`perf: ${what} of ${h.name || h.address} failed: ${msg}`)
    h.error = msg
    h.nextFeedAt = this.now() + Math.min(MAX_BACKOFF_MS, this.feedMs * 2 ** h.failures)
  }

  private async get(connectionId: string, address: string, path: string, query: Record<string, string | number | boolean | readonly string[]>): Promise<string> {
    const r = await httpGet(this.opts.pools.hostHttp(connectionId), address, { path, query, accept: 'application/json', timeoutMs: 20_000, idleTimeoutMs: 20_000, maxBytes: RRD_MAX_BYTES, purpose: 'rrd' })
    this.counters.bytes += r.body.length
    return r.text()
  }

  private async feed(h: HostState): Promise<void> {
    h.feeding = true
    this.feedsInFlight++
    try {
      const hist = this.opts.history()
      const nowS = Math.floor(this.now() / 1000)
      const cursor = h.lastEnd === undefined ? hist?.cursor(h.uuid) : undefined
      if (h.sight === 'unknown') {
        // decided before this feed stores anything of the host: its past (a host the history does not know, or
        // the hours since a cursor left long ago) comes on the first-sight budget, this feed asks the last minutes
        // a known host without a cursor: its first sight never finished (the cursor waits for it; a disconnect dropped the job)
        const job = hist && (!hist.knows(h.uuid) || cursor === undefined) ? ('host' as const) : cursor !== undefined && cursor < nowS - FIRST_FEED_S ? ('catchup' as const) : undefined
        if (job) {
          h.sight = 'queued'
          h.holdCursor = true
          this.sightHosts.push({ what: job, ...(job === 'catchup' ? { from: cursor } : {}), connectionId: h.connectionId, hostKey: h.key, uuid: h.uuid, attempts: 0, notBefore: 0 })
        } else h.sight = 'done'
      }
      const start = h.lastEnd ?? (cursor !== undefined && cursor >= nowS - FIRST_FEED_S ? cursor : nowS - FIRST_FEED_S)
      const text = await this.get(h.connectionId, h.address, '/rrd_updates', { start, cf: 'AVERAGE', interval: 60, host: true, json: true })
      this.counters.feeds++
      // the previous answer's legend: the same array back while the columns are the same (the plan is kept)
      const u = parseRrdUpdates(text, h.plan)
      this.store(h, u, hist, true)
      h.lastEnd = u.end
      if (!h.holdCursor) hist?.setCursor(h.connectionId, h.uuid, u.end)
      h.failures = 0
      h.error = undefined
      h.fedAt = this.now()
      h.nextFeedAt = h.fedAt + this.feedMs
    } catch (e) {
      this.failed(h, e, 'reading the performance data')
    } finally {
      h.feeding = false
      this.feedsInFlight--
      // the next host due (a catch-up is FEEDS_AT_ONCE at a time); the host's first sight may start now (it waits for the host's feed)
      this.pumpFeeds(this.now())
      this.pumpSight(this.now())
    }
  }

  /** rows of an answer into the history (at the answer's own step) and the overview's figures */
  private store(h: HostState, u: RrdUpdates, hist: PerfHistory | undefined, feed: boolean): void {
    const res = resolutionOf(u.step)
    const custom = this.customOf(h.connectionId)
    // the 60 s feed's answers: the host's plan while its legend and custom graphs are the same; first sight's: one of their own
    let plan = feed ? h.plan : undefined
    if (!plan || plan.legend !== u.legend || plan.custom !== custom) {
      plan = columnPlan(u, custom)
      if (feed) h.plan = plan
    }
    for (const o of plan.objects) {
      const uuid = o.uuid
      // a VM new to the history on a host whose first sight is done (its job brings the VMs of its time)
      if (feed && hist && o.kind === 'vm' && h.sight === 'done' && !hist.knows(uuid)) this.queueVm(h, uuid)
      if (hist && o.kept.length > 0) {
        const writers = hist.writers({ connectionId: h.connectionId, kind: o.kind, uuid }, o.keptDs)
        for (let k = 0; k < o.kept.length; k++) {
          const col = o.cols[o.kept[k] as number] as number
          const w = writers[k] as SeriesWriter
          if (u.step < 60) putPerMinute(w, u, col)
          else for (let r = 0; r < u.rows; r++) w.put(res, u.times[r] ?? 0, u.value(r, col))
        }
      }
      if (feed && u.step <= 60 && u.rows > 0) this.summarise(h, o, u)
    }
  }

  /**
   * The overview's figures of one object from a feed answer: every row newer than its summary adds a point to the
   * last hour's sparklines (an answer may hold several minutes), oldest first; the newest row gives the figures.
   * A row's value of a source is the newest number among that row and the two before it (a source may not have
   * its newest value yet).
   */
  private summarise(h: HostState, o: PlanObject, u: RrdUpdates): void {
    let s = this.latest.get(o.uuid)
    if (!s) this.latest.set(o.uuid, (s = emptySummary(h.connectionId, o.kind, o.uuid)))
    for (let r = u.rows - 1; r >= 0; r--) {
      const t = u.times[r] ?? u.end
      if (r > 0 && t <= s.at) continue
      const last = Math.min(u.rows, r + 3)
      addRow(
        s,
        t,
        planFigures(o.figures, (i) => {
          const col = o.cols[i] as number
          for (let k = r; k < last; k++) {
            const v = u.value(k, col)
            if (Number.isFinite(v)) return v
          }
          return Number.NaN
        }),
      )
    }
    this.latestSeen.set(o.uuid, this.now())
  }

  /** VM sources in custom graphs of a pool (its gui_config), computed again when gui_config changes */
  private customOf(connectionId: string): Map<string, Set<string>> {
    const pool = [...(this.opts.pools.graph(connectionId)?.all('pool').values() ?? [])][0]
    const gui = pool?.['gui_config']
    const cached = this.custom.get(connectionId)
    if (cached && cached.gui === gui) return cached.sources
    const sources = gui && typeof gui === 'object' ? customSources(gui as Record<string, string>) : new Map<string, Set<string>>()
    this.custom.set(connectionId, { gui, sources })
    return sources
  }

  // ---------------------------------------------------------------------------------------------
  // first sight, on its budget (see the header)

  private queueVm(h: HostState, uuid: string): void {
    if (this.sightVmSeen.has(uuid)) return
    this.sightVmSeen.add(uuid)
    this.sightVms.push({ what: 'vm', connectionId: h.connectionId, hostKey: h.key, uuid, attempts: 0, notBefore: 0 })
  }

  /** the first waiting job allowed to start now, taken out of its queue */
  private nextSight(now: number): SightJob | undefined {
    for (const q of [this.sightHosts, this.sightVms]) {
      const i = q.findIndex((j) => {
        if (j.notBefore > now || (this.poolSightNotBefore.get(j.connectionId) ?? 0) > now) return false
        if ((this.sightRunning.get(j.connectionId) ?? 0) >= this.budget.perPool) return false
        // the host's 60 s feed goes first
        return this.hosts.get(j.hostKey)?.feeding !== true
      })
      if (i >= 0) return q.splice(i, 1)[0]
    }
    return undefined
  }

  private pumpSight(now: number): void {
    if (this.paused || this.closed || now < this.sightNotBefore || this.livesInFlight > 0 || this.opts.yieldTo?.()) return
    while (this.sightRunningTotal < this.budget.global) {
      const job = this.nextSight(now)
      if (!job) return
      this.sightRunningTotal++
      this.sightRunning.set(job.connectionId, (this.sightRunning.get(job.connectionId) ?? 0) + 1)
      this.track(this.runSight(job))
    }
  }

  /** parse and store one first-sight answer, counting its main-thread time against the budget's share */
  private spend<T>(f: () => T): T {
    const t0 = this.now()
    try {
      return f()
    } finally {
      const ms = Math.max(0, this.now() - t0)
      this.counters.firstSightMs += ms
      const share = Math.min(1, Math.max(0.01, this.budget.cpuShare))
      this.sightNotBefore = Math.max(this.sightNotBefore, this.now()) + ms * (1 / share - 1)
    }
  }

  private async runSight(job: SightJob): Promise<void> {
    const h = this.hosts.get(job.hostKey)
    const hist = this.opts.history()
    try {
      if (!h || !hist) return
      if (job.what === 'host' || job.what === 'catchup') {
        const nowS = Math.floor(this.now() / 1000)
        // host: its whole RRD, then 2 hours at 60 s, a week hourly and a year daily of all its VMs, one answer each;
        // catchup: host and VMs since the stored cursor (XAPI answers hourly rows when that is more than 2 hours ago)
        const asks: { interval: number; start: number; host: boolean }[] =
          job.what === 'catchup'
            ? [{ interval: 60, start: job.from ?? nowS - FIRST_FEED_S, host: true }]
            : [
                { interval: 60, start: nowS - 7200 + 180, host: false },
                { interval: 3600, start: nowS - 7 * 86400 + 3600, host: false },
                { interval: 86400, start: nowS - 366 * 86400, host: false },
              ]
        if (job.what === 'host') {
          const dump = await this.get(h.connectionId, h.address, '/host_rrd', { json: true })
          this.counters.dumps++
          this.spend(() => storeDump(hist, h.connectionId, 'host', h.uuid, parseRrdDump(dump)))
        }
        for (const a of asks) {
          if (this.paused || this.closed) {
            // paused (or closing) between two answers: nothing more is asked; the job starts again on resume
            if (!this.closed) this.sightHosts.unshift(job)
            return
          }
          const text = await this.get(h.connectionId, h.address, '/rrd_updates', { start: a.start, cf: 'AVERAGE', interval: a.interval, host: a.host, json: true })
          this.spend(() => this.store(h, parseRrdUpdates(text), hist, false))
        }
        this.pastFilled(h, hist)
      } else {
        if (hist.knows(job.uuid)) {
          // the feed stored it meanwhile (a migration): nothing to fill
          this.sightVmSeen.delete(job.uuid)
          return
        }
        const dump = await this.get(h.connectionId, h.address, '/vm_rrd', { uuid: job.uuid, json: true })
        this.counters.dumps++
        this.spend(() => storeDump(hist, h.connectionId, 'vm', job.uuid, parseRrdDump(dump), this.customOf(h.connectionId).get(job.uuid)))
        // known now: the feed will not ask again (a dump with no value stays in the set: not asked again either)
        if (hist.knows(job.uuid)) this.sightVmSeen.delete(job.uuid)
      }
      this.sightCounts.done++
    } catch (e) {
      this.sightFailed(job, h, hist, e)
    } finally {
      this.sightRunningTotal--
      const n = (this.sightRunning.get(job.connectionId) ?? 1) - 1
      if (n > 0) this.sightRunning.set(job.connectionId, n)
      else this.sightRunning.delete(job.connectionId)
      this.pumpSight(this.now())
    }
  }

  private sightFailed(job: SightJob, h: HostState | undefined, hist: PerfHistory | undefined, e: unknown): void {
    this.counters.errors++
    job.attempts++
    const what = job.what !== 'vm' ? `the performance history of ${h?.name || h?.address || job.uuid}` : `the RRD of VM ${job.uuid}`
    const msg = e instanceof Error ? e.message : String(e)
    if (job.attempts >= FIRST_SIGHT_ATTEMPTS) {
      this.sightCounts.failed++
      this.log(`perf: ${what} could not be read (${job.attempts} attempts, given up; the history starts now): ${msg}`)
      if (job.what !== 'vm' && h && hist) this.pastFilled(h, hist)
      return
    }
    const wait = Math.min(MAX_BACKOFF_MS, this.feedMs * 2 ** (job.attempts - 1))
    job.notBefore = this.now() + wait
    // the pool's other first-sight jobs wait as long: a pool that fails to answer dumps is busy
    this.poolSightNotBefore.set(job.connectionId, Math.max(this.poolSightNotBefore.get(job.connectionId) ?? 0, job.notBefore))
    this.log(`perf: ${what} could not be read (tried again in ${Math.round(wait / 1000)} s): ${msg}`)
    ;(job.what !== 'vm' ? this.sightHosts : this.sightVms).unshift(job)
  }

  /** a host's past is in the history (or given up): its VMs new from now on get their own job, its cursor moves again */
  private pastFilled(h: HostState, hist: PerfHistory): void {
    h.sight = 'done'
    h.holdCursor = false
    if (h.lastEnd !== undefined) hist.setCursor(h.connectionId, h.uuid, h.lastEnd)
  }

  // ---------------------------------------------------------------------------------------------
  // live: the open graph's objects every 5 s

  private watchedOn(h: HostState): { host: boolean; vms: string[] } {
    const uuids = new Set<string>()
    for (const w of this.watches.values()) if (w.connectionId === h.connectionId) for (const u of w.uuids) uuids.add(u)
    if (uuids.size === 0) return { host: false, vms: [] }
    const graph = this.opts.pools.graph(h.connectionId)
    const vms: string[] = []
    for (const vmRef of graph?.linked('host', h.ref, 'resident_VMs', 'VM') ?? []) {
      const u = str(graph?.get('VM', vmRef), 'uuid')
      if (uuids.has(u)) vms.push(u)
    }
    return { host: uuids.has(h.uuid), vms }
  }

  private async livePoll(h: HostState): Promise<void> {
    const w = this.watchedOn(h)
    h.nextLiveAt = this.now() + this.liveMs
    if (!w.host && w.vms.length === 0) {
      h.liveEnd = undefined
      return
    }
    if (h.failures > 0 && this.now() < h.nextFeedAt) return // backing off: the feed's retry decides
    h.living = true
    this.livesInFlight++
    try {
      const nowS = Math.floor(this.now() / 1000)
      const asked = new Set([...(w.host ? [h.uuid] : []), ...w.vms])
      // an object watched since the last answer gets its whole last 10 minutes, not only what is new
      const covered = [...asked].every((u) => h.liveCovered.has(u))
      const start = covered && h.liveEnd !== undefined && h.liveEnd > nowS - 580 ? h.liveEnd : nowS - 580
      const text = await this.get(h.connectionId, h.address, '/rrd_updates', { start, cf: 'AVERAGE', interval: 5, host: w.host, json: true, vm_uuid: w.vms.length > 0 ? w.vms : [NULL_UUID] })
      this.counters.lives++
      const u = parseRrdUpdates(text)
      h.liveEnd = u.end
      h.liveCovered = asked
      this.storeLive(h, u, asked)
    } catch (e) {
      h.liveEnd = undefined
      const msg = (e as Error).message
      if (h.error !== msg) this.log(`perf: live data of ${h.name || h.address}: ${msg}`)
    } finally {
      h.living = false
      this.livesInFlight--
      // first sight waited for the watched objects' poll
      if (this.livesInFlight === 0) this.pumpSight(this.now())
    }
  }

  private storeLive(h: HostState, u: RrdUpdates, wanted: Set<string>): void {
    const byObj = new Map<string, { kind: PerfKind; cols: { ds: string; i: number }[] }>()
    u.legend.forEach((l, i) => {
      if (!l || l.cf !== 'AVERAGE' || (l.kind !== 'host' && l.kind !== 'vm') || !wanted.has(l.uuid)) return
      let o = byObj.get(l.uuid)
      if (!o) byObj.set(l.uuid, (o = { kind: l.kind, cols: [] }))
      o.cols.push({ ds: l.ds, i })
    })
    const nowS = Math.floor(this.now() / 1000)
    for (const [uuid, o] of byObj) {
      let m = this.live.get(uuid)
      if (!m) this.live.set(uuid, (m = new Map()))
      // rows come newest first; keep them oldest first, only those newer than what is held
      const order = [...u.times.keys()].reverse()
      const update: LiveUpdate = { connectionId: h.connectionId, kind: o.kind, uuid, times: [], series: {} }
      const firstCol = o.cols[0]
      const lastT = firstCol ? (m.get(firstCol.ds)?.t.at(-1) ?? -Infinity) : -Infinity
      for (const r of order) {
        const t = u.times[r] ?? 0
        if (t > lastT) update.times.push(t)
      }
      for (const c of o.cols) {
        let s = m.get(c.ds)
        if (!s) m.set(c.ds, (s = { t: [], v: [] }))
        const vals: (number | null)[] = []
        for (const r of order) {
          const t = u.times[r] ?? 0
          if (t <= (s.t.at(-1) ?? -Infinity)) continue
          const v = u.value(r, c.i)
          s.t.push(t)
          s.v.push(v)
          if (t > lastT) vals.push(Number.isFinite(v) ? v : null)
        }
        const cut = s.t.findIndex((t) => t > Math.max(nowS, s.t.at(-1) ?? 0) - LIVE_KEEP_S)
        if (cut > 0) {
          s.t.splice(0, cut)
          s.v.splice(0, cut)
        }
        update.series[c.ds] = vals
      }
      if (update.times.length > 0) for (const cb of this.liveListeners) cb(update)
    }
    // objects no longer watched leave memory
    for (const uuid of this.live.keys()) if (!this.isWatched(uuid)) this.live.delete(uuid)
  }

  private isWatched(uuid: string): boolean {
    for (const w of this.watches.values()) if (w.uuids.has(uuid)) return true
    return false
  }
}

/** rows finer than a minute (a live answer, or a host that ignores interval): averaged per minute */
function putPerMinute(w: SeriesWriter, u: RrdUpdates, col: number): void {
  const acc = new Map<number, { s: number; n: number }>()
  for (let r = 0; r < u.rows; r++) {
    const v = u.value(r, col)
    if (!Number.isFinite(v)) continue
    const t = slotTime(60, u.times[r] ?? 0)
    const a = acc.get(t) ?? { s: 0, n: 0 }
    a.s += v
    a.n++
    acc.set(t, a)
  }
  for (const [t, a] of acc) w.put(60, t, a.s / a.n)
}

/** the resolution a step's rows are stored at (the answer's step is the truth) */
export function resolutionOf(step: number): PerfRes {
  if (step <= 60) return 60
  if (step <= 3600) return 3600
  return 86400
}

/** the AVERAGE archives of a full dump (5 s ones are left out: the feed's 60 s rows cover them) */
function storeDump(hist: PerfHistory, connectionId: string, kind: PerfKind, uuid: string, dump: ReturnType<typeof parseRrdDump>, custom?: Set<string>): void {
  for (const a of dump.archives) {
    if (a.cf !== 'AVERAGE' || a.resolution < 60) continue
    const res = resolutionOf(a.resolution)
    const n = dump.ds.length
    dump.ds.forEach((d, c) => {
      if (!isHistorySource(kind, d.name) && !custom?.has(d.name)) return
      const w = hist.writer({ connectionId, kind, uuid, ds: d.name })
      for (let r = 0; r < a.rows; r++) w.put(res, a.times[r] ?? 0, a.data[r * n + c] ?? Number.NaN)
    })
  }
}
