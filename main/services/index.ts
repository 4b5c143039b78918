/**
 * main/services: the one implementation of shared/contract. Both doors (Electron IPC in main/app,
 * the browser-mode WebSocket in main/web) open one `ServiceSession` per window/socket and pass
 * every call through `session.call(method, args)` — that is where arguments are validated against
 * the contract's zod schemas and where every failure becomes a ContractError with a sentence.
 *
 *   door ──call(method, unknown args)──▶ session ──zod──▶ handler(args, ctx) ──▶ PoolManagerApi
 *   door ◀──emit(event, payload)──────── session ◀── pool diffs / state / settings / keychain
 *
 * The core methods (shared/contract coreMethods) are implemented here; every capability (console,
 * NUMA, operations, cache, …) contributes a `ServiceModule` (./module.ts) with a handler for each
 * of its methods, registered in ./runtime.ts. A contract method with no handler (a test that
 * registers fewer modules) answers 'not-implemented' (and is logged) instead of crashing the door.
 * A window's pool diffs and their flow control are ./outbox.ts (one WindowStream per session).
 */
import {
  type coreMethods,
  events as contractEvents,
  methods as contractMethods,
  type AppInfo,
  type EventName,
  type KeychainState,
  type MethodName,
} from '../../shared/contract'
import type { PoolManagerApi, Unsubscribe } from '../pools/api'
import { ServiceError, invalidArgs, toContractError } from './errors'
import type { AnyModuleFactory, CallContext, EventSink, Handler, HandlerTable, ServiceModuleContext } from './module'
import { WindowStream, type CatchUp, type RawDiffSink, type UnreadBudget, type UnreadSink } from './outbox'
import type { SettingsStore } from './settings'

export { ServiceError, toContractError } from './errors'
export type { AnyModuleFactory, AnyServiceModule, CallContext, EventSink, Handler, HandlerArgs, HandlerTable, MethodsOf, ModuleFactory, ServiceModule, ServiceModuleContext } from './module'
export { type RawDiffSink } from './outbox'
export { PIECE_UPSERTS } from '../../shared/model/diff'

/** The keychain as the UI sees it: which store, is it safe, may the user accept an insecure one. */
export interface KeychainStatusSource {
  state(): KeychainState
  acceptInsecure(): Promise<KeychainState>
  onState?(cb: (state: KeychainState) => void): Unsubscribe
}

export interface ServicesDeps {
  pools: PoolManagerApi
  settings: SettingsStore
  keychain: KeychainStatusSource
  app: AppInfo
  /** capabilities' shares of the contract (main/services/runtime.ts registers every one) */
  modules?: readonly AnyModuleFactory[]
  log?: (line: string) => void
  /** also close the PoolManager on `close()` (default true) */
  closePools?: boolean
  /** every window's stream joins it: main's background work waits while a window catches up (runtime.ts) */
  catchUp?: CatchUp
}

export interface ServiceSession {
  /** validate and run one contract call; rejects with a ServiceError-like `{code, message}` */
  call(method: string, args: unknown): Promise<unknown>
  close(): void
}

export interface Services {
  handlers: HandlerTable
  openSession(emit: EventSink, opts?: { emitRawDiff?: RawDiffSink; unread?: { sink: UnreadSink; budget: UnreadBudget } }): ServiceSession
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
    objects: WindowStream
    /** what modules opened for this session (terminals), ended with it */
    closers: (() => void)[]
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
      for (const s of sessions) s.objects.forget(a.id)
      broadcast('connection.removed', { id: a.id })
      return null
    },
    'connections.trust': async (a) => {
      requireConnection(a.id)
      await pools.trust(a.id, a.fingerprint256)
      return null
    },
    'connections.certificates': (a) => {
      requireConnection(a.id)
      const rows = pools.certificates?.(a.id)
      if (!rows) throw new ServiceError('unavailable', 'This build of XenPilot keeps no certificate pins to show.')
      return rows
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
    'objects.scope': (a, ctx) => {
      requireConnection(a.connectionId)
      ctx.scopeObjects?.(a.connectionId, a.classes)
      return null
    },
    'objects.unscope': (a, ctx) => {
      ctx.unscopeObjects?.(a.connectionId, a.classes)
      return null
    },
    'objects.record': (a) => {
      const state = pools.get(a.connectionId)
      if (!state) throw new ServiceError('not-found', `There is no saved server with id “${a.connectionId}”; it may have been forgotten in another window.`)
      const found = pools.record?.(a.connectionId, a.cls, a.ref)
      if (!found) throw new ServiceError('not-found', `${state.label} has no ${a.cls} ${a.ref}${state.status === 'connected' ? '' : ' in its offline cache'}; it may have been deleted.`)
      return found
    },
    'settings.get': () => settings.get(),
    'settings.update': async (a) => {
      const next = await settings.update(a)
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
      if (state.status === 'connected') for (const s of sessions) s.objects.poolConnected(state.id)
    }),
    // Diffs arrive already batched per pool (≤ one per ~50 ms): forwarded as they are, no copying.
    pools.onDiff((diff) => {
      for (const s of sessions) s.objects.poolDiff(diff)
    }),
  ]
  if (keychain.onState) unsubscribers.push(keychain.onState((state) => broadcast('keychain.state', state)))

  return {
    handlers,
    broadcast,
    sessionCount: () => sessions.size,
    openSession(emit, sessionOpts) {
      const objects = new WindowStream({ pools, emit, log, ...(deps.catchUp ? { catchUp: deps.catchUp } : {}), ...(sessionOpts?.emitRawDiff ? { emitRaw: sessionOpts.emitRawDiff } : {}), ...(sessionOpts?.unread ? { unread: sessionOpts.unread } : {}) })
      const state: SessionState = { emit, objects, closers: [] }
      sessions.add(state)
      const ctx: CallContext = {
        emit,
        subscribeObjects: (window) => objects.subscribe(window),
        ackObjects: (count) => objects.ack(count),
        scopeObjects: (id, classes) => objects.scope(id, classes),
        unscopeObjects: (id, classes) => objects.unscope(id, classes),
        onClose: (cb) => {
          if (sessions.has(state)) state.closers.push(cb)
          else cb()
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
          objects.close()
          for (const cb of state.closers.splice(0)) {
            try {
              cb()
            } catch (e) {
              log(`services: closing a session's ${String(e)}`)
            }
          }
        },
      }
    },
    async close() {
      for (const u of unsubscribers) u()
      // their streams end (timers, and no window holds the cache's last writes back: CatchUp)
      for (const s of sessions) s.objects.close()
      sessions.clear()
      for (const m of modules) await m.close?.()
      if (deps.closePools !== false) await pools.close()
    },
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

/** Contract methods implemented here (shared/contract coreMethods); every other one comes from a ServiceModule. */
type CoreMethodName = keyof typeof coreMethods

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
