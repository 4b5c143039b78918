/**
 * SqliteInventoryCache: the offline cache of every pool's object graph (issue 2), implementing
 * InventoryCache (main/pools/api.ts) for the pools layer, plus clear / do-not-cache / history /
 * search / status for the services.
 *
 * Writes go through the write-behind (./write-behind.ts: an in-memory mirror, batches and chunked
 * resets written off the path that feeds the renderer, on a worker thread by default). This module
 * opens the file, keeps the failure and recovery policy below, and serves the reads.
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
import { vacuumWorthwhile } from './ops'
import { CacheStore, DEFAULT_PRUNE, type PageOmission, type PruneLimits } from './store'
import { WriteBehind, foldAll, newConn, type ConnState } from './write-behind'
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
  /** while it answers true the write-behind starts no work (a window is catching up: main/services/outbox.ts CatchUp) */
  yieldTo?: () => boolean
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
  private readonly doNotCache = new Set<string>()
  private readonly prune: PruneLimits
  private readonly historyLimits: HistoryLimits
  private readonly now: () => Date
  private readonly writer: WriteBehind
  /** a damaged file is being set aside (only once, however many operations noticed it) */
  private recovering = false

  /** Opens or creates the cache. Never throws: trouble is in status() and onProblem. */
  constructor(private readonly opts: CacheOptions) {
    this.path = join(opts.dataDir, CACHE_FILE_NAME)
    this.mode = opts.mode ?? 'worker'
    this.prune = { ...DEFAULT_PRUNE, ...opts.prune }
    this.historyLimits = { ...DEFAULT_HISTORY_LIMITS, ...opts.history }
    this.now = opts.now ?? (() => new Date())
    this.writer = new WriteBehind({
      backend: () => this.backend,
      writable: () => this.state === 'ok',
      ignored: (id) => this.doNotCache.has(id),
      report: (p) => this.report(p),
      now: () => this.now(),
      ...(opts.yieldTo ? { yieldTo: opts.yieldTo } : {}),
    })
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
    this.backend = this.mode === 'worker' ? new WorkerBackend(this.path, this.prune, this.opts.maxSizeBytes, onFailure, () => this.writer.schedule(), this.opts.workerUrl) : new InlineBackend(db, this.prune, onFailure)
    this.state = 'ok'
    // Housekeeping left from an earlier run (rows of old generations: a reset cut short, a clear
    // not yet collected; many free pages) is looked up here with a few index seeks, so that a
    // start with nothing to tidy sends no op at all (and starts no writer thread).
    this.writer.housekeeping(this.housekeepingFound(this.reader))
    this.writer.schedule()
  }

  /** gc: old rows to collect; vacuum: free pages to return (undefined: not looked at) — the gc/vacuum steps have work */
  private housekeepingFound(reader: CacheStore): { gc: boolean; vacuum?: boolean } {
    try {
      if (reader.hasGarbage()) return { gc: true }
      const { free, total } = reader.freePages()
      return { gc: false, vacuum: vacuumWorthwhile(free, total, false) }
    } catch {
      // could not tell: let the writer look (a real problem surfaces there, as before)
      return { gc: true }
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
    this.writer.wakeIdle()
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
        this.writer.rewriteAll()
      }
      this.writer.schedule()
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
      this.writer.rewriteAll()
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
    if (this.writer.closed || this.state === 'ok') return this.state
    try {
      this.db?.close()
    } catch {
      // reopened below
    }
    this.db = undefined
    this.writer.rewriteAll()
    this.openDb()
    return this.state
  }

  // ---------------------------------------------------------------------------------------------
  // InventoryCache

  load(connectionId: string): { diff: PoolDiff; meta: CachedPoolMeta } | undefined {
    if (this.doNotCache.has(connectionId)) return undefined
    const held = this.writer.conns.get(connectionId)
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
        this.writer.conns.set(connectionId, { ...newConn(), objects, complete: true, meta: { ...meta }, seq: loaded.pool.seq })
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
    const held = this.writer.conns.get(connectionId)
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
      if (!loaded || (gen !== undefined && loaded.pool.gen !== gen) || this.writer.conns.get(connectionId)?.complete) {
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
    const held = this.writer.conns.get(connectionId)
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

  write(diff: PoolDiff, meta?: Partial<CachedPoolMeta>): void {
    this.writer.write(diff, meta)
  }

  forget(connectionId: string): void {
    try {
      this.writer.drop(connectionId)
      this.doNotCache.delete(connectionId)
      this.perfHistory?.forget(connectionId)
      this.backend?.submit({ op: 'forget', connectionId })
      this.writer.afterDelete()
    } catch (e) {
      this.report({ kind: 'io-error', message: `The offline cache could not forget ${connectionId}: ${errorMessage(e)}` })
    }
  }

  // ---------------------------------------------------------------------------------------------
  // privacy and size

  /** "Clear cache" for one connection: its inventory and metadata go; the flag and history stay. */
  clear(connectionId: string): void {
    try {
      this.writer.drop(connectionId)
      this.backend?.submit({ op: 'clear', connectionId })
      this.writer.afterDelete()
    } catch (e) {
      this.report({ kind: 'io-error', message: `The offline cache could not be cleared: ${errorMessage(e)}` })
    }
  }

  /** "Clear cache" for every connection. */
  clearAll(): void {
    try {
      this.writer.dropAll()
      this.backend?.submit({ op: 'clearAll' })
      this.writer.afterDelete()
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
        this.writer.drop(connectionId)
      } else {
        this.doNotCache.delete(connectionId)
      }
      this.backend?.submit({ op: 'setDoNotCache', connectionId, doNotCache })
      if (doNotCache) this.writer.afterDelete()
      else this.writer.schedule()
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

  /** Resolves when everything written so far is in the file (and deleted rows are gone). */
  flush(): Promise<void> {
    return this.writer.flush()
  }

  /** Finishes pending writes, then closes the database (and the worker). */
  async close(): Promise<void> {
    if (this.writer.closed) return
    await this.writer.flush()
    this.writer.closed = true
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
    this.writer.wakeIdle()
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
