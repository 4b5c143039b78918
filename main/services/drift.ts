/**
 * The drift report's live share (issue 19): the hosts' clocks. The report itself is computed from the object graph
 * in the window (shared/drift/drift.ts); time skew is in no record, so `drift.clocks` asks each host of a connected
 * pool for its time (host.get_servertime: the master forwards the call to that host) and answers each one's offset
 * from this machine's clock at the middle of the round trip. Skews between hosts are the differences of offsets
 * (shared/drift/clocks.ts says them in words). An offline pool is refused with a sentence: what its hosts' clocks
 * say now cannot come from the cache.
 */
import type { HostClock, driftMethods } from '../../shared/contract/drift'
import { ServiceError } from './errors'
import type { ModuleFactory } from './module'

/** XAPI pools hold at most 64 hosts; a graph claiming more is not asked about each of them */
const MAX_HOSTS = 128
/** XAPI's datetime has whole seconds: the reading is truncated, so its middle is half a second later */
const RESOLUTION_MS = 1000

function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

export function driftModule(): ModuleFactory<keyof typeof driftMethods> {
  return (ctx) => ({
    handlers: {
      'drift.clocks': async ({ connectionId }) => {
        const c = ctx.pools.get(connectionId)
        if (!c) throw new ServiceError('not-found', `There is no saved server with id “${connectionId}”.`)
        if (c.status !== 'connected') throw new ServiceError('offline', `${c.label} is not connected: its hosts’ clocks can only be read live, so the time skew cannot be known from the cache.`)
        const graph = ctx.pools.graph(connectionId)
        const pool = [...(graph?.all('pool').values() ?? [])][0]
        const masterRef = str(pool?.['master']) || null
        const hosts = [...(graph?.all('host') ?? new Map<string, Record<string, unknown>>()).entries()].slice(0, MAX_HOSTS)
        const readings = await Promise.all(
          hosts.map(async ([ref, rec]): Promise<HostClock> => {
            const hostName = str(rec['name_label']) || ref
            const t0 = Date.now()
            try {
              const answer = await ctx.pools.call(connectionId, 'host.get_servertime', [ref])
              const t1 = Date.now()
              const at = typeof answer === 'string' ? Date.parse(answer) : Number.NaN
              if (!Number.isFinite(at)) return { hostRef: ref, hostName, offsetMs: null, uncertaintyMs: null, problem: `${hostName} answered something that is not a time.` }
              return { hostRef: ref, hostName, offsetMs: Math.round(at + RESOLUTION_MS / 2 - (t0 + t1) / 2), uncertaintyMs: Math.round((t1 - t0) / 2 + RESOLUTION_MS / 2) }
            } catch (e) {
              return { hostRef: ref, hostName, offsetMs: null, uncertaintyMs: null, problem: `${hostName} did not say its time: ${e instanceof Error ? e.message : String(e)}` }
            }
          }),
        )
        return { readAt: new Date().toISOString(), masterRef, hosts: readings }
      },
    },
  })
}
