/** VM.snapshot as the fleets take it at build time. */
import type { SimRecord, SimValue } from '../model'
import { cloneRecord, NULL_DATE, NULL_REF } from '../records'
import { arr, EXTERNAL_VNC_KEY, map, num, roundPages, str, type BuildContext } from './context'
import { vdiAllowedOperations, vmAllowedOperations } from './ops'
import type { PowerState } from './plan'
import { addVbd, addVdi } from './storage'

/** VM.snapshot as xapi_vm_clone does it: a halted template copy with snapshot VDIs, VIFs and metrics. */
export function buildSnapshot(b: BuildContext, srcRef: string, index: number, srcPower: PowerState): void {
  const src = b.get('VM', srcRef)
  const snapRef = b.ref()
  const daysAgo = 2 + index * 7 + b.rng.int(5)
  const when = b.date(daysAgo)
  const vbds: string[] = []
  for (const vbdRef of arr(src, 'VBDs')) {
    if (typeof vbdRef !== 'string') continue
    const vbd = b.get('VBD', vbdRef)
    const vdiRef = str(vbd, 'VDI')
    let snapVdi = NULL_REF
    if (vbd.type === 'Disk' && vdiRef !== NULL_REF) {
      const vdi = b.get('VDI', vdiRef)
      snapVdi = addVdi(b, { sr: str(vdi, 'SR'), name: str(vdi, 'name_label'), description: str(vdi, 'name_description'), size: num(vdi, 'virtual_size'), used: roundPages(num(vdi, 'physical_utilisation') * 0.1), type: str(vdi, 'type'), snapshotOf: vdiRef, snapshotTime: when })
      b.get('VDI', snapVdi).allowed_operations = vdiAllowedOperations({ attachedToRunning: false, iso: false, snapshot: true, suspend: false })
    }
    const ref = addVbd(b, { vm: snapRef, vdi: snapVdi, userdevice: str(vbd, 'userdevice'), device: str(vbd, 'device'), bootable: vbd.bootable === true, type: vbd.type === 'CD' ? 'CD' : 'Disk', mode: vbd.mode === 'RO' ? 'RO' : 'RW', running: false, empty: snapVdi === NULL_REF, owner: vbd.bootable === true })
    b.get('VBD', ref).allowed_operations = []
    vbds.push(ref)
  }
  const vifs: string[] = []
  for (const vifRef of arr(src, 'VIFs')) {
    if (typeof vifRef !== 'string') continue
    const vif = b.get('VIF', vifRef)
    const { ref } = b.add('VIF', { ...vif, uuid: b.uuid(), VM: snapRef, currently_attached: false, allowed_operations: [] })
    arr(b.get('network', str(vif, 'network')), 'VIFs').push(ref)
    vifs.push(ref)
  }
  const metricsRef = b.ref()
  const srcMetrics = b.get('VM_metrics', str(src, 'metrics'))
  b.add('VM_metrics', { ...srcMetrics, uuid: b.uuid(), memory_actual: 0, VCPUs_number: 0, start_time: NULL_DATE, hvm: false, current_domain_type: 'unspecified', ...(b.hasVmNuma ? { numa_nodes: 0, numa_optimised: false, numa_node_memory: {} } : {}) }, metricsRef)
  let gm = NULL_REF
  const srcGm = str(src, 'guest_metrics')
  if (srcGm !== NULL_REF) gm = b.add('VM_guest_metrics', { ...b.get('VM_guest_metrics', srcGm), uuid: b.uuid(), live: false }).ref
  const name = index === 0 ? `${str(src, 'name_label')} before upgrade` : `${str(src, 'name_label')} ${when.slice(0, 8)}`
  const srcOther = map(src, 'other_config')
  const otherConfig: Record<string, SimValue> = { ...srcOther }
  delete otherConfig[EXTERNAL_VNC_KEY]
  const rec: SimRecord = cloneRecord({
    ...src,
    uuid: b.uuid(),
    name_label: name,
    name_description: '',
    power_state: 'Halted',
    is_a_template: true,
    is_a_snapshot: true,
    snapshot_of: srcRef,
    snapshot_time: when,
    snapshots: [],
    children: [srcRef],
    parent: src.parent ?? NULL_REF,
    resident_on: NULL_REF,
    domid: -1,
    consoles: [],
    VBDs: vbds,
    VIFs: vifs,
    metrics: metricsRef,
    guest_metrics: gm,
    suspend_VDI: NULL_REF,
    current_operations: {},
    blocked_operations: {},
    other_config: otherConfig,
    tags: [],
    snapshot_info: { 'power-state-at-snapshot': srcPower, 'disk-snapshot-type': 'crash_consistent' },
  })
  if ('NVRAM' in src) rec.NVRAM = { ...map(src, 'NVRAM') }
  if ('pending_guidances' in src) rec.pending_guidances = []
  rec.allowed_operations = vmAllowedOperations(rec, false)
  b.table('VM').set(snapRef, rec)
  arr(src, 'snapshots').push(snapRef)
  // the VM now descends from its newest snapshot; the previous parent gains no child link to keep the chain simple
  const oldParent = str(src, 'parent')
  if (oldParent !== NULL_REF) {
    const p = b.objects.get('VM')?.get(oldParent)
    if (p) {
      const children = arr(p, 'children')
      const i = children.indexOf(srcRef)
      if (i >= 0) children[i] = snapRef
    }
  }
  src.parent = snapRef
}
