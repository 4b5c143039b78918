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
  return t.replace(/^(vm|sr|ha|pbd|vdi|vbd)\b/, (m) => m.toUpperCase()).replace(/^./, (c) => c.toUpperCase())
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
