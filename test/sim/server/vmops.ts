/**
 * VM operation checks as xapi_vm_lifecycle.ml makes them, in XAPI's order: blocked_operations,
 * power state, concurrency, template, snapshot. allowed_operations is the set of operations that
 * pass these checks, recomputed after every change.
 */
import { ENUMS } from '../../../shared/xapi/datamodel.generated'
import { SimXapiError, type SimRecord, type SimValue } from '../model'
import { refreshVmVifOperations } from './network'
import type { PoolState } from './pool'

type Power = 'Halted' | 'Paused' | 'Running' | 'Suspended'

const POWER: Record<string, readonly Power[]> = {
  start: ['Halted'],
  start_on: ['Halted'],
  provision: ['Halted'],
  make_into_template: ['Halted'],
  changing_VCPUs: ['Halted'],
  changing_static_range: ['Halted'],
  changing_shadow_memory: ['Halted'],
  unpause: ['Paused'],
  resume: ['Suspended'],
  resume_on: ['Suspended'],
  clean_shutdown: ['Running'],
  clean_reboot: ['Running'],
  pause: ['Running'],
  suspend: ['Running'],
  pool_migrate: ['Running'],
  changing_VCPUs_live: ['Running'],
  hard_reboot: ['Paused', 'Running'],
  hard_shutdown: ['Paused', 'Suspended', 'Running'],
  shutdown: ['Paused', 'Suspended', 'Running'],
  checkpoint: ['Paused', 'Suspended', 'Running'],
  destroy: ['Halted', 'Suspended'],
  export: ['Halted', 'Suspended'],
  clone: ['Halted'],
  copy: ['Halted'],
  migrate_send: ['Halted', 'Suspended', 'Running'],
  changing_dynamic_range: ['Halted', 'Running'],
}

const TEMPLATE_OPS = new Set([
  'clone',
  'copy',
  'export',
  'metadata_export',
  'provision',
  'changing_dynamic_range',
  'changing_static_range',
  'changing_memory_limits',
  'changing_shadow_memory',
  'changing_VCPUs',
  'changing_NVRAM',
])
const SNAPSHOT_OPS = new Set(['revert', 'clone', 'copy', 'export', 'destroy', 'hard_shutdown', 'metadata_export'])
/** operations still allowed while another one runs (a hard shutdown may interrupt a clean one) */
const CONCURRENT_OK = new Set(['hard_shutdown', 'hard_reboot'])

const CANDIDATES = [
  'snapshot',
  'clone',
  'copy',
  'revert',
  'checkpoint',
  'provision',
  'start',
  'start_on',
  'pause',
  'unpause',
  'clean_shutdown',
  'clean_reboot',
  'hard_shutdown',
  'hard_reboot',
  'suspend',
  'resume',
  'resume_on',
  'pool_migrate',
  'migrate_send',
  'destroy',
  'export',
  'make_into_template',
  'changing_dynamic_range',
  'changing_static_range',
  'changing_shadow_memory',
  'changing_VCPUs',
  'changing_VCPUs_live',
]

function isDefaultTemplate(vm: SimRecord): boolean {
  const oc = vm['other_config']
  return vm['is_default_template'] === true || (!!oc && typeof oc === 'object' && !Array.isArray(oc) && oc['default_template'] === 'true')
}

function currentOps(vm: SimRecord): [string, string][] {
  const c = vm['current_operations']
  if (!c || typeof c !== 'object' || Array.isArray(c)) return []
  return Object.entries(c).map(([task, op]) => [task, String(op)])
}

/** throws the XAPI error that forbids `op` on this VM, if any */
export function checkVmOperation(ref: string, vm: SimRecord, op: string, opts: { ignoreCurrent?: string } = {}): void {
  if (vm['is_control_domain'] === true) throw new SimXapiError(['OPERATION_NOT_ALLOWED', `Operation ${op} is not allowed on a control domain`])
  const blocked = vm['blocked_operations']
  if (blocked && typeof blocked === 'object' && !Array.isArray(blocked) && blocked[op] !== undefined) {
    throw new SimXapiError(['OPERATION_BLOCKED', ref, String(blocked[op])])
  }
  const power = String(vm['power_state'] ?? 'Halted')
  const isSnapshot = vm['is_a_snapshot'] === true
  let allowed = POWER[op]
  if ((op === 'clone' || op === 'copy') && isSnapshot) allowed = ['Halted', 'Suspended']
  if (allowed && !allowed.includes(power as Power)) {
    throw new SimXapiError(['VM_BAD_POWER_STATE', ref, allowed.map((p) => p.toLowerCase()).join(', '), power.toLowerCase()])
  }
  const running = currentOps(vm).filter(([task]) => task !== opts.ignoreCurrent)
  const first = running[0]
  if (first && !CONCURRENT_OK.has(op)) throw new SimXapiError(['OTHER_OPERATION_IN_PROGRESS', 'VM', ref, first[1], first[0]])
  if (isSnapshot) {
    if (!SNAPSHOT_OPS.has(op)) throw new SimXapiError(['VM_IS_SNAPSHOT', ref, op])
  } else if (vm['is_a_template'] === true) {
    const ok = TEMPLATE_OPS.has(op) || ((op === 'destroy' || op === 'migrate_send') && !isDefaultTemplate(vm))
    if (!ok) throw new SimXapiError(['VM_IS_TEMPLATE', ref, op])
  }
  if (op === 'destroy' && isDefaultTemplate(vm)) throw new SimXapiError(['VM_CANNOT_DELETE_DEFAULT_TEMPLATE', ref])
  if (op === 'provision' && vm['is_a_template'] !== true) throw new SimXapiError(['PROVISION_ONLY_ALLOWED_ON_TEMPLATE'])
  if (op === 'revert' && !isSnapshot) throw new SimXapiError(['ONLY_REVERT_SNAPSHOT'])
}

export function allowedVmOperations(pool: PoolState, ref: string, vm: SimRecord): string[] {
  const known = new Set(ENUMS['vm_operations'] ?? [])
  const out: string[] = []
  // the refusals below are thrown and dropped: without capturing a stack for each. Every
  // VM.set_name_description refreshes allowed_operations, and the stacks were most of its cost: the
  // P2 bench's simulator took 1.5–1.9 s to make 10,000 changes before, 0.5–0.7 s after (its live
  // line printed the simulator's speed, not the client's)
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    for (const op of CANDIDATES) {
      if (!known.has(op)) continue
      if (op === 'pool_migrate' && pool.spec.hosts.length < 2) continue
      try {
        checkVmOperation(ref, vm, op)
        out.push(op)
      } catch {
        // not allowed now
      }
    }
  } finally {
    Error.stackTraceLimit = limit
  }
  return out
}

export function refreshAllowedOperations(pool: PoolState, ref: string): void {
  const vm = pool.db.get('VM', ref)
  if (!vm) return
  // VIF plug/unplug follow the VM's power state (message_forwarding.ml after every VM operation)
  refreshVmVifOperations(pool, vm)
  const next = allowedVmOperations(pool, ref, vm)
  const cur = vm['allowed_operations']
  if (Array.isArray(cur) && cur.length === next.length && cur.every((x, i) => x === next[i])) return
  pool.db.update('VM', ref, { allowed_operations: next })
}

export function setCurrentOperation(pool: PoolState, ref: string, taskRef: string, op: string | undefined): void {
  const vm = pool.db.get('VM', ref)
  if (!vm) return
  const cur = vm['current_operations']
  const next: Record<string, SimValue> = cur && typeof cur === 'object' && !Array.isArray(cur) ? { ...cur } : {}
  if (op === undefined) delete next[taskRef]
  else next[taskRef] = op
  const updated = pool.db.update('VM', ref, { current_operations: next })
  pool.db.update('VM', ref, { allowed_operations: allowedVmOperations(pool, ref, updated) })
  refreshVmVifOperations(pool, updated)
}
