/**
 * VM and host operations as commands (XenCenter's Command pattern): what each runs on XAPI, and
 * whether it can run on a record right now — with the reason a person reads when it cannot.
 *
 * `canRun` mirrors what XAPI itself decides: `allowed_operations` is recomputed by XAPI after every
 * change (xapi_vm_lifecycle.ml), so it is the source of truth; `current_operations` tells which
 * other operation is in progress; templates and snapshots have their own rules (docs/xapi.md §7.2).
 * Pure code: used by the renderer (menus, toolbar) and by main (validation before calling XAPI).
 */
import type { XapiEnums, XapiRecords } from '../xapi/records.generated'

export type VmRecord = XapiRecords['VM']
export type HostRecord = XapiRecords['host']
type VmOp = XapiEnums['vm_operations']
type HostOp = XapiEnums['host_allowed_operations']

/** true, or the reason it cannot run */
export type CanRun = true | string

export type VmOperationId =
  | 'start'
  | 'start_on'
  | 'clean_shutdown'
  | 'hard_shutdown'
  | 'clean_reboot'
  | 'hard_reboot'
  | 'suspend'
  | 'resume'
  | 'resume_on'
  | 'pause'
  | 'unpause'
  | 'snapshot'
  | 'checkpoint'
  | 'revert'
  | 'clone'
  | 'copy'
  | 'destroy'
  | 'pool_migrate'

export interface VmOperationSpec {
  id: VmOperationId
  label: string
  /** the XAPI message (run as Async.VM.<method>) */
  method: string
  /** the allowed_operations entry XAPI uses for it */
  op: VmOp
  /** needs confirmation before running (destructive or disruptive) */
  confirm: boolean
  /** applies to snapshots rather than to VMs (revert, destroy snapshot) */
  onSnapshot?: boolean
  /** applies to templates too */
  onTemplate?: boolean
  /** extra input the user gives: a target host, a new name */
  needs?: 'host' | 'name' | 'name+sr'
  /** the power states in which XAPI allows it (docs/xapi.md §7.3), to explain refusals */
  powerStates: VmRecord['power_state'][]
}

const ANY: VmRecord['power_state'][] = ['Halted', 'Paused', 'Running', 'Suspended']

export const VM_OPERATIONS: Readonly<Record<VmOperationId, VmOperationSpec>> = {
  start: { id: 'start', label: 'Start', method: 'start', op: 'start', confirm: false, powerStates: ['Halted'] },
  start_on: { id: 'start_on', label: 'Start on Server…', method: 'start_on', op: 'start_on', confirm: false, needs: 'host', powerStates: ['Halted'] },
  clean_shutdown: { id: 'clean_shutdown', label: 'Shut Down', method: 'clean_shutdown', op: 'clean_shutdown', confirm: true, powerStates: ['Running'] },
  hard_shutdown: { id: 'hard_shutdown', label: 'Force Shutdown', method: 'hard_shutdown', op: 'hard_shutdown', confirm: true, powerStates: ['Paused', 'Suspended', 'Running'] },
  clean_reboot: { id: 'clean_reboot', label: 'Reboot', method: 'clean_reboot', op: 'clean_reboot', confirm: true, powerStates: ['Running'] },
  hard_reboot: { id: 'hard_reboot', label: 'Force Reboot', method: 'hard_reboot', op: 'hard_reboot', confirm: true, powerStates: ['Paused', 'Running'] },
  suspend: { id: 'suspend', label: 'Suspend', method: 'suspend', op: 'suspend', confirm: false, powerStates: ['Running'] },
  resume: { id: 'resume', label: 'Resume', method: 'resume', op: 'resume', confirm: false, powerStates: ['Suspended'] },
  resume_on: { id: 'resume_on', label: 'Resume on Server…', method: 'resume_on', op: 'resume_on', confirm: false, needs: 'host', powerStates: ['Suspended'] },
  pause: { id: 'pause', label: 'Pause', method: 'pause', op: 'pause', confirm: false, powerStates: ['Running'] },
  unpause: { id: 'unpause', label: 'Unpause', method: 'unpause', op: 'unpause', confirm: false, powerStates: ['Paused'] },
  snapshot: { id: 'snapshot', label: 'Take Snapshot…', method: 'snapshot', op: 'snapshot', confirm: false, needs: 'name', powerStates: ANY },
  checkpoint: { id: 'checkpoint', label: 'Take Snapshot with Memory…', method: 'checkpoint', op: 'checkpoint', confirm: false, needs: 'name', powerStates: ['Paused', 'Suspended', 'Running'] },
  revert: { id: 'revert', label: 'Revert to Snapshot', method: 'revert', op: 'revert', confirm: true, onSnapshot: true, powerStates: ANY },
  clone: { id: 'clone', label: 'Clone…', method: 'clone', op: 'clone', confirm: false, needs: 'name', onTemplate: true, powerStates: ['Halted'] },
  copy: { id: 'copy', label: 'Copy…', method: 'copy', op: 'copy', confirm: false, needs: 'name+sr', onTemplate: true, powerStates: ['Halted'] },
  destroy: { id: 'destroy', label: 'Delete…', method: 'destroy', op: 'destroy', confirm: true, onSnapshot: true, onTemplate: true, powerStates: ['Halted', 'Suspended'] },
  pool_migrate: { id: 'pool_migrate', label: 'Migrate to Server…', method: 'pool_migrate', op: 'pool_migrate', confirm: false, needs: 'host', powerStates: ['Running'] },
}

const lower = (s: string) => s.toLowerCase()

function kind(vm: VmRecord): string {
  if (vm.is_a_snapshot) return 'snapshot'
  if (vm.is_a_template) return 'template'
  if (vm.is_control_domain) return 'control domain'
  return 'VM'
}

/** Why XAPI would refuse `spec` on `vm`, or true. Order follows xapi_vm_lifecycle.ml's checks. */
export function canRunVm(spec: VmOperationSpec, vm: VmRecord): CanRun {
  const name = vm.name_label || vm.uuid
  if (vm.is_control_domain) return `${name} is a control domain; it is managed through its host`
  const blocked = vm.blocked_operations[spec.op]
  if (blocked !== undefined) return `${spec.label} is blocked on ${name}${blocked ? `: ${blocked}` : ''}`
  if (vm.is_a_snapshot && !spec.onSnapshot && spec.id !== 'clone' && spec.id !== 'copy') {
    return `${name} is a snapshot: only revert, clone, copy, export and delete apply to it`
  }
  if (spec.onSnapshot && spec.id === 'revert' && !vm.is_a_snapshot) return `${name} is not a snapshot`
  if (vm.is_a_template && !vm.is_a_snapshot && !spec.onTemplate) {
    return `${name} is a template: create a VM from it first`
  }
  if (spec.id === 'destroy' && vm.is_default_template) return `${name} is a default template and cannot be deleted`
  const inProgress = Object.values(vm.current_operations)
  if (inProgress.length > 0 && !vm.allowed_operations.includes(spec.op)) {
    return `${name} is busy: ${inProgress.map((o) => o.replace(/_/g, ' ')).join(', ')} in progress`
  }
  if (!spec.powerStates.includes(vm.power_state)) {
    return `${name} is ${lower(vm.power_state)}; ${spec.label.replace(/…$/, '')} needs it ${spec.powerStates.map(lower).join(' or ')}`
  }
  if (!vm.allowed_operations.includes(spec.op)) {
    return `XAPI does not allow ${spec.label.replace(/…$/, '').toLowerCase()} on this ${kind(vm)} now`
  }
  return true
}

export type HostOperationId = 'enter_maintenance' | 'exit_maintenance' | 'reboot' | 'shutdown'

export interface HostOperationSpec {
  id: HostOperationId
  label: string
  /** XAPI calls run in order (maintenance = disable then evacuate) */
  steps: string[]
  confirm: boolean
}

export const HOST_OPERATIONS: Readonly<Record<HostOperationId, HostOperationSpec>> = {
  enter_maintenance: { id: 'enter_maintenance', label: 'Enter Maintenance Mode…', steps: ['disable', 'evacuate'], confirm: true },
  exit_maintenance: { id: 'exit_maintenance', label: 'Exit Maintenance Mode', steps: ['enable'], confirm: false },
  reboot: { id: 'reboot', label: 'Reboot', steps: ['disable', 'reboot'], confirm: true },
  shutdown: { id: 'shutdown', label: 'Shut Down', steps: ['disable', 'shutdown'], confirm: true },
}

/** Maintenance mode as XenCenter shows it: disabled, and marked so by XenCenter's other_config key. */
export function inMaintenance(host: HostRecord): boolean {
  return !host.enabled && host.other_config['MAINTENANCE_MODE'] === 'true'
}

export function canRunHost(spec: HostOperationSpec, host: HostRecord, liveVmsOnHost: number): CanRun {
  const name = host.name_label || host.hostname
  const busy = Object.values(host.current_operations)
  if (busy.length > 0) return `${name} is busy: ${busy.join(', ')} in progress`
  const needOp = (op: HostOp): CanRun => (host.allowed_operations.includes(op) ? true : `XAPI does not allow ${op.replace(/_/g, ' ')} on ${name} now`)
  switch (spec.id) {
    case 'enter_maintenance':
      if (!host.enabled) return `${name} is already disabled`
      return needOp('evacuate')
    case 'exit_maintenance':
      if (host.enabled) return `${name} is not in maintenance mode`
      return true
    case 'reboot':
    case 'shutdown':
      if (liveVmsOnHost > 0) return `${name} still runs ${liveVmsOnHost} VM${liveVmsOnHost === 1 ? '' : 's'}: migrate or shut them down first (or enter maintenance mode)`
      return needOp(spec.id)
  }
}

export type DomainType = 'hvm' | 'pv' | 'pvh' | 'pv_in_pvh'

/**
 * A VM's virtualization mode. `domain_type` exists since XenServer 7.5 (API 2.10); before it
 * (and when it says 'unspecified') the mode follows HVM_boot_policy, as XenCenter does: set → HVM,
 * empty → PV. undefined when the record carries neither.
 */
export function domainType(vm: { domain_type?: unknown; HVM_boot_policy?: unknown }): DomainType | undefined {
  const d = vm.domain_type
  if (d === 'hvm' || d === 'pv' || d === 'pvh' || d === 'pv_in_pvh') return d
  if (typeof vm.HVM_boot_policy === 'string') return vm.HVM_boot_policy === '' ? 'pv' : 'hvm'
  return undefined
}
