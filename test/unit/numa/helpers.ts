import type { PluginTopology, XlVcpu } from '../../../shared/numa/xl'
import type { LooseRecord } from '../../../shared/numa/model'

export const GiB = 1024 ** 3
export const MiB = 1024 ** 2

export interface TopoSpec {
  sockets: number
  nodesPerSocket: number
  coresPerSocket: number
  threadsPerCore: number
  numbering?: 'adjacent' | 'split'
  /** MiB free per node */
  memfree: number[]
  memsize?: number[]
  distances: number[][]
  vcpus?: XlVcpu[]
}

/** A plugin answer for a synthetic host (the shape xl gives; tests state the topology they mean). */
export function pluginDoc(t: TopoSpec): PluginTopology {
  const perSocket = t.coresPerSocket * t.threadsPerCore
  const n = t.sockets * perSocket
  const coresPerNode = t.coresPerSocket / t.nodesPerSocket
  const cpus = Array.from({ length: n }, (_, i) => {
    let socket: number
    let core: number
    if ((t.numbering ?? 'adjacent') === 'adjacent') {
      socket = Math.floor(i / perSocket)
      core = Math.floor((i % perSocket) / t.threadsPerCore)
    } else {
      const j = i % (t.sockets * t.coresPerSocket)
      socket = Math.floor(j / t.coresPerSocket)
      core = j % t.coresPerSocket
    }
    return { cpu: i, core, socket, node: socket * t.nodesPerSocket + Math.floor(core / coresPerNode) }
  })
  const nodes = t.memfree.map((free, i) => ({ node: i, memsize: t.memsize?.[i] ?? Math.max(free, 65536), memfree: free, distances: t.distances[i] ?? [] }))
  return {
    version: 1,
    host: {
      nr_cpus: n,
      max_cpu_id: n - 1,
      nr_nodes: nodes.length,
      cores_per_socket: t.coresPerSocket,
      threads_per_core: t.threadsPerCore,
      total_memory: nodes.reduce((a, x) => a + x.memsize, 0),
      free_memory: nodes.reduce((a, x) => a + x.memfree, 0),
      xen_version: '4.17.5',
    },
    cpus,
    nodes,
    distances: t.distances,
    vcpus: t.vcpus ?? [],
  }
}

export function hostRecord(opts: { name?: string; xapi?: string; cpuInfo?: Record<string, string>; policy?: string | null; guestMask?: string }): LooseRecord {
  const rec: LooseRecord = {
    uuid: 'host-uuid',
    name_label: opts.name ?? 'host1',
    software_version: { xapi: opts.xapi ?? '25.33.0', product_version: '8.3.0' },
    cpu_info: opts.cpuInfo ?? {},
    guest_VCPUs_params: opts.guestMask ? { mask: opts.guestMask } : {},
  }
  if (opts.policy !== null) rec['numa_affinity_policy'] = opts.policy ?? 'default_policy'
  return rec
}

export function vmRecord(opts: { name: string; vcpus: number; memGiB: number; domid?: number; mask?: string; control?: boolean }): LooseRecord {
  return {
    uuid: `${opts.name}-uuid`,
    name_label: opts.name,
    power_state: 'Running',
    domid: opts.domid ?? -1,
    VCPUs_max: opts.vcpus,
    VCPUs_at_startup: opts.vcpus,
    VCPUs_params: opts.mask !== undefined ? { mask: opts.mask } : {},
    memory_static_max: opts.memGiB * GiB,
    memory_overhead: 0,
    is_control_domain: opts.control ?? false,
    platform: {},
  }
}

export function vcpuRows(name: string, domid: number, count: number, hard: string, soft: string): XlVcpu[] {
  return Array.from({ length: count }, (_, v) => ({ name, domid, vcpu: v, cpu: v, online: true, running: false, blocked: true, state: '-b-', time: 1, hard, soft }))
}
