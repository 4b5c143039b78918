/**
 * Contract entries for making VMs (issue 14): the New VM wizard's one call. The spec says exactly
 * what will be created; main checks it again with the rules the wizard showed
 * (shared/operations/provision.ts) and runs XenCenter's CreateVMAction sequence as one user action
 * (one history entry, one Activity row). Merged into shared/contract/index.ts.
 */
import { z } from 'zod'
import { OperationResult } from './operations'

const Ref = z.string().regex(/^OpaqueRef:[0-9a-fA-F-]+$/, 'must be an OpaqueRef')
const Conn = z.string().min(1)
const Name = z.string().trim().min(1, 'A name is required').max(255)
/** bytes; a disk is at most 2040 GiB (VHD) and at least 1 MiB */
const DiskSize = z.number().int().min(1024 ** 2, 'A disk must be at least 1 MiB').max(2040 * 1024 ** 3, 'A disk can be at most 2040 GiB')
const Memory = z.number().int().min(16 * 1024 ** 2, 'A VM needs at least 16 MiB').max(16 * 1024 ** 4, 'More than 16 TiB of memory')
const Mac = z.string().regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/, 'A MAC address looks like 02:ab:cd:ef:01:23')

/** how the OS gets installed (XenCenter's Installation Media page) */
export const InstallMedia = z.discriminatedUnion('method', [
  /** an ISO (or the physical DVD's VDI), or an empty drive to fill later */
  z.object({ method: z.literal('cd'), vdi: Ref.optional() }).strict(),
  /** PV network install (eliloader templates): other_config install-repository */
  z.object({ method: z.literal('url'), url: z.string().trim().regex(/^(https?|ftp|nfs):\/\/[^\s]+$/, 'An install URL starts with http://, https://, ftp:// or nfs://') }).strict(),
  /** boot from the network first (HVM_boot_params.order ncd) */
  z.object({ method: z.literal('pxe') }).strict(),
  /** a custom template that already holds the OS */
  z.object({ method: z.literal('none') }).strict(),
])
export type InstallMedia = z.infer<typeof InstallMedia>

export const BootMode = z.enum(['bios', 'uefi', 'uefi-secure'])
export type BootMode = z.infer<typeof BootMode>

export const NewDisk = z
  .object({
    /** the position the template's provision XML asks for ('0'); the first free one when taken */
    device: z.string().regex(/^\d{1,3}$/).optional(),
    size: DiskSize,
    sr: Ref,
    name: Name,
    description: z.string().max(4096).optional(),
  })
  .strict()
export type NewDisk = z.infer<typeof NewDisk>

export const NewVif = z.object({ network: Ref, mac: Mac.optional() }).strict()
export type NewVif = z.infer<typeof NewVif>

export const NewVmSpec = z
  .object({
    connectionId: Conn,
    template: Ref,
    name: Name,
    description: z.string().max(4096).default(''),
    /** full copy of the template's own disks to this SR (VM.copy); absent: fast clone (VM.clone) */
    copyTo: Ref.optional(),
    install: InstallMedia,
    /** HVM only; absent on PV templates and on servers without UEFI (XenServer 7.x) */
    bootMode: BootMode.optional(),
    /** PV kernel arguments (PV templates) */
    pvArgs: z.string().max(4096).optional(),
    /** home server (VM.affinity); absent: none */
    homeServer: Ref.optional(),
    vcpusMax: z.number().int().min(1).max(512),
    vcpusAtStartup: z.number().int().min(1).max(512),
    coresPerSocket: z.number().int().min(1).max(512),
    memoryStaticMax: Memory,
    memoryDynamicMin: Memory,
    memoryDynamicMax: Memory,
    /** disks to create (the template's provision XML, as edited); the template's own disks are kept */
    disks: z.array(NewDisk).max(16),
    /** the VM's network interfaces (the template's are replaced) */
    vifs: z.array(NewVif).max(7),
    /** start when made (on the home server when there is one) */
    start: z.boolean().default(false),
  })
  .strict()
export type NewVmSpec = z.infer<typeof NewVmSpec>
export type NewVmSpecInput = z.input<typeof NewVmSpec>

export const provisionMethods = {
  /**
   * VM.clone (or VM.copy to copyTo) of the template; the provision XML dropped and VM.provision;
   * name, description, vCPUs, cores per socket, affinity, memory limits; boot order / firmware /
   * secure boot (HVM) or install-repository / PV args (PV); the DVD drive and its disc; VDI.create
   * + VBD.create per disk; the template's VIFs replaced by VIF.create per network; VM.start(_on).
   * A failure before the start deletes what was made (the VM and every disk made for it) and says
   * so; what could not be deleted is named. `created`: the new VM. A start that fails leaves the
   * VM made and says why (note).
   */
  'vm.create': { args: NewVmSpec, result: OperationResult.extend({ note: z.string().optional() }) },
} as const

export type ProvisionMethodName = keyof typeof provisionMethods
