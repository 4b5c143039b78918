/**
 * Placement advisor (docs/numa.md §6c): predicts what xenopsd's best_effort placement (§2.1) will do
 * with a VM on each host, ranks hosts libxl-style, and audits running VMs.
 *
 * What is exact and what is not: the candidate generation, ordering and validity test follow
 * xenopsd's topology.ml / softaffinity.ml. xenopsd's final tie-break counts placements it made
 * since it started (never decremented, invisible to clients), so among equally good node sets the
 * advisor picks libxl's way instead: fewest nodes, fewest vCPUs already there, most free memory.
 */
import { describeCpus } from './mask'
import type { HostNuma, NumaSource, VmNuma } from './schema'
import { versionAtLeast } from './model'

export interface PlacementRequest {
  name: string
  vmRef?: string
  /** bytes xenopsd claims: memory_static_max + memory_overhead */
  memory: number
  /** VCPUs_max */
  vcpus: number
  /** effective per-vCPU hard masks ([] = none) */
  hardMasks: number[][]
  /** the host the VM runs on now (a migration candidate list excludes nothing; the UI marks it) */
  residentOn?: string | null
}

export interface NodeResource {
  id: number
  /** bytes available: free − claimed − pending */
  memAvail: number
  threads: number
  cores: number
  /** vCPUs already affine to the node (load) */
  vcpusAffine: number
}

export type WarningCode =
  | 'never-single-node-vcpus'
  | 'never-single-node-memory'
  | 'smt-sharing'
  | 'mask-spans-nodes'
  | 'mask-disables-placement'
  | 'mask-too-few-threads'
  | 'mask-empty'
  | 'numa-disabled'
  | 'derived-data'
  | 'host-memory'
  | 'no-node-fits'

export interface AdviceWarning {
  code: WarningCode
  message: string
}

export type Prediction = 'single-node' | 'interleaved' | 'hard-pinned' | 'cannot-start'

export interface HostAdvice {
  hostRef: string
  hostName: string
  feasible: boolean
  prediction: Prediction
  /** chosen node set (single node, the interleave xenopsd falls back to, or the mask's nodes) */
  nodes: number[]
  /** the first group of equally good node sets xenopsd chooses among */
  candidates: number[][]
  policy: 'any' | 'best_effort' | 'unknown'
  /** why this prediction, in one sentence */
  reason: string
  /** (single-node ? 0 : 1, load, −headroom); lower is better; null when not feasible */
  score: [number, number, number] | null
  warnings: AdviceWarning[]
  /** worst provenance of the data the prediction used */
  dataSource: NumaSource
  isCurrentHost: boolean
}

export interface Advice {
  request: PlacementRequest
  hosts: HostAdvice[]
  /** warnings that hold on every host */
  warnings: AdviceWarning[]
}

export function requestFromVm(vm: VmNuma): PlacementRequest {
  return {
    name: vm.name,
    vmRef: vm.vmRef,
    memory: vm.memStaticMax + vm.memOverhead,
    vcpus: vm.vcpusMax,
    hardMasks: vm.mask.perVcpu,
  }
}

// ---- xenopsd's candidate generation (topology.ml) ---------------------------------------------

export interface CandidateKey {
  nodes: number[]
  max: number
  mean: number
}

/** Reachable nodes and whether NUMA placement is possible at all (xenopsd's distance checks). */
export function reachableNodes(ids: readonly number[], distances: readonly (readonly number[])[]): { nodes: number[]; disabled?: string } {
  const nodes: number[] = []
  for (const [i, id] of ids.entries()) {
    const d = distances[i]?.[i]
    if (d === undefined || d > 0xff || d < 0) continue
    nodes.push(id)
  }
  for (const [i, id] of ids.entries()) {
    if (!nodes.includes(id)) continue
    if (distances[i]?.[i] !== 10) return { nodes, disabled: `node ${id}'s distance to itself is ${distances[i]?.[i]}, not 10` }
    for (const [j, jd] of ids.entries()) {
      if (!nodes.includes(jd)) continue
      const v = distances[i]?.[j]
      if (v === undefined || v < 10) return { nodes, disabled: `distance ${id}→${jd} is ${v}, below 10` }
    }
  }
  return { nodes }
}

/**
 * Every non-empty subset (≤ 16 nodes; singletons beyond), keyed (max pairwise distance, mean
 * pairwise distance) with the diagonal included, sorted by that key.
 */
export function candidateSets(nodes: readonly number[], distance: (a: number, b: number) => number): CandidateKey[] {
  const sets: number[][] = []
  if (nodes.length <= 16) {
    for (let mask = 1; mask < 1 << nodes.length; mask++) sets.push(nodes.filter((_, i) => (mask & (1 << i)) !== 0))
  } else for (const n of nodes) sets.push([n])
  const keyed = sets.map((s) => {
    let max = 0
    let sum = 0
    for (const a of s)
      for (const b of s) {
        const d = distance(a, b)
        max = Math.max(max, d)
        sum += d
      }
    return { nodes: s, max, mean: sum / (s.length * s.length) }
  })
  // stable sort; the base order (by size, then lexicographic) keeps the result deterministic
  keyed.sort((x, y) => x.nodes.length - y.nodes.length || lex(x.nodes, y.nodes))
  keyed.sort((x, y) => x.max - y.max || x.mean - y.mean)
  return keyed
}

function lex(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0)
  return a.length - b.length
}

export interface PlanResult {
  /** first group of valid candidates (xenopsd picks one of these) */
  group: number[][]
  /** the advisor's pick within the group */
  chosen: number[] | null
  reason?: string
}

/**
 * xenopsd's Softaffinity.plan + libxl-style tie-break: the valid node sets (Σmem ≥ memory,
 * Σthreads ≥ vcpus, Σcores ≥ cores), the first group within 1e-3 of the best mean, then the pick.
 */
export function planPlacement(
  resources: readonly NodeResource[],
  distances: readonly (readonly number[])[],
  req: { memory: number; vcpus: number; cores: number },
): PlanResult {
  const ids = resources.map((r) => r.id)
  const reach = reachableNodes(ids, distances)
  if (reach.disabled) return { group: [], chosen: null, reason: `NUMA placement is disabled on this host: ${reach.disabled}` }
  const index = new Map(ids.map((id, i) => [id, i]))
  const dist = (a: number, b: number): number => distances[index.get(a) ?? -1]?.[index.get(b) ?? -1] ?? 0xff
  const byId = new Map(resources.map((r) => [r.id, r]))
  const valid = candidateSets(reach.nodes, dist).filter((c) => {
    let mem = 0
    let threads = 0
    let cores = 0
    for (const n of c.nodes) {
      const r = byId.get(n)
      mem += r?.memAvail ?? 0
      threads += r?.threads ?? 0
      cores += r?.cores ?? 0
    }
    return mem >= req.memory && threads >= req.vcpus && cores >= req.cores
  })
  const first = valid[0]
  if (!first) return { group: [], chosen: null, reason: 'no set of nodes has enough free memory and CPUs' }
  const group: number[][] = []
  for (const c of valid) {
    if (Math.abs(c.mean - first.mean) >= 1e-3) break
    group.push(c.nodes)
  }
  const sum = (s: readonly number[], f: (r: NodeResource) => number): number => s.reduce((a, n) => a + (byId.has(n) ? f(byId.get(n) as NodeResource) : 0), 0)
  const chosen = [...group].sort(
    (a, b) => a.length - b.length || sum(a, (r) => r.vcpusAffine) - sum(b, (r) => r.vcpusAffine) || sum(b, (r) => r.memAvail) - sum(a, (r) => r.memAvail) || lex(a, b),
  )[0]
  return { group, chosen: chosen ?? null }
}

// ---- per-host advice --------------------------------------------------------------------------

const GiB = 1024 ** 3
const fmtGiB = (b: number): string => `${(b / GiB).toFixed(b >= 10 * GiB ? 0 : 1)} GiB`

export function nodeResources(host: HostNuma, pending: Record<number, number> = {}): NodeResource[] {
  const tpc = host.threadsPerCore.value
  return host.nodes.map((n) => ({
    id: n.id,
    memAvail: Math.max(0, (n.memFree.value ?? 0) - (pending[n.id] ?? 0)),
    threads: n.pcpus.length,
    cores: n.physCores ?? (tpc ? Math.floor(n.pcpus.length / tpc) : n.pcpus.length),
    vcpusAffine: n.vcpusAffine,
  }))
}

function worst(sources: NumaSource[]): NumaSource {
  const order: NumaSource[] = ['xapi', 'plugin', 'derived', 'unknown']
  return sources.reduce<NumaSource>((w, s) => (order.indexOf(s) > order.indexOf(w) ? s : w), 'xapi')
}

export function adviseHost(host: HostNuma, req: PlacementRequest, opts: { pending?: Record<number, number> } = {}): HostAdvice {
  const warnings: AdviceWarning[] = []
  const base = {
    hostRef: host.hostRef,
    hostName: host.hostName,
    candidates: [] as number[][],
    isCurrentHost: req.residentOn === host.hostRef,
  }
  const effective = host.effectivePolicy.value
  const policy: HostAdvice['policy'] = effective ?? 'unknown'
  const nodeOf = new Map(host.pcpus.map((p) => [p.id, p.node]))
  const dataSources: NumaSource[] = [host.topology.source, ...host.nodes.map((n) => n.memFree.source)]

  // never-single-node checks
  const maxThreads = Math.max(0, ...host.nodes.map((n) => n.pcpus.length))
  const maxMem = Math.max(0, ...host.nodes.map((n) => n.memSize.value ?? 0))
  if (host.nodes.length > 1 && req.vcpus > maxThreads)
    warnings.push({ code: 'never-single-node-vcpus', message: `${req.vcpus} vCPUs exceed the ${maxThreads} pCPUs of the largest node: this VM can never be placed on one node.` })
  if (host.nodes.length > 1 && maxMem > 0 && req.memory > maxMem)
    warnings.push({ code: 'never-single-node-memory', message: `${fmtGiB(req.memory)} exceeds the ${fmtGiB(maxMem)} of the largest node: this VM can never be placed on one node.` })

  // host-level memory check (xapi's own pool placement)
  const hostFree = host.memFree.value
  if (hostFree !== null && hostFree < req.memory && !base.isCurrentHost)
    return {
      ...base,
      feasible: false,
      prediction: 'cannot-start',
      nodes: [],
      policy,
      reason: `Not enough free memory: needs ${fmtGiB(req.memory)}, the host has ${fmtGiB(hostFree)} free.`,
      score: null,
      warnings: [...warnings, { code: 'host-memory', message: `${host.hostName} has ${fmtGiB(hostFree)} free; the VM needs ${fmtGiB(req.memory)}.` }],
      dataSource: host.memFree.source,
    }
  if (hostFree === null) warnings.push({ code: 'derived-data', message: `Free memory of ${host.hostName} is unknown: the VM may not fit.` })

  // hard masks: xenopsd does no NUMA placement at all
  const maskCpus = [...new Set(req.hardMasks.flat())].sort((a, b) => a - b)
  if (req.hardMasks.length > 0) {
    const nodes = [...new Set(maskCpus.map((c) => nodeOf.get(c)).filter((n): n is number => n !== undefined))].sort((a, b) => a - b)
    warnings.push({ code: 'mask-disables-placement', message: 'The VM has a hard vCPU mask, so xenopsd skips NUMA placement: memory goes wherever Xen finds it.' })
    if (req.hardMasks.some((m) => m.length === 0))
      warnings.push({ code: 'mask-empty', message: 'After intersecting with the host guest mask, some vCPU has no pCPU left: the VM will fail to start or run unpinned.' })
    if (nodes.length > 1) warnings.push({ code: 'mask-spans-nodes', message: `The mask (pCPUs ${describeCpus(maskCpus)}) spans nodes ${nodes.join(', ')}: vCPUs will access remote memory.` })
    if (maskCpus.length < req.vcpus)
      warnings.push({ code: 'mask-too-few-threads', message: `The mask allows ${maskCpus.length} pCPU${maskCpus.length === 1 ? '' : 's'} for ${req.vcpus} vCPUs: they will compete for them.` })
    const load = host.nodes.filter((n) => nodes.includes(n.id)).reduce((a, n) => a + n.vcpusAffine, 0) / Math.max(1, maskCpus.length)
    return {
      ...base,
      feasible: true,
      prediction: 'hard-pinned',
      nodes,
      policy,
      reason: `Hard-pinned to pCPUs ${describeCpus(maskCpus)}${nodes.length ? ` (node${nodes.length > 1 ? 's' : ''} ${nodes.join(', ')})` : ''}.`,
      score: [nodes.length === 1 ? 0 : 1, load, 0],
      warnings,
      dataSource: worst([host.topology.source]),
    }
  }

  if (host.nodes.length <= 1 && host.nrNodes.value === 1) {
    return {
      ...base,
      feasible: true,
      prediction: 'single-node',
      nodes: host.nodes.map((n) => n.id),
      candidates: [host.nodes.map((n) => n.id)],
      policy,
      reason: 'The host has one NUMA node: all memory is local.',
      score: [0, (host.nodes[0]?.vcpusAffine ?? 0) / Math.max(1, host.nodes[0]?.pcpus.length ?? 1), -(hostFree ?? 0) / Math.max(1, req.memory)],
      warnings,
      dataSource: worst([host.topology.source]),
    }
  }
  if (policy === 'any') {
    return {
      ...base,
      feasible: true,
      prediction: 'interleaved',
      nodes: host.nodes.map((n) => n.id),
      policy,
      reason: "NUMA policy 'any': xenopsd does not place VMs, memory is striped over all nodes.",
      score: [1, 0, -(hostFree ?? 0) / Math.max(1, req.memory)],
      warnings,
      dataSource: worst([host.policy.source === 'unknown' ? 'derived' : 'xapi']),
    }
  }
  if (host.nodes.length === 0) {
    return {
      ...base,
      feasible: true,
      prediction: 'interleaved',
      nodes: [],
      policy,
      reason: 'The host NUMA layout is unknown, so no prediction beyond "it fits".',
      score: [1, 0, -(hostFree ?? 0) / Math.max(1, req.memory)],
      warnings,
      dataSource: 'unknown',
    }
  }
  if (policy === 'unknown')
    warnings.push({ code: 'derived-data', message: `The effective NUMA policy of ${host.hostName} is unknown; assuming best_effort.` })

  // cores constraint exists since xapi 25.39.0 (CA-420968)
  const countsCores = versionAtLeast(host.xapiVersion, '25.39.0') === true
  const resources = nodeResources(host, opts.pending)
  let distances = host.distances.value
  if (!distances || distances.length !== host.nodes.length) {
    distances = host.nodes.map((a) => host.nodes.map((b) => (a.id === b.id ? 10 : 20)))
    warnings.push({ code: 'derived-data', message: 'Node distances are unknown (no NUMA plugin): assumed uniform, 10 local and 20 remote.' })
  }
  if (host.nodes.some((n) => n.memFree.source === 'derived'))
    warnings.push({ code: 'derived-data', message: 'Free memory per node is derived (host free memory split evenly): install the NUMA plugin for exact figures.' })
  const plan = planPlacement(resources, distances, { memory: req.memory, vcpus: req.vcpus, cores: countsCores ? req.vcpus : 0 })
  const sumOf = (s: readonly number[], f: (r: NodeResource) => number): number => resources.filter((r) => s.includes(r.id)).reduce((a, r) => a + f(r), 0)

  if (!plan.chosen) {
    if (!plan.reason?.startsWith('NUMA placement is disabled'))
      warnings.push({ code: 'no-node-fits', message: `No node set has room for ${fmtGiB(req.memory)} and ${req.vcpus} vCPUs: xenopsd falls back to striping memory over all nodes.` })
    else warnings.push({ code: 'numa-disabled', message: plan.reason })
    const all = host.nodes.map((n) => n.id)
    return {
      ...base,
      feasible: true,
      prediction: 'interleaved',
      nodes: all,
      policy,
      reason: plan.reason ? `${plan.reason[0]?.toUpperCase()}${plan.reason.slice(1)}: memory is striped over all nodes.` : 'Interleaved.',
      score: [1, sumOf(all, (r) => r.vcpusAffine) / Math.max(1, sumOf(all, (r) => r.threads)), -sumOf(all, (r) => r.memAvail) / Math.max(1, req.memory)],
      warnings,
      dataSource: worst(dataSources),
    }
  }
  const chosen = plan.chosen
  const single = chosen.length === 1
  const physCores = sumOf(single ? chosen : host.nodes.map((n) => n.id), (r) => r.cores)
  if (req.vcpus > physCores && (single || host.nodes.length > 0))
    warnings.push({
      code: 'smt-sharing',
      message: `${req.vcpus} vCPUs on ${physCores} physical cores${single ? ` of node ${chosen[0]}` : ''}: vCPUs will share SMT siblings (40–75% slower on CPU-bound work, per XenServer CA-420968).`,
    })
  const load = sumOf(chosen, (r) => r.vcpusAffine) / Math.max(1, sumOf(chosen, (r) => r.threads))
  const headroom = sumOf(chosen, (r) => r.memAvail) / Math.max(1, req.memory)
  return {
    ...base,
    candidates: plan.group,
    feasible: true,
    prediction: single ? 'single-node' : 'interleaved',
    nodes: chosen,
    policy,
    reason: single
      ? `xenopsd will place it on node ${chosen[0]} (soft affinity to its ${sumOf(chosen, (r) => r.threads)} pCPUs, memory claimed there).`
      : `It needs nodes ${chosen.join(', ')} together; xenopsd pins only single-node plans, so memory will be striped and vCPUs unpinned.`,
    score: [single ? 0 : 1, load, -headroom],
    warnings,
    dataSource: worst(dataSources),
  }
}

function compareScore(a: HostAdvice, b: HostAdvice): number {
  if (a.feasible !== b.feasible) return a.feasible ? -1 : 1
  const sa = a.score ?? [9, 9, 0]
  const sb = b.score ?? [9, 9, 0]
  for (let i = 0; i < 3; i++) if ((sa[i] ?? 0) !== (sb[i] ?? 0)) return (sa[i] ?? 0) - (sb[i] ?? 0)
  return a.hostName.localeCompare(b.hostName)
}

/** Ranks every host for a VM: best first. */
export function advise(
  hosts: readonly HostNuma[],
  req: PlacementRequest,
  opts: { pending?: Record<string, Record<number, number>>; /** per-host request (the host guest mask changes the effective hard mask) */ perHost?: (host: HostNuma) => PlacementRequest } = {},
): Advice {
  const ranked = hosts.map((h) => adviseHost(h, opts.perHost ? opts.perHost(h) : req, { pending: opts.pending?.[h.hostRef] ?? {} })).sort(compareScore)
  const common = (code: WarningCode): boolean => ranked.length > 0 && ranked.every((h) => h.warnings.some((w) => w.code === code))
  const warnings: AdviceWarning[] = []
  for (const code of ['never-single-node-vcpus', 'never-single-node-memory', 'mask-disables-placement'] as WarningCode[])
    if (common(code)) {
      const w = ranked[0]?.warnings.find((x) => x.code === code)
      if (w) warnings.push({ code, message: code.startsWith('never') ? w.message.replace(/largest node/, 'largest node of every host') : w.message })
    }
  return { request: req, hosts: ranked, warnings }
}

/**
 * Memory that starts in flight will take, per host and node (docs/numa.md §6c `pending[n]`): xenopsd
 * places concurrent starts without seeing each other's claims, so the advisor counts them first.
 * Each start is placed where the advisor predicts, in the order given.
 */
export function pendingPlacements(hosts: readonly HostNuma[], starts: readonly (PlacementRequest & { hostRef: string })[]): Record<string, Record<number, number>> {
  const pending: Record<string, Record<number, number>> = {}
  for (const s of starts) {
    const host = hosts.find((h) => h.hostRef === s.hostRef)
    if (!host) continue
    const mine = (pending[s.hostRef] ??= {})
    const a = adviseHost(host, s, { pending: mine })
    const nodes = a.prediction === 'single-node' || a.prediction === 'hard-pinned' ? a.nodes : host.nodes.map((n) => n.id)
    for (const n of nodes) mine[n] = (mine[n] ?? 0) + s.memory / Math.max(1, nodes.length)
  }
  return pending
}

// ---- audit of running VMs ---------------------------------------------------------------------

export type AuditCode = 'spans-nodes-with-room' | 'node-imbalance' | 'mask-ignored' | 'hard-mask-spans-nodes' | 'no-placement'

export interface AuditFinding {
  code: AuditCode
  hostRef: string
  vmRef?: string
  message: string
}

export const IMBALANCE_RATIO = 1.5

export function auditHost(host: HostNuma): AuditFinding[] {
  const findings: AuditFinding[] = []
  const resources = nodeResources(host)
  // restarting a VM only re-places it where xenopsd places VMs at all
  const places = host.effectivePolicy.value === 'best_effort'
  const spreadCount = host.vms.filter((v) => !v.isControlDomain && (v.placement === 'multi-node' || v.placement === 'interleaved')).length
  if (!places && host.nodes.length > 1 && spreadCount > 0)
    findings.push({
      code: 'no-placement',
      hostRef: host.hostRef,
      message: host.policySettable
        ? `${host.hostName} does not place VMs on nodes (effective policy 'any'): ${spreadCount} VM${spreadCount === 1 ? ' is' : 's are'} spread over nodes. Set the NUMA policy to best_effort, then restart them.`
        : `${host.hostName} runs a XAPI without NUMA placement: ${spreadCount} VM${spreadCount === 1 ? ' is' : 's are'} spread over nodes. Hard masks are the only control here; XCP-ng 8.3 / XenServer 8 place VMs automatically.`,
    })
  for (const vm of host.vms) {
    if (vm.isControlDomain) continue
    if (vm.mask.ignoredReason) findings.push({ code: 'mask-ignored', hostRef: host.hostRef, vmRef: vm.vmRef, message: `${vm.name}: ${vm.mask.ignoredReason}` })
    if (vm.placement === 'hard-pinned' && vm.homeNodes.length > 1)
      findings.push({ code: 'hard-mask-spans-nodes', hostRef: host.hostRef, vmRef: vm.vmRef, message: `${vm.name} is hard-pinned across nodes ${vm.homeNodes.join(', ')}.` })
    if (places && (vm.placement === 'multi-node' || vm.placement === 'interleaved')) {
      const need = vm.memStaticMax + vm.memOverhead
      const room = resources.find((r) => r.memAvail >= need && r.threads >= vm.vcpusMax)
      if (room)
        findings.push({
          code: 'spans-nodes-with-room',
          hostRef: host.hostRef,
          vmRef: vm.vmRef,
          message: `${vm.name} spans nodes while node ${room.id} now has room for it (${fmtGiB(room.memAvail)} free, ${room.threads} pCPUs). Memory cannot move live: restart it, or migrate it to a host where it fits one node.`,
        })
    }
  }
  const ratios = resources.filter((r) => r.threads > 0).map((r) => ({ id: r.id, ratio: r.vcpusAffine / r.threads }))
  // vCPU affinity only measures node load where xenopsd places VMs (or masks pin them)
  const pinned = host.vms.some((v) => !v.isControlDomain && v.placement === 'hard-pinned')
  if (ratios.length > 1 && (places || pinned)) {
    const max = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a))
    const min = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a))
    if (max.ratio > 0 && (min.ratio === 0 ? max.ratio >= 0.25 : max.ratio / min.ratio > IMBALANCE_RATIO))
      findings.push({
        code: 'node-imbalance',
        hostRef: host.hostRef,
        message: `${host.hostName}: node ${max.id} carries ${max.ratio.toFixed(2)} vCPUs per pCPU, node ${min.id} ${min.ratio.toFixed(2)}: new VMs should go to node ${min.id} (restart or migrate pinned VMs to rebalance).`,
      })
  }
  return findings
}

export interface PoolNumaSummary {
  hosts: { hostRef: string; hostName: string; nodes: number; spanning: number; unbalanced: boolean; pluginStatus: string }[]
  spanningVms: { vmRef: string; name: string; hostRef: string; hostName: string; placement: string; nodes: number[] }[]
  findings: AuditFinding[]
}

export function poolSummary(hosts: readonly HostNuma[]): PoolNumaSummary {
  const findings = hosts.flatMap(auditHost)
  const spanningVms = hosts.flatMap((h) =>
    h.vms
      .filter((v) => !v.isControlDomain && h.nodes.length > 1 && (v.placement === 'multi-node' || v.placement === 'interleaved' || (v.placement === 'hard-pinned' && v.homeNodes.length > 1)))
      .map((v) => ({ vmRef: v.vmRef, name: v.name, hostRef: h.hostRef, hostName: h.hostName, placement: v.placement, nodes: v.homeNodes })),
  )
  return {
    hosts: hosts.map((h) => ({
      hostRef: h.hostRef,
      hostName: h.hostName,
      nodes: h.nodes.length,
      spanning: spanningVms.filter((s) => s.hostRef === h.hostRef).length,
      unbalanced: findings.some((f) => f.hostRef === h.hostRef && f.code === 'node-imbalance'),
      pluginStatus: h.plugin.status,
    })),
    spanningVms,
    findings,
  }
}

