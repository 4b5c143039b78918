/**
 * Keeps one pool's ObjectGraph live through event.from on its own session, and turns the stream
 * into batched PoolDiffs: changes are coalesced per object and flushed at most every `batchMs`
 * (XenCenter's 50 ms lesson: an event storm must not become a UI storm).
 *
 * Initial load strategies (both implemented, `initialLoad` chooses):
 *  - 'event.from': event.from(['*'], '', t) returns every live object as `add` plus a token in one
 *    answer (XenCenter).
 *  - 'get_all_records': token = event.inject('pool', ref) first (so nothing between fetch and
 *    stream is lost), then <class>.get_all_records for each class (4 in parallel) (Xen Orchestra).
 * Measured on bench-10k (see test/bench/client.bench.ts and the report): DEFAULT_INITIAL_LOAD is
 * the faster one.
 *
 * Full resync (a `reset: true` diff built from a fresh graph: no duplicate, no ghost) on:
 * EVENT_FROM_TOKEN_PARSE_FAILURE, a session that had to be re-established (toolstack restart or
 * expiry: tokens from before may be meaningless), and valid_ref_counts disagreeing with the graph.
 */
import { CLASSES, NO_EVENT_CLASSES } from '../../shared/xapi/datamodel.generated'
import type { ObjectRecord, ObjectRemove, ObjectUpsert, PoolDiff } from '../../shared/model/diff'
import type { CallOptions } from '../xapi/transport'
import { isXapiError } from '../xapi/errors'
import { apiClassName, recordNormaliser } from '../xapi/normalise'
import type { WireValue } from '../xapi/wire'
import { LOAD_POOL_CHARS, ObjectGraph, StringPool } from './graph'

export type InitialLoad = 'event.from' | 'get_all_records'

/** longest stretch of graph building between two turns of the event loop (ms) */
const SLICE_MS = 6
/**
 * Measured on bench-10k (10,278 VMs, simulator in a child process, `npm run bench client`, median
 * of 3, 2-core machine): JSON-RPC event.from('') 7.1 s vs inject + get_all_records 2.7 s;
 * XML-RPC 35.3 s vs 18.6 s. One giant answer parses and collects worse than a few per-class ones
 * fetched 4 at a time, so the Xen Orchestra order wins.
 */
export const DEFAULT_INITIAL_LOAD: InitialLoad = 'get_all_records'

/** classes never kept (secrets and session bookkeeping; XenCenter skips the same) */
export const IGNORED_CLASSES = new Set(['session', 'event', 'user', 'secret'])

export type PartialDiff = Omit<PoolDiff, 'connectionId' | 'seq'>

/** what the loop needs of a session (XapiClient; a fake in unit tests) */
export interface EventSession {
  call(method: string, params?: readonly unknown[], co?: CallOptions): Promise<unknown>
  readonly sessionId: string | undefined
}

export interface EventLoopOptions {
  client: EventSession
  graph: ObjectGraph
  /**
   * `restore`: a complete reset of the graph main already held, sent because a sync in pieces
   * ended early — the consumers' staged pieces are replaced by it; the cache already holds it
   */
  emit: (diff: PartialDiff, opts?: { restore: true }) => void
  batchMs?: number
  /** server-side event.from timeout (s) */
  eventTimeoutS?: number
  initialLoad?: InitialLoad
  /** called for every applied change of `changeClasses` (task tracking, master moves) */
  onChange?: (cls: string, ref: string, record: ObjectRecord | undefined) => void
  /** classes onChange is called for; default all */
  changeClasses?: ReadonlySet<string>
  /** called after each successful event.from answer (liveness) */
  onActivity?: () => void
  /**
   * get_all_records load: the records read so far go out as pieces of the reset (PoolDiff.part,
   * `more`) of this many upserts while the rest is still being read, the last piece when the graph
   * is complete; 0 (default): one reset diff at the end
   */
  syncPieceUpserts?: number
  log?: (line: string) => void
}

interface EventWire {
  class?: unknown
  operation?: unknown
  ref?: unknown
  snapshot?: unknown
}

interface EventBatch {
  events: EventWire[]
  valid_ref_counts: Record<string, unknown>
  token: string
}

function asBatch(v: unknown): EventBatch {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('event.from answered something that is not an event batch')
  const o = v as Record<string, unknown>
  if (!Array.isArray(o.events) || typeof o.token !== 'string') throw new Error('event.from answer lacks events or token')
  const counts = typeof o.valid_ref_counts === 'object' && o.valid_ref_counts !== null ? (o.valid_ref_counts as Record<string, unknown>) : {}
  return { events: o.events as EventWire[], valid_ref_counts: counts, token: o.token }
}

const ALL_RECORD_CLASSES = CLASSES.filter((c) => !NO_EVENT_CLASSES.includes(c.name) && !IGNORED_CLASSES.has(c.name) && c.messages.some((m) => m[0] === 'get_all_records')).map((c) => c.name)

export class ResyncNeeded extends Error {
  override name = 'ResyncNeeded'
}

export class EventLoop {
  token: string | undefined
  private readonly o: Required<Pick<EventLoopOptions, 'batchMs' | 'eventTimeoutS' | 'initialLoad'>> & EventLoopOptions
  private stopped = false
  private abort = new AbortController()
  /** dirty objects since the last flush; value: did the object exist at the last flush */
  private dirty = new Map<string, { cls: string; ref: string; existed: boolean }>()
  private flushTimer: NodeJS.Timeout | undefined
  private lastFlush = 0
  private lastMismatchResync = 0
  /** changes applied since start (benchmarks) */
  applied = 0

  constructor(opts: EventLoopOptions) {
    this.o = { batchMs: 50, eventTimeoutS: 30, initialLoad: DEFAULT_INITIAL_LOAD, ...opts }
  }

  get graph(): ObjectGraph {
    return this.o.graph
  }

  stop(): void {
    this.stopped = true
    this.abort.abort()
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = undefined
  }

  /**
   * Loads the whole graph and emits it as a reset: one diff at the end, or (syncPieceUpserts) in
   * pieces as the records arrive, the last one once every class is read. A sync that ends early
   * (a failure, stop()) after pieces went out emits the graph main still holds as a complete reset,
   * so no consumer is left with a staged half graph.
   */
  async fullSync(): Promise<void> {
    this.cancelPending()
    const fresh = new ObjectGraph()
    // one string for equal strings of the whole answer (graph.ts); let go with the sync
    const strings = new StringPool(LOAD_POOL_CHARS)
    const pieceSize = this.o.initialLoad === 'get_all_records' ? Math.max(0, Math.floor(this.o.syncPieceUpserts ?? 0)) : 0
    let pending: ObjectUpsert[] = []
    let part = 0
    let done = false
    /** the sync ended (done, failed or stopped): workers still reading send nothing more */
    let over = false
    const put = (cls: string, ref: string, record: ObjectRecord): void => {
      fresh.upsert(cls, ref, record, strings)
      if (pieceSize === 0 || over) return
      pending.push({ cls, ref, record })
      if (pending.length < pieceSize) return
      const upserts = pending
      pending = []
      this.o.emit({ reset: true, part: part++, more: true, live: true, upserts, removes: [] })
    }
    let token: string
    try {
      if (this.o.initialLoad === 'event.from') {
        const batch = asBatch(await this.o.client.call('event.from', [['*'], '', 1.0], { timeoutMs: 600_000, signal: this.abort.signal }))
        // 100,000s of objects: indexed a few ms at a time, other pools' events and the UI in between
        let until = performance.now() + SLICE_MS
        let n = 0
        for (const e of batch.events) {
          const cls = typeof e.class === 'string' ? apiClassName(e.class) : undefined
          if (!cls || IGNORED_CLASSES.has(cls) || typeof e.ref !== 'string') continue
          if (e.operation === 'del') fresh.remove(cls, e.ref)
          else if (typeof e.snapshot === 'object' && e.snapshot !== null) fresh.upsert(cls, e.ref, e.snapshot as ObjectRecord, strings)
          if (++n % 64 === 0 && performance.now() >= until) {
            await new Promise((r) => setImmediate(r))
            if (this.stopped) return
            until = performance.now() + SLICE_MS
          }
        }
        token = batch.token
      } else {
        const pools = await this.o.client.call('pool.get_all', [], { signal: this.abort.signal })
        const poolRef = Array.isArray(pools) && typeof pools[0] === 'string' ? pools[0] : undefined
        if (!poolRef) throw new Error('the pool has no pool object')
        token = String(await this.o.client.call('event.inject', ['pool', poolRef], { signal: this.abort.signal }))
        const queue = [...ALL_RECORD_CLASSES]
        const worker = async (): Promise<void> => {
          for (let cls = queue.shift(); cls; cls = queue.shift()) {
            const c = cls
            let all: unknown
            let delivered = 0
            try {
              // records reach the graph one by one as they are parsed and normalised (JSON-RPC: while
              // the rest of the answer is still arriving; XML-RPC: a few thousand per turn)
              all = await this.o.client.call(`${c}.get_all_records`, [], {
                timeoutMs: 600_000,
                signal: this.abort.signal,
                onResultMember: (ref, rec) => {
                  delivered++
                  put(c, ref, rec as ObjectRecord)
                },
              })
            } catch (e) {
              // classes newer than the host
              if (isXapiError(e, 'MESSAGE_METHOD_UNKNOWN') || isXapiError(e, 'MESSAGE_REMOVED')) continue
              throw e
            }
            if (delivered > 0 || typeof all !== 'object' || all === null) continue
            // a session that does not stream members (test fakes): the whole map at once
            let n = 0
            const normalise = recordNormaliser(c)
            for (const [ref, rec] of Object.entries(all as Record<string, WireValue>)) {
              put(c, ref, normalise(rec) as ObjectRecord)
              if (++n % 4000 === 0) await new Promise((r) => setImmediate(r))
            }
          }
        }
        // 4 at a time: measured 1, 2 and 4 on bench-10k, no clear difference in time or peak RSS
        await Promise.all([worker(), worker(), worker(), worker()])
      }
      if (this.stopped) return
      this.replaceGraph(fresh)
      this.token = token
      this.o.onActivity?.()
      done = true
      if (part === 0) this.o.emit({ reset: true, upserts: this.o.graph.toUpserts(), removes: [], token })
      else this.o.emit({ reset: true, part, live: true, upserts: pending, removes: [], token })
      this.lastFlush = Date.now()
    } finally {
      over = true
      // pieces went out but the graph they started will not be completed: what main holds instead
      if (!done && part > 0) this.o.emit({ reset: true, upserts: this.o.graph.toUpserts(), removes: [], ...(this.token ? { token: this.token } : {}) }, { restore: true })
    }
  }

  private replaceGraph(fresh: ObjectGraph): void {
    const g = this.o.graph
    const onChange = this.o.onChange
    const watched = this.o.changeClasses
    if (onChange) {
      const classes = watched ? [...watched] : [...new Set([...g.classes(), ...fresh.classes()])]
      for (const cls of classes) {
        for (const ref of g.all(cls).keys()) if (!fresh.get(cls, ref)) onChange(cls, ref, undefined)
        for (const [ref, rec] of fresh.all(cls)) onChange(cls, ref, rec)
      }
    }
    g.replaceWith(fresh)
  }

  private cancelPending(): void {
    this.dirty = new Map()
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = undefined
  }

  /**
   * Tries to continue from a cached token onto the graph already loaded from the cache. Returns
   * false when the pool refuses the token (the caller then does a full sync).
   */
  async resume(token: string): Promise<boolean> {
    const session = this.o.client.sessionId
    try {
      const batch = asBatch(await this.o.client.call('event.from', [['*'], token, 0.1], { timeoutMs: 600_000, signal: this.abort.signal }))
      if (session !== undefined && this.o.client.sessionId !== session) return false
      this.token = token
      this.apply(batch)
      await this.refreshClasses()
      this.flush()
      return true
    } catch (e) {
      if (isXapiError(e, 'EVENT_FROM_TOKEN_PARSE_FAILURE') || isXapiError(e, 'EVENTS_LOST') || e instanceof ResyncNeeded) {
        this.cancelPending()
        return false
      }
      throw e
    }
  }

  /**
   * The event.from loop. Returns when stopped; throws transport errors (the connection handles
   * failover/reconnect) after flushing what was applied.
   */
  async run(): Promise<void> {
    while (!this.stopped) {
      const session = this.o.client.sessionId
      let batch: EventBatch
      try {
        batch = asBatch(
          await this.o.client.call('event.from', [['*'], this.token ?? '', this.o.eventTimeoutS], {
            timeoutMs: this.o.eventTimeoutS * 1000 + 30_000,
            signal: this.abort.signal,
          }),
        )
      } catch (e) {
        if (this.stopped) return
        if (isXapiError(e, 'EVENT_FROM_TOKEN_PARSE_FAILURE') || isXapiError(e, 'EVENTS_LOST')) {
          this.o.log?.(`event token refused (${e.code}): full resync`)
          await this.fullSync()
          continue
        }
        throw e
      }
      if (this.stopped) return
      if (session !== undefined && this.o.client.sessionId !== session) {
        // the session was re-established under us: events since the old token may be gone
        this.o.log?.('event session was re-established: full resync')
        await this.fullSync()
        continue
      }
      this.o.onActivity?.()
      try {
        this.apply(batch)
        if (this.refreshWanted) await this.refreshClasses()
      } catch (e) {
        if (e instanceof ResyncNeeded) {
          this.o.log?.(e.message)
          await this.fullSync()
          continue
        }
        throw e
      }
    }
  }

  /** applies one event.from answer to the graph and schedules a flush */
  apply(batch: EventBatch): void {
    const g = this.o.graph
    for (const e of batch.events) {
      const cls = typeof e.class === 'string' ? apiClassName(e.class) : undefined
      const ref = e.ref
      if (!cls || IGNORED_CLASSES.has(cls) || typeof ref !== 'string') continue
      this.markDirty(cls, ref)
      const notify = this.o.onChange && (!this.o.changeClasses || this.o.changeClasses.has(cls))
      if (e.operation === 'del') {
        g.remove(cls, ref)
        if (notify) this.o.onChange?.(cls, ref, undefined)
      } else if (typeof e.snapshot === 'object' && e.snapshot !== null && !Array.isArray(e.snapshot)) {
        g.upsert(cls, ref, e.snapshot as ObjectRecord)
        if (notify) this.o.onChange?.(cls, ref, e.snapshot as ObjectRecord)
      }
      this.applied++
    }
    this.token = batch.token
    this.checkCounts(batch.valid_ref_counts)
    this.schedule()
  }

  /**
   * valid_ref_counts vs the graph. A few classes off (typically finished tasks a cache did not
   * keep) are re-read with get_all_records — authoritative, and safe to interleave with the event
   * stream because upserts are idempotent. More than that means we lost track: full resync.
   */
  private checkCounts(counts: Record<string, unknown>): void {
    const g = this.o.graph
    const wrong: string[] = []
    const classes: string[] = []
    for (const lc in counts) {
      const n = counts[lc]
      const cls = apiClassName(lc)
      if (!cls || IGNORED_CLASSES.has(cls) || typeof n !== 'number') continue
      if (g.count(cls) !== n) {
        wrong.push(`${cls} ${g.count(cls)}≠${n}`)
        classes.push(cls)
      }
    }
    if (wrong.length === 0) return
    if (classes.length <= 3) {
      this.refreshWanted = classes
      return
    }
    const now = Date.now()
    // a host that keeps reporting counts we cannot match must not make us resync in a loop
    if (now - this.lastMismatchResync < 60_000) {
      this.o.log?.(`valid_ref_counts still differ (${wrong.slice(0, 3).join(', ')}); not resyncing again within a minute`)
      return
    }
    this.lastMismatchResync = now
    throw new ResyncNeeded(`valid_ref_counts differ from the graph (${wrong.slice(0, 3).join(', ')}…): full resync`)
  }

  private refreshWanted: string[] | undefined
  private lastRefresh = new Map<string, number>()

  /** re-reads whole classes with get_all_records and emits what differed */
  private async refreshClasses(): Promise<void> {
    const classes = this.refreshWanted
    this.refreshWanted = undefined
    if (!classes) return
    const g = this.o.graph
    for (const cls of classes) {
      const now = Date.now()
      if (now - (this.lastRefresh.get(cls) ?? 0) < 10_000) continue
      this.lastRefresh.set(cls, now)
      let all: unknown
      try {
        all = await this.o.client.call(`${cls}.get_all_records`, [], { timeoutMs: 600_000, signal: this.abort.signal })
      } catch (e) {
        if (isXapiError(e)) continue
        throw e
      }
      if (typeof all !== 'object' || all === null) continue
      const fresh = all as Record<string, ObjectRecord>
      for (const ref of [...g.all(cls).keys()]) {
        if (fresh[ref]) continue
        this.markDirty(cls, ref)
        g.remove(cls, ref)
        this.o.onChange?.(cls, ref, undefined)
      }
      for (const [ref, rec] of Object.entries(fresh)) {
        this.markDirty(cls, ref)
        g.upsert(cls, ref, rec)
        this.o.onChange?.(cls, ref, rec)
      }
      this.o.log?.(`${cls} re-read: valid_ref_counts disagreed with the graph`)
    }
    this.schedule()
  }

  private markDirty(cls: string, ref: string): void {
    const key = `${cls}\u0000${ref}`
    if (!this.dirty.has(key)) this.dirty.set(key, { cls, ref, existed: this.o.graph.get(cls, ref) !== undefined })
  }

  private schedule(): void {
    if (this.flushTimer || this.dirty.size === 0) return
    const wait = Math.max(0, this.lastFlush + this.o.batchMs - Date.now())
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined
      this.flush()
    }, wait)
  }

  /** emits the coalesced changes since the last flush as one diff */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    if (this.dirty.size === 0) return
    const g = this.o.graph
    const upserts: ObjectUpsert[] = []
    const removes: ObjectRemove[] = []
    for (const { cls, ref, existed } of this.dirty.values()) {
      const record = g.get(cls, ref)
      if (record) upserts.push({ cls, ref, record })
      else if (existed) removes.push({ cls, ref })
    }
    this.dirty = new Map()
    this.lastFlush = Date.now()
    if (upserts.length === 0 && removes.length === 0) return
    this.o.emit({ reset: false, upserts, removes, ...(this.token ? { token: this.token } : {}) })
  }
}
