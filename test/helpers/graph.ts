/**
 * A pool's graph as main holds it (PoolManagerApi.graph, read in place) as a list of upserts, for
 * tests that compare graphs or count objects. Main itself never copies a pool.
 */
import type { PoolGraph } from '../../main/pools/api'
import type { ObjectUpsert } from '../../shared/model/diff'

export function upsertsOf(graph: PoolGraph | undefined): ObjectUpsert[] {
  if (!graph) return []
  return graph.classes().flatMap((cls) => [...graph.all(cls)].map(([ref, record]) => ({ cls, ref, record })))
}
