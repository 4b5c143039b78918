/**
 * Contract entries for moving VMs and disks between a pool and files (issue 14): export a VM or a
 * snapshot as XVA, a disk as raw; import an XVA or a raw disk. The files are on the machine that
 * runs XenPilot's services (in browser mode: the jump host, not the browser's machine).
 *
 * A transfer is queued and runs in main (at most TRANSFER_CONCURRENCY at once); its state is main's
 * (`transfer.list`, `transfer.changed`), so a window reload finds it again. Its XAPI task shows in
 * the Activity panel through operation.progress (action id = transfer id); cancelling either there
 * (tasks.cancel) or with transfer.cancel stops it and removes the partial file of an export.
 */
import { z } from 'zod'

const Ref = z.string().regex(/^OpaqueRef:[0-9a-fA-F-]+$/, 'must be an OpaqueRef')

/** an absolute path on the machine running the services; a sentence for each refusal */
export const FilePath = z
  .string()
  .trim()
  .min(1, 'Give the path of a file')
  .max(4096, 'That path is longer than 4096 characters')
  .refine((p) => !p.includes('\0'), 'A path cannot hold a NUL character')
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\'), 'Give a full path (starting with / or a drive letter)')

export const Compression = z.enum(['none', 'gzip', 'zstd'])
export type Compression = z.infer<typeof Compression>

export const TransferKind = z.enum(['export-vm', 'export-disk', 'import-vm', 'import-disk'])
export type TransferKind = z.infer<typeof TransferKind>

export const TransferStatus = z.enum(['queued', 'running', 'finishing', 'done', 'failed', 'cancelled'])
export type TransferStatus = z.infer<typeof TransferStatus>

export const TransferState = z.object({
  id: z.string(),
  kind: TransferKind,
  connectionId: z.string(),
  /** the VM, snapshot or disk exported; the VM or disk an import created (once it exists) */
  ref: z.string().optional(),
  /** 'Export VM', 'Import VM', 'Export disk', 'Import disk' */
  title: z.string(),
  /** what it is about, as people read it: 'web-01', 'web-01.xva' */
  objectName: z.string(),
  path: z.string(),
  status: TransferStatus,
  /** bytes written to (export) or read from (import) the file so far */
  bytes: z.number(),
  /** the file's size (import, raw export); an XVA export's size is not known before it ends */
  totalBytes: z.number().optional(),
  /** 0..1: from the bytes when the size is known, else XAPI's task.progress */
  progress: z.number(),
  /** bytes per second over the last few seconds */
  rate: z.number(),
  taskRef: z.string().optional(),
  queuedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** a sentence when it failed or was cancelled */
  message: z.string().optional(),
  errorCode: z.string().optional(),
  /** export: the SHA-256 of the file and the checksum file written next to it */
  sha256: z.string().optional(),
  checksumPath: z.string().optional(),
})
export type TransferState = z.infer<typeof TransferState>

export const XvaVif = z.object({ device: z.string(), mac: z.string(), network: z.string() })
export const XvaDisk = z.object({ name: z.string(), size: z.number(), device: z.string() })

export const DiskFormat = z.enum(['raw', 'vhd'])
export type DiskFormat = z.infer<typeof DiskFormat>

/** what a file to import holds, read before the upload (an XVA's ova.xml, a VHD's disk size, or a raw disk's size) */
export const FileInspection = z.object({
  path: z.string(),
  size: z.number(),
  kind: z.enum(['xva', 'raw', 'vhd']),
  compression: Compression,
  /** VHD: the size of the disk it holds (the new disk's size); raw: the file's size */
  diskSize: z.number().optional(),
  /** VHD: dynamic (sent as VHD) or fixed (its data sent as a raw image, the footer left off) */
  vhdType: z.enum(['dynamic', 'fixed']).optional(),
  /** XVA: the VM it holds */
  vm: z
    .object({
      name: z.string(),
      description: z.string(),
      vcpus: z.number(),
      memory: z.number(),
      isTemplate: z.boolean(),
      disks: z.array(XvaDisk),
      vifs: z.array(XvaVif),
    })
    .optional(),
})
export type FileInspection = z.infer<typeof FileInspection>

/** where a file would go (export) or what is there (import) */
export const PathCheck = z.object({
  ok: z.boolean(),
  /** the sentence for the path field */
  message: z.string(),
  /** free bytes in the folder (export) */
  free: z.number().optional(),
  exists: z.boolean(),
})
export type PathCheck = z.infer<typeof PathCheck>

/** what the Electron door's native dialog is asked for (transfer.pickFile) */
export const FilePickRequest = z
  .object({
    purpose: z.enum(['export', 'import']),
    kind: z.enum(['xva', 'disk', 'any']).default('any'),
    /** export: the file name offered */
    suggestedName: z
      .string()
      .max(255)
      .refine((n) => !/[\\/\0]/.test(n), 'A file name, not a path')
      .optional(),
  })
  .strict()
export type FilePickRequest = z.infer<typeof FilePickRequest>

export const TRANSFER_CONCURRENCY = 2

export const transferMethods = {
  /** VM or snapshot → XVA file (gzip/zstd as chosen; zstd only where the pool offers it) */
  'transfer.exportVm': {
    args: z.object({ connectionId: z.string().min(1), ref: Ref, path: FilePath, compression: Compression.default('none'), overwrite: z.boolean().default(false) }).strict(),
    result: TransferState,
  },
  /** one disk → raw image or dynamic VHD file (only the blocks holding data) */
  'transfer.exportDisk': {
    args: z.object({ connectionId: z.string().min(1), ref: Ref, path: FilePath, format: DiskFormat.default('raw'), overwrite: z.boolean().default(false) }).strict(),
    result: TransferState,
  },
  /** XVA file → a new VM on `sr`; then its NICs onto the chosen networks (by device), renamed, optionally started */
  'transfer.importVm': {
    args: z
      .object({
        connectionId: z.string().min(1),
        path: FilePath,
        sr: Ref,
        name: z.string().trim().min(1, 'A name is required').max(255).optional(),
        /** VIF device ('0', '1'…) → network */
        networks: z.record(z.string().regex(/^\d+$/), Ref).default({}),
        start: z.boolean().default(false),
      })
      .strict(),
    result: TransferState,
  },
  /** raw image or VHD file (told apart by its content) → a new disk on `sr` */
  'transfer.importDisk': {
    args: z.object({ connectionId: z.string().min(1), path: FilePath, sr: Ref, name: z.string().trim().min(1, 'A name is required').max(255) }).strict(),
    result: TransferState,
  },
  'transfer.inspect': { args: z.object({ path: FilePath }).strict(), result: FileInspection },
  'transfer.checkPath': { args: z.object({ path: FilePath, purpose: z.enum(['export', 'import']) }).strict(), result: PathCheck },
  /** Electron: the native Save as… / Open… dialog; path null when cancelled. Browser mode refuses (the page has a path field) */
  'transfer.pickFile': { args: FilePickRequest, result: z.object({ path: FilePath.nullable() }) },
  'transfer.list': { args: z.object({}).strict(), result: z.array(TransferState) },
  'transfer.cancel': { args: z.object({ id: z.string().min(1) }).strict(), result: z.null() },
} as const

export const transferEvents = {
  'transfer.changed': TransferState,
} as const
