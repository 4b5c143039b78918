/**
 * Keyboard behaviour of the tree (WAI-ARIA tree pattern + Explorer conventions) as a pure reducer
 * over the flattened rows, so it is testable without a DOM.
 */
import { parentIndex, type FlatRow } from './flatten'

export interface TreeCursor {
  /** index of the focused row (-1: none) */
  focus: number
  /** selected object ids */
  selection: ReadonlySet<string>
  /** row index where a Shift range starts */
  anchor: number
}

export interface KeyInput {
  key: string
  shift?: boolean
  ctrl?: boolean
  /** rows per page for PageUp/PageDown */
  page?: number
}

export type TreeEffect =
  | { type: 'none' }
  | { type: 'move' }
  | { type: 'expand'; id: string }
  | { type: 'collapse'; id: string }
  | { type: 'activate'; index: number }
  | { type: 'contextMenu'; index: number }
  | { type: 'typeahead'; char: string }

export interface KeyResult {
  cursor: TreeCursor
  effect: TreeEffect
  /** the key was handled: the view prevents the browser default */
  handled: boolean
}

function select(rows: readonly FlatRow[], cursor: TreeCursor, focus: number, shift: boolean, ctrl: boolean): TreeCursor {
  const row = rows[focus]
  if (!row) return cursor
  if (shift) {
    const anchor = cursor.anchor >= 0 && cursor.anchor < rows.length ? cursor.anchor : focus
    const [a, b] = anchor < focus ? [anchor, focus] : [focus, anchor]
    const sel = new Set<string>()
    for (let i = a; i <= b; i++) {
      const r = rows[i]
      if (r) sel.add(r.node.objId)
    }
    return { focus, selection: sel, anchor }
  }
  // Ctrl+arrow moves focus without changing the selection (Explorer); Ctrl+Space toggles
  if (ctrl) return { ...cursor, focus }
  return { focus, selection: new Set([row.node.objId]), anchor: focus }
}

export function treeKey(rows: readonly FlatRow[], cursor: TreeCursor, input: KeyInput): KeyResult {
  const none = (): KeyResult => ({ cursor, effect: { type: 'none' }, handled: false })
  if (rows.length === 0) return none()
  const focus = cursor.focus >= 0 && cursor.focus < rows.length ? cursor.focus : -1
  const shift = input.shift === true
  const ctrl = input.ctrl === true
  const move = (to: number): KeyResult => {
    const clamped = Math.max(0, Math.min(rows.length - 1, to))
    return { cursor: select(rows, cursor, clamped, shift, ctrl), effect: { type: 'move' }, handled: true }
  }
  if (focus < 0) {
    if (['ArrowDown', 'ArrowUp', 'Home', 'End', 'PageDown', 'PageUp'].includes(input.key)) return move(input.key === 'End' ? rows.length - 1 : 0)
  }
  const row = rows[focus]
  switch (input.key) {
    case 'ArrowDown':
      return move(focus + 1)
    case 'ArrowUp':
      return move(focus - 1)
    case 'Home':
      return move(0)
    case 'End':
      return move(rows.length - 1)
    case 'PageDown':
      return move(focus + (input.page ?? 10))
    case 'PageUp':
      return move(focus - (input.page ?? 10))
    case 'ArrowRight':
      if (!row) return none()
      if (row.expanded === false) return { cursor, effect: { type: 'expand', id: row.node.id }, handled: true }
      if (row.expanded === true) return move(focus + 1)
      return { cursor, effect: { type: 'none' }, handled: true }
    case 'ArrowLeft':
      if (!row) return none()
      if (row.expanded === true) return { cursor, effect: { type: 'collapse', id: row.node.id }, handled: true }
      {
        const parent = parentIndex(rows, focus)
        if (parent >= 0) return { cursor: select(rows, cursor, parent, false, false), effect: { type: 'move' }, handled: true }
      }
      return { cursor, effect: { type: 'none' }, handled: true }
    case 'Enter':
      if (!row) return none()
      return { cursor, effect: { type: 'activate', index: focus }, handled: true }
    case ' ':
      if (!row) return none()
      if (ctrl) {
        const sel = new Set(cursor.selection)
        if (sel.has(row.node.objId)) sel.delete(row.node.objId)
        else sel.add(row.node.objId)
        return { cursor: { focus, selection: sel, anchor: focus }, effect: { type: 'move' }, handled: true }
      }
      return { cursor: select(rows, cursor, focus, shift, false), effect: { type: 'move' }, handled: true }
    case 'ContextMenu':
      return { cursor, effect: { type: 'contextMenu', index: focus }, handled: true }
    case 'F10':
      if (shift) return { cursor, effect: { type: 'contextMenu', index: focus }, handled: true }
      return none()
    case 'a':
    case 'A':
      if (ctrl) {
        const sel = new Set<string>()
        for (const r of rows) sel.add(r.node.objId)
        return { cursor: { ...cursor, selection: sel }, effect: { type: 'move' }, handled: true }
      }
      break
  }
  if (input.key.length === 1 && !ctrl && input.key !== ' ') return { cursor, effect: { type: 'typeahead', char: input.key }, handled: true }
  return none()
}

/**
 * Type-ahead: the next row (after `from`, wrapping) whose label starts with `prefix`; a repeated
 * single character cycles through rows starting with it.
 */
export function typeaheadFind(rows: readonly FlatRow[], from: number, prefix: string): number {
  if (!prefix || rows.length === 0) return -1
  const p = prefix.toLowerCase()
  const repeated = p.length > 1 && [...p].every((c) => c === p[0])
  const needle = repeated ? p.slice(0, 1) : p
  // a longer prefix is still matching the current row: stay on it
  const start = needle.length > 1 ? from : from + 1
  for (let k = 0; k < rows.length; k++) {
    const i = (start + k + rows.length) % rows.length
    const r = rows[i]
    if (r && r.node.label.toLowerCase().startsWith(needle)) return i
  }
  return -1
}
