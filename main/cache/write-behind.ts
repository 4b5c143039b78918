/**
 * The write-behind of the offline cache (main/cache/cache.ts owns opening, the failure and recovery
 * policy and the reads; this module owns the in-memory mirror of each pool's graph and when and how
 * it reaches the file).
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
 */
import type { CachedPoolMeta } from '../pools/api'
import type { ObjectUpsert, PoolDiff } from '../../shared/model/diff'
import type { Backend } from './backend'
import type { CacheProblem } from './cache'
import { errorMessage } from './open'
import { UnstorableRecordError, isCacheable, toRow, type ObjectRow } from './serialize'
import type { MetaPatch } from './store'

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

export interface ConnState {
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

export function newConn(): ConnState {
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

export function foldAll(c: ConnState): void {
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

/** a write step held back by WriteBehindHost.yieldTo is tried again after this long (ms) */
const YIELD_RETRY_MS = 50

/** entries of the index folded per write-behind step */
const FOLD_PER_STEP = 10_000

/** what the write-behind needs from the cache that owns it */
export interface WriteBehindHost {
  /** who writes (worker thread or inline); undefined while there is none (memory-only, reopening) */
  backend(): Backend | undefined
  /** false: the cache is memory-only, nothing is written */
  writable(): boolean
  /** a connection whose batches are not kept ("do not cache") */
  ignored(connectionId: string): boolean
  report(p: Omit<CacheProblem, 'at'>): void
  now(): Date
  /** true: something more urgent has the main thread (a window catching up with a reset): no write step starts now */
  yieldTo?(): boolean
}

export class WriteBehind {
  /** each connection's graph as last written (see ConnState) */
  readonly conns = new Map<string, ConnState>()
  /** set by the cache's close(): later writes are ignored */
  closed = false
  /** objects already said to be unstorable (connectionId NUL ref), bounded */
  private readonly unstorable = new Set<string>()
  /** resets arriving in pieces, collected until their last piece */
  private readonly staged = new Map<string, { seq: number; next: number; upserts: ObjectUpsert[]; held: { diff: PoolDiff; meta: Partial<CachedPoolMeta> | undefined }[] }>()
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

  constructor(private readonly host: WriteBehindHost) {}

  /** every graph held whole is written again as a reset; partial ones are dropped (after a reopen or a switch of writer) */
  rewriteAll(): void {
    for (const [id, c] of this.conns) {
      if (!c.complete) this.conns.delete(id)
      else this.markForReset(c)
    }
  }

  /** drops every connection's graph and the resets being collected ("Clear cache" for all) */
  dropAll(): void {
    for (const id of [...this.conns.keys()]) this.drop(id)
    this.staged.clear()
  }

  /** housekeeping found at open: old rows to collect (gc), free pages to return (vacuum; undefined: unchanged) */
  housekeeping(found: { gc: boolean; vacuum?: boolean }): void {
    this.gcWanted = found.gc
    if (found.vacuum !== undefined) this.vacuumWanted = found.vacuum
  }

  private conn(connectionId: string): ConnState {
    let c = this.conns.get(connectionId)
    if (!c) {
      c = newConn()
      this.conns.set(connectionId, c)
    }
    return c
  }

  markForReset(c: ConnState): void {
    if (c.reset) this.host.backend()?.submit({ op: 'resetAbandon', resetId: c.reset.id })
    c.reset = undefined
    c.needsReset = true
    c.dirty.clear()
    c.metaDirty = false
  }

  write(diff: PoolDiff, meta?: Partial<CachedPoolMeta>): void {
    try {
      if (this.closed || this.host.ignored(diff.connectionId)) return
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
      c.meta.lastSyncAt = meta?.lastSyncAt ?? this.host.now().toISOString()
      c.seq = diff.seq
      c.metaDirty = true
      this.schedule()
    } catch (e) {
      // never into the pools layer
      this.host.report({ kind: 'io-error', message: `The offline cache could not take a batch of ${diff.connectionId}: ${errorMessage(e)}` })
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

  /** drops what is held of a connection (and abandons its reset in flight) */
  drop(connectionId: string): void {
    this.staged.delete(connectionId)
    const c = this.conns.get(connectionId)
    if (c?.reset) this.host.backend()?.submit({ op: 'resetAbandon', resetId: c.reset.id })
    this.conns.delete(connectionId)
  }

  /** after a privacy operation: collect, return every free page, truncate the WAL */
  afterDelete(): void {
    this.gcWanted = true
    this.vacuumForce = true
    this.checkpointWanted = true
    this.schedule()
  }

  schedule(): void {
    if (this.scheduled || this.closed && this.idleWaiters.length === 0) return
    this.scheduled = true
    setImmediate(() => this.step())
  }

  private hasWork(): boolean {
    if (!this.host.writable() || !this.host.backend()) return false
    for (const c of this.conns.values()) if (c.reset || c.needsReset || c.dirty.size > 0 || c.metaDirty || c.base) return true
    if (this.housekeepingInFlight) return false
    return this.gcWanted || this.vacuumWanted || this.checkpointWanted
  }

  wakeIdle(): void {
    const ws = this.idleWaiters
    this.idleWaiters = []
    for (const w of ws) w()
  }

  /** Resolves when everything written so far is in the file (and deleted rows are gone). */
  flush(): Promise<void> {
    if (!this.hasWork() && (this.host.backend()?.outstanding() ?? 0) === 0) return Promise.resolve()
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
    if (!this.closed && this.host.yieldTo?.()) {
      // still `scheduled`: writes meanwhile only mark objects dirty, no second step is queued
      setTimeout(() => {
        this.scheduled = false
        this.schedule()
      }, YIELD_RETRY_MS)
      return
    }
    this.scheduled = false
    const backend = this.host.backend()
    if (!this.host.writable() || !backend) {
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
        this.host.report({ kind: 'record-skipped', message: `The offline cache left out the ${u.cls}${name} (${u.ref}) of ${connectionId}: ${e.message.replace(/^the \S+ \S+ /, 'it ')}. Everything else is saved.` })
      }
      return false
    }
  }
}
