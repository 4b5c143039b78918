/**
 * main/services: the one implementation of shared/contract. Both doors (Electron IPC in main/app,
 * the browser-mode WebSocket in main/web) open one `ServiceSession` per window/socket and pass
 * every call through `session.call(method, args)` — that is where arguments are validated against
 * the contract's zod schemas and where every failure becomes a ContractError with a sentence.
 *
 *   door ──call(method, unknown args)──▶ session ──zod──▶ handler(args, ctx) ──▶ PoolManagerApi
 *   door ◀──emit(event, payload)──────── session ◀── pool diffs / state / settings / keychain
 *
 * Other capabilities (console, NUMA, operations) contribute handlers for their contract methods as
 * `ServiceModule`s passed in `deps.modules`; `createServices` merges them. A contract method with
 * no handler answers 'not-implemented' (and is logged) instead of crashing the door.
 */
import { z } from 'zod'
import {
  events as contractEvents,
  methods as contractMethods,
  type AppInfo,
  type EventName,
  type EventPayload,
  type KeychainState,
  type MethodName,
  type MethodResult,
  type Methods,
} from '../../shared/contract'
import type { consoleMethods } from '../../shared/contract/console'
import type { numaMethods } from '../../shared/contract/numa'
import type { operationMethods } from '../../shared/contract/operations'
import type { cacheMethods } from '../../shared/contract/cache'
import { resetPieces, type PoolDiff } from '../../shared/model/diff'
import { withoutUnusedClasses } from '../../shared/model/slim'
import type { PoolManagerApi, RawPoolDiff, Unsubscribe } from '../pools/api'
import { ServiceError, invalidArgs, toContractError } from './errors'
import type { SettingsStore } from './settings'

export { ServiceError, toContractError } from './errors'

/** Arguments as the handler receives them: already parsed (defaults applied, strings trimmed). */
export type HandlerArgs<M extends MethodName> = z.output<Methods[M]['args']>
export type Handler<M extends MethodName> = (args: HandlerArgs<M>, ctx: CallContext) => Promise<MethodResult<M>> | MethodResult<M>
export type HandlerTable = { [M in MethodName]: Handler<M> }

/** upserts per `pool.diff` piece sent to a window (≈0.3–1 MB of JSON: a few ms to parse and apply) */
export const PIECE_UPSERTS = 300
/** time spent sending queued pieces per turn before main serves other work (ms) */
const SEND_BUDGET_MS = 4
/** a flow-controlled window that acknowledges nothing for this long gets its credit back (ms) */
const STALL_MS = 2000

type OutboxItem = { kind: 'diff'; diff: PoolDiff } | { kind: 'stream'; pieces: Iterator<PoolDiff | RawPoolDiff> }

/**
 * A door that can put JSON text into its messages as is (browser mode: one WebSocket text frame
 * per event) takes a reset piece read from the cache without main parsing it: `envelope` is the
 * PoolDiff without `upserts`, `upsertsJson` the upserts array's JSON text.
 */
export type RawDiffSink = (envelope: Omit<PoolDiff, 'upserts'>, upsertsJson: string) => void

export type EventSink = <E extends EventName>(event: E, payload: EventPayload<E>) => void

/** What a handler knows about who called it. */
export interface CallContext {
  /** send an event to this caller only */
  emit: EventSink
  /** start forwarding pool diffs to this caller (objects.subscribe); `window`: see the contract */
  subscribeObjects(window?: number): void
  /** the caller applied `count` more pool diffs (objects.ack) */
  ackObjects?(count: number): void
}

/** The keychain as the UI sees it: which store, is it safe, may the user accept an insecure one. */
export interface KeychainStatusSource {
  state(): KeychainState
  acceptInsecure(): Promise<KeychainState>
  onState?(cb: (state: KeychainState) => void): Unsubscribe
}

export interface ServiceModuleContext {
  pools: PoolManagerApi
  /** send an event to every open session */
  broadcast: EventSink
  log: (line: string) => void
}

/** A capability's share of the contract (console, NUMA): handlers for its methods, and cleanup. */
export interface ServiceModule {
  handlers: Partial<HandlerTable>
  close?(): Promise<void> | void
}

export interface ServicesDeps {
  pools: PoolManagerApi
  settings: SettingsStore
  keychain: KeychainStatusSource
  app: AppInfo
  modules?: ((ctx: ServiceModuleContext) => ServiceModule)[]
  log?: (line: string) => void
  /** also close the PoolManager on `close()` (default true) */
  closePools?: boolean
}

export interface ServiceSession {
  /** validate and run one contract call; rejects with a ServiceError-like `{code, message}` */
  call(method: string, args: unknown): Promise<unknown>
  close(): void
}

export interface Services {
  handlers: HandlerTable
  openSession(emit: EventSink, opts?: { emitRawDiff?: RawDiffSink }): ServiceSession
  broadcast: EventSink
  /** number of open sessions (doors report it; tests wait on it) */
  sessionCount(): number
  close(): Promise<void>
}

/** The wire form of a rejected call; a door sends `{code, message, params?}` as-is. */
export type CallFailure = ReturnType<typeof toContractError>

function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(contractMethods, name)
}

export function createServices(deps: ServicesDeps): Services {
  const log = deps.log ?? (() => {})
  const { pools, settings, keychain } = deps
  interface SessionState {
    emit: EventSink
    emitRaw: RawDiffSink | undefined
    objects: boolean
    /** pool diffs and graph streams waiting to be sent, in order (see sendDiff) */
    outbox: OutboxItem[]
    pumping: boolean
    /** flow control: most pool diffs unacknowledged (undefined: none) */
    window: number | undefined
    inflight: number
    /** credit comes back by itself when the window stops acknowledging (a lost ack must not stall it) */
    stallTimer: NodeJS.Timeout | undefined
    /**
     * pools whose last graph went out as read from the offline cache, without the classes only a
     * connected pool needs (shared/model/slim.ts OFFLINE_UNUSED_CLASSES): sent whole again when they connect
     */
    offlineGraph: Set<string>
  }
  const sessions = new Set<SessionState>()

  const broadcast: EventSink = (event, payload) => {
    for (const s of sessions) s.emit(event, payload)
  }

  const core: { [M in CoreMethodName]: Handler<M> } = {
    'app.info': () => deps.app,
    'connections.list': () => pools.list(),
    'connections.add': (a) => pools.add(a),
    'connections.edit': (a) => {
      requireConnection(a.id)
      return pools.edit(a)
    },
    'connections.connect': async (a) => {
      requireConnection(a.id)
      await pools.connect(a.id, a.password)
      return null
    },
    'connections.disconnect': async (a) => {
      requireConnection(a.id)
      await pools.disconnect(a.id)
      return null
    },
    'connections.forget': async (a) => {
      requireConnection(a.id)
      await pools.forget(a.id)
      // The pools layer may or may not announce it; the renderer must drop the node either way.
      broadcast('connection.removed', { id: a.id })
      return null
    },
    'connections.trust': async (a) => {
      requireConnection(a.id)
      await pools.trust(a.id, a.fingerprint256)
      return null
    },
    'connections.connectAll': async () => {
      await pools.connectAll()
      return null
    },
    'connections.disconnectAll': async () => {
      await pools.disconnectAll()
      return null
    },
    'objects.subscribe': (a, ctx) => {
      ctx.subscribeObjects(a.window)
      return null
    },
    'objects.ack': (a, ctx) => {
      ctx.ackObjects?.(a.count)
      return null
    },
    'settings.get': () => settings.get(),
    'settings.update': (a) => {
      const next = settings.update(a)
      broadcast('settings.changed', next)
      return next
    },
    'keychain.state': () => keychain.state(),
    'keychain.acceptInsecure': async () => {
      const next = await keychain.acceptInsecure()
      broadcast('keychain.state', next)
      return next
    },
  }

  function requireConnection(id: string): void {
    if (!pools.get(id)) throw new ServiceError('not-found', `There is no saved server with id “${id}”; it may have been forgotten in another window.`)
  }

  const moduleCtx: ServiceModuleContext = { pools, broadcast, log }
  const modules = (deps.modules ?? []).map((make) => make(moduleCtx))
  const merged: Partial<HandlerTable> = { ...core }
  for (const m of modules) Object.assign(merged, m.handlers)
  const handlers = completeTable(merged, log)

  const unsubscribers: Unsubscribe[] = [
    pools.onState((state) => {
      broadcast('connection.state', state)
      if (state.status !== 'connected') return
      // an offline graph a window got from the cache lacks what only a connected pool needs: the whole graph again
      const graphPieces = pools.graphPieces?.bind(pools)
      for (const s of sessions) {
        if (!s.objects || !s.offlineGraph.delete(state.id)) continue
        if (graphPieces) s.outbox.push({ kind: 'stream', pieces: graphPieces(state.id, PIECE_UPSERTS) })
        else {
          const snap = pools.snapshot(state.id)
          if (snap) s.outbox.push({ kind: 'diff', diff: snap })
        }
        pump(s)
      }
    }),
    // Diffs arrive already batched per pool (≤ one per ~50 ms): forwarded as they are, no copying.
    pools.onDiff((diff) => {
      for (const s of sessions) if (s.objects) sendDiff(s, diff)
    }),
  ]
  if (keychain.onState) unsubscribers.push(keychain.onState((state) => broadcast('keychain.state', state)))

  return {
    handlers,
    broadcast,
    sessionCount: () => sessions.size,
    openSession(emit, sessionOpts) {
      const state: SessionState = { emit, emitRaw: sessionOpts?.emitRawDiff, objects: false, outbox: [], pumping: false, window: undefined, inflight: 0, stallTimer: undefined, offlineGraph: new Set() }
      sessions.add(state)
      const ctx: CallContext = {
        emit,
        subscribeObjects(window) {
          state.objects = true
          state.window = window
          state.inflight = 0
          // Every known graph as a reset first; later diffs stream on top of it. What was still
          // queued for this window is superseded by the fresh graphs.
          for (const item of state.outbox) if (item.kind === 'stream') item.pieces.return?.(undefined)
          state.outbox = []
          state.offlineGraph.clear()
          const graphPieces = pools.graphPieces?.bind(pools)
          for (const c of pools.list()) {
            if (graphPieces) state.outbox.push({ kind: 'stream', pieces: graphPieces(c.id, PIECE_UPSERTS) })
            else {
              const snap = pools.snapshot(c.id)
              if (snap) sendDiff(state, snap)
            }
          }
          pump(state)
        },
        ackObjects(count) {
          state.inflight = Math.max(0, state.inflight - count)
          if (state.inflight === 0) clearTimeout(state.stallTimer)
          pump(state)
        },
      }
      return {
        async call(method, args) {
          if (!sessions.has(state)) throw new ServiceError('unavailable', 'This window’s connection to XenPilot was closed; reload the window.')
          if (!isMethodName(method)) throw new ServiceError('unknown-method', `XenPilot has no method “${truncate(method)}”.`)
          return runCall(method, args, ctx)
        },
        close() {
          sessions.delete(state)
          clearTimeout(state.stallTimer)
          for (const item of state.outbox) if (item.kind === 'stream') item.pieces.return?.(undefined)
          state.outbox = []
        },
      }
    },
    async close() {
      for (const u of unsubscribers) u()
      sessions.clear()
      for (const m of modules) await m.close?.()
      if (deps.closePools !== false) await pools.close()
    },
  }

  /**
   * A window's pool diffs go out in order through its outbox. A small diff with nothing queued
   * goes at once; a large reset is split into pieces (PoolDiff.part) and graphs for a new
   * subscriber are streams pulled piece by piece. The outbox is drained ≤ SEND_BUDGET_MS per turn,
   * so neither main nor the window ever handles one huge message or one long task.
   */
  function sendDiff(s: SessionState, diff: PoolDiff): void {
    const large = diff.reset && diff.part === undefined && diff.upserts.length > PIECE_UPSERTS
    if (s.outbox.length === 0 && !large && canSend(s)) {
      emitDiff(s, diff)
      return
    }
    s.outbox.push(large ? { kind: 'stream', pieces: resetPieces(diff, PIECE_UPSERTS) } : { kind: 'diff', diff })
    pump(s)
  }

  function canSend(s: SessionState): boolean {
    return s.window === undefined || s.inflight < s.window
  }

  function emitDiff(s: SessionState, diff: PoolDiff | RawPoolDiff): void {
    // a piece read from the offline cache (raw) already lacks what a window never reads (the SQL leaves it out)
    if ('raw' in diff) s.offlineGraph.add(diff.diff.connectionId)
    else if (diff.reset && !diff.part) s.offlineGraph.delete(diff.connectionId)
    if (!('raw' in diff)) s.emit('pool.diff', withoutUnusedClasses(diff))
    else if (s.emitRaw) s.emitRaw(diff.diff, diff.upsertsJson)
    else s.emit('pool.diff', { ...diff.diff, upserts: JSON.parse(diff.upsertsJson) as PoolDiff['upserts'] })
    if (s.window === undefined) return
    s.inflight++
    clearTimeout(s.stallTimer)
    s.stallTimer = setTimeout(() => {
      if (!sessions.has(s) || s.inflight === 0) return
      log(`services: a window acknowledged no pool diff for ${STALL_MS} ms; sending on`)
      s.inflight = 0
      pump(s)
    }, STALL_MS)
    s.stallTimer.unref?.()
  }

  function pump(s: SessionState): void {
    if (s.pumping || s.outbox.length === 0 || !canSend(s)) return
    s.pumping = true
    setImmediate(() => drainOutbox(s))
  }

  function drainOutbox(s: SessionState): void {
    s.pumping = false
    if (!sessions.has(s)) return
    const start = performance.now()
    try {
      while (s.outbox.length > 0 && canSend(s) && performance.now() - start < SEND_BUDGET_MS) {
        const item = s.outbox[0]
        if (!item) break
        if (item.kind === 'diff') {
          s.outbox.shift()
          emitDiff(s, item.diff)
          continue
        }
        const next = item.pieces.next()
        if (next.done) s.outbox.shift()
        else emitDiff(s, next.value)
      }
    } catch (e) {
      // a graph that cannot be produced (cache read failure): skip it, keep the rest flowing
      log(`services: a pool graph could not be sent: ${e instanceof Error ? e.message : String(e)}`)
      s.outbox.shift()
    }
    pump(s)
  }

  async function runCall<M extends MethodName>(method: M, args: unknown, ctx: CallContext): Promise<unknown> {
    const spec = contractMethods[method]
    const parsed = spec.args.safeParse(args === undefined ? {} : args)
    if (!parsed.success) throw invalidArgs(method, parsed.error)
    const handler = handlers[method] as unknown as (a: unknown, c: CallContext) => unknown
    let result: unknown
    try {
      result = await handler(parsed.data, ctx)
    } catch (err) {
      const ce = toContractError(err)
      if (ce.code === 'internal') log(`services: ${method} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
      else if (ce.code === 'failed') log(`services: ${method} refused: ${ce.message}`)
      throw new ServiceError(ce.code, ce.message, ce.params)
    }
    // Results are checked too: a bug in main must not hand the renderer a shape it does not expect,
    // and parsing strips fields the contract does not declare, so nothing extra (a session id) leaks.
    const checked = spec.result.safeParse(result)
    if (!checked.success) {
      log(`services: ${method} produced a result that does not match the contract: ${checked.error.message}`)
      throw new ServiceError('internal', `XenPilot’s main process answered ${method} with unexpected data; see the log.`)
    }
    return checked.data
  }
}

/** Contract methods implemented here; console and NUMA methods come from their ServiceModules. */
type CoreMethodName = Exclude<MethodName, keyof typeof consoleMethods | keyof typeof numaMethods | keyof typeof operationMethods | keyof typeof cacheMethods>

function completeTable(partial: Partial<HandlerTable>, log: (line: string) => void): HandlerTable {
  const table: Record<string, unknown> = { ...partial }
  const missing = Object.keys(contractMethods).filter((name) => typeof table[name] !== 'function')
  if (missing.length > 0) log(`services: no module registered for ${missing.join(', ')}; they answer not-implemented`)
  for (const name of missing) {
    table[name] = () => {
      throw new ServiceError('not-implemented', `${name} is not available in this build of XenPilot.`)
    }
  }
  return table as HandlerTable
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s
}

/** Every event name in the contract. */
export const EVENT_NAMES = Object.keys(contractEvents) as EventName[]
