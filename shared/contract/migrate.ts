/**
 * Contract entries for migration (issue 17): a VM moved or copied to a server of another pool (or
 * to another server / SRs of its own pool), one VM or many, the way XenCenter's cross-pool migrate
 * wizard does it: Host.migrate_receive with a session on the destination pool, then
 * VM.assert_can_migrate and Async.VM.migrate_send (vdi_map, vif_map, options force / copy /
 * compress) with the source pool's session. Within one pool vif_map stays empty.
 *
 * Each VM is one user action (one row in the Activity panel, `operation.progress` with an action
 * id, one history entry; the destination's history gets one more under the VM's new ref). A bulk
 * run is a queue with a concurrency limit per source and per destination pool; XAPI's
 * TOO_MANY_STORAGE_MIGRATES puts the VM back in the queue and it is tried again. One VM refused
 * does not stop the others. Merged into shared/contract/index.ts.
 */
import { z } from 'zod'
import { OperationError, OperationResult } from './operations'

const Ref = z.string().regex(/^OpaqueRef:[0-9a-fA-F-]+$/, 'must be an OpaqueRef')
const Conn = z.string().min(1)
/** VDI ref → SR ref, VIF ref → network ref */
const RefMap = z.record(Ref, Ref).refine((m) => Object.keys(m).length <= 512, 'At most 512 entries')

/** one VM to move: where, and with which disks on which SRs and NICs on which networks */
export const MigrationItem = z
  .object({
    /** the source pool */
    connectionId: Conn,
    vm: Ref,
    /** the destination pool (the source's own id: storage motion / a server of the same pool) */
    destConnectionId: Conn,
    /** the destination server */
    host: Ref,
    /** the transfer network of the destination (default: its management network) */
    network: Ref.optional(),
    /** every disk of the VM and of its snapshots (cross-pool); within a pool, the disks that move */
    vdiMap: RefMap,
    /** every NIC of the VM and of its snapshots (cross-pool); empty within a pool */
    vifMap: RefMap,
    /** copy instead of move: the source VM stays (cross-pool, halted VMs) */
    copy: z.boolean().optional(),
    /** compress the transfer (pools that support it) */
    compress: z.boolean().optional(),
    /** skip XAPI's CPU compatibility check (options.force) */
    force: z.boolean().optional(),
  })
  .strict()
export type MigrationItem = z.infer<typeof MigrationItem>

/** what became of one VM: ok with the VM's ref in the destination pool, or the refusal in words */
export const MigrationResult = z.object({
  connectionId: z.string(),
  ref: z.string(),
  destConnectionId: z.string(),
  ok: z.boolean(),
  /** the VM in the destination pool (its new ref; the same ref within one pool) */
  created: z.string().optional(),
  /** the Activity row of this VM (operation.progress action id) */
  actionId: z.string(),
  /** tries XAPI answered TOO_MANY_STORAGE_MIGRATES before this one went through */
  retries: z.number().int().min(0),
  error: OperationError.optional(),
})
export type MigrationResult = z.infer<typeof MigrationResult>

/** one destination server for one VM: can it take it (VM.assert_can_migrate with the real maps), and if not why */
export const MigrationCheck = z.object({ host: z.string(), ok: z.boolean(), error: OperationError.optional() })
export type MigrationCheck = z.infer<typeof MigrationCheck>

export const Concurrency = z
  .object({
    /** migrations running at once from one pool */
    perSource: z.number().int().min(1).max(16).default(2),
    /** migrations running at once into one pool */
    perDestination: z.number().int().min(1).max(16).default(2),
  })
  .strict()

export const migrateMethods = {
  /** VM.assert_can_migrate for each server (each with its own migrate_receive), the real maps and options */
  'migrate.check': {
    args: MigrationItem.omit({ host: true })
      .extend({ hosts: z.array(Ref).min(1, 'Choose at least one server').max(64) })
      .strict(),
    result: z.array(MigrationCheck),
  },
  /** the queue: every VM migrated (or refused) with the limits; answers when all are done */
  'migrate.run': {
    args: z
      .object({
        items: z.array(MigrationItem).min(1, 'Select at least one VM').max(500),
        concurrency: Concurrency.optional(),
        /** ids for the Activity rows, given by the caller so it can follow them while the call runs */
        actionIds: z.array(z.string().uuid()).max(500).optional(),
      })
      .strict()
      .refine((a) => !a.actionIds || a.actionIds.length === a.items.length, 'One action id per VM'),
    result: z.array(MigrationResult),
  },
  /** a VM still waiting in the queue leaves it (a running one: cancel its task, tasks.cancel) */
  'migrate.cancel': { args: z.object({ actionId: z.string().uuid() }).strict(), result: z.object({ cancelled: z.boolean() }) },
  /**
   * XAPI's answer to VDI_CBT_ENABLED: VDI.disable_cbt on disks of one VM (its own disks, not its
   * snapshots'), one user action (Activity row, history entry). Later incremental backups of those
   * disks start over with a full copy.
   */
  'migrate.disableCbt': {
    args: z.object({ connectionId: Conn, vm: Ref, vdis: z.array(Ref).min(1, 'Choose at least one disk').max(64) }).strict(),
    result: OperationResult,
  },
} as const

export const migrateEvents = {
  /** a queued VM's state in the bulk queue: waiting for a slot, running, waiting to retry, done */
  'migrate.state': z.object({
    actionId: z.string(),
    connectionId: z.string(),
    ref: z.string(),
    destConnectionId: z.string(),
    state: z.enum(['queued', 'running', 'retrying', 'done', 'failed', 'cancelled']),
    /** a sentence for the user ('XAPI is already moving 3 disks at once; trying again in 5 s') */
    detail: z.string().optional(),
  }),
} as const

export type MigrateMethodName = keyof typeof migrateMethods
