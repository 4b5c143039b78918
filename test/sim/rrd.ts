// OWNER: fleets helper. Boundary signature fixed by the lead; implementation replaces this body.
/**
 * GET /rrd_updates as xcp-rrdd answers it (PROTOCOL.md §4): one host's RRD plus the VMs resident on
 * it, read from the live pool tables, as an xport XML document or its JSON form. The series are
 * plausible and deterministic: a value depends only on (uuid, data source, timestamp, cf), so two
 * queries that overlap agree on the rows they share.
 */
import type { SimPoolSpec, SimRecord, SimValue } from './model'

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

/** RRAs kept by xcp-rrdd: step (s) → rows (5 s for 10 min, 1 min for 2 h, 1 h for a week, 1 day for a year). */
const ARCHIVES: readonly (readonly [step: number, rows: number])[] = [
  [5, 120],
  [60, 120],
  [3600, 168],
  [86400, 366],
]

/** Values of one column: f(t) → number (NaN when the source did not exist at t). */
type Series = (t: number) => number

interface Column {
  legend: string
  series: Series
}

// ---------------------------------------------------------------------------------------------
// number formats

/** OCaml `Printf.sprintf "%0.15g"` as xcp-rrdd uses for JSON values. */
export function formatG15(x: number): string {
  if (Number.isNaN(x)) return 'NaN'
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity'
  if (x === 0) return '0'
  const expForm = x.toExponential(14)
  const e = Number(expForm.slice(expForm.indexOf('e') + 1))
  if (e < -4 || e >= 15) {
    const mantissa = expForm.slice(0, expForm.indexOf('e')).replace(/\.?0+$/, '')
    return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`
  }
  const fixed = x.toFixed(Math.max(0, 14 - e))
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed
}

/** xapi-rrd's `Utils.f_to_s` for XML values: "%0.4f", with "0.0" for zero (see rrd_full_dump_sample). */
export function formatXml(x: number): string {
  if (Number.isNaN(x)) return 'NaN'
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity'
  if (x === 0) return '0.0'
  return x.toFixed(4)
}

// ---------------------------------------------------------------------------------------------
// deterministic signal

function hash32(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** noise in [0, 1) from (key, t) without state */
function noise(key: number, t: number): number {
  let x = (key ^ Math.imul(t | 0, 0x9e3779b1)) >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0
  return ((x ^ (x >>> 16)) >>> 0) / 4294967296
}

/** a series named `key`: daily rhythm plus slower drift plus jitter around `level`, times `scale` */
function wave(key: string, level: number, swing: number, scale = 1): Series {
  const h = hash32(key)
  return (t) => loadH(h, t, level, swing) * scale
}

function loadH(h: number, t: number, level: number, swing: number): number {
  const phase = (h % 1000) / 1000
  const day = Math.sin(2 * Math.PI * (t / 86400 + phase))
  const drift = Math.sin(2 * Math.PI * (t / 3700 + phase * 3))
  const v = level + swing * (0.6 * day + 0.3 * drift) + swing * 0.4 * (noise(h, Math.floor(t / 5)) - 0.5)
  // an idle CPU still shows a trace of work, never a flat zero
  return Math.min(1, Math.max(0.0005 + 0.004 * noise(h ^ 0x55, Math.floor(t / 5)), v))
}

function parseXapiDate(s: SimValue | undefined): number {
  if (typeof s !== 'string') return Number.NaN
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(s)
  if (!m) return Number.NaN
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
  return ms / 1000
}

const numField = (r: SimRecord | undefined, f: string): number => {
  const v = r?.[f]
  return typeof v === 'number' ? v : 0
}
const strField = (r: SimRecord | undefined, f: string): string => {
  const v = r?.[f]
  return typeof v === 'string' ? v : ''
}
const refs = (r: SimRecord | undefined, f: string): string[] => {
  const v = r?.[f]
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
}

// ---------------------------------------------------------------------------------------------

function hostColumns(pool: SimPoolSpec, host: SimRecord, cf: string): Column[] {
  const uuid = strField(host, 'uuid')
  const p = `${cf}:host:${uuid}:`
  const cols: Column[] = []
  const cpus = refs(host, 'host_CPUs').length || Number(((host.cpu_info as Record<string, SimValue> | undefined)?.cpu_count as string | undefined) ?? 1)
  const resident = refs(host, 'resident_VMs')
  const busy = Math.min(0.85, 0.05 + resident.length / Math.max(1, cpus) / 6)
  const cpuKeys = Array.from({ length: cpus }, (_, n) => hash32(`${uuid}:cpu${n}`))
  cpuKeys.forEach((h, n) => cols.push({ legend: `${p}cpu${n}`, series: (t) => loadH(h, t, busy, 0.25) }))
  cols.push({
    legend: `${p}cpu_avg`,
    series: (t) => {
      let s = 0
      for (const h of cpuKeys) s += loadH(h, t, busy, 0.25)
      return s / cpus
    },
  })
  cols.push({ legend: `${p}loadavg`, series: wave(`${uuid}:loadavg`, busy, 0.3, cpus * 0.5) })
  cols.push({ legend: `${p}hostload`, series: wave(`${uuid}:hostload`, busy, 0.3, 1.2) })
  const metrics = pool.objects.get('host_metrics')?.get(strField(host, 'metrics'))
  const vms = resident.map((r) => pool.objects.get('VM')?.get(r))
  const vcpus = vms.reduce((a, vm) => a + numField(vm, 'VCPUs_at_startup'), 0)
  cols.push({ legend: `${p}memory_total_kib`, series: () => numField(metrics, 'memory_total') / 1024 })
  cols.push({ legend: `${p}memory_free_kib`, series: () => numField(metrics, 'memory_free') / 1024 })
  cols.push({ legend: `${p}running_vcpus`, series: () => vcpus })
  cols.push({ legend: `${p}running_domains`, series: () => resident.length })
  const pifs = refs(host, 'PIFs')
    .map((r) => pool.objects.get('PIF')?.get(r))
    .filter((pif): pif is SimRecord => pif !== undefined && pif.physical === true)
  const devices = pifs.map((pif) => strField(pif, 'device'))
  const rx: Series[] = []
  const tx: Series[] = []
  for (const dev of devices) {
    const level = dev === 'eth0' ? 4e6 : 2.5e7
    const r = wave(`${uuid}:${dev}:rx`, 0.3, 0.25, level)
    const w = wave(`${uuid}:${dev}:tx`, 0.3, 0.25, level * 0.6)
    rx.push(r)
    tx.push(w)
    cols.push({ legend: `${p}pif_${dev}_rx`, series: r })
    cols.push({ legend: `${p}pif_${dev}_tx`, series: w })
  }
  cols.push({ legend: `${p}pif_aggr_rx`, series: (t) => rx.reduce((a, f) => a + f(t), 0) })
  cols.push({ legend: `${p}pif_aggr_tx`, series: (t) => tx.reduce((a, f) => a + f(t), 0) })
  return cols
}

function vmColumns(pool: SimPoolSpec, vm: SimRecord, cf: string): Column[] {
  const uuid = strField(vm, 'uuid')
  const p = `${cf}:vm:${uuid}:`
  const metrics = pool.objects.get('VM_metrics')?.get(strField(vm, 'metrics'))
  const started = parseXapiDate(metrics?.start_time)
  // a domain has no history before it started; xcp-rrdd fills those rows with NaN
  const alive = (t: number): boolean => Number.isNaN(started) || started <= 0 || t >= started
  const guarded = (f: Series): Series => (t) => (alive(t) ? f(t) : Number.NaN)
  const cols: Column[] = []
  const vcpus = numField(metrics, 'VCPUs_number') || numField(vm, 'VCPUs_at_startup') || 1
  const level = 0.04 + (hash32(uuid) % 40) / 100
  const cpuKeys = Array.from({ length: vcpus }, (_, n) => hash32(`${uuid}:cpu${n}`))
  cpuKeys.forEach((h, n) => cols.push({ legend: `${p}cpu${n}`, series: guarded((t) => loadH(h, t, level, 0.2)) }))
  cols.push({
    legend: `${p}cpu_usage`,
    series: guarded((t) => {
      let s = 0
      for (const h of cpuKeys) s += loadH(h, t, level, 0.2)
      return s / vcpus
    }),
  })
  const memory = numField(metrics, 'memory_actual') || numField(vm, 'memory_target')
  cols.push({ legend: `${p}memory`, series: guarded(() => memory) })
  cols.push({ legend: `${p}memory_target`, series: guarded(() => numField(vm, 'memory_target')) })
  if (strField(vm, 'guest_metrics') !== 'OpaqueRef:NULL' && vm.is_control_domain !== true) {
    cols.push({ legend: `${p}memory_internal_free`, series: guarded(((used: Series) => (t: number) => (memory / 1024) * (0.15 + 0.5 * (1 - used(t))))(wave(`${uuid}:mem`, 0.5, 0.3))) })
  }
  for (const r of refs(vm, 'VIFs')) {
    const vif = pool.objects.get('VIF')?.get(r)
    if (!vif || vif.currently_attached !== true) continue
    const dev = strField(vif, 'device')
    cols.push({ legend: `${p}vif_${dev}_rx`, series: guarded(wave(`${uuid}:vif${dev}:rx`, 0.2, 0.2, 2e6)) })
    cols.push({ legend: `${p}vif_${dev}_tx`, series: guarded(wave(`${uuid}:vif${dev}:tx`, 0.15, 0.15, 1.2e6)) })
  }
  for (const r of refs(vm, 'VBDs')) {
    const vbd = pool.objects.get('VBD')?.get(r)
    if (!vbd || vbd.currently_attached !== true || vbd.type !== 'Disk') continue
    const dev = strField(vbd, 'device')
    cols.push({ legend: `${p}vbd_${dev}_read`, series: guarded(wave(`${uuid}:${dev}:r`, 0.1, 0.15, 8e6)) })
    cols.push({ legend: `${p}vbd_${dev}_write`, series: guarded(wave(`${uuid}:${dev}:w`, 0.08, 0.1, 5e6)) })
  }
  return cols
}

/** consolidation: MIN/MAX spread around the average, none at the 5 s resolution */
function consolidate(v: number, cf: RrdQuery['cf'], step: number, key: number, t: number): number {
  if (Number.isNaN(v) || cf === 'AVERAGE' || step <= 5) return v
  const spread = 0.05 + 0.25 * noise(key, t)
  return cf === 'MIN' ? v * (1 - spread) : v * (1 + spread)
}

function pickArchive(q: RrdQuery, start: number): readonly [number, number] {
  if (q.interval > 0) return ARCHIVES.find(([step]) => step >= q.interval) ?? [86400, 366]
  const age = q.now - start
  return ARCHIVES.find(([step, rows]) => step * rows >= age) ?? [86400, 366]
}

export function rrdUpdates(pool: SimPoolSpec, q: RrdQuery): { contentType: string; body: string } {
  const host = pool.objects.get('host')?.get(q.hostRef)
  if (!host) throw new Error(`rrd_updates: host ${q.hostRef} is not in pool ${pool.name}`)
  if (!Number.isFinite(q.start) || !Number.isFinite(q.now)) throw new Error('rrd_updates: start and now must be numbers of seconds')
  const start = q.start < 0 ? q.now + q.start : q.start
  const [step, archiveRows] = pickArchive(q, start)
  const end = Math.floor(q.now / step) * step
  const oldest = end - (archiveRows - 1) * step
  const rowTimes: number[] = []
  for (let t = end; t > start && t >= oldest; t -= step) rowTimes.push(t)

  const columns: Column[] = []
  if (q.includeHost) columns.push(...hostColumns(pool, host, q.cf))
  const wanted = q.vmUuids && q.vmUuids.length > 0 ? new Set(q.vmUuids) : undefined
  for (const vmRef of refs(host, 'resident_VMs')) {
    const vm = pool.objects.get('VM')?.get(vmRef)
    if (!vm || (wanted && !wanted.has(strField(vm, 'uuid')))) continue
    columns.push(...vmColumns(pool, vm, q.cf))
  }

  const keys = columns.map((c) => hash32(c.legend))
  const rows = rowTimes.map((t) => ({ t, values: columns.map((c, i) => consolidate(c.series(t), q.cf, step, keys[i] ?? 0, t)) }))
  const first = rowTimes[rowTimes.length - 1] ?? end
  const metaStart = rows.length > 0 ? first - step : start

  if (q.json) {
    const body = JSON.stringify({
      meta: { start: metaStart, step, end, rows: rows.length, columns: columns.length, legend: columns.map((c) => c.legend) },
      data: rows.map((r) => ({ t: r.t, values: r.values.map(formatG15) })),
    })
    return { contentType: 'application/json', body }
  }
  const parts: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n<xport><meta>']
  parts.push(`<start>${metaStart}</start><step>${step}</step><end>${end}</end><rows>${rows.length}</rows><columns>${columns.length}</columns><legend>`)
  for (const c of columns) parts.push(`<entry>${c.legend}</entry>`)
  parts.push('</legend></meta><data>')
  for (const r of rows) {
    parts.push(`<row><t>${r.t}</t>`)
    for (const v of r.values) parts.push(`<v>${formatXml(v)}</v>`)
    parts.push('</row>')
  }
  parts.push('</data></xport>')
  return { contentType: 'text/xml', body: parts.join('') }
}
