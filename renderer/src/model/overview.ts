/**
 * The fleet overview's pool rows and totals (components/FleetOverview.vue) as plain data. A pool whose
 * objects have not all reached this window yet — a connect or a cold start still streaming them in
 * (200 pools take seconds) — does not read as "0 servers, 0 / 0 VMs": it has no figures until its
 * objects are here, its state says they are still loading, and the totals say how many pools they
 * leave out or hold in part.
 */
import type { ConnectionState } from '../../../shared/contract/connection'
import { connectionBadge, type ConnectionBadge } from './connection'
import type { ObjectGraph } from './objects'

export interface OverviewRow {
  id: string
  name: string
  address: string
  state: string
  tone: ConnectionBadge['tone'] | 'ok'
  /** connected, and its objects are still arriving in this window */
  loading: boolean
  /** undefined: none of its objects are in this window (nothing to count) */
  figures: { hosts: number; vms: number; running: number } | undefined
}

export function overviewRows(list: readonly ConnectionState[], graph: ObjectGraph, now: number): OverviewRow[] {
  return list.map((c) => {
    const p = graph.pool(c.id)
    const pool = p?.pool()
    const name = pool?.rec.name_label
    const badge = connectionBadge(c, now)
    const loading = c.status === 'connected' && (pool === undefined || graph.staging(c.id))
    return {
      id: c.id,
      name: (typeof name === 'string' && name) || c.label || c.address,
      address: c.address,
      state: badge?.text ?? (loading ? 'Connected, its objects still loading…' : 'Connected'),
      tone: badge?.tone ?? 'ok',
      loading,
      figures: p && pool ? { hosts: p.all('host').size, ...p.vmCounts() } : undefined,
    }
  })
}

export interface OverviewTotals {
  hosts: number
  vms: number
  running: number
  /** pools still loading in this window: the totals leave them out or count them in part */
  loading: number
}

export function overviewTotals(rows: readonly OverviewRow[]): OverviewTotals {
  const t: OverviewTotals = { hosts: 0, vms: 0, running: 0, loading: 0 }
  for (const r of rows) {
    if (r.loading) t.loading++
    if (!r.figures) continue
    t.hosts += r.figures.hosts
    t.vms += r.figures.vms
    t.running += r.figures.running
  }
  return t
}
