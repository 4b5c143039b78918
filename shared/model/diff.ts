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
  /**
   * A large reset may travel in pieces (so no side holds one huge message or one long task):
   * `part` numbers the pieces of one reset from 0, all with the same `seq`; `more: true` says
   * another piece follows. A consumer stages the pieces and replaces the pool's graph only when the
   * last one (no `more`) arrives, so it never shows half a graph or a mix of two:
   *  - part 0 starts a staged reset (an unfinished one of the same pool is discarded);
   *  - a piece that does not continue the staged reset (wrong seq or part) discards it: a gap,
   *    the consumer asks for a resync;
   *  - a complete reset (no `part`) replaces the pool's graph and discards an unfinished one;
   *  - non-reset diffs arriving meanwhile are held and applied after the last piece.
   * Absent `part`: the diff is complete in itself (every diff before this field existed).
   * Only meaningful with `reset: true`; pieces carry no removes.
   */
  part?: number
  more?: boolean
  /**
   * Pieces of a connected pool's sync, sent while the rest is still being read from the pool: a
   * consumer that holds nothing of the pool may show them as they come (nothing to mix them with;
   * the pool's state says it is still connecting). Never set on pieces read from the offline cache,
   * which stay whole-or-nothing. Only with `part`.
   */
  live?: boolean
  /**
   * Records a window asked for (objects.scope) of classes main does not otherwise send it: the
   * upserts are every record of these classes in the pool, and replace what the window holds of
   * them (none: the window no longer holds them, after objects.unscope). Large ones travel in
   * pieces (`part`/`more` as a reset's, staged and swapped in with the last piece). Not a step of
   * the sequence: `seq` is the pool's current one, applied without the gap check, never advancing it.
   */
  scope?: string[]
  upserts: ObjectUpsert[]
  removes: ObjectRemove[]
  /** event.from token after this batch, when known (the cache stores it for resume). */
  token?: string
}

/**
 * upserts per piece of a reset, the one size on both sides of main: a first sync's reset is read in
 * pieces of this many (main/pools/eventloop.ts, syncPieceUpserts), and a window's stream sends pieces
 * of this many (main/services/outbox.ts), so a sync's pieces go to the windows as they are, never
 * cut again (≈0.3–1 MB of JSON: a few ms to encode, parse and apply)
 */
export const PIECE_UPSERTS = 300

/** the pieces of a reset diff, at most `maxUpserts` upserts each (one piece, unchanged, when it fits) */
export function* resetPieces(diff: PoolDiff, maxUpserts: number): Generator<PoolDiff> {
  const size = Math.max(1, Math.floor(maxUpserts))
  if (!diff.reset || diff.part !== undefined || diff.upserts.length <= size) {
    yield diff
    return
  }
  const { upserts, ...envelope } = diff
  const count = Math.ceil(upserts.length / size)
  for (let part = 0; part < count; part++) {
    const piece: PoolDiff = { ...envelope, part, upserts: upserts.slice(part * size, (part + 1) * size), removes: [] }
    if (part < count - 1) piece.more = true
    yield piece
  }
}
