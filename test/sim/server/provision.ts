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
 *   INVALID_VALUE; with HA on, protecting a VM needs it agile (Agility.vm_assert_agile: every disk
 *   on a shared SR, every network on every server) else HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED /
 *   _NETWORK_NOT_SHARED; ha_always_run follows ("restart" protects the VM).
 */
import type { ProvisionDisk } from '../../../shared/operations/provision'
import { SimXapiError, type SimValue } from '../model'
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

/** Agility.vm_assert_agile: the VM can run on any server (shared disks, networks on every server) */
function assertAgile(pool: PoolState, ref: string): void {
  const vm = pool.db.must('VM', ref)
  const hosts = pool.db.table('host').size
  for (const vbd of Array.isArray(vm['VBDs']) ? vm['VBDs'] : []) {
    const b = pool.db.get('VBD', str(vbd))
    if (!b || b['empty'] === true) continue
    const vdi = pool.db.get('VDI', str(b['VDI']))
    const sr = vdi ? pool.db.get('SR', str(vdi['SR'])) : undefined
    if (sr && sr['shared'] !== true) throw new SimXapiError(['HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED', str(vdi?.['SR'])])
  }
  for (const vif of Array.isArray(vm['VIFs']) ? vm['VIFs'] : []) {
    const net = str(pool.db.get('VIF', str(vif))?.['network'])
    const pifs = pool.db.get('network', net)?.['PIFs']
    const list = Array.isArray(pifs) ? pifs.map((p) => pool.db.get('PIF', str(p))) : []
    // "entirely virtual (no PIF) or present via a currently_attached PIF on every host"
    const on = new Set(list.filter((p) => p?.['currently_attached'] === true).map((p) => str(p?.['host'])))
    if (list.length > 0 && on.size < hosts) throw new SimXapiError(['HA_CONSTRAINT_VIOLATION_NETWORK_NOT_SHARED', net])
  }
}

export const PROVISION_HANDLERS: Record<string, Handler> = {
  'VM.set_ha_restart_priority': (pool, [vm, value]) => {
    const ref = str(vm)
    const rec = pool.db.must('VM', ref)
    const v = str(value)
    if (!HA_PRIORITIES.has(v)) throw new SimXapiError(['INVALID_VALUE', 'ha_restart_priority', v])
    if (v === str(rec['ha_restart_priority'])) return ''
    if (v === 'restart' && pool.poolRecord['ha_enabled'] === true) assertAgile(pool, ref)
    pool.db.update('VM', ref, { ha_restart_priority: v, ha_always_run: v === 'restart' })
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
