/**
 * The fleet overview's performance table (components/FleetPerf.vue) as plain data: the order of its
 * rows. "Now" rows main marks `stale` (their pool is offline, or the feed has not brought them for
 * minutes: a VM shut down, a server not answering) hold figures as of an earlier time: sorted by a
 * figure they come after every current row, so "the busiest VMs right now" are the ones busy now.
 */
import type { PerfOverviewRow } from '../../../shared/contract/perf'
import type { ObjectGraph } from './objects'

export type FleetPerfColumn = 'name' | 'pool' | 'cpu' | 'mem' | 'net' | 'disk'

export interface FleetPerfRow extends PerfOverviewRow {
  name: string
  pool: string
}

/** the rows sorted by a column (a copy); by a figure, stale rows last whatever the direction */
export function sortFleetPerf<R extends FleetPerfRow>(rows: readonly R[], by: FleetPerfColumn, desc: boolean): R[] {
  const key = (r: R): number | string => (by === 'name' ? r.name : by === 'pool' ? r.pool : by === 'mem' ? (r.memUsed ?? -1) : (r[by] ?? -1))
  const dir = desc ? -1 : 1
  const figure = by !== 'name' && by !== 'pool'
  return [...rows].sort((a, b) => {
    if (figure && a.stale !== b.stale) return a.stale ? 1 : -1
    const x = key(a)
    const y = key(b)
    return (typeof x === 'string' && typeof y === 'string' ? x.localeCompare(y, undefined, { numeric: true }) : Number(x) - Number(y)) * dir
  })
}

/** "as of 14:02" (or with the date when not today) for a stale row's time (epoch s) */
export function asOfText(at: number, now = Date.now()): string {
  const d = new Date(at * 1000)
  const today = new Date(now).toDateString() === d.toDateString()
  return `as of ${today ? d.toLocaleTimeString(undefined, { timeStyle: 'short' }) : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`
}

/**
 * the rows with their object's name and their pool's name, looked up in the row's own pool by uuid
 * (the uuid and no pool name when the pool does not hold it): in proportion to the rows, not a map of
 * every VM and host of the fleet made again after each batch (issue 20: 100,000 VMs)
 */
export function namedRows(rows: readonly PerfOverviewRow[], graph: ObjectGraph): FleetPerfRow[] {
  return rows.map((r) => {
    const p = graph.pool(r.connectionId)
    const ref = p?.byUuid.get(r.uuid)
    const rec = ref === undefined ? undefined : p?.tables.get(r.kind === 'vm' ? 'VM' : 'host')?.get(ref)
    return { ...r, name: rec ? String(rec.name_label ?? r.uuid) : r.uuid, pool: rec ? String(p?.pool()?.rec.name_label ?? '') : '' }
  })
}
