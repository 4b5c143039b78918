/**
 * Per-pCPU load for the NUMA view: the host's RRD `cpu<N>` busy fractions from GET /rrd_updates
 * (main/perf/rrd.ts parses every format), asked of the host itself (RRD scope is the queried
 * host) through the one HTTP helper on the pinned agent (main/xapi/http.ts). Read-only, small (the
 * last minute, 5 s step), and optional: every failure means "load unknown", never a guessed number.
 */
import { parseRrdUpdates } from '../perf/rrd'
import type { PoolHostAccess } from '../pools/api'
import { httpGet } from '../xapi/http'

const MAX_BYTES = 16 * 1024 * 1024
const TIMEOUT_MS = 10_000

export interface HostCpuLoad {
  /** pCPU id → busy fraction 0..1 */
  load: Record<number, number>
  /** epoch seconds of the row used */
  at: number
}

/** Fetches and parses one host's newest `cpu<N>` values. Throws with a sentence on failure. */
export async function fetchHostCpuLoad(access: PoolHostAccess, connectionId: string, hostAddress: string, hostUuid: string): Promise<HostCpuLoad> {
  const r = await httpGet(access.hostHttp(connectionId), hostAddress, {
    path: '/rrd_updates',
    // vm_uuid of no VM: only the host's own RRD comes back (xcp-rrdd filters VMs by the list given)
    query: { start: -60, cf: 'AVERAGE', interval: 5, host: true, json: true, vm_uuid: '00000000-0000-0000-0000-000000000000' },
    accept: 'application/json',
    timeoutMs: TIMEOUT_MS,
    idleTimeoutMs: TIMEOUT_MS,
    maxBytes: MAX_BYTES,
  })
  return parseRrdCpuLoad(r.text(), hostUuid)
}

/** Newest row's `AVERAGE:host:<uuid>:cpu<N>` values (any XAPI's JSON or XML answer). */
export function parseRrdCpuLoad(text: string, hostUuid: string): HostCpuLoad {
  const u = parseRrdUpdates(text)
  const cols: { cpu: number; i: number }[] = []
  u.legend.forEach((l, i) => {
    const m = l ? /^cpu(\d+)$/.exec(l.ds) : null
    if (m && l && l.cf === 'AVERAGE' && l.kind === 'host' && l.uuid === hostUuid) cols.push({ cpu: Number(m[1]), i })
  })
  // rows are newest first; take the newest row that has a number for some cpuN
  for (let r = 0; r < u.rows; r++) {
    const load: Record<number, number> = {}
    for (const c of cols) {
      const v = u.value(r, c.i)
      if (Number.isFinite(v)) load[c.cpu] = Math.max(0, Math.min(1, v))
    }
    if (Object.keys(load).length > 0) return { load, at: u.times[r] ?? u.end }
  }
  throw new Error('rrd_updates has no cpuN values for this host yet')
}
