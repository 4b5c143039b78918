/**
 * Contract entries for storage (issue 13): a VM's disks and DVD drive, SRs and their connections
 * (PBDs). One method per action; each runs as XAPI tasks with progress (`operation.progress`, one
 * action id per user action so the Activity panel shows it as one task), writes one history entry
 * and answers an OperationResult: ok, or XAPI's refusal as a sentence with its code and params.
 * What XenPilot itself refuses before calling XAPI (shared/operations/storage.ts) is a ContractError
 * with code 'refused' and the same reason the renderer shows before the click.
 * Merged into shared/contract/index.ts.
 */
import { z } from 'zod'
import { OperationResult } from './operations'

const Ref = z.string().regex(/^OpaqueRef:[0-9a-fA-F-]+$/, 'must be an OpaqueRef')
const Conn = z.string().min(1)
/** bytes; a disk is at most 2 TiB here (VHD) and at least 1 MiB */
const Size = z.number().int().min(1024 ** 2, 'A disk must be at least 1 MiB').max(2040 * 1024 ** 3, 'A disk can be at most 2040 GiB')
const Name = z.string().trim().min(1, 'A name is required').max(255)
const Description = z.string().max(4096)

export const storageMethods = {
  /** VDI.create on `sr` + VBD.create at the VM's first free position (VM.get_allowed_VBD_devices) + VBD.plug when it runs */
  'disk.create': {
    args: z.object({ connectionId: Conn, vm: Ref, sr: Ref, name: Name, description: Description.optional(), size: Size }).strict(),
    result: OperationResult,
  },
  /** an existing disk gets a drive on the VM (+ plug when it runs) */
  'disk.attach': {
    args: z.object({ connectionId: Conn, vm: Ref, vdi: Ref, readOnly: z.boolean().optional() }).strict(),
    result: OperationResult,
  },
  /** VBD.unplug (unplug_force only with `force`) when plugged, then VBD.destroy; the disk stays */
  'disk.detach': {
    args: z.object({ connectionId: Conn, vbd: Ref, force: z.boolean().optional() }).strict(),
    result: OperationResult,
  },
  /** detach from `vm` (its drives of this disk) and VDI.destroy; refused when another VM uses the disk */
  'disk.delete': {
    args: z.object({ connectionId: Conn, vdi: Ref, vm: Ref.optional(), force: z.boolean().optional() }).strict(),
    result: OperationResult,
  },
  /** grow only: VDI.resize_online when plugged into a running VM (and the SR allows it), else VDI.resize */
  'disk.resize': {
    args: z.object({ connectionId: Conn, vdi: Ref, size: Size, vm: Ref.optional() }).strict(),
    result: OperationResult,
  },
  'disk.rename': {
    args: z.object({ connectionId: Conn, vdi: Ref, name_label: Name, name_description: Description.optional(), vm: Ref.optional() }).strict(),
    result: OperationResult,
  },
  /**
   * to another SR: VDI.pool_migrate while its VM runs (retried on TOO_MANY_STORAGE_MIGRATES; on
   * NO_HOSTS_AVAILABLE / VDI_NEEDS_VM_FOR_MIGRATE it falls back to copying), else VDI.copy + the
   * drives re-created on the copy + the original deleted. `created`: the disk on the new SR.
   */
  'disk.move': {
    args: z.object({ connectionId: Conn, vdi: Ref, sr: Ref, vm: Ref.optional() }).strict(),
    result: OperationResult,
  },
  /** VBD.insert (a drive with a disc is ejected first; VBD_NOT_EMPTY: eject and retry) */
  'cd.insert': { args: z.object({ connectionId: Conn, vbd: Ref, vdi: Ref }).strict(), result: OperationResult },
  'cd.eject': { args: z.object({ connectionId: Conn, vbd: Ref }).strict(), result: OperationResult },
  /** an empty DVD drive (VBD.create type CD, mode RO) on a VM that has none */
  'cd.add': { args: z.object({ connectionId: Conn, vm: Ref }).strict(), result: OperationResult },
  'sr.scan': { args: z.object({ connectionId: Conn, sr: Ref }).strict(), result: OperationResult },
  /** pool.set_default_SR, and the suspend-image and crash-dump SRs with it (as XenCenter does) */
  'sr.setDefault': { args: z.object({ connectionId: Conn, sr: Ref }).strict(), result: OperationResult },
  /** PBD.create on servers that have none (shared SRs), then PBD.plug every unplugged one */
  'sr.repair': { args: z.object({ connectionId: Conn, sr: Ref }).strict(), result: OperationResult },
  /** PBD.unplug everywhere, then SR.forget: the SR and its disks leave the pool, the data stays */
  'sr.forget': { args: z.object({ connectionId: Conn, sr: Ref }).strict(), result: OperationResult },
  /** VDI.destroy of every disk, PBD.unplug everywhere, then SR.destroy: the data is gone */
  'sr.destroy': { args: z.object({ connectionId: Conn, sr: Ref }).strict(), result: OperationResult },
  'pbd.plug': { args: z.object({ connectionId: Conn, pbd: Ref }).strict(), result: OperationResult },
  'pbd.unplug': { args: z.object({ connectionId: Conn, pbd: Ref }).strict(), result: OperationResult },
} as const

export type StorageMethodName = keyof typeof storageMethods
