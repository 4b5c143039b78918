/**
 * For tests of the per-window object stream (main/services/outbox.ts): a PoolManagerApi whose pool
 * graphs are in memory or "in the offline cache" (raw pieces with the classes a window does not get
 * offline left out, except the ones it scoped), and a window — a session whose pool.diff events go
 * through JSON (as through a door) into the renderer's model, acknowledged as applied.
 */
import type { ConnectionState } from '../../../shared/contract'
import { resetPieces, type PoolDiff } from '../../../shared/model/diff'
import type { PageSelection, RawPoolDiff } from '../../../main/pools/api'
import type { EventSink, Services } from '../../../main/services'
import { ObjectGraph } from '../../../renderer/src/model/objects'
import { FakePools } from './fake-pools'

export class StreamPools extends FakePools {
  /** connection id → its graph; `offline` ones stream from the "cache" (raw) */
  readonly graphsById = new Map<string, PoolDiff>()
  readonly offline = new Set<string>()
  /** every scopedPieces() read, in order */
  readonly scopedReads: { id: string; classes: readonly string[] }[] = []
  override snapshot(id: string): PoolDiff | undefined {
    return this.graphsById.get(id)
  }
  *stream(id: string, max: number, omit: PageSelection): Generator<PoolDiff | RawPoolDiff> {
    const g = this.graphsById.get(id)
    if (!g) return
    if (!this.offline.has(id)) {
      yield* resetPieces(g, max)
      return
    }
    const left = new Set(omit.classes ?? [])
    const upserts = g.upserts.filter((u) => !left.has(u.cls))
    yield { raw: true, diff: { connectionId: id, seq: g.seq, reset: true, removes: [] }, upsertsJson: JSON.stringify(upserts), count: upserts.length }
  }
  override graphPieces(id: string, max: number, opts?: { omit?: PageSelection }): Generator<PoolDiff | RawPoolDiff> {
    return this.stream(id, max, opts?.omit ?? {})
  }
  *classes(id: string, classes: readonly string[], max: number): Generator<PoolDiff | RawPoolDiff> {
    this.scopedReads.push({ id, classes })
    const g = this.graphsById.get(id)
    const upserts = (g?.upserts ?? []).filter((u) => classes.includes(u.cls))
    const count = Math.max(1, Math.ceil(upserts.length / max))
    for (let part = 0; part < count; part++) {
      const piece: PoolDiff = { connectionId: id, seq: g?.seq ?? 0, reset: false, scope: [...classes], upserts: upserts.slice(part * max, (part + 1) * max), removes: [] }
      if (count > 1) piece.part = part
      if (part < count - 1) piece.more = true
      if (this.offline.has(id)) {
        const { upserts: u, ...envelope } = piece
        yield { raw: true, diff: envelope, upsertsJson: JSON.stringify(u), count: u.length }
      } else yield piece
    }
  }
  override scopedPieces(id: string, classes: readonly string[], max: number): Generator<PoolDiff | RawPoolDiff> {
    return this.classes(id, classes, max)
  }
  /** a live diff of the pools layer */
  emit(d: PoolDiff): void {
    ;(this as unknown as { emitDiff(d: PoolDiff): void }).emitDiff(d)
  }
  /** the pool connects: its graph is in memory from now on */
  connected(id: string): void {
    this.offline.delete(id)
    const cur = this.get(id)
    if (!cur) throw new Error(`no connection ${id}`)
    const next: ConnectionState = { ...cur, status: 'connected' }
    ;(this as unknown as { set(s: ConnectionState): void }).set(next)
  }
}

/** a window: its session, the diffs it was sent (as JSON, like a door) and its renderer model, acknowledging as it applies with `window` */
export function openWindow(services: Services, window?: number) {
  const diffs: PoolDiff[] = []
  const graph = new ObjectGraph()
  let call: ((method: string, args: unknown) => Promise<unknown>) | undefined
  const emit: EventSink = (event, payload) => {
    if (event !== 'pool.diff') return
    // the renderer's model owns its copy (it slims records in place)
    const d = JSON.parse(JSON.stringify(payload)) as PoolDiff
    diffs.push(d)
    graph.apply(d)
    if (window !== undefined) void call?.('objects.ack', { count: 1 }).catch(() => undefined)
  }
  const session = services.openSession(emit)
  call = (method, args) => session.call(method, args)
  return {
    session,
    diffs,
    graph,
    refs: (id: string, cls: string): string[] => [...(graph.pool(id)?.tables.get(cls)?.keys() ?? [])].sort(),
    /** what the renderer's objects store does around the call: keep the classes, then ask main */
    scope: async (id: string, classes: string[]): Promise<void> => {
      graph.keep(id, classes)
      await session.call('objects.scope', { connectionId: id, classes })
    },
    unscope: async (id: string, classes: string[]): Promise<void> => {
      graph.unkeep(id, classes)
      await session.call('objects.unscope', { connectionId: id, classes })
    },
  }
}
