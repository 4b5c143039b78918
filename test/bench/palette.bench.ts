/**
 * Command palette benchmark (issue 19; `npm run bench palette`): the renderer's palette search
 * (renderer/src/model/palette.ts, the code the palette component runs) over ≥ 100,000 objects —
 * the bench-10k pool's records (10,000 VMs, templates, snapshots, hosts, SRs, networks as the
 * client normalises them) in the renderer's ObjectGraph ten times, as ten pools.
 *
 *   palette.keystroke_100k   per keystroke while typing a query one character at a time (median,
 *                            worst and the first character's median over three queries, the
 *                            component's recency boosts); goal ≤ 30 ms. Baseline
 *                            "naive_filter_sort": the palette's own wordsScore on every name
 *                            lowercased again, every match sorted, each keystroke, same run.
 *   palette.open_100k        opening: paletteObjects (every pool's list new) and the search's index
 *                            of them (PaletteSearch.setItems with the recency boosts).
 * Prints `BENCH {…}` lines with load1 (the machine is shared: re-run quietly to compare).
 */
import { loadavg } from 'node:os'
import type { PoolDiff } from '../../shared/model/diff'
import { ObjectGraph } from '../../renderer/src/model/objects'
import { paletteObjects, PaletteSearch, queryWords, recencyBoosts, RecentList, wordsScore, type PaletteObject } from '../../renderer/src/model/palette'
import { graphOfBench10k } from '../helpers/bench10k-pools'

function report(line: Record<string, unknown>): void {
  console.log(`BENCH ${JSON.stringify({ ...line, load1: Number(loadavg()[0]?.toFixed(2)) })}`)
}

const upserts = graphOfBench10k()
const graph = new ObjectGraph()
for (let i = 0; i < 10; i++) {
  const diff: PoolDiff = { connectionId: `pool-${i}`, seq: 1, reset: true, upserts, removes: [] }
  graph.apply(diff)
}

// the component's recency: 50 VMs opened before
const recent = new RecentList()
const vms = upserts.filter((u) => u.cls === 'VM')
for (let i = 0; i < 50; i++) recent.touch(`pool-${i % 10}|${vms[(i * 2003) % vms.length]?.ref ?? ''}`)

// opening the palette: its objects (each pool's list is kept until the pool changes: a pool changed
// since, as here the first time) and the search's index of them with the recency boosts
const t0 = performance.now()
const objects = paletteObjects(graph)
const opened = new PaletteSearch<PaletteObject>()
opened.setItems(objects, recencyBoosts(graph, recent))
const openMs = performance.now() - t0

const QUERIES = ['web-0', 'db war', 'k8snode1']

/** the baseline: every name lowercased and scored (the palette's own wordsScore), every match sorted */
function naive(items: readonly PaletteObject[], q: string): number {
  const words = queryWords(q)
  const hits: { item: PaletteObject; score: number }[] = []
  for (const item of items) {
    const score = wordsScore(item.label.toLowerCase(), words)
    if (score >= 0) hits.push({ item, score })
  }
  hits.sort((a, b) => b.score - a.score)
  return hits.slice(0, 50).length
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? 0
}

const ours: number[] = []
const first: number[] = []
const base: number[] = []
const counts: number[] = []
for (let round = 0; round < 3; round++) {
  for (const q of QUERIES) {
    const search = new PaletteSearch<PaletteObject>()
    search.setItems(objects, recencyBoosts(graph, recent))
    for (let i = 1; i <= q.length; i++) {
      const a = performance.now()
      const hits = search.query(q.slice(0, i), 50)
      const ms = performance.now() - a
      if (round > 0) ours.push(ms)
      if (round > 0 && i === 1) first.push(ms)
      if (round === 2) counts.push(hits.length)
      const b = performance.now()
      naive(objects, q.slice(0, i))
      if (round > 0) base.push(performance.now() - b)
    }
  }
}

const med = median(ours)
const baseMed = median(base)
report({ name: 'palette.keystroke_100k', value: Number(med.toFixed(2)), unit: 'ms', worst: Number(Math.max(...ours).toFixed(2)), first_char_median: Number(median(first).toFixed(2)), goal: 30, objects: objects.length, baseline: Number(baseMed.toFixed(2)), baselineName: 'naive_filter_sort', ratio: Number((med / baseMed).toFixed(3)) })
report({ name: 'palette.open_100k', value: Number(openMs.toFixed(1)), unit: 'ms', objects: objects.length, baseline: null, ratio: null })
