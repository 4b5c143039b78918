/**
 * Storage operation checks as xapi makes them, in xapi's order, for VBDs (xapi_vbd_helpers.ml
 * valid_operations), VDIs (xapi_vdi.ml check_operation_error) and SRs (xapi_sr_operations.ml
 * valid_operations). `allowed_operations` of each is the set of candidate operations that pass,
 * recomputed whenever something they read changes (attach state, power state, PBDs, current
 * operations). Pure reads of the pool database; the handlers in storage.ts act on them.
 */
import { SimXapiError, type SimRecord, type SimValue } from '../model'
import type { PoolState } from './pool'
import { NULL_REF } from './schema'

export const str = (v: SimValue | undefined): string => (typeof v === 'string' ? v : '')
export const arr = (v: SimValue | undefined): SimValue[] => (Array.isArray(v) ? v : [])
export const obj = (v: SimValue | undefined): Record<string, SimValue> => (v && typeof v === 'object' && !Array.isArray(v) ? v : {})
export const num = (v: SimValue | undefined): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) || 0 : 0)
export const refs = (v: SimValue | undefined): string[] => arr(v).map(str).filter((r) => r !== '' && r !== NULL_REF)

type Failure = string[]
const fail = (...description: string[]): Failure => description

// ---------------------------------------------------------------------------------------------
// what the checks read

/** the SM features of an SR type (SM.capabilities, 'VDI_RESET_ON_BOOT/2' → 'VDI_RESET_ON_BOOT') */
export function smFeatures(pool: PoolState, srType: string): Set<string> {
  for (const sm of pool.db.table('SM').values()) {
    if (sm['type'] === srType) return new Set(arr(sm['capabilities']).map((c) => str(c).split('/')[0] ?? ''))
  }
  return new Set()
}

/** PBDs of the SR that are plugged (on `host` when given) */
export function pluggedPbds(pool: PoolState, srRef: string, host?: string): string[] {
  return refs(pool.db.get('SR', srRef)?.['PBDs']).filter((p) => {
    const pbd = pool.db.get('PBD', p)
    return pbd?.['currently_attached'] === true && (host === undefined || pbd['host'] === host)
  })
}

export function isThin(pool: PoolState, srRef: string): boolean {
  const sr = pool.db.get('SR', srRef)
  if (!sr) return false
  return smFeatures(pool, str(sr['type'])).has('THIN_PROVISIONING') && obj(sr['sm_config'])['allocation'] !== 'thick'
}

export function isHvm(vm: SimRecord): boolean {
  const t = str(vm['domain_type'])
  if (t && t !== 'unspecified') return t === 'hvm'
  return str(vm['HVM_boot_policy']) !== ''
}

function currentOps(rec: SimRecord | undefined): [string, string][] {
  return Object.entries(obj(rec?.['current_operations'])).map(([task, op]) => [task, str(op)])
}

/** why the guest cannot hot-plug devices (xapi_vbd_helpers.ml: PV drivers or can_use_hotplug_vbd), or undefined */
function hotplugRefusal(pool: PoolState, vmRef: string, vm: SimRecord): Failure | undefined {
  const gm = pool.db.get('VM_guest_metrics', str(vm['guest_metrics']))
  const can = gm ? str(gm['can_use_hotplug_vbd']) : ''
  if (can === 'yes') return undefined
  if (can === 'no') return fail('OPERATION_NOT_ALLOWED', 'VM states it does not support VBD hotplug.')
  if (gm && (gm['PV_drivers_detected'] === true || Object.keys(obj(gm['PV_drivers_version'])).length > 0)) return undefined
  return fail('VM_MISSING_PV_DRIVERS', vmRef)
}

// ---------------------------------------------------------------------------------------------
// VBD

export const VBD_OPS = ['attach', 'eject', 'unplug', 'unplug_force', 'insert', 'plug', 'pause', 'unpause'] as const

/** xapi_vbd_helpers.ml valid_operations: the first error of every operation (undefined = allowed) */
export function vbdErrors(pool: PoolState, ref: string, vbd: SimRecord): Map<string, Failure> {
  const errors = new Map<string, Failure>()
  const set = (f: Failure, ops: readonly string[]) => {
    for (const op of ops) if (!errors.has(op)) errors.set(op, f)
  }
  const vmRef = str(vbd['VM'])
  const vm = pool.db.get('VM', vmRef) ?? {}
  const ops = currentOps(vbd)
  const first = ops[0]
  if (first) set(fail('OTHER_OPERATION_IN_PROGRESS', 'VBD', ref, first[1], first[0]), VBD_OPS.filter((o) => o !== 'pause' && o !== 'unpause'))
  if (vbd['unpluggable'] !== true) set(fail('VBD_NOT_UNPLUGGABLE', ref), ['unplug', 'unplug_force'])
  if (vbd['type'] !== 'CD') set(fail('VBD_NOT_REMOVABLE_MEDIA', ref), ['insert', 'eject'])
  const empty = vbd['empty'] === true
  if (empty) set(fail('VBD_IS_EMPTY', ref), ['eject'])
  else set(fail('VBD_NOT_EMPTY', ref), ['insert'])
  const power = str(vm['power_state']) || 'Halted'
  const plugged = vbd['currently_attached'] === true
  if (power === 'Running' && plugged) set(fail('DEVICE_ALREADY_ATTACHED', ref), ['plug'])
  else if (power === 'Running') set(fail('DEVICE_ALREADY_DETACHED', ref), ['unplug', 'unplug_force'])
  else set(fail('VM_BAD_POWER_STATE', vmRef, 'running', power.toLowerCase()), power === 'Paused' ? ['plug', 'unplug', 'unplug_force'] : ['pause', 'unpause', 'plug', 'unplug', 'unplug_force'])
  for (const [, op] of currentOps(vm)) {
    if (['clean_shutdown', 'hard_shutdown', 'suspend', 'pause'].includes(op)) set(fail('OPERATION_NOT_ALLOWED', `Current operation on VM:${vmRef} is ${op}`), ['plug', 'unplug'])
  }
  if (power === 'Running' && isHvm(vm)) {
    const refusal = hotplugRefusal(pool, vmRef, vm)
    if (refusal) set(refusal, ['plug', 'unplug', 'unplug_force'])
    if (vbd['type'] === 'CD') set(fail('OPERATION_NOT_ALLOWED', 'HVM CDROMs cannot be hotplugged/unplugged, only inserted or ejected'), ['plug', 'unplug', 'unplug_force'])
  }
  if (vbd['type'] === 'CD' && power === 'Suspended') set(fail('VM_BAD_POWER_STATE', vmRef, 'halted, running', 'suspended'), ['insert', 'eject'])
  if (!empty) {
    const vdiRef = str(vbd['VDI'])
    const vdi = pool.db.get('VDI', vdiRef)
    if (vdi) {
      if (vdi['managed'] === false) set(fail('VDI_NOT_MANAGED', ref), [...VBD_OPS])
      const busy = currentOps(vdi).find(([, op]) => op !== 'mirror' && op !== 'copy')
      if (busy) set(fail('OTHER_OPERATION_IN_PROGRESS', 'VDI', vdiRef, busy[1], busy[0]), ['attach', 'plug', 'insert'])
      if (!plugged) {
        const others = refs(vdi['VBDs'])
          .filter((r) => r !== ref)
          .map((r) => pool.db.get('VBD', r))
          .filter((o): o is SimRecord => o !== undefined)
          .filter((o) => {
            const ovm = pool.db.get('VM', str(o['VM']))
            return ovm?.['power_state'] !== 'Suspended' && ovm?.['is_control_domain'] !== true && (o['currently_attached'] === true || currentOps(o).length > 0)
          })
        const needWrite = vbd['mode'] === 'RW'
        if (vdi['sharable'] !== true && (others.some((o) => o['mode'] === 'RW') || (needWrite && others.length > 0))) set(fail('VDI_IN_USE', vdiRef), ['attach', 'insert', 'plug'])
        if (needWrite && vdi['read_only'] === true) set(fail('VDI_READONLY', vdiRef), ['attach', 'insert', 'plug'])
      }
    }
  }
  return errors
}

export function checkVbd(pool: PoolState, ref: string, op: string): void {
  const f = vbdErrors(pool, ref, pool.db.must('VBD', ref)).get(op)
  if (f) throw new SimXapiError(f)
}

// ---------------------------------------------------------------------------------------------
// VDI

/** xapi_globs.ml pre_ely_vdi_operations without blocked and force_unlock: what allowed_operations may list */
export const VDI_OPS = ['clone', 'copy', 'resize', 'resize_online', 'snapshot', 'destroy', 'forget', 'update', 'generate_config'] as const

const VDI_FEATURE: Record<string, string> = {
  snapshot: 'VDI_SNAPSHOT',
  destroy: 'VDI_DELETE',
  resize: 'VDI_RESIZE',
  update: 'VDI_UPDATE',
  resize_online: 'VDI_RESIZE_ONLINE',
  generate_config: 'VDI_GENERATE_CONFIG',
  clone: 'VDI_CLONE',
  mirror: 'VDI_MIRROR',
  enable_cbt: 'VDI_CONFIG_CBT',
  disable_cbt: 'VDI_CONFIG_CBT',
}
const LIVE_OPS = new Set(['snapshot', 'resize_online', 'blocked', 'clone', 'revert_to', 'mirror', 'enable_cbt', 'disable_cbt', 'data_destroy'])

/** xapi_vdi.ml check_operation_error, in its order */
export function vdiError(pool: PoolState, ref: string, vdi: SimRecord, op: string): Failure | undefined {
  const srRef = str(vdi['SR'])
  const sr = pool.db.get('SR', srRef) ?? {}
  const busy = currentOps(vdi).find(([, o]) => o !== 'copy')
  const mirroring = op === 'destroy' && currentOps(vdi).some(([, o]) => o === 'mirror')
  if (busy && !mirroring) return fail('OTHER_OPERATION_IN_PROGRESS', 'VDI', ref, busy[1], busy[0])
  if (op === 'resize' && pluggedPbds(pool, srRef).length === 0) return fail('SR_HAS_NO_PBDS', srRef)
  const vbds = refs(vdi['VBDs'])
    .map((r) => pool.db.get('VBD', r))
    .filter((v): v is SimRecord => v !== undefined)
  const active = vbds.filter((v) => v['currently_attached'] === true)
  const live = LIVE_OPS.has(op)
  const blocked = live ? false : op === 'copy' ? active.some((v) => v['mode'] === 'RW') : active.length > 0
  if (blocked) return fail('VDI_IN_USE', ref, op)
  const withOps = vbds.find((v) => currentOps(v).length > 0)
  if (withOps) {
    const [task, o] = currentOps(withOps)[0] ?? ['', '']
    return fail('OTHER_OPERATION_IN_PROGRESS', 'VDI', ref, o, task)
  }
  const feature = VDI_FEATURE[op]
  if (feature && !smFeatures(pool, str(sr['type'])).has(feature)) return fail('SR_OPERATION_NOT_SUPPORTED', srRef)
  if (op === 'destroy') {
    if (sr['type'] === 'udev') return fail('VDI_IS_A_PHYSICAL_DEVICE', ref)
    if (sr['is_tools_sr'] === true) return fail('SR_OPERATION_NOT_SUPPORTED', srRef)
    if (vdi['type'] === 'rrd') return fail('VDI_HAS_RRDS', ref)
  }
  if (op === 'forget' && vdi['type'] === 'rrd') return fail('VDI_HAS_RRDS', ref)
  if (op === 'snapshot' && vdi['sharable'] === true) return fail('VDI_IS_SHARABLE', ref)
  if (op === 'enable_cbt' || op === 'disable_cbt') {
    if (vdi['is_a_snapshot'] === true) return fail('OPERATION_NOT_ALLOWED', `VDI ${ref} is a snapshot`)
    const type = str(vdi['type'])
    if (type !== 'user' && type !== 'system') return fail('VDI_INCOMPATIBLE_TYPE', ref, type)
    if (vdi['on_boot'] === 'reset') return fail('VDI_ON_BOOT_MODE_INCOMPATIBLE_WITH_OPERATION')
  }
  return undefined
}

export function checkVdi(pool: PoolState, ref: string, op: string): void {
  const f = vdiError(pool, ref, pool.db.must('VDI', ref), op)
  if (f) throw new SimXapiError(f)
}

// ---------------------------------------------------------------------------------------------
// SR

export const SR_OPS = ['scan', 'destroy', 'forget', 'plug', 'unplug', 'update', 'vdi_create', 'vdi_introduce', 'vdi_destroy', 'vdi_resize', 'vdi_clone', 'vdi_snapshot', 'vdi_mirror', 'pbd_create', 'pbd_destroy'] as const

const SR_FEATURE: Record<string, string> = {
  vdi_create: 'VDI_CREATE',
  vdi_destroy: 'VDI_DELETE',
  vdi_resize: 'VDI_RESIZE',
  vdi_introduce: 'VDI_INTRODUCE',
  vdi_mirror: 'VDI_MIRROR',
  update: 'SR_UPDATE',
  vdi_snapshot: 'VDI_SNAPSHOT',
}

/** xapi_sr_operations.ml valid_operations: the first error of every operation */
export function srErrors(pool: PoolState, ref: string, sr: SimRecord): Map<string, Failure> {
  const errors = new Map<string, Failure>()
  const set = (f: Failure, ops: readonly string[]) => {
    for (const op of ops) if (!errors.has(op)) errors.set(op, f)
  }
  let features = smFeatures(pool, str(sr['type']))
  if (sr['is_tools_sr'] === true) features = new Set([...features].filter((f) => f !== 'VDI_CREATE' && f !== 'VDI_DELETE'))
  set(
    fail('SR_OPERATION_NOT_SUPPORTED', ref),
    SR_OPS.filter((op) => SR_FEATURE[op] !== undefined && !features.has(SR_FEATURE[op] ?? '')),
  )
  if (pluggedPbds(pool, ref).length > 0) set(fail('SR_HAS_PBD', ref), ['destroy', 'forget'])
  if (refs(sr['PBDs']).length === 0) set(fail('SR_HAS_NO_PBDS', ref), ['destroy'])
  const managed = refs(sr['VDIs']).some((v) => {
    const vdi = pool.db.get('VDI', v)
    return vdi !== undefined && vdi['managed'] !== false && vdi['type'] !== 'rrd'
  })
  if (managed) set(fail('SR_NOT_EMPTY'), ['destroy'])
  const ops = currentOps(sr)
  const first = ops[0]
  if (first) {
    set(fail('OTHER_OPERATION_IN_PROGRESS', 'SR', ref, first[1], first[0]), SR_OPS.filter((o) => o !== 'plug'))
    const serial = ops.find(([, op]) => op !== 'plug')
    if (serial) set(fail('OTHER_OPERATION_IN_PROGRESS', 'SR', ref, serial[1], serial[0]), ['plug'])
  }
  return errors
}

export function checkSr(pool: PoolState, ref: string, op: string): void {
  const f = srErrors(pool, ref, pool.db.must('SR', ref)).get(op)
  if (f) throw new SimXapiError(f)
}

// ---------------------------------------------------------------------------------------------
// allowed_operations, kept in step

function sameList(a: SimValue | undefined, b: string[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i])
}

export function refreshVbd(pool: PoolState, ref: string): void {
  const vbd = pool.db.get('VBD', ref)
  if (!vbd) return
  const vm = pool.db.get('VM', str(vbd['VM']))
  // a snapshot's or template's drives are never plugged: xapi leaves them with no operations
  const errors = vbdErrors(pool, ref, vbd)
  const next = vm && (vm['is_a_snapshot'] === true || vm['is_a_template'] === true) ? [] : VBD_OPS.filter((op) => !errors.has(op))
  if (!sameList(vbd['allowed_operations'], next)) pool.db.update('VBD', ref, { allowed_operations: next })
}

export function refreshVdi(pool: PoolState, ref: string): void {
  const vdi = pool.db.get('VDI', ref)
  if (!vdi) return
  const next = VDI_OPS.filter((op) => vdiError(pool, ref, vdi, op) === undefined)
  if (!sameList(vdi['allowed_operations'], next)) pool.db.update('VDI', ref, { allowed_operations: next })
}

export function refreshSr(pool: PoolState, ref: string): void {
  const sr = pool.db.get('SR', ref)
  if (!sr) return
  const errors = srErrors(pool, ref, sr)
  const next = SR_OPS.filter((op) => !errors.has(op))
  if (!sameList(sr['allowed_operations'], next)) pool.db.update('SR', ref, { allowed_operations: next })
}

/** a VM's drives and their disks after its power state or devices changed */
export function refreshVmStorage(pool: PoolState, vmRef: string): void {
  const vm = pool.db.get('VM', vmRef)
  if (!vm) return
  for (const vbd of refs(vm['VBDs'])) {
    refreshVbd(pool, vbd)
    const vdi = str(pool.db.get('VBD', vbd)?.['VDI'])
    if (vdi && vdi !== NULL_REF) refreshVdi(pool, vdi)
  }
}
