/**
 * The command palette's object search (issue 19): every object of every pool — connected or from
 * the offline cache — by a fuzzy match of its name, ranked by how well it matches and how recently
 * it was opened. Plain TypeScript: the palette component (components/CommandPalette.vue) and the
 * benchmark (test/bench/palette.bench.ts) use the same code.
 *
 * Speed at 100,000 objects (goal ≤ 30 ms per keystroke):
 *  - each name is held lowercased once, with a 32-bit mask of the characters it contains
 *    (charMask), kept per pool until the pool changes: an object lacking a character of the query
 *    is passed over with one AND, its name never read;
 *  - the names are searched as one string (a word: one indexOf over all of them, memory read in
 *    order), not one string per object;
 *  - a query that extends the previous one searches only the previous matches (every match of
 *    "web-0" also matches "web"), kept as an Int32Array of positions;
 *  - the best `limit` are kept in a bounded heap (no sort of every match); the recency boosts
 *    (≤ 50 objects) are found by position, a flag per position read for every match.
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

/** what the search reads of an item: its name lowercased and the mask of its characters (searchKey) */
export interface SearchKey {
  lower: string
  mask: number
}

export interface PaletteObject extends SearchKey {
  objId: string
  connectionId: string
  cls: string
  ref: string
  label: string
  /** 'VM', 'Template', 'Snapshot', 'Server', … */
  noun: string
}

/**
 * One bit per character class of a lowercase string: a–z one bit each, the digits on five bits
 * (0/5, 1/6, …), everything else on the last. A name can contain a query's characters only if its
 * mask holds every bit of the query's: the test the search makes before reading the name.
 */
export function charMask(lower: string): number {
  let m = 0
  for (let i = 0; i < lower.length; i++) m |= charBit(lower.charCodeAt(i))
  return m
}

function charBit(c: number): number {
  if (c >= 97 && c <= 122) return 1 << (c - 97)
  if (c >= 48 && c <= 57) return 1 << (26 + ((c - 48) % 5))
  if (c === 32) return 0
  return 1 << 31
}

/** the search key of a name (the lowercase form and its character mask) */
export function searchKey(label: string): SearchKey {
  const lower = label.toLowerCase()
  return { lower, mask: charMask(lower) }
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
const perPool = new WeakMap<PoolObjects, { key: string; list: PaletteObject[]; byId?: Map<string, number> }>()

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
      const { lower, mask } = searchKey(label)
      list.push({ objId: objId(connectionId, ref), connectionId, cls, ref, label, noun, lower, mask })
    }
  }
  perPool.set(p, { key, list })
  return list
}

/**
 * The recency boost of the objects in `recent` (RecentList ids) by their position in
 * paletteObjects(graph) (same graph, same order): the search adds it to ≤ 50 matches instead of
 * looking every match up.
 */
export function recencyBoosts(graph: ObjectGraph, recent: RecentList): Map<number, number> {
  const wanted = new Map<string, Map<string, number>>()
  for (const id of recent.list()) {
    const cut = id.indexOf('|')
    if (cut < 0) continue
    const connectionId = id.slice(0, cut)
    let ids = wanted.get(connectionId)
    if (!ids) wanted.set(connectionId, (ids = new Map()))
    ids.set(id, recent.boost(id))
  }
  const out = new Map<number, number>()
  let offset = 0
  for (const [connectionId, p] of graph.pools) {
    const list = poolEntries(connectionId, p)
    const ids = wanted.get(connectionId)
    if (ids) {
      const cached = perPool.get(p)
      if (cached) {
        cached.byId ??= new Map(list.map((o, i) => [o.objId, i]))
        for (const [id, boost] of ids) {
          const at = cached.byId.get(id)
          if (at !== undefined) out.set(offset + at, boost)
        }
      }
    }
    offset += list.length
  }
  return out
}

/** the boosts of `items` by position (`boost` of each, 0 left out), for a list not taken from a graph */
export function boostsOf<T>(items: readonly T[], boost: (item: T) => number): Map<number, number> {
  const out = new Map<number, number>()
  for (let i = 0; i < items.length; i++) {
    const b = boost(items[i] as T)
    if (b !== 0) out.set(i, b)
  }
  return out
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

/** the words of a query (lowercase, whitespace-separated, none empty) */
export function queryWords(query: string): string[] {
  return query.trim().toLowerCase().split(/\s+/).filter((w) => w !== '')
}

/** the score of a lowercase name for every word of a query (queryWords), summed; -1 when a word does not match */
export function wordsScore(lower: string, words: readonly string[]): number {
  let score = 0
  for (let i = 0; i < words.length; i++) {
    const s = fuzzyScore(lower, words[i] as string)
    if (s < 0) return -1
    score += s
  }
  return score
}

export interface PaletteHit<T> {
  item: T
  score: number
}

/**
 * Searches a list by a query, remembering its last answer so a query typed one more character
 * searches only what matched before; recency boosts (setItems / setBoosts) are added to the scores.
 */
export class PaletteSearch<T extends SearchKey> {
  private items: readonly T[] = []
  /** every item's lowercase name in one string, "\n" between two */
  private text = ''
  /** item i's name is text[starts[i], starts[i + 1] - 1) */
  private starts = new Int32Array(1)
  private masks = new Int32Array(0)
  /** recency boosts by position, and a flag per position holding one (read for every match) */
  private boosts: ReadonlyMap<number, number> = new Map()
  private boosted = new Uint8Array(0)
  private lastQuery: string | null = null
  /** positions in `items` of the last query's matches (the first `lastCount`) */
  private lastMatches = new Int32Array(0)
  private lastCount = 0

  /**
   * A new list (the graph changed): the remembered answer no longer holds. `boosts`: by position,
   * what to add to a match's score — 0 for never used, up to RecentList.MAX_BOOST for the most
   * recent (a recently opened VM comes first among equal matches).
   */
  setItems(items: readonly T[], boosts: ReadonlyMap<number, number> = new Map()): void {
    this.items = items
    this.build()
    this.setBoosts(boosts)
    this.lastQuery = null
    this.lastMatches = new Int32Array(0)
    this.lastCount = 0
  }

  /** other recency boosts for the same list (the matches stay) */
  setBoosts(boosts: ReadonlyMap<number, number>): void {
    this.boosts = boosts
    this.boosted = new Uint8Array(this.items.length)
    for (const at of boosts.keys()) if (at >= 0 && at < this.boosted.length) this.boosted[at] = 1
  }

  get size(): number {
    return this.items.length
  }

  /**
   * The names in one string: a word is looked for with one indexOf over all of them (the string's
   * own fast search, memory read in order) instead of one call per name; a word never holds
   * whitespace, so no match crosses the "\n" between two names.
   */
  private build(): void {
    const items = this.items
    const n = items.length
    const starts = new Int32Array(n + 1)
    const masks = new Int32Array(n)
    const names: string[] = new Array<string>(n)
    let at = 0
    for (let i = 0; i < n; i++) {
      const item = items[i] as T
      names[i] = item.lower
      masks[i] = item.mask
      starts[i] = at
      at += item.lower.length + 1
    }
    starts[n] = at
    this.text = names.join('\n')
    this.starts = starts
    this.masks = masks
  }

  /** the best `limit` matches for `query` (whitespace-separated words must all match), best first */
  query(query: string, limit = 50): PaletteHit<T>[] {
    const q = query.trim().toLowerCase()
    const words = queryWords(q)
    let qmask = 0
    for (const w of words) qmask |= charMask(w)
    const { items, text, starts, masks, boosted, boosts } = this
    const narrow = this.lastQuery !== null && this.lastQuery !== '' && q.startsWith(this.lastQuery)
    const baseCount = narrow ? this.lastCount : items.length
    const base = narrow ? this.lastMatches : undefined
    const matches = new Int32Array(baseCount)
    let count = 0
    const top = new TopK(Math.max(0, limit))
    // per word: the first place it occurs in `text` at or after the name being looked at (-1: nowhere after)
    const nextHit = words.map(() => -2)
    for (let k = 0; k < baseCount; k++) {
      const i = base ? (base[k] as number) : k
      if (((masks[i] as number) & qmask) !== qmask) continue
      const st = starts[i] as number
      const en = (starts[i + 1] as number) - 1
      let score = 0
      for (let w = 0; w < words.length; w++) {
        const word = words[w] as string
        let hit = nextHit[w] as number
        if (hit !== -1 && hit < st) nextHit[w] = hit = text.indexOf(word, st)
        const s = hit !== -1 && hit + word.length <= en ? substringScore(text, st, en, hit, word.length) : subsequenceScore(text, st, en, word)
        if (s < 0) {
          score = -1
          break
        }
        score += s
      }
      if (score < 0) continue
      matches[count++] = i
      top.offer(i, boosted[i] === 1 ? score + (boosts.get(i) ?? 0) : score)
    }
    this.lastQuery = q
    this.lastMatches = matches
    this.lastCount = count
    return top.sorted().map(({ at, score }) => ({ item: items[at] as T, score }))
  }
}

/** fuzzyScore of a name text[st, en) holding the word first at `hit` */
function substringScore(text: string, st: number, en: number, hit: number, qlen: number): number {
  const len = en - st
  let score = 1000 - len
  if (hit === st) score += 400
  else if (isBoundary(text.charCodeAt(hit - 1))) score += 250
  if (len === qlen) score += 300
  return score
}

/** fuzzyScore of a name text[st, en) not holding the word as a whole: its characters in order, or -1 */
function subsequenceScore(text: string, st: number, en: number, q: string): number {
  let si = st
  let gaps = 0
  let prev = -2
  for (let qi = 0; qi < q.length; qi++) {
    const c = q.charCodeAt(qi)
    while (si < en && text.charCodeAt(si) !== c) si++
    if (si >= en) return -1
    if (si !== prev + 1) gaps++
    prev = si
    si++
  }
  return 500 - gaps * 40 - (en - st)
}

/**
 * The best `limit` of a stream of (position, score), in a min-heap on the worst kept: a better
 * score wins, and between equal scores the earlier position (the order the items came in).
 */
class TopK {
  private readonly at: Int32Array
  private readonly score: Float64Array
  private n = 0

  constructor(private readonly limit: number) {
    this.at = new Int32Array(limit)
    this.score = new Float64Array(limit)
  }

  full(): boolean {
    return this.n >= this.limit
  }

  /** the score of the worst kept (only when full) */
  worst(): number {
    return this.score[0] as number
  }

  /** a is worse than b */
  private worse(ai: number, as: number, bi: number, bs: number): boolean {
    return as < bs || (as === bs && ai > bi)
  }

  offer(i: number, s: number): void {
    if (this.limit === 0) return
    const at = this.at
    const score = this.score
    if (this.n < this.limit) {
      // sift up
      let c = this.n++
      while (c > 0) {
        const p = (c - 1) >> 1
        if (!this.worse(i, s, at[p] as number, score[p] as number)) break
        at[c] = at[p] as number
        score[c] = score[p] as number
        c = p
      }
      at[c] = i
      score[c] = s
      return
    }
    if (!this.worse(at[0] as number, score[0] as number, i, s)) return
    // replace the worst and sift down
    let c = 0
    for (;;) {
      const l = 2 * c + 1
      if (l >= this.n) break
      const r = l + 1
      let w = l
      if (r < this.n && this.worse(at[r] as number, score[r] as number, at[l] as number, score[l] as number)) w = r
      if (!this.worse(at[w] as number, score[w] as number, i, s)) break
      at[c] = at[w] as number
      score[c] = score[w] as number
      c = w
    }
    at[c] = i
    score[c] = s
  }

  /** what is kept, best first */
  sorted(): { at: number; score: number }[] {
    const out: { at: number; score: number }[] = []
    for (let k = 0; k < this.n; k++) out.push({ at: this.at[k] as number, score: this.score[k] as number })
    return out.sort((a, b) => b.score - a.score || a.at - b.at)
  }
}

/** most recent first, at most `max`: ids of objects and commands the user opened or ran */
export class RecentList {
  /** the largest boost (the most recent) */
  static readonly MAX_BOOST = 200
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
    return i === undefined ? 0 : RecentList.MAX_BOOST - i * 2
  }
  list(): readonly string[] {
    return this.ids
  }
}
