// OWNER: beyond (issue 19). The pool drift report's live share of the contract (merged into shared/contract/index.ts).
/**
 * The drift report itself is read from the object graph (shared/drift/drift.ts), live or cached. Time skew is not in
 * any record: `drift.clocks` asks every host of a connected pool for its clock (host.get_servertime, forwarded by the
 * master to that host) and says how far each is from this machine's clock at the middle of the round trip.
 */
import { z } from 'zod'

const ConnectionId = z.string().min(1).max(200)

export const HostClock = z.object({
  hostRef: z.string(),
  hostName: z.string(),
  /** the host's clock minus this machine's, at the middle of the call's round trip (ms); null: no reading */
  offsetMs: z.number().nullable(),
  /** how far the offset may be off (ms): half the round trip plus XAPI's one-second resolution */
  uncertaintyMs: z.number().nullable(),
  /** why there is no reading, as a sentence */
  problem: z.string().optional(),
})
export type HostClock = z.infer<typeof HostClock>

export const PoolClocks = z.object({
  /** when the clocks were read (this machine's clock, ISO) */
  readAt: z.string(),
  /** the pool's master (the reference the skews are given against), null when the pool record names none */
  masterRef: z.string().nullable(),
  hosts: z.array(HostClock),
})
export type PoolClocks = z.infer<typeof PoolClocks>

export const driftMethods = {
  /** read the clock of every host of a connected pool (an offline pool answers 'offline': skew cannot come from the cache) */
  'drift.clocks': { args: z.object({ connectionId: ConnectionId }).strict(), result: PoolClocks },
} as const
