/**
 * A VM's virtual CPU topology (issue 14): how many cores per socket its vCPUs are presented as.
 * One rule for the New VM wizard and VM Properties (and main, which checks the same again):
 *
 * - XAPI: platform:cores-per-socket must divide VCPUs_max — Vm_platform.sanity_check refuses the
 *   start otherwise (VCPU_MAX_NOT_CORES_PER_SOCKET_MULTIPLE [vcpus; cores]); the setters accept
 *   anything, so the mistake shows only at the next start unless the dialog stops it.
 * - XenCenter (CPUTopologyComboBox.GetTopologies, VM.ValidVCPUConfiguration, VM.MaxCoresPerSocket):
 *   it offers only the values that divide the vCPUs, give at most 16 sockets (VM.MAX_SOCKETS, Xen's
 *   limit, CA-198276) and do not exceed the server's count per socket (host.cpu_info cpu_count /
 *   socket_count: logical CPUs, hyper-threads included) of the server the VM runs on or is homed
 *   on, or of the largest server when it has none.
 */
import type { Rec } from './storage'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const map = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {})
const isRef = (v: unknown): v is string => typeof v === 'string' && v.startsWith('OpaqueRef:') && v !== 'OpaqueRef:NULL'

/** XenCenter's VM.MAX_SOCKETS: a VM has at most 16 virtual sockets */
export const MAX_SOCKETS = 16

/**
 * a server's cores per socket as XenCenter reads it (cpu_info cpu_count / socket_count: logical CPUs
 * per socket — the NUMA view's physical cores per socket also divides by threads_per_core); 0 when
 * it does not say
 */
export function hostCoresPerSocket(host: Rec | undefined): number {
  const info = map(host?.cpu_info)
  const cpus = Number(str(info['cpu_count']))
  const sockets = Number(str(info['socket_count']))
  return Number.isInteger(cpus) && Number.isInteger(sockets) && cpus > 0 && sockets > 0 ? Math.floor(cpus / sockets) : 0
}

/** the limit the topology must fit, and the server it comes from */
export interface TopologyLimit {
  /** 0: no server says (no limit from the hardware) */
  coresPerSocket: number
  /** the server's name when one server sets it (the home server), else undefined (the largest of the pool) */
  host?: string
}

/**
 * XenCenter's VM.MaxCoresPerSocket: the cores per socket of `home` (the server the VM runs on, or
 * its home server) when known, else the largest of the pool's servers.
 */
export function topologyLimit(hosts: readonly (Rec | undefined)[], home?: Rec): TopologyLimit {
  const own = hostCoresPerSocket(home)
  if (home && own > 0) return { coresPerSocket: own, host: str(home.name_label) || 'its server' }
  return { coresPerSocket: Math.max(0, ...hosts.map(hostCoresPerSocket)) }
}

/** the server whose topology a VM must fit: where it runs, else its home server (`affinity`, or the one being chosen) */
export function topologyHome(vm: Rec, homeServer?: string): string | undefined {
  if (str(vm.power_state) === 'Running' && isRef(vm.resident_on)) return vm.resident_on
  if (homeServer !== undefined) return isRef(homeServer) ? homeServer : undefined
  return isRef(vm.affinity) ? vm.affinity : undefined
}

/** why `coresPerSocket` does not fit `vcpus` vCPUs under `limit`, or undefined when it does */
export function topologyProblem(vcpus: number, coresPerSocket: number, limit: TopologyLimit): string | undefined {
  if (!Number.isInteger(coresPerSocket) || coresPerSocket < 1) return 'The cores per socket must be a whole number of at least 1'
  if (vcpus % coresPerSocket !== 0) return `The maximum vCPUs (${vcpus}) must be a multiple of the cores per socket (${coresPerSocket})`
  if (vcpus / coresPerSocket > MAX_SOCKETS) return `${vcpus} vCPUs with ${coresPerSocket} core${coresPerSocket === 1 ? '' : 's'} per socket make ${vcpus / coresPerSocket} sockets; a VM has at most ${MAX_SOCKETS} (Xen's limit): choose more cores per socket`
  if (limit.coresPerSocket > 0 && coresPerSocket > limit.coresPerSocket) return `${limitText(limit)}: a VM cannot have more cores per socket (${coresPerSocket} chosen)`
  return undefined
}

/**
 * where the limit comes from, in words ('tiny-host-1 has 16 logical CPUs per socket': XenCenter's
 * count includes hyper-threads, so it is not said to be cores); '' when no server says
 */
export function limitText(limit: TopologyLimit): string {
  if (limit.coresPerSocket <= 0) return ''
  return `${limit.host !== undefined ? `${limit.host} has` : 'The largest server of this pool has'} ${limit.coresPerSocket} logical CPUs per socket`
}

/** the cores-per-socket values XenCenter offers for `vcpus` vCPUs (each fits the rule above) */
export function coresPerSocketChoices(vcpus: number, limit: TopologyLimit): number[] {
  const out: number[] = []
  const top = limit.coresPerSocket > 0 ? Math.min(vcpus, limit.coresPerSocket) : vcpus
  for (let c = 1; c <= top; c++) if (topologyProblem(vcpus, c, limit) === undefined) out.push(c)
  return out
}

/** '2 sockets with 4 cores each' (XenCenter's GetTopology words) */
export function topologyText(vcpus: number, coresPerSocket: number): string {
  if (coresPerSocket < 1 || vcpus % coresPerSocket !== 0) return `${coresPerSocket} cores per socket (does not divide ${vcpus} vCPUs)`
  const sockets = vcpus / coresPerSocket
  const s = `${sockets} socket${sockets === 1 ? '' : 's'}`
  return `${s} with ${coresPerSocket} core${coresPerSocket === 1 ? '' : 's'}${sockets === 1 ? '' : ' each'}`
}
