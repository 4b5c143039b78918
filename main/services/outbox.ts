/**
 * One window's stream of pool diffs (`pool.diff` events), with its flow control. main/services
 * opens one per session; the contract's objects.subscribe / objects.ack drive it, the pools layer
 * feeds it live diffs and connection changes.
 *
 * A window's pool diffs go out in order through its outbox. A small diff with nothing queued goes
 * at once; a large reset is split into pieces (PoolDiff.part) and graphs for a new subscriber are
 * streams pulled piece by piece. The outbox is drained ≤ SEND_BUDGET_MS per turn, so neither main
 * nor the window ever handles one huge message or one long task. With a window (objects.subscribe
 * `window`), at most that many diffs are unacknowledged; credit comes back by itself after STALL_MS
 * without an ack (a lost ack must not stall the window for good).
 *
 * Scopes (objects.scope / unscope): per pool, the classes main does not otherwise send that this
 * window asked for, counted. A newly scoped class's records follow as a class reset (PoolDiff.scope)
 * in the outbox's order, from main's graph or the offline cache (PoolManagerApi.scopedPieces); live
 * diffs then carry it; graphs sent later (a re-subscribe, a reset, a pool connecting) include it;
 * when its count drops to 0 an empty class reset tells the window to drop what it holds. Every
 * such message goes through the same outbox and flow control as the rest.
 *
 * Memory (issue 12 item 4): a door that can tell how many bytes a client has not read yet
 * (browser mode: the WebSocket's bufferedAmount) gives an `UnreadSink`. Nothing more is handed to
 * a client holding HIGH_WATER_BYTES unread (backpressure: its graph streams wait, unproduced), and
 * what it holds — unread bytes plus the live diffs queued for it, counted as the JSON they become —
 * is charged to one `UnreadBudget` shared by every client of the door. When the clients together
 * hold more than the budget, the one holding most is disconnected with the reason (a page that
 * reconnects gets one fresh graph instead of its backlog).
 */
import type { EventName, EventPayload } from '../../shared/contract'
import { PIECE_UPSERTS, resetPieces, type PoolDiff } from '../../shared/model/diff'
import { ScopeCounts } from '../../shared/model/scopes'
import { forWindow, OFFLINE_STREAM_UNUSED_FIELDS, OFFLINE_UNUSED_CLASSES, RENDERER_UNUSED_CLASSES } from '../../shared/model/slim'
import type { PageSelection, PoolManagerApi, RawPoolDiff } from '../pools/api'

/**
 * what a window's stream of an offline pool read from the cache leaves out: the renderer never reads
 * it, or reads it only while the pool is connected (shared/model/slim.ts)
 */
export const OFFLINE_OMISSION = { fields: OFFLINE_STREAM_UNUSED_FIELDS, classes: [...RENDERER_UNUSED_CLASSES, ...OFFLINE_UNUSED_CLASSES] }

/** OFFLINE_OMISSION but for the classes the window asked for (objects.scope) */
function offlineOmission(keepClasses: Iterable<string>): PageSelection {
  const keep = new Set(keepClasses)
  return keep.size === 0 ? OFFLINE_OMISSION : { ...OFFLINE_OMISSION, classes: OFFLINE_OMISSION.classes.filter((c) => !keep.has(c)) }
}

/** time spent sending queued pieces per turn before main serves other work (ms) */
const SEND_BUDGET_MS = 4
/** a flow-controlled window that acknowledges nothing for this long gets its credit back (ms) */
const STALL_MS = 2000

/**
 * `scope`: classes of a pool this window started (`on`) or stopped needing; what to send for them is
 * decided when the outbox reaches it — once every graph queued before it has gone out, so the window's
 * copy of the pool is known (from the cache or live)
 */
type OutboxItem =
  | { kind: 'diff'; diff: PoolDiff; bytes: number }
  | EncodedDiff
  | { kind: 'stream'; pieces: Iterator<PoolDiff | RawPoolDiff> }
  | { kind: 'scope'; id: string; classes: readonly string[]; on: boolean }

/**
 * a live diff queued for a door that takes JSON text (RawDiffSink), encoded once when queued: the
 * budget counts its `bytes` and the door sends the same text (no second JSON.stringify when it goes)
 */
interface EncodedDiff {
  kind: 'text'
  envelope: Omit<PoolDiff, 'upserts'>
  upsertsJson: string
  bytes: number
}

/**
 * A door that can put JSON text into its messages as is (browser mode: one WebSocket text frame
 * per event) takes a reset piece read from the cache without main parsing it: `envelope` is the
 * PoolDiff without `upserts`, `upsertsJson` the upserts array's JSON text.
 */
export type RawDiffSink = (envelope: Omit<PoolDiff, 'upserts'>, upsertsJson: string) => void

export interface WindowStreamDeps {
  pools: PoolManagerApi
  emit: <E extends EventName>(event: E, payload: EventPayload<E>) => void
  emitRaw?: RawDiffSink
  log: (line: string) => void
  /** what the door knows of this client's unread bytes, and the budget all its clients share */
  unread?: { sink: UnreadSink; budget: UnreadBudget }
  /** whether any window is still catching up, for main's background work (one per app) */
  catchUp?: CatchUp
}

/** a client's unread bytes as its door counts them, and how to end it */
export interface UnreadSink {
  /** bytes sent to this client that it has not read yet (held by main until it does) */
  backlog(): number
  /** ends this client's connection, telling it why (≤ 123 bytes: a WebSocket close reason) */
  disconnect(reason: string): void
}

/** a client holding this many unread bytes is sent nothing more until it reads (backpressure) */
export const HIGH_WATER_BYTES = 4 * 1024 * 1024
/** how often a client held back by backpressure is looked at again (ms) */
const BACKLOG_POLL_MS = 50

const MiB = 1024 * 1024
const mib = (n: number): string => `${Math.round((n / MiB) * 10) / 10} MiB`

/**
 * The bound on what all clients of a door hold unread together, in bytes: each client's unread
 * bytes (its door's count) plus the live diffs queued for it (the JSON they become).
 */
export class UnreadBudget {
  private readonly members = new Set<WindowStream>()

  constructor(
    readonly limitBytes: number,
    private readonly log: (line: string) => void = () => {},
  ) {}

  join(s: WindowStream): void {
    this.members.add(s)
  }
  leave(s: WindowStream): void {
    this.members.delete(s)
  }

  /** bytes all clients hold unread now */
  total(): number {
    let t = 0
    for (const m of this.members) t += m.retainedBytes()
    return t
  }

  /** over the bound: disconnect the clients holding most until the rest fit */
  enforce(): void {
    let total = this.total()
    while (total > this.limitBytes) {
      let worst: WindowStream | undefined
      let most = -1
      for (const m of this.members) {
        const r = m.retainedBytes()
        if (r > most) [worst, most] = [m, r]
      }
      if (!worst || most <= 0) return
      const reason = `XenPilot closed this window's connection: it left ${mib(most)} unread (all windows together may hold ${mib(this.limitBytes)}).`
      this.log(`services: ${reason}`)
      this.members.delete(worst)
      worst.disconnect(reason)
      total -= most
    }
  }
}

/** a window behind for this long without a break (a page that stopped reading) holds no background work back any more (ms) */
export const CATCH_UP_MAX_WAIT_MS = 20_000

/**
 * Whether main's background work should wait for the windows (issue 20: the first connect of a big
 * pool): while a window is still catching up with what main sent it — its outbox not drained (the
 * pieces of a reset waiting for credit) or pool diffs it has not acknowledged yet — the offline
 * cache's write-behind and RRD first sight do not start work (runtime.ts gives them `waiting`). Right
 * after a sync main is otherwise idle while the page still applies the reset; work started then (every
 * record serialised again for the cache, a host's whole RRD parsed) competes with the page for the
 * CPU and delays the tree. Bounded: a window behind for CATCH_UP_MAX_WAIT_MS without a break holds
 * nothing back any more, until it has caught up once.
 */
export class CatchUp {
  private readonly streams = new Set<WindowStream>()
  private behindSince: number | undefined

  constructor(
    private readonly maxWaitMs = CATCH_UP_MAX_WAIT_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  join(s: WindowStream): void {
    this.streams.add(s)
  }
  leave(s: WindowStream): void {
    this.streams.delete(s)
  }

  /** true: some window is behind (for less than the bound): background work waits */
  waiting(): boolean {
    let behind = false
    for (const s of this.streams) if (s.behind()) behind = true
    if (!behind) {
      this.behindSince = undefined
      return false
    }
    const t = this.now()
    this.behindSince ??= t
    return t - this.behindSince < this.maxWaitMs
  }
}

export class WindowStream {
  /** objects.subscribe was called: pool diffs flow */
  private subscribed = false
  private closed = false
  /** pool diffs and graph streams waiting to be sent, in order */
  private outbox: OutboxItem[] = []
  private pumping = false
  /** flow control: most pool diffs unacknowledged (undefined: none) */
  private window: number | undefined
  private inflight = 0
  private stallTimer: NodeJS.Timeout | undefined
  /**
   * pools whose last graph went out as read from the offline cache, without the classes only a
   * connected pool needs (shared/model/slim.ts OFFLINE_UNUSED_CLASSES): sent whole again when they connect
   */
  private readonly offlineGraph = new Set<string>()
  /** per pool: the classes this window asked for (objects.scope), counted; the filter of every diff sent */
  private readonly scopes = new ScopeCounts()
  /** bytes of the live diffs waiting in the outbox (the JSON they become), for the budget */
  private queuedBytes = 0
  private backlogTimer: NodeJS.Timeout | undefined

  constructor(private readonly deps: WindowStreamDeps) {
    deps.unread?.budget.join(this)
    deps.catchUp?.join(this)
  }

  /** the window has not caught up with what main has for it: diffs queued here, or sent and not acknowledged */
  behind(): boolean {
    return this.subscribed && !this.closed && (this.outbox.length > 0 || this.inflight > 0)
  }

  /** what this client holds unread: its door's count plus the live diffs queued for it (bytes) */
  retainedBytes(): number {
    return (this.deps.unread?.sink.backlog() ?? 0) + this.queuedBytes
  }

  /** the budget ends this client: nothing more is produced for it */
  disconnect(reason: string): void {
    this.close()
    this.deps.unread?.sink.disconnect(reason)
  }

  /** objects.scope: this window's stream of the pool carries `classes` from now on */
  scope(id: string, classes: readonly string[]): void {
    const fresh = this.scopes.add(id, classes)
    // before subscribing there is nothing to add to: the graphs sent on subscribe carry them
    if (!this.subscribed || fresh.length === 0) return
    this.outbox.push({ kind: 'scope', id, classes: fresh, on: true })
    this.pump()
  }

  /** objects.unscope: undoes one scope call per class; a class no longer scoped is dropped by the window */
  unscope(id: string, classes: readonly string[]): void {
    const ended = this.scopes.remove(id, classes)
    if (!this.subscribed || ended.length === 0) return
    this.outbox.push({ kind: 'scope', id, classes: ended, on: false })
    this.pump()
  }

  /** a forgotten connection: its scopes end with it (the window drops the pool) */
  forget(id: string): void {
    this.scopes.forget(id)
    this.offlineGraph.delete(id)
  }

  /**
   * the window gets the class's records without a scope: a class only a connected pool's graph
   * carries (shared/model/slim.ts OFFLINE_UNUSED_CLASSES) when the last graph of the pool sent to
   * the window was that one, not one read from the cache
   */
  private holdsAnyway(id: string, cls: string): boolean {
    return !RENDERER_UNUSED_CLASSES.has(cls) && !this.offlineGraph.has(id)
  }

  /**
   * a scope change reached the head of the outbox: the records of classes now needed (a class
   * reset, in pieces, as the outbox pulls them), or an empty class reset for those no longer needed;
   * nothing for classes the window gets anyway, or whose scope was undone meanwhile
   */
  private scopeItem(item: { id: string; classes: readonly string[]; on: boolean }): OutboxItem | PoolDiff | undefined {
    const scoped = this.scopes.of(item.id)
    const classes = item.classes.filter((cls) => scoped.has(cls) === item.on && !this.holdsAnyway(item.id, cls))
    if (classes.length === 0) return undefined
    if (!item.on) return { connectionId: item.id, seq: 0, reset: false, scope: classes, upserts: [], removes: [] }
    return { kind: 'stream', pieces: this.deps.pools.scopedPieces(item.id, classes, PIECE_UPSERTS, { omitFields: OFFLINE_OMISSION.fields }) }
  }

  /** objects.subscribe: every known graph as a reset first; later diffs stream on top of it */
  subscribe(window: number | undefined): void {
    this.subscribed = true
    this.window = window
    this.inflight = 0
    // what was still queued for this window is superseded by the fresh graphs
    this.cancelQueued()
    this.offlineGraph.clear()
    for (const c of this.deps.pools.list()) this.outbox.push(this.graphStream(c.id))
    this.pump()
  }

  /** objects.ack: the window applied `count` more pool diffs */
  ack(count: number): void {
    this.inflight = Math.max(0, this.inflight - count)
    if (this.inflight === 0) clearTimeout(this.stallTimer)
    this.pump()
  }

  /** a live diff of the pools layer (already batched per pool: forwarded as it is, no copying) */
  poolDiff(diff: PoolDiff): void {
    if (this.subscribed && !this.closed) this.send(diff)
  }

  /** a pool connected: an offline graph this window got from the cache lacks what only a connected pool needs, so the whole graph again */
  poolConnected(id: string): void {
    if (!this.subscribed || !this.offlineGraph.delete(id)) return
    this.outbox.push(this.graphStream(id))
    this.pump()
  }

  /** a pool's graph, produced when the outbox reaches it: with the classes this window has scoped by then */
  private graphStream(id: string): OutboxItem {
    const { pools } = this.deps
    return { kind: 'stream', pieces: lazily(() => pools.graphPieces(id, PIECE_UPSERTS, { omit: offlineOmission(this.scopes.of(id)) })) }
  }

  close(): void {
    this.closed = true
    clearTimeout(this.stallTimer)
    clearTimeout(this.backlogTimer)
    this.cancelQueued()
    this.deps.unread?.budget.leave(this)
    this.deps.catchUp?.leave(this)
  }

  private cancelQueued(): void {
    for (const item of this.outbox) if (item.kind === 'stream') item.pieces.return?.(undefined)
    this.outbox = []
    this.queuedBytes = 0
  }

  /**
   * a live diff waits in the outbox. With a budget it is counted as the JSON it becomes: for a door
   * that takes JSON text that is the text sent later (encoded once, now, with the classes this window
   * takes now — scope changes queued after it reach the window after it, as before); for any other
   * door (none in the product) its length is only measured.
   */
  private enqueue(diff: PoolDiff): void {
    const { unread, emitRaw } = this.deps
    if (!unread) {
      this.outbox.push({ kind: 'diff', diff, bytes: 0 })
      return
    }
    if (emitRaw) {
      const { upserts, ...envelope } = forWindow(diff, this.scopes.of(diff.connectionId))
      const upsertsJson = JSON.stringify(upserts)
      const bytes = upsertsJson.length + JSON.stringify(envelope).length
      this.outbox.push({ kind: 'text', envelope, upsertsJson, bytes })
      this.queuedBytes += bytes
    } else {
      const bytes = JSON.stringify(diff).length
      this.outbox.push({ kind: 'diff', diff, bytes })
      this.queuedBytes += bytes
    }
    unread.budget.enforce()
  }

  private send(diff: PoolDiff): void {
    const large = diff.reset && diff.part === undefined && diff.upserts.length > PIECE_UPSERTS
    if (this.outbox.length === 0 && !large && this.canSend()) {
      this.emitDiff(diff)
      return
    }
    if (large) this.outbox.push({ kind: 'stream', pieces: resetPieces(diff, PIECE_UPSERTS) })
    else this.enqueue(diff)
    this.pump()
  }

  private canSend(): boolean {
    return (this.window === undefined || this.inflight < this.window) && !this.heldBack()
  }

  /** the client has HIGH_WATER_BYTES unread: nothing more until it reads (looked at again shortly) */
  private heldBack(): boolean {
    const sink = this.deps.unread?.sink
    if (!sink || sink.backlog() < HIGH_WATER_BYTES) return false
    if (!this.backlogTimer && !this.closed) {
      this.backlogTimer = setTimeout(() => {
        this.backlogTimer = undefined
        this.pump()
      }, BACKLOG_POLL_MS)
      this.backlogTimer.unref?.()
    }
    return true
  }

  private emitDiff(diff: PoolDiff | RawPoolDiff | EncodedDiff): void {
    const { emit, emitRaw } = this.deps
    // a piece read from the offline cache (raw) already lacks what a window never reads (the SQL leaves it out)
    if ('raw' in diff) {
      if (!diff.diff.scope) this.offlineGraph.add(diff.diff.connectionId)
      if (emitRaw) emitRaw(diff.diff, diff.upsertsJson)
      else emit('pool.diff', { ...diff.diff, upserts: JSON.parse(diff.upsertsJson) as PoolDiff['upserts'] })
    } else if ('kind' in diff) {
      if (diff.envelope.reset && !diff.envelope.part) this.offlineGraph.delete(diff.envelope.connectionId)
      // only queued when the door has emitRaw
      emitRaw?.(diff.envelope, diff.upsertsJson)
    } else {
      if (diff.reset && !diff.part) this.offlineGraph.delete(diff.connectionId)
      emit('pool.diff', forWindow(diff, this.scopes.of(diff.connectionId)))
    }
    this.deps.unread?.budget.enforce()
    if (this.closed || this.window === undefined) return
    this.inflight++
    clearTimeout(this.stallTimer)
    this.stallTimer = setTimeout(() => {
      if (this.closed || this.inflight === 0) return
      this.deps.log(`services: a window acknowledged no pool diff for ${STALL_MS} ms; sending on`)
      this.inflight = 0
      this.pump()
    }, STALL_MS)
    this.stallTimer.unref?.()
  }

  private pump(): void {
    if (this.pumping || this.outbox.length === 0 || !this.canSend()) return
    this.pumping = true
    setImmediate(() => this.drain())
  }

  private drain(): void {
    this.pumping = false
    if (this.closed) return
    const start = performance.now()
    try {
      while (this.outbox.length > 0 && this.canSend() && performance.now() - start < SEND_BUDGET_MS) {
        const item = this.outbox[0]
        if (!item) break
        if (item.kind === 'diff' || item.kind === 'text') {
          this.outbox.shift()
          this.queuedBytes -= item.bytes
          this.emitDiff(item.kind === 'text' ? item : item.diff)
          continue
        }
        if (item.kind === 'scope') {
          const next = this.scopeItem(item)
          if (next === undefined) this.outbox.shift()
          else if ('kind' in next) this.outbox[0] = next
          else {
            this.outbox.shift()
            this.emitDiff(next)
          }
          continue
        }
        const next = item.pieces.next()
        if (next.done) this.outbox.shift()
        else this.emitDiff(next.value)
      }
    } catch (e) {
      // a graph that cannot be produced (cache read failure): skip it, keep the rest flowing
      this.deps.log(`services: a pool graph could not be sent: ${e instanceof Error ? e.message : String(e)}`)
      this.outbox.shift()
    }
    this.pump()
  }
}

/** an iterator made when first pulled (what it reads is decided then, not when it was queued) */
function* lazily<T>(make: () => Iterator<T>): Generator<T> {
  const it = make()
  try {
    for (let r = it.next(); !r.done; r = it.next()) yield r.value
  } finally {
    it.return?.(undefined)
  }
}
