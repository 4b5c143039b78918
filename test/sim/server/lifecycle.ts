/**
 * VM and host lifecycle (docs/xapi.md §7.2, §7.3): power transitions with host memory accounting, consoles
 * that exist while a VM runs, VM_metrics, snapshots/clones with their disks, alerts (message
 * objects), current_operations while the operation's task runs, durations from the fleet.
 */
import { randomUUID } from 'node:crypto'
import { placesOnOneNode } from '../numa-plugin'
import { endSimConsole } from '../rfb'
import { SimXapiError, type SimRecord, type SimValue } from '../model'
import { newRef } from './db'
import type { CallInfo, Handler } from './generic'
import type { PoolState } from './pool'
import { NULL_DATE, NULL_REF } from './schema'
import type { TaskHandle } from './tasks'
import { xapiDate } from './time'
import { refreshVmStorage } from './storage-rules'
import { checkVmOperation, refreshAllowedOperations, setCurrentOperation } from './vmops'

function str(v: SimValue | undefined): string {
  return typeof v === 'string' ? v : ''
}
function num(v: SimValue | undefined): number {
  if (typeof v === 'number') return v
  if (typeof v === 'string' && v.trim() !== '') return Number(v) || 0
  return 0
}
function arr(v: SimValue | undefined): SimValue[] {
  return Array.isArray(v) ? v : []
}
function obj(v: SimValue | undefined): Record<string, SimValue> {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : {}
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** the operation's duration, with progress updates and cancellation points */
export async function opDelay(pool: PoolState, task: TaskHandle): Promise<void> {
  const total = pool.opDurationMs
  task.setCancellable(true)
  try {
    if (total <= 0) {
      await new Promise((r) => setImmediate(r))
      task.checkCancelled()
      return
    }
    const steps = Math.max(1, Math.min(10, Math.round(total / 100)))
    for (let i = 1; i <= steps; i++) {
      await sleep(total / steps)
      task.checkCancelled()
      if (i < steps) task.progress((i / steps) * 0.9)
    }
  } finally {
    task.setCancellable(false)
  }
}

/**
 * Run `body` as operation `op` on a VM: checks, current_operations under the call's task (a
 * hidden one for sync calls), the fleet's duration, then the state change.
 */
export async function vmOperation(pool: PoolState, call: CallInfo, vmRef: string, op: string, body: () => SimValue | Promise<SimValue>): Promise<SimValue> {
  const vm = pool.db.must('VM', vmRef)
  checkVmOperation(vmRef, vm, op)
  const visible = call.taskRef ? pool.tasks.running.get(call.taskRef) : undefined
  const task = visible ?? pool.tasks.create(call.wire, pool.masterRef, call.session, false)
  setCurrentOperation(pool, vmRef, task.ref, op)
  try {
    await opDelay(pool, task)
    // the VM may have changed (or gone) while the operation was queued
    checkVmOperation(vmRef, pool.db.must('VM', vmRef), op, { ignoreCurrent: task.ref })
    return await body()
  } finally {
    setCurrentOperation(pool, vmRef, task.ref, undefined)
    if (!visible) pool.tasks.discard(task)
  }
}

export function addMessage(pool: PoolState, name: string, priority: number, cls: string, objUuid: string, body: string): string {
  const ref = newRef()
  pool.db.insert('message', ref, pool.db.blank('message', { name, priority, cls, obj_uuid: objUuid, timestamp: xapiDate(), body }))
  return ref
}

function vmMemory(vm: SimRecord): number {
  return num(vm['memory_dynamic_max']) || num(vm['memory_static_max'])
}

function hostMetricsRef(pool: PoolState, hostRef: string): string {
  return str(pool.db.get('host', hostRef)?.['metrics'])
}

function hostFree(pool: PoolState, hostRef: string): number {
  return num(pool.db.get('host_metrics', hostMetricsRef(pool, hostRef))?.['memory_free'])
}

function hostUsable(pool: PoolState, hostRef: string): boolean {
  const h = pool.db.get('host', hostRef)
  const m = pool.db.get('host_metrics', hostMetricsRef(pool, hostRef))
  return !!h && h['enabled'] === true && m?.['live'] !== false
}

function adjustHostMemory(pool: PoolState, hostRef: string, delta: number): void {
  const mref = hostMetricsRef(pool, hostRef)
  const m = pool.db.get('host_metrics', mref)
  if (m) pool.db.update('host_metrics', mref, { memory_free: Math.max(0, num(m['memory_free']) + delta) })
}

/** where a VM will run: the requested host, else its affinity, else the enabled host with most free memory */
function chooseHost(pool: PoolState, vm: SimRecord, requested?: string): string {
  const needed = vmMemory(vm)
  if (requested !== undefined) {
    pool.db.must('host', requested)
    if (!hostUsable(pool, requested)) throw new SimXapiError(['HOST_DISABLED', requested])
    const free = hostFree(pool, requested)
    if (free < needed) throw new SimXapiError(['HOST_NOT_ENOUGH_FREE_MEMORY', String(needed), String(free)])
    return requested
  }
  const hosts = [...pool.db.table('host').keys()].filter((h) => hostUsable(pool, h))
  if (hosts.length === 0) throw new SimXapiError(['NO_HOSTS_AVAILABLE'])
  const affinity = str(vm['affinity'])
  if (hosts.includes(affinity) && hostFree(pool, affinity) >= needed) return affinity
  hosts.sort((a, b) => hostFree(pool, b) - hostFree(pool, a))
  const best = hosts[0] ?? ''
  const free = hostFree(pool, best)
  if (free < needed) throw new SimXapiError(['HOST_NOT_ENOUGH_FREE_MEMORY', String(needed), String(free)])
  return best
}

/**
 * What xapi does with a VM's platform as it starts it: Xapi_vm.start adds the default device model
 * for its firmware when there is none (xapi_vm_helpers.ml ensure_device_model_profile_present;
 * numbered releases, where UEFI exists), then xapi_xenops builds the domain through
 * Vm_platform.sanity_check — HVM/PVH VCPUs_max must be a multiple of platform:cores-per-socket
 * (VCPU_MAX_NOT_CORES_PER_SOCKET_MULTIPLE [vcpus; cores], INVALID_VALUE when it is not a number),
 * and the device model must be able to boot the firmware (INVALID_VALUE
 * ["platform:device-model"; why]).
 */
function checkBootPlatform(pool: PoolState, ref: string): void {
  const vm = pool.db.must('VM', ref)
  const firmware = str(obj(vm['HVM_boot_params'])['firmware']) === 'uefi' ? 'uefi' : 'bios'
  const domainType = str(vm['domain_type']) || (str(vm['HVM_boot_policy']) !== '' ? 'hvm' : 'pv')
  let platform = obj(vm['platform'])
  if (/^\d/.test(pool.spec.xapiRelease) && domainType === 'hvm' && platform['device-model'] === undefined) {
    platform = { ...platform, 'device-model': firmware === 'uefi' ? 'qemu-upstream-uefi' : 'qemu-upstream-compat' }
    pool.db.update('VM', ref, { platform })
  }
  const model = platform['device-model']
  if (model === 'qemu-trad' && firmware === 'uefi') throw new SimXapiError(['INVALID_VALUE', 'platform:device-model', 'UEFI boot is not supported with qemu-trad'])
  if (model === 'qemu-upstream-uefi' && firmware === 'bios') throw new SimXapiError(['INVALID_VALUE', 'platform:device-model', 'BIOS boot is not supported with qemu-upstream-uefi'])
  const cps = platform['cores-per-socket']
  if (domainType !== 'pv' && typeof cps === 'string') {
    if (!/^-?\d+$/.test(cps.trim())) throw new SimXapiError(['INVALID_VALUE', 'platform:cores-per-socket', cps])
    const n = Number(cps)
    const vcpus = num(vm['VCPUs_max'])
    if (n < 1 || vcpus % n !== 0) throw new SimXapiError(['VCPU_MAX_NOT_CORES_PER_SOCKET_MULTIPLE', String(vcpus), cps])
  }
}

/** Xapi_vm_helpers.populate_cpu_flags: the CPU the VM booted on (XenCenter then keeps its boot mode) */
function recordBootCpu(pool: PoolState, ref: string): void {
  const vm = pool.db.must('VM', ref)
  const info = obj(pool.db.get('host', str(vm['resident_on']))?.['cpu_info'])
  const hvm = str(vm['domain_type']) !== 'pv'
  pool.db.update('VM', ref, { last_boot_CPU_flags: { vendor: str(info['vendor']), features: str(info[hvm ? 'features_hvm' : 'features_pv'] ?? info['features']) } })
}

function setDevicesAttached(pool: PoolState, vm: SimRecord, attached: boolean): void {
  for (const cls of ['VBD', 'VIF'] as const) {
    for (const ref of arr(vm[cls === 'VBD' ? 'VBDs' : 'VIFs'])) {
      const r = pool.db.get(cls, str(ref))
      // an empty CD drive is plugged too: the emulated drive exists, only the medium is missing
      if (r && r['currently_attached'] !== attached) pool.db.update(cls, str(ref), { currently_attached: attached })
    }
  }
}

function createConsole(pool: PoolState, vmRef: string, hostRef: string): string {
  const ref = newRef()
  const rec = pool.db.blank('console', { protocol: 'rfb', VM: vmRef, other_config: {} })
  rec['location'] = `https://${pool.hostAddress(hostRef)}/console?uuid=${str(rec['uuid'])}`
  pool.db.insert('console', ref, rec)
  return ref
}

/** console rows go with the domain; open RFB connections to it end as they do on a real host */
function destroyConsoles(pool: PoolState, vm: SimRecord, reason = 'halted'): void {
  for (const c of arr(vm['consoles'])) pool.db.remove('console', str(c))
  endSimConsole(str(vm['uuid']), reason)
}

function updateMetrics(pool: PoolState, vm: SimRecord, patch: SimRecord): void {
  const mref = str(vm['metrics'])
  if (!pool.db.get('VM_metrics', mref)) return
  const fields = pool.schema.classes.get('VM_metrics')?.fieldMap
  const filtered: SimRecord = {}
  for (const [k, v] of Object.entries(patch)) if (fields?.has(k)) filtered[k] = v
  pool.db.update('VM_metrics', mref, filtered)
}

/** a halted or suspended VM becomes resident on `hostRef` */
export function place(pool: PoolState, vmRef: string, hostRef: string, power: 'Running' | 'Paused'): void {
  const vm = pool.db.must('VM', vmRef)
  const mem = vmMemory(vm)
  adjustHostMemory(pool, hostRef, -mem)
  const host = pool.db.must('host', hostRef)
  pool.db.update('host', hostRef, { resident_VMs: [...arr(host['resident_VMs']).filter((r) => r !== vmRef), vmRef] })
  const consoleRef = createConsole(pool, vmRef, hostRef)
  const now = xapiDate()
  const updated = pool.db.update('VM', vmRef, {
    power_state: power,
    resident_on: hostRef,
    scheduled_to_be_resident_on: NULL_REF,
    domid: pool.allocDomid(hostRef),
    consoles: [consoleRef],
    // Xapi_vm.start: a VM whose restart priority is "restart" is protected by HA while it runs
    ha_always_run: vm['ha_restart_priority'] === 'restart',
  })
  const vcpus = num(vm['VCPUs_at_startup']) || 1
  const nodes = pool.hostSpec(hostRef)?.numa.nodes ?? 1
  // xenopsd places the new domain on one node under best_effort; under 'any' its memory is striped
  const oneNode = nodes <= 1 || placesOnOneNode(host)
  const node = nodes > 1 ? pool.allocDomid(`${hostRef}/numa`) % nodes : 0
  const nodeMemory = oneNode ? { [String(node)]: mem } : Object.fromEntries(Array.from({ length: nodes }, (_, n) => [String(n), Math.floor(mem / nodes)]))
  updateMetrics(pool, updated, {
    start_time: now,
    install_time: now,
    last_updated: now,
    memory_actual: mem,
    VCPUs_number: vcpus,
    VCPUs_utilisation: Object.fromEntries(Array.from({ length: vcpus }, (_, i) => [String(i), 0])),
    state: [],
    numa_optimised: oneNode,
    numa_nodes: oneNode ? 1 : nodes,
    numa_node_memory: nodeMemory,
  })
  setDevicesAttached(pool, updated, true)
  refreshAllowedOperations(pool, vmRef)
  // which drive operations XAPI allows follows the power state (storage-rules.ts)
  refreshVmStorage(pool, vmRef)
}

/** a resident VM stops being resident (halt or suspend) */
export function unplace(pool: PoolState, vmRef: string, power: 'Halted' | 'Suspended'): void {
  const vm = pool.db.must('VM', vmRef)
  const hostRef = str(vm['resident_on'])
  const mem = num(pool.db.get('VM_metrics', str(vm['metrics']))?.['memory_actual']) || vmMemory(vm)
  const host = pool.db.get('host', hostRef)
  if (host) {
    adjustHostMemory(pool, hostRef, mem)
    pool.db.update('host', hostRef, { resident_VMs: arr(host['resident_VMs']).filter((r) => r !== vmRef) })
  }
  destroyConsoles(pool, vm, power.toLowerCase())
  // shut down or suspended by hand: HA no longer keeps it running (xapi clears ha_always_run)
  const updated = pool.db.update('VM', vmRef, { power_state: power, resident_on: NULL_REF, domid: -1, consoles: [], ha_always_run: false })
  updateMetrics(pool, updated, { memory_actual: 0, VCPUs_utilisation: {}, numa_optimised: false, numa_nodes: 0, numa_node_memory: {} })
  setDevicesAttached(pool, updated, false)
  refreshAllowedOperations(pool, vmRef)
  refreshVmStorage(pool, vmRef)
}

function vmAlert(pool: PoolState, vmRef: string, name: string, what: string): void {
  const vm = pool.db.get('VM', vmRef)
  if (!vm) return
  const host = pool.db.get('host', str(vm['resident_on']))
  const where = host ? ` on host: ${str(host['name_label'])} (uuid: ${str(host['uuid'])})` : ''
  addMessage(pool, name, 5, 'VM', str(vm['uuid']), `VM '${str(vm['name_label'])}' ${what}${where}.`)
}

type CopyMode = 'snapshot' | 'checkpoint' | 'clone' | 'copy'

/** a new VM from `srcRef` with its own VBD/VDI/VIF copies (xapi_vm_clone.ml copy_vm_record) */
function copyVm(pool: PoolState, srcRef: string, newName: string, mode: CopyMode, sr?: string): string {
  const src = pool.db.must('VM', srcRef)
  const ref = newRef()
  const now = xapiDate()
  const isSnap = mode === 'snapshot' || mode === 'checkpoint'
  const metricsRef = newRef()
  const srcMetrics = pool.db.get('VM_metrics', str(src['metrics']))
  pool.db.insert(
    'VM_metrics',
    metricsRef,
    pool.db.blank('VM_metrics', {
      ...(srcMetrics ?? {}),
      uuid: randomUUID(),
      memory_actual: 0,
      VCPUs_utilisation: {},
      start_time: NULL_DATE,
    }),
  )
  const otherConfig = { ...obj(src['other_config']) }
  delete otherConfig['default_template']
  if (mode === 'clone' && src['is_a_template'] === true) otherConfig['base_template_name'] = str(src['name_label'])
  // xapi_vm_clone.ml: a new VM gets its own MAC seed (VIFs made with MAC "" derive theirs from it)
  if (mode === 'clone' || mode === 'copy') otherConfig['mac_seed'] = randomUUID()
  const rec: SimRecord = {
    ...src,
    uuid: randomUUID(),
    name_label: newName,
    power_state: mode === 'checkpoint' && src['power_state'] !== 'Halted' ? 'Suspended' : 'Halted',
    resident_on: NULL_REF,
    scheduled_to_be_resident_on: NULL_REF,
    domid: -1,
    consoles: [],
    VBDs: [],
    VIFs: [],
    snapshots: [],
    current_operations: {},
    blocked_operations: {},
    metrics: metricsRef,
    guest_metrics: isSnap ? src['guest_metrics'] ?? NULL_REF : NULL_REF,
    is_a_snapshot: isSnap,
    is_a_template: isSnap ? true : src['is_a_template'] === true,
    is_default_template: false,
    snapshot_of: isSnap ? srcRef : NULL_REF,
    snapshot_time: isSnap ? now : NULL_DATE,
    // xapi_vm_snapshot.ml: the snapshot takes the VM's place in the snapshot tree — its parent is
    // the VM's parent, and the VM now descends from the snapshot (VM.parent/children)
    parent: src['parent'] ?? NULL_REF,
    children: isSnap ? [srcRef] : [],
    other_config: otherConfig,
  }
  pool.db.insert('VM', ref, rec)
  const vbds: string[] = []
  for (const vbdRef of arr(src['VBDs'])) {
    const vbd = pool.db.get('VBD', str(vbdRef))
    if (!vbd) continue
    let vdiRef = str(vbd['VDI']) || NULL_REF
    const vdi = pool.db.get('VDI', vdiRef)
    const newVbd = newRef()
    if (vdi && vbd['type'] === 'Disk') {
      const copyRef = newRef()
      const targetSr = mode === 'copy' && sr && sr !== NULL_REF ? sr : str(vdi['SR'])
      pool.db.insert('VDI', copyRef, {
        ...vdi,
        uuid: randomUUID(),
        SR: targetSr,
        VBDs: [newVbd],
        current_operations: {},
        // a snapshot or clone shares blocks with its parent until written; a full copy takes what the original does
        physical_utilisation: isSnap || mode === 'clone' ? Math.ceil((num(vdi['physical_utilisation']) * 0.1) / 4096) * 4096 : num(vdi['physical_utilisation']),
        is_a_snapshot: isSnap,
        snapshot_of: isSnap ? vdiRef : NULL_REF,
        snapshot_time: isSnap ? now : NULL_DATE,
        snapshots: [],
      })
      if (isSnap) pool.db.update('VDI', vdiRef, { snapshots: [...arr(vdi['snapshots']), copyRef] })
      const srRec = pool.db.get('SR', targetSr)
      const used = num(pool.db.get('VDI', copyRef)?.['physical_utilisation'])
      if (srRec) pool.db.update('SR', targetSr, { VDIs: [...arr(srRec['VDIs']), copyRef], physical_utilisation: num(srRec['physical_utilisation']) + used, virtual_allocation: num(srRec['virtual_allocation']) + num(vdi['virtual_size']) })
      vdiRef = copyRef
    } else if (vdi) {
      pool.db.update('VDI', vdiRef, { VBDs: [...arr(vdi['VBDs']), newVbd] })
    }
    pool.db.insert('VBD', newVbd, {
      ...vbd,
      uuid: randomUUID(),
      VM: ref,
      VDI: vdiRef,
      currently_attached: false,
      current_operations: {},
      metrics: NULL_REF,
    })
    vbds.push(newVbd)
  }
  const vifs: string[] = []
  for (const vifRef of arr(src['VIFs'])) {
    const vif = pool.db.get('VIF', str(vifRef))
    if (!vif) continue
    const newVif = newRef()
    pool.db.insert('VIF', newVif, {
      ...vif,
      uuid: randomUUID(),
      VM: ref,
      currently_attached: false,
      current_operations: {},
      metrics: NULL_REF,
    })
    const net = pool.db.get('network', str(vif['network']))
    if (net) pool.db.update('network', str(vif['network']), { VIFs: [...arr(net['VIFs']), newVif] })
    vifs.push(newVif)
  }
  pool.db.update('VM', ref, { VBDs: vbds, VIFs: vifs })
  refreshVmStorage(pool, ref)
  if (isSnap) {
    const oldParent = str(src['parent'])
    const parentRec = pool.db.get('VM', oldParent)
    if (parentRec) pool.db.update('VM', oldParent, { children: [...arr(parentRec['children']).filter((r) => r !== srcRef), ref] })
    pool.db.update('VM', srcRef, { snapshots: [...arr(pool.db.must('VM', srcRef)['snapshots']), ref], parent: ref })
  } else if (src['parent'] !== undefined && str(src['parent']) !== NULL_REF) {
    const parentRec = pool.db.get('VM', str(src['parent']))
    if (parentRec) pool.db.update('VM', str(src['parent']), { children: [...arr(parentRec['children']), ref] })
  }
  refreshAllowedOperations(pool, ref)
  return ref
}

function destroyVm(pool: PoolState, ref: string): void {
  const vm = pool.db.must('VM', ref)
  for (const vbdRef of arr(vm['VBDs'])) {
    const vbd = pool.db.get('VBD', str(vbdRef))
    if (!vbd) continue
    const vdi = pool.db.get('VDI', str(vbd['VDI']))
    if (vdi) pool.db.update('VDI', str(vbd['VDI']), { VBDs: arr(vdi['VBDs']).filter((r) => r !== vbdRef) })
    pool.db.remove('VBD', str(vbdRef))
  }
  for (const vifRef of arr(vm['VIFs'])) {
    const vif = pool.db.get('VIF', str(vifRef))
    if (!vif) continue
    const net = pool.db.get('network', str(vif['network']))
    if (net) pool.db.update('network', str(vif['network']), { VIFs: arr(net['VIFs']).filter((r) => r !== vifRef) })
    pool.db.remove('VIF', str(vifRef))
  }
  destroyConsoles(pool, vm)
  pool.db.remove('VM_metrics', str(vm['metrics']))
  const parentRef = str(vm['snapshot_of'])
  const parent = pool.db.get('VM', parentRef)
  if (parent) pool.db.update('VM', parentRef, { snapshots: arr(parent['snapshots']).filter((r) => r !== ref) })
  pool.db.remove('VM', ref)
}

const vmRefArg = (args: SimValue[]): string => str(args[0])

export const LIFECYCLE_HANDLERS: Record<string, Handler> = {
  'VM.start': (pool, args, call) => {
    const ref = vmRefArg(args)
    return vmOperation(pool, call, ref, 'start', () => {
      const host = chooseHost(pool, pool.db.must('VM', ref))
      checkBootPlatform(pool, ref)
      place(pool, ref, host, args[1] === true ? 'Paused' : 'Running')
      recordBootCpu(pool, ref)
      vmAlert(pool, ref, 'VM_STARTED', 'started')
      return ''
    })
  },
  'VM.start_on': (pool, args, call) => {
    const ref = vmRefArg(args)
    return vmOperation(pool, call, ref, 'start_on', () => {
      const host = chooseHost(pool, pool.db.must('VM', ref), str(args[1]))
      checkBootPlatform(pool, ref)
      place(pool, ref, host, args[2] === true ? 'Paused' : 'Running')
      recordBootCpu(pool, ref)
      vmAlert(pool, ref, 'VM_STARTED', 'started')
      return ''
    })
  },
  'VM.resume': (pool, args, call) => {
    const ref = vmRefArg(args)
    return vmOperation(pool, call, ref, 'resume', () => {
      place(pool, ref, chooseHost(pool, pool.db.must('VM', ref)), args[1] === true ? 'Paused' : 'Running')
      vmAlert(pool, ref, 'VM_RESUMED', 'resumed')
      return ''
    })
  },
  'VM.resume_on': (pool, args, call) => {
    const ref = vmRefArg(args)
    return vmOperation(pool, call, ref, 'resume_on', () => {
      place(pool, ref, chooseHost(pool, pool.db.must('VM', ref), str(args[1])), args[2] === true ? 'Paused' : 'Running')
      vmAlert(pool, ref, 'VM_RESUMED', 'resumed')
      return ''
    })
  },
  'VM.clean_shutdown': (pool, args, call) => shutdown(pool, call, vmRefArg(args), 'clean_shutdown'),
  'VM.hard_shutdown': (pool, args, call) => shutdown(pool, call, vmRefArg(args), 'hard_shutdown'),
  'VM.shutdown': (pool, args, call) => shutdown(pool, call, vmRefArg(args), 'shutdown'),
  'VM.clean_reboot': (pool, args, call) => reboot(pool, call, vmRefArg(args), 'clean_reboot'),
  'VM.hard_reboot': (pool, args, call) => reboot(pool, call, vmRefArg(args), 'hard_reboot'),
  'VM.suspend': (pool, args, call) => {
    const ref = vmRefArg(args)
    return vmOperation(pool, call, ref, 'suspend', () => {
      vmAlert(pool, ref, 'VM_SUSPENDED', 'suspended')
      unplace(pool, ref, 'Suspended')
      return ''
    })
  },
  'VM.pause': (pool, args, call) => {
    const ref = vmRefArg(args)
    return vmOperation(pool, call, ref, 'pause', () => {
      pool.db.update('VM', ref, { power_state: 'Paused' })
      refreshAllowedOperations(pool, ref)
      refreshVmStorage(pool, ref)
      return ''
    })
  },
  'VM.unpause': (pool, args, call) => {
    const ref = vmRefArg(args)
    return vmOperation(pool, call, ref, 'unpause', () => {
      pool.db.update('VM', ref, { power_state: 'Running' })
      refreshAllowedOperations(pool, ref)
      refreshVmStorage(pool, ref)
      return ''
    })
  },
  'VM.snapshot': (pool, args, call) => {
    const ref = vmRefArg(args)
    return vmOperation(pool, call, ref, 'snapshot', () => copyVm(pool, ref, str(args[1]), 'snapshot'))
  },
  'VM.snapshot_with_quiesce': (pool, args, call) => {
    const ref = vmRefArg(args)
    return vmOperation(pool, call, ref, 'snapshot', () => copyVm(pool, ref, str(args[1]), 'snapshot'))
  },
  'VM.checkpoint': (pool, args, call) => {
    const ref = vmRefArg(args)
    return vmOperation(pool, call, ref, 'checkpoint', () => copyVm(pool, ref, str(args[1]), 'checkpoint'))
  },
  'VM.clone': (pool, args, call) => {
    const ref = vmRefArg(args)
    return vmOperation(pool, call, ref, 'clone', () => copyVm(pool, ref, str(args[1]), 'clone'))
  },
  'VM.copy': (pool, args, call) => {
    const ref = vmRefArg(args)
    // xapi_vm.ml copy: an SR that exists must not be an ISO library
    const sr = pool.db.get('SR', str(args[2]))
    if (sr && sr['content_type'] === 'iso') throw new SimXapiError(['OPERATION_NOT_ALLOWED', "Cannot copy a VM's disks to an ISO SR"])
    return vmOperation(pool, call, ref, 'copy', () => copyVm(pool, ref, str(args[1]), 'copy', str(args[2])))
  },
  'VM.revert': (pool, args, call) => {
    const snapRef = vmRefArg(args)
    return vmOperation(pool, call, snapRef, 'revert', () => {
      const snap = pool.db.must('VM', snapRef)
      const target = str(snap['snapshot_of'])
      if (!pool.db.get('VM', target)) throw new SimXapiError(['VM_REVERT_FAILED', target, snapRef])
      const cur = pool.db.must('VM', target)
      if (cur['power_state'] !== 'Halted' && cur['power_state'] !== 'Suspended') unplace(pool, target, 'Halted')
      const copy: SimRecord = {}
      for (const f of ['memory_static_min', 'memory_static_max', 'memory_dynamic_min', 'memory_dynamic_max', 'VCPUs_max', 'VCPUs_at_startup', 'platform']) {
        if (snap[f] !== undefined) copy[f] = snap[f] as SimValue
      }
      pool.db.update('VM', target, { ...copy, power_state: snap['power_state'] === 'Suspended' ? 'Suspended' : 'Halted', parent: snapRef })
      refreshAllowedOperations(pool, target)
      return ''
    })
  },
  'VM.destroy': (pool, args, call) => {
    const ref = vmRefArg(args)
    return vmOperation(pool, call, ref, 'destroy', () => {
      destroyVm(pool, ref)
      return ''
    })
  },
  'VM.pool_migrate': (pool, args, call) => {
    const ref = vmRefArg(args)
    const dest = str(args[1])
    return vmOperation(pool, call, ref, 'pool_migrate', () => {
      const vm = pool.db.must('VM', ref)
      if (str(vm['resident_on']) === dest) return ''
      const host = chooseHost(pool, vm, dest)
      const power = vm['power_state'] === 'Paused' ? 'Paused' : 'Running'
      unplace(pool, ref, 'Halted')
      place(pool, ref, host, power)
      return ''
    })
  },
  'VM.assert_operation_valid': (pool, args) => {
    const ref = vmRefArg(args)
    checkVmOperation(ref, pool.db.must('VM', ref), str(args[1]))
    return ''
  },
  'VM.update_allowed_operations': (pool, args) => {
    pool.db.must('VM', vmRefArg(args))
    refreshAllowedOperations(pool, vmRefArg(args))
    return ''
  },
  'VM.get_possible_hosts': (pool) => [...pool.db.table('host').keys()].filter((h) => hostUsable(pool, h)),
  'VM.set_VCPUs_number_live': (pool, [vm, n]) => {
    const ref = str(vm)
    const rec = pool.db.must('VM', ref)
    // message_forwarding.ml: with_vm_operation changing_VCPUs_live (running only, not busy, not a template)
    checkVmOperation(ref, rec, 'changing_VCPUs_live')
    // xapi_xenops.ml set_vcpus: xenopsd's Invalid_vcpus, in XAPI's words
    if (num(n) < 1 || num(n) > num(rec['VCPUs_max'])) throw new SimXapiError(['INVALID_VALUE', 'VCPU values must satisfy: 0 < VCPUs ≤ VCPUs_max', String(n)])
    const updated = pool.db.update('VM', ref, { VCPUs_at_startup: num(n) })
    updateMetrics(pool, updated, { VCPUs_number: num(n) })
    return ''
  },
}

function shutdown(pool: PoolState, call: CallInfo, ref: string, op: string): Promise<SimValue> {
  return vmOperation(pool, call, ref, op, () => {
    vmAlert(pool, ref, 'VM_SHUTDOWN', 'shut down')
    unplace(pool, ref, 'Halted')
    return ''
  })
}

function reboot(pool: PoolState, call: CallInfo, ref: string, op: string): Promise<SimValue> {
  return vmOperation(pool, call, ref, op, () => {
    const vm = pool.db.must('VM', ref)
    const hostRef = str(vm['resident_on'])
    // A reboot is a new domain: xapi drops the old console rows and makes new ones.
    destroyConsoles(pool, vm, 'reboot')
    const updated = pool.db.update('VM', ref, { power_state: 'Running', domid: pool.allocDomid(hostRef), consoles: [createConsole(pool, ref, hostRef)] })
    updateMetrics(pool, updated, { start_time: xapiDate() })
    refreshAllowedOperations(pool, ref)
    vmAlert(pool, ref, 'VM_REBOOTED', 'rebooted')
    return ''
  })
}

// ---------------------------------------------------------------------------------------------
// Hosts

async function hostOperation(pool: PoolState, call: CallInfo, hostRef: string, op: string, body: () => SimValue | Promise<SimValue>): Promise<SimValue> {
  pool.db.must('host', hostRef)
  const visible = call.taskRef ? pool.tasks.running.get(call.taskRef) : undefined
  const task = visible ?? pool.tasks.create(call.wire, pool.masterRef, call.session, false)
  const host = pool.db.must('host', hostRef)
  pool.db.update('host', hostRef, { current_operations: { ...obj(host['current_operations']), [task.ref]: op } })
  try {
    await opDelay(pool, task)
    return await body()
  } finally {
    const h = pool.db.get('host', hostRef)
    if (h) {
      const ops = { ...obj(h['current_operations']) }
      delete ops[task.ref]
      pool.db.update('host', hostRef, { current_operations: ops })
    }
    if (!visible) pool.tasks.discard(task)
  }
}

function setHostLive(pool: PoolState, hostRef: string, live: boolean): void {
  const mref = hostMetricsRef(pool, hostRef)
  if (pool.db.get('host_metrics', mref)) pool.db.update('host_metrics', mref, { live })
}

function residentGuests(pool: PoolState, hostRef: string): string[] {
  return arr(pool.db.must('host', hostRef)['resident_VMs'])
    .map(str)
    .filter((r) => pool.db.get('VM', r)?.['is_control_domain'] !== true)
}

export const HOST_LIFECYCLE_HANDLERS: Record<string, Handler> = {
  'host.disable': (pool, [ref]) => {
    pool.db.must('host', str(ref))
    pool.db.update('host', str(ref), { enabled: false })
    addMessage(pool, 'HOST_DISABLED', 4, 'Host', str(pool.db.must('host', str(ref))['uuid']), 'Host has been disabled')
    return ''
  },
  'host.enable': (pool, [ref]) => {
    pool.db.must('host', str(ref))
    pool.db.update('host', str(ref), { enabled: true })
    return ''
  },
  'host.evacuate': (pool, [ref], call) =>
    hostOperation(pool, call, str(ref), 'evacuate', () => {
      const hostRef = str(ref)
      for (const vmRef of residentGuests(pool, hostRef)) {
        const vm = pool.db.must('VM', vmRef)
        const targets = [...pool.db.table('host').keys()].filter((h) => h !== hostRef && hostUsable(pool, h) && hostFree(pool, h) >= vmMemory(vm))
        targets.sort((a, b) => hostFree(pool, b) - hostFree(pool, a))
        const dest = targets[0]
        if (!dest) throw new SimXapiError(['HOST_NOT_ENOUGH_FREE_MEMORY', String(vmMemory(vm)), String(Math.max(0, ...[...pool.db.table('host').keys()].filter((h) => h !== hostRef).map((h) => hostFree(pool, h))))])
        const power = vm['power_state'] === 'Paused' ? 'Paused' : 'Running'
        unplace(pool, vmRef, 'Halted')
        place(pool, vmRef, dest, power)
      }
      return ''
    }),
  'host.reboot': (pool, [ref], call) => {
    const hostRef = str(ref)
    if (pool.db.must('host', hostRef)['enabled'] === true) throw new SimXapiError(['HOST_NOT_DISABLED'])
    return hostOperation(pool, call, hostRef, 'reboot', async () => {
      for (const vmRef of residentGuests(pool, hostRef)) unplace(pool, vmRef, 'Halted')
      setHostLive(pool, hostRef, false)
      await new Promise((r) => setTimeout(r, pool.opDurationMs))
      setHostLive(pool, hostRef, true)
      pool.db.update('host', hostRef, { enabled: true })
      return ''
    })
  },
  'host.shutdown': (pool, [ref], call) => {
    const hostRef = str(ref)
    if (pool.db.must('host', hostRef)['enabled'] === true) throw new SimXapiError(['HOST_NOT_DISABLED'])
    return hostOperation(pool, call, hostRef, 'shutdown', () => {
      for (const vmRef of residentGuests(pool, hostRef)) unplace(pool, vmRef, 'Halted')
      setHostLive(pool, hostRef, false)
      return ''
    })
  },
}
