/**
 * The object graph's share of the contract: `pool.diff` events and the calls that drive them
 * (implemented by main/services itself, one stream per window: main/services/outbox.ts).
 *
 * What a window is sent of a pool leaves out the classes no view reads (shared/model/slim.ts). A
 * view that needs some of them (a VM's VIFs, a host's bonds, the VBDs and VDIs of an offline pool)
 * asks for them while it is shown: `objects.scope` — from then on this window's stream of that pool
 * carries every record of those classes and their changes, until `objects.unscope` (counted: as
 * many unscopes as scopes). In the renderer: `usePoolScope(connectionId, classes)`.
 */
import { z } from 'zod'
import { SCOPABLE_CLASSES } from '../model/slim'

export const ObjectUpsertSchema = z.object({ cls: z.string(), ref: z.string(), record: z.record(z.string(), z.unknown()) })
export const ObjectRemoveSchema = z.object({ cls: z.string(), ref: z.string() })
export const PoolDiffSchema = z.object({
  connectionId: z.string(),
  seq: z.number(),
  reset: z.boolean(),
  /** pieces of one large reset or scope (shared/model/diff.ts): index from 0, `more` until the last */
  part: z.number().int().nonnegative().optional(),
  more: z.boolean().optional(),
  /** pieces of a connected pool's sync as they are read: a window holding nothing of the pool may show them at once */
  live: z.boolean().optional(),
  /** the records of these classes a window asked for (objects.scope), replacing what it holds of them */
  scope: z.array(z.string()).optional(),
  upserts: z.array(ObjectUpsertSchema),
  removes: z.array(ObjectRemoveSchema),
  token: z.string().optional(),
})

const ConnectionId = z.string().min(1).max(200)
const ClassName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be a XAPI class name')
const Ref = z.string().regex(/^OpaqueRef:[A-Za-z0-9-]{1,100}$/, 'must be an OpaqueRef')
const ScopableClass = ClassName.refine((c) => SCOPABLE_CLASSES.has(c), {
  message: `must be a class main does not otherwise send a window (${[...SCOPABLE_CLASSES].join(', ')})`,
})
const ScopeArgs = z.object({ connectionId: ConnectionId, classes: z.array(ScopableClass).min(1).max(SCOPABLE_CLASSES.size) }).strict()

/** one whole record, for a property dialog */
export const ObjectRecordResult = z.object({
  record: z.record(z.string(), z.unknown()),
  /** live: main's graph of a connected pool · cache: the offline cache, as of `asOf` */
  source: z.enum(['live', 'cache']),
  /** when the cached record was last synchronised (ISO time), for "as of <time>" */
  asOf: z.string().optional(),
})
export type ObjectRecordResult = z.infer<typeof ObjectRecordResult>

export const objectMethods = {
  /**
   * ask main to (re)send every pool's object graph as reset diffs (`pool.diff` events; a large
   * graph in pieces, see PoolDiff.part), then live diffs. `window`: flow control — main keeps at
   * most that many `pool.diff` events unacknowledged (`objects.ack`), so a window that applies
   * them as they come is never flooded; without it they are sent as fast as main produces them.
   */
  'objects.subscribe': { args: z.object({ window: z.number().int().min(1).max(1000).optional() }).strict(), result: z.null() },
  /** with a subscribe window: `count` more `pool.diff` events were applied (credit for as many) */
  'objects.ack': { args: z.object({ count: z.number().int().min(1).max(1_000_000) }).strict(), result: z.null() },
  /**
   * this window's stream of the pool carries these classes from now on: every current record (a
   * `pool.diff` with `scope`, from main's graph or, for an offline pool, from the cache), then their
   * changes. Counted per class and window; a forgotten connection ends its scopes.
   */
  'objects.scope': { args: ScopeArgs, result: z.null() },
  /** undoes one objects.scope; when a class's count reaches 0 the window's records of it go (a `pool.diff` with `scope` and no upserts) */
  'objects.unscope': { args: ScopeArgs, result: z.null() },
  /** one whole record (no field left out), from main's graph or the offline cache; not-found when the pool has no such object */
  'objects.record': { args: z.object({ connectionId: ConnectionId, cls: ClassName, ref: Ref }).strict(), result: ObjectRecordResult },
} as const

export const objectEvents = {
  'pool.diff': PoolDiffSchema,
} as const
