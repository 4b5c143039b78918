/**
 * The unit of change that flows down the whole app: the event loop (main/pools) coalesces XAPI
 * events per object and emits one PoolDiff per pool per tick (~50 ms); the cache (main/cache)
 * writes it in one transaction; services forward it to the renderer, whose stores apply it.
 *
 * Records are in the client's normalised form (shared/xapi/records.generated.ts): ints as numbers,
 * dates as ISO 8601 strings, OpaqueRef:NULL as null.
 */
export type ObjectRecord = Record<string, unknown>

export interface ObjectUpsert {
  /** XAPI class name as the API spells it ('VM', 'host', 'VM_metrics'), not the lowercase event class. */
  cls: string
  ref: string
  record: ObjectRecord
}

export interface ObjectRemove {
  cls: string
  ref: string
}

export interface PoolDiff {
  /** Saved-connection id (stable across restarts; the pool uuid is in the pool record). */
  connectionId: string
  /** Monotonic per connection, so a consumer can detect a gap. */
  seq: number
  /**
   * true for a full (re)sync: the upserts are the complete object graph and everything not in
   * them is gone. Consumers replace instead of merging, so a resync leaves no ghost object.
   */
  reset: boolean
  upserts: ObjectUpsert[]
  removes: ObjectRemove[]
  /** event.from token after this batch, when known (the cache stores it for resume). */
  token?: string
}
