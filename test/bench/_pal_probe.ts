import type { PoolDiff } from '../../shared/model/diff'
import { ObjectGraph } from '../../renderer/src/model/objects'
import { paletteObjects, PaletteSearch, recencyBoosts, RecentList, type PaletteObject } from '../../renderer/src/model/palette'
import { graphOfBench10k } from '../helpers/bench10k-pools'
const upserts = graphOfBench10k()
const graph = new ObjectGraph()
for (let i = 0; i < 10; i++) graph.apply({ connectionId: `pool-${i}`, seq: 1, reset: true, upserts, removes: [] } as PoolDiff)
const objects = paletteObjects(graph)
const recent = new RecentList()
for (let i = 0; i < 50; i++) recent.touch(objects[(i * 2003) % objects.length]?.objId ?? '')
const QUERIES = ['web-0', 'db war', 'k8snode1']
;(globalThis as { gc?: () => void }).gc?.()
const per: Record<string, number[]> = {}
for (let round = 0; round < 6; round++) for (const q of QUERIES) {
  const s = new PaletteSearch<PaletteObject>()
  s.setItems(objects, process.env.NOREC ? new Map() : recencyBoosts(graph, recent))
  for (let i = 1; i <= q.length; i++) {
    const c0 = process.cpuUsage()
    s.query(q.slice(0, i), 50)
    if (round === 1) (per['#' + q.slice(0, i)] ??= []).push((s as unknown as { lastCount: number }).lastCount)
    const c = process.cpuUsage(c0)
    if (round > 0) (per[q.slice(0, i)] ??= []).push((c.user + c.system) / 1000)
  }
}
for (const [k, v] of Object.entries(per)) console.log(k.padEnd(10), v.sort((a, b) => a - b)[Math.floor(v.length / 2)]?.toFixed(2), 'ms cpu')
