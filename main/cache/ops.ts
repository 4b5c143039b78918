/**
 * The write operations the CacheWriter sends to whoever owns the database connection: the main
 * thread itself (inline mode) or the cache worker thread. Plain data, so they cross postMessage.
 * Every op is applied in order; after the first failure nothing more is applied until the owner
 * is reset, so the file never gets a batch on top of a missing one.
 */
import type { ObjectRow } from './serialize'
import { CacheStore, type MetaPatch, type PruneLimits } from './store'

export type StoreOp =
  | { op: 'batch'; connectionId: string; rows: ObjectRow[]; removes: [string, string][]; patch: MetaPatch }
  | { op: 'resetBegin'; connectionId: string; resetId: number }
  | { op: 'resetChunk'; resetId: number; rows: ObjectRow[] }
  | { op: 'resetCommit'; resetId: number; patch: MetaPatch }
  | { op: 'resetAbandon'; resetId: number }
  | { op: 'clear'; connectionId: string }
  | { op: 'clearAll' }
  | { op: 'forget'; connectionId: string }
  | { op: 'setDoNotCache'; connectionId: string; doNotCache: boolean }
  /** deletes up to `limit` invisible rows; result: how many */
  | { op: 'gc'; limit: number }
  /** returns up to `maxPages` free pages to the OS when enough are free; result: pages returned */
  | { op: 'vacuum'; maxPages: number; force?: boolean }
  /** moves the WAL into the main file and truncates it (after a clear: deleted data leaves the WAL too) */
  | { op: 'checkpoint' }

export interface StoreOwnerOptions {
  prune: PruneLimits
}

/** Vacuum only when at least this share of the file is free pages (and at least 1 MiB). */
const VACUUM_FREE_SHARE = 0.1
const VACUUM_MIN_FREE_PAGES = 256

/** Whether returning free pages is worth a vacuum step (always when forced and any are free). */
export function vacuumWorthwhile(free: number, total: number, force: boolean): boolean {
  if (free === 0) return false
  return force || (free >= VACUUM_MIN_FREE_PAGES && free >= total * VACUUM_FREE_SHARE)
}

export class StoreExecutor {
  readonly store: CacheStore
  private readonly resets = new Map<number, { connectionId: string; gen: number }>()

  constructor(store: CacheStore) {
    this.store = store
  }

  private reset(resetId: number): { connectionId: string; gen: number } {
    const r = this.resets.get(resetId)
    if (!r) throw new Error(`cache writer: unknown reset ${resetId}`)
    return r
  }

  run(op: StoreOp): number {
    const s = this.store
    switch (op.op) {
      case 'batch':
        s.applyBatch(op.connectionId, op.rows, op.removes, op.patch)
        return op.rows.length + op.removes.length
      case 'resetBegin':
        this.resets.set(op.resetId, { connectionId: op.connectionId, gen: s.beginReset(op.connectionId) })
        return 0
      case 'resetChunk': {
        const r = this.reset(op.resetId)
        s.resetChunk(r.connectionId, r.gen, op.rows)
        return op.rows.length
      }
      case 'resetCommit': {
        const r = this.reset(op.resetId)
        s.commitReset(r.connectionId, r.gen, op.patch)
        this.resets.delete(op.resetId)
        return 0
      }
      case 'resetAbandon': {
        const r = this.resets.get(op.resetId)
        if (r) s.abandonReset(r.connectionId, r.gen)
        this.resets.delete(op.resetId)
        return 0
      }
      case 'clear':
        s.clear(op.connectionId)
        return 0
      case 'clearAll':
        s.clearAll()
        return 0
      case 'forget':
        s.forget(op.connectionId)
        return 0
      case 'setDoNotCache':
        s.setDoNotCache(op.connectionId, op.doNotCache)
        return 0
      case 'gc':
        return s.collectGarbage(op.limit)
      case 'vacuum': {
        const { free, total } = s.freePages()
        if (!vacuumWorthwhile(free, total, op.force === true)) return 0
        const n = Math.min(free, op.maxPages)
        s.vacuumStep(n)
        return n
      }
      case 'checkpoint':
        s.db.pragma('wal_checkpoint(TRUNCATE)')
        return 0
    }
  }
}

/** Worker protocol */
export type ToWorker = { type: 'op'; id: number; op: StoreOp } | { type: 'close' }
export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: number }
  | { type: 'error'; id: number; code?: string; message: string }
  | { type: 'closed' }
