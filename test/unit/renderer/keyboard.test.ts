import { describe, expect, it } from 'vitest'
import { flatten, type FlatRow } from '../../../renderer/src/model/tree/flatten'
import { treeKey, typeaheadFind, type TreeCursor } from '../../../renderer/src/model/tree/keyboard'
import type { TreeNode } from '../../../renderer/src/model/tree/types'

const node = (id: string, children: TreeNode[] = []): TreeNode => ({ id, objId: `o:${id}`, kind: children.length ? 'pool' : 'VM', label: id, search: id, sortKey: id, icon: 'none', children })
const tree = [node('alpha', [node('host-a', [node('vm-1'), node('vm-2')]), node('halted-1')]), node('beta', [node('beta-host')])]
const expandedSet = new Set(['alpha', 'host-a'])
const rows = (): FlatRow[] => flatten(tree, (n) => expandedSet.has(n.id))
// rows: alpha, host-a, vm-1, vm-2, halted-1, beta(collapsed)
const at = (focus: number, selection: string[] = [], anchor = focus): TreeCursor => ({ focus, selection: new Set(selection), anchor })

describe('tree keyboard', () => {
  it('arrows move focus and select the focused row', () => {
    const r = treeKey(rows(), at(0, ['o:alpha']), { key: 'ArrowDown' })
    expect(r.cursor.focus).toBe(1)
    expect([...r.cursor.selection]).toEqual(['o:host-a'])
    expect(treeKey(rows(), at(0), { key: 'ArrowUp' }).cursor.focus).toBe(0) // clamps at the top
    expect(treeKey(rows(), at(2), { key: 'End' }).cursor.focus).toBe(5)
    expect(treeKey(rows(), at(4), { key: 'Home' }).cursor.focus).toBe(0)
  })

  it('Right expands a collapsed node, then moves to its first child', () => {
    expect(treeKey(rows(), at(5), { key: 'ArrowRight' }).effect).toEqual({ type: 'expand', id: 'beta' })
    expect(treeKey(rows(), at(1), { key: 'ArrowRight' }).cursor.focus).toBe(2)
  })

  it('Left collapses an expanded node, else moves to the parent', () => {
    expect(treeKey(rows(), at(1), { key: 'ArrowLeft' }).effect).toEqual({ type: 'collapse', id: 'host-a' })
    const r = treeKey(rows(), at(3), { key: 'ArrowLeft' })
    expect(r.cursor.focus).toBe(1)
    expect([...r.cursor.selection]).toEqual(['o:host-a'])
  })

  it('Shift+arrows extend the selection from the anchor; Ctrl+arrows move focus only; Ctrl+Space toggles', () => {
    const a = treeKey(rows(), at(2, ['o:vm-1'], 2), { key: 'ArrowDown', shift: true })
    const b = treeKey(rows(), a.cursor, { key: 'ArrowDown', shift: true })
    expect([...b.cursor.selection]).toEqual(['o:vm-1', 'o:vm-2', 'o:halted-1'])
    const c = treeKey(rows(), at(2, ['o:vm-1']), { key: 'ArrowDown', ctrl: true })
    expect(c.cursor.focus).toBe(3)
    expect([...c.cursor.selection]).toEqual(['o:vm-1'])
    const d = treeKey(rows(), c.cursor, { key: ' ', ctrl: true })
    expect([...d.cursor.selection].sort()).toEqual(['o:vm-1', 'o:vm-2'])
  })

  it('Enter activates; the context menu key and Shift+F10 open the menu', () => {
    expect(treeKey(rows(), at(2), { key: 'Enter' }).effect).toEqual({ type: 'activate', index: 2 })
    expect(treeKey(rows(), at(2), { key: 'ContextMenu' }).effect).toEqual({ type: 'contextMenu', index: 2 })
    expect(treeKey(rows(), at(2), { key: 'F10', shift: true }).effect).toEqual({ type: 'contextMenu', index: 2 })
    expect(treeKey(rows(), at(2), { key: 'F10' }).handled).toBe(false)
  })

  it('PageDown moves by a page; printable keys start type-ahead', () => {
    expect(treeKey(rows(), at(0), { key: 'PageDown', page: 3 }).cursor.focus).toBe(3)
    expect(treeKey(rows(), at(0), { key: 'h' }).effect).toEqual({ type: 'typeahead', char: 'h' })
  })

  it('type-ahead finds the next label with the prefix, wrapping, and cycles on a repeated letter', () => {
    const r = rows()
    expect(typeaheadFind(r, 0, 'h')).toBe(1)
    expect(typeaheadFind(r, 1, 'h')).toBe(4)
    expect(typeaheadFind(r, 1, 'hh')).toBe(4)
    expect(typeaheadFind(r, 1, 'ha')).toBe(4)
    expect(typeaheadFind(r, 4, 'h')).toBe(1) // wraps
    expect(typeaheadFind(r, 0, 'zzz')).toBe(-1)
  })
})
