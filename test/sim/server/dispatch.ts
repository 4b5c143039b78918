/**
 * One RPC call, protocol-independent: method lookup for the pool's release, Async.* handling,
 * arity with defaulted trailing params, session and HOST_IS_SLAVE checks, type-directed argument
 * coercion, then the custom or generated handler. Never throws: every failure is a description.
 */
import { SimXapiError, type SimValue } from '../model'
import { EventBatch } from './events'
import { genericHandler, type CallInfo, type Handler } from './generic'
import { CUSTOM_HANDLERS } from './handlers'
import type { PoolState } from './pool'
import { zeroValue, type MethodSchema, type XType } from './schema'

export type DispatchResult =
  | { kind: 'value'; type: XType; value: SimValue }
  | { kind: 'batch'; batch: EventBatch }
  | { kind: 'bare'; items: string[] }
  | { kind: 'error'; description: string[] }

export interface CallSite {
  /** the host whose listener received the call */
  hostRef: string
}

class CoercionError extends Error {}

function coerce(t: XType, v: SimValue): SimValue {
  switch (t.k) {
    case 'string':
    case 'ref':
    case 'enum':
    case 'datetime':
      if (typeof v === 'string') return v
      throw new CoercionError()
    case 'int':
      if (typeof v === 'number' && Number.isInteger(v)) return v
      if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim())
      throw new CoercionError()
    case 'float':
      if (typeof v === 'number') return v
      if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v)
      throw new CoercionError()
    case 'bool':
      if (typeof v === 'boolean') return v
      throw new CoercionError()
    case 'set':
      if (Array.isArray(v)) return v.map((x) => coerce(t.of, x))
      throw new CoercionError()
    case 'map':
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const out: Record<string, SimValue> = {}
        for (const [k, x] of Object.entries(v)) out[k] = coerce(t.val, x)
        return out
      }
      throw new CoercionError()
    case 'record':
      if (v && typeof v === 'object' && !Array.isArray(v)) return v
      throw new CoercionError()
    case 'option':
      return coerce(t.of, v)
    default:
      return v
  }
}

function failure(e: unknown): DispatchResult {
  if (e instanceof SimXapiError) return { kind: 'error', description: [...e.description] }
  return { kind: 'error', description: ['INTERNAL_ERROR', e instanceof Error ? e.message : String(e)] }
}

export function resolveHandler(pool: PoolState, m: MethodSchema): Handler | undefined {
  return CUSTOM_HANDLERS[m.wire] ?? genericHandler(pool, m)
}

export async function dispatch(pool: PoolState, site: CallSite, wireName: string, rawParams: SimValue[]): Promise<DispatchResult> {
  try {
    if (wireName === 'system.listMethods') return { kind: 'bare', items: pool.schema.listMethods() }
    const isAsync = wireName.startsWith('Async.')
    const base = isAsync ? wireName.slice('Async.'.length) : wireName
    const m = pool.schema.methods.get(base)
    if (!m) return { kind: 'error', description: ['MESSAGE_METHOD_UNKNOWN', wireName] }
    if (isAsync && !m.async) return { kind: 'error', description: ['Fault', `No async mode for this operation (rpc: ${wireName})`] }
    const max = m.params.length
    const min = max - m.optionalTail
    if (rawParams.length < min || rawParams.length > max) {
      return { kind: 'error', description: ['MESSAGE_PARAMETER_COUNT_MISMATCH', wireName, String(max), String(rawParams.length)] }
    }
    let session = ''
    if (m.hasSession) {
      if (!pool.isMaster(site.hostRef)) return { kind: 'error', description: ['HOST_IS_SLAVE', pool.masterAddress] }
      session = pool.checkSession(rawParams[0]).ref
    }
    const args: SimValue[] = []
    for (let i = m.hasSession ? 1 : 0; i < max; i++) {
      const p = m.params[i]
      if (!p) break
      const raw = rawParams[i]
      if (raw === undefined) {
        args.push(zeroValue(p.type))
        continue
      }
      try {
        args.push(coerce(p.type, raw))
      } catch (e) {
        if (e instanceof CoercionError) return { kind: 'error', description: ['FIELD_TYPE_ERROR', p.name] }
        throw e
      }
    }
    const handler = resolveHandler(pool, m)
    if (!handler) return { kind: 'error', description: ['NOT_IMPLEMENTED', wireName] }
    const call: CallInfo = { wire: base, hostRef: site.hostRef, session }
    if (isAsync) {
      const task = pool.tasks.create(wireName, pool.masterRef, session, true)
      call.taskRef = task.ref
      void (async () => {
        try {
          const r = await handler(pool, args, call)
          pool.tasks.succeed(task, m.result, r instanceof EventBatch ? '' : r)
        } catch (e) {
          const f = failure(e)
          pool.tasks.fail(task, f.kind === 'error' ? f.description : ['INTERNAL_ERROR', 'unknown'])
        }
      })()
      return { kind: 'value', type: { k: 'ref', cls: 'task' }, value: task.ref }
    }
    const r = await handler(pool, args, call)
    if (r instanceof EventBatch) return { kind: 'batch', batch: r }
    return { kind: 'value', type: m.result, value: r }
  } catch (e) {
    return failure(e)
  }
}
