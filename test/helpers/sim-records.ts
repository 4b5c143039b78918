/**
 * Reading a simulated pool's records in a test: its tables, one record (an error when it is gone),
 * the first ref whose record matches. `pool` is a getter: suites assign the handle in beforeAll.
 */
import type { SimPoolHandle, SimRecord } from '../sim/model'

export function simRecords(pool: () => SimPoolHandle) {
  const table = (cls: string) => pool().objects.get(cls) ?? new Map<string, SimRecord>()
  const rec = (cls: string, ref: string): SimRecord => {
    const r = table(cls).get(ref)
    if (!r) throw new Error(`${cls} ${ref} is gone`)
    return r
  }
  const find = (cls: string, pred: (r: SimRecord) => boolean): string => {
    for (const [ref, r] of table(cls)) if (pred(r)) return ref
    throw new Error(`no ${cls} matches`)
  }
  return { table, rec, find }
}
