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
  /** index of the parent row, -1 for roots */
  parent: number
}

export type IsExpanded = (node: TreeNode, level: number) => boolean

export function flatten(roots: readonly TreeNode[], isExpanded: IsExpanded): FlatRow[] {
  const rows: FlatRow[] = []
  // explicit stack instead of recursion: 20k-deep recursion is not an issue but allocation is
  const walk = (nodes: readonly TreeNode[], level: number, parent: number): void => {
    const size = nodes.length
    for (let i = 0; i < size; i++) {
      const node = nodes[i]
      if (!node) continue
      const hasChildren = node.children.length > 0
      const expanded = hasChildren ? isExpanded(node, level) : undefined
      const index = rows.length
      rows.push({ node, level, posinset: i + 1, setsize: size, expanded, parent })
      if (expanded) walk(node.children, level + 1, index)
    }
  }
  walk(roots, 1, -1)
  return rows
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
