/** Calls into a PoolState without HTTP, as the pool admin, for the simulator's unit tests. */
import { SimXapiError, type SimRecord, type SimValue } from '../../sim/model'
import { dispatch } from '../../sim/server/dispatch'
import { batchToValue } from '../../sim/server/events'
import { PoolState } from '../../sim/server/pool'
import { tinyPool, type TinyPool } from './tiny-pool'

export function makePool(opts: Parameters<typeof tinyPool>[0] & { opMs?: number } = {}) {
  return poolHarness(tinyPool(opts), opts.opMs ?? 0)
}

/** in-process calls into a given pool description (tiny, or one built on it) */
export function poolHarness<T extends TinyPool>(t: T, opMs = 0) {
  const pool = new PoolState(t.spec, opMs)
  const call = async (method: string, ...params: SimValue[]): Promise<SimValue> => {
    const base = method.replace(/^Async\./, '')
    const m = pool.schema.methods.get(base)
    const r = await dispatch(pool, { hostRef: pool.masterRef }, method, m?.hasSession ? [pool.adminSession, ...params] : params)
    if (r.kind === 'error') throw new SimXapiError(r.description)
    if (r.kind === 'batch') return batchToValue(pool.db, r.batch)
    if (r.kind === 'bare') return r.items
    return r.value
  }
  /** the ErrorDescription a call fails with */
  const fails = async (method: string, ...params: SimValue[]): Promise<string[]> => {
    try {
      await call(method, ...params)
    } catch (e) {
      if (e instanceof SimXapiError) return e.description
      throw e
    }
    throw new Error(`${method} succeeded`)
  }
  const rec = (cls: string, ref: string): SimRecord => pool.db.must(cls, ref)
  return { t, pool, call, fails, rec }
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

export interface EventValue {
  id: string
  class: string
  operation: string
  ref: string
  snapshot?: SimRecord
}
export interface BatchValue {
  events: EventValue[]
  valid_ref_counts: Record<string, number>
  token: string
}

export function asBatch(v: SimValue): BatchValue {
  return v as unknown as BatchValue
}
