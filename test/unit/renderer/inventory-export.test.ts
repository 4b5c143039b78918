/**
 * Inventory export (issue 19): rows of the tree or search result with the columns shown, custom
 * fields included; CSV cells a spreadsheet would run as formulas are defused.
 */
import { describe, expect, it } from 'vitest'
import { ObjectGraph } from '../../../renderer/src/model/objects'
import { csvCell, inventoryOf, toCsv, toJson } from '../../../renderer/src/model/inventory'
import type { TreeNode } from '../../../renderer/src/model/tree/types'

const node = (id: string, label: string, kind: TreeNode['kind'], cls: string, children: TreeNode[] = []): TreeNode => ({ id, objId: id, kind, cls, connectionId: 'c', ref: id.split('|')[1] ?? id, label, search: label, sortKey: label, icon: 'none', children })

describe('inventory export', () => {
  it('defuses cells starting with = + - @ (and tab / CR), quotes what CSV needs', () => {
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`)
    expect(csvCell('+1')).toBe("'+1")
    expect(csvCell('-2')).toBe("'-2")
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)")
    expect(csvCell('\tx')).toBe("'\tx")
    expect(csvCell('web-01')).toBe('web-01')
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"')
  })
  it('rows of the tree with custom field columns, each object once; CSV and JSON', () => {
    const g = new ObjectGraph()
    g.apply({
      connectionId: 'c',
      seq: 1,
      reset: true,
      removes: [],
      upserts: [
        { cls: 'pool', ref: 'p', record: { name_label: 'Prod', uuid: 'up', gui_config: { 'XenCenter.CustomFields': '<CustomFieldDefinitions><CustomFieldDefinition name="owner" type="String" defaultValue="" /></CustomFieldDefinitions>' } } },
        { cls: 'VM', ref: 'v1', record: { name_label: '=cmd|calc', uuid: 'u1', power_state: 'Running', other_config: { 'XenCenter.CustomFields.owner': '-finance' } } },
        { cls: 'VM', ref: 'v2', record: { name_label: 'db', uuid: 'u2', power_state: 'Halted', other_config: {} } },
      ],
    })
    const vm1 = node('c|v1', '=cmd|calc', 'VM', 'VM')
    const roots = [node('c|p', 'Prod', 'pool', 'pool', [vm1, node('c|v2', 'db', 'VM', 'VM')]), vm1]
    const t = inventoryOf(roots, g, () => 'Prod')
    expect(t.columns).toEqual(['Name', 'Type', 'Pool', 'State', 'UUID', 'owner'])
    expect(t.rows).toEqual([
      ['Prod', 'Pool', 'Prod', '', 'up', ''],
      ['=cmd|calc', 'VM', 'Prod', 'Running', 'u1', '-finance'],
      ['db', 'VM', 'Prod', 'Halted', 'u2', ''],
    ])
    expect(toCsv(t).split('\r\n')[2]).toBe("'=cmd|calc,VM,Prod,Running,u1,'-finance")
    expect(JSON.parse(toJson(t))[1]).toEqual({ Name: '=cmd|calc', Type: 'VM', Pool: 'Prod', State: 'Running', UUID: 'u1', owner: '-finance' })
    expect(inventoryOf(roots, g, () => 'Prod', new Set(['c|v2'])).rows.map((r) => r[0])).toEqual(['db'])
  })
})
