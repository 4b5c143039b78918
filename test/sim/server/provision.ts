/**
 * Making VMs from templates and changing their settings, as xapi does it (issue 14):
 *
 * - VM.provision (xapi_vm.ml provision + xapi_templates.ml): the VM stops being a template, each
 *   <disk> of other_config["disks"] becomes a VDI ("Created by template provisioner", named after
 *   its userdevice) and a VBD, then the "disks" and "postinstall" keys are removed. A disk whose SR
 *   is not a known UUID fails with UUID_INVALID; a failure part-way deletes the disks made so far.
 * - VCPU setters (xapi_vm.ml set_VCPUs_max / set_VCPUs_at_startup): halted only (changing_VCPUs),
 *   0 < VCPUs_at_startup ≤ VCPUs_max or INVALID_VALUE with XAPI's sentence.
 * - memory setters (xapi_vm.ml + vm_memory_constraints.ml): static limits only while halted
 *   (changing_static_range / changing_memory_limits), the dynamic range also while running;
 *   static_min ≤ dynamic_min ≤ dynamic_max ≤ static_max or
 *   MEMORY_CONSTRAINT_VIOLATION_ORDER (MEMORY_CONSTRAINT_VIOLATION with the sentence on releases
 *   before the numbered ones). set_memory_{static,dynamic}_{min,max} go through the range setters,
 *   as message_forwarding.ml does.
 * - VM.set_is_a_template (xapi_vm_helpers.ml): making a template needs the VM halted; the VM stops
 *   being a default template's copy; clearing it sets VM_metrics.install_time.
 * - VM.set_ha_restart_priority (xapi_vm_helpers.ml): "restart", "best-effort" or "" else
 *   INVALID_VALUE. Raising a VM that is not halted to "restart" asks the HA planner
 *   (Xapi_ha_vm_failover.assert_new_vm_preserves_ha_plan): with HA on and overcommit not allowed, a
 *   VM the plan cannot restart — here, one that is not agile — breaks the plan,
 *   HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN. A halted VM, or HA off, is not checked. A running VM's
 *   ha_always_run follows ("restart" protects it now); a halted one is protected when it starts.
 * - VM.assert_agile (Agility.vm_assert_agile): no vGPU (VM_HAS_VGPU), every disk on an SR that is
 *   shared and plugged on every enabled server (HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED [SR]), every
 *   network with a PIF (not a bond member) on every enabled server — a network without PIFs is not
 *   (CA-20703) — else HA_CONSTRAINT_VIOLATION_NETWORK_NOT_SHARED [network].
 */
import type { ProvisionDisk } from '../../../shared/operations/provision'
import { SimXapiError, type SimRecord, type SimValue } from '../model'
import type { CallInfo, Handler } from './generic'
import { vmOperation } from './lifecycle'
import type { PoolState } from './pool'
import { STORAGE_HANDLERS } from './storage'
import { num, obj, str } from './storage-rules'
import { xapiDate } from './time'
import { checkVmOperation, refreshAllowedOperations } from './vmops'

const NULL_REF = 'OpaqueRef:NULL'

const VDI_TYPES = new Set(['system', 'user', 'ephemeral', 'suspend', 'crashdump'])

function attrs(tag: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const m of tag.matchAll(/([A-Za-z_][\w-]*)\s*=\s*"([^"]*)"/g)) if (m[1] !== undefined && m[2] !== undefined) out.set(m[1], m[2])
  return out
}

/**
 * The <provision> document as xapi parses it: every child a <disk> with device, size, sr and
 * bootable (type defaults to system); anything else is a parse failure (xapi: INTERNAL_ERROR).
 */
export function parseProvisionXml(xml: string): ProvisionDisk[] {
  const body = /^\s*<provision\s*>([\s\S]*)<\/provision>\s*$/.exec(xml) ?? /^\s*<provision\s*\/>\s*$/.exec(xml)
  if (!body) throw new SimXapiError(['INTERNAL_ERROR', 'Xapi_templates.Parse_failure'])
  const inner = body[1] ?? ''
  const disks: ProvisionDisk[] = []
  let rest = inner
  for (const m of inner.matchAll(/<disk\b([^>]*?)\/>/g)) {
    const a = attrs(m[1] ?? '')
    const device = a.get('device')
    const size = a.get('size')
    const sr = a.get('sr')
    const bootable = a.get('bootable')
    if (device === undefined || size === undefined || !/^\d+$/.test(size) || sr === undefined || bootable === undefined) {
      throw new SimXapiError(['INTERNAL_ERROR', 'Xapi_templates.Parse_failure'])
    }
    const type = a.get('type') ?? 'system'
    if (!VDI_TYPES.has(type)) throw new SimXapiError(['INTERNAL_ERROR', `string2vdi_type: Unknown VDI type "${type}"`])
    disks.push({ device, size: Number(size), sr, bootable: bootable === 'true', type })
    rest = rest.replace(m[0], '')
  }
  if (rest.trim() !== '') throw new SimXapiError(['INTERNAL_ERROR', 'Xapi_templates.Parse_failure'])
  return disks
}

async function provision(pool: PoolState, call: CallInfo, vmRef: string): Promise<SimValue> {
  return vmOperation(pool, call, vmRef, 'provision', async () => {
    pool.db.update('VM', vmRef, { is_a_template: false })
    setInstallTime(pool, vmRef)
    refreshAllowedOperations(pool, vmRef)
    const oc = obj(pool.db.must('VM', vmRef)['other_config'])
    const xml = oc['disks']
    if (typeof xml !== 'string' || xml.trim() === '') return ''
    const disks = parseProvisionXml(xml)
    const made: { vdi: string; vbd?: string }[] = []
    const inner: CallInfo = { wire: 'VM.provision', hostRef: call.hostRef, session: call.session }
    try {
      for (const d of disks) {
        const srRef = pool.db.byUuid('SR', d.sr)
        if (!srRef) throw new SimXapiError(['UUID_INVALID', 'sr', d.sr])
        const vdi = str(
          (await STORAGE_HANDLERS['VDI.create']?.(
            pool,
            [{ name_label: '', name_description: 'Created by template provisioner', SR: srRef, virtual_size: d.size, type: d.type, sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: { vmhint: str(pool.db.must('VM', vmRef)['uuid']) }, tags: [] }],
            inner,
          )) as SimValue,
        )
        const entry: { vdi: string; vbd?: string } = { vdi }
        made.push(entry)
        entry.vbd = str(
          (await STORAGE_HANDLERS['VBD.create']?.(
            pool,
            [{ VM: vmRef, VDI: vdi, userdevice: d.device, bootable: d.bootable, mode: 'RW', type: 'Disk', unpluggable: d.type !== 'system', empty: false, qos_algorithm_type: '', qos_algorithm_params: {}, other_config: { owner: '' } }],
            inner,
          )) as SimValue,
        )
        pool.db.update('VDI', vdi, { name_label: str(pool.db.get('VBD', entry.vbd)?.['userdevice']) || d.device })
      }
    } catch (e) {
      // xapi_vm.ml: "On error delete the VBDs and their associated VDIs"
      for (const m of made.reverse()) {
        if (m.vbd) await Promise.resolve(STORAGE_HANDLERS['VBD.destroy']?.(pool, [m.vbd], inner)).catch(() => undefined)
        await Promise.resolve(STORAGE_HANDLERS['VDI.destroy']?.(pool, [m.vdi], inner)).catch(() => undefined)
      }
      throw e
    }
    const next = { ...obj(pool.db.must('VM', vmRef)['other_config']) }
    delete next['disks']
    delete next['postinstall']
    pool.db.update('VM', vmRef, { other_config: next })
    return ''
  })
}

function setInstallTime(pool: PoolState, vmRef: string): void {
  const m = str(pool.db.must('VM', vmRef)['metrics'])
  if (pool.db.get('VM_metrics', m)) pool.db.update('VM_metrics', m, { install_time: xapiDate() })
}

const VCPU_RULE = 'VCPU values must satisfy: 0 < VCPUs_at_startup ≤ VCPUs_max'

function setVcpus(which: 'VCPUs_max' | 'VCPUs_at_startup'): Handler {
  return (pool, [self, value]) => {
    const ref = str(self)
    const vm = pool.db.must('VM', ref)
    checkVmOperation(ref, vm, 'changing_VCPUs')
    const n = num(value)
    const ok = which === 'VCPUs_max' ? n >= 1 && n >= num(vm['VCPUs_at_startup']) : n >= 1 && n <= num(vm['VCPUs_max'])
    if (!ok) throw new SimXapiError(['INVALID_VALUE', VCPU_RULE, String(n)])
    pool.db.update('VM', ref, { [which]: n })
    refreshAllowedOperations(pool, ref)
    return ''
  }
}

type MemKey = 'memory_static_min' | 'memory_dynamic_min' | 'memory_dynamic_max' | 'memory_static_max'

function orderViolation(pool: PoolState): SimXapiError {
  // MEMORY_CONSTRAINT_VIOLATION_ORDER came with the numbered xapi releases; 7.x says it in words
  return /^\d/.test(pool.spec.xapiRelease)
    ? new SimXapiError(['MEMORY_CONSTRAINT_VIOLATION_ORDER'])
    : new SimXapiError(['MEMORY_CONSTRAINT_VIOLATION', 'Memory limits must satisfy: static_min ≤ dynamic_min ≤ dynamic_max ≤ static_max'])
}

/**
 * One memory change: `op` is the lifecycle operation XAPI checks first (power state, template,
 * busy), then the constraint on the merged values.
 */
function setMemory(pool: PoolState, ref: string, op: 'changing_memory_limits' | 'changing_static_range' | 'changing_dynamic_range', patch: Partial<Record<MemKey, SimValue | undefined>>): SimValue {
  const vm = pool.db.must('VM', ref)
  checkVmOperation(ref, vm, op === 'changing_memory_limits' ? 'changing_static_range' : op)
  const next: Partial<Record<MemKey, number>> = {}
  for (const [k, v] of Object.entries(patch) as [MemKey, SimValue | undefined][]) if (v !== undefined) next[k] = num(v)
  const merged = (k: MemKey): number => next[k] ?? num(vm[k])
  if (!(merged('memory_static_min') <= merged('memory_dynamic_min') && merged('memory_dynamic_min') <= merged('memory_dynamic_max') && merged('memory_dynamic_max') <= merged('memory_static_max'))) {
    throw orderViolation(pool)
  }
  pool.db.update('VM', ref, next)
  if (vm['power_state'] === 'Running' && next.memory_dynamic_max !== undefined) {
    // the balloon driver moves towards the new target
    const m = str(vm['metrics'])
    if (pool.db.get('VM_metrics', m)) pool.db.update('VM_metrics', m, { memory_actual: merged('memory_dynamic_max') })
  }
  refreshAllowedOperations(pool, ref)
  return ''
}

const HA_PRIORITIES = new Set(['restart', 'best-effort', ''])

/** Agility.vm_assert_agile: the VM can run on any (enabled) server of the pool */
function assertAgile(pool: PoolState, ref: string): void {
  const vm = pool.db.must('VM', ref)
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(str) : [])
  if (list(vm['VGPUs']).length > 0) throw new SimXapiError(['VM_HAS_VGPU', ref])
  const enabled = [...pool.db.table('host')].filter(([, h]) => h['enabled'] === true).map(([r]) => r)
  for (const vbd of list(vm['VBDs'])) {
    const b = pool.db.get('VBD', vbd)
    if (!b || b['empty'] === true) continue
    const srRef = str(pool.db.get('VDI', str(b['VDI']))?.['SR'])
    const sr = pool.db.get('SR', srRef)
    if (!sr) continue
    // is_sr_properly_shared: marked shared and a currently_attached PBD on every enabled host
    const plugged = new Set(list(sr['PBDs']).map((p) => pool.db.get('PBD', p)).filter((p) => p?.['currently_attached'] === true).map((p) => str(p?.['host'])))
    if (sr['shared'] !== true || enabled.some((h) => !plugged.has(h))) throw new SimXapiError(['HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED', srRef])
  }
  for (const vif of list(vm['VIFs'])) {
    const net = str(pool.db.get('VIF', vif)?.['network'])
    // is_network_properly_shared: every enabled host has a PIF on it that is no bond member
    const pifs = list(pool.db.get('network', net)?.['PIFs']).map((p) => pool.db.get('PIF', p))
    const member = (p: SimRecord): boolean => str(p['bond_slave_of']).startsWith('OpaqueRef:') && p['bond_slave_of'] !== NULL_REF
    const on = new Set(pifs.flatMap((p) => (p && !member(p) ? [str(p['host'])] : [])))
    if (enabled.some((h) => !on.has(h))) throw new SimXapiError(['HA_CONSTRAINT_VIOLATION_NETWORK_NOT_SHARED', net])
  }
}

export const PROVISION_HANDLERS: Record<string, Handler> = {
  'VM.set_ha_restart_priority': (pool, [vm, value]) => {
    const ref = str(vm)
    const rec = pool.db.must('VM', ref)
    const v = str(value)
    if (!HA_PRIORITIES.has(v)) throw new SimXapiError(['INVALID_VALUE', 'ha_restart_priority', v])
    const current = str(rec['ha_restart_priority'])
    const p = pool.poolRecord
    if (current !== 'restart' && v === 'restart' && rec['power_state'] !== 'Halted' && p['ha_enabled'] === true && p['ha_allow_overcommit'] !== true) {
      try {
        assertAgile(pool, ref)
      } catch (e) {
        if (!(e instanceof SimXapiError)) throw e
        // the planner cannot restart a VM tied to one server: the plan would no longer cover every protected VM
        throw new SimXapiError(['HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN'])
      }
    }
    if (v === current) return ''
    pool.db.update('VM', ref, rec['power_state'] === 'Running' ? { ha_restart_priority: v, ha_always_run: v === 'restart' } : { ha_restart_priority: v })
    return ''
  },
  'VM.assert_agile': (pool, [vm]) => {
    assertAgile(pool, str(vm))
    return ''
  },
  'VM.provision': (pool, [vm], call) => provision(pool, call, str(vm)),
  'VM.set_VCPUs_max': setVcpus('VCPUs_max'),
  'VM.set_VCPUs_at_startup': setVcpus('VCPUs_at_startup'),
  'VM.set_memory_limits': (pool, [vm, smin, smax, dmin, dmax]) =>
    setMemory(pool, str(vm), 'changing_memory_limits', { memory_static_min: smin, memory_static_max: smax, memory_dynamic_min: dmin, memory_dynamic_max: dmax }),
  'VM.set_memory_static_range': (pool, [vm, min, max]) => setMemory(pool, str(vm), 'changing_static_range', { memory_static_min: min, memory_static_max: max }),
  'VM.set_memory_static_min': (pool, [vm, v]) => setMemory(pool, str(vm), 'changing_static_range', { memory_static_min: v }),
  'VM.set_memory_static_max': (pool, [vm, v]) => setMemory(pool, str(vm), 'changing_static_range', { memory_static_max: v }),
  'VM.set_memory_dynamic_range': (pool, [vm, min, max]) => setMemory(pool, str(vm), 'changing_dynamic_range', { memory_dynamic_min: min, memory_dynamic_max: max }),
  'VM.set_memory_dynamic_min': (pool, [vm, v]) => setMemory(pool, str(vm), 'changing_dynamic_range', { memory_dynamic_min: v }),
  'VM.set_memory_dynamic_max': (pool, [vm, v]) => setMemory(pool, str(vm), 'changing_dynamic_range', { memory_dynamic_max: v }),
  'VM.set_memory': (pool, [vm, v]) => {
    const ref = str(vm)
    return setMemory(pool, ref, 'changing_memory_limits', { memory_static_max: v, memory_dynamic_min: v, memory_dynamic_max: v })
  },
  'VM.set_is_a_template': (pool, [vm, value]) => {
    const ref = str(vm)
    const rec = pool.db.must('VM', ref)
    if (value === true) {
      if (rec['power_state'] !== 'Halted') throw new SimXapiError(['VM_BAD_POWER_STATE', ref, 'halted', str(rec['power_state']).toLowerCase()])
      pool.db.update('VM', ref, { is_a_template: true, affinity: NULL_REF })
    } else {
      setInstallTime(pool, ref)
      const oc = { ...obj(rec['other_config']) }
      delete oc['default_template']
      pool.db.update('VM', ref, { is_a_template: false, is_default_template: false, other_config: oc })
    }
    refreshAllowedOperations(pool, ref)
    return ''
  },
}
