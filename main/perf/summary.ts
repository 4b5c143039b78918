/**
 * The fleet overview's four figures of an object from one row of its RRD, plus the last hour of
 * them (one per feed answer, 60 s apart) for the sparklines. XenCenter's definitions:
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

export interface SummaryRow {
  connectionId: string
  kind: PerfKind
  uuid: string
  at: number
  values: Record<string, number>
}

function sumMatching(values: Record<string, number>, re: RegExp, scale = 1): number | null {
  let s = 0
  let found = false
  for (const [k, v] of Object.entries(values)) {
    if (re.test(k) && Number.isFinite(v)) {
      s += v * scale
      found = true
    }
  }
  return found ? s : null
}

function meanCpus(values: Record<string, number>): number | null {
  let s = 0
  let n = 0
  for (const [k, v] of Object.entries(values)) {
    if (/^cpu\d+$/.test(k) && Number.isFinite(v)) {
      s += v
      n++
    }
  }
  return n > 0 ? s / n : null
}

const num = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null)

/** the four figures of one row */
export function figuresOf(kind: PerfKind, values: Record<string, number>): Pick<ObjectSummary, 'cpu' | 'memUsed' | 'memTotal' | 'net' | 'disk'> {
  if (kind === 'host') {
    const total = num(values['memory_total_kib'])
    const free = num(values['memory_free_kib'])
    return {
      cpu: num(values['cpu_avg']) ?? meanCpus(values),
      memTotal: total !== null ? total * 1024 : null,
      memUsed: total !== null && free !== null ? Math.max(0, total - free) * 1024 : null,
      net: values['pif_aggr_rx'] !== undefined || values['pif_aggr_tx'] !== undefined ? sumMatching(values, /^pif_aggr_(rx|tx)$/) : sumMatching(values, /^pif_.+_(rx|tx)$/),
      disk: sumMatching(values, /^io_throughput_total_/, 1024 * 1024),
    }
  }
  const memory = num(values['memory'])
  const internalFree = num(values['memory_internal_free'])
  return {
    cpu: num(values['cpu_usage']) ?? meanCpus(values),
    memTotal: memory,
    memUsed: memory !== null && internalFree !== null ? Math.max(0, memory - internalFree * 1024) : null,
    net: sumMatching(values, /^vif_.+_(rx|tx)$/),
    disk: sumMatching(values, /^vbd_.+_(read|write)$/),
  }
}

function pushSpark(a: (number | null)[], v: number | null): (number | null)[] {
  const out = a.length >= SPARK_POINTS ? a.slice(a.length - SPARK_POINTS + 1) : a.slice()
  out.push(v)
  return out
}

/** the new summary after one more row (a row no newer than the previous one only refreshes the figures) */
export function summarise(prev: ObjectSummary | undefined, row: SummaryRow): ObjectSummary {
  const f = figuresOf(row.kind, row.values)
  const empty = { cpu: [], mem: [], net: [], disk: [] }
  const spark = prev?.spark ?? empty
  const newer = !prev || row.at > prev.at
  return {
    connectionId: row.connectionId,
    kind: row.kind,
    uuid: row.uuid,
    at: Math.max(row.at, prev?.at ?? 0),
    ...f,
    spark: newer
      ? { cpu: pushSpark(spark.cpu, f.cpu), mem: pushSpark(spark.mem, f.memUsed), net: pushSpark(spark.net, f.net), disk: pushSpark(spark.disk, f.disk) }
      : spark,
  }
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
