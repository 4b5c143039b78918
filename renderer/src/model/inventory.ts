/**
 * Inventory export (issue 19): the objects of the current tree or search result — every view,
 * every pool — as rows with the columns shown (name, kind, pool, state, UUID, and each custom
 * field any pool defines), to CSV or JSON.
 *
 * CSV injection: a cell a spreadsheet would run as a formula (starting with = + - @, or a tab or
 * carriage return) is written with a leading apostrophe, so a VM named "=HYPERLINK(…)" stays text.
 */
import { customFieldKey, customFieldValues, readCustomFieldDefinitions, type CustomFieldDefinition } from '../../../shared/xencenter/custom-fields'
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

/** every custom field any pool defines (the first pool's definition of a name wins), in the order first met */
export function customFieldColumns(graph: ObjectGraph): CustomFieldDefinition[] {
  const out: CustomFieldDefinition[] = []
  for (const p of graph.pools.values()) {
    for (const f of readCustomFieldDefinitions(p.pool()?.rec.gui_config).fields) if (!out.some((x) => x.name === f.name)) out.push(f)
  }
  return out
}

/** the objects under `roots` (each once, in tree order), with the columns shown */
export function inventoryOf(roots: readonly TreeNode[], graph: ObjectGraph, poolName: (connectionId: string) => string, only?: ReadonlySet<string>): InventoryTable {
  const fields = customFieldColumns(graph).map((f) => f.name)
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

/**
 * The overview's object grid (issue 19: custom fields as columns, as XenCenter's search grid has them): the objects
 * of the tree or search result, each once, with Name / Type / Pool / State and the custom field columns chosen,
 * sorted by any of them. Only the first `limit` rows (in the order asked) are made: a fleet of 100,000 objects costs
 * one pass and a bounded insertion, never a sort of everything.
 */
export type OverviewSort = { key: 'name' | 'type' | 'pool' | 'state'; desc: boolean } | { key: 'field'; field: string; desc: boolean }

export interface OverviewRow {
  /** the tree node's id (reveal / select) and the object's identity */
  nodeId: string
  objId: string
  connectionId: string
  name: string
  type: string
  pool: string
  state: string
  /** one cell per chosen field: what to show ('' when not set) */
  fields: string[]
}

export interface OverviewTable {
  /** objects in the tree or search result */
  total: number
  rows: OverviewRow[]
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' })

interface Candidate {
  node: TreeNode
  rec: Rec
  key: string
  seq: number
}

export function overviewTable(
  roots: readonly TreeNode[],
  graph: ObjectGraph,
  opts: { poolName: (connectionId: string) => string; only?: ReadonlySet<string> | undefined; fields: readonly CustomFieldDefinition[]; sort: OverviewSort | null; limit: number },
): OverviewTable {
  const { sort, limit } = opts
  const sortField = sort?.key === 'field' ? opts.fields.find((f) => f.name === sort.field) : undefined
  const keyOf = (n: TreeNode, rec: Rec): string => {
    if (!sort) return ''
    switch (sort.key) {
      case 'name':
        return n.label
      case 'type':
        return KIND[n.kind] ?? n.kind
      case 'pool':
        return n.connectionId ? opts.poolName(n.connectionId) : ''
      case 'state':
        return stateOf(n.cls, rec)
      case 'field': {
        const oc = rec.other_config && typeof rec.other_config === 'object' ? (rec.other_config as Record<string, unknown>) : {}
        // a Date field's stored value (XenCenter's "u" format) sorts as it reads
        return sortField ? str(oc[customFieldKey(sortField.name)]) : ''
      }
    }
  }
  // empty values go last whichever the direction; ties keep the tree's order
  const cmp = (a: Candidate, b: Candidate): number => {
    if (!sort) return a.seq - b.seq
    if (a.key === '' || b.key === '') return a.key === b.key ? a.seq - b.seq : a.key === '' ? 1 : -1
    const c = collator.compare(a.key, b.key)
    return c !== 0 ? (sort.desc ? -c : c) : a.seq - b.seq
  }
  const best: Candidate[] = []
  let total = 0
  const seen = new Set<string>()
  const walk = (nodes: readonly TreeNode[]): void => {
    for (const n of nodes) {
      if (n.connectionId && n.cls && n.ref && !seen.has(n.objId) && (!opts.only || opts.only.has(n.id))) {
        seen.add(n.objId)
        // in the tree's order the kept rows are the first `limit`: the rest are only counted
        if (!sort && best.length >= limit) {
          total++
          walk(n.children)
          continue
        }
        const rec = graph.pool(n.connectionId)?.tables.get(n.cls)?.get(n.ref) ?? {}
        const c: Candidate = { node: n, rec, key: keyOf(n, rec), seq: total++ }
        const last = best[best.length - 1]
        if (best.length < limit || (last && cmp(c, last) < 0)) {
          // binary insertion into the kept rows (at most `limit`)
          let lo = 0
          let hi = best.length
          while (lo < hi) {
            const mid = (lo + hi) >> 1
            const m = best[mid]
            if (m && cmp(m, c) <= 0) lo = mid + 1
            else hi = mid
          }
          best.splice(lo, 0, c)
          if (best.length > limit) best.pop()
        }
      }
      walk(n.children)
    }
  }
  walk(roots)
  const rows = best.map(({ node: n, rec }): OverviewRow => {
    const values = customFieldValues(opts.fields, rec.other_config)
    return {
      nodeId: n.id,
      objId: n.objId,
      connectionId: n.connectionId ?? '',
      name: n.label,
      type: KIND[n.kind] ?? n.kind,
      pool: n.connectionId ? opts.poolName(n.connectionId) : '',
      state: stateOf(n.cls, rec),
      fields: values.map((v) => v.text),
    }
  })
  return { total, rows }
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
