/**
 * Pool master failover (issue 15 item 14): the master of each pool as the graph has it, and the
 * changes between two readings — said to the user as a notice ("tiny-current: the pool master is
 * now tiny-host-2 (was tiny-host-1)"), since the pool keeps working and nothing else would say it.
 */
import type { ObjectGraph } from './objects'

export interface MasterSeen {
  ref: string
  name: string
}
export interface MasterChange {
  connectionId: string
  from: MasterSeen
  to: MasterSeen
}

/** connection id → its pool's master (pools whose pool record or master is not known are left out) */
export function mastersOf(graph: ObjectGraph): Map<string, MasterSeen> {
  const out = new Map<string, MasterSeen>()
  for (const [connectionId, pool] of graph.pools) {
    const rec = pool.tables.get('pool')?.values().next().value
    const ref = typeof rec?.master === 'string' ? rec.master : ''
    if (!ref || ref === 'OpaqueRef:NULL') continue
    const host = pool.tables.get('host')?.get(ref)
    out.set(connectionId, { ref, name: typeof host?.name_label === 'string' && host.name_label ? host.name_label : ref })
  }
  return out
}

/** pools whose master changed from one reading to the next; a pool seen for the first time is not a change */
export function masterChanges(before: ReadonlyMap<string, MasterSeen>, now: ReadonlyMap<string, MasterSeen>): MasterChange[] {
  const out: MasterChange[] = []
  for (const [id, to] of now) {
    const from = before.get(id)
    if (from && from.ref !== to.ref) out.push({ connectionId: id, from, to })
  }
  return out
}
