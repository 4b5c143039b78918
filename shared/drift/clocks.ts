/**
 * Time skew between a pool's hosts (issue 19), from the clocks `drift.clocks` read live: each host's offset from the
 * reader's clock, the skew being the difference with the master's offset. XAPI gives whole seconds, so two hosts
 * within SKEW_TOLERANCE_MS agree; beyond it the skew is said in words ("xs-prod-03 is 4 min 12 s ahead of the
 * master"). A pool shown from the cache has no clocks: its skew cannot be known.
 */
import type { PoolClocks } from '../contract/drift'
import type { DriftReport, DriftRow } from './drift'

/** readings one XAPI second apart (each truncated) plus the round trips cannot tell closer clocks apart */
export const SKEW_TOLERANCE_MS = 2000

/** '4 min 12 s', '1 h 3 min', '2 d 4 h', '3 s' (rounded to the second) */
export function durationWords(ms: number): string {
  let s = Math.round(Math.abs(ms) / 1000)
  const d = Math.floor(s / 86400)
  s -= d * 86400
  const h = Math.floor(s / 3600)
  s -= h * 3600
  const m = Math.floor(s / 60)
  s -= m * 60
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`
  if (m > 0) return s > 0 ? `${m} min ${s} s` : `${m} min`
  return `${s} s`
}

export interface HostSkew {
  hostRef: string
  hostName: string
  /** this host's clock minus the master's (ms); null: not known (no reading) */
  skewMs: number | null
  isMaster: boolean
  /** beyond the tolerance */
  skewed: boolean
  /** the sentence: 'xs-prod-03 is 4 min 12 s ahead of the master' */
  sentence: string
  /** the table cell: 'master', '4 min 12 s ahead', '3 s behind', 'agrees', '—' */
  cell: string
}

export interface ClockSkews {
  masterName: string | null
  hosts: HostSkew[]
  /** the hosts beyond the tolerance */
  skewed: HostSkew[]
  /** what to say about the pool as a whole */
  summary: string
}

export function clockSkews(clocks: PoolClocks): ClockSkews {
  const master = clocks.hosts.find((h) => h.hostRef === clocks.masterRef)
  const masterName = master?.hostName ?? null
  const hosts = clocks.hosts.map((h): HostSkew => {
    const isMaster = h.hostRef === clocks.masterRef
    if (isMaster) {
      const known = h.offsetMs !== null
      return { hostRef: h.hostRef, hostName: h.hostName, skewMs: known ? 0 : null, isMaster, skewed: false, sentence: known ? `${h.hostName} is the master.` : (h.problem ?? `${h.hostName} (the master) did not say its time.`), cell: known ? 'master' : '—' }
    }
    if (h.offsetMs === null) return { hostRef: h.hostRef, hostName: h.hostName, skewMs: null, isMaster, skewed: false, sentence: h.problem ?? `${h.hostName} did not say its time.`, cell: '—' }
    if (!master || master.offsetMs === null) return { hostRef: h.hostRef, hostName: h.hostName, skewMs: null, isMaster, skewed: false, sentence: `${h.hostName}: the master’s clock is not known, so its skew is not either.`, cell: '—' }
    const skewMs = h.offsetMs - master.offsetMs
    const skewed = Math.abs(skewMs) > SKEW_TOLERANCE_MS
    const words = durationWords(skewMs)
    return {
      hostRef: h.hostRef,
      hostName: h.hostName,
      skewMs,
      isMaster,
      skewed,
      sentence: skewed ? `${h.hostName} is ${words} ${skewMs > 0 ? 'ahead of' : 'behind'} the master.` : `${h.hostName} agrees with the master within ${SKEW_TOLERANCE_MS / 1000} s.`,
      cell: skewed ? `${words} ${skewMs > 0 ? 'ahead' : 'behind'}` : 'agrees',
    }
  })
  const skewed = hosts.filter((h) => h.skewed)
  const unknown = hosts.filter((h) => h.skewMs === null).length
  let summary: string
  if (!master) summary = 'The pool names no master among its hosts: skews cannot be given.'
  else if (skewed.length) summary = skewed.map((h) => h.sentence).join(' ')
  else if (unknown === hosts.length) summary = 'No host said its time.'
  else summary = `Every host that answered agrees with the master (${masterName ?? 'unknown'}) within ${SKEW_TOLERANCE_MS / 1000} s.`
  return { masterName, hosts, skewed, summary }
}

/** the report with a 'Clock (vs the master)' row, one cell per host of the report */
export function withClockRow(report: DriftReport, skews: ClockSkews): DriftReport {
  const byRef = new Map(skews.hosts.map((h) => [h.hostRef, h]))
  const values = report.hosts.map((h) => byRef.get(h.ref)?.cell ?? '—')
  if (values.every((v) => v === '—')) return report
  const row: DriftRow = { group: 'Time and names', setting: 'Clock (vs the master)', values, differs: skews.skewed.length > 0 }
  const rows = [...report.rows]
  // after the other time settings, before the next group
  let at = rows.length
  for (let i = rows.length - 1; i >= 0; i--) {
    if (rows[i]?.group === 'Time and names') {
      at = i + 1
      break
    }
    if (rows[i]?.group === 'Software' || rows[i]?.group === 'Networking') {
      at = i + 1
      break
    }
  }
  rows.splice(at, 0, row)
  return { ...report, rows }
}
