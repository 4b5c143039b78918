/**
 * Contract entries for managing the fleet (issue 5): VM and host commands on one or many objects
 * across pools, edits, task cancel, history and alerts. Merged into shared/contract/index.ts.
 */
import { z } from 'zod'

const Target = z.object({ connectionId: z.string().min(1), ref: z.string().regex(/^OpaqueRef:[0-9a-fA-F-]+$/, 'must be an OpaqueRef') })

export const VmOperationIdSchema = z.enum([
  'start', 'start_on', 'clean_shutdown', 'hard_shutdown', 'clean_reboot', 'hard_reboot', 'suspend', 'resume', 'resume_on',
  'pause', 'unpause', 'snapshot', 'checkpoint', 'revert', 'clone', 'copy', 'destroy', 'pool_migrate',
])
export const HostOperationIdSchema = z.enum(['enter_maintenance', 'exit_maintenance', 'reboot', 'shutdown'])

export const OperationError = z.object({ code: z.string(), message: z.string(), action: z.string().optional(), params: z.array(z.string()) })
export const OperationResult = z.object({
  connectionId: z.string(),
  ref: z.string(),
  ok: z.boolean(),
  /** ref of the object the operation created (snapshot, clone, copy) */
  created: z.string().optional(),
  error: OperationError.optional(),
})
export type OperationResult = z.infer<typeof OperationResult>

export const HistoryEntrySchema = z.object({
  id: z.number(),
  at: z.string(),
  connectionId: z.string(),
  cls: z.string(),
  ref: z.string(),
  objectName: z.string(),
  action: z.string(),
  params: z.record(z.string(), z.unknown()),
  ok: z.boolean(),
  errorCode: z.string().optional(),
  errorMessage: z.string().optional(),
  durationMs: z.number(),
  user: z.string(),
})
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>

export const operationMethods = {
  'vm.run': {
    args: z
      .object({
        targets: z.array(Target).min(1, 'Select at least one VM').max(1000),
        op: VmOperationIdSchema,
        /** target host (start_on, resume_on, pool_migrate): a host of the same pool */
        host: z.string().startsWith('OpaqueRef:').optional(),
        /** new name (snapshot, checkpoint, clone, copy) */
        name: z.string().trim().min(1, 'A name is required').max(255).optional(),
        /** target SR (copy) */
        sr: z.string().startsWith('OpaqueRef:').optional(),
        /** destroy: also delete the VM's disks (not CDs, not shared with other VMs) */
        withDisks: z.boolean().optional(),
      })
      .strict(),
    result: z.array(OperationResult),
  },
  'host.run': {
    args: z.object({ targets: z.array(Target).min(1).max(100), op: HostOperationIdSchema }).strict(),
    result: z.array(OperationResult),
  },
  'object.edit': {
    args: z
      .object({
        connectionId: z.string().min(1),
        cls: z.enum(['VM', 'host', 'pool', 'SR', 'network']),
        ref: z.string().startsWith('OpaqueRef:'),
        name_label: z.string().trim().min(1, 'The name cannot be empty').max(255).optional(),
        name_description: z.string().max(4096).optional(),
        tags: z.array(z.string().trim().min(1).max(128)).max(64).optional(),
        /** XenCenter folder path ('/Production/Web'), '' to remove */
        folder: z.string().max(1024).regex(/^$|^\/[^\n]*[^/]$/, 'A folder is a path like /Production/Web').optional(),
      })
      .strict(),
    result: z.null(),
  },
  'tasks.cancel': { args: z.object({ connectionId: z.string().min(1), taskRef: z.string().startsWith('OpaqueRef:') }).strict(), result: z.null() },
  'history.list': {
    args: z
      .object({ connectionId: z.string().optional(), ref: z.string().optional(), limit: z.number().int().min(1).max(1000).default(200), beforeId: z.number().int().optional() })
      .strict(),
    result: z.array(HistoryEntrySchema),
  },
  'alerts.dismiss': {
    args: z.object({ connectionId: z.string().min(1), refs: z.array(z.string().startsWith('OpaqueRef:')).min(1).max(1000) }).strict(),
    result: z.array(OperationResult),
  },
} as const

export const operationEvents = {
  /**
   * progress of one object's operation started through vm.run / host.run (and the storage methods).
   * `cls`: the object's class when not a VM or host. `action`: the user action the task is one
   * step of (its progress is the action's, 0..1): the Activity panel shows one row per action.
   */
  'operation.progress': z.object({
    connectionId: z.string(),
    ref: z.string(),
    op: z.string(),
    progress: z.number(),
    taskRef: z.string().optional(),
    cls: z.string().optional(),
    action: z.object({ id: z.string(), title: z.string() }).optional(),
  }),
  'history.appended': HistoryEntrySchema,
} as const
