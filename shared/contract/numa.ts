// OWNER: NUMA helper. NUMA methods/events of the contract (merged into shared/contract/index.ts).
/**
 * Host NUMA layout, VM placement advice and the two NUMA controls XAPI offers (the host's
 * numa_affinity_policy and a VM's hard vCPU mask). Models are built in main from the pool's object
 * graph plus the dom0 plugin (build/xenpilot_numa) when installed; every value says its source.
 */
import { z } from 'zod'
import { HostNuma, NumaPolicy, NumaSource } from '../numa/schema'
import { OperationResult } from './operations'

const ConnectionId = z.string().min(1).max(200)
const Ref = z.string().regex(/^OpaqueRef:[A-Za-z0-9-]{1,100}$/, 'must be an OpaqueRef')

export const AuditFindingSchema = z.object({
  code: z.enum(['spans-nodes-with-room', 'node-imbalance', 'mask-ignored', 'hard-mask-spans-nodes', 'no-placement']),
  hostRef: z.string(),
  vmRef: z.string().optional(),
  message: z.string(),
})

export const AdviceWarningSchema = z.object({ code: z.string(), message: z.string() })

export const HostAdviceSchema = z.object({
  hostRef: z.string(),
  hostName: z.string(),
  feasible: z.boolean(),
  prediction: z.enum(['single-node', 'interleaved', 'hard-pinned', 'cannot-start']),
  nodes: z.array(z.number().int()),
  candidates: z.array(z.array(z.number().int())),
  policy: z.enum(['any', 'best_effort', 'unknown']),
  reason: z.string(),
  score: z.tuple([z.number(), z.number(), z.number()]).nullable(),
  warnings: z.array(AdviceWarningSchema),
  dataSource: NumaSource,
  isCurrentHost: z.boolean(),
})

export const AdviceSchema = z.object({
  vmRef: z.string(),
  vmName: z.string(),
  memory: z.number(),
  vcpus: z.number().int(),
  hosts: z.array(HostAdviceSchema),
  warnings: z.array(AdviceWarningSchema),
})
export type AdviceResult = z.infer<typeof AdviceSchema>

export const PoolNumaSummarySchema = z.object({
  hosts: z.array(
    z.object({ hostRef: z.string(), hostName: z.string(), nodes: z.number().int(), spanning: z.number().int(), unbalanced: z.boolean(), pluginStatus: z.string() }),
  ),
  spanningVms: z.array(z.object({ vmRef: z.string(), name: z.string(), hostRef: z.string(), hostName: z.string(), placement: z.string(), nodes: z.array(z.number().int()) })),
  findings: z.array(AuditFindingSchema),
})

export const NumaHostResult = z.object({ model: HostNuma, audit: z.array(AuditFindingSchema) })
export type NumaHostResult = z.infer<typeof NumaHostResult>

export const numaMethods = {
  /** the NUMA model of one host (queries the dom0 plugin when installed) and its audit */
  'numa.host': { args: z.object({ connectionId: ConnectionId, hostRef: Ref }).strict(), result: NumaHostResult },
  /** every host's model and the pool-level summary (VMs spanning nodes, unbalanced hosts) */
  'numa.pool': {
    args: z.object({ connectionId: ConnectionId }).strict(),
    result: z.object({ hosts: z.array(HostNuma), summary: PoolNumaSummarySchema }),
  },
  /** where should this VM start / migrate to: hosts ranked with xenopsd's predicted placement */
  /** where the VM would land on each server of its pool — or of `destConnectionId`'s pool (a cross-pool migration's destination) */
  'numa.advise': { args: z.object({ connectionId: ConnectionId, vmRef: Ref, destConnectionId: ConnectionId.optional() }).strict(), result: AdviceSchema },
  /**
   * Async.host.set_numa_affinity_policy as one user action (Activity row, History entry); applies to
   * VMs started afterwards. XAPI's refusal is `ok: false` with its sentence, code and params.
   */
  'numa.setPolicy': {
    args: z.object({ connectionId: ConnectionId, hostRef: Ref, policy: NumaPolicy }).strict(),
    result: OperationResult.extend({ note: z.string().optional() }),
  },
  /** VM.VCPUs_params["mask"]: validated (no spaces, no ranges, pCPUs that exist); null removes the mask */
  'numa.setMask': {
    args: z.object({ connectionId: ConnectionId, vmRef: Ref, mask: z.string().max(20_000).nullable() }).strict(),
    result: z.object({ mask: z.string().nullable() }),
  },
} as const

export const numaEvents = {} as const
