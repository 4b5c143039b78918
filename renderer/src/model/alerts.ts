/**
 * Alerts: XAPI `message` records (name, priority 1 = most severe, cls + obj_uuid of the object it
 * is about, timestamp, body), joined with the object's name from the graph.
 */
import type { ObjectGraph } from './objects'

export interface AlertRow {
  /** `${connectionId}|${ref}` */
  key: string
  connectionId: string
  ref: string
  name: string
  priority: number
  cls: string
  objUuid: string
  /** the object it is about when it is in the graph */
  object?: { cls: string; ref: string; name: string }
  /** epoch ms */
  at: number
  body: string
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '')

/** XenCenter's words for XAPI message priorities */
export function priorityLabel(p: number): string {
  switch (p) {
    case 1:
      return 'Critical'
    case 2:
      return 'Major'
    case 3:
      return 'Warning'
    case 4:
      return 'Minor'
    default:
      return 'Information'
  }
}

/** 'VM_SHUTDOWN' → 'VM shutdown' */
export function alertTitle(name: string): string {
  const t = name.replace(/_/g, ' ').toLowerCase()
  return t.replace(/\b(vm|sr|ha|pbd|vdi|vbd|pif|vif|cpu|ssl|tls)\b/g, (m) => m.toUpperCase()).replace(/^./, (c) => c.toUpperCase())
}

/** every alert of every pool (or of one object: connectionId + its uuid), most severe then newest first */
export function collectAlerts(graph: ObjectGraph, only?: { connectionId: string; uuid: string }): AlertRow[] {
  const out: AlertRow[] = []
  for (const [connectionId, pool] of graph.pools) {
    if (only && only.connectionId !== connectionId) continue
    const table = pool.tables.get('message')
    if (!table) continue
    for (const [ref, rec] of table) {
      const objUuid = str(rec.obj_uuid)
      if (only && objUuid !== only.uuid) continue
      const objRef = objUuid ? pool.byUuid.get(objUuid) : undefined
      const objCls = objRef ? pool.classOf.get(objRef) : undefined
      const objRec = objRef && objCls ? pool.tables.get(objCls)?.get(objRef) : undefined
      const t = Date.parse(str(rec.timestamp))
      const priority = typeof rec.priority === 'number' ? rec.priority : Number(rec.priority) || 5
      out.push({
        key: `${connectionId}|${ref}`,
        connectionId,
        ref,
        name: str(rec.name),
        priority,
        cls: str(rec.cls),
        objUuid,
        ...(objRef && objCls ? { object: { cls: objCls, ref: objRef, name: str(objRec?.name_label) || objUuid } } : {}),
        at: Number.isNaN(t) ? 0 : t,
        body: str(rec.body),
      })
    }
  }
  return out.sort((a, b) => a.priority - b.priority || b.at - a.at)
}

/**
 * Lifecycle notices XAPI logs on every power operation (XenCenter lists them but does not count them
 * as problems): they stay in the list, and are left out of the alert count on the badge.
 */
const ROUTINE = new Set(['VM_STARTED', 'VM_SHUTDOWN', 'VM_REBOOTED', 'VM_SUSPENDED', 'VM_RESUMED', 'VM_CLONED', 'VM_SNAPSHOTTED', 'VM_CHECKPOINTED', 'VM_MIGRATED'])
export function isRoutineAlert(a: { name: string; priority: number }): boolean {
  return a.priority >= 5 && ROUTINE.has(a.name)
}

/** the alert badge (status bar, Alerts tab): every pool's alerts that are not routine lifecycle notices */
export function alertBadgeCount(graph: ObjectGraph): number {
  let n = 0
  for (const pool of graph.pools.values())
    for (const rec of pool.tables.get('message')?.values() ?? []) {
      const priority = typeof rec.priority === 'number' ? rec.priority : Number(rec.priority) || 5
      if (!isRoutineAlert({ name: str(rec.name), priority })) n++
    }
  return n
}

/** how many alerts are about this object */
export function alertCountFor(graph: ObjectGraph, connectionId: string, uuid: string): number {
  const table = graph.pool(connectionId)?.tables.get('message')
  if (!table || !uuid) return 0
  let n = 0
  for (const rec of table.values()) if (rec.obj_uuid === uuid) n++
  return n
}

/** the Alerts view's filters: severity at least as bad as `worst`… (1 = Critical only, 5 = any) */
export interface AlertFilter {
  /** the least severe priority shown: 1 Critical only … 5 any */
  atLeast: number
  /** one pool's connection id, or '' for every pool */
  pool: string
  /** text the object's name (or class) must contain, case-insensitive; '' for any */
  object: string
  /** only alerts newer than this many ms before now; 0 for any time */
  withinMs: number
  /** routine lifecycle notices (VM started, shut down…) shown too */
  routine: boolean
}
export const NO_FILTER: AlertFilter = { atLeast: 5, pool: '', object: '', withinMs: 0, routine: false }

export function filterAlerts(rows: readonly AlertRow[], f: AlertFilter, now: number): AlertRow[] {
  const text = f.object.trim().toLowerCase()
  return rows.filter(
    (r) =>
      Math.min(r.priority, 5) <= f.atLeast &&
      (!f.pool || r.connectionId === f.pool) &&
      (!text || (r.object?.name ?? r.cls).toLowerCase().includes(text)) &&
      (!f.withinMs || r.at >= now - f.withinMs) &&
      (f.routine || !isRoutineAlert(r)),
  )
}

export type AlertSortKey = 'severity' | 'alert' | 'object' | 'pool' | 'time'
/** sorts a copy; ties fall back to severity then newest first */
export function sortAlerts(rows: readonly AlertRow[], key: AlertSortKey, descending: boolean, poolName: (connectionId: string) => string): AlertRow[] {
  const base = (a: AlertRow, b: AlertRow): number => a.priority - b.priority || b.at - a.at || a.key.localeCompare(b.key)
  const cmp = (a: AlertRow, b: AlertRow): number => {
    switch (key) {
      case 'severity':
        return a.priority - b.priority
      case 'alert':
        return alertTitle(a.name).localeCompare(alertTitle(b.name))
      case 'object':
        return (a.object?.name ?? a.cls).localeCompare(b.object?.name ?? b.cls, undefined, { numeric: true })
      case 'pool':
        return poolName(a.connectionId).localeCompare(poolName(b.connectionId))
      case 'time':
        return a.at - b.at
    }
  }
  const sign = descending ? -1 : 1
  return [...rows].sort((a, b) => sign * cmp(a, b) || base(a, b))
}

/**
 * What a dismissal will do, decided before it is asked and shown in its confirmation: the alerts it
 * will dismiss (grouped by pool, only pools that are connected), the alerts it leaves because their
 * pool is not connected, and the sentence that states the count and the scope. The dismissal then
 * sends exactly `byPool`: nothing outside the stated scope is touched.
 */
export interface DismissPlan {
  byPool: Map<string, string[]>
  count: number
  /** alerts of the scope kept because their pool is not connected, per pool name */
  kept: { pool: string; count: number }[]
  /** "Dismiss 14 alerts of pool Production?" */
  question: string
}
export function dismissPlan(rows: readonly AlertRow[], poolName: (connectionId: string) => string, connected: (connectionId: string) => boolean, what = ''): DismissPlan {
  const byPool = new Map<string, string[]>()
  const kept = new Map<string, number>()
  for (const r of rows) {
    if (!connected(r.connectionId)) {
      kept.set(r.connectionId, (kept.get(r.connectionId) ?? 0) + 1)
      continue
    }
    const list = byPool.get(r.connectionId) ?? []
    list.push(r.ref)
    byPool.set(r.connectionId, list)
  }
  let count = 0
  for (const l of byPool.values()) count += l.length
  const noun = `${count} ${what ? `${what} ` : ''}alert${count === 1 ? '' : 's'}`
  const pools = [...byPool.entries()].map(([id, l]) => ({ name: poolName(id), n: l.length }))
  const scope =
    pools.length === 1 ? `of pool ${pools[0]?.name ?? ''}` : `of ${pools.length} pools (${pools.map((p) => `${p.name}: ${p.n}`).join(', ')})`
  return {
    byPool,
    count,
    kept: [...kept.entries()].map(([id, n]) => ({ pool: poolName(id), count: n })),
    question: count === 1 ? `Dismiss this alert ${scope}?` : `Dismiss ${noun} ${scope}?`,
  }
}
