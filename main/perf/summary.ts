/**
 * The fleet overview's four figures of an object from one row of its RRD, plus the last hour of
 * them (one point per 60 s row) for the sparklines. XenCenter's definitions:
 *   CPU     host: cpu_avg (else the mean of cpuN) · VM: cpu_usage (else the mean of cpuN), 0..1
 *   memory  host: memory_total_kib − memory_free_kib · VM: memory − memory_internal_free (KiB), bytes
 *   network host: pif_aggr_rx + pif_aggr_tx (else every pif_*_rx/tx) · VM: every vif_*_rx/tx, B/s
 *   disk    host: every io_throughput_total_* (MiB/s) · VM: every vbd_*_read + vbd_*_write, B/s
 */
import type { PerfKind } from '../cache/perf'

export const SPARK_POINTS = 60

export interface ObjectSummary {
  connectionId: string
  kind: PerfKind
  uuid: string
  /** time of the row (host clock, s) */
  at: number
  cpu: number | null
  memUsed: number | null
  memTotal: number | null
  net: number | null
  disk: number | null
  spark: { cpu: (number | null)[]; mem: (number | null)[]; net: (number | null)[]; disk: (number | null)[] }
}

export type Figures = Pick<ObjectSummary, 'cpu' | 'memUsed' | 'memTotal' | 'net' | 'disk'>

/**
 * Which of an object's data sources (positions in a list of names) make each figure: the definitions above,
 * worked out once for a list of sources (the RRD feed's answers name the same sources minute after minute).
 */
export interface FigurePlan {
  kind: PerfKind
  /** host cpu_avg, VM cpu_usage (-1: not in the list) */
  cpu: number
  /** cpuN, for the mean when there is no cpu_avg / cpu_usage */
  cpus: number[]
  /** host memory_total_kib, VM memory */
  mem: number
  /** host memory_free_kib, VM memory_internal_free */
  memFree: number
  /** host pif_aggr_rx / pif_aggr_tx */
  netAggr: number[]
  /** host every pif_*_rx/tx (when no aggregate has a value), VM every vif_*_rx/tx */
  net: number[]
  /** host io_throughput_total_* (MiB/s), VM vbd_*_read/write (B/s) */
  disk: number[]
}

export function figurePlan(kind: PerfKind, dss: readonly string[]): FigurePlan {
  const p: FigurePlan = { kind, cpu: -1, cpus: [], mem: -1, memFree: -1, netAggr: [], net: [], disk: [] }
  const host = kind === 'host'
  dss.forEach((ds, i) => {
    if (ds === (host ? 'cpu_avg' : 'cpu_usage')) p.cpu = i
    else if (/^cpu\d+$/.test(ds)) p.cpus.push(i)
    else if (ds === (host ? 'memory_total_kib' : 'memory')) p.mem = i
    else if (ds === (host ? 'memory_free_kib' : 'memory_internal_free')) p.memFree = i
    if (host && (ds === 'pif_aggr_rx' || ds === 'pif_aggr_tx')) p.netAggr.push(i)
    if (host ? /^pif_.+_(rx|tx)$/.test(ds) : /^vif_.+_(rx|tx)$/.test(ds)) p.net.push(i)
    if (host ? /^io_throughput_total_/.test(ds) : /^vbd_.+_(read|write)$/.test(ds)) p.disk.push(i)
  })
  return p
}

/** the sum of the finite values of `cols` (null when none is) */
function sumOf(cols: readonly number[], value: (i: number) => number, scale = 1): number | null {
  let s = 0
  let found = false
  for (const c of cols) {
    const v = value(c)
    if (Number.isFinite(v)) {
      s += v * scale
      found = true
    }
  }
  return found ? s : null
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null)

/** the four figures of one row: `value(i)` is the value of the plan's source i (NaN: none) */
export function planFigures(p: FigurePlan, value: (i: number) => number): Figures {
  const at = (i: number): number => (i >= 0 ? value(i) : Number.NaN)
  let cpu = finite(at(p.cpu))
  if (cpu === null) {
    let s = 0
    let n = 0
    for (const c of p.cpus) {
      const v = value(c)
      if (Number.isFinite(v)) {
        s += v
        n++
      }
    }
    cpu = n > 0 ? s / n : null
  }
  const mem = finite(at(p.mem))
  const free = finite(at(p.memFree))
  if (p.kind === 'host') {
    // the aggregate when it has a value, else every PIF
    const aggr = p.netAggr.some((c) => Number.isFinite(value(c)))
    return {
      cpu,
      memTotal: mem !== null ? mem * 1024 : null,
      memUsed: mem !== null && free !== null ? Math.max(0, mem - free) * 1024 : null,
      net: sumOf(aggr ? p.netAggr : p.net, value),
      disk: sumOf(p.disk, value, 1024 * 1024),
    }
  }
  return {
    cpu,
    memTotal: mem,
    memUsed: mem !== null && free !== null ? Math.max(0, mem - free * 1024) : null,
    net: sumOf(p.net, value),
    disk: sumOf(p.disk, value),
  }
}

/** the four figures of one row */
export function figuresOf(kind: PerfKind, values: Record<string, number>): Figures {
  const dss = Object.keys(values)
  return planFigures(figurePlan(kind, dss), (i) => values[dss[i] as string] ?? Number.NaN)
}

/** a new summary of an object, before its first row */
export function emptySummary(connectionId: string, kind: PerfKind, uuid: string): ObjectSummary {
  return { connectionId, kind, uuid, at: Number.NEGATIVE_INFINITY, cpu: null, memUsed: null, memTotal: null, net: null, disk: null, spark: { cpu: [], mem: [], net: [], disk: [] } }
}

function pushSpark(a: (number | null)[], v: number | null): void {
  a.push(v)
  if (a.length > SPARK_POINTS) a.splice(0, a.length - SPARK_POINTS)
}

/**
 * One more row into a summary, in place (its spark arrays too: whoever hands a summary out copies them): the
 * figures are the row's; a row newer than the summary adds a spark point, one no newer only refreshes the figures
 */
export function addRow(s: ObjectSummary, at: number, f: Figures): void {
  const newer = at > s.at
  s.at = Math.max(at, s.at)
  s.cpu = f.cpu
  s.memUsed = f.memUsed
  s.memTotal = f.memTotal
  s.net = f.net
  s.disk = f.disk
  if (!newer) return
  pushSpark(s.spark.cpu, f.cpu)
  pushSpark(s.spark.mem, f.memUsed)
  pushSpark(s.spark.net, f.net)
  pushSpark(s.spark.disk, f.disk)
}

/** the data sources figuresOf reads (what a period's figures need from the history) */
export function isFigureSource(kind: PerfKind, ds: string): boolean {
  if (kind === 'host') return /^(cpu_avg|cpu\d+|memory_total_kib|memory_free_kib|pif_.+_(rx|tx)|io_throughput_total_.+)$/.test(ds)
  return /^(cpu_usage|cpu\d+|memory|memory_internal_free|vif_.+_(rx|tx)|vbd_.+_(read|write))$/.test(ds)
}

/**
 * An object's figures over a period from its stored rows, averaged per hour: the period's figures
 * (the mean of each source, then figuresOf: every figure is linear in its sources) and one spark
 * point per hour. `hours`: per hour, ds → mean (a missing ds has no value that hour).
 */
export function periodFigures(kind: PerfKind, hours: Record<string, number>[]): Pick<ObjectSummary, 'cpu' | 'memUsed' | 'memTotal' | 'net' | 'disk' | 'spark'> {
  const sum = new Map<string, { s: number; n: number }>()
  const spark: ObjectSummary['spark'] = { cpu: [], mem: [], net: [], disk: [] }
  for (const h of hours) {
    for (const [ds, v] of Object.entries(h)) {
      const a = sum.get(ds) ?? { s: 0, n: 0 }
      a.s += v
      a.n++
      sum.set(ds, a)
    }
    const f = figuresOf(kind, h)
    spark.cpu.push(f.cpu)
    spark.mem.push(f.memUsed)
    spark.net.push(f.net)
    spark.disk.push(f.disk)
  }
  const means: Record<string, number> = {}
  for (const [ds, a] of sum) means[ds] = a.s / a.n
  return { ...figuresOf(kind, means), spark }
}
