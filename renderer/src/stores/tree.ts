import { defineStore } from 'pinia'
import { computed, markRaw, ref, shallowRef, watch } from 'vue'
import type { SelectedItem } from '../commands/registry'
import { TreeBuilder } from '../model/tree/build'
import { filterTree } from '../model/tree/filter'
import { defaultExpanded, flatten, type FlatRow } from '../model/tree/flatten'
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

  const query = ref('')
  /** explicit expand/collapse by node id, per mode; search has its own (cleared when the query changes) */
  const expansion = shallowRef(new Map<string, boolean>())
  const searchExpansion = shallowRef(new Map<string, boolean>())
  const selection = shallowRef<ReadonlySet<string>>(new Set())
  const anchor = ref(-1)
  /** node id of the focused row */
  const focusId = ref<string | null>(null)

  const roots = useGraph<TreeNode[]>((graph) =>
    builder.build({
      mode: settings.treeMode,
      connections: connections.list,
      graph,
      flags: { showTemplates: settings.showTemplates, showSnapshots: settings.showSnapshots, showHidden: settings.showHidden },
      now: connections.now,
    }),
  )
  const filtered = computed(() => filterTree(roots.value, query.value))
  const searching = computed(() => query.value.trim().length > 0)

  const rows = computed<FlatRow[]>(() => {
    const explicit = searching.value ? searchExpansion.value : expansion.value
    const isSearch = searching.value
    return flatten(filtered.value.roots, (node, level) => {
      const e = explicit.get(node.id)
      if (e !== undefined) return e
      return isSearch ? true : defaultExpanded(node, level)
    })
  })
  const indexById = computed(() => {
    const m = new Map<string, number>()
    rows.value.forEach((r, i) => m.set(r.node.id, i))
    return m
  })
  /** index of the focused row; a focused object that moved is found again by its object id */
  const focusIndex = computed(() => {
    const id = focusId.value
    if (id === null) return -1
    const direct = indexById.value.get(id)
    if (direct !== undefined) return direct
    return -1
  })

  watch(query, () => {
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
    target.value = m
  }
  function toggle(id: string): void {
    const i = indexById.value.get(id)
    const row = i === undefined ? undefined : rows.value[i]
    if (row && row.expanded !== undefined) setExpanded(id, !row.expanded)
  }
  function setSelection(sel: ReadonlySet<string>, focus: string | null, anchorIndex?: number): void {
    selection.value = sel
    focusId.value = focus
    if (anchorIndex !== undefined) anchor.value = anchorIndex
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

  /** selected objects as commands see them (from the rows on screen) */
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
    return out
  })
  /** the object the details pane shows: the focused row if selected, else the first selected */
  const current = computed<TreeNode | null>(() => {
    const i = focusIndex.value
    const focused = i >= 0 ? rows.value[i]?.node : undefined
    if (focused && selection.value.has(focused.objId)) return focused
    const first = selectedItems.value[0]
    if (!first) return null
    for (const r of rows.value) if (r.node.objId === first.objId) return r.node
    return null
  })

  return {
    builder,
    query,
    expansion,
    searchExpansion,
    selection,
    anchor,
    focusId,
    roots,
    filtered,
    searching,
    rows,
    indexById,
    focusIndex,
    selectedItems,
    current,
    setExpanded,
    toggle,
    setSelection,
    clickRow,
  }
})
