/**
 * Inventory export (issue 19): the objects of the current tree or search result — every view,
 * every pool — as rows with the columns shown (name, kind, pool, state, UUID, and each custom
 * field any pool defines), to CSV or JSON.
 *
 * CSV injection: a cell a spreadsheet would run as a formula (starting with = + - @, or a tab or
 * carriage return) is written with a leading apostrophe, so a VM named "=HYPERLINK(…)" stays text.
 */
import { customFieldKey, readCustomFieldDefinitions } from '../../../shared/xencenter/custom-fields'
import type { ObjectGraph, Rec } from './objects'
import type { TreeNode } from './tree/types'

export interface InventoryTable {
  columns: string[]
  rows: string[][]
}

const KIND: Record<string, string> = { pool: 'Pool', host: 'Server', VM: 'VM', template: 'Template', snapshot: 'Snapshot', SR: 'Storage', network: 'Network' }

function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

function stateOf(cls: string | undefined, rec: Rec): string {
  if (cls === 'VM') return str(rec.power_state)
  if (cls === 'host') return rec.enabled === false ? 'Disabled' : 'Enabled'
  return ''
}

/** the objects under `roots` (each once, in tree order), with the columns shown */
export function inventoryOf(roots: readonly TreeNode[], graph: ObjectGraph, poolName: (connectionId: string) => string, only?: ReadonlySet<string>): InventoryTable {
  const fields: string[] = []
  for (const p of graph.pools.values()) {
    for (const f of readCustomFieldDefinitions(p.pool()?.rec.gui_config).fields) if (!fields.includes(f.name)) fields.push(f.name)
  }
  const columns = ['Name', 'Type', 'Pool', 'State', 'UUID', ...fields]
  const rows: string[][] = []
  const seen = new Set<string>()
  const walk = (nodes: readonly TreeNode[]): void => {
    for (const n of nodes) {
      if (n.connectionId && n.cls && n.ref && !seen.has(n.objId) && (!only || only.has(n.id))) {
        seen.add(n.objId)
        const rec = graph.pool(n.connectionId)?.tables.get(n.cls)?.get(n.ref) ?? {}
        const oc = rec.other_config && typeof rec.other_config === 'object' ? (rec.other_config as Record<string, unknown>) : {}
        rows.push([n.label, KIND[n.kind] ?? n.kind, poolName(n.connectionId), stateOf(n.cls, rec), str(rec.uuid), ...fields.map((f) => str(oc[customFieldKey(f)]))])
      }
      walk(n.children)
    }
  }
  walk(roots)
  return { columns, rows }
}

/** a cell as CSV: quoted when needed, a formula-looking start defused with an apostrophe */
export function csvCell(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v
  return /[",\n\r]/.test(safe) || safe !== safe.trim() ? `"${safe.replace(/"/g, '""')}"` : safe
}

export function toCsv(t: InventoryTable): string {
  return [t.columns, ...t.rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'
}

export function toJson(t: InventoryTable): string {
  return JSON.stringify(
    t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i] ?? '']))),
    null,
    2,
  )
}
