/**
 * VM Properties (issue 14; XenCenter's property pages): which setting can change in the VM's
 * current state, whether it applies now or at the next boot, and whether a set of changes is
 * allowed — with the reason a person reads. XAPI's own rules (xapi_vm_lifecycle.ml power states
 * for changing_VCPUs / changing_static_range / changing_dynamic_range / changing_VCPUs_live,
 * vm_memory_constraints.ml, xapi_vm.ml VCPU limits, xapi_vm_helpers.ml ha_restart_priority) plus
 * XenCenter's (boot mode only while halted, cores per socket divides the maximum). Pure code: the
 * dialog disables and explains with it, main checks the same changes again before calling XAPI.
 *
 * Also the template conversions (XenCenter's ConvertToTemplate, "New template from snapshot",
 * template back to VM as Xen Orchestra offers it) as canRun rules.
 */
import type { VmChanges } from '../contract/provision'
import { topologyHome, topologyLimit, topologyProblem, type TopologyLimit } from './cpu-topology'
import { haPriorityProblem, vmAgility } from './ha'
import { bootModeRefusal, templateKind, type TemplateKind } from './provision'
import type { Rec, StorageView } from './storage'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) || 0 : 0)
const map = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {})
const ops = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])

export type When = 'now' | 'next-boot'
/** a setting: editable (applies now or at the next boot) or not, and why */
export type FieldState = { ok: true; when: When } | { ok: false; why: string }

export const PROPERTY_FIELDS = [
  'name',
  'description',
  'vcpusMax',
  'vcpusAtStartup',
  'coresPerSocket',
  'cpuPriority',
  'memoryStatic',
  'memoryDynamic',
  'bootOrder',
  'bootMode',
  'homeServer',
  'startOptions',
  'haRestartPriority',
  'viridian',
  'nestedVirt',
  'pvArgs',
  'otherConfig',
  'xenstoreData',
] as const
export type PropertyField = (typeof PROPERTY_FIELDS)[number]
export type PropertyRules = Record<PropertyField, FieldState>

/** the platform key of nested virtualisation (XCP-ng 8.x and XenServer 7.x/8 read it) */
export const NESTED_VIRT_KEY = 'exp-nested-hvm'

const now: FieldState = { ok: true, when: 'now' }
const atBoot: FieldState = { ok: true, when: 'next-boot' }
const no = (why: string): FieldState => ({ ok: false, why })

/** the settings of a VM and what may change about each now */
export function propertyRules(vm: Rec): PropertyRules {
  const name = str(vm.name_label) || 'This VM'
  const power = str(vm.power_state) || 'Halted'
  const halted = power === 'Halted'
  const kind: TemplateKind = templateKind(vm)
  const isSnapshot = vm.is_a_snapshot === true
  const isTemplate = vm.is_a_template === true && !isSnapshot
  const allowed = ops(vm.allowed_operations)
  const state = power.toLowerCase()
  const whenHalted = (what: string): FieldState => (halted ? atBoot : no(`${what} can change only while ${name} is shut down (it is ${state}).`))
  const all = {} as PropertyRules
  if (vm.is_control_domain === true) {
    for (const f of PROPERTY_FIELDS) all[f] = no(`${name} is a control domain; it is managed through its server.`)
    return all
  }
  if (isSnapshot) {
    for (const f of PROPERTY_FIELDS) all[f] = no('A snapshot keeps the settings it was taken with; only its name and description change.')
    all.name = now
    all.description = now
    return all
  }
  all.name = now
  all.description = now
  all.vcpusMax = whenHalted('The maximum number of vCPUs')
  if (halted) all.vcpusAtStartup = atBoot
  else if (power === 'Running' && allowed.includes('changing_VCPUs_live')) all.vcpusAtStartup = now
  else if (power === 'Running') all.vcpusAtStartup = no(`${name} does not allow vCPU hot-plug now; shut it down to change its vCPUs.`)
  else all.vcpusAtStartup = no(`The number of vCPUs can change only while ${name} is shut down or running (it is ${state}).`)
  all.coresPerSocket = whenHalted('The cores per socket')
  // XenCenter's CPU page: the priority (VCPUs_params weight/cap) is read by Xen when the domain is built
  all.cpuPriority = whenHalted('The CPU priority')
  all.memoryStatic = whenHalted('The static memory limits')
  all.memoryDynamic = halted ? atBoot : power === 'Running' ? now : no(`The dynamic memory range can change only while ${name} is shut down or running (it is ${state}).`)
  all.bootOrder = kind === 'hvm' ? atBoot : no('A PV guest boots through its bootloader: it has no boot order.')
  all.bootMode = kind !== 'hvm' ? no('A PV guest has no firmware to choose.') : whenHalted('The boot mode')
  all.homeServer = now
  all.startOptions = isTemplate ? no('A template is never started: it has no start order.') : now
  if (isTemplate) all.haRestartPriority = no('A template is never started: HA does not restart it.')
  else all.haRestartPriority = now
  all.viridian = kind === 'hvm' ? atBoot : no('Viridian enlightenments are for HVM (Windows) guests only.')
  all.nestedVirt = kind === 'hvm' ? atBoot : no('Nested virtualisation needs an HVM guest.')
  all.pvArgs = kind === 'hvm' ? no('Kernel arguments are for PV guests only.') : atBoot
  all.otherConfig = now
  all.xenstoreData = atBoot
  return all
}

/**
 * A VM's live record (the renderer's, whose dropped fields may be there as undefined) over the
 * settings vm.settings read from main's graph: a live value wins only where it has one.
 */
export function withSettings(settings: Rec, live: Rec | undefined): Rec {
  const out: Rec = { ...settings }
  for (const [k, v] of Object.entries(live ?? {})) if (v !== undefined) out[k] = v
  return out
}

/** the memory values XAPI holds */
export interface MemoryLimits {
  staticMin: number
  staticMax: number
  dynamicMin: number
  dynamicMax: number
}

export function memoryOf(vm: Rec): MemoryLimits {
  return { staticMin: num(vm.memory_static_min), staticMax: num(vm.memory_static_max), dynamicMin: num(vm.memory_dynamic_min), dynamicMax: num(vm.memory_dynamic_max) }
}

export const MEMORY_ORDER = 'Memory must satisfy: static minimum ≤ dynamic minimum ≤ dynamic maximum ≤ static maximum.'

export function bootOrderOf(vm: Rec): string {
  return str(map(vm.HVM_boot_params)['order']) || 'cd'
}

export function bootModeOf(vm: Rec): 'bios' | 'uefi' | 'uefi-secure' {
  if (str(map(vm.HVM_boot_params)['firmware']) !== 'uefi') return 'bios'
  return str(map(vm.platform)['secureboot']) === 'true' ? 'uefi-secure' : 'uefi'
}

export function coresPerSocketOf(vm: Rec): number {
  return Number(str(map(vm.platform)['cores-per-socket'])) || 1
}

export type BootMode = 'bios' | 'uefi' | 'uefi-secure'
export const BOOT_MODE_NAME: Record<BootMode, string> = { bios: 'BIOS', uefi: 'UEFI', 'uefi-secure': 'UEFI Secure Boot' }

/**
 * XenCenter's boot mode rules (BootModesControl, VM.CanChangeBootMode): UEFI and UEFI Secure Boot
 * only where the VM's recommendations say it supports them; once the VM has started, its firmware
 * stays what the installed OS was set up for — a VM that booted UEFI cannot go back to BIOS, one
 * that booted BIOS cannot go to UEFI (secure boot on or off stays possible within UEFI). NVRAM is
 * kept as it is (XAPI, XenCenter and Xen Orchestra never clear it on a firmware change).
 */
export function bootModeChoices(vm: Rec): Record<BootMode, true | string> {
  const current = bootModeOf(vm)
  const out = {} as Record<BootMode, true | string>
  for (const m of ['bios', 'uefi', 'uefi-secure'] as const) {
    const why = m === current ? undefined : bootModeRefusal(vm, m)
    out[m] = why === undefined ? true : `${why}.`
  }
  return out
}

/** the device-model platform value that boots this firmware (qemu-upstream-compat ↔ qemu-upstream-uefi) */
export function firmwareDeviceModel(current: string, firmware: 'bios' | 'uefi'): string {
  if (firmware === 'uefi') return current === 'qemu-trad' || current === 'qemu-upstream-compat' ? 'qemu-upstream-uefi' : current
  return current === 'qemu-upstream-uefi' ? 'qemu-upstream-compat' : current
}

/** what changes with the firmware, said before OK */
export function bootModeWarning(from: BootMode, to: BootMode): string | null {
  if (from === to) return null
  if ((from === 'bios') !== (to === 'bios')) {
    return `An OS installed for ${from === 'bios' ? 'BIOS' : 'UEFI'} does not boot with ${to === 'bios' ? 'BIOS' : 'UEFI'}: change this only before the OS is installed. The UEFI variables (NVRAM) are kept.`
  }
  return to === 'uefi-secure' ? 'With Secure Boot the VM boots only a signed boot loader and kernel (the OS must support Secure Boot).' : null
}

const FIELD_OF: Record<keyof VmChanges, PropertyField> = {
  name: 'name',
  description: 'description',
  vcpusMax: 'vcpusMax',
  vcpusAtStartup: 'vcpusAtStartup',
  coresPerSocket: 'coresPerSocket',
  cpuWeight: 'cpuPriority',
  cpuCap: 'cpuPriority',
  memory: 'memoryDynamic',
  bootOrder: 'bootOrder',
  bootMode: 'bootMode',
  homeServer: 'homeServer',
  startOrder: 'startOptions',
  startDelay: 'startOptions',
  shutdownDelay: 'startOptions',
  haRestartPriority: 'haRestartPriority',
  viridian: 'viridian',
  nestedVirt: 'nestedVirt',
  pvArgs: 'pvArgs',
  otherConfig: 'otherConfig',
  xenstoreData: 'xenstoreData',
}

/** what a check needs to know of the pool beyond the VM (main reads it from its graph; the dialog from the store and vm.settings) */
export interface PoolFacts {
  /** the cores per socket the VM's topology must fit (shared/operations/cpu-topology.ts topologyLimit) */
  topology: TopologyLimit
  /** whether every server could run the VM (shared/operations/ha.ts vmAgility): HA's "restart" needs it */
  agility: true | string
}

/** the topology limit for `vm` with these changes (the home server being chosen counts) */
export function vmTopologyLimit(view: Pick<StorageView, 'get' | 'hosts'>, vm: Rec, changes: VmChanges = {}): TopologyLimit {
  const home = topologyHome(vm, changes.homeServer)
  return topologyLimit(view.hosts().map((h) => view.get('host', h)), home !== undefined ? view.get('host', home) : undefined)
}

/** the PoolFacts of the VM `ref` from a pool view that holds its drives and NICs (main's graph) */
export function vmPoolFacts(view: Pick<StorageView, 'get' | 'hosts'>, ref: string, vm: Rec, changes: VmChanges = {}): PoolFacts {
  return { topology: vmTopologyLimit(view, vm, changes), agility: vmAgility(view, ref) }
}

/**
 * Whether these changes may be applied to `vm` now: every changed setting editable in this state,
 * vCPUs 0 < at startup ≤ maximum, the topology valid (cores per socket dividing the maximum, at
 * most 16 sockets, no more cores per socket than the server has), HA's "restart" only for a VM every
 * server can run, memory in XAPI's order (static limits only while halted). True, or the first reason.
 */
export function checkVmChanges(vm: Rec, changes: VmChanges, pool: PoolFacts): true | string {
  const rules = propertyRules(vm)
  for (const key of Object.keys(changes) as (keyof VmChanges)[]) {
    if (changes[key] === undefined) continue
    const field = FIELD_OF[key]
    const r = rules[field]
    if (!r.ok) return r.why
  }
  const max = changes.vcpusMax ?? num(vm.VCPUs_max)
  const start = changes.vcpusAtStartup ?? num(vm.VCPUs_at_startup)
  if (changes.vcpusMax !== undefined || changes.vcpusAtStartup !== undefined) {
    if (start < 1 || start > max) return `vCPUs at startup (${start}) must be at least 1 and at most the maximum (${max}).`
  }
  if (changes.vcpusMax !== undefined || changes.coresPerSocket !== undefined) {
    const why = topologyProblem(max, changes.coresPerSocket ?? coresPerSocketOf(vm), pool.topology)
    if (why !== undefined) return `${why}.`
  }
  if (changes.haRestartPriority !== undefined) {
    const why = haPriorityProblem(str(vm.ha_restart_priority), changes.haRestartPriority, pool.agility)
    if (why !== undefined) return why
  }
  if (changes.bootMode !== undefined) {
    const ok = bootModeChoices(vm)[changes.bootMode]
    if (ok !== true) return ok
  }
  if (changes.memory) {
    const cur = memoryOf(vm)
    const m = changes.memory
    if (m.staticMax !== cur.staticMax && !rules.memoryStatic.ok) return rules.memoryStatic.why
    if (!(cur.staticMin <= m.dynamicMin && m.dynamicMin <= m.dynamicMax && m.dynamicMax <= m.staticMax)) {
      const minNote = m.dynamicMin < cur.staticMin ? ` The static minimum is ${Math.round(cur.staticMin / 1024 ** 2)} MiB.` : ''
      return `These memory limits are out of order. ${MEMORY_ORDER}${minNote}`
    }
  }
  return true
}

/** the changed settings only (the dialog sends exactly these); a map edit with nothing in it is no change */
export function changedOnly(changes: VmChanges): VmChanges {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) continue
    if ((k === 'otherConfig' || k === 'xenstoreData') && typeof v === 'object' && v !== null) {
      const e = v as { set: Record<string, string>; remove: string[] }
      if (Object.keys(e.set).length === 0 && e.remove.length === 0) continue
    }
    out[k] = v
  }
  return out as VmChanges
}

// ---------------------------------------------------------------------------------------------
// Templates

/** VM → template (VM.set_is_a_template true): a halted VM that is not a snapshot */
export function canConvertToTemplate(vm: Rec): true | string {
  const name = str(vm.name_label) || 'This VM'
  if (vm.is_control_domain === true) return `${name} is a control domain`
  if (vm.is_a_snapshot === true) return `${name} is a snapshot: make a template from it with New Template from Snapshot`
  if (vm.is_a_template === true) return `${name} is already a template`
  const blocked = map(vm.blocked_operations)['make_into_template']
  if (blocked !== undefined) return `Convert to template is blocked on ${name}${str(blocked) ? `: ${str(blocked)}` : ''}`
  if (Object.keys(map(vm.current_operations)).length > 0) return `${name} is busy with another operation`
  if (str(vm.power_state) !== 'Halted') return `${name} is ${str(vm.power_state).toLowerCase()}; shut it down before converting it to a template`
  return true
}

/** template → VM (VM.set_is_a_template false): a custom template; a built-in one stays as it is */
export function canConvertToVm(vm: Rec): true | string {
  const name = str(vm.name_label) || 'This template'
  if (vm.is_a_snapshot === true || vm.is_a_template !== true) return `${name} is not a template`
  if (vm.is_default_template === true || str(map(vm.other_config)['default_template']) === 'true') {
    return `${name} is a built-in template: make a new VM from it instead`
  }
  if (Object.keys(map(vm.current_operations)).length > 0) return `${name} is busy with another operation`
  return true
}

/**
 * snapshot → new template (VM.clone of the snapshot: XAPI makes the clone of a snapshot a
 * template), and the New VM wizard on a snapshot (XenCenter's New VM from Snapshot: the same clone,
 * then VM.provision makes it a VM)
 */
export function canCloneSnapshot(vm: Rec): true | string {
  const name = str(vm.name_label) || 'This snapshot'
  if (vm.is_a_snapshot !== true) return `${name} is not a snapshot`
  if (!ops(vm.allowed_operations).includes('clone')) return `XAPI does not allow cloning ${name} now`
  return true
}
