/**
 * Initial allowed_operations as XAPI's update_allowed_operations leaves them (docs/xapi.md §7.2-7.3,
 * orders as observed in real records). The server recomputes them after lifecycle changes; these
 * are the values a freshly connected client sees.
 */
import type { SimRecord, SimValue } from '../model'

const RUNNING_WITH_TOOLS = [
  'changing_dynamic_range',
  'migrate_send',
  'pool_migrate',
  'changing_VCPUs_live',
  'suspend',
  'hard_reboot',
  'hard_shutdown',
  'clean_reboot',
  'clean_shutdown',
  'pause',
  'checkpoint',
  'snapshot',
]
// Without PV drivers XAPI refuses suspend, live migration and checkpoint (VM_MISSING_PV_DRIVERS).
const RUNNING_NO_TOOLS = ['changing_dynamic_range', 'hard_reboot', 'hard_shutdown', 'clean_reboot', 'clean_shutdown', 'pause', 'snapshot']
const HALTED = [
  'changing_dynamic_range',
  'changing_shadow_memory',
  'changing_static_range',
  'make_into_template',
  'migrate_send',
  'destroy',
  'export',
  'start_on',
  'start',
  'clone',
  'copy',
  'snapshot',
]
const SUSPENDED = ['migrate_send', 'destroy', 'export', 'hard_shutdown', 'resume_on', 'resume', 'checkpoint', 'snapshot']
const PAUSED = ['hard_reboot', 'hard_shutdown', 'unpause', 'checkpoint', 'snapshot']
const DEFAULT_TEMPLATE = ['changing_dynamic_range', 'changing_shadow_memory', 'changing_static_range', 'changing_memory_limits', 'changing_VCPUs', 'clone', 'copy', 'export', 'provision', 'metadata_export']
const CUSTOM_TEMPLATE = [...DEFAULT_TEMPLATE, 'destroy', 'migrate_send']
const SNAPSHOT_HALTED = ['revert', 'clone', 'copy', 'export', 'destroy', 'metadata_export']
const SNAPSHOT_SUSPENDED = ['revert', 'copy', 'export', 'destroy', 'hard_shutdown', 'metadata_export']

function keysOf(v: SimValue | undefined): string[] {
  return v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : []
}

export function vmAllowedOperations(vm: SimRecord, hasTools: boolean): string[] {
  if (vm.is_control_domain === true) return []
  let ops: string[]
  if (vm.is_a_snapshot === true) ops = vm.power_state === 'Suspended' ? SNAPSHOT_SUSPENDED : SNAPSHOT_HALTED
  else if (vm.is_a_template === true) ops = vm.is_default_template === true ? DEFAULT_TEMPLATE : CUSTOM_TEMPLATE
  else {
    switch (vm.power_state) {
      case 'Running':
        ops = hasTools ? RUNNING_WITH_TOOLS : RUNNING_NO_TOOLS
        break
      case 'Paused':
        ops = PAUSED
        break
      case 'Suspended':
        ops = SUSPENDED
        break
      default:
        ops = HALTED
    }
  }
  // blocked operations fail XAPI's first check, so they never show up as allowed
  const blocked = new Set(keysOf(vm.blocked_operations))
  return ops.filter((op) => !blocked.has(op))
}

/** `hotplug`: the guest can hot-plug drives (PV drivers, or a PV guest); without it XAPI refuses unplug */
export function vbdAllowedOperations(vbd: SimRecord, vmRunning: boolean, hotplug = true): string[] {
  const cd = vbd.type === 'CD'
  const empty = vbd.empty === true
  if (vmRunning) {
    const ops = ['attach', 'unpause']
    if (cd) ops.push(empty ? 'insert' : 'eject')
    else if (vbd.bootable !== true && hotplug) ops.push('unplug', 'unplug_force')
    ops.push('pause')
    return ops
  }
  const ops = ['attach']
  if (cd) ops.push(empty ? 'insert' : 'eject')
  return ops
}

export function vdiAllowedOperations(opts: { attachedToRunning: boolean; iso: boolean; snapshot: boolean; suspend: boolean }): string[] {
  if (opts.iso) return ['forget', 'destroy', 'update', 'copy', 'clone']
  if (opts.suspend) return []
  if (opts.attachedToRunning) return ['clone', 'snapshot']
  if (opts.snapshot) return ['forget', 'generate_config', 'update', 'destroy', 'copy', 'clone', 'list_changed_blocks', 'data_destroy']
  return ['forget', 'generate_config', 'update', 'resize', 'destroy', 'clone', 'copy', 'snapshot', 'mirror', 'enable_cbt']
}

export function vifAllowedOperations(vmRunning: boolean): string[] {
  return vmRunning ? ['attach', 'unplug'] : ['attach']
}

export const SR_OPERATIONS_BLOCK = [
  'unplug',
  'plug',
  'pbd_create',
  'update',
  'pbd_destroy',
  'vdi_resize',
  'vdi_clone',
  'scan',
  'vdi_snapshot',
  'vdi_mirror',
  'vdi_create',
  'vdi_destroy',
]
export const SR_OPERATIONS_ISO = ['forget', 'vdi_introduce', 'unplug', 'plug', 'pbd_create', 'update', 'pbd_destroy', 'scan', 'vdi_clone', 'vdi_destroy']
export const SR_OPERATIONS_UDEV = ['forget', 'vdi_introduce', 'unplug', 'plug', 'pbd_create', 'update', 'pbd_destroy', 'scan', 'vdi_destroy']

export const HOST_OPERATIONS = ['vm_migrate', 'provision', 'vm_resume', 'evacuate', 'vm_start']
