/**
 * SqliteInventoryCache: the offline cache of every pool's object graph (issue 2), implementing
 * InventoryCache (main/pools/api.ts) for the pools layer, plus clear / do-not-cache / history /
 * search / status for the services.
 *
 * Write path (off the path that feeds the renderer): write() only updates an in-memory mirror of
 * the graph and marks objects dirty — O(batch), no I/O, no JSON. A write-behind step scheduled
 * with setImmediate then writes:
 *   - an incremental batch: every dirty object of a connection (coalesced: an object changed ten
 *     times while a write was pending is written once) + metadata, one transaction;
 *   - a reset (full resync, or more than RESET_DIRTY_THRESHOLD dirty objects): into a new,
 *     invisible generation, in chunks of at most CHUNK_BUDGET_MS each, then one small commit
 *     transaction switches the pool to it. A 10,000-VM initial load therefore never holds the
 *     main thread for more than one chunk, and the file is at a batch boundary at every instant.
 * Whether the SQLite work runs on a worker thread (mode 'worker', default) or on the main thread
 * (mode 'inline', also the fallback when the worker cannot start) is a constructor option. The
 * worker thread is started by the first write that needs it (a batch, a reset, a clear, startup
 * housekeeping that found work): a start that only reads the cache never starts one. If it cannot
 * start then, the main thread applies what it was given, in order, and writes inline from then on.
 * Measured with `npm run bench cache` (bench-10k initial sync: 82,290 objects, 91 MB of JSON) on the
 * shared 2-core box at load average 8–15 (other sessions running), several runs:
 *   worker: 4.2–5.7 s to disk, main thread busy 1.3–1.9 s (≈ 30 %), p99 event-loop stall 16–25 ms,
 *           longest 88–95 ms (GC of a heap holding the whole fleet twice)
 *   inline: 8.5–24 s to disk, main thread busy 100 %, p99 stall 57–146 ms, longest 143–303 ms
 * (WAL checkpoints with their fsync land on whichever thread commits, which is what hurts inline.)
 * Hence the worker by default.
 *
 * Failure policy: no method throws into the pools layer. A damaged file is set aside (kept, dated)
 * and rebuilt from memory; a full disk, read-only folder or I/O error switches the cache to
 * 'memory-only' (the pools keep working, the file stays at its last complete batch). Each problem
 * is reported once through onProblem(cb) and kept in status().problems for the UI.
 */
import type Database from 'better-sqlite3'
import type { HistoryEntry } from '../../shared/contract/operations'
import type { ObjectRecord, ObjectUpsert, PoolDiff } from '../../shared/model/diff'
import type { CachedPage, CachedPoolMeta, InventoryCache, Unsubscribe } from '../pools/api'
import { InlineBackend, WorkerBackend, type Backend, type BackendFailure } from './backend'
import { DEFAULT_HISTORY_LIMITS, HistoryLog, type HistoryLimits, type HistoryQuery } from './history'
import { PerfHistory, type PerfLimits } from './perf'
import { CACHE_FILE_NAME, CacheOpenError, classifyError, describeProblem, errorCode, errorMessage, limitSize, moveAside, openCacheDatabase, type CacheProblemKind } from './open'
import { UnstorableRecordError, isCacheable, toRow, type ObjectRow } from './serialize'
import { vacuumWorthwhile } from './ops'
import { CacheStore, DEFAULT_PRUNE, type MetaPatch, type PageOmission, type PruneLimits } from './store'
import { join } from 'node:path'

export interface CacheOptions {
  /** the app's data folder; the cache is <dataDir>/cache.sqlite */
  dataDir: string
  /**
   * who runs the SQLite writes: a worker thread (default: the main thread only serialises rows;
   * falls back to inline if the worker cannot start) or the main thread in bounded steps
   */
  mode?: 'inline' | 'worker'
  prune?: Partial<PruneLimits>
  history?: Partial<HistoryLimits>
  /** performance history limits (main/cache/perf.ts) */
  perf?: Partial<PerfLimits>
  /**
   * Upper bound of the file size. Reaching it is handled exactly like a full disk (SQLITE_FULL →
   * 'disk-full', memory-only), which is also how tests produce a real "disk full" as root.
   */
  maxSizeBytes?: number
  /**
   * Where the worker entry is. Default: worker.ts/.js next to this module — in an electron-vite
   * build that means main/cache/worker.ts must be an extra main-process input emitted as
   * out/main/worker.js. If the worker cannot start, the cache writes inline instead.
   */
  workerUrl?: URL
  now?: () => Date
}

export interface CacheProblem {
  kind: CacheProblemKind
  /** a sentence for the user */
  message: string
  /** ISO time */
  at: string
  /** SQLite / errno code when there was one */
  code?: string
  /** corrupt-recovered: where the damaged file was kept */
  movedTo?: string
}

export interface CacheStatus {
  /** 'ok': writing to disk; 'memory-only': the file is not being written (see problems) */
  state: 'ok' | 'memory-only'
  path: string
  mode: 'inline' | 'worker'
  /** mode 'worker': whether the writer thread was started (it starts with the first write); inline: false */
  workerStarted: boolean
  /** most recent last, at most 20 */
  problems: CacheProblem[]
}

/** time budget of one write-behind step on the main thread (serialising + inserting a chunk) */
const CHUNK_BUDGET_MS = 8
/** below this, per-transaction overhead dominates */
const CHUNK_MIN_ROWS = 64
/** a chunk never exceeds this many rows (worker mode: bounds the message size) */
const CHUNK_MAX_ROWS = 2000
/** more dirty objects than this → rewrite the graph as a chunked reset instead of one big transaction */
const RESET_DIRTY_THRESHOLD = 3000
const GC_ROWS_PER_STEP = 2000
const VACUUM_PAGES_PER_STEP = 2048
/** worker mode: ops in flight before the writer waits (back-pressure, bounded memory) */
const MAX_OUTSTANDING = 3

interface InFlightReset {
  id: number
  items: readonly ObjectUpsert[]
  index: number
  patch: MetaPatch
}

interface ConnState {
  /**
   * The graph as last written, by ref (XAPI refs are unique across classes). After a reset it is
   * built lazily: `base` holds the reset's upserts, folded into `objects` in bounded steps, and
   * changes arriving meanwhile go to `overlay` (null = removed). Indexing a 10,000-VM graph in
   * write() itself would hold the main thread for tens of ms.
   */
  objects: Map<string, ObjectUpsert>
  base: readonly ObjectUpsert[] | undefined
  baseIndex: number
  overlay: Map<string, ObjectUpsert | null>
  /** true when `objects` is the whole graph (came from a reset or a load), not only recent changes */
  complete: boolean
  meta: CachedPoolMeta
  seq: number
  /** ref → cls of objects changed since the last write */
  dirty: Map<string, string>
  metaDirty: boolean
  needsReset: boolean
  reset: InFlightReset | undefined
}

function newConn(): ConnState {
  return { objects: new Map(), base: undefined, baseIndex: 0, overlay: new Map(), complete: false, meta: { memberAddresses: [] }, seq: 0, dirty: new Map(), metaDirty: false, needsReset: false, reset: undefined }
}

/** folds up to `n` entries of a reset's upserts into the index; the overlay last */
function foldSome(c: ConnState, n: number): void {
  const base = c.base
  if (!base) return
  const end = Math.min(base.length, c.baseIndex + n)
  for (let i = c.baseIndex; i < end; i++) {
    const u = base[i]
    if (u && isCacheable(u)) c.objects.set(u.ref, u)
  }
  c.baseIndex = end
  if (end < base.length) return
  for (const [ref, u] of c.overlay) {
    if (u) c.objects.set(ref, u)
    else c.objects.delete(ref)
  }
  c.base = undefined
  c.baseIndex = 0
  c.overlay.clear()
}

function foldAll(c: ConnState): void {
  foldSome(c, Number.POSITIVE_INFINITY)
}

function setObject(c: ConnState, u: ObjectUpsert): void {
  if (c.base) c.overlay.set(u.ref, u)
  else c.objects.set(u.ref, u)
}

function deleteObject(c: ConnState, ref: string): void {
  if (c.base) c.overlay.set(ref, null)
  else c.objects.delete(ref)
}

function getObject(c: ConnState, ref: string): ObjectUpsert | undefined {
  if (c.base) {
    const o = c.overlay.get(ref)
    if (o !== undefined) return o ?? undefined
    foldAll(c)
  }
  return c.objects.get(ref)
}

/** entries of the index folded per write-behind step */
const FOLD_PER_STEP = 10_000


/** page cache of main's connection when it only reads (writer thread mode): 2 MB (negative: KiB) */
const READER_CACHE_SIZE = -2048
/** page cache of a connection that writes: better-sqlite3's build default (SQLITE_DEFAULT_CACHE_SIZE) */
const WRITER_CACHE_SIZE = -16000

export class SqliteInventoryCache implements InventoryCache {
  readonly path: string
  readonly mode: 'inline' | 'worker'
  private db: Database.Database | undefined
  private reader: CacheStore | undefined
  private historyLog: HistoryLog | undefined
  private perfHistory: PerfHistory | undefined
  private backend: Backend | undefined
  private state: 'ok' | 'memory-only' = 'ok'
  private readonly problems: CacheProblem[] = []
  private readonly listeners = new Set<(p: CacheProblem) => void>()
  /** objects already said to be unstorable (connectionId NUL ref), bounded */
  private readonly unstorable = new Set<string>()
  private readonly conns = new Map<string, ConnState>()
  /** resets arriving in pieces, collected until their last piece */
  private readonly staged = new Map<string, { seq: number; next: number; upserts: ObjectUpsert[]; held: { diff: PoolDiff; meta: Partial<CachedPoolMeta> | undefined }[] }>()
  private readonly doNotCache = new Set<string>()
  private readonly prune: PruneLimits
  private readonly historyLimits: HistoryLimits
  private readonly now: () => Date
  private scheduled = false
  private rr = 0
  /** running estimate of main-thread ms per reset row (see doUnit) */
  private msPerRow = 0.1
  private resetSeq = 0
  private gcWanted = true
  private vacuumWanted = false
  private checkpointWanted = false
  private vacuumForce = false
  /** a gc/vacuum op is executing (worker mode): its result decides the next one */
  private housekeepingInFlight = false
  private idleWaiters: (() => void)[] = []
  private closed = false
  /** a damaged file is being set aside (only once, however many operations noticed it) */
  private recovering = false

  /** Opens or creates the cache. Never throws: trouble is in status() and onProblem. */
  constructor(private readonly opts: CacheOptions) {
    this.path = join(opts.dataDir, CACHE_FILE_NAME)
    this.mode = opts.mode ?? 'worker'
    this.prune = { ...DEFAULT_PRUNE, ...opts.prune }
    this.historyLimits = { ...DEFAULT_HISTORY_LIMITS, ...opts.history }
    this.now = opts.now ?? (() => new Date())
    this.openDb()
  }

  // ---------------------------------------------------------------------------------------------
  // opening, problems

  private openDb(attempt = 0): void {
    try {
      const opened = openCacheDatabase(this.opts.dataDir, { now: this.now })
      this.db = opened.db
      if (opened.recovered) {
        this.report({
          kind: 'corrupt-recovered',
          message: describeProblem('corrupt-recovered', this.path, opened.recovered.reason) + ` The damaged file was kept as ${opened.recovered.movedTo}.`,
          movedTo: opened.recovered.movedTo,
        })
      }
      this.attach(opened.db)
    } catch (e) {
      try {
        this.db?.close()
      } catch {
        // being replaced or abandoned
      }
      this.db = undefined
      this.reader = undefined
      this.historyLog = undefined
      this.perfHistory = undefined
      const kind = e instanceof CacheOpenError ? e.kind : classifyError(e)
      if (kind === 'corrupt-recovered' && attempt === 0) {
        // damaged beyond the header (found while reading the pools table): set aside, start over
        try {
          const movedTo = moveAside(this.path, this.now())
          this.report({ kind, message: describeProblem(kind, this.path, e) + ` The damaged file was kept as ${movedTo}.`, movedTo, ...(errorCode(e) ? { code: errorCode(e) } : {}) })
          this.openDb(1)
          return
        } catch (moveError) {
          this.enterMemoryOnly({ kind: 'io-error', message: describeProblem('io-error', this.path, moveError) })
          return
        }
      }
      this.enterMemoryOnly({ kind: kind === 'corrupt-recovered' ? 'io-error' : kind, message: e instanceof CacheOpenError ? e.message : describeProblem(kind, this.path, e), ...(errorCode(e) ? { code: errorCode(e) } : {}) })
    }
  }

  private attach(db: Database.Database): void {
    this.db = db
    if (this.opts.maxSizeBytes !== undefined) limitSize(db, this.opts.maxSizeBytes)
    this.reader = new CacheStore(db, this.prune)
    this.historyLog = new HistoryLog(db)
    this.perfHistory = new PerfHistory(db, this.opts.perf, () => Math.floor(this.now().getTime() / 1000))
    for (const p of this.reader.pools()) if (p.doNotCache) this.doNotCache.add(p.connectionId)
    try {
      this.historyLog.prune(this.historyLimits, this.now())
    } catch {
      // pruning is housekeeping; a failure here shows up on the next real write
    }
    const onFailure = (f: BackendFailure): void => this.onBackendFailure(f)
    // worker: the thread starts with the first op (if it cannot, onBackendFailure falls back to inline)
    // With a writer thread, this connection only reads: pages of a cold start stream through it
    // once, in key order, so SQLite's default page cache (16 MB in better-sqlite3's build) would
    // only keep main 16 MB larger for good. The writer thread's connection keeps the default.
    if (this.mode === 'worker') db.pragma(`cache_size = ${READER_CACHE_SIZE}`)
    this.backend = this.mode === 'worker' ? new WorkerBackend(this.path, this.prune, this.opts.maxSizeBytes, onFailure, () => this.schedule(), this.opts.workerUrl) : new InlineBackend(db, this.prune, onFailure)
    this.state = 'ok'
    // Housekeeping left from an earlier run (rows of old generations: a reset cut short, a clear
    // not yet collected; many free pages) is looked up here with a few index seeks, so that a
    // start with nothing to tidy sends no op at all (and starts no writer thread).
    this.gcWanted = this.housekeepingFound(this.reader)
    this.schedule()
  }

  /** true: old rows to collect (or free pages to return) — the gc/vacuum steps have work */
  private housekeepingFound(reader: CacheStore): boolean {
    try {
      if (reader.hasGarbage()) return true
      const { free, total } = reader.freePages()
      this.vacuumWanted = vacuumWorthwhile(free, total, false)
      return false
    } catch {
      // could not tell: let the writer look (a real problem surfaces there, as before)
      return true
    }
  }

  private report(p: Omit<CacheProblem, 'at'>): void {
    const problem: CacheProblem = { ...p, at: this.now().toISOString() }
    this.problems.push(problem)
    if (this.problems.length > 20) this.problems.shift()
    for (const cb of this.listeners) {
      try {
        cb(problem)
      } catch {
        // a listener's bug must not break the cache
      }
    }
  }

  private enterMemoryOnly(p: Omit<CacheProblem, 'at'>): void {
    this.state = 'memory-only'
    const backend = this.backend
    this.backend = undefined
    void backend?.close()
    this.report(p)
    this.wakeIdle()
  }

  private onBackendFailure(f: BackendFailure): void {
    if (f.startup && this.db && this.backend?.kind === 'worker') {
      // The worker could not start (nothing was written by it): write from the main thread instead.
      void this.backend.close()
      // this connection writes now: SQLite's default page cache again
      this.db.pragma(`cache_size = ${WRITER_CACHE_SIZE}`)
      const inline = new InlineBackend(this.db, this.prune, (g) => this.onBackendFailure(g))
      this.backend = inline
      if (f.unapplied) {
        // everything it was given, in order: the same file as if it had started
        for (const u of f.unapplied) inline.submit(u.op, u.onResult)
      } else {
        for (const [id, c] of this.conns) {
          if (!c.complete) this.conns.delete(id)
          else this.markForReset(c)
        }
      }
      this.schedule()
      return
    }
    const kind = classifyError(f.error)
    if (kind === 'corrupt-recovered') {
      this.recoverFromCorruption(f)
      return
    }
    this.enterMemoryOnly({ kind, message: describeProblem(kind, this.path, f.error), ...(f.code ? { code: f.code } : {}) })
  }

  /** The file turned out damaged while running: set it aside, start a new one, rewrite what we hold. */
  private recoverFromCorruption(f: BackendFailure): void {
    if (this.recovering) return
    this.recovering = true
    const backend = this.backend
    this.backend = undefined
    const finish = (): void => {
      this.recovering = false
      try {
        this.db?.close()
      } catch {
        // closing a damaged file may fail; it is being replaced anyway
      }
      this.db = undefined
      let movedTo: string
      try {
        movedTo = moveAside(this.path, this.now())
      } catch (e) {
        this.enterMemoryOnly({ kind: classifyError(e), message: describeProblem('io-error', this.path, e) })
        return
      }
      this.report({
        kind: 'corrupt-recovered',
        message: describeProblem('corrupt-recovered', this.path, f.error) + ` The damaged file was kept as ${movedTo}.`,
        movedTo,
        ...(f.code ? { code: f.code } : {}),
      })
      for (const [id, c] of this.conns) {
        if (!c.complete) this.conns.delete(id)
        else this.markForReset(c)
      }
      this.openDb()
    }
    if (backend) void backend.close().then(finish)
    else finish()
  }

  /** Problems as they happen (corrupt file recovered, disk full, read-only…). */
  onProblem(cb: (p: CacheProblem) => void): Unsubscribe {
    this.listeners.add(cb)
    return () => this.listeners.delete(cb)
  }

  status(): CacheStatus {
    return { state: this.state, path: this.path, mode: this.backend?.kind ?? this.mode, workerStarted: this.backend?.started() ?? false, problems: [...this.problems] }
  }

  /**
   * After a problem was fixed (space freed, folder writable again): reopen and rewrite every
   * graph held in memory. Returns the new state.
   */
  retry(): 'ok' | 'memory-only' {
    if (this.closed || this.state === 'ok') return this.state
    try {
      this.db?.close()
    } catch {
      // reopened below
    }
    this.db = undefined
    for (const [id, c] of this.conns) {
      if (!c.complete) this.conns.delete(id)
      else this.markForReset(c)
    }
    this.openDb()
    return this.state
  }

  // ---------------------------------------------------------------------------------------------
  // InventoryCache

  load(connectionId: string): { diff: PoolDiff; meta: CachedPoolMeta } | undefined {
    if (this.doNotCache.has(connectionId)) return undefined
    const held = this.conns.get(connectionId)
    if (held?.complete) return this.fromMemory(connectionId, held)
    if (!this.reader) return undefined
    try {
      const loaded = this.reader.load(connectionId)
      if (!loaded || (loaded.rows.length === 0 && !loaded.pool.meta.lastSyncAt)) return undefined
      const upserts: ObjectUpsert[] = []
      const objects = new Map<string, ObjectUpsert>()
      let unreadable = 0
      for (const [cls, ref, json] of loaded.rows) {
        const record = parseStoredRecord(json)
        if (!record) {
          unreadable++
          continue
        }
        const u: ObjectUpsert = { cls, ref, record }
        upserts.push(u)
        objects.set(ref, u)
      }
      // a graph with records missing is not shown nor resumed from: the file is damaged
      if (unreadable > 0) {
        this.damaged(loaded.pool.meta.poolName ?? connectionId, unreadable)
        return undefined
      }
      const meta = loaded.pool.meta
      if (!held) {
        // Remember the graph so a later degrade/recovery can still serve and rewrite it.
        this.conns.set(connectionId, { ...newConn(), objects, complete: true, meta: { ...meta }, seq: loaded.pool.seq })
      }
      const diff: PoolDiff = { connectionId, seq: loaded.pool.seq, reset: true, upserts, removes: [] }
      if (meta.token !== undefined) diff.token = meta.token
      return { diff, meta }
    } catch (e) {
      this.onReadFailure(e)
      return undefined
    }
  }

  /**
   * The last-known graph of a connection page by page (≤ `pageSize` records each), read from the
   * file as the caller pulls, parsed per page and not kept: for a subscriber of an offline pool
   * that main itself does not need in memory. Yields 'changed' (and stops) when the visible
   * generation changed between two pages (a reset or clear committed meanwhile): the pages read so
   * far belong to a graph that is gone. Nothing at all: nothing cached.
   */
  *readPages(connectionId: string, pageSize: number, omit?: PageOmission): Generator<CachedPage | 'changed'> {
    if (this.doNotCache.has(connectionId)) return
    const size = Math.max(1, Math.floor(pageSize))
    const held = this.conns.get(connectionId)
    if (held?.complete) {
      const { diff, meta } = this.fromMemory(connectionId, held)
      if (omit?.classes) {
        const left = new Set(omit.classes)
        if (left.size > 0) diff.upserts = diff.upserts.filter((u) => !left.has(u.cls))
      }
      if (omit?.onlyClasses) {
        const only = new Set(omit.onlyClasses)
        diff.upserts = diff.upserts.filter((u) => only.has(u.cls))
      }
      // the fields the file's pages leave out (json_remove) are left out here too: the same pages either way
      const fields = omit?.fields
      const slim = (u: ObjectUpsert): ObjectUpsert => {
        const drop = fields?.[u.cls]
        if (!drop || drop.length === 0 || !drop.some((f) => f in u.record)) return u
        const record = { ...u.record }
        for (const f of drop) delete record[f]
        return { ...u, record }
      }
      for (let i = 0; i === 0 || i < diff.upserts.length; i += size) {
        const upserts = diff.upserts.slice(i, i + size).map(slim)
        yield { seq: diff.seq, meta, upsertsJson: JSON.stringify(upserts), count: upserts.length }
      }
      return
    }
    let gen: number | undefined
    let after: [string, string] | undefined
    for (;;) {
      if (!this.reader) {
        if (gen !== undefined) yield 'changed'
        return
      }
      let loaded: ReturnType<CacheStore['page']>
      try {
        loaded = this.reader.page(connectionId, after, size, omit)
      } catch (e) {
        this.onReadFailure(e)
        if (gen !== undefined) yield 'changed'
        return
      }
      if (!loaded || (gen !== undefined && loaded.pool.gen !== gen) || this.conns.get(connectionId)?.complete) {
        // gone, replaced, or (a write arrived meanwhile) the file is no longer the newest copy
        if (gen !== undefined) yield 'changed'
        return
      }
      if (gen === undefined) {
        if (loaded.rows === 0 && !loaded.pool.meta.lastSyncAt) return
        gen = loaded.pool.gen
      }
      // The stored text is what toRow() made with JSON.stringify of an object; SQLite splices it
      // in as is (no parse, no re-stringify, no string per row in main). A row that is not an
      // object's text means the file is damaged: this page is not handed out (the caller's copy
      // of the graph would miss records), the file is set aside and said.
      if (loaded.unreadable > 0) {
        this.damaged(loaded.pool.meta.poolName ?? connectionId, loaded.unreadable)
        if (gen !== undefined) yield 'changed'
        return
      }
      const last = loaded.last
      yield { seq: loaded.pool.seq, meta: loaded.pool.meta, upsertsJson: loaded.json, count: loaded.count }
      if (loaded.rows < size || !last) return
      after = [last[0], last[1]]
    }
  }

  /** one record of the last-known graph and the pool's metadata; undefined: not cached (or its stored text is damaged: said) */
  record(connectionId: string, cls: string, ref: string): { record: ObjectRecord; meta: CachedPoolMeta } | undefined {
    if (this.doNotCache.has(connectionId)) return undefined
    const held = this.conns.get(connectionId)
    if (held?.complete) {
      foldAll(held)
      const u = held.objects.get(ref)
      return u && u.cls === cls ? { record: u.record, meta: { ...held.meta, memberAddresses: [...held.meta.memberAddresses] } } : undefined
    }
    let found: ReturnType<CacheStore['record']>
    try {
      found = this.reader?.record(connectionId, cls, ref)
    } catch (e) {
      this.onReadFailure(e)
      return undefined
    }
    if (!found) return undefined
    const record = parseStoredRecord(found.text)
    if (record) return { record, meta: found.pool.meta }
    this.damaged(found.pool.meta.poolName ?? connectionId, 1)
    return undefined
  }

  /**
   * Stored records that are not an object's JSON text (bytes damaged on disk): the file is damaged
   * even though SQLite reads it. Set aside and said like any damaged file, never shown in part.
   */
  private damaged(name: string, unreadable: number): void {
    const message = `${unreadable} stored record${unreadable === 1 ? '' : 's'} of ${name} ${unreadable === 1 ? 'is' : 'are'} not readable`
    this.recoverFromCorruption({ op: 'batch', code: 'SQLITE_CORRUPT', message, error: Object.assign(new Error(message), { code: 'SQLITE_CORRUPT' }) })
  }

  private fromMemory(connectionId: string, c: ConnState): { diff: PoolDiff; meta: CachedPoolMeta } {
    foldAll(c)
    const upserts = [...c.objects.values()]
    const diff: PoolDiff = { connectionId, seq: c.seq, reset: true, upserts, removes: [] }
    if (c.meta.token !== undefined) diff.token = c.meta.token
    return { diff, meta: { ...c.meta, memberAddresses: [...c.meta.memberAddresses] } }
  }

  private onReadFailure(e: unknown): void {
    const kind = classifyError(e)
    if (kind === 'corrupt-recovered') this.recoverFromCorruption({ op: 'batch', code: errorCode(e), message: errorMessage(e), error: e })
    else this.report({ kind, message: describeProblem(kind, this.path, e), ...(errorCode(e) ? { code: errorCode(e) } : {}) })
  }

  private conn(connectionId: string): ConnState {
    let c = this.conns.get(connectionId)
    if (!c) {
      c = newConn()
      this.conns.set(connectionId, c)
    }
    return c
  }

  private markForReset(c: ConnState): void {
    if (c.reset) this.backend?.submit({ op: 'resetAbandon', resetId: c.reset.id })
    c.reset = undefined
    c.needsReset = true
    c.dirty.clear()
    c.metaDirty = false
  }

  write(diff: PoolDiff, meta?: Partial<CachedPoolMeta>): void {
    try {
      if (this.closed || this.doNotCache.has(diff.connectionId)) return
      if (diff.reset && diff.part !== undefined) return this.writePiece(diff, meta)
      const staged = this.staged.get(diff.connectionId)
      if (staged) {
        // a complete reset replaces the unfinished one; other batches wait for its last piece
        if (diff.reset) this.staged.delete(diff.connectionId)
        else return void staged.held.push({ diff, meta })
      }
      const c = this.conn(diff.connectionId)
      if (diff.reset) {
        c.objects = new Map()
        c.base = diff.upserts
        c.baseIndex = 0
        c.overlay = new Map()
        c.complete = true
        this.markForReset(c)
      } else {
        for (const u of diff.upserts) {
          if (isCacheable(u)) setObject(c, u)
          // e.g. a task that finished: it leaves the cache
          else deleteObject(c, u.ref)
          if (!c.needsReset) c.dirty.set(u.ref, u.cls)
        }
        for (const r of diff.removes) {
          deleteObject(c, r.ref)
          if (!c.needsReset) c.dirty.set(r.ref, r.cls)
        }
        if (c.complete && !c.needsReset && c.dirty.size > RESET_DIRTY_THRESHOLD) {
          // One transaction this big would stall the main thread; a chunked rewrite does not.
          c.needsReset = true
          c.dirty.clear()
        }
      }
      if (meta) {
        const { memberAddresses, ...rest } = meta
        Object.assign(c.meta, rest)
        if (memberAddresses) c.meta.memberAddresses = [...memberAddresses]
      }
      if (diff.token !== undefined) c.meta.token = diff.token
      c.meta.lastSyncAt = meta?.lastSyncAt ?? this.now().toISOString()
      c.seq = diff.seq
      c.metaDirty = true
      this.schedule()
    } catch (e) {
      // never into the pools layer
      this.report({ kind: 'io-error', message: `The offline cache could not take a batch of ${diff.connectionId}: ${errorMessage(e)}` })
    }
  }

  /**
   * A piece of a reset (PoolDiff.part): collected until the last one, then written as one reset, so
   * the file never holds half a graph. A piece that does not continue the collected ones (a reset
   * abandoned mid-way) drops them: the cache keeps its previous graph until the next reset.
   */
  private writePiece(diff: PoolDiff, meta: Partial<CachedPoolMeta> | undefined): void {
    const id = diff.connectionId
    let st = this.staged.get(id)
    if (diff.part === 0) {
      st = { seq: diff.seq, next: 0, upserts: [], held: [] }
      this.staged.set(id, st)
    } else if (!st || st.seq !== diff.seq || st.next !== diff.part) {
      this.staged.delete(id)
      return
    }
    for (const u of diff.upserts) st.upserts.push(u)
    st.next++
    if (diff.more === true) return
    this.staged.delete(id)
    const { part: _part, more: _more, ...whole } = diff
    this.write({ ...whole, upserts: st.upserts, removes: [] }, meta)
    for (const h of st.held) this.write(h.diff, h.meta)
  }

  forget(connectionId: string): void {
    try {
      this.dropConn(connectionId)
      this.doNotCache.delete(connectionId)
      this.perfHistory?.forget(connectionId)
      this.backend?.submit({ op: 'forget', connectionId })
      this.afterDelete()
    } catch (e) {
      this.report({ kind: 'io-error', message: `The offline cache could not forget ${connectionId}: ${errorMessage(e)}` })
    }
  }

  // ---------------------------------------------------------------------------------------------
  // privacy and size

  private dropConn(connectionId: string): void {
    this.staged.delete(connectionId)
    const c = this.conns.get(connectionId)
    if (c?.reset) this.backend?.submit({ op: 'resetAbandon', resetId: c.reset.id })
    this.conns.delete(connectionId)
  }

  /** after a privacy operation: collect, return every free page, truncate the WAL */
  private afterDelete(): void {
    this.gcWanted = true
    this.vacuumForce = true
    this.checkpointWanted = true
    this.schedule()
  }

  /** "Clear cache" for one connection: its inventory and metadata go; the flag and history stay. */
  clear(connectionId: string): void {
    try {
      this.dropConn(connectionId)
      this.backend?.submit({ op: 'clear', connectionId })
      this.afterDelete()
    } catch (e) {
      this.report({ kind: 'io-error', message: `The offline cache could not be cleared: ${errorMessage(e)}` })
    }
  }

  /** "Clear cache" for every connection. */
  clearAll(): void {
    try {
      for (const id of [...this.conns.keys()]) this.dropConn(id)
      this.staged.clear()
      this.backend?.submit({ op: 'clearAll' })
      this.afterDelete()
    } catch (e) {
      this.report({ kind: 'io-error', message: `The offline cache could not be cleared: ${errorMessage(e)}` })
    }
  }

  /**
   * The per-connection "do not cache" option (the pools layer calls this when a connection is
   * added/edited/loaded with it). On: existing rows are deleted and write() ignores the connection.
   */
  setDoNotCache(connectionId: string, doNotCache: boolean): void {
    try {
      if (doNotCache === this.doNotCache.has(connectionId)) return
      if (doNotCache) {
        this.doNotCache.add(connectionId)
        this.dropConn(connectionId)
      } else {
        this.doNotCache.delete(connectionId)
      }
      this.backend?.submit({ op: 'setDoNotCache', connectionId, doNotCache })
      if (doNotCache) this.afterDelete()
      else this.schedule()
    } catch (e) {
      this.report({ kind: 'io-error', message: `The offline cache could not change "do not cache": ${errorMessage(e)}` })
    }
  }

  isDoNotCache(connectionId: string): boolean {
    return this.doNotCache.has(connectionId)
  }

  /** connections with cached inventory, with their metadata (for cold start: every saved pool appears at once) */
  cachedConnections(): { connectionId: string; meta: CachedPoolMeta; seq: number }[] {
    try {
      return (this.reader?.pools() ?? []).filter((p) => !p.doNotCache && p.meta.lastSyncAt !== undefined).map((p) => ({ connectionId: p.connectionId, meta: p.meta, seq: p.seq }))
    } catch (e) {
      this.onReadFailure(e)
      return []
    }
  }

  // ---------------------------------------------------------------------------------------------
  // search and history (read on the main thread's connection; history writes are tiny)

  findByUuid(uuid: string): { connectionId: string; cls: string; ref: string; name: string | null }[] {
    try {
      return this.reader?.findByUuid(uuid) ?? []
    } catch (e) {
      this.onReadFailure(e)
      return []
    }
  }

  searchByName(text: string, limit = 100): { connectionId: string; cls: string; ref: string; uuid: string | null; name: string | null }[] {
    try {
      return this.reader?.searchByName(text, limit) ?? []
    } catch (e) {
      this.onReadFailure(e)
      return []
    }
  }

  /**
   * The performance history (main/cache/perf.ts) on this thread's connection, or undefined while the
   * cache is not usable (memory-only): the collector then keeps only its live values.
   */
  get perf(): PerfHistory | undefined {
    return this.state === 'ok' ? this.perfHistory : undefined
  }

  /** The action history: append (HistorySink of main/operations) and list, newest first, paged. */
  readonly history = {
    append: (entry: Omit<HistoryEntry, 'id'>): HistoryEntry | undefined => {
      if (!this.historyLog || this.state !== 'ok') return undefined
      try {
        return this.historyLog.append(entry)
      } catch (e) {
        this.onBackendFailure({ op: 'batch', code: errorCode(e), message: errorMessage(e), error: e })
        return undefined
      }
    },
    list: (q: HistoryQuery = {}): HistoryEntry[] => {
      try {
        return this.historyLog?.list(q) ?? []
      } catch (e) {
        this.onReadFailure(e)
        return []
      }
    },
  }

  // ---------------------------------------------------------------------------------------------
  // write-behind

  private schedule(): void {
    if (this.scheduled || this.closed && this.idleWaiters.length === 0) return
    this.scheduled = true
    setImmediate(() => this.step())
  }

  private hasWork(): boolean {
    if (this.state !== 'ok' || !this.backend) return false
    for (const c of this.conns.values()) if (c.reset || c.needsReset || c.dirty.size > 0 || c.metaDirty || c.base) return true
    if (this.housekeepingInFlight) return false
    return this.gcWanted || this.vacuumWanted || this.checkpointWanted
  }

  private wakeIdle(): void {
    const ws = this.idleWaiters
    this.idleWaiters = []
    for (const w of ws) w()
  }

  /** Resolves when everything written so far is in the file (and deleted rows are gone). */
  flush(): Promise<void> {
    if (!this.hasWork() && (this.backend?.outstanding() ?? 0) === 0) return Promise.resolve()
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve)
      this.schedule()
    })
  }

  private patchOf(c: ConnState): MetaPatch {
    return { ...c.meta, seq: c.seq }
  }

  /** One bounded unit of write work; reschedules itself while there is more. */
  private step(): void {
    this.scheduled = false
    const backend = this.backend
    if (this.state !== 'ok' || !backend) {
      this.wakeIdle()
      return
    }
    if (backend.outstanding() >= MAX_OUTSTANDING) return // an ack reschedules
    if (!this.hasWork()) {
      if (backend.outstanding() === 0) this.wakeIdle()
      return
    }
    this.doUnit(backend)
    if (this.hasWork()) this.schedule()
    else if (backend.outstanding() === 0) this.wakeIdle()
  }

  private doUnit(backend: Backend): void {
    const ids = [...this.conns.keys()]
    // 1. small incremental batches first: live changes reach the disk promptly even during a reset
    for (let k = 0; k < ids.length; k++) {
      const id = ids[(this.rr + k) % ids.length]
      if (id === undefined) continue
      const c = this.conns.get(id)
      if (!c || c.reset || c.needsReset || (c.dirty.size === 0 && !c.metaDirty)) continue
      this.rr = (this.rr + k + 1) % Math.max(1, ids.length)
      const rows: ObjectRow[] = []
      const removes: [string, string][] = []
      for (const [ref, cls] of c.dirty) {
        const u = getObject(c, ref)
        if (!u) removes.push([cls, ref])
        else if (!this.pushRow(rows, u, id)) removes.push([cls, ref])
      }
      c.dirty.clear()
      c.metaDirty = false
      backend.submit({ op: 'batch', connectionId: id, rows, removes, patch: this.patchOf(c) })
      return
    }
    // 2. resets: start one, or write the next chunk of one
    for (let k = 0; k < ids.length; k++) {
      const id = ids[(this.rr + k) % ids.length]
      if (id === undefined) continue
      const c = this.conns.get(id)
      if (!c || (!c.reset && !c.needsReset)) continue
      this.rr = (this.rr + k + 1) % Math.max(1, ids.length)
      if (!c.reset) {
        // Straight from the reset's own upserts when nothing changed since (the usual initial load).
        let items: readonly ObjectUpsert[]
        if (c.base && c.baseIndex === 0 && c.overlay.size === 0) items = c.base
        else {
          foldAll(c)
          items = [...c.objects.values()]
        }
        c.reset = { id: ++this.resetSeq, items, index: 0, patch: this.patchOf(c) }
        c.needsReset = false
        c.dirty.clear()
        c.metaDirty = false
        backend.submit({ op: 'resetBegin', connectionId: id, resetId: c.reset.id })
      }
      const r = c.reset
      // Chunk size adapts to the measured cost per row of the previous chunk (serialising, plus
      // inserting in inline mode), so one step stays near CHUNK_BUDGET_MS whatever the records.
      const t0 = performance.now()
      const want = Math.min(CHUNK_MAX_ROWS, Math.max(CHUNK_MIN_ROWS, Math.floor(CHUNK_BUDGET_MS / this.msPerRow)))
      const rows: ObjectRow[] = []
      while (r.index < r.items.length && rows.length < want) {
        const u = r.items[r.index++]
        if (u && isCacheable(u)) this.pushRow(rows, u, id)
      }
      if (rows.length > 0) {
        backend.submit({ op: 'resetChunk', resetId: r.id, rows })
        // A commit that happened to run a WAL checkpoint is an outlier, not a new per-row cost.
        const perRow = Math.min((performance.now() - t0) / rows.length, this.msPerRow * 4)
        this.msPerRow = this.msPerRow * 0.7 + perRow * 0.3
      }
      if (r.index >= r.items.length) {
        c.reset = undefined
        backend.submit({ op: 'resetCommit', resetId: r.id, patch: r.patch })
        this.gcWanted = true
      }
      return
    }
    // 3. index the graph of a reset (kept in memory for load/recovery), in slices
    for (const c of this.conns.values()) {
      if (!c.base) continue
      foldSome(c, FOLD_PER_STEP)
      return
    }
    // 4. housekeeping: old generations, then free pages, then the WAL
    if (this.gcWanted && !this.housekeepingInFlight) {
      this.housekeepingInFlight = true
      backend.submit({ op: 'gc', limit: GC_ROWS_PER_STEP }, (n) => {
        this.housekeepingInFlight = false
        if (n < GC_ROWS_PER_STEP) {
          this.gcWanted = false
          this.vacuumWanted = true
        }
        this.schedule()
      })
      return
    }
    if (this.vacuumWanted && !this.housekeepingInFlight) {
      this.housekeepingInFlight = true
      backend.submit({ op: 'vacuum', maxPages: VACUUM_PAGES_PER_STEP, force: this.vacuumForce }, (n) => {
        this.housekeepingInFlight = false
        if (n === 0) {
          this.vacuumWanted = false
          this.vacuumForce = false
        }
        this.schedule()
      })
      return
    }
    if (this.checkpointWanted && !this.gcWanted && !this.vacuumWanted) {
      this.checkpointWanted = false
      backend.submit({ op: 'checkpoint' })
    }
  }

  /**
   * The row of `u` into `rows`; false when it cannot be stored (UnstorableRecordError): that object
   * is left out of the file (an older row of it removed) and said, once per object.
   */
  private pushRow(rows: ObjectRow[], u: ObjectUpsert, connectionId: string): boolean {
    try {
      rows.push(toRow(u))
      return true
    } catch (e) {
      if (!(e instanceof UnstorableRecordError)) throw e
      const key = `${connectionId}\u0000${u.ref}`
      if (!this.unstorable.has(key)) {
        if (this.unstorable.size >= 1000) this.unstorable.clear()
        this.unstorable.add(key)
        const name = typeof u.record.name_label === 'string' && u.record.name_label !== '' ? ` "${u.record.name_label}"` : ''
        this.report({ kind: 'record-skipped', message: `The offline cache left out the ${u.cls}${name} (${u.ref}) of ${connectionId}: ${e.message.replace(/^the \S+ \S+ /, 'it ')}. Everything else is saved.` })
      }
      return false
    }
  }

  /** Finishes pending writes, then closes the database (and the worker). */
  async close(): Promise<void> {
    if (this.closed) return
    await this.flush()
    this.closed = true
    const backend = this.backend
    this.backend = undefined
    await backend?.close()
    try {
      this.db?.close()
    } catch {
      // already closed
    }
    this.db = undefined
    this.reader = undefined
    this.historyLog = undefined
    this.perfHistory = undefined
    this.wakeIdle()
  }
}

/** Opens the cache in `<dataDir>/cache.sqlite`. Never throws (see status()/onProblem). */
export function openInventoryCache(opts: CacheOptions): SqliteInventoryCache {
  return new SqliteInventoryCache(opts)
}

/** a stored record's text as the object it was written from; undefined when it is not (damaged bytes) */
function parseStoredRecord(text: string): ObjectRecord | undefined {
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as ObjectRecord) : undefined
  } catch {
    return undefined
  }
}
