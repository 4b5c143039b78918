/**
 * The per-host NUMA model (docs/numa.md §6a) as zod schemas: the one definition both the contract
 * (main → renderer) and the pure model code use. Every value says where it came from, so the UI
 * can tell a fact read from XAPI or the dom0 plugin from a number derived under an assumption.
 */
import { z } from 'zod'

/** xapi: read from a XAPI field · plugin: the dom0 plugin's `xl` output · derived: computed under `note` · unknown: not knowable here (`note` says why) */
export const NumaSource = z.enum(['xapi', 'plugin', 'derived', 'unknown'])
export type NumaSource = z.infer<typeof NumaSource>

/** A value with its provenance. `value` is null exactly when source is 'unknown'. */
export function sourced<T extends z.ZodTypeAny>(value: T) {
  return z.object({ value: value.nullable(), source: NumaSource, note: z.string().optional() })
}
export interface Sourced<T> {
  value: T | null
  source: NumaSource
  /** the assumption behind a derived value, or why a value is unknown */
  note?: string
}

export const NumaPolicy = z.enum(['any', 'best_effort', 'default_policy'])
export type NumaPolicy = z.infer<typeof NumaPolicy>

/** single-node: vCPUs and memory on one node · multi-node: memory on several but not all nodes · interleaved: no affinity, memory striped · hard-pinned: a hard mask decides */
export const Placement = z.enum(['single-node', 'multi-node', 'interleaved', 'hard-pinned', 'unknown'])
export type Placement = z.infer<typeof Placement>

export const PCpu = z.object({
  id: z.number().int(),
  socket: z.number().int(),
  /** per-socket core id (may be sparse); null when the thread→core layout is unknown */
  core: z.number().int().nullable(),
  node: z.number().int(),
  /** other threads of the same physical core (empty when unknown) */
  siblings: z.array(z.number().int()),
  /** busy fraction 0..1 from RRD cpuN; null = not measured */
  load: z.number().nullable(),
})
export type PCpu = z.infer<typeof PCpu>

export const NumaNode = z.object({
  id: z.number().int(),
  pcpus: z.array(z.number().int()),
  socket: z.number().int().nullable(),
  /** distinct (socket, core) pairs; null when cores are unknown */
  physCores: z.number().int().nullable(),
  memSize: sourced(z.number()),
  memFree: sourced(z.number()),
  /** vCPUs whose hard or soft affinity lies within this node */
  vcpusAffine: z.number().int(),
  /** bytes of each resident VM on this node (by VM ref) */
  vmMem: z.record(z.string(), z.number()),
  vmMemSource: NumaSource,
  vmMemNote: z.string().optional(),
})
export type NumaNode = z.infer<typeof NumaNode>

export const VcpuLive = z.object({
  vcpu: z.number().int(),
  /** pCPU it runs on now; null when offline */
  pcpu: z.number().int().nullable(),
  state: z.string(),
  /** 'all' keeps the model small: 128 ids per vCPU × thousands of vCPUs add up on every refresh */
  hard: z.union([z.literal('all'), z.array(z.number().int())]),
  soft: z.union([z.literal('all'), z.array(z.number().int())]),
})
export type VcpuLive = z.infer<typeof VcpuLive>

export const VmMask = z.object({
  /** VCPUs_params.mask as stored */
  raw: z.string().nullable(),
  /** effective per-vCPU hard masks after the host's guest_VCPUs_params mask is applied; [] = no hard affinity */
  perVcpu: z.array(z.array(z.number().int())),
  /** a stored mask XAPI will ignore (spaces, ranges, garbage): why */
  ignoredReason: z.string().optional(),
  /** the host's guest mask took part */
  fromHostMask: z.boolean(),
})
export type VmMask = z.infer<typeof VmMask>

export const VmNuma = z.object({
  vmRef: z.string(),
  uuid: z.string(),
  name: z.string(),
  powerState: z.string(),
  isControlDomain: z.boolean(),
  domid: z.number().int().nullable(),
  vcpusMax: z.number().int(),
  vcpusAtStartup: z.number().int(),
  coresPerSocket: z.number().int().nullable(),
  memStaticMax: z.number(),
  memOverhead: z.number(),
  memActual: z.number().nullable(),
  mask: VmMask,
  weight: z.number(),
  cap: z.number(),
  vcpuLive: z.array(VcpuLive).nullable(),
  numaOptimised: sourced(z.boolean()),
  numaNodes: sourced(z.number()),
  nodeMem: sourced(z.record(z.string(), z.number())),
  homeNodes: z.array(z.number().int()),
  /** how many of its vCPUs an affinity keeps on one node (each counted in that node's vcpusAffine); the rest may run on any node */
  vcpusOnNode: z.number().int(),
  placement: Placement,
  placementSource: NumaSource,
  placementNote: z.string(),
  /** share of the VM's memory on its home node(s) */
  localFraction: sourced(z.number()),
})
export type VmNuma = z.infer<typeof VmNuma>

export const PluginStatus = z.discriminatedUnion('status', [
  z.object({ status: z.literal('present'), version: z.number().int() }),
  z.object({ status: z.literal('absent'), install: z.string() }),
  z.object({ status: z.literal('error'), message: z.string() }),
  /** the host's XAPI does not offer host.call_plugin (an older release): a sentence saying so */
  z.object({ status: z.literal('unsupported'), message: z.string() }),
  z.object({ status: z.literal('not-queried') }),
])
export type PluginStatus = z.infer<typeof PluginStatus>

export const HostNuma = z.object({
  hostRef: z.string(),
  hostName: z.string(),
  xapiVersion: z.string().nullable(),
  xenVersion: z.string().nullable(),
  collectedAt: z.string(),
  cpuCount: sourced(z.number().int()),
  sockets: sourced(z.number().int()),
  threadsPerCore: sourced(z.number().int()),
  coresPerSocket: sourced(z.number().int()),
  nrNodes: sourced(z.number().int()),
  policy: sourced(NumaPolicy),
  /** what default_policy / best_effort mean on this host's xapi */
  effectivePolicy: sourced(z.enum(['any', 'best_effort'])),
  policySettable: z.boolean(),
  /** host.guest_VCPUs_params.mask, applied to every VM */
  guestMask: z.array(z.number().int()).nullable(),
  memTotal: sourced(z.number()),
  memFree: sourced(z.number()),
  /** where the pCPU → (socket, core, node) map and node CPU sets came from */
  topology: z.object({ source: NumaSource, note: z.string().optional() }),
  pcpus: z.array(PCpu),
  /** where pCPU load came from (RRD cpuN is XAPI's) or why it is unknown */
  pcpuLoad: z.object({ source: NumaSource, note: z.string().optional() }),
  nodes: z.array(NumaNode),
  distances: sourced(z.array(z.array(z.number()))),
  vms: z.array(VmNuma),
  plugin: PluginStatus,
  /** things the user should know about the data itself (fallbacks, bad plugin output) */
  notes: z.array(z.string()),
})
export type HostNuma = z.infer<typeof HostNuma>
