/**
 * The bench-10k pool's graph as the pools layer emits it (the simulator's records normalised by the
 * client's own normaliser), and a stub PoolManager that hands it out: for door tests and benchmarks
 * that measure the door and services, not XAPI.
 */
import type { ConnectionState } from '../../shared/contract'
import { resetPieces, type ObjectUpsert, type PoolDiff } from '../../shared/model/diff'
import { NO_EVENT_CLASSES } from '../../shared/xapi/datamodel.generated'
import type { PoolGraph, PoolManagerApi } from '../../main/pools/api'
import { ObjectGraph } from '../../main/pools/graph'
import { IGNORED_CLASSES } from '../../main/pools/eventloop'
import { recordNormaliser } from '../../main/xapi/normalise'
import type { WireValue } from '../../main/xapi/wire'
import { buildFleet } from '../sim/fleet'

export function graphOfBench10k(): ObjectUpsert[] {
  const pool = buildFleet('bench-10k').pools[0]
  if (!pool) throw new Error('bench-10k has no pool')
  const out: ObjectUpsert[] = []
  for (const [cls, table] of pool.objects) {
    if (NO_EVENT_CLASSES.includes(cls) || IGNORED_CLASSES.has(cls)) continue
    const normalise = recordNormaliser(cls)
    for (const [ref, r] of table) {
      const record = normalise(JSON.parse(JSON.stringify(r)) as WireValue)
      if (typeof record === 'object' && record !== null && !Array.isArray(record)) out.push({ cls, ref, record: record as Record<string, unknown> })
    }
  }
  return out
}

export class StubPools implements PoolManagerApi {
  diffCbs = new Set<(d: PoolDiff) => void>()
  constructor(private readonly reset: PoolDiff) {}
  list(): ConnectionState[] {
    return [{ id: 'bench', address: '127.77.0.1', username: 'root', label: 'bench-10k', rememberPassword: false, hasPassword: false, forceXmlRpc: false, doNotCache: false, status: 'connected' }]
  }
  get(id: string): ConnectionState | undefined {
    return this.list().find((c) => c.id === id)
  }
  graph(): PoolGraph {
    const g = new ObjectGraph()
    for (const u of this.reset.upserts) g.upsert(u.cls, u.ref, u.record)
    return g
  }
  graphPieces(_id: string, max: number): Iterator<PoolDiff> {
    return resetPieces(this.reset, max)
  }
  *scopedPieces(): Generator<PoolDiff> {}
  recache(): void {}
  onDiff(cb: (d: PoolDiff) => void): () => void {
    this.diffCbs.add(cb)
    return () => this.diffCbs.delete(cb)
  }
  onState(): () => void {
    return () => undefined
  }
  add(): never {
    throw new Error('stub')
  }
  edit(): never {
    throw new Error('stub')
  }
  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async forget(): Promise<void> {}
  async trust(): Promise<void> {}
  async connectAll(): Promise<void> {}
  async disconnectAll(): Promise<void> {}
  async call(): Promise<unknown> {
    return null
  }
  async callAsync(): Promise<unknown> {
    return null
  }
  async close(): Promise<void> {}
}
