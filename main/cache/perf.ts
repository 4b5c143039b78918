/**
 * Performance history in the cache database (issue 16): what the RRD collector (main/perf/collector.ts)
 * learnt from every host, kept so any range (10 min … 1 year) can be drawn, also for a pool that is
 * offline now.
 *
 * Layout (schema.ts, migration 3 → 4):
 *   perf_series  (id, connection_id, kind, uuid, ds)       one row per data source of an object
 *   perf_block   (series, res, t0, data)                    360 slots of one resolution from t0:
 *                60 s → 6 h, 3600 s → 15 days, 86400 s → 360 days; `data` = one encoded block (below)
 *   perf_cursor  (host_uuid, connection_id, end_t)         end of the last /rrd_updates answer stored
 *
 * A value lives in a slot chosen by its time, so writing the same row twice (an answer that repeats
 * its first row, a restart that asks again from the stored cursor) can never duplicate it. A NaN
 * never overwrites a number. Values are held in memory (only the slots written) until `flush()`
 * writes the dirty blocks and the cursors in one transaction: the cursor on disk never runs ahead
 * of the data on disk, and a crash loses nothing the host still has (its 60 s archive holds 2 h).
 *
 * Block encoding (v2): byte 0xFF (a raw deflate stream never starts with it: block type 11 is
 * reserved), byte 2, the block's lowest value and its step (two float64), then the 360 slots as
 * 16-bit codes (value = low + code × step, 0xFFFF = no value), high bytes first then low bytes,
 * deflated (byte 2) or as they are (byte 3: a noisy block, where deflate would save under 10 % —
 * judged by the bytes equal to their neighbour — but cost most of a flush's CPU: the collector
 * bench's profile had zlib's deflate as the biggest self time of first sight). A value is off by at most half a step = 1/131068 of the block's range (a constant series
 * is exact), far below a pixel of any graph; re-encoding a block whose range widened can add half of
 * the new step each time. Blocks of session 3 (v1: deflated Float32) are still read.
 *
 * Size, measured by test/bench/perf.bench.ts (`npm run bench perf`, 2026-12-07, load1 ≈ 17) on the
 * simulator's series for 48 running VMs of the many-pools fleet × 30 days, scaled to 20,000 VMs
 * (18.3 standard sources per VM, 16.1 kept: what the default graphs and the overview draw):
 *   session 3 (v1, every source):   20,000 VMs × 30 days of 60 s rows ≈ 47 GiB
 *   now (v2, drawn sources only):   1.93 bytes per value, 44.6 KB per VM-day → ≈ 25 GiB
 *   hourly rows ≈ 200 bytes per VM-day, daily ≈ 2 bytes; the SQLite file is ≈ 1.3–1.6 × the blocks.
 * So 30 days of 60 s rows for 20,000 VMs cannot fit the default 2 GiB bound (≈ 1.5 days of them do,
 * ≈ 190 days of hourly rows, 5 years of daily ones; 30 days of 60 s rows fit up to ≈ 1,400 VMs). The
 * bound always holds instead, and it is shared by resolution so the newest minutes are never what
 * goes first: when the blocks exceed `maxBytes`, the resolution most over its share (60 s 50 %,
 * hourly 35 %, daily 15 %; a share one resolution does not use is free for the others) gives up its
 * oldest blocks — 60 s and hourly ones averaged into the next coarser resolution, daily ones deleted.
 * Sizes are counted as blocks are written (one SUM at the first need), so pruning never scans the table.
 *
 * Kept: 60 s rows for `keep60sDays` (default 30), then averaged into hourly rows (kept
 * `keepHourlyDays`, default 400), then daily (`keepDailyDays`, default 1830), within `maxBytes`.
 * Objects that are gone do not stay forever: a series left with no block (everything aged out, or
 * gave way to the size bound) is deleted, and so is its host's cursor; an object the caller knows is
 * gone (prune's `gone`: a VM destroyed, a host forgotten — its pool is connected and has it no more)
 * keeps its history `keepGoneDays` (default 30) after its newest value, so it can still be looked at
 * for a while (the overview's "yesterday", a graph from its uuid), then all of it is deleted. An
 * object of a pool that is offline now is not known gone: only the age limits and the bound apply.
 * Runs on the main thread's connection (like the action history): each flush / prune step is one
 * short transaction. Reads (every graph) never wait for the cache worker: in WAL mode a reader sees
 * the last committed state while the worker writes. A write here needs SQLite's one write lock,
 * which the worker holds during each of its transactions; better-sqlite3 waits synchronously, so
 * flush() and prune() wait at most WRITE_WAIT_MS for it (not the connection's 5 s busy_timeout) and
 * otherwise throw SQLITE_BUSY with everything still pending: the collector tries again 10 s later.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import type Database from 'better-sqlite3'

export type PerfRes = 60 | 3600 | 86400
export const PERF_RESOLUTIONS: readonly PerfRes[] = [60, 3600, 86400]
export const BLOCK_SLOTS = 360
export type PerfKind = 'host' | 'vm'

export interface PerfLimits {
  keep60sDays: number
  keepHourlyDays: number
  keepDailyDays: number
  /**
   * an object known gone (a VM destroyed, a host forgotten: its pool is connected and has it no more) keeps
   * its history this long after its newest value, then all of it is deleted
   */
  keepGoneDays: number
  /** upper bound of the stored blocks (compressed bytes) */
  maxBytes: number
}
export const DEFAULT_PERF_LIMITS: PerfLimits = { keep60sDays: 30, keepHourlyDays: 400, keepDailyDays: 1830, keepGoneDays: 30, maxBytes: 2 * 1024 * 1024 * 1024 }

/** an object of the history */
export interface PerfObject {
  connectionId: string
  kind: PerfKind
  uuid: string
}

/** what prune() asks the caller about the objects of the history (the caller knows the pools) */
export interface GoneCheck {
  /** quick, for every object: it is still in a connected pool (nearly all are), nothing more is read of it */
  present(uuid: string): boolean
  /** for the others, with what the history stored of it: it is known gone (not only in a pool offline now) */
  isGone(o: PerfObject): boolean
}

export interface SeriesKey {
  connectionId: string
  kind: PerfKind
  uuid: string
  ds: string
}

/** the start of the block holding time t at resolution res */
export function blockStart(res: PerfRes, t: number): number {
  const span = res * BLOCK_SLOTS
  return Math.floor(t / span) * span
}

/** the slot time of a row at time t: rows are stamped at the end of their interval */
export function slotTime(res: PerfRes, t: number): number {
  return Math.ceil(t / res) * res
}

const V2 = 0xff
const NO_CODE = 0xffff
const LEVELS = 65534
const V2_HEADER = 18
/** adjacent equal bytes below which a block's codes are stored as they are (deflate would save under ~10 %) */
const RAW_BELOW_REPEATS = 72

/** a block of BLOCK_SLOTS values (NaN = no value) as stored (v2, see above) */
export function encodeBlock(v: Float64Array | Float32Array): Buffer {
  let lo = Infinity
  let hi = -Infinity
  for (let i = 0; i < BLOCK_SLOTS; i++) {
    const x = v[i] as number
    if (Number.isNaN(x)) continue
    if (x < lo) lo = x
    if (x > hi) hi = x
  }
  if (lo === Infinity) lo = hi = 0
  const step = hi > lo ? (hi - lo) / LEVELS : 0
  const codes = Buffer.allocUnsafe(BLOCK_SLOTS * 2)
  for (let i = 0; i < BLOCK_SLOTS; i++) {
    const x = v[i] as number
    const c = Number.isNaN(x) ? NO_CODE : step === 0 ? 0 : Math.min(LEVELS, Math.max(0, Math.round((x - lo) / step)))
    codes[i] = c >>> 8
    codes[BLOCK_SLOTS + i] = c & 0xff
  }
  let repeats = 0
  for (let i = 1; i < BLOCK_SLOTS; i++) {
    if (codes[i] === codes[i - 1]) repeats++
    if (codes[BLOCK_SLOTS + i] === codes[BLOCK_SLOTS + i - 1]) repeats++
  }
  const raw = repeats < RAW_BELOW_REPEATS
  const body = raw ? codes : deflateRawSync(codes, { level: 6 })
  const out = Buffer.allocUnsafe(V2_HEADER + body.length)
  out[0] = V2
  out[1] = raw ? 3 : 2
  out.writeDoubleLE(lo, 2)
  out.writeDoubleLE(step, 10)
  body.copy(out, V2_HEADER)
  return out
}

/** a block as stored (v2 deflated or raw codes, or v1 = deflated Float32); damaged bytes read as an empty block (NaN everywhere), never a throw */
export function decodeBlock(b: Buffer | Uint8Array): Float64Array {
  try {
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
    if (buf[0] === V2) {
      if ((buf[1] !== 2 && buf[1] !== 3) || buf.length < V2_HEADER) return emptyBlock()
      const lo = buf.readDoubleLE(2)
      const step = buf.readDoubleLE(10)
      const codes = buf[1] === 3 ? buf.subarray(V2_HEADER) : inflateRawSync(buf.subarray(V2_HEADER))
      if (codes.length !== BLOCK_SLOTS * 2 || !Number.isFinite(lo) || !Number.isFinite(step)) return emptyBlock()
      const out = new Float64Array(BLOCK_SLOTS)
      for (let i = 0; i < BLOCK_SLOTS; i++) {
        const c = ((codes[i] as number) << 8) | (codes[BLOCK_SLOTS + i] as number)
        out[i] = c === NO_CODE ? Number.NaN : lo + c * step
      }
      return out
    }
    const raw = inflateRawSync(buf)
    if (raw.length !== BLOCK_SLOTS * 4) return emptyBlock()
    const f = new Float32Array(BLOCK_SLOTS)
    new Uint8Array(f.buffer).set(raw)
    return Float64Array.from(f)
  } catch {
    return emptyBlock()
  }
}

export function emptyBlock(): Float64Array {
  return new Float64Array(BLOCK_SLOTS).fill(Number.NaN)
}

/**
 * The values of one series written since the last flush, in order (a later write of a slot wins), as ONE flat list
 * of pairs: the slot's time × 4 + its resolution's index in PERF_RESOLUTIONS, then the value (both exact doubles: a
 * slot time < 2^51). A first sight holds up to the collector's bound (2,000,000 values) of these until it flushes;
 * the earlier form (res → t0 → {slots[], values[]}: two Maps per series, an object and two arrays per block) took
 * 39–105 bytes per value with first-sight shapes (bench-10k: ≈78 MB of main's heap at settle, a few values in each
 * of ≈5 blocks per series); this takes ≈16 bytes per value and one array per series.
 */
type PendingPairs = number[]

function resIndex(res: PerfRes): number {
  return res === 60 ? 0 : res === 3600 ? 1 : 2
}

/** the slot time of a pending pair's key */
function pairTime(key: number): number {
  return Math.floor(key / 4)
}

/** the index in PERF_RESOLUTIONS of a pending pair's key (also for a time before 1970) */
function pairResIndex(key: number): number {
  return key - 4 * Math.floor(key / 4)
}

/** the pending values of one series at `res` with block start in [lo, hi], as blocks by start (NaN where nothing is pending) */
function pendingBlocksOf(p: PendingPairs, res: PerfRes, lo = -Infinity, hi = Infinity): Map<number, Float64Array> {
  const out = new Map<number, Float64Array>()
  const ri = resIndex(res)
  for (let i = 0; i < p.length; i += 2) {
    const key = p[i] as number
    if (pairResIndex(key) !== ri) continue
    const st = pairTime(key)
    const t0 = blockStart(res, st)
    if (t0 < lo || t0 > hi) continue
    let b = out.get(t0)
    if (!b) out.set(t0, (b = emptyBlock()))
    b[(st - t0) / res] = p[i + 1] as number
  }
  return out
}

/** `pending` (NaN: nothing pending in that slot) written over `block` */
function applyPending(block: Float64Array, pending: Float64Array): void {
  for (let i = 0; i < BLOCK_SLOTS; i++) {
    const v = pending[i] as number
    if (!Number.isNaN(v)) block[i] = v
  }
}

/** the longest the main thread waits for the cache worker's write lock before a flush / prune step gives up */
export const WRITE_WAIT_MS = 50

/** the share of `maxBytes` each resolution may keep when the history is over it */
const SHARE: Record<PerfRes, number> = { 60: 0.5, 3600: 0.35, 86400: 0.15 }

/**
 * The series of one object held in memory (series ids, pending values), by data source. No object per
 * series: a series held costs one Map entry (≈102 → ≈50 bytes per series after a flush, scratch
 * test/.tmp/perf-held.ts: 10,000 VMs × 16 sources; bench-10k holds ≈160,000 series, the huge fleet ten times that).
 */
interface ObjectState {
  connectionId: string
  kind: PerfKind
  uuid: string
  /** ds → its perf_series row id (undefined: not looked up or no row yet), for every series held */
  ids: Map<string, number | undefined>
  /** ds → the values written since the last flush (see PendingPairs); undefined: nothing pending */
  pending: Map<string, PendingPairs> | undefined
  /** when a value was last written (the history's clock, s): an object the feed no longer brings is let go */
  lastPut: number
}

/** writes values of one series: found once, then each value costs no lookup of its series */
export interface SeriesWriter {
  /** one value at time t (s) of resolution res; NaN and ±Infinity are gaps and not stored */
  put(res: PerfRes, t: number, v: number): void
}

/**
 * An object nothing was written for in this long (s) leaves memory at the next flush (its pending
 * values written first): memory holds the objects the feed still brings, not every one ever seen.
 */
export const IDLE_OBJECT_S = 3600

export interface PerfReadResult {
  /** point times (s), ascending */
  times: number[]
  /** per requested ds: value per time (null = no value) */
  values: (number | null)[][]
  /** resolution of the finest data used, s */
  resolution: number
}

export interface PruneReport {
  consolidated: number
  /** blocks deleted */
  deleted: number
  /** objects known gone whose whole history was deleted */
  forgotten: number
  /** series deleted because no block of theirs was left (everything aged out or gave way to the size bound) */
  emptySeries: number
  bytes: number
  /** false: the time budget ran out first (call again) */
  done: boolean
}

/** the oldest time (s) with a value at each resolution, null when there is none */
export interface PerfDepth {
  60: number | null
  3600: number | null
  86400: number | null
}

/** what the writers of a history add to */
interface WriterSink {
  pending: number
  known: Map<string, { connectionId: string; kind: PerfKind }>
  /** counts flushes: a writer's list of pending pairs is its own until the next one */
  flushes: number
}

/** one series' writer: a class (one small object per series written, no closures) */
class HeldSeriesWriter implements SeriesWriter {
  /** an object is known once it has a value (a VM that has just started answers NaN: its dump is still wanted) */
  private known = false

  constructor(
    private readonly sink: WriterSink,
    /** the object as the writer's caller named it (a VM moved between pools: the newer connection) */
    private readonly key: PerfObject,
    private readonly object: ObjectState,
    private readonly ds: string,
  ) {}

  private pairs: PendingPairs | undefined
  private pairsOf = -1

  put(res: PerfRes, t: number, v: number): void {
    if (!Number.isFinite(v) || !Number.isFinite(t)) return
    if (!this.known) {
      // its connection as the series rows will say after the next flush (a VM moved between pools: the newer one)
      this.sink.known.set(this.key.uuid, { connectionId: this.key.connectionId, kind: this.key.kind })
      this.known = true
    }
    let p = this.pairs
    if (!p || this.pairsOf !== this.sink.flushes) {
      const pending = (this.object.pending ??= new Map())
      p = pending.get(this.ds)
      if (!p) pending.set(this.ds, (p = []))
      this.pairs = p
      this.pairsOf = this.sink.flushes
    }
    p.push(slotTime(res, t) * 4 + resIndex(res), v)
    this.sink.pending++
  }
}

export class PerfHistory {
  /** uuid → its series in memory (evicted once idle: see IDLE_OBJECT_S) */
  private readonly objectsInMemory = new Map<string, ObjectState>()
  private readonly pendingCursors = new Map<string, { connectionId: string; end: number }>()
  /** every object with a value stored or pending: uuid → its connection and kind (see known()) */
  private readonly knownObjects = new Map<string, { connectionId: string; kind: PerfKind }>()
  private knownLoaded = false
  /** objects found gone by a prune, and their newest value (s): not looked up again at every prune */
  private readonly goneNewest = new Map<string, number>()
  /** bytes stored per resolution (undefined until first needed) */
  private bytes: Record<PerfRes, number> | undefined
  /** what every writer adds to: the pending count and the objects known (see HeldSeriesWriter) */
  private readonly sink: WriterSink = { pending: 0, known: this.knownObjects, flushes: 0 }
  private readonly st: {
    insertSeries: Database.Statement
    seriesId: Database.Statement
    getBlock: Database.Statement
    putBlock: Database.Statement
    putCursor: Database.Statement
    getCursor: Database.Statement
    blocksInRange: Database.Statement
    seriesOf: Database.Statement
  }
  private limitsNow: PerfLimits

  constructor(
    private readonly db: Database.Database,
    limits: Partial<PerfLimits> = {},
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.limitsNow = { ...DEFAULT_PERF_LIMITS, ...limits }
    this.st = {
      insertSeries: db.prepare('INSERT INTO perf_series (connection_id, kind, uuid, ds) VALUES (?, ?, ?, ?) ON CONFLICT (uuid, ds) DO UPDATE SET connection_id = excluded.connection_id RETURNING id'),
      seriesId: db.prepare('SELECT id FROM perf_series WHERE uuid = ? AND ds = ?'),
      getBlock: db.prepare('SELECT data FROM perf_block WHERE series = ? AND res = ? AND t0 = ?'),
      putBlock: db.prepare('INSERT OR REPLACE INTO perf_block (series, res, t0, data) VALUES (?, ?, ?, ?)'),
      putCursor: db.prepare('INSERT OR REPLACE INTO perf_cursor (host_uuid, connection_id, end_t) VALUES (?, ?, ?)'),
      getCursor: db.prepare('SELECT end_t FROM perf_cursor WHERE host_uuid = ?'),
      blocksInRange: db.prepare('SELECT res, t0, data FROM perf_block WHERE series = ? AND res = ? AND t0 >= ? AND t0 <= ? ORDER BY t0'),
      seriesOf: db.prepare('SELECT connection_id, kind, ds FROM perf_series WHERE uuid = ?'),
    }
  }

  get limits(): Readonly<PerfLimits> {
    return this.limitsNow
  }

  /** new limits (the size bound is a user setting); the next prune() applies them */
  setLimits(limits: Partial<PerfLimits>): void {
    this.limitsNow = { ...this.limitsNow, ...limits }
  }

  private objectState(key: PerfObject): ObjectState {
    let o = this.objectsInMemory.get(key.uuid)
    if (!o) this.objectsInMemory.set(key.uuid, (o = { connectionId: key.connectionId, kind: key.kind, uuid: key.uuid, ids: new Map(), pending: undefined, lastPut: 0 }))
    return o
  }

  /** the pending pairs of every series held (of one object: `uuid`) */
  private *allPending(uuid?: string): Iterable<PendingPairs> {
    if (uuid !== undefined) yield* this.objectsInMemory.get(uuid)?.pending?.values() ?? []
    else for (const o of this.objectsInMemory.values()) if (o.pending) yield* o.pending.values()
  }

  /** the series' row id: held, else looked up (and kept when the series is held) */
  private seriesIdOf(uuid: string, ds: string): number | undefined {
    const o = this.objectsInMemory.get(uuid)
    const held = o?.ids.get(ds)
    if (held !== undefined) return held
    const id = (this.st.seriesId.get(uuid, ds) as { id: number } | undefined)?.id
    if (o && id !== undefined && o.ids.has(ds)) o.ids.set(ds, id)
    return id
  }

  /** series held in memory (pending values or a known id): bounded by the objects written in the last IDLE_OBJECT_S */
  heldSeries(): number {
    let n = 0
    for (const o of this.objectsInMemory.values()) n += o.ids.size
    return n
  }

  /** a writer of one series: many values of it without looking the series up each time (use it at once, do not keep it across flush()) */
  writer(key: SeriesKey): SeriesWriter {
    const o = this.objectState(key)
    o.lastPut = this.now()
    return this.seriesWriter(o, key, key.ds)
  }

  /**
   * writers of several series of one object, in the order of `dss` (the object looked up and its time taken once:
   * the RRD feed writes every kept source of each VM of a host per answer); same rules as writer()
   */
  writers(key: PerfObject, dss: readonly string[]): SeriesWriter[] {
    const o = this.objectState(key)
    o.lastPut = this.now()
    const out: SeriesWriter[] = new Array<SeriesWriter>(dss.length)
    for (let i = 0; i < dss.length; i++) out[i] = this.seriesWriter(o, key, dss[i] as string)
    return out
  }

  private seriesWriter(o: ObjectState, key: PerfObject, ds: string): SeriesWriter {
    if (!o.ids.has(ds)) o.ids.set(ds, undefined)
    return new HeldSeriesWriter(this.sink, key, o, ds)
  }

  /** one value at time t (s) of resolution res; NaN and ±Infinity are gaps and not stored (many values of one series: writer()) */
  put(key: SeriesKey, res: PerfRes, t: number, v: number): void {
    if (!Number.isFinite(v) || !Number.isFinite(t)) return
    this.writer(key).put(res, t, v)
  }

  /** values waiting for flush() (the collector flushes early past a bound: a first sight brings a year of rows) */
  pendingValues(): number {
    return this.sink.pending
  }

  /** the collector stored every row of a host's answer up to `end` (host clock) */
  setCursor(connectionId: string, hostUuid: string, end: number): void {
    this.pendingCursors.set(hostUuid, { connectionId, end })
  }

  cursor(hostUuid: string): number | undefined {
    const p = this.pendingCursors.get(hostUuid)
    if (p) return p.end
    const r = this.st.getCursor.get(hostUuid) as { end_t: number } | undefined
    return r?.end_t
  }

  /** whether any value of this object was ever stored or is pending */
  knows(uuid: string): boolean {
    return this.known().has(uuid)
  }

  /**
   * every object with a value stored or pending, with its connection and kind: read from the table once (one row per
   * object), then kept as values are written and objects dropped — the overview's periods and the prune read it, not the table
   */
  private known(): Map<string, { connectionId: string; kind: PerfKind }> {
    if (!this.knownLoaded) {
      for (const r of this.db.prepare('SELECT uuid, connection_id, kind FROM perf_series GROUP BY uuid').iterate() as Iterable<{ uuid: string; connection_id: string; kind: PerfKind }>)
        if (!this.knownObjects.has(r.uuid)) this.knownObjects.set(r.uuid, { connectionId: r.connection_id, kind: r.kind })
      this.knownLoaded = true
    }
    return this.knownObjects
  }

  /** number of blocks waiting for flush() */
  pendingBlocks(): number {
    let n = 0
    const blocks = new Set<number>()
    for (const p of this.allPending()) {
      blocks.clear()
      // a block's start × 4 + its resolution's index: one number per (resolution, block)
      for (let i = 0; i < p.length; i += 2) {
        const key = p[i] as number
        blocks.add(blockStart(PERF_RESOLUTIONS[pairResIndex(key)] ?? 60, pairTime(key)) * 4 + pairResIndex(key))
      }
      n += blocks.size
    }
    return n
  }

  /** writes every pending block (merged into what is stored) and the cursors, in one transaction */
  flush(): number {
    return this.briefly(() => this.flushNow())
  }

  /** runs f with the connection waiting at most WRITE_WAIT_MS for the write lock */
  private briefly<T>(f: () => T): T {
    const before = this.db.pragma('busy_timeout', { simple: true })
    this.db.pragma(`busy_timeout = ${WRITE_WAIT_MS}`)
    try {
      return f()
    } finally {
      this.db.pragma(`busy_timeout = ${typeof before === 'number' ? before : 5000}`)
    }
  }

  private flushNow(): number {
    let written = 0
    const tx = this.db.transaction(() => {
      for (const o of this.objectsInMemory.values()) {
        if (!o.pending) continue
        for (const [ds, pairs] of o.pending) {
          let id = o.ids.get(ds)
          if (id === undefined) o.ids.set(ds, (id = (this.st.insertSeries.get(o.connectionId, o.kind, o.uuid, ds) as { id: number }).id))
          for (const res of PERF_RESOLUTIONS) {
            for (const [t0, block] of pendingBlocksOf(pairs, res)) {
              const row = this.st.getBlock.get(id, res, t0) as { data: Buffer } | undefined
              const merged = row ? decodeBlock(row.data) : block
              if (row) applyPending(merged, block)
              const data = encodeBlock(merged)
              this.st.putBlock.run(id, res, t0, data)
              this.grew(res, data.length - (row?.data.length ?? 0))
              written++
            }
          }
        }
      }
      for (const [host, c] of this.pendingCursors) this.st.putCursor.run(host, c.connectionId, c.end)
    })
    tx()
    // everything is on disk now: objects nothing was written for lately leave memory (an evicted
    // series found again only costs looking its id up at its next flush)
    const idleBefore = this.now() - IDLE_OBJECT_S
    for (const [uuid, o] of this.objectsInMemory) {
      o.pending = undefined
      if (o.lastPut < idleBefore) this.objectsInMemory.delete(uuid)
    }
    this.pendingCursors.clear()
    this.sink.pending = 0
    this.sink.flushes++
    return written
  }

  /** every object with stored (or pending) history (from memory: see known()) */
  objects(): PerfObject[] {
    return [...this.known()].map(([uuid, o]) => ({ connectionId: o.connectionId, kind: o.kind, uuid }))
  }

  /** data sources stored for an object (pending ones included) */
  sourcesOf(uuid: string): { connectionId: string; kind: PerfKind; ds: string }[] {
    const out = new Map<string, { connectionId: string; kind: PerfKind; ds: string }>()
    for (const r of this.st.seriesOf.iterate(uuid) as Iterable<{ connection_id: string; kind: PerfKind; ds: string }>) out.set(r.ds, { connectionId: r.connection_id, kind: r.kind, ds: r.ds })
    const o = this.objectsInMemory.get(uuid)
    for (const ds of o?.pending?.keys() ?? []) if (o) out.set(ds, { connectionId: o.connectionId, kind: o.kind, ds })
    return [...out.values()]
  }

  /** blocks of one series and resolution overlapping [from, to], stored merged with pending */
  private blocks(uuid: string, ds: string, res: PerfRes, from: number, to: number): Map<number, Float64Array> {
    const out = new Map<number, Float64Array>()
    const id = this.seriesIdOf(uuid, ds)
    const lo = blockStart(res, from)
    const hi = blockStart(res, to)
    if (id !== undefined) for (const r of this.st.blocksInRange.iterate(id, res, lo, hi) as Iterable<{ t0: number; data: Buffer }>) out.set(r.t0, decodeBlock(r.data))
    const pending = this.objectsInMemory.get(uuid)?.pending?.get(ds)
    if (pending) {
      for (const [t0, b] of pendingBlocksOf(pending, res, lo, hi)) {
        const base = out.get(t0)
        if (base) applyPending(base, b)
        else out.set(t0, b)
      }
    }
    return out
  }

  /**
   * Values of `ds` of an object in (from, to], averaged into points `bucket` s apart. Each stretch
   * of time comes from the finest resolution that has it; a coarser stretch gets points at least
   * its own resolution apart.
   */
  read(uuid: string, dss: readonly string[], from: number, to: number, bucket: number): PerfReadResult {
    bucket = Math.max(1, Math.floor(bucket))
    const covered: [number, number][] = []
    const points = new Map<number, (number | null)[]>()
    let finest = 0
    for (const res of PERF_RESOLUTIONS) {
      const b = Math.max(bucket, res)
      const sums = new Map<number, { s: number[]; n: number[] }>()
      dss.forEach((ds, di) => {
        for (const [t0, block] of this.blocks(uuid, ds, res, from - res * BLOCK_SLOTS, to)) {
          for (let i = 0; i < BLOCK_SLOTS; i++) {
            const v = block[i] as number
            if (Number.isNaN(v)) continue
            const t = t0 + i * res
            if (t <= from || t > to) continue
            const bt = Math.ceil(t / b) * b
            let acc = sums.get(bt)
            if (!acc) sums.set(bt, (acc = { s: new Array<number>(dss.length).fill(0), n: new Array<number>(dss.length).fill(0) }))
            acc.s[di] = (acc.s[di] ?? 0) + v
            acc.n[di] = (acc.n[di] ?? 0) + 1
          }
        }
      })
      const here: [number, number][] = []
      for (const [bt, acc] of sums) {
        const lo = bt - b
        if (covered.some(([a, z]) => lo < z && bt > a)) continue
        points.set(
          bt,
          acc.s.map((s, i) => ((acc.n[i] ?? 0) > 0 ? s / (acc.n[i] ?? 1) : null)),
        )
        here.push([lo, bt])
      }
      if (here.length > 0 && finest === 0) finest = res
      covered.push(...mergeRanges(here))
    }
    const times = [...points.keys()].sort((a, b) => a - b)
    // a bucket is labelled by its end (ceil); the one holding `to` would end after it — a time that has
    // not come yet: it is shown at `to` (only that bucket can pass `to`, so the times stay ascending)
    return { times: times.map((t) => Math.min(t, to)), values: dss.map((_, i) => times.map((t) => points.get(t)?.[i] ?? null)), resolution: finest }
  }

  /** the newest stored time of any series of the object, or undefined */
  newest(uuid: string): number | undefined {
    let best: number | undefined
    for (const s of this.sourcesOf(uuid)) {
      for (const res of PERF_RESOLUTIONS) {
        const id = this.seriesIdOf(uuid, s.ds)
        let t0: number | undefined
        if (id !== undefined) t0 = (this.db.prepare('SELECT max(t0) AS t0 FROM perf_block WHERE series = ? AND res = ?').get(id, res) as { t0: number | null }).t0 ?? undefined
        const p = this.objectsInMemory.get(uuid)?.pending?.get(s.ds) ?? []
        for (let i = 0; i < p.length; i += 2) {
          const key = p[i] as number
          if (pairResIndex(key) !== resIndex(res)) continue
          const pt = blockStart(res, pairTime(key))
          t0 = t0 === undefined ? pt : Math.max(t0, pt)
        }
        if (t0 === undefined) continue
        const blocks = this.blocks(uuid, s.ds, res, t0, t0)
        const b = blocks.get(t0)
        if (!b) continue
        for (let i = BLOCK_SLOTS - 1; i >= 0; i--) {
          if (!Number.isNaN(b[i] as number)) {
            const t = t0 + i * res
            best = best === undefined ? t : Math.max(best, t)
            break
          }
        }
      }
      if (best !== undefined) break
    }
    return best
  }

  /**
   * How far back each resolution goes: the oldest time with a value, of one object (`uuid`) or of the
   * whole history, pending values included. What the Performance tab and the fleet overview say
   * ("1-minute detail since …, hourly before").
   */
  depth(uuid?: string): PerfDepth {
    const out: PerfDepth = { 60: null, 3600: null, 86400: null }
    const ids = uuid === undefined ? undefined : (this.db.prepare('SELECT id FROM perf_series WHERE uuid = ?').all(uuid) as { id: number }[]).map((r) => r.id)
    for (const res of PERF_RESOLUTIONS) {
      let best: number | null = null
      // stored: the oldest block (of the object's series, or of any), its first slot with a value
      const rows =
        ids === undefined
          ? (this.db.prepare('SELECT data, t0 FROM perf_block WHERE res = ? AND t0 = (SELECT min(t0) FROM perf_block WHERE res = ?) LIMIT 50').all(res, res) as { data: Buffer; t0: number }[])
          : ids.flatMap((id) => (this.db.prepare('SELECT data, t0 FROM perf_block WHERE series = ? AND res = ? ORDER BY t0 LIMIT 1').all(id, res) as { data: Buffer; t0: number }[]))
      for (const r of rows) {
        const t = firstValueTime(decodeBlock(r.data), r.t0, res)
        if (t !== null && (best === null || t < best)) best = t
      }
      for (const p of this.allPending(uuid)) {
        for (let i = 0; i < p.length; i += 2) {
          const key = p[i] as number
          if (pairResIndex(key) !== resIndex(res)) continue
          const t = pairTime(key)
          if (best === null || t < best) best = t
        }
      }
      out[res] = best
    }
    return out
  }

  /** bytes of stored blocks per resolution: summed once, then counted as blocks are written and removed */
  private sizes(): Record<PerfRes, number> {
    if (!this.bytes) {
      const b: Record<PerfRes, number> = { 60: 0, 3600: 0, 86400: 0 }
      for (const r of this.db.prepare('SELECT res, total(length(data)) AS n FROM perf_block GROUP BY res').iterate() as Iterable<{ res: number; n: number }>) if (r.res === 60 || r.res === 3600 || r.res === 86400) b[r.res] = r.n
      this.bytes = b
    }
    return this.bytes
  }

  private grew(res: PerfRes, delta: number): void {
    if (this.bytes) this.bytes[res] += delta
  }

  /** bytes of stored blocks */
  sizeBytes(): number {
    const b = this.sizes()
    return b[60] + b[3600] + b[86400]
  }

  /** bytes of stored blocks of one resolution */
  sizeOf(res: PerfRes): number {
    return this.sizes()[res]
  }

  /** a 60 s or hourly block averaged into the next coarser resolution, merged where that has no value */
  private consolidate(rows: { series: number; res: PerfRes; t0: number; data: Buffer }[]): void {
    const getBlock = this.st.getBlock
    const put = this.st.putBlock
    const del = this.db.prepare('DELETE FROM perf_block WHERE series = ? AND res = ? AND t0 = ?')
    for (const r of rows) {
      const coarse: PerfRes = r.res === 60 ? 3600 : 86400
      const v = decodeBlock(r.data)
      const acc = new Map<number, { s: number; n: number }>()
      for (let i = 0; i < BLOCK_SLOTS; i++) {
        const x = v[i] as number
        if (Number.isNaN(x)) continue
        const ct = slotTime(coarse, r.t0 + i * r.res)
        const a = acc.get(ct) ?? { s: 0, n: 0 }
        a.s += x
        a.n++
        acc.set(ct, a)
      }
      const touched = new Map<number, Float64Array>()
      const sizesBefore = new Map<number, number>()
      for (const [ct, a] of acc) {
        const t0 = blockStart(coarse, ct)
        let b = touched.get(t0)
        if (!b) {
          const row = getBlock.get(r.series, coarse, t0) as { data: Buffer } | undefined
          b = row ? decodeBlock(row.data) : emptyBlock()
          touched.set(t0, b)
          sizesBefore.set(t0, row?.data.length ?? 0)
        }
        const i = (ct - t0) / coarse
        if (Number.isNaN(b[i] as number)) b[i] = a.s / a.n
      }
      for (const [t0, b] of touched) {
        const data = encodeBlock(b)
        put.run(r.series, coarse, t0, data)
        this.grew(coarse, data.length - (sizesBefore.get(t0) ?? 0))
        sizesBefore.set(t0, data.length)
      }
      del.run(r.series, r.res, r.t0)
      this.grew(r.res, -r.data.length)
    }
  }

  /**
   * Age limits, then the size bound shared by resolution; each step one short transaction. With a
   * `budgetMs`, it stops after the step that used it up (`done: false`): a smaller bound set by the
   * user is reached over several calls, never by blocking the main thread for long.
   */
  prune(now = this.now(), budgetMs = Number.POSITIVE_INFINITY, gone?: GoneCheck): PruneReport {
    return this.briefly(() => this.pruneNow(now, budgetMs, gone))
  }

  private pruneNow(now: number, budgetMs: number, gone: GoneCheck | undefined): PruneReport {
    const started = performance.now()
    const out = (): boolean => performance.now() - started >= budgetMs
    let consolidated = 0
    let deleted = 0
    let forgotten = 0
    let emptySeries = 0
    const sel = this.db.prepare('SELECT series, res, t0, data FROM perf_block WHERE res = ? AND t0 < ? ORDER BY t0 LIMIT 500')
    const step = (res: 60 | 3600, before: number): number => {
      const rows = sel.all(res, before) as { series: number; res: PerfRes; t0: number; data: Buffer }[]
      if (rows.length > 0) this.db.transaction(() => this.consolidate(rows))()
      return rows.length
    }
    const dropDaily = (before: number): number => {
      const gone = this.db.prepare('DELETE FROM perf_block WHERE res = 86400 AND t0 < ? RETURNING length(data) AS n').all(before) as { n: number }[]
      for (const g of gone) this.grew(86400, -g.n)
      return gone.length
    }
    // a block goes once its last slot is older than the limit
    const age = (res: PerfRes, days: number): number => now - days * 86400 - res * BLOCK_SLOTS
    const stopped = (): PruneReport => {
      if (deleted > 0) emptySeries += this.dropEmptySeries()
      return { consolidated, deleted, forgotten, emptySeries, bytes: this.sizeBytes(), done: false }
    }
    for (let n; (n = step(60, age(60, this.limits.keep60sDays))) > 0; ) {
      consolidated += n
      if (out()) return stopped()
    }
    for (let n; (n = step(3600, age(3600, this.limits.keepHourlyDays))) > 0; ) {
      consolidated += n
      if (out()) return stopped()
    }
    deleted += dropDaily(age(86400, this.limits.keepDailyDays))
    // objects known gone, their keepGoneDays after their newest value passed: all of their history (before the
    // size bound, which would otherwise take from the objects still there)
    if (gone) {
      const before = now - this.limits.keepGoneDays * 86400
      // every object the history knows (held in memory: no scan of perf_series), most of them found in a pool at once
      for (const o of this.objects()) {
        const uuid = o.uuid
        if (gone.present(uuid) || !gone.isGone(o)) {
          this.goneNewest.delete(uuid)
          continue
        }
        let newest = this.goneNewest.get(o.uuid)
        if (newest === undefined) this.goneNewest.set(o.uuid, (newest = this.newest(o.uuid) ?? Number.NEGATIVE_INFINITY))
        if (newest >= before) continue
        deleted += this.dropObject(o.uuid)
        forgotten++
        if (out()) return stopped()
      }
    }
    // the size bound: the resolution most over its share gives up its oldest blocks
    const max = this.limits.maxBytes
    for (let bytes = this.sizeBytes(); bytes > max; ) {
      const b = this.sizes()
      const res = PERF_RESOLUTIONS.filter((r) => b[r] > 0).sort((x, y) => b[y] - SHARE[y] * max - (b[x] - SHARE[x] * max))[0]
      if (res === undefined) break
      // its oldest time slice (at most 500 blocks a step, so it stops as soon as it fits)
      const oldest = (this.db.prepare('SELECT min(t0) AS t0 FROM perf_block WHERE res = ?').get(res) as { t0: number | null }).t0
      if (oldest === null) break
      if (res === 86400) deleted += dropDaily(oldest + 1)
      else consolidated += step(res, oldest + 1)
      const after = this.sizeBytes()
      if (after >= bytes) break // nothing left that makes it smaller
      bytes = after
      if (bytes > max && out()) return stopped()
    }
    if (deleted > 0) emptySeries += this.dropEmptySeries()
    return { consolidated, deleted, forgotten, emptySeries, bytes: this.sizeBytes(), done: true }
  }

  /** all of an object's history (series, blocks, its cursor when a host), and what memory holds of it; the blocks deleted */
  private dropObject(uuid: string): number {
    const gone = this.db.transaction(() => {
      const blocks = this.db.prepare('DELETE FROM perf_block WHERE series IN (SELECT id FROM perf_series WHERE uuid = ?) RETURNING res, length(data) AS n').all(uuid) as { res: PerfRes; n: number }[]
      this.db.prepare('DELETE FROM perf_series WHERE uuid = ?').run(uuid)
      this.db.prepare('DELETE FROM perf_cursor WHERE host_uuid = ?').run(uuid)
      return blocks
    })()
    for (const b of gone) this.grew(b.res, -b.n)
    this.objectsInMemory.delete(uuid)
    this.pendingCursors.delete(uuid)
    this.knownObjects.delete(uuid)
    this.goneNewest.delete(uuid)
    return gone.length
  }

  /**
   * Series with no block left (every block aged out or gave way to the size bound) and the cursors of hosts with no
   * series left: deleted, so the history of objects long gone does not stay as rows forever. A series still held
   * in memory with pending values is written again (a new row) at the next flush.
   */
  private dropEmptySeries(): number {
    const rows = this.db.transaction(() => {
      const r = this.db.prepare('DELETE FROM perf_series WHERE NOT EXISTS (SELECT 1 FROM perf_block b WHERE b.series = perf_series.id) RETURNING uuid, ds').all() as { uuid: string; ds: string }[]
      if (r.length > 0) this.db.prepare('DELETE FROM perf_cursor WHERE host_uuid NOT IN (SELECT uuid FROM perf_series)').run()
      return r
    })()
    for (const r of rows) {
      const o = this.objectsInMemory.get(r.uuid)
      if (o?.ids.has(r.ds)) o.ids.set(r.ds, undefined)
    }
    for (const uuid of new Set(rows.map((r) => r.uuid))) {
      const pending = (this.objectsInMemory.get(uuid)?.pending?.size ?? 0) > 0
      if (!pending && this.st.seriesOf.get(uuid) === undefined) {
        this.knownObjects.delete(uuid)
        this.goneNewest.delete(uuid)
        this.objectsInMemory.delete(uuid)
      }
    }
    return rows.length
  }

  /** everything of a connection: series, blocks, cursors (privacy: "forget") */
  forget(connectionId: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM perf_block WHERE series IN (SELECT id FROM perf_series WHERE connection_id = ?)').run(connectionId)
      this.db.prepare('DELETE FROM perf_series WHERE connection_id = ?').run(connectionId)
      this.db.prepare('DELETE FROM perf_cursor WHERE connection_id = ?').run(connectionId)
    })()
    for (const [k, o] of this.objectsInMemory) if (o.connectionId === connectionId) this.objectsInMemory.delete(k)
    for (const [k, c] of this.pendingCursors) if (c.connectionId === connectionId) this.pendingCursors.delete(k)
    // a series row held by id may have gone with it (an object moved between pools): ids are looked up again at the next flush
    for (const o of this.objectsInMemory.values()) for (const ds of o.ids.keys()) o.ids.set(ds, undefined)
    // read again from the table, plus what waits in memory (of other connections) to be written
    this.knownObjects.clear()
    this.knownLoaded = false
    for (const [uuid, o] of this.objectsInMemory) if ((o.pending?.size ?? 0) > 0) this.knownObjects.set(uuid, { connectionId: o.connectionId, kind: o.kind })
    this.goneNewest.clear()
    this.bytes = undefined
  }
}

/** the time of a block's first slot with a value, or null */
function firstValueTime(b: Float64Array, t0: number, res: PerfRes): number | null {
  for (let i = 0; i < BLOCK_SLOTS; i++) if (!Number.isNaN(b[i] as number)) return t0 + i * res
  return null
}

function mergeRanges(r: [number, number][]): [number, number][] {
  r.sort((a, b) => a[0] - b[0])
  const out: [number, number][] = []
  for (const x of r) {
    const last = out[out.length - 1]
    if (last && x[0] <= last[1]) last[1] = Math.max(last[1], x[1])
    else out.push([x[0], x[1]])
  }
  return out
}
