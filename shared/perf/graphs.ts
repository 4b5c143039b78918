/**
 * Performance graphs as XenCenter defines them (issue 16): the default graphs of a host and a VM
 * built from the data sources an object has, units people read (%, MiB/s, ms), and the custom
 * layouts XenCenter keeps in pool.gui_config:
 *
 *   XenCenter.GraphLayout.<i>.<host|vm>.<uuid>   data sources of graph i, comma-separated
 *   XenCenter.GraphName.<i>.<host|vm>.<uuid>     its name (absent when the name is empty)
 *   XenCenter.DataSource.<host|vm>.<uuid>.<ds>   a data source's colour (ARGB as a signed 32-bit integer)
 *
 * Checked against XenCenter's source (xenserver/xenadmin, BSD: Controls/CustomDataGraph/Palette.cs
 * GetLayoutKey / GetGraphNameKey / GetColorKey, GraphList.LoadGraphs, DesignedGraph.ToString,
 * Actions/SaveDataSourceStateAction.cs):
 *   - XenCenter reads layouts i = 0, 1, 2 … and stops at the first index that is missing;
 *   - a layout lists raw data source names. "Used memory" is the source `memory_free_kib` (host) or
 *     `memory_internal_free` (VM), which XenCenter draws as total − free; here that series is the
 *     derived `memory_used`, written back under XenCenter's name;
 *   - saving replaces the object's GraphLayout and GraphName keys and leaves DataSource colour keys
 *     (they apply to every graph of the object, default ones included).
 *
 * Two derived series exist only in the client: `memory_used` (VM: memory − memory_internal_free;
 * host: memory_total_kib − memory_free_kib), as XenCenter draws "Used Memory".
 */
export type PerfKind = 'host' | 'vm'
export type PerfUnit = 'percent' | 'bytes' | 'bytesPerSec' | 'ms' | 'perSec' | 'number'

export interface SeriesDef {
  /** a data source name, or a derived one (memory_used) */
  ds: string
  label: string
  /** CSS colour; undefined: the palette's */
  color?: string
}

export interface GraphDef {
  id: string
  title: string
  unit: PerfUnit
  series: SeriesDef[]
  /** from gui_config (XenCenter layout index), not a default */
  custom?: { index: number }
}

export const DERIVED_MEMORY_USED = 'memory_used'

/** the raw data sources a series needs */
export function sourcesFor(kind: PerfKind, ds: string): string[] {
  if (ds === DERIVED_MEMORY_USED) return kind === 'vm' ? ['memory', 'memory_internal_free'] : ['memory_total_kib', 'memory_free_kib']
  return [ds]
}

/** the unit a data source is drawn in */
export function unitOf(ds: string): PerfUnit {
  if (/^cpu\d*|^cpu_(avg|usage)$|iowait|runstate_|^hostload$/.test(ds)) return 'percent'
  if (/^memory|_kib$/.test(ds)) return 'bytes'
  if (/latency/.test(ds)) return 'ms'
  if (/iops|_errors$|requests/.test(ds)) return 'perSec'
  if (/_(rx|tx)$|_read$|_write$|^io_throughput_/.test(ds)) return 'bytesPerSec'
  return 'number'
}

/** a raw value → the unit's base (fraction → %, KiB → bytes, μs → ms, MiB/s → B/s) */
export function scaleOf(ds: string): number {
  if (unitOf(ds) === 'percent') return 100
  if (/_kib$|^memory_internal_free$/.test(ds)) return 1024
  if (/latency/.test(ds)) return 1 / 1000
  if (/^io_throughput_/.test(ds)) return 1024 * 1024
  return 1
}

/** values of one series from the raw series (derived ones computed; scaled to the unit) */
export function seriesValues(kind: PerfKind, ds: string, raw: Record<string, (number | null)[]>, n: number): (number | null)[] {
  if (ds === DERIVED_MEMORY_USED) {
    const [a, b] = sourcesFor(kind, ds)
    const total = raw[a ?? ''] ?? []
    const free = raw[b ?? ''] ?? []
    const tScale = kind === 'vm' ? 1 : 1024
    return Array.from({ length: n }, (_, i) => {
      const t = total[i]
      const f = free[i]
      return t === null || t === undefined || f === null || f === undefined ? null : Math.max(0, t * tScale - f * 1024)
    })
  }
  const s = scaleOf(ds)
  const v = raw[ds] ?? []
  return Array.from({ length: n }, (_, i) => {
    const x = v[i]
    return x === null || x === undefined ? null : x * s
  })
}

const byNumber = (re: RegExp) => (a: string, b: string) => Number(re.exec(a)?.[1] ?? 0) - Number(re.exec(b)?.[1] ?? 0) || a.localeCompare(b)

/** XenCenter's default graphs for the data sources an object has */
export function defaultGraphs(kind: PerfKind, available: readonly string[]): GraphDef[] {
  const has = new Set(available)
  const out: GraphDef[] = []
  const cpus = available.filter((d) => /^cpu\d+$/.test(d)).sort(byNumber(/^cpu(\d+)$/))
  const graph = (id: string, title: string, unit: PerfUnit, series: SeriesDef[]): void => {
    if (series.length > 0) out.push({ id, title, unit, series })
  }
  if (kind === 'host') {
    graph('cpu', 'CPU performance', 'percent', [...cpus.map((d) => ({ ds: d, label: `CPU ${d.slice(3)}` })), ...(has.has('cpu_avg') ? [{ ds: 'cpu_avg', label: 'Average CPU' }] : [])])
    if (has.has('memory_total_kib'))
      graph('memory', 'Memory performance', 'bytes', [
        { ds: 'memory_total_kib', label: 'Total memory' },
        ...(has.has('memory_free_kib') ? [{ ds: DERIVED_MEMORY_USED, label: 'Used memory' }] : []),
      ])
    const pifs = [...new Set(available.map((d) => /^pif_(.+)_(rx|tx)$/.exec(d)?.[1]).filter((d): d is string => d !== undefined && d !== 'aggr'))].sort()
    graph('network', 'Network performance', 'bytesPerSec', pifs.flatMap((p) => [
      { ds: `pif_${p}_rx`, label: `${p} receive` },
      { ds: `pif_${p}_tx`, label: `${p} send` },
    ]).filter((s) => has.has(s.ds)))
    const srs = [...new Set(available.map((d) => /^io_throughput_read_(.+)$/.exec(d)?.[1]).filter((d): d is string => d !== undefined))].sort()
    graph('disk', 'Disk performance', 'bytesPerSec', srs.flatMap((s) => [
      { ds: `io_throughput_read_${s}`, label: `SR ${s} read` },
      { ds: `io_throughput_write_${s}`, label: `SR ${s} write` },
    ]).filter((x) => has.has(x.ds)))
    graph('latency', 'Disk latency', 'ms', srs.flatMap((s) => [
      { ds: `read_latency_${s}`, label: `SR ${s} read` },
      { ds: `write_latency_${s}`, label: `SR ${s} write` },
    ]).filter((x) => has.has(x.ds)))
    graph('load', 'Load average', 'number', has.has('loadavg') ? [{ ds: 'loadavg', label: 'Control domain load' }] : [])
    return out
  }
  graph('cpu', 'CPU performance', 'percent', cpus.map((d) => ({ ds: d, label: `CPU ${d.slice(3)}` })))
  if (has.has('memory'))
    graph('memory', 'Memory performance', 'bytes', [
      { ds: 'memory', label: 'Total memory' },
      ...(has.has('memory_internal_free') ? [{ ds: DERIVED_MEMORY_USED, label: 'Used memory' }] : []),
    ])
  const vifs = [...new Set(available.map((d) => /^vif_(\d+)_(rx|tx)$/.exec(d)?.[1]).filter((d): d is string => d !== undefined))].sort((a, b) => Number(a) - Number(b))
  graph('network', 'Network performance', 'bytesPerSec', vifs.flatMap((v) => [
    { ds: `vif_${v}_rx`, label: `NIC ${v} receive` },
    { ds: `vif_${v}_tx`, label: `NIC ${v} send` },
  ]))
  const vbds = [...new Set(available.map((d) => /^vbd_([a-z0-9]+)_read$/.exec(d)?.[1]).filter((d): d is string => d !== undefined))].sort()
  graph('disk', 'Disk performance', 'bytesPerSec', vbds.flatMap((v) => [
    { ds: `vbd_${v}_read`, label: `${v} read` },
    { ds: `vbd_${v}_write`, label: `${v} write` },
  ]))
  graph('iops', 'Disk IOPS', 'perSec', vbds.flatMap((v) => [
    { ds: `vbd_${v}_iops_read`, label: `${v} reads` },
    { ds: `vbd_${v}_iops_write`, label: `${v} writes` },
  ]).filter((x) => has.has(x.ds)))
  graph('latency', 'Disk latency', 'ms', vbds.flatMap((v) => [
    { ds: `vbd_${v}_read_latency`, label: `${v} read` },
    { ds: `vbd_${v}_write_latency`, label: `${v} write` },
  ]).filter((x) => has.has(x.ds)))
  return out
}

/**
 * Whether the local history keeps a data source (main/cache/perf.ts): every source of a host (a
 * handful of hosts per pool), and of a VM what its default graphs and the fleet overview draw. A VM
 * source in a custom graph (gui_config) is kept too: the collector asks `customSources`.
 */
export function isHistorySource(kind: PerfKind, ds: string): boolean {
  if (kind === 'host') return true
  return /^(cpu\d+|cpu_usage|memory|memory_internal_free|vif_\d+_(rx|tx)|vbd_[a-z0-9]+_(read|write|iops_read|iops_write|read_latency|write_latency))$/.test(ds)
}

/** the data sources of every VM's custom graphs in a pool's gui_config, by VM uuid (raw names, as XenCenter stores them) */
export function customSources(gui: Record<string, string>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  for (const [k, v] of Object.entries(gui)) {
    const m = /^XenCenter\.GraphLayout\.\d+\.vm\.([A-Za-z0-9_-]+)$/.exec(k)
    if (!m?.[1]) continue
    let set = out.get(m[1])
    if (!set) out.set(m[1], (set = new Set()))
    for (const d of v.split(',')) set.add(d.trim())
  }
  return out
}

/** how a data source is named in a legend ("CPU 0", "NIC 1 receive", "xvda read"…) */
export function labelOf(ds: string): string {
  let m: RegExpExecArray | null
  if (ds === DERIVED_MEMORY_USED) return 'Used memory'
  if (ds === 'cpu_avg') return 'Average CPU'
  if (ds === 'memory' || ds === 'memory_total_kib') return 'Total memory'
  if ((m = /^cpu(\d+)$/.exec(ds))) return `CPU ${m[1]}`
  if ((m = /^vif_(\d+)_(rx|tx)$/.exec(ds))) return `NIC ${m[1]} ${m[2] === 'rx' ? 'receive' : 'send'}`
  if ((m = /^pif_(.+)_(rx|tx)$/.exec(ds))) return `${m[1]} ${m[2] === 'rx' ? 'receive' : 'send'}`
  if ((m = /^vbd_([a-z0-9]+)_(read|write)$/.exec(ds))) return `${m[1]} ${m[2]}`
  return ds
}

/** every raw data source a set of graphs needs */
export function neededSources(kind: PerfKind, graphs: readonly GraphDef[]): string[] {
  return [...new Set(graphs.flatMap((g) => g.series.flatMap((s) => sourcesFor(kind, s.ds))))]
}

// -------------------------------------------------------------------------------------------------
// XenCenter's gui_config keys

export const LAYOUT_PREFIX = 'XenCenter.GraphLayout'
export const NAME_PREFIX = 'XenCenter.GraphName'
export const COLOUR_PREFIX = 'XenCenter.DataSource'

export const layoutKey = (i: number, kind: PerfKind, uuid: string): string => `${LAYOUT_PREFIX}.${i}.${kind}.${uuid}`
export const nameKey = (i: number, kind: PerfKind, uuid: string): string => `${NAME_PREFIX}.${i}.${kind}.${uuid}`
export const colourKey = (kind: PerfKind, uuid: string, ds: string): string => `${COLOUR_PREFIX}.${kind}.${uuid}.${ds}`

/** ARGB signed int (XenCenter's Color.ToArgb) ↔ #rrggbb */
export function argbToCss(v: string): string | undefined {
  const n = Number(v)
  if (!Number.isInteger(n)) return undefined
  return `#${((n >>> 0) & 0xffffff).toString(16).padStart(6, '0')}`
}
export function cssToArgb(css: string): string {
  const n = parseInt(css.replace(/^#/, '').slice(0, 6), 16)
  return String((0xff000000 | n) >> 0)
}

/** the data source XenCenter stores for a series (used memory is stored as its "free" source) */
export function xenCenterSource(kind: PerfKind, ds: string): string {
  if (ds === DERIVED_MEMORY_USED) return kind === 'vm' ? 'memory_internal_free' : 'memory_free_kib'
  return ds
}

/** a data source of a XenCenter layout as drawn here (its "free" memory source is drawn as used memory) */
export function fromXenCenterSource(kind: PerfKind, ds: string): string {
  return ds === (kind === 'vm' ? 'memory_internal_free' : 'memory_free_kib') ? DERIVED_MEMORY_USED : ds
}

/** a series' colour from gui_config (XenCenter.DataSource…), or its own */
function colourOf(gui: Record<string, string>, kind: PerfKind, uuid: string, ds: string): string | undefined {
  const v = gui[colourKey(kind, uuid, xenCenterSource(kind, ds))]
  return v !== undefined ? argbToCss(v) : undefined
}

/** graphs with the colours gui_config gives their data sources (XenCenter colours default graphs too) */
export function withGuiColours(graphs: readonly GraphDef[], gui: Record<string, string>, kind: PerfKind, uuid: string): GraphDef[] {
  return graphs.map((g) => ({
    ...g,
    series: g.series.map((s) => {
      const css = colourOf(gui, kind, uuid, s.ds)
      return css ? { ...s, color: css } : s
    }),
  }))
}

/**
 * The custom graphs of an object in a pool's gui_config, read as XenCenter reads them (index 0, 1, …
 * up to the first missing one); undefined when it has none (the default graphs are shown)
 */
export function graphsFromGuiConfig(gui: Record<string, string>, kind: PerfKind, uuid: string): GraphDef[] | undefined {
  const found: GraphDef[] = []
  for (let i = 0; ; i++) {
    const v = gui[layoutKey(i, kind, uuid)]
    if (v === undefined) break
    const dss = v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => /^[A-Za-z0-9_.:-]{1,120}$/.test(s))
      .map((s) => fromXenCenterSource(kind, s))
    const name = gui[nameKey(i, kind, uuid)]
    found.push({
      id: `custom-${i}`,
      title: name !== undefined && name.trim() !== '' ? name : `Graph ${i + 1}`,
      unit: unitOf(dss.find((d) => d !== DERIVED_MEMORY_USED) ?? dss[0] ?? ''),
      series: dss.map((ds) => {
        const css = colourOf(gui, kind, uuid, ds)
        return { ds, label: labelOf(ds), ...(css ? { color: css } : {}) }
      }),
      custom: { index: i },
    })
  }
  return found.length > 0 ? found : undefined
}

/** the gui_config entries that describe `graphs` for an object (indexes 0…n−1), as XenCenter writes them */
export function guiConfigFor(graphs: readonly GraphDef[], kind: PerfKind, uuid: string): Record<string, string> {
  const out: Record<string, string> = {}
  graphs.forEach((g, i) => {
    out[layoutKey(i, kind, uuid)] = g.series.map((s) => xenCenterSource(kind, s.ds)).join(',')
    if (g.title !== '') out[nameKey(i, kind, uuid)] = g.title
    for (const s of g.series) if (s.color) out[colourKey(kind, uuid, xenCenterSource(kind, s.ds))] = cssToArgb(s.color)
  })
  return out
}

/**
 * the gui_config keys of an object's layout, removed before a new one is written or to restore the
 * defaults (XenCenter's SaveDataSourceStateAction: GraphLayout and GraphName; colours stay)
 */
export function guiConfigKeysOf(gui: Record<string, string>, kind: PerfKind, uuid: string): string[] {
  const suffix = `.${kind}.${uuid}`
  const indexed = (k: string, prefix: string): boolean => k.startsWith(`${prefix}.`) && k.endsWith(suffix) && /^\d+$/.test(k.slice(prefix.length + 1, k.length - suffix.length))
  return Object.keys(gui).filter((k) => indexed(k, LAYOUT_PREFIX) || indexed(k, NAME_PREFIX))
}

/** readable value in a unit */
export function formatValue(unit: PerfUnit, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—'
  const bin = (x: number, units: string[]): string => {
    let u = 0
    while (Math.abs(x) >= 1024 && u < units.length - 1) {
      x /= 1024
      u++
    }
    return `${x.toFixed(Math.abs(x) >= 100 || u === 0 ? 0 : 1)} ${units[u]}`
  }
  switch (unit) {
    case 'percent':
      return `${v.toFixed(v >= 10 ? 0 : 1)} %`
    case 'bytes':
      return bin(v, ['B', 'KiB', 'MiB', 'GiB', 'TiB'])
    case 'bytesPerSec':
      return bin(v, ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'])
    case 'ms':
      return `${v.toFixed(v >= 10 ? 0 : 2)} ms`
    case 'perSec':
      return `${v.toFixed(v >= 10 ? 0 : 1)} /s`
    default:
      return v.toFixed(Math.abs(v) >= 10 ? 0 : 2)
  }
}

/**
 * What the history holds on disk, never "0 B" for a history that has not been written yet: "12.3 MiB
 * of 2 GiB on disk", "… on disk, 41,234 new values not written yet", or before the first write
 * "Nothing on disk yet: 41,234 values wait in memory, written at 22:15 · limit 2 GiB".
 * `at` writes a time (the window's locale).
 */
export function storedSentence(h: { bytes: number; maxBytes: number; pendingValues: number; nextWriteAt: number | null }, at: (t: number) => string): string {
  const limit = formatValue('bytes', h.maxBytes)
  const n = h.pendingValues.toLocaleString('en-US')
  const when = h.nextWriteAt !== null ? `, written at ${at(h.nextWriteAt)}` : ''
  if (h.bytes > 0) return `${formatValue('bytes', h.bytes)} of ${limit} on disk${h.pendingValues > 0 ? `, ${n} new values not written yet` : ''}`
  if (h.pendingValues > 0) return `Nothing on disk yet: ${n} values wait in memory${when} · limit ${limit}`
  return `Nothing stored yet · limit ${limit}`
}

/**
 * How far back the stored history goes, in words: "1-minute detail since <t>, hourly since <t>,
 * daily before" — only what is stored (a tier without rows is not named; a coarser tier is named
 * only when it reaches further back than the finer ones). `at` writes a time (the window's locale).
 */
export function depthSentence(depth: { minute: number | null; hour: number | null; day: number | null }, at: (t: number) => string): string {
  const tiers: [string, number | null][] = [
    ['1-minute detail', depth.minute],
    ['hourly', depth.hour],
    ['daily', depth.day],
  ]
  const parts: { name: string; since: number }[] = []
  for (const [name, since] of tiers) {
    if (since === null) continue
    const last = parts[parts.length - 1]
    if (last && since >= last.since) continue
    parts.push({ name, since })
  }
  if (parts.length === 0) return 'No history stored yet'
  const first = parts[0] as { name: string; since: number }
  const head = `${first.name === '1-minute detail' ? first.name : `${first.name.charAt(0).toUpperCase()}${first.name.slice(1)} detail`} since ${at(first.since)}`
  const rest = parts.slice(1).map((p, i) => (i === parts.length - 2 ? `${p.name} before` : `${p.name} since ${at(p.since)}`))
  return [head, ...rest].join(', ')
}

/**
 * A host's CPU graph where there is little room (the pool tab's hosts side by side): the average and
 * the `top` busiest CPUs over the range drawn (by mean), instead of a legend with every core.
 * `hidden`: how many cores are left out (0: every series is kept as it was).
 */
export function busiestCores<S extends { ds: string; values: readonly (number | null)[] }>(series: readonly S[], top: number): { series: S[]; hidden: number; cores: number } {
  const cores = series.filter((s) => /^cpu\d+$/.test(s.ds))
  if (cores.length <= top + 1) return { series: [...series], hidden: 0, cores: cores.length }
  const mean = (s: S): number => {
    let sum = 0
    let n = 0
    for (const v of s.values)
      if (v !== null && Number.isFinite(v)) {
        sum += v
        n++
      }
    return n > 0 ? sum / n : -1
  }
  const keep = new Set(
    cores
      .map((s) => ({ s, m: mean(s) }))
      .sort((a, b) => b.m - a.m)
      .slice(0, top)
      .map((x) => x.s.ds),
  )
  return { series: series.filter((s) => !/^cpu\d+$/.test(s.ds) || keep.has(s.ds)), hidden: cores.length - keep.size, cores: cores.length }
}
