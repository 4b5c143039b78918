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


/** one edit of a string map (other_config, xenstore_data): keys set (added or replaced) and removed */
const MapKey = z.string().trim().min(1, 'A key cannot be empty').max(255).regex(/^[^\s]+$/, 'A key has no spaces')
export const MapEdit = z
  .object({ set: z.record(MapKey, z.string().max(4096)).default({}), remove: z.array(MapKey).max(256).default([]) })
  .strict()
  .refine((e) => Object.keys(e.set).length <= 256, 'At most 256 keys at once')

/**
 * The settings of VM Properties that changed (absent: unchanged). Memory is the whole range (XAPI
 * checks the order on the merged values); the static minimum stays the VM's.
 */
export const VmChanges = z
  .object({
    name: Name.optional(),
    description: z.string().max(4096).optional(),
    vcpusMax: z.number().int().min(1).max(512).optional(),
    /** halted: VCPUs_at_startup; running: vCPU hot-plug (VM.set_VCPUs_number_live) */
    vcpusAtStartup: z.number().int().min(1).max(512).optional(),
    coresPerSocket: z.number().int().min(1).max(512).optional(),
    /** VCPUs_params weight: the credit scheduler's share (XenCenter's priority; 256 is normal) */
    cpuWeight: z.number().int().min(1, 'A CPU weight is at least 1').max(65535, 'A CPU weight is at most 65535').optional(),
    /** VCPUs_params cap: at most this % of one physical CPU (100 = one whole CPU); 0 = no cap */
    cpuCap: z.number().int().min(0).max(51200).optional(),
    memory: z.object({ staticMax: Memory, dynamicMin: Memory, dynamicMax: Memory }).strict().optional(),
    /** HVM_boot_params order: c disk, d DVD, n network, each at most once */
    bootOrder: z
      .string()
      .regex(/^[cdn]{1,3}$/, 'A boot order is made of c (disk), d (DVD) and n (network)')
      .refine((s) => new Set(s).size === s.length, 'Each boot device appears once')
      .optional(),
    bootMode: BootMode.optional(),
    /** VM.affinity; '' for none */
    homeServer: Ref.or(z.literal('')).optional(),
    startOrder: z.number().int().min(0).max(1_000_000).optional(),
    startDelay: z.number().int().min(0).max(86_400).optional(),
    shutdownDelay: z.number().int().min(0).max(86_400).optional(),
    haRestartPriority: z.enum(['restart', 'best-effort', '']).optional(),
    viridian: z.boolean().optional(),
    nestedVirt: z.boolean().optional(),
    pvArgs: z.string().max(4096).optional(),
    otherConfig: MapEdit.optional(),
    xenstoreData: MapEdit.optional(),
  })
  .strict()
export type VmChanges = z.infer<typeof VmChanges>
export type VmChangesInput = z.input<typeof VmChanges>


const StrMap = z.record(z.string(), z.string())
/**
 * The settings of a VM (or template) that the renderer's slim records leave out
 * (shared/model/slim.ts RENDERER_UNUSED_FIELDS): read from main's graph of the pool when VM
 * Properties or the New VM wizard opens. The dialog merges them under the live record.
 */
export const VmSettingsRecord = z
  .object({
    platform: StrMap,
    HVM_boot_params: StrMap,
    xenstore_data: StrMap,
    other_config: StrMap,
    PV_args: z.string(),
    PV_bootloader: z.string(),
    start_delay: z.number(),
    shutdown_delay: z.number(),
    order: z.number(),
    memory_static_min: z.number(),
    recommendations: z.string(),
    /** VCPUs_params: weight (CPU priority, default 256), cap (% of one CPU, 0 = none), mask */
    VCPUs_params: StrMap,
    /** the VM has started at least once (last_boot_CPU_flags set): XenCenter then keeps its firmware */
    booted: z.boolean(),
    /** every server could run the VM (VM.assert_agile as a rule), or why not: HA's "restart" needs it (XenCenter offers it only then) */
    agility: z.union([z.literal(true), z.string().max(1000)]),
    /** the network of each of its VIFs, by device order (a custom template's or snapshot's NICs, proposed again) */
    vifNetworks: z.array(z.string()).max(64),
    /** devices passed through or emulated, as sentences' parts (read-only pages: GPU, USB, vTPM) */
    devices: z
      .object({
        /** each vGPU: '<GPU group> (<vGPU type>)' */
        vgpus: z.array(z.string()).max(64),
        /** GPU groups of the pool that have a physical GPU */
        gpuGroups: z.number().int().min(0),
        /** each passed-through USB device: '<product> on <server>' or its group's name */
        vusbs: z.array(z.string()).max(64),
        /** physical USB devices of the pool that may be passed through (PUSB.passthrough_enabled) */
        pusbs: z.number().int().min(0),
        /** the VM's vTPMs */
        vtpms: z.number().int().min(0),
        /** the datamodel of this pool has the VTPM class (XCP-ng 8.3 / XenServer 8) */
        vtpmSupported: z.boolean(),
      })
      .strict(),
  })
  .strict()
export type VmSettingsRecord = z.infer<typeof VmSettingsRecord>

export const TemplateAction = z.enum(['to-template', 'to-vm', 'from-snapshot'])
export type TemplateAction = z.infer<typeof TemplateAction>

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
  /**
   * VM Properties: exactly the changed settings, through XAPI's setters in an order XAPI accepts
   * (vCPU maximum raised before at-startup, VM.set_memory_limits while halted or
   * VM.set_memory_dynamic_range while running, vCPU hot-plug while running). Refused with the
   * reason when a setting cannot change in the VM's state (shared/operations/vm-properties.ts).
   * One history entry ('Properties') naming the changed settings.
   */
  'vm.configure': {
    args: z
      .object({ connectionId: Conn, ref: Ref, changes: VmChanges.refine((c) => Object.values(c).some((v) => v !== undefined), 'Nothing was changed') })
      .strict(),
    result: OperationResult.extend({ note: z.string().optional() }),
  },
  /**
   * Templates: 'to-template' (VM.set_is_a_template true; halted VMs), 'to-vm' (false; custom
   * templates only), 'from-snapshot' (VM.clone of a snapshot under `name`: XAPI makes it a
   * template). `created`: the new template of 'from-snapshot'.
   */
  /** the fields of VmSettingsRecord, from main's graph of the pool (not a XAPI call) */
  'vm.settings': { args: z.object({ connectionId: Conn, ref: Ref }).strict(), result: VmSettingsRecord },
  'vm.template': {
    args: z.object({ connectionId: Conn, ref: Ref, action: TemplateAction, name: Name.optional() }).strict(),
    result: OperationResult,
  },
} as const

export type ProvisionMethodName = keyof typeof provisionMethods
