// OWNER: fleets helper. Boundary signature fixed by the lead; implementation replaces this body.
import type { SimPoolSpec } from './model'

export interface RrdQuery {
  /** the host receiving the request: scope is its own RRD plus VMs resident on it */
  hostRef: string
  start: number
  interval: number
  cf: 'AVERAGE' | 'MIN' | 'MAX'
  json: boolean
  includeHost: boolean
  vmUuids?: string[]
  /** epoch seconds */
  now: number
}

export function rrdUpdates(pool: SimPoolSpec, q: RrdQuery): { contentType: string; body: string } {
  throw new Error(`rrdUpdates(${pool.name}, ${q.hostRef}): not implemented yet`)
}
