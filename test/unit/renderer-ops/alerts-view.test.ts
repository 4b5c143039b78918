/** The Alerts view's rules (issue 15 item 11): filters, sort, and what a dismissal touches. */
import { describe, expect, it } from 'vitest'
import { NO_FILTER, collectAlerts, dismissPlan, filterAlerts, sortAlerts, type AlertRow } from '../../../renderer/src/model/alerts'
import { ObjectGraph } from '../../../renderer/src/model/objects'

const NOW = Date.parse('2026-12-07T12:00:00Z')
const HOUR = 3_600_000
function graph(): ObjectGraph {
  const g = new ObjectGraph()
  const iso = (msAgo: number): string => new Date(NOW - msAgo).toISOString()
  const msg = (ref: string, name: string, priority: number, cls: string, obj: string, ago: number) => ({ cls: 'message', ref, record: { name, priority, cls, obj_uuid: obj, timestamp: iso(ago), body: `${name} body` } })
  g.apply({
    connectionId: 'prod',
    seq: 0,
    reset: true,
    removes: [],
    upserts: [
      { cls: 'VM', ref: 'OpaqueRef:app', record: { uuid: 'u-app', name_label: 'app-07' } },
      { cls: 'host', ref: 'OpaqueRef:h1', record: { uuid: 'u-h1', name_label: 'prod-host-1' } },
      msg('OpaqueRef:p1', 'HA_HOST_FAILED', 1, 'Host', 'u-h1', 2 * HOUR),
      msg('OpaqueRef:p2', 'ALARM', 3, 'Host', 'u-h1', 30 * 60_000),
      msg('OpaqueRef:p3', 'VM_STARTED', 5, 'VM', 'u-app', 10 * 60_000),
      msg('OpaqueRef:p4', 'LICENSE_EXPIRES_SOON', 2, 'Host', 'u-h1', 3 * 24 * HOUR),
    ],
  })
  g.apply({
    connectionId: 'lab',
    seq: 0,
    reset: true,
    removes: [],
    upserts: [{ cls: 'VM', ref: 'OpaqueRef:t', record: { uuid: 'u-t', name_label: 'test-vm' } }, msg('OpaqueRef:l1', 'ALARM', 3, 'VM', 'u-t', 5 * 60_000), msg('OpaqueRef:l2', 'VM_SHUTDOWN', 5, 'VM', 'u-t', 60_000)],
  })
  return g
}
const names = (rows: readonly AlertRow[]): string[] => rows.map((r) => r.ref)
const poolName = (id: string): string => ({ prod: 'Production', lab: 'Lab' })[id] ?? id

describe('Alerts view filters and sort', () => {
  const rows = collectAlerts(graph())
  it('hides routine notices unless asked; filters by severity, pool, object name and time', () => {
    expect(names(filterAlerts(rows, NO_FILTER, NOW)).sort()).toEqual(['OpaqueRef:l1', 'OpaqueRef:p1', 'OpaqueRef:p2', 'OpaqueRef:p4'])
    expect(filterAlerts(rows, { ...NO_FILTER, routine: true }, NOW)).toHaveLength(6)
    expect(names(filterAlerts(rows, { ...NO_FILTER, atLeast: 2 }, NOW)).sort()).toEqual(['OpaqueRef:p1', 'OpaqueRef:p4'])
    expect(names(filterAlerts(rows, { ...NO_FILTER, pool: 'lab', routine: true }, NOW)).sort()).toEqual(['OpaqueRef:l1', 'OpaqueRef:l2'])
    expect(names(filterAlerts(rows, { ...NO_FILTER, object: 'APP-0', routine: true }, NOW))).toEqual(['OpaqueRef:p3'])
    expect(names(filterAlerts(rows, { ...NO_FILTER, withinMs: HOUR }, NOW)).sort()).toEqual(['OpaqueRef:l1', 'OpaqueRef:p2'])
  })
  it('sorts by any column, both ways', () => {
    const shown = filterAlerts(rows, { ...NO_FILTER, routine: true }, NOW)
    expect(names(sortAlerts(shown, 'time', true, poolName))).toEqual(['OpaqueRef:l2', 'OpaqueRef:l1', 'OpaqueRef:p3', 'OpaqueRef:p2', 'OpaqueRef:p1', 'OpaqueRef:p4'])
    expect(names(sortAlerts(shown, 'severity', false, poolName)).slice(0, 2)).toEqual(['OpaqueRef:p1', 'OpaqueRef:p4'])
    expect(sortAlerts(shown, 'pool', false, poolName)[0]?.connectionId).toBe('lab')
    expect(sortAlerts(shown, 'pool', true, poolName)[0]?.connectionId).toBe('prod')
    expect(sortAlerts(shown, 'object', false, poolName)[0]?.object?.name).toBe('app-07')
  })
})

describe('what a dismissal touches', () => {
  const rows = collectAlerts(graph())
  it('a scoped dismissal sends exactly the alerts of its scope and says their count and pool', () => {
    const prod = filterAlerts(rows, { ...NO_FILTER, pool: 'prod' }, NOW)
    const plan = dismissPlan(prod, poolName, () => true)
    expect([...plan.byPool.keys()]).toEqual(['prod'])
    expect(plan.byPool.get('prod')?.sort()).toEqual(['OpaqueRef:p1', 'OpaqueRef:p2', 'OpaqueRef:p4'])
    expect(plan.count).toBe(3)
    expect(plan.question).toBe('Dismiss 3 alerts of pool Production?')
  })
  it('several pools: the count per pool is stated; a pool that is not connected is left out and said', () => {
    const plan = dismissPlan(rows, poolName, (id) => id === 'prod', 'selected')
    expect([...plan.byPool.keys()]).toEqual(['prod'])
    expect(plan.count).toBe(4)
    expect(plan.kept).toEqual([{ pool: 'Lab', count: 2 }])
    expect(plan.question).toBe('Dismiss 4 selected alerts of pool Production?')
    const both = dismissPlan(rows, poolName, () => true)
    expect(both.question).toBe('Dismiss 6 alerts of 2 pools (Production: 4, Lab: 2)?')
    expect(both.count).toBe(6)
  })
})
