/**
 * The simulator's xcp-rrdd: per-object performance series, deterministic from (uuid, data source,
 * time), served as XAPI serves them (main/perf/rrd.ts describes the formats):
 *
 * - GET /rrd_updates: the queried host's RRD plus the VMs resident on it (vm_uuid filters VMs,
 *   host=true adds the host). The archive is chosen as xapi-rrd's find_best_rras does: the first
 *   with a step ≥ `interval` whose span still reaches `start`, else the coarsest; rows from the
 *   newest back to `start` inclusive, newest first. JSON in the spelling of the pool's release
 *   (bare keys and bare NaN before 23.31; `data` inside `meta` until 24.10; then `data` beside).
 * - GET /host_rrd, /vm_rrd: whole RRDs (rrdtool dump XML, or JSON when asked), every archive.
 * - host|VM.get_data_sources, record_data_source, query_data_source, forget_data_source_archives.
 *
 * The series look like a real fleet: a daily cycle (phase per object), a slower drift, jitter,
 * short bursts (all CPUs of an object together), nightly backup bursts on disks, and in every pool the first CI runner / build VM
 * pegs its CPUs. Nothing is computed until asked: a fleet of 20,000 VMs costs nothing at idle.
 */
import { RELEASES } from '../../shared/xapi/datamodel.generated'
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
export const ARCHIVES: readonly (readonly [step: number, rows: number])[] = [
  [5, 120],
  [60, 120],
  [3600, 168],
  [86400, 366],
]

/** How a release writes JSON: see the header. */
export type RrdJsonSpelling = 'legacy' | 'data-in-meta' | 'current'

export function jsonSpellingOf(release: string): RrdJsonSpelling {
  const i = RELEASES.indexOf(release)
  if (i < 0) return 'current'
  if (i <= RELEASES.indexOf('23.30.0')) return 'legacy'
  if (i <= RELEASES.indexOf('24.10.0')) return 'data-in-meta'
  return 'current'
}

// ---------------------------------------------------------------------------------------------
// number formats

/** OCaml `Printf.sprintf "%0.15g"` as xcp-rrdd uses for values since the yojson port. */
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

/** xapi-rrd's `Utils.f_to_s` today: "%0.15g", "0.0" for zero, NaN/Infinity/-Infinity spelled out. */
export function formatFToS(x: number): string {
  return x === 0 ? '0.0' : formatG15(x)
}

/** `Utils.f_to_s` of old releases (and the rrd_full_dump sample): "%0.4f", "0.0" for zero. */
export function formatXml(x: number): string {
  if (Number.isNaN(x)) return 'NaN'
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity'
  if (x === 0) return '0.0'
  return x.toFixed(4)
}

// ---------------------------------------------------------------------------------------------
// deterministic signal

export function hash32(s: string): number {
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

/** a value at time t averaged over `res` seconds: coarser rows carry less jitter */
type Series = (t: number, res: number) => number

/**
 * busy fraction 0..1: daily rhythm + drift + jitter + occasional bursts. `h` keys the jitter and
 * bursts (one per series); the rhythm's phase comes from the object (`obj`, default h), so the CPUs
 * of one VM rise and fall together.
 */
function load(h: number, t: number, res: number, level: number, swing: number, obj = h): number {
  const phase = (obj % 1000) / 1000
  const day = Math.sin(2 * Math.PI * (t / 86400 + phase))
  const drift = Math.sin(2 * Math.PI * (t / 3700 + phase * 3))
  const jitter = (noise(h, Math.floor(t / Math.max(5, res))) - 0.5) * Math.min(1, 2.2 / Math.sqrt(Math.max(1, res / 5)))
  // a burst: in ~4 % of the 10-minute slots, the load jumps for a few minutes
  const slot = Math.floor(t / 600)
  const burst = res <= 600 && noise(obj ^ 0x0b0b, slot) < 0.04 && t % 600 < 60 + 240 * noise(obj ^ 0x1b1b, slot) ? 0.45 * noise(obj ^ 0x2b2b, slot) + 0.2 : 0
  const v = level + swing * (0.6 * day + 0.3 * drift) + swing * 0.4 * jitter + burst
  // an idle CPU still shows a trace of work, never a flat zero
  return Math.min(1, Math.max(0.0005 + 0.004 * noise(h ^ 0x55, Math.floor(t / 5)), v))
}

function wave(key: string, level: number, swing: number, scale = 1): Series {
  const h = hash32(key)
  return (t, res) => load(h, t, res, level, swing) * scale
}

/** disk traffic with a nightly backup window (an hour starting between 01:00 and 03:59 UTC) */
function diskWave(key: string, level: number, swing: number, scale: number, backup: boolean): Series {
  const h = hash32(key)
  const startS = 3600 + (h % 10800)
  return (t, res) => {
    const base = load(h, t, res, level, swing) * scale
    if (!backup) return base
    const s = ((t % 86400) + 86400) % 86400
    return s >= startS && s < startS + 3600 ? base + scale * 6 * (0.7 + 0.3 * noise(h ^ 0x77, Math.floor(t / 60))) : base
  }
}

function parseXapiDate(s: SimValue | undefined): number {
  if (typeof s !== 'string') return Number.NaN
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(s)
  if (!m) return Number.NaN
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000
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
// data sources of an object

export interface SimDataSource {
  name: string
  description: string
  units: string
  min: number
  max: number
  /** recorded by default; the others only after record_data_source */
  standard: boolean
  series: Series
}

const ds = (name: string, description: string, units: string, series: Series, o: { min?: number; max?: number; standard?: boolean } = {}): SimDataSource => ({
  name,
  description,
  units,
  series,
  min: o.min ?? Number.NEGATIVE_INFINITY,
  max: o.max ?? Number.POSITIVE_INFINITY,
  standard: o.standard ?? true,
})

/** the first CI runner or build VM of every pool (ci-runner-01, build-01…) and one in five CI runners peg their CPUs */
export function isPeggedVm(vm: SimRecord): boolean {
  const name = strField(vm, 'name_label')
  if (/^(ci-runner|build)-0*1$/.test(name)) return true
  return /^ci-runner-\d+$/.test(name) && hash32(strField(vm, 'uuid')) % 5 === 0
}

function hostSources(pool: SimPoolSpec, host: SimRecord): SimDataSource[] {
  const uuid = strField(host, 'uuid')
  const out: SimDataSource[] = []
  const cpus = refs(host, 'host_CPUs').length || Number(((host.cpu_info as Record<string, SimValue> | undefined)?.cpu_count as string | undefined) ?? 1)
  const resident = refs(host, 'resident_VMs')
  const vms = resident.map((r) => pool.objects.get('VM')?.get(r)).filter((v): v is SimRecord => v !== undefined)
  const pegged = vms.filter(isPeggedVm).reduce((a, vm) => a + (numField(vm, 'VCPUs_at_startup') || 1), 0)
  const busy = Math.min(0.85, 0.05 + vms.length / Math.max(1, cpus) / 6 + pegged / Math.max(1, cpus) / 2)
  const cpuKeys = Array.from({ length: cpus }, (_, n) => hash32(`${uuid}:cpu${n}`))
  const hostH = hash32(uuid)
  cpuKeys.forEach((h, n) => out.push(ds(`cpu${n}`, `Physical CPU ${n} usage`, '(fraction)', (t, res) => load(h, t, res, busy, 0.25, hostH), { min: 0, max: 1 })))
  out.push(
    ds(
      'cpu_avg',
      'Average physical CPU usage',
      '(fraction)',
      (t, res) => {
        let s = 0
        for (const h of cpuKeys) s += load(h, t, res, busy, 0.25, hostH)
        return s / cpus
      },
      { min: 0, max: 1 },
    ),
  )
  out.push(ds('loadavg', 'Domain0 loadavg', '', wave(`${uuid}:loadavg`, busy, 0.3, cpus * 0.5)))
  out.push(ds('hostload', 'Host load per physical cpu', '', wave(`${uuid}:hostload`, busy, 0.3, 1.2), { min: 0 }))
  const metrics = pool.objects.get('host_metrics')?.get(strField(host, 'metrics'))
  const total = numField(metrics, 'memory_total') / 1024
  const freeBase = numField(metrics, 'memory_free') / 1024
  const memWave = wave(`${uuid}:mem`, 0.5, 0.2)
  out.push(ds('memory_total_kib', 'Total amount of memory', 'KiB', () => total, { min: 0 }))
  // free memory breathes a little around what host_metrics says (never above the total)
  out.push(ds('memory_free_kib', 'Free memory', 'KiB', (t, res) => Math.min(total, freeBase * (0.9 + 0.2 * memWave(t, res))), { min: 0 }))
  const vcpus = vms.reduce((a, vm) => a + numField(vm, 'VCPUs_at_startup'), 0)
  out.push(ds('running_vcpus', 'The total number of running vCPUs', '', () => vcpus))
  out.push(ds('running_domains', 'The total number of running domains', '', () => resident.length))
  const pifs = refs(host, 'PIFs')
    .map((r) => pool.objects.get('PIF')?.get(r))
    .filter((pif): pif is SimRecord => pif !== undefined && pif.physical === true)
  const rx: Series[] = []
  const tx: Series[] = []
  for (const pif of pifs) {
    const dev = strField(pif, 'device')
    const level = dev === 'eth0' ? 4e6 : 2.5e7
    const r = wave(`${uuid}:${dev}:rx`, 0.3, 0.25, level)
    const w = wave(`${uuid}:${dev}:tx`, 0.3, 0.25, level * 0.6)
    rx.push(r)
    tx.push(w)
    out.push(ds(`pif_${dev}_rx`, `Bytes per second received on physical interface ${dev}`, 'B/s', r, { min: 0 }))
    out.push(ds(`pif_${dev}_tx`, `Bytes per second sent on physical interface ${dev}`, 'B/s', w, { min: 0 }))
    out.push(ds(`pif_${dev}_rx_errors`, `Receive errors per second on physical interface ${dev}`, 'err/s', wave(`${uuid}:${dev}:rxe`, 0.01, 0.01, 3), { min: 0, standard: false }))
    out.push(ds(`pif_${dev}_tx_errors`, `Transmit errors per second on physical interface ${dev}`, 'err/s', wave(`${uuid}:${dev}:txe`, 0.01, 0.01, 2), { min: 0, standard: false }))
  }
  out.push(ds('pif_aggr_rx', 'Bytes per second received on all physical interfaces', 'B/s', (t, res) => rx.reduce((a, f) => a + f(t, res), 0), { min: 0 }))
  out.push(ds('pif_aggr_tx', 'Bytes per second sent on all physical interfaces', 'B/s', (t, res) => tx.reduce((a, f) => a + f(t, res), 0), { min: 0 }))
  // storage: per SR plugged on this host, named by the first 8 characters of its uuid
  for (const pbdRef of refs(host, 'PBDs')) {
    const pbd = pool.objects.get('PBD')?.get(pbdRef)
    if (!pbd || pbd.currently_attached !== true) continue
    const sr = pool.objects.get('SR')?.get(strField(pbd, 'SR'))
    if (!sr || sr.content_type === 'iso') continue
    const sr8 = strField(sr, 'uuid').slice(0, 8)
    const k = `${uuid}:${sr8}`
    const rd = diskWave(`${k}:r`, 0.15, 0.12, 40, true)
    const wr = diskWave(`${k}:w`, 0.12, 0.1, 25, false)
    out.push(ds(`io_throughput_read_${sr8}`, 'Data read from SR', 'MiB/s', rd, { min: 0 }))
    out.push(ds(`io_throughput_write_${sr8}`, 'Data written to SR', 'MiB/s', wr, { min: 0 }))
    out.push(ds(`io_throughput_total_${sr8}`, 'All SR I/O', 'MiB/s', (t, res) => rd(t, res) + wr(t, res), { min: 0 }))
    out.push(ds(`iops_read_${sr8}`, 'Read requests per second', 'requests/s', (t, res) => rd(t, res) * 24, { min: 0 }))
    out.push(ds(`iops_write_${sr8}`, 'Write requests per second', 'requests/s', (t, res) => wr(t, res) * 30, { min: 0 }))
    out.push(ds(`iops_total_${sr8}`, 'I/O requests per second', 'requests/s', (t, res) => rd(t, res) * 24 + wr(t, res) * 30, { min: 0 }))
    out.push(ds(`read_latency_${sr8}`, 'Average read latency', 'μs', wave(`${k}:rl`, 0.3, 0.2, 1200), { min: 0 }))
    out.push(ds(`write_latency_${sr8}`, 'Average write latency', 'μs', wave(`${k}:wl`, 0.3, 0.2, 1800), { min: 0 }))
    out.push(ds(`iowait_${sr8}`, 'I/O wait', '(fraction)', wave(`${k}:iw`, 0.05, 0.04), { min: 0, standard: false }))
  }
  return out
}

function vmSources(pool: SimPoolSpec, vm: SimRecord): SimDataSource[] {
  const uuid = strField(vm, 'uuid')
  const metrics = pool.objects.get('VM_metrics')?.get(strField(vm, 'metrics'))
  const started = parseXapiDate(metrics?.start_time)
  // a domain has no history before it started; xcp-rrdd fills those rows with NaN
  const alive = (t: number): boolean => Number.isNaN(started) || started <= 0 || t >= started
  const guarded = (f: Series): Series => (t, res) => (alive(t) ? f(t, res) : Number.NaN)
  const out: SimDataSource[] = []
  const vcpus = numField(metrics, 'VCPUs_number') || numField(vm, 'VCPUs_at_startup') || 1
  const pegged = isPeggedVm(vm)
  const level = pegged ? 0.97 : 0.08 + (hash32(uuid) % 40) / 100
  const swing = pegged ? 0.02 : 0.2
  const cpuKeys = Array.from({ length: vcpus }, (_, n) => hash32(`${uuid}:cpu${n}`))
  const vmH = hash32(uuid)
  cpuKeys.forEach((h, n) => out.push(ds(`cpu${n}`, `CPU${n} usage`, '(fraction)', guarded((t, res) => load(h, t, res, level, swing, vmH)), { min: 0, max: 1 })))
  out.push(
    ds(
      'cpu_usage',
      'Domain CPU usage',
      '(fraction)',
      guarded((t, res) => {
        let s = 0
        for (const h of cpuKeys) s += load(h, t, res, level, swing, vmH)
        return s / vcpus
      }),
      { min: 0, max: 1 },
    ),
  )
  const memory = numField(metrics, 'memory_actual') || numField(vm, 'memory_target')
  out.push(ds('memory', 'Memory currently allocated to VM', 'B', guarded(() => memory), { min: 0 }))
  out.push(ds('memory_target', 'Target of VM balloon driver', 'B', guarded(() => numField(vm, 'memory_target')), { min: 0 }))
  if (strField(vm, 'guest_metrics') !== 'OpaqueRef:NULL' && vm.is_control_domain !== true) {
    const used = wave(`${uuid}:mem`, pegged ? 0.8 : 0.5, 0.3)
    out.push(ds('memory_internal_free', 'Memory used as reported by the guest agent', 'KiB', guarded((t, res) => (memory / 1024) * (0.1 + 0.6 * (1 - used(t, res)))), { min: 0 }))
  }
  for (const r of refs(vm, 'VIFs')) {
    const vif = pool.objects.get('VIF')?.get(r)
    if (!vif || vif.currently_attached !== true) continue
    const dev = strField(vif, 'device')
    out.push(ds(`vif_${dev}_rx`, 'Bytes per second received', 'B/s', guarded(wave(`${uuid}:vif${dev}:rx`, 0.2, 0.2, 2e6)), { min: 0 }))
    out.push(ds(`vif_${dev}_tx`, 'Bytes per second transmitted', 'B/s', guarded(wave(`${uuid}:vif${dev}:tx`, 0.15, 0.15, 1.2e6)), { min: 0 }))
  }
  const backup = refs(vm, 'tags').length > 0 || /^db-/.test(strField(vm, 'name_label'))
  for (const r of refs(vm, 'VBDs')) {
    const vbd = pool.objects.get('VBD')?.get(r)
    if (!vbd || vbd.currently_attached !== true || vbd.type !== 'Disk') continue
    const dev = strField(vbd, 'device')
    const rd = guarded(diskWave(`${uuid}:${dev}:r`, 0.1, 0.15, 8e6, backup))
    const wr = guarded(diskWave(`${uuid}:${dev}:w`, 0.08, 0.1, 5e6, false))
    out.push(ds(`vbd_${dev}_read`, 'Reads from device in bytes per second', 'B/s', rd, { min: 0 }))
    out.push(ds(`vbd_${dev}_write`, 'Writes to device in bytes per second', 'B/s', wr, { min: 0 }))
    out.push(ds(`vbd_${dev}_iops_read`, 'Read requests per second', 'requests/s', (t, res) => rd(t, res) / 16384, { min: 0 }))
    out.push(ds(`vbd_${dev}_iops_write`, 'Write requests per second', 'requests/s', (t, res) => wr(t, res) / 8192, { min: 0 }))
    out.push(ds(`vbd_${dev}_iops_total`, 'I/O requests per second', 'requests/s', (t, res) => rd(t, res) / 16384 + wr(t, res) / 8192, { min: 0 }))
    out.push(ds(`vbd_${dev}_read_latency`, 'Reads from device latency', 'μs', guarded(wave(`${uuid}:${dev}:rl`, 0.3, 0.2, 900)), { min: 0 }))
    out.push(ds(`vbd_${dev}_write_latency`, 'Writes to device latency', 'μs', guarded(wave(`${uuid}:${dev}:wl`, 0.3, 0.2, 1400)), { min: 0 }))
    out.push(ds(`vbd_${dev}_inflight`, 'Number of I/O requests currently in flight', 'requests', guarded(wave(`${uuid}:${dev}:if`, 0.1, 0.1, 8)), { min: 0, standard: false }))
    out.push(ds(`vbd_${dev}_avgqu_sz`, 'Average I/O queue size', 'requests', guarded(wave(`${uuid}:${dev}:aq`, 0.1, 0.1, 4)), { min: 0, standard: false }))
  }
  out.push(ds('runstate_fullrun', 'Fraction of time that all vCPUs are running', '(fraction)', guarded(wave(`${uuid}:rs`, level, 0.1)), { min: 0, max: 1, standard: false }))
  out.push(ds('runstate_blocked', 'Fraction of time that all vCPUs are blocked', '(fraction)', guarded(wave(`${uuid}:rb`, 1 - level, 0.1)), { min: 0, max: 1, standard: false }))
  return out
}

// ---------------------------------------------------------------------------------------------
// record_data_source: per pool, which non-standard sources are recorded since when

const recorded = new WeakMap<SimPoolSpec, Map<string, number>>()

function recordedOf(pool: SimPoolSpec): Map<string, number> {
  let m = recorded.get(pool)
  if (!m) recorded.set(pool, (m = new Map()))
  return m
}

export type RrdObject = { kind: 'host'; rec: SimRecord } | { kind: 'vm'; rec: SimRecord }

export function sourcesOf(pool: SimPoolSpec, o: RrdObject): SimDataSource[] {
  return o.kind === 'host' ? hostSources(pool, o.rec) : vmSources(pool, o.rec)
}

/** what the RRD of an object holds: the standard sources plus those recorded (from when they were) */
function recordedSources(pool: SimPoolSpec, o: RrdObject): SimDataSource[] {
  const rec = recordedOf(pool)
  const uuid = strField(o.rec, 'uuid')
  const out: SimDataSource[] = []
  for (const s of sourcesOf(pool, o)) {
    if (s.standard) {
      out.push(s)
      continue
    }
    const since = rec.get(`${uuid}:${s.name}`)
    if (since === undefined) continue
    out.push({ ...s, series: (t, res) => (t >= since ? s.series(t, res) : Number.NaN) })
  }
  return out
}

export interface SimDataSourceRecord {
  name_label: string
  name_description: string
  enabled: boolean
  standard: boolean
  units: string
  min: number
  max: number
  value: number
}

/** host|VM.get_data_sources: every source, enabled when recorded */
export function dataSources(pool: SimPoolSpec, o: RrdObject, now: number): SimDataSourceRecord[] {
  const rec = recordedOf(pool)
  const uuid = strField(o.rec, 'uuid')
  return sourcesOf(pool, o).map((s) => ({
    name_label: s.name,
    name_description: s.description,
    enabled: s.standard || rec.has(`${uuid}:${s.name}`),
    standard: s.standard,
    units: s.units,
    min: s.min,
    max: s.max,
    value: s.series(Math.floor(now / 5) * 5, 5),
  }))
}

/** record_data_source: false when the object has no such live source (rrdd's Datasource_missing) */
export function recordDataSource(pool: SimPoolSpec, o: RrdObject, name: string, now: number): boolean {
  if (!sourcesOf(pool, o).some((s) => s.name === name)) return false
  const key = `${strField(o.rec, 'uuid')}:${name}`
  const rec = recordedOf(pool)
  if (!rec.has(key)) rec.set(key, Math.floor(now / 5) * 5)
  return true
}

export function forgetDataSource(pool: SimPoolSpec, o: RrdObject, name: string): void {
  recordedOf(pool).delete(`${strField(o.rec, 'uuid')}:${name}`)
}

/** query_data_source: the newest 5 s value, or undefined for an unknown name */
export function queryDataSource(pool: SimPoolSpec, o: RrdObject, name: string, now: number): number | undefined {
  const s = recordedSources(pool, o).find((x) => x.name === name)
  return s ? s.series(Math.floor(now / 5) * 5, 5) : undefined
}

// ---------------------------------------------------------------------------------------------
// consolidation and archives

/** MIN/MAX spread around the average; none at the 5 s resolution */
function consolidate(v: number, cf: 'AVERAGE' | 'MIN' | 'MAX', step: number, key: number, t: number): number {
  if (Number.isNaN(v) || cf === 'AVERAGE' || step <= 5) return v
  const spread = 0.05 + 0.25 * noise(key, t)
  return cf === 'MIN' ? v * (1 - spread) : v * (1 + spread)
}

/** xapi-rrd's find_best_rras: the first archive fine enough for `interval` that still reaches `start` */
export function pickArchive(interval: number, start: number, now: number): readonly [number, number] {
  const last5 = Math.floor(now / 5) * 5
  const fit = ARCHIVES.find(([step, rows]) => step >= interval && start > last5 - step * rows)
  return fit ?? (ARCHIVES[ARCHIVES.length - 1] as readonly [number, number])
}

interface Column {
  legend: string
  series: Series
  key: number
}

export function rrdUpdates(pool: SimPoolSpec, q: RrdQuery, spelling: RrdJsonSpelling = jsonSpellingOf(pool.xapiRelease)): { contentType: string; body: string } {
  const host = pool.objects.get('host')?.get(q.hostRef)
  if (!host) throw new Error(`rrd_updates: host ${q.hostRef} is not in pool ${pool.name}`)
  if (!Number.isFinite(q.start) || !Number.isFinite(q.now)) throw new Error('rrd_updates: start and now must be numbers of seconds')
  // a negative start counts back from the last update
  const start = q.start < 0 ? Math.floor(q.now / 5) * 5 + q.start : q.start
  const [step, archiveRows] = pickArchive(q.interval, start, q.now)
  const end = Math.floor(q.now / step) * step
  const rowTimes: number[] = []
  for (let i = 0; i < archiveRows; i++) {
    const t = end - i * step
    if (t < start) break
    rowTimes.push(t)
  }

  const columns: Column[] = []
  const add = (prefix: string, o: RrdObject): void => {
    for (const s of recordedSources(pool, o)) {
      const legend = `${q.cf}:${prefix}:${strField(o.rec, 'uuid')}:${s.name}`
      columns.push({ legend, series: s.series, key: hash32(legend) })
    }
  }
  if (q.includeHost) add('host', { kind: 'host', rec: host })
  const wanted = q.vmUuids && q.vmUuids.length > 0 ? new Set(q.vmUuids) : undefined
  for (const vmRef of refs(host, 'resident_VMs')) {
    const vm = pool.objects.get('VM')?.get(vmRef)
    if (!vm || (wanted && !wanted.has(strField(vm, 'uuid')))) continue
    add('vm', { kind: 'vm', rec: vm })
  }

  const rows = rowTimes.map((t) => ({ t, values: columns.map((c) => consolidate(c.series(t, step), q.cf, step, c.key, t)) }))
  // xapi-rrd: start = the first CDP after the one holding `start`
  const metaStart = Math.floor(start / step) * step + step
  const legend = columns.map((c) => c.legend)

  if (q.json) {
    if (spelling === 'legacy') {
      const data = rows.map((r) => `{t: ${r.t},values: [${r.values.map(formatXml).join(',')}]}`).join(',')
      const body = `{meta: {start: ${metaStart},step: ${step},end: ${end},rows: ${rows.length},columns: ${columns.length},legend: [${legend.map((l) => JSON.stringify(l)).join(',')}]},data: [${data}]}`
      return { contentType: 'application/json', body }
    }
    const meta: Record<string, unknown> = { start: metaStart, step, end, rows: rows.length, columns: columns.length, legend }
    const data = rows.map((r) => ({ t: r.t, values: r.values.map(formatFToS) }))
    const body = spelling === 'data-in-meta' ? JSON.stringify({ meta: { ...meta, data } }) : JSON.stringify({ meta, data })
    return { contentType: 'application/json', body }
  }
  const fmt = spelling === 'legacy' ? formatXml : formatFToS
  const parts: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n<xport><meta>']
  parts.push(`<start>${metaStart}</start><step>${step}</step><end>${end}</end><rows>${rows.length}</rows><columns>${columns.length}</columns><legend>`)
  for (const l of legend) parts.push(`<entry>${l}</entry>`)
  parts.push('</legend></meta><data>')
  for (const r of rows) {
    parts.push(`<row><t>${r.t}</t>`)
    for (const v of r.values) parts.push(`<v>${fmt(v)}</v>`)
    parts.push('</row>')
  }
  parts.push('</data></xport>')
  return { contentType: 'text/xml', body: parts.join('') }
}

/**
 * A whole RRD as /host_rrd and /vm_rrd send it (rrdtool dump: every archive in AVERAGE, MIN and
 * MAX, rows oldest first). `until`: a halted VM's archived RRD ends when it stopped.
 */
export function rrdDump(pool: SimPoolSpec, o: RrdObject, now: number, json: boolean, spelling: RrdJsonSpelling = jsonSpellingOf(pool.xapiRelease), until = now): string {
  const sources = recordedSources(pool, o)
  const last = Math.floor(until / 5) * 5
  const fmt = spelling === 'legacy' ? formatXml : formatFToS
  const keys = sources.map((s) => hash32(`${strField(o.rec, 'uuid')}:${s.name}`))
  const rras: { cf: 'AVERAGE' | 'MIN' | 'MAX'; pdp: number; rows: string[][] }[] = []
  for (const [step, rowCount] of ARCHIVES) {
    for (const cf of ['AVERAGE', 'MIN', 'MAX'] as const) {
      const end = Math.floor(last / step) * step
      const rows: string[][] = []
      for (let i = rowCount - 1; i >= 0; i--) {
        const t = end - i * step
        rows.push(sources.map((s, c) => fmt(consolidate(s.series(t, step), cf, step, keys[c] ?? 0, t))))
      }
      rras.push({ cf, pdp: step / 5, rows })
    }
  }
  if (json) {
    return JSON.stringify({
      version: '0003',
      step: '5',
      lastupdate: fmt(last),
      ds: sources.map((s) => ({ name: s.name, type: 'GAUGE', minimal_heartbeat: '300.0', min: fmt(s.min), max: fmt(s.max), last_ds: '0.0', value: '0.0', unknown_sec: '0.0', last_updated: fmt(last) })),
      rra: rras.map((r) => ({ cf: r.cf, pdp_per_row: String(r.pdp), params: { xff: '0.5' }, cdp_prep: { ds: sources.map(() => ({ primary_value: '0.0', secondary_value: '0.0', value: '0.0', unknown_datapoints: '0' })) }, database: r.rows })),
    })
  }
  const p: string[] = [`<?xml version="1.0" encoding="UTF-8"?>\n<rrd><version>0003</version><step>5</step><lastupdate>${last}</lastupdate>`]
  for (const s of sources) {
    p.push(`<ds><name>${s.name}</name><type>GAUGE</type><minimal_heartbeat>300.0000</minimal_heartbeat><min>${fmt(s.min)}</min><max>${fmt(s.max)}</max><last_ds>0.0</last_ds><value>0.0</value><unknown_sec>0</unknown_sec></ds>`)
  }
  for (const r of rras) {
    p.push(`<rra><cf>${r.cf}</cf><pdp_per_row>${r.pdp}</pdp_per_row><params><xff>0.5000</xff></params><cdp_prep>`)
    for (let i = 0; i < sources.length; i++) p.push('<ds><primary_value>0.0</primary_value><secondary_value>0.0</secondary_value><value>0.0</value><unknown_datapoints>0</unknown_datapoints></ds>')
    p.push('</cdp_prep><database>')
    for (const row of r.rows) p.push(`<row>${row.map((v) => `<v>${v}</v>`).join('')}</row>`)
    p.push('</database></rra>')
  }
  p.push('</rrd>')
  return p.join('')
}
