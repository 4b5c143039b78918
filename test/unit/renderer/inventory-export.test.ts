/**
 * Inventory export (issue 19): rows of the tree or search result with the columns shown, custom
 * fields included; CSV cells a spreadsheet would run as formulas are defused.
 */
import { describe, expect, it } from 'vitest'
import { ObjectGraph } from '../../../renderer/src/model/objects'
import { csvCell, customFieldColumns, inventoryOf, overviewTable, toCsv, toJson } from '../../../renderer/src/model/inventory'
import type { TreeNode } from '../../../renderer/src/model/tree/types'
import type { ObjectUpsert } from '../../../shared/model/diff'

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

describe('the overview grid (custom fields as columns)', () => {
  const DEFS = '<CustomFieldDefinitions><CustomFieldDefinition name="owner" type="String" defaultValue="" /><CustomFieldDefinition name="expires" type="Date" defaultValue="" /></CustomFieldDefinitions>'
  function fleet(n: number): { g: ObjectGraph; roots: TreeNode[] } {
    const g = new ObjectGraph()
    const upserts: ObjectUpsert[] = [{ cls: 'pool', ref: 'p', record: { name_label: 'Prod', uuid: 'up', gui_config: { 'XenCenter.CustomFields': DEFS } } }]
    const vms: TreeNode[] = []
    for (let i = 0; i < n; i++) {
      // owners in a scrambled order, every seventh VM without one
      const owner = i % 7 === 3 ? undefined : `team-${(i * 7919) % n}`
      upserts.push({ cls: 'VM', ref: `v${i}`, record: { name_label: `vm-${i}`, uuid: `u${i}`, power_state: i % 2 ? 'Running' : 'Halted', other_config: owner ? { 'XenCenter.CustomFields.owner': owner, ...(i === 5 ? { 'XenCenter.CustomFields.expires': '2027-06-30 00:00:00Z' } : {}) } : {} } })
      vms.push(node(`c|v${i}`, `vm-${i}`, 'VM', 'VM'))
    }
    g.apply({ connectionId: 'c', seq: 1, reset: true, removes: [], upserts })
    return { g, roots: [node('c|p', 'Prod', 'pool', 'pool', vms)] }
  }

  it('shows the chosen custom fields, sorts by one (natural order, empty values last both ways) and keeps only the first rows', () => {
    const { g, roots } = fleet(500)
    const fields = customFieldColumns(g)
    expect(fields.map((f) => [f.name, f.type])).toEqual([
      ['owner', 'String'],
      ['expires', 'Date'],
    ])
    const poolName = (): string => 'Prod'
    const all = overviewTable(roots, g, { poolName, fields, sort: { key: 'field', field: 'owner', desc: false }, limit: 10_000 })
    expect(all.total).toBe(501)
    const owners = all.rows.map((r) => r.fields[0] ?? '')
    const set = owners.filter((o) => o !== '')
    expect(set).toEqual([...set].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })))
    expect(owners.slice(set.length).every((o) => o === '')).toBe(true)
    expect(set[0]).toBe('team-0')
    expect(set[1]).toBe('team-1')
    // the first 25 of a bounded insertion are the first 25 of the full sort, both directions
    for (const desc of [false, true]) {
      const full = overviewTable(roots, g, { poolName, fields, sort: { key: 'field', field: 'owner', desc }, limit: 10_000 })
      const top = overviewTable(roots, g, { poolName, fields, sort: { key: 'field', field: 'owner', desc }, limit: 25 })
      expect(top.rows.map((r) => r.objId)).toEqual(full.rows.slice(0, 25).map((r) => r.objId))
      expect(top.total).toBe(501)
    }
    const desc = overviewTable(roots, g, { poolName, fields, sort: { key: 'field', field: 'owner', desc: true }, limit: 3 })
    expect(desc.rows.map((r) => r.fields[0])).toEqual(['team-499', 'team-498', 'team-497'])
    // a Date field reads as a date
    const vm5 = overviewTable(roots, g, { poolName, fields, sort: null, limit: 10_000 }).rows.find((r) => r.name === 'vm-5')
    expect(vm5).toMatchObject({ type: 'VM', pool: 'Prod', state: 'Running', fields: [expect.stringMatching(/^team-/), '2027-06-30'] })
    // by name, naturally: vm-2 before vm-10
    expect(overviewTable(roots, g, { poolName, fields: [], sort: { key: 'name', desc: false }, limit: 4 }).rows.map((r) => r.name)).toEqual(['Prod', 'vm-0', 'vm-1', 'vm-2'])
    // unsorted: the tree's order; while searching only the matches
    const two = overviewTable(roots, g, { poolName, fields: [], sort: null, limit: 2 })
    // the rows past the limit are still counted (the tree's order needs no record of them)
    expect([two.total, two.rows.map((r) => r.name)]).toEqual([501, ['Prod', 'vm-0']])
    const only = overviewTable(roots, g, { poolName, fields: [], sort: null, limit: 10, only: new Set(['c|v7', 'c|v9']) })
    expect([only.total, only.rows.map((r) => r.name)]).toEqual([2, ['vm-7', 'vm-9']])
  })
})
