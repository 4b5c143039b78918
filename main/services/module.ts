/**
 * What a capability's share of the contract looks like in main (console, NUMA, operations, cache,
 * …): a `ServiceModule` with a handler for every method of its contract table. Declare the methods
 * by their table, so a missing handler does not compile:
 *
 *   export function numaModule(): ModuleFactory<keyof typeof numaMethods> {
 *     return (ctx) => ({ handlers: { 'numa.host': …, 'numa.pool': …, … } })
 *   }
 *
 * and register the factory in main/services/runtime.ts (`modules: […]`; runtime.ts does not compile
 * while a contract method has no module there).
 */
import type { z } from 'zod'
import type { EventName, EventPayload, MethodName, MethodResult, Methods } from '../../shared/contract'
import type { PoolManagerApi } from '../pools/api'

/** Arguments as the handler receives them: already parsed (defaults applied, strings trimmed). */
export type HandlerArgs<M extends MethodName> = z.output<Methods[M]['args']>
export type Handler<M extends MethodName> = (args: HandlerArgs<M>, ctx: CallContext) => Promise<MethodResult<M>> | MethodResult<M>
export type HandlerTable = { [M in MethodName]: Handler<M> }

export type EventSink = <E extends EventName>(event: E, payload: EventPayload<E>) => void

/** What a handler knows about who called it. */
export interface CallContext {
  /** send an event to this caller only */
  emit: EventSink
  /** start forwarding pool diffs to this caller (objects.subscribe); `window`: see the contract */
  subscribeObjects(window?: number): void
  /** the caller applied `count` more pool diffs (objects.ack) */
  ackObjects?(count: number): void
  /** the caller's stream of the pool carries these classes from now on (objects.scope) */
  scopeObjects?(connectionId: string, classes: readonly string[]): void
  /** undo one scopeObjects (objects.unscope) */
  unscopeObjects?(connectionId: string, classes: readonly string[]): void
  /** run `cb` when this caller's session closes (its window went away): what it opened for the caller ends with it */
  onClose?(cb: () => void): void
}

export interface ServiceModuleContext {
  pools: PoolManagerApi
  /** send an event to every open session */
  broadcast: EventSink
  log: (line: string) => void
}

/** A capability's share of the contract: a handler for each of its methods `M`, and cleanup. */
export interface ServiceModule<M extends MethodName> {
  handlers: { [K in M]: Handler<K> }
  close?(): Promise<void> | void
}

export type ModuleFactory<M extends MethodName> = (ctx: ServiceModuleContext) => ServiceModule<M>

/** any module, whatever methods it implements (a list of modules holds these) */
export interface AnyServiceModule {
  handlers: Partial<HandlerTable>
  close?(): Promise<void> | void
}
export type AnyModuleFactory = (ctx: ServiceModuleContext) => AnyServiceModule

type MethodsOfFactory<F> = F extends (ctx: ServiceModuleContext) => { handlers: infer H } ? keyof H & MethodName : never
/** the contract methods a list of module factories implements */
export type MethodsOf<T extends readonly AnyModuleFactory[]> = MethodsOfFactory<T[number]>
