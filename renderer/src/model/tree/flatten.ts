/**
 * The visible tree as rows: depth-first over expanded nodes. The view renders only the window of
 * rows in the viewport, so this list is the single source for scrolling, keyboard and ARIA.
 */
import type { TreeNode } from './types'

export interface FlatRow {
  node: TreeNode
  /** 1-based, as aria-level */
  level: number
  /** 1-based position among siblings, and number of siblings (aria-posinset / aria-setsize) */
  posinset: number
  setsize: number
  /** undefined for leaves */
  expanded: boolean | undefined
}

export type IsExpanded = (node: TreeNode, level: number) => boolean

/**
 * Flattens trees again and again (each batch of a fleet streaming in, each search keystroke) at a
 * cost in proportion to what changed: the subtree under a root (a pool) whose list of children was
 * flattened before (the same array: the tree builder's and the search's are never changed once made)
 * gives back the rows it gave then, as long as the expansion (`context`: the explicit expansions'
 * map, replaced on each change) is the same. A row says nothing of where it is in the list (no index
 * of its parent: parentIndex), so a pool's rows stay valid wherever the pool's row moves. 100,000
 * VMs: a batch of one pool makes that pool's rows, not 100,000.
 */
export class Flattener {
  private cache = new WeakMap<readonly TreeNode[], FlatRow[]>()
  private context: unknown = undefined

  rows(roots: readonly TreeNode[], isExpanded: IsExpanded, context: unknown): FlatRow[] {
    if (context !== this.context) {
      this.cache = new WeakMap()
      this.context = context
    }
    const out: FlatRow[] = []
    const size = roots.length
    for (let i = 0; i < size; i++) {
      const node = roots[i]
      if (!node) continue
      const expanded = node.children.length > 0 ? isExpanded(node, 1) : undefined
      out.push({ node, level: 1, posinset: i + 1, setsize: size, expanded })
      if (!expanded) continue
      let sub = this.cache.get(node.children)
      if (!sub) {
        sub = []
        append(sub, node.children, 2, isExpanded)
        this.cache.set(node.children, sub)
      }
      // (a loop: spreading 100,000 rows into push() would exceed the arguments a call can take)
      for (let k = 0; k < sub.length; k++) out.push(sub[k] as FlatRow)
    }
    return out
  }
}

function append(out: FlatRow[], nodes: readonly TreeNode[], level: number, isExpanded: IsExpanded): void {
  const size = nodes.length
  for (let i = 0; i < size; i++) {
    const node = nodes[i]
    if (!node) continue
    const expanded = node.children.length > 0 ? isExpanded(node, level) : undefined
    out.push({ node, level, posinset: i + 1, setsize: size, expanded })
    if (expanded) append(out, node.children, level + 1, isExpanded)
  }
}

/** the rows of a tree once (depth first over the expanded nodes) */
export function flatten(roots: readonly TreeNode[], isExpanded: IsExpanded): FlatRow[] {
  const out: FlatRow[] = []
  append(out, roots, 1, isExpanded)
  return out
}

/** index of the parent row of row `index` (the nearest row before it one level up), -1 for a root */
export function parentIndex(rows: readonly FlatRow[], index: number): number {
  const level = rows[index]?.level ?? 1
  for (let i = index - 1; i >= 0; i--) if ((rows[i]?.level ?? 0) < level) return i
  return -1
}

/** is row `index` a descendant of row `ancestor`? (every row between them is deeper than the ancestor) */
export function isDescendant(rows: readonly FlatRow[], ancestor: number, index: number): boolean {
  const level = rows[ancestor]?.level
  if (level === undefined || index <= ancestor || index >= rows.length) return false
  for (let i = ancestor + 1; i <= index; i++) if ((rows[i]?.level ?? 0) <= level) return false
  return true
}

/** Rows to render for a viewport: [start, end) with `overscan` extra rows each side. */
export function visibleWindow(total: number, scrollTop: number, viewportHeight: number, rowHeight: number, overscan = 8): { start: number; end: number } {
  if (total === 0 || rowHeight <= 0) return { start: 0, end: 0 }
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight)
  const count = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1
  const start = Math.max(0, Math.min(total - 1, first) - overscan)
  const end = Math.min(total, first + count + overscan)
  return { start, end }
}

/** scrollTop that brings `index` into view, or null when it already is */
export function scrollToReveal(index: number, scrollTop: number, viewportHeight: number, rowHeight: number): number | null {
  const top = index * rowHeight
  if (top < scrollTop) return top
  if (top + rowHeight > scrollTop + viewportHeight) return top + rowHeight - viewportHeight
  return null
}

/** Default expansion: connections, pools, hosts, groups and folders open; VMs (snapshots), tags closed. */
export function defaultExpanded(node: TreeNode, level: number): boolean {
  switch (node.kind) {
    case 'VM':
    case 'template':
    case 'snapshot':
      return false
    case 'tag':
    case 'folder':
      return level <= 1
    case 'group':
      return true
    default:
      return true
  }
}
