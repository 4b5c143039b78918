/**
 * The command palette's object search (issue 19): every object of every pool — connected or from
 * the offline cache — by a fuzzy match of its name, ranked by how well it matches and how recently
 * it was opened. Plain TypeScript: the palette component (components/CommandPalette.vue) and the
 * benchmark (test/bench/palette.bench.ts) use the same code.
 *
 * Speed at 100,000 objects (goal ≤ 30 ms per keystroke): the index holds each name lowercased
 * once; a query that extends the previous one searches only the previous matches (every match of
 * "web-0" also matches "web"), and only the best `limit` are sorted.
 */
import type { ObjectGraph, PoolObjects, Rec } from './objects'
import { objId } from './tree/types'

/** the classes the palette finds, and what it calls them */
export const PALETTE_CLASSES: readonly { cls: 'pool' | 'host' | 'VM' | 'SR' | 'network'; noun: string }[] = [
  { cls: 'pool', noun: 'Pool' },
  { cls: 'host', noun: 'Server' },
  { cls: 'VM', noun: 'VM' },
  { cls: 'SR', noun: 'Storage' },
  { cls: 'network', noun: 'Network' },
]

export interface PaletteObject {
  objId: string
  connectionId: string
  cls: string
  ref: string
  label: string
  /** 'VM', 'Template', 'Snapshot', 'Server', … */
  noun: string
  lower: string
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

function nounOf(cls: string, rec: Rec): string | null {
  if (cls === 'VM') {
    if (rec.is_control_domain === true) return null
    if (rec.is_a_snapshot === true) return 'Snapshot'
    if (rec.is_a_template === true) return 'Template'
    return 'VM'
  }
  return PALETTE_CLASSES.find((c) => c.cls === cls)?.noun ?? null
}

/**
 * A pool's entries, kept while the pool has applied no diff since (its seq and table sizes are the
 * same): opening the palette on 100 pools rebuilds only the ones that changed.
 */
const perPool = new WeakMap<PoolObjects, { key: string; list: PaletteObject[] }>()

function poolEntries(connectionId: string, p: PoolObjects): PaletteObject[] {
  const key = `${p.seq}:${PALETTE_CLASSES.map(({ cls }) => p.all(cls).size).join(',')}`
  const hit = perPool.get(p)
  if (hit && hit.key === key) return hit.list
  const list: PaletteObject[] = []
  for (const { cls } of PALETTE_CLASSES) {
    for (const [ref, rec] of p.all(cls)) {
      const noun = nounOf(cls, rec)
      if (!noun) continue
      // hidden networks and objects XenCenter hides (HideFromXenCenter) are still found: the palette is a way to reach them
      const label = str(rec.name_label) || str(rec.uuid) || ref
      list.push({ objId: objId(connectionId, ref), connectionId, cls, ref, label, noun, lower: label.toLowerCase() })
    }
  }
  perPool.set(p, { key, list })
  return list
}

/** every object of every pool the graph holds (connected and cached alike) */
export function paletteObjects(graph: ObjectGraph): PaletteObject[] {
  const out: PaletteObject[] = []
  for (const [connectionId, p] of graph.pools) {
    const list = poolEntries(connectionId, p)
    for (let i = 0; i < list.length; i++) out.push(list[i] as PaletteObject)
  }
  return out
}

/**
 * How well `q` (lowercase) matches `s` (lowercase): higher is better, -1 for no match.
 * A substring beats a scattered match; at the start or after a separator beats the middle;
 * a shorter name beats a longer one with the same match.
 */
export function fuzzyScore(s: string, q: string): number {
  if (q === '') return 0
  const at = s.indexOf(q)
  if (at >= 0) {
    let score = 1000 - s.length
    if (at === 0) score += 400
    else if (isBoundary(s.charCodeAt(at - 1))) score += 250
    if (s.length === q.length) score += 300
    return score
  }
  // a subsequence: every character in order; each gap costs
  let si = 0
  let gaps = 0
  let prev = -2
  for (let qi = 0; qi < q.length; qi++) {
    const c = q.charCodeAt(qi)
    while (si < s.length && s.charCodeAt(si) !== c) si++
    if (si >= s.length) return -1
    if (si !== prev + 1) gaps++
    prev = si
    si++
  }
  return 500 - gaps * 40 - s.length
}

function isBoundary(c: number): boolean {
  // space - _ . / :
  return c === 32 || c === 45 || c === 95 || c === 46 || c === 47 || c === 58
}

export interface PaletteHit<T> {
  item: T
  score: number
}

/**
 * Searches a list by a query, remembering its last answer so a query typed one more character
 * searches only what matched before. `recency(item)`: 0 for never used, higher for more recent
 * (added to the score: a recently opened VM comes first among equal matches).
 */
export class PaletteSearch<T extends { lower: string }> {
  private items: readonly T[] = []
  private lastQuery: string | null = null
  private lastMatches: T[] = []

  constructor(private readonly recency: (item: T) => number = () => 0) {}

  /** a new list (the graph changed): the remembered answer no longer holds */
  setItems(items: readonly T[]): void {
    this.items = items
    this.lastQuery = null
    this.lastMatches = []
  }

  get size(): number {
    return this.items.length
  }

  /** the best `limit` matches for `query` (whitespace-separated words must all match), best first */
  query(query: string, limit = 50): PaletteHit<T>[] {
    const q = query.trim().toLowerCase()
    const words = q.split(/\s+/).filter((w) => w !== '')
    const base = this.lastQuery !== null && q.startsWith(this.lastQuery) && this.lastQuery !== '' ? this.lastMatches : this.items
    const matches: T[] = []
    const top: PaletteHit<T>[] = []
    let worst = -Infinity
    for (let i = 0; i < base.length; i++) {
      const item = base[i] as T
      let score = 0
      let ok = true
      for (const w of words) {
        const s = fuzzyScore(item.lower, w)
        if (s < 0) {
          ok = false
          break
        }
        score += s
      }
      if (!ok) continue
      matches.push(item)
      score += this.recency(item)
      if (top.length < limit) {
        top.push({ item, score })
        if (top.length === limit) {
          top.sort(byScore)
          worst = top[top.length - 1]?.score ?? -Infinity
        }
      } else if (score > worst) {
        // replace the worst and keep the list sorted (insertion: limit is small)
        let j = top.length - 1
        while (j > 0 && (top[j - 1]?.score ?? -Infinity) < score) {
          top[j] = top[j - 1] as PaletteHit<T>
          j--
        }
        top[j] = { item, score }
        worst = top[top.length - 1]?.score ?? -Infinity
      }
    }
    if (top.length < limit) top.sort(byScore)
    this.lastQuery = q
    this.lastMatches = matches
    return top
  }
}

function byScore<T>(a: PaletteHit<T>, b: PaletteHit<T>): number {
  return b.score - a.score
}

/** most recent first, at most `max`: ids of objects and commands the user opened or ran */
export class RecentList {
  private ids: string[] = []
  private rank = new Map<string, number>()
  constructor(private readonly max = 50) {}
  touch(id: string): void {
    this.ids = [id, ...this.ids.filter((x) => x !== id)].slice(0, this.max)
    this.rank = new Map(this.ids.map((x, i) => [x, i]))
  }
  /** 0 when not recent; else a boost, larger for more recent (enough to order equal matches, not to beat a much better one) */
  boost(id: string): number {
    const i = this.rank.get(id)
    return i === undefined ? 0 : 200 - i * 2
  }
  list(): readonly string[] {
    return this.ids
  }
}
