/**
 * Parsers for `xl info -n` and `xl vcpu-list` (formats in docs/numa.md §3, printf widths from
 * tools/xl/xl_info.c and xl_vcpu.c) and the JSON the dom0 plugin returns. This is the TypeScript
 * twin of build/xenpilot_numa/xenpilot_numa_xl.py: both are held to the same fixture texts and
 * expected JSON in test/fixtures/numa/, so the simulator's answers and the real plugin's agree.
 */
import { z } from 'zod'

export const PLUGIN_NAME = 'xenpilot_numa'
export const PLUGIN_VERSION = 1

const INT_KEYS = [
  'nr_cpus',
  'max_cpu_id',
  'nr_nodes',
  'cores_per_socket',
  'threads_per_core',
  'total_memory',
  'free_memory',
  'sharing_freed_memory',
  'sharing_used_memory',
  'outstanding_claims',
  'free_cpus',
  'xen_major',
  'xen_minor',
] as const
const STRING_KEYS = ['host', 'release', 'machine', 'cpu_mhz', 'xen_version', 'xen_extra', 'xen_scheduler', 'xen_caps'] as const

export const XlHostInfo = z
  .object({
    nr_cpus: z.number().int(),
    max_cpu_id: z.number().int(),
    nr_nodes: z.number().int(),
    cores_per_socket: z.number().int(),
    threads_per_core: z.number().int(),
    total_memory: z.number().int(),
    free_memory: z.number().int(),
    sharing_freed_memory: z.number().int(),
    sharing_used_memory: z.number().int(),
    outstanding_claims: z.number().int(),
    free_cpus: z.number().int(),
    xen_major: z.number().int(),
    xen_minor: z.number().int(),
    host: z.string(),
    release: z.string(),
    machine: z.string(),
    cpu_mhz: z.string(),
    xen_version: z.string(),
    xen_extra: z.string(),
    xen_scheduler: z.string(),
    xen_caps: z.string(),
  })
  .partial()
export type XlHostInfo = z.infer<typeof XlHostInfo>

export const XlCpu = z.object({ cpu: z.number().int().min(0), core: z.number().int(), socket: z.number().int(), node: z.number().int() })
export type XlCpu = z.infer<typeof XlCpu>
export const XlNode = z.object({
  node: z.number().int().min(0),
  /** MiB, node_spanned_pages (includes holes) */
  memsize: z.number().int().min(0),
  /** MiB, avail_node_heap_pages */
  memfree: z.number().int().min(0),
  distances: z.array(z.number().int()),
})
export type XlNode = z.infer<typeof XlNode>
export const XlVcpu = z.object({
  name: z.string(),
  domid: z.number().int().min(0),
  vcpu: z.number().int().min(0),
  /** null when the vCPU is offline */
  cpu: z.number().int().nullable(),
  online: z.boolean(),
  running: z.boolean(),
  blocked: z.boolean(),
  state: z.string(),
  time: z.number(),
  /** xl CPU lists as printed: "all", "none", "0-15,32" */
  hard: z.string(),
  soft: z.string(),
})
export type XlVcpu = z.infer<typeof XlVcpu>

export interface XlInfo {
  host: XlHostInfo
  cpus: XlCpu[]
  nodes: XlNode[]
}

/** The plugin's `topology` answer. */
export const PluginTopology = z.object({
  version: z.number().int(),
  host: XlHostInfo,
  cpus: z.array(XlCpu),
  nodes: z.array(XlNode),
  distances: z.array(z.array(z.number().int())),
  vcpus: z.array(XlVcpu),
})
export type PluginTopology = z.infer<typeof PluginTopology>

const KEY_VALUE = /^([a-z_][a-z0-9_]*)\s*:\s?(.*)$/
const CPU_ROW = /^\s*(\d+):\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s*$/
const NODE_ROW = /^\s*(\d+):\s+(\d+)\s+(\d+)\s+(\d+(?:,\d+)*)\s*$/

/** Parses `xl info -n`. Throws with the offending line when a table row is malformed. */
export function parseXlInfo(text: string): XlInfo {
  const host: Record<string, string | number> = {}
  const cpus: XlCpu[] = []
  const nodes: XlNode[] = []
  let section: 'kv' | 'cpu' | 'device' | 'numa' = 'kv'
  for (const [i, rawLine] of text.split(/\r?\n/).entries()) {
    const line = rawLine.replace(/\s+$/, '')
    if (line === '') continue
    if (/^cpu_topology\s*:$/.test(line)) {
      section = 'cpu'
      continue
    }
    if (/^device topology\s*:$/.test(line)) {
      section = 'device'
      continue
    }
    if (/^numa_info\s*:$/.test(line)) {
      section = 'numa'
      continue
    }
    if (section === 'cpu') {
      if (/^cpu:\s+core\s+socket\s+node$/.test(line)) continue
      const m = CPU_ROW.exec(line)
      if (m) {
        cpus.push({ cpu: Number(m[1]), core: Number(m[2]), socket: Number(m[3]), node: Number(m[4]) })
        continue
      }
      if (/^\s*\d+:/.test(line)) throw new Error(`xl info -n: malformed cpu_topology row ${i + 1}: "${line}"`)
      section = 'kv'
    } else if (section === 'device') {
      if (/^device\s+node$/.test(line) || /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\s+\d+$/.test(line) || line === 'No device topology data available') continue
      section = 'kv'
    } else if (section === 'numa') {
      if (/^node:\s+memsize\s+memfree\s+distances$/.test(line)) continue
      const m = NODE_ROW.exec(line)
      if (m) {
        nodes.push({ node: Number(m[1]), memsize: Number(m[2]), memfree: Number(m[3]), distances: (m[4] ?? '').split(',').map(Number) })
        continue
      }
      if (/^\s*\d+:/.test(line)) throw new Error(`xl info -n: malformed numa_info row ${i + 1}: "${line}"`)
      section = 'kv'
    }
    const kv = KEY_VALUE.exec(line)
    if (!kv || kv[1] === undefined) continue
    const key = kv[1]
    const value = (kv[2] ?? '').trim()
    if ((INT_KEYS as readonly string[]).includes(key)) {
      if (!/^-?\d+$/.test(value)) throw new Error(`xl info -n: ${key} is not an integer: "${value}"`)
      host[key] = Number(value)
    } else if ((STRING_KEYS as readonly string[]).includes(key)) host[key] = value
  }
  return { host: XlHostInfo.parse(host), cpus, nodes }
}

const VCPU_HEADER = /^Name\s+ID\s+VCPU\s+CPU\s+State\s+Time\(s\)\s+Affinity \(Hard \/ Soft\)$/
const VCPU_ROW = /^(.*?)\s+(\d+)\s+(\d+)\s+(\d+|-)\s+([r-][b-][p-])\s+(\d+\.\d)\s+(\S+) \/ (\S+)$/

/** Parses `xl vcpu-list`. Names may contain spaces: columns are anchored from the right. */
export function parseXlVcpuList(text: string): XlVcpu[] {
  const out: XlVcpu[] = []
  for (const [i, rawLine] of text.split(/\r?\n/).entries()) {
    const line = rawLine.replace(/\s+$/, '')
    if (line === '' || VCPU_HEADER.test(line)) continue
    const m = VCPU_ROW.exec(line)
    if (!m) throw new Error(`xl vcpu-list: malformed row ${i + 1}: "${line}"`)
    const state = m[5] ?? '---'
    const online = state[2] !== 'p'
    out.push({
      name: m[1] ?? '',
      domid: Number(m[2]),
      vcpu: Number(m[3]),
      cpu: m[4] === '-' ? null : Number(m[4]),
      online,
      running: state[0] === 'r',
      blocked: state[1] === 'b',
      state,
      time: Number(m[6]),
      hard: m[7] ?? 'all',
      soft: m[8] ?? 'all',
    })
  }
  return out
}

/** Distance matrix of the nodes xl printed, in node order (offline nodes are absent). */
export function distanceMatrix(nodes: readonly XlNode[]): number[][] {
  const ids = nodes.map((n) => n.node)
  return nodes.map((n) => ids.map((j) => n.distances[j] ?? -1))
}

/** What the plugin's `topology` function returns, from the two command outputs. */
export function buildPluginTopology(infoText: string, vcpuListText: string): PluginTopology {
  const info = parseXlInfo(infoText)
  return {
    version: PLUGIN_VERSION,
    host: info.host,
    cpus: info.cpus,
    nodes: info.nodes,
    distances: distanceMatrix(info.nodes),
    vcpus: parseXlVcpuList(vcpuListText),
  }
}

/** Validates a plugin answer (a JSON string from host.call_plugin) with a message naming what is wrong. */
export function parsePluginTopology(json: unknown): { ok: true; value: PluginTopology } | { ok: false; error: string } {
  let data: unknown = json
  if (typeof json === 'string') {
    try {
      data = JSON.parse(json)
    } catch (e) {
      return { ok: false, error: `the ${PLUGIN_NAME} plugin returned text that is not JSON (${e instanceof Error ? e.message : String(e)}): "${json.slice(0, 80)}"` }
    }
  }
  const r = PluginTopology.safeParse(data)
  if (!r.success) {
    const first = r.error.issues[0]
    const where = first ? first.path.join('.') || '(root)' : '(root)'
    return { ok: false, error: `the ${PLUGIN_NAME} plugin returned JSON of an unexpected shape: ${where}: ${first?.message ?? 'invalid'}` }
  }
  return { ok: true, value: r.data }
}
