import { defineStore } from 'pinia'
import { computed, markRaw, ref, shallowRef, watch } from 'vue'
import type { SelectedItem } from '../commands/registry'
import { TreeBuilder } from '../model/tree/build'
import { TreeFilter } from '../model/tree/filter'
import { defaultExpanded, Flattener, isDescendant, type FlatRow } from '../model/tree/flatten'
import type { TreeNode } from '../model/tree/types'
import { useConnectionsStore } from './connections'
import { useGraph } from './select'
import { useSettingsStore } from './settings'

/**
 * The navigation tree's state: built tree → search filter → visible rows, plus expansion,
 * selection and focus. Selection and focus are keyed by object identity (connection + ref), so a
 * VM that moves from its pool to a host when it starts stays selected and focused.
 */
export const useTreeStore = defineStore('tree', () => {
  const settings = useSettingsStore()
  const connections = useConnectionsStore()
  const builder = markRaw(new TreeBuilder())
  /** the search, narrowed from the previous keystroke's result while the query is typed further */
  const treeFilter = markRaw(new TreeFilter())

  const query = ref('')
  /** a saved search XenCenter wrote in a pool, applied to the tree on top of the query (issue 19): its name and test */
  const savedFilter = shallowRef<{ name: string; keep: (n: TreeNode) => boolean } | null>(null)
  /** explicit expand/collapse by node id, per mode; search has its own (cleared when the query changes) */
  const expansion = shallowRef(new Map<string, boolean>())
  const searchExpansion = shallowRef(new Map<string, boolean>())
  const selection = shallowRef<ReadonlySet<string>>(new Set())
  const anchor = ref(-1)
  /** node id of the focused row */
  const focusId = ref<string | null>(null)
  /** object id of the focused row: found again when its node leaves the rows (search cleared, moved under a collapsed host) */
  const focusObj = ref<string | null>(null)
  /** bumped when the selection was revealed (ancestors expanded): the view scrolls to the focused row */
  const revealRequest = ref(0)

  const roots = useGraph<TreeNode[]>((graph) =>
    builder.build({
      mode: settings.treeMode,
      connections: connections.list,
      graph,
      flags: { showTemplates: settings.showTemplates, showSnapshots: settings.showSnapshots, showHidden: settings.showHidden },
      now: connections.now,
    }),
  )
  const filtered = computed(() => treeFilter.run(roots.value, query.value, savedFilter.value?.keep))
  const searching = computed(() => query.value.trim().length > 0 || savedFilter.value !== null)

  /** the rows of the tree and of a search each keep the rows of subtrees that did not change (Flattener) */
  const treeRows = markRaw(new Flattener())
  const searchRows = markRaw(new Flattener())
  const rows = computed<FlatRow[]>(() => {
    const isSearch = searching.value
    const explicit = isSearch ? searchExpansion.value : expansion.value
    const isExpanded = (node: TreeNode, level: number): boolean => {
      const e = explicit.get(node.id)
      if (e !== undefined) return e
      return isSearch ? true : defaultExpanded(node, level)
    }
    // the expansion the rows depend on: none explicit is the same whichever empty map says so (each new search starts one)
    return (isSearch ? searchRows : treeRows).rows(filtered.value.roots, isExpanded, explicit.size === 0 ? null : explicit)
  })
  /**
   * index of the row of node `id`, -1 when it has none. A scan, not an index of every row: the
   * rows change with each keystroke of a search (100,000 of them for a broad one) and are looked
   * up a few times per change (the focused row, the row a user acts on), so building a Map of all
   * of them each time cost more than every lookup it served.
   */
  function indexOf(id: string, hint = -1): number {
    const list = rows.value
    if (hint >= 0 && list[hint]?.node.id === id) return hint
    for (let i = 0; i < list.length; i++) if (list[i]?.node.id === id) return i
    return -1
  }
  /** index of the focused row (-1 when none) */
  let lastFocusIndex = -1
  const focusIndex = computed(() => {
    const id = focusId.value
    lastFocusIndex = id === null ? -1 : indexOf(id, lastFocusIndex)
    return lastFocusIndex
  })

  watch([query, savedFilter], () => {
    searchExpansion.value = new Map()
  })
  watch(
    () => settings.treeMode,
    () => {
      expansion.value = new Map()
    },
  )

  function setExpanded(id: string, value: boolean): void {
    const target = searching.value ? searchExpansion : expansion
    const m = new Map(target.value)
    m.set(id, value)
    // the user collapses a node the focused row is inside: the selection moves to that node (as in
    // XenCenter), otherwise revealing the selection would open it again at once
    if (!value) {
      const at = indexOf(id)
      const row = rows.value[at]
      const fi = focusIndex.value
      if (row && isDescendant(rows.value, at, fi)) setSelection(new Set([row.node.objId]), row.node.id, at)
    }
    target.value = m
  }
  function toggle(id: string): void {
    const row = rows.value[indexOf(id)]
    if (row && row.expanded !== undefined) setExpanded(id, !row.expanded)
  }
  function setSelection(sel: ReadonlySet<string>, focus: string | null, anchorIndex?: number): void {
    selection.value = sel
    focusId.value = focus
    focusObj.value = focus === null ? null : (rows.value[indexOf(focus, anchorIndex)]?.node.objId ?? null)
    if (anchorIndex !== undefined) anchor.value = anchorIndex
  }
  /**
   * select an object from elsewhere (an overview's row): its ancestors are expanded so its row is
   * on screen, and it becomes the selection and focus. False when the tree (as filtered) has no row for it.
   */
  function reveal(objId: string): boolean {
    const path: TreeNode[] = []
    const find = (nodes: readonly TreeNode[]): boolean => {
      for (const n of nodes) {
        path.push(n)
        if (n.objId === objId || find(n.children)) return true
        path.pop()
      }
      return false
    }
    if (!find(filtered.value.roots)) return false
    const node = path[path.length - 1]
    for (const a of path.slice(0, -1)) setExpanded(a.id, true)
    if (node) setSelection(new Set([objId]), node.id)
    return true
  }
  /** select by click: plain, Ctrl (toggle) or Shift (range from the anchor) */
  function clickRow(index: number, mods: { ctrl: boolean; shift: boolean }): void {
    const row = rows.value[index]
    if (!row) return
    if (mods.shift && anchor.value >= 0) {
      const [a, b] = anchor.value < index ? [anchor.value, index] : [index, anchor.value]
      const s = new Set<string>()
      for (let i = a; i <= b; i++) {
        const r = rows.value[i]
        if (r) s.add(r.node.objId)
      }
      setSelection(s, row.node.id)
      return
    }
    if (mods.ctrl) {
      const s = new Set(selection.value)
      if (s.has(row.node.objId)) s.delete(row.node.objId)
      else s.add(row.node.objId)
      setSelection(s, row.node.id, index)
      return
    }
    setSelection(new Set([row.node.objId]), row.node.id, index)
  }

  /** selected objects as commands see them: the rows on screen first, then selected objects a collapsed node hides */
  const selectedItems = computed<SelectedItem[]>(() => {
    const sel = selection.value
    const out: SelectedItem[] = []
    const seen = new Set<string>()
    const push = (n: TreeNode): void => {
      if (seen.has(n.objId)) return
      seen.add(n.objId)
      out.push({ objId: n.objId, kind: n.kind, label: n.label, connectionId: n.connectionId, cls: n.cls, ref: n.ref, isConnectionRoot: n.isConnectionRoot })
    }
    if (sel.size === 0) return out
    for (const r of rows.value) if (sel.has(r.node.objId)) push(r.node)
    if (seen.size < sel.size) for (const id of sel) if (!seen.has(id)) {
      const n = findNode(roots.value, id)
      if (n) push(n)
    }
    return out
  })
  /** the object the details pane shows: the focused row if selected, else the first selected (even when hidden) */
  const current = computed<TreeNode | null>(() => {
    const i = focusIndex.value
    const focused = i >= 0 ? rows.value[i]?.node : undefined
    if (focused && selection.value.has(focused.objId)) return focused
    const first = focusObj.value && selection.value.has(focusObj.value) ? focusObj.value : selectedItems.value[0]?.objId
    if (!first) return null
    for (const r of rows.value) if (r.node.objId === first) return r.node
    return findNode(roots.value, first)
  })

  /**
   * The selection survives any tree change (issue 15): when the focused object's row is gone from
   * the rows (the search was cleared, it moved under a collapsed host), its node is found in the
   * tree again, its ancestors are expanded and the view is asked to scroll to it.
   */
  function revealSelection(): void {
    const target = focusObj.value
    if (target === null || !selection.value.has(target)) return
    const fi = focusIndex.value
    if (fi >= 0 && rows.value[fi]?.node.objId === target) return
    const path = findPath(filtered.value.roots, target)
    const node = path?.[path.length - 1]
    if (!path || !node) return
    const ancestors = path.slice(0, -1)
    const which = searching.value ? searchExpansion : expansion
    if (ancestors.some((a) => which.value.get(a.id) !== true)) {
      const m = new Map(which.value)
      for (const a of ancestors) m.set(a.id, true)
      which.value = m
    }
    focusId.value = node.id
    revealRequest.value++
  }
  watch(rows, revealSelection)

  return {
    builder,
    query,
    savedFilter,
    expansion,
    searchExpansion,
    selection,
    anchor,
    focusId,
    focusObj,
    revealRequest,
    roots,
    filtered,
    searching,
    rows,
    indexOf,
    focusIndex,
    selectedItems,
    current,
    setExpanded,
    toggle,
    setSelection,
    reveal,
    clickRow,
  }
})

/** the first node of object `objId` in the tree (depth first), or null */
export function findNode(roots: readonly TreeNode[], objId: string): TreeNode | null {
  const path = findPath(roots, objId)
  return path?.[path.length - 1] ?? null
}

/** the nodes from a root down to the first node of object `objId`, or null when it is not in the tree */
export function findPath(roots: readonly TreeNode[], objId: string): TreeNode[] | null {
  const path: TreeNode[] = []
  const walk = (nodes: readonly TreeNode[]): boolean => {
    for (const n of nodes) {
      path.push(n)
      if (n.objId === objId || walk(n.children)) return true
      path.pop()
    }
    return false
  }
  return walk(roots) ? path : null
}
