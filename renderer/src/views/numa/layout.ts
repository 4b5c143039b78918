/**
 * What the NUMA view draws, computed from the model (shared/numa) without Vue: sockets → nodes →
 * cores → threads, memory bar segments per VM, which pCPUs and segments a selected VM owns.
 */
import type { HostNuma, NumaNode, PCpu, VmNuma } from '../../../../shared/numa/schema'

export interface CoreCell {
  key: string
  /** per-socket core id, null when unknown */
  core: number | null
  threads: PCpu[]
}
export interface NodeLayout {
  node: NumaNode
  cores: CoreCell[]
  /** VMs whose home is exactly this node */
  vms: VmNuma[]
  /** vCPUs of those VMs that no affinity keeps on this node (they may run on any node): not in node.vcpusAffine */
  floatingVcpus: number
  segments: MemSegment[]
}
export interface SocketLayout {
  socket: number | null
  nodes: NodeLayout[]
}
export interface MemSegment {
  vmRef: string | null
  label: string
  bytes: number
  /** 0..1 of the node's size */
  fraction: number
  kind: 'vm' | 'small' | 'free' | 'other'
}

/** Below this share of a node a VM joins the "small VMs" segment (hundreds of slivers read as noise). */
export const SMALL_SEGMENT = 0.005
/** At most this many VMs get their own segment on a node; the rest (smallest first) are merged. */
export const MAX_VM_SEGMENTS = 20

/** Stable colour per VM: the same VM has the same hue in every host view. */
export function vmHue(ref: string): number {
  let h = 2166136261
  for (let i = 0; i < ref.length; i++) {
    h ^= ref.charCodeAt(i)
    h = Math.imul(h, 16777619)
  }
  return Math.abs(h) % 360
}

export function coresOf(node: NumaNode, pcpus: readonly PCpu[]): CoreCell[] {
  const cpus = node.pcpus.map((id) => pcpus.find((p) => p.id === id)).filter((p): p is PCpu => p !== undefined)
  if (cpus.some((p) => p.core === null)) return cpus.map((p) => ({ key: `t${p.id}`, core: null, threads: [p] }))
  const byCore = new Map<string, PCpu[]>()
  for (const p of cpus) {
    const k = `${p.socket}/${p.core}`
    byCore.set(k, [...(byCore.get(k) ?? []), p])
  }
  return [...byCore.entries()]
    .map(([key, threads]) => ({ key, core: threads[0]?.core ?? null, threads: threads.sort((a, b) => a.id - b.id) }))
    .sort((a, b) => (a.threads[0]?.id ?? 0) - (b.threads[0]?.id ?? 0))
}

export function memSegments(node: NumaNode, vms: readonly VmNuma[], keepRef: string | null = null): MemSegment[] {
  const size = node.memSize.value ?? 0
  if (size <= 0) return []
  const segs: MemSegment[] = []
  let used = 0
  let smallBytes = 0
  let smallCount = 0
  const names = new Map(vms.map((v) => [v.vmRef, v.name]))
  let shown = 0
  for (const [ref, bytes] of Object.entries(node.vmMem).sort((a, b) => b[1] - a[1])) {
    used += bytes
    if (ref !== keepRef && (bytes / size < SMALL_SEGMENT || shown >= MAX_VM_SEGMENTS)) {
      smallBytes += bytes
      smallCount++
      continue
    }
    segs.push({ vmRef: ref, label: names.get(ref) ?? ref, bytes, fraction: bytes / size, kind: 'vm' })
    shown++
  }
  if (smallCount > 0) segs.push({ vmRef: null, label: `${smallCount} more VM${smallCount === 1 ? '' : 's'}`, bytes: smallBytes, fraction: smallBytes / size, kind: 'small' })
  const free = node.memFree.value
  if (free !== null) {
    const other = Math.max(0, size - used - free)
    if (other > 0) segs.push({ vmRef: null, label: 'Xen, holes and VMs not placed', bytes: other, fraction: other / size, kind: 'other' })
    segs.push({ vmRef: null, label: 'Free', bytes: free, fraction: Math.min(1, free / size), kind: 'free' })
  }
  return segs
}

export function hostLayout(model: HostNuma, selectedRef: string | null = null): SocketLayout[] {
  const sockets = new Map<number | null, NodeLayout[]>()
  for (const node of model.nodes) {
    const vms = model.vms.filter((v) => v.homeNodes.length === 1 && v.homeNodes[0] === node.id)
    const floatingVcpus = vms.reduce((a, v) => a + Math.max(0, v.vcpusAtStartup - v.vcpusOnNode), 0)
    const entry: NodeLayout = { node, cores: coresOf(node, model.pcpus), vms, floatingVcpus, segments: memSegments(node, model.vms, selectedRef) }
    sockets.set(node.socket, [...(sockets.get(node.socket) ?? []), entry])
  }
  return [...sockets.entries()].map(([socket, nodes]) => ({ socket, nodes })).sort((a, b) => (a.socket ?? 99) - (b.socket ?? 99))
}

/** '2 vCPUs not pinned to a node' for a VM homed by its memory whose vCPUs (some or all) may run anywhere; '' when all stay */
export function floatingNote(vm: VmNuma): string {
  const free = vm.vcpusAtStartup - vm.vcpusOnNode
  if (free <= 0 || vm.homeNodes.length !== 1) return ''
  return free === vm.vcpusAtStartup ? 'vCPUs not pinned to a node' : `${free} of ${vm.vcpusAtStartup} vCPUs not pinned to a node`
}

/** VMs not homed on one node: spanning, interleaved, or unknown. */
export function unhomedVms(model: HostNuma): VmNuma[] {
  return model.vms.filter((v) => !(v.homeNodes.length === 1))
}

/** pCPUs a VM may run on (hard mask, else soft affinity) and those its vCPUs run on now. */
export function cpusOfVm(vm: VmNuma, model: HostNuma): { allowed: Set<number>; current: Set<number> } {
  const allowed = new Set<number>()
  const current = new Set<number>()
  const all = model.pcpus.length
  if (vm.mask.perVcpu.length > 0) for (const c of vm.mask.perVcpu.flat()) allowed.add(c)
  else if (vm.vcpuLive && vm.vcpuLive.some((l) => l.soft !== 'all' && l.soft.length > 0 && l.soft.length < all)) {
    for (const l of vm.vcpuLive) if (l.soft !== 'all') for (const c of l.soft) allowed.add(c)
  }
  else if (vm.homeNodes.length > 0) for (const n of vm.homeNodes) for (const c of model.nodes.find((x) => x.id === n)?.pcpus ?? []) allowed.add(c)
  for (const l of vm.vcpuLive ?? []) if (l.pcpu !== null) current.add(l.pcpu)
  return { allowed, current }
}

export const PLACEMENT_LABEL: Record<VmNuma['placement'], string> = {
  'single-node': 'Single node',
  'multi-node': 'Spans nodes',
  interleaved: 'Interleaved',
  'hard-pinned': 'Hard-pinned',
  unknown: 'Unknown',
}

export const SOURCE_LABEL: Record<string, string> = { xapi: 'XAPI', plugin: 'plugin', derived: 'derived', unknown: 'unknown' }

export function gib(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—'
  const g = bytes / 1024 ** 3
  return `${g >= 100 ? g.toFixed(0) : g >= 10 ? g.toFixed(1) : g.toFixed(2)} GiB`
}

export interface NumastatRow {
  vm: VmNuma
  /** bytes per node id (0 when none) */
  perNode: number[]
  total: number
  /** 'xapi' when from VM_metrics.numa_node_memory, 'derived' when from the placement */
  source: 'xapi' | 'derived'
}

/** numastat-style matrix: every VM with memory on some node × the host's nodes, largest first. */
export function numastat(model: HostNuma): NumastatRow[] {
  const rows: NumastatRow[] = []
  for (const vm of model.vms) {
    const perNode = model.nodes.map((n) => n.vmMem[vm.vmRef] ?? 0)
    const total = perNode.reduce((a, b) => a + b, 0)
    if (total > 0) rows.push({ vm, perNode, total, source: vm.nodeMem.source === 'xapi' ? 'xapi' : 'derived' })
  }
  return rows.sort((a, b) => b.total - a.total || a.vm.name.localeCompare(b.vm.name))
}
