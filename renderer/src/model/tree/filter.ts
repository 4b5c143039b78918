/**
 * Search across every pool: a node is kept when it matches every term of the query (name, uuid,
 * IP, tag — whatever `node.search` holds) or when one of its descendants does, so the matches keep
 * their ancestors. Kept ancestors that do not match themselves are shown for context.
 */
import type { TreeNode } from './types'

export interface FilterResult {
  roots: TreeNode[]
  /**
   * ids of nodes that matched the query themselves: made when first asked for (an export, the
   * overview's grid), not on each keystroke — 100,000 of them for a broad query (issue 20)
   */
  readonly matches: ReadonlySet<string>
  /** number of matching nodes */
  matchCount: number
  /** did this node of `roots` match the query itself (highlighted)? The same answer as `matches.has(node.id)`, without the set */
  isMatch(node: TreeNode): boolean
}

/**
 * a FilterResult whose `matches` set is made when first read, from the nodes of `roots` that match
 * (a walk of the result, which holds every match: nothing is collected while filtering)
 */
function result(roots: TreeNode[], matchCount: number, isMatch: (node: TreeNode) => boolean): FilterResult {
  let set: Set<string> | null = null
  return {
    roots,
    matchCount,
    isMatch,
    get matches(): ReadonlySet<string> {
      if (set === null) {
        const ids = new Set<string>()
        const walk = (nodes: readonly TreeNode[]): void => {
          for (const n of nodes) {
            if (isMatch(n)) ids.add(n.id)
            if (n.children.length > 0) walk(n.children)
          }
        }
        if (matchCount > 0) walk(roots)
        set = ids
      }
      return set
    },
  }
}

const NO_MATCH = (): boolean => false

export function queryTerms(query: string): string[] {
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter((t) => t.length > 0)
}

export function matchesTerms(search: string, terms: readonly string[]): boolean {
  for (const t of terms) if (!search.includes(t)) return false
  return true
}

/**
 * `keep`: a saved search's test (issue 19); a node must pass it as well as match the terms.
 * One walk of the tree at a cost per node of its own test (the first keystroke of a search visits
 * every node: 100,000 VMs, issue 20): leaves are tested in their parent's loop, a subtree that
 * passes whole is given back as it is (no copy), and the ids of the matches are not collected
 * (FilterResult.matches makes them when read).
 */
export function filterTree(roots: readonly TreeNode[], query: string, keep?: (n: TreeNode) => boolean): FilterResult {
  const terms = queryTerms(query)
  if (terms.length === 0 && !keep) return result([...roots], 0, NO_MATCH)
  const single = terms.length === 1 && !keep ? (terms[0] ?? '') : null
  const isMatch =
    single !== null ? (n: TreeNode): boolean => n.search.includes(single) : (n: TreeNode): boolean => matchesTerms(n.search, terms) && (!keep || keep(n))
  let count = 0
  const visit = (n: TreeNode): TreeNode | null => {
    const self = isMatch(n)
    if (self) count++
    // `kept` is only allocated once a child differs from the original, so a subtree that passes
    // whole (a broad query) is returned as is, without copying
    let kept: TreeNode[] | null = null
    let any = false
    const children = n.children
    const size = children.length
    for (let i = 0; i < size; i++) {
      const ch = children[i] as TreeNode
      let k: TreeNode | null
      if (ch.children.length === 0) {
        // a leaf (most nodes: the VMs): its test here, without a call of visit
        if (single !== null ? ch.search.includes(single) : isMatch(ch)) {
          count++
          k = ch
        } else k = null
      } else k = visit(ch)
      if (k === ch && kept === null) {
        any = true
        continue
      }
      if (kept === null) kept = children.slice(0, i)
      if (k) {
        kept.push(k)
        any = true
      }
    }
    if (!self && !any) return null
    if (kept === null) return n
    return { ...n, children: kept, count: kept.length }
  }
  const out: TreeNode[] = []
  for (const r of roots) {
    const k = visit(r)
    if (k) out.push(k)
  }
  return result(out, count, isMatch)
}

/**
 * Does every node matching `next` match `prev` too? True when each term of `prev` is part of a
 * term of `next` (a query typed further, or a word added): every node that has all of `next`'s
 * terms in its search text has all of `prev`'s.
 */
export function refines(prev: readonly string[], next: readonly string[]): boolean {
  for (const p of prev) if (!next.some((t) => t.includes(p))) return false
  return true
}

/** how many recent results a TreeFilter keeps for narrowing from and for going back to (Backspace) */
const RECENT = 8

/**
 * filterTree for a search box, one keystroke after another, at a cost in proportion to what the
 * previous query kept rather than to the tree (issue 20: 100,000 VMs). A query that refines an
 * earlier one of the same tree and saved search (typed further, see `refines`) filters that
 * earlier result instead of the whole tree: every node the new query keeps was kept by it, with
 * its ancestors and its kept descendants, so the answer is the same as filtering the whole tree.
 * A query seen again (Backspace) gets its result back. Another tree or saved search starts over.
 */
export class TreeFilter {
  private roots: readonly TreeNode[] | null = null
  private keep: ((n: TreeNode) => boolean) | undefined = undefined
  /** results of this tree and saved search, the latest last */
  private recent: { terms: string[]; key: string; result: FilterResult }[] = []

  run(roots: readonly TreeNode[], query: string, keep?: (n: TreeNode) => boolean): FilterResult {
    if (roots !== this.roots || keep !== this.keep) {
      this.roots = roots
      this.keep = keep
      this.recent = []
    }
    const terms = queryTerms(query)
    if (terms.length === 0 && !keep) return filterTree(roots, query)
    const key = terms.join(' ')
    const seen = this.recent.findIndex((r) => r.key === key)
    if (seen >= 0) {
      const [hit] = this.recent.splice(seen, 1)
      if (hit) {
        this.recent.push(hit)
        return hit.result
      }
    }
    // the narrowest earlier result this query refines: the fewest matches
    let base: FilterResult | null = null
    for (const r of this.recent) if (refines(r.terms, terms) && (base === null || r.result.matchCount < base.matchCount)) base = r.result
    const result = filterTree(base ? base.roots : roots, query, keep)
    this.recent.push({ terms, key, result })
    if (this.recent.length > RECENT) this.recent.shift()
    return result
  }
}

/** [before, match, after] segments of a label for highlighting the first matching term */
export function highlight(label: string, query: string): { text: string; hit: boolean }[] {
  const terms = queryTerms(query)
  const lower = label.toLowerCase()
  const ranges: [number, number][] = []
  for (const t of terms) {
    let from = 0
    for (;;) {
      const at = lower.indexOf(t, from)
      if (at < 0) break
      ranges.push([at, at + t.length])
      from = at + t.length
    }
  }
  if (ranges.length === 0) return [{ text: label, hit: false }]
  ranges.sort((a, b) => a[0] - b[0])
  const merged: [number, number][] = []
  for (const r of ranges) {
    const last = merged[merged.length - 1]
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1])
    else merged.push([r[0], r[1]])
  }
  const out: { text: string; hit: boolean }[] = []
  let pos = 0
  for (const [a, b] of merged) {
    if (a > pos) out.push({ text: label.slice(pos, a), hit: false })
    out.push({ text: label.slice(a, b), hit: true })
    pos = b
  }
  if (pos < label.length) out.push({ text: label.slice(pos), hit: false })
  return out
}

/**
 * When a node matched on something other than its name (uuid, IP, tag), that text, so the row can
 * say why it is there; null when the name itself matches.
 */
export function matchHint(node: { label: string; search: string }, query: string): string | null {
  const terms = queryTerms(query)
  if (terms.length === 0) return null
  const label = node.label.toLowerCase()
  const missing = terms.filter((t) => !label.includes(t))
  if (missing.length === 0) return null
  const lines = node.search.split('\n').slice(1)
  const hits = lines.filter((line) => line && missing.some((t) => line.includes(t)))
  return hits.length ? hits.join(', ') : null
}
