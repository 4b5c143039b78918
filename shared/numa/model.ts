/**
 * Builds the per-host NUMA model (docs/numa.md §6a) from normalised XAPI records plus, when present,
 * the dom0 plugin's answer. Pure: no I/O. Never throws on odd records; anything it cannot know is
 * returned as `unknown` with the reason, anything it assumes as `derived` with the assumption.
 */
import { parseCpuList } from './cpulist'
import { effectiveHardMasks, parseHostGuestMask, parseStoredMask } from './mask'
import type { HostNuma, NumaNode, NumaPolicy, NumaSource, PCpu, Placement, PluginStatus, Sourced, VcpuLive, VmNuma } from './schema'
import { parsePluginTopology, type PluginTopology } from './xl'

export type LooseRecord = Record<string, unknown>

export interface VmInput {
  ref: string
  vm: LooseRecord
  /** the VM's VM_metrics record, when known */
  metrics?: LooseRecord
}

export type PluginInput =
  | { kind: 'answer'; data: unknown }
  | { kind: 'absent' }
  | { kind: 'error'; message: string }
  /** this host's XAPI does not offer the call (MESSAGE_METHOD_UNKNOWN): a legacy host, said in a sentence */
  | { kind: 'unsupported'; message: string }

export interface HostNumaInput {
  hostRef: string
  host: LooseRecord
  hostMetrics?: LooseRecord
  /** VMs resident on the host (running, paused), including the control domain */
  vms: VmInput[]
  plugin?: PluginInput
  /** RRD cpuN busy fraction by pCPU id, when the stats are available */
  pcpuLoad?: Record<number, number>
  /** why pcpuLoad is absent (shown to the user) */
  pcpuLoadNote?: string
  collectedAt?: string
}

export const PLUGIN_INSTALL_HINT =
  'Install the XenPilot NUMA plugin on the host to see the exact CPU map, per-node memory and distances: copy xenpilot_numa and xenpilot_numa_xl.py from build/xenpilot_numa/ to /etc/xapi.d/plugins/ on every host and make xenpilot_numa executable (chmod 755). No toolstack restart is needed.'

const MiB = 1024 * 1024
/** xenctrlext DomainNuma.state counts a node only above 4096 pages */
const NODE_PAGES_THRESHOLD = 4096 * 4096

// ---- tolerant field readers: records come from the wire and old hosts lack fields -------------
function num(r: LooseRecord | undefined, k: string): number | undefined {
  const v = r?.[k]
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}
function str(r: LooseRecord | undefined, k: string): string | undefined {
  const v = r?.[k]
  return typeof v === 'string' ? v : undefined
}
function bool(r: LooseRecord | undefined, k: string): boolean | undefined {
  const v = r?.[k]
  return typeof v === 'boolean' ? v : undefined
}
function strMap(r: LooseRecord | undefined, k: string): Record<string, string> {
  const v = r?.[k]
  const out: Record<string, string> = {}
  if (v && typeof v === 'object' && !Array.isArray(v)) for (const [mk, mv] of Object.entries(v)) if (typeof mv === 'string') out[mk] = mv
  return out
}
function numMap(r: LooseRecord | undefined, k: string): Record<string, number> | undefined {
  const v = r?.[k]
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined
  const out: Record<string, number> = {}
  for (const [mk, mv] of Object.entries(v)) {
    const n = typeof mv === 'number' ? mv : typeof mv === 'string' && /^\d+$/.test(mv) ? Number(mv) : NaN
    if (Number.isFinite(n)) out[mk] = n
  }
  return out
}
function intString(s: string | undefined): number | undefined {
  return s !== undefined && /^-?\d+$/.test(s.trim()) ? Number(s.trim()) : undefined
}

const known = <T>(value: T, source: Exclude<NumaSource, 'unknown'>, note?: string): Sourced<T> => (note ? { value, source, note } : { value, source })
const unknown = <T>(note: string): Sourced<T> => ({ value: null, source: 'unknown', note })

/** '25.33.0' → [25,33,0]; null when not a dotted version */
export function parseVersion(v: string | null | undefined): number[] | null {
  if (!v) return null
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(v)
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null
}
export function versionAtLeast(v: string | null | undefined, min: string): boolean | null {
  const a = parseVersion(v)
  const b = parseVersion(min)
  if (!a || !b) return null
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0)
  return true
}

export function buildHostNuma(input: HostNumaInput): HostNuma {
  const notes: string[] = []
  const host = input.host
  const cpuInfo = strMap(host, 'cpu_info')
  const sw = strMap(host, 'software_version')
  const xapiVersion = sw['xapi_build'] ?? sw['xapi'] ?? null

  // ---- plugin ---------------------------------------------------------------------------------
  let topo: PluginTopology | null = null
  let plugin: PluginStatus = { status: 'not-queried' }
  if (input.plugin?.kind === 'answer') {
    const r = parsePluginTopology(input.plugin.data)
    if (r.ok) {
      topo = r.value
      plugin = { status: 'present', version: r.value.version }
      if (topo.cpus.length === 0) {
        notes.push('The NUMA plugin reported no CPU topology rows; using values derived from XAPI.')
        topo = null
      }
    } else {
      plugin = { status: 'error', message: r.error }
      notes.push(`${r.error}. Falling back to values derived from XAPI.`)
    }
  } else if (input.plugin?.kind === 'absent') plugin = { status: 'absent', install: PLUGIN_INSTALL_HINT }
  else if (input.plugin?.kind === 'unsupported') {
    plugin = { status: 'unsupported', message: input.plugin.message }
    notes.push(`${input.plugin.message} The layout below is derived from what XAPI reports.`)
  } else if (input.plugin?.kind === 'error') {
    plugin = { status: 'error', message: input.plugin.message }
    notes.push(`The NUMA plugin failed: ${input.plugin.message}. Falling back to values derived from XAPI.`)
  }

  // ---- counts ---------------------------------------------------------------------------------
  const xCpuCount = intString(cpuInfo['cpu_count'])
  const xSockets = intString(cpuInfo['socket_count'])
  const xTpc = intString(cpuInfo['threads_per_core'])
  const xNodes = intString(cpuInfo['nr_nodes'])

  const cpuCount: Sourced<number> =
    xCpuCount !== undefined && xCpuCount > 0
      ? known(xCpuCount, 'xapi')
      : topo?.host.nr_cpus !== undefined
        ? known(topo.host.nr_cpus, 'plugin')
        : unknown('host.cpu_info has no cpu_count')
  const pluginSockets = topo ? new Set(topo.cpus.map((c) => c.socket)).size : undefined
  const sockets: Sourced<number> =
    xSockets !== undefined && xSockets > 0
      ? known(xSockets, 'xapi')
      : pluginSockets
        ? known(pluginSockets, 'plugin')
        : unknown('host.cpu_info has no socket_count')
  const threadsPerCore: Sourced<number> =
    xTpc !== undefined && xTpc > 0
      ? known(xTpc, 'xapi')
      : topo?.host.threads_per_core !== undefined
        ? known(topo.host.threads_per_core, 'plugin')
        : unknown('XAPI reports threads_per_core only from version 24.12; install the NUMA plugin to read it from Xen')
  const coresPerSocket: Sourced<number> =
    topo?.host.cores_per_socket !== undefined
      ? known(topo.host.cores_per_socket, 'plugin')
      : cpuCount.value !== null && sockets.value !== null && threadsPerCore.value !== null
        ? known(Math.floor(cpuCount.value / (sockets.value * threadsPerCore.value)), 'derived', 'cpu_count ÷ (socket_count × threads_per_core): XAPI has no cores_per_socket')
        : unknown('needs threads_per_core, which this host does not report')
  const pluginNodes = topo ? topo.nodes.length || new Set(topo.cpus.map((c) => c.node)).size : undefined
  const nrNodes: Sourced<number> =
    xNodes !== undefined && xNodes > 0
      ? known(xNodes, 'xapi')
      : pluginNodes
        ? known(pluginNodes, 'plugin')
        : xNodes === -1
          ? unknown('XAPI reports nr_nodes = -1: Xen gave no NUMA information')
          : unknown('XAPI reports nr_nodes only from version 25.34; install the NUMA plugin to read the node layout')

  // ---- topology -------------------------------------------------------------------------------
  const pcpus: PCpu[] = []
  let topologySource: { source: NumaSource; note?: string }
  const load = (id: number): number | null => {
    const v = input.pcpuLoad?.[id]
    return typeof v === 'number' && Number.isFinite(v) ? v : null
  }
  if (topo) {
    const byCore = new Map<string, number[]>()
    for (const c of topo.cpus) {
      const key = `${c.socket}/${c.core}`
      byCore.set(key, [...(byCore.get(key) ?? []), c.cpu])
    }
    for (const c of [...topo.cpus].sort((a, b) => a.cpu - b.cpu))
      pcpus.push({ id: c.cpu, socket: c.socket, core: c.core, node: c.node, siblings: (byCore.get(`${c.socket}/${c.core}`) ?? []).filter((x) => x !== c.cpu), load: load(c.cpu) })
    topologySource = { source: 'plugin', note: 'xl info -n cpu_topology' }
  } else if (cpuCount.value !== null) {
    const n = cpuCount.value
    const assumptions: string[] = []
    let nodeCount = nrNodes.value
    if (nodeCount === null) {
      nodeCount = sockets.value ?? 1
      assumptions.push(sockets.value !== null ? `one NUMA node per socket (${nodeCount}), since this host does not report its node count` : 'a single NUMA node, since this host reports neither nodes nor sockets')
    }
    const socketCount = sockets.value ?? nodeCount
    assumptions.push(`pCPUs numbered in contiguous blocks: ${Math.ceil(n / nodeCount)} per node, ${Math.ceil(n / socketCount)} per socket`)
    const tpc = threadsPerCore.value
    if (tpc !== null && tpc > 1) assumptions.push(`sibling threads numbered adjacently (${tpc} per core); some platforms number them half-apart`)
    const perNode = Math.ceil(n / nodeCount)
    const perSocket = Math.ceil(n / socketCount)
    for (let i = 0; i < n; i++) {
      const socket = Math.min(Math.floor(i / perSocket), socketCount - 1)
      const inSocket = i - socket * perSocket
      const core = tpc !== null ? Math.floor(inSocket / tpc) : null
      const siblings: number[] = []
      if (tpc !== null && core !== null) for (let t = 0; t < tpc; t++) {
        const s = socket * perSocket + core * tpc + t
        if (s !== i && s < n) siblings.push(s)
      }
      pcpus.push({ id: i, socket, core, node: Math.min(Math.floor(i / perNode), nodeCount - 1), siblings, load: load(i) })
    }
    topologySource = { source: 'derived', note: `Assumes ${assumptions.join('; ')}.` }
  } else topologySource = { source: 'unknown', note: 'The host reports no CPU count.' }

  // ---- host memory ----------------------------------------------------------------------------
  const memTotal: Sourced<number> =
    num(input.hostMetrics, 'memory_total') !== undefined
      ? known(num(input.hostMetrics, 'memory_total') ?? 0, 'xapi')
      : topo?.host.total_memory !== undefined
        ? known(topo.host.total_memory * MiB, 'plugin')
        : unknown('no host_metrics record')
  const memFree: Sourced<number> =
    topo?.host.free_memory !== undefined
      ? known(topo.host.free_memory * MiB, 'plugin', 'xl info free_memory: free minus outstanding claims')
      : num(input.hostMetrics, 'memory_free') !== undefined
        ? known(num(input.hostMetrics, 'memory_free') ?? 0, 'xapi')
        : unknown('XAPI no longer reports host free memory in host_metrics')

  // ---- nodes ----------------------------------------------------------------------------------
  const nodeIds = [...new Set([...pcpus.map((p) => p.node), ...(topo?.nodes.map((n) => n.node) ?? [])])].sort((a, b) => a - b)
  const nodes: NumaNode[] = nodeIds.map((id) => {
    const cpus = pcpus.filter((p) => p.node === id)
    const socketsOf = [...new Set(cpus.map((p) => p.socket))]
    const coreKeys = cpus.every((p) => p.core !== null) ? new Set(cpus.map((p) => `${p.socket}/${p.core}`)).size : null
    const xn = topo?.nodes.find((n) => n.node === id)
    const count = nodeIds.length
    const memSize: Sourced<number> = xn
      ? known(xn.memsize * MiB, 'plugin', 'spanned memory: includes holes')
      : memTotal.value !== null
        ? known(Math.floor(memTotal.value / count), 'derived', `host memory divided evenly over ${count} node${count === 1 ? '' : 's'}`)
        : unknown('host memory unknown')
    const memFreeNode: Sourced<number> = xn
      ? known(xn.memfree * MiB, 'plugin')
      : memFree.value !== null
        ? known(Math.floor(memFree.value / count), 'derived', `host free memory divided evenly over ${count} node${count === 1 ? '' : 's'}`)
        : unknown('neither XAPI nor a plugin reports free memory per node')
    return {
      id,
      pcpus: cpus.map((p) => p.id),
      socket: socketsOf.length === 1 ? (socketsOf[0] ?? null) : null,
      physCores: coreKeys,
      memSize,
      memFree: memFreeNode,
      vcpusAffine: 0,
      vmMem: {},
      vmMemSource: 'xapi',
    }
  })

  const distances: Sourced<number[][]> = topo && topo.distances.length > 0
    ? known(topo.distances, 'plugin')
    : nodes.length === 1 && nrNodes.value === 1
      ? known([[10]], 'derived', 'a single node is at distance 10 from itself')
      : unknown('XAPI does not expose the node distance matrix; install the NUMA plugin')

  // ---- policy ---------------------------------------------------------------------------------
  const rawPolicy = str(host, 'numa_affinity_policy')
  const policySettable = rawPolicy === 'any' || rawPolicy === 'best_effort' || rawPolicy === 'default_policy'
  const policy: Sourced<NumaPolicy> = policySettable
    ? known(rawPolicy as NumaPolicy, 'xapi')
    : unknown('host.numa_affinity_policy exists from XAPI 24.0; this host places VMs as its xenopsd defaults.')
  let effectivePolicy: Sourced<'any' | 'best_effort'>
  if (rawPolicy === 'any' || rawPolicy === 'best_effort') effectivePolicy = known(rawPolicy, 'xapi')
  else {
    const be = versionAtLeast(xapiVersion, '25.20.0')
    effectivePolicy =
      be === true
        ? known('best_effort', 'derived', "xenopsd's default has been best_effort since xapi 25.20.0 (xenopsd.conf can override it; a client cannot see that)")
        : be === false
          ? known('any', 'derived', "xenopsd's default was 'any' before xapi 25.20.0 (xenopsd.conf can override it)")
          : unknown('xapi version unknown, so the default placement policy is unknown')
  }

  const guestMask = parseHostGuestMask(strMap(host, 'guest_VCPUs_params')['mask'])
  const maxCpu = topo ? (topo.host.max_cpu_id ?? Math.max(...topo.cpus.map((c) => c.cpu))) + 1 : (cpuCount.value ?? 0)
  const nodeOfCpu = new Map(pcpus.map((p) => [p.id, p.node]))
  const nodesOf = (cpus: Iterable<number>): number[] => [...new Set([...cpus].map((c) => nodeOfCpu.get(c)).filter((n): n is number => n !== undefined))].sort((a, b) => a - b)
  const allCpuCount = pcpus.length

  // ---- VMs ------------------------------------------------------------------------------------
  const liveByDomid = new Map<number, VcpuLive[]>()
  if (topo)
    for (const v of topo.vcpus) {
      let hard: number[] | 'all' = 'all'
      let soft: number[] | 'all' = 'all'
      const list = (text: string): number[] | 'all' => {
        if (text === 'all') return 'all'
        const cpus = parseCpuList(text, maxCpu)
        return cpus.length >= maxCpu ? 'all' : cpus
      }
      try {
        hard = list(v.hard)
        soft = list(v.soft)
      } catch (e) {
        notes.push(`Ignored vCPU ${v.vcpu} of domain ${v.domid}: ${e instanceof Error ? e.message : String(e)}`)
        continue
      }
      liveByDomid.set(v.domid, [...(liveByDomid.get(v.domid) ?? []), { vcpu: v.vcpu, pcpu: v.cpu, state: v.state, hard, soft }])
    }

  const vms: VmNuma[] = []
  for (const { ref, vm, metrics } of input.vms) {
    const vcpusMax = num(vm, 'VCPUs_max') ?? 0
    const vcpusAtStartup = num(vm, 'VCPUs_at_startup') ?? vcpusMax
    const params = strMap(vm, 'VCPUs_params')
    const stored = parseStoredMask(params['mask'])
    // VCPUs_params and the host guest mask apply to guests; dom0's vCPUs are set up by Xen itself
    const perVcpu = vmIsControlDomain(vm) ? [] : effectiveHardMasks(stored.groups, guestMask, vcpusMax)
    const domid = num(vm, 'domid')
    const powerState = str(vm, 'power_state') ?? 'Unknown'
    const live = domid !== undefined && domid >= 0 && powerState !== 'Halted' ? (liveByDomid.get(domid) ?? null) : null
    const memStaticMax = num(vm, 'memory_static_max') ?? 0
    const memActual = num(metrics, 'memory_actual') ?? null
    const vmMemBytes = memActual ?? memStaticMax

    // NUMA state (xapi ≥ 26.2, patched Xen)
    const rawNodes = num(metrics, 'numa_nodes')
    let numaNodes: Sourced<number>
    if (!metrics) numaNodes = unknown('no VM_metrics record')
    else if (rawNodes === undefined) numaNodes = unknown('VM_metrics.numa_nodes exists from XAPI 26.2')
    else if (rawNodes === -1) numaNodes = unknown("Xen on this host cannot report a domain's pages per node (-1)")
    else if (rawNodes === 0) numaNodes = unknown('not sampled yet (0)')
    else numaNodes = known(rawNodes, 'xapi')
    const rawNodeMem = numMap(metrics, 'numa_node_memory')
    const nodeMem: Sourced<Record<string, number>> =
      numaNodes.value !== null && rawNodeMem && Object.keys(rawNodeMem).length > 0 ? known(rawNodeMem, 'xapi') : unknown(numaNodes.note ?? 'no per-node memory reported')
    const rawOpt = bool(metrics, 'numa_optimised')
    const numaOptimised: Sourced<boolean> = numaNodes.value !== null && rawOpt !== undefined ? known(rawOpt, 'xapi') : unknown(numaNodes.note ?? 'not reported')

    // placement
    let placement: Placement = 'unknown'
    let placementSource: NumaSource = 'unknown'
    let placementNote = 'Neither XAPI nor the NUMA plugin tells where this VM runs.'
    let homeNodes: number[] = []
    const memNodes = nodeMem.value
      ? Object.entries(nodeMem.value)
          .filter(([, b]) => b > NODE_PAGES_THRESHOLD)
          .map(([k]) => Number(k))
          .sort((a, b) => a - b)
      : []
    const isAll = (c: number[] | 'all'): boolean => c === 'all' || c.length >= allCpuCount
    const liveHardAll = live !== null && live.some((l) => isAll(l.hard))
    const liveSoftAll = live !== null && live.some((l) => isAll(l.soft))
    const liveHard = live && !liveHardAll ? [...new Set(live.flatMap((l) => (l.hard === 'all' ? [] : l.hard)))] : []
    const liveSoft = live && !liveSoftAll ? [...new Set(live.flatMap((l) => (l.soft === 'all' ? [] : l.soft)))] : []
    if (perVcpu.length > 0) {
      placement = 'hard-pinned'
      placementSource = 'xapi'
      homeNodes = nodesOf(perVcpu.flat())
      placementNote = stored.groups.length > 0
        ? `Hard mask ${params['mask'] ?? ''}${guestMask ? ' ∩ host guest mask' : ''}: xenopsd skips NUMA placement for this VM.`
        : 'The host guest_VCPUs_params mask pins every VM: xenopsd skips NUMA placement.'
    } else if (numaNodes.value !== null && numaNodes.value >= 1 && memNodes.length > 0) {
      placementSource = 'xapi'
      if (memNodes.length === 1) {
        placement = 'single-node'
        homeNodes = memNodes
        placementNote = `VM_metrics: memory on node ${memNodes[0]}.`
      } else {
        homeNodes = live && !liveSoftAll ? nodesOf(liveSoft) : []
        placement = memNodes.length >= nodes.length && homeNodes.length === 0 ? 'interleaved' : 'multi-node'
        placementNote = `VM_metrics: memory on nodes ${memNodes.join(', ')}.`
      }
    } else if (live && live.length > 0) {
      placementSource = 'plugin'
      const hardNodes = nodesOf(liveHard)
      const softNodes = nodesOf(liveSoft)
      if (!liveHardAll && hardNodes.length === 1) {
        placement = 'single-node'
        homeNodes = hardNodes
        placementNote = `xl vcpu-list: vCPUs hard-pinned to node ${hardNodes[0]} (best_effort_hard).`
      } else if (!liveSoftAll && softNodes.length === 1) {
        placement = 'single-node'
        homeNodes = softNodes
        placementNote = `xl vcpu-list: soft affinity is node ${softNodes[0]}'s pCPUs (xenopsd placed it there).`
      } else if (!liveSoftAll && softNodes.length > 1) {
        placement = 'multi-node'
        homeNodes = softNodes
        placementNote = `xl vcpu-list: soft affinity spans nodes ${softNodes.join(', ')}.`
      } else {
        placement = nodes.length <= 1 ? 'single-node' : 'interleaved'
        homeNodes = nodes.length <= 1 ? nodes.map((n) => n.id) : []
        placementNote = nodes.length <= 1 ? 'The host has one NUMA node.' : 'xl vcpu-list: no soft affinity, so xenopsd did not place this VM on a node; its memory is striped across nodes.'
      }
    } else if (nodes.length === 1 && nrNodes.value === 1) {
      placement = 'single-node'
      placementSource = 'derived'
      homeNodes = [nodes[0]?.id ?? 0]
      placementNote = 'The host has one NUMA node, so everything is local.'
    }

    // local memory share
    let localFraction: Sourced<number> = unknown('needs per-node memory (VM_metrics.numa_node_memory) and a home node')
    if (nodeMem.value && homeNodes.length > 0) {
      const total = Object.values(nodeMem.value).reduce((a, b) => a + b, 0)
      const local = homeNodes.reduce((a, n) => a + (nodeMem.value?.[String(n)] ?? 0), 0)
      if (total > 0) localFraction = known(local / total, 'derived', 'numa_node_memory on the home node(s) ÷ all of it')
    } else if (placement === 'single-node' && placementSource === 'plugin')
      localFraction = known(1, 'derived', "assumes xenopsd's single-node memory claim succeeded")
    else if (placement === 'single-node' && nodes.length === 1) localFraction = known(1, 'derived', 'one node: all memory is local')
    else if (placement === 'interleaved' && nodes.length > 1)
      localFraction = unknown(`no home node: memory is striped (about 1/${nodes.length} local to wherever a vCPU runs)`)

    // memory per node for the bars
    const addMem = (nodeId: number, bytes: number, source: NumaSource): void => {
      const node = nodes.find((n) => n.id === nodeId)
      if (!node) return
      node.vmMem[ref] = (node.vmMem[ref] ?? 0) + bytes
      if (source !== 'xapi') {
        node.vmMemSource = 'derived'
        node.vmMemNote = 'Some VM shares are derived from their placement (memory assumed on the home node, or striped evenly when interleaved).'
      }
    }
    if (nodeMem.value) for (const [k, b] of Object.entries(nodeMem.value)) addMem(Number(k), b, 'xapi')
    else if (placement === 'single-node' || placement === 'hard-pinned' || placement === 'multi-node') {
      const targets = homeNodes.length > 0 ? homeNodes : []
      for (const n of targets) addMem(n, Math.floor(vmMemBytes / targets.length), 'derived')
    } else if (placement === 'interleaved') for (const n of nodes) addMem(n.id, Math.floor(vmMemBytes / nodes.length), 'derived')

    // vCPUs affine to a node
    let vcpusOnNode = 0
    for (let v = 0; v < Math.max(vcpusAtStartup, 0); v++) {
      const entry = live?.find((l) => l.vcpu === v)
      const hard = perVcpu[v] ?? (entry && entry.hard !== 'all' ? entry.hard : [])
      const soft = entry && entry.soft !== 'all' ? entry.soft : []
      let target: number | undefined
      const hn = hard.length > 0 && hard.length < allCpuCount ? nodesOf(hard) : []
      const sn = soft.length > 0 && soft.length < allCpuCount ? nodesOf(soft) : []
      if (hn.length === 1) target = hn[0]
      else if (sn.length === 1) target = sn[0]
      else if (!live && placement === 'single-node' && homeNodes.length === 1) target = homeNodes[0]
      const node = nodes.find((n) => n.id === target)
      if (node) {
        node.vcpusAffine++
        vcpusOnNode++
      }
    }

    vms.push({
      vmRef: ref,
      uuid: str(vm, 'uuid') ?? '',
      name: str(vm, 'name_label') ?? ref,
      powerState,
      isControlDomain: vmIsControlDomain(vm),
      domid: domid ?? null,
      vcpusMax,
      vcpusAtStartup,
      coresPerSocket: intString(strMap(vm, 'platform')['cores-per-socket']) ?? null,
      memStaticMax,
      memOverhead: num(vm, 'memory_overhead') ?? 0,
      memActual,
      mask: { raw: params['mask'] ?? null, perVcpu, ...(stored.ignoredReason ? { ignoredReason: stored.ignoredReason } : {}), fromHostMask: guestMask !== null },
      weight: intString(params['weight']) ?? 256,
      cap: intString(params['cap']) ?? 0,
      vcpuLive: live,
      numaOptimised,
      numaNodes,
      nodeMem,
      homeNodes,
      vcpusOnNode,
      placement,
      placementSource,
      placementNote,
      localFraction,
    })
  }
  const unplaced = vms.filter((v) => v.placement === 'unknown' && !v.isControlDomain)
  if (unplaced.length > 0 && nodes.length > 1)
    notes.push(`${unplaced.length} VM${unplaced.length === 1 ? '' : 's'} with unknown placement are not drawn in the per-node memory bars.`)

  return {
    hostRef: input.hostRef,
    hostName: str(host, 'name_label') ?? input.hostRef,
    xapiVersion,
    xenVersion: topo?.host.xen_version ?? sw['xen'] ?? null,
    collectedAt: input.collectedAt ?? new Date().toISOString(),
    cpuCount,
    sockets,
    threadsPerCore,
    coresPerSocket,
    nrNodes,
    policy,
    effectivePolicy,
    policySettable,
    guestMask,
    memTotal,
    memFree,
    topology: topologySource,
    pcpus,
    pcpuLoad:
      input.pcpuLoad && Object.keys(input.pcpuLoad).length > 0
        ? { source: 'xapi', note: input.pcpuLoadNote ?? 'RRD cpuN, average of the last 5 s' }
        : { source: 'unknown', note: input.pcpuLoadNote ?? 'per-pCPU load (RRD cpuN) was not read' },
    nodes,
    distances,
    vms,
    plugin,
    notes,
  }
}

function vmIsControlDomain(vm: LooseRecord): boolean {
  return bool(vm, 'is_control_domain') === true
}
