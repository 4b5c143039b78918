/**
 * Storage as xapi does it (issue 13): disks (VDI), drives (VBD), repositories (SR) and their host
 * connections (PBD). Every call runs xapi's checks in xapi's order (storage-rules.ts) and fails
 * with xapi's codes and parameters; the operation marks the objects it works on in
 * current_operations for the fleet's operation duration (so a second scan of the same SR is
 * refused while one runs), then changes the database, which emits the events.
 *
 * Space is accounted as the storage managers do it: a thick SR (LVM) holds a disk's whole virtual
 * size, a thin one (NFS, EXT) only what was written; a disk that does not fit is SR_FULL
 * [requested, maximum] (bytes: the size asked for, the largest that fits).
 *
 * Spread into CUSTOM_HANDLERS by handlers.ts.
 */
import { SimXapiError, type SimRecord, type SimValue } from '../model'
import { newRef } from './db'
import { disksOf } from './disks'
import { maintainRelations, type CallInfo, type Handler } from './generic'
import { opDelay, place, unplace } from './lifecycle'
import type { PoolState } from './pool'
import { NULL_REF } from './schema'
import {
  checkSr,
  checkVbd,
  checkVdi,
  isThin,
  num,
  obj,
  pluggedPbds,
  refreshSr,
  refreshVbd,
  refreshVdi,
  refreshVmStorage,
  refs,
  str,
} from './storage-rules'
import type { TaskHandle } from './tasks'
import { checkVmOperation, setCurrentOperation } from './vmops'

const MiB = 1024 * 1024
/** VHD sizes are whole 2 MiB blocks */
const BLOCK = 2 * MiB
/** what a new thin-provisioned VHD takes before anything is written (header, BAT) */
const THIN_INITIAL = 4 * MiB

const roundUp = (n: number): number => Math.ceil(n / BLOCK) * BLOCK

// ---------------------------------------------------------------------------------------------
// operations: current_operations for the duration, as message_forwarding's with_*_marked

type Marked = { cls: 'VDI' | 'SR' | 'VBD' | 'VM'; ref: string; op: string }

function check(pool: PoolState, m: Marked): void {
  switch (m.cls) {
    case 'VDI':
      return checkVdi(pool, m.ref, m.op)
    case 'SR':
      return checkSr(pool, m.ref, m.op)
    case 'VBD':
      return checkVbd(pool, m.ref, m.op)
    case 'VM':
      return checkVmOperation(m.ref, pool.db.must('VM', m.ref), m.op)
  }
}

function setMark(pool: PoolState, m: Marked, task: string, on: boolean): void {
  if (m.cls === 'VM') {
    setCurrentOperation(pool, m.ref, task, on ? m.op : undefined)
    return
  }
  const rec = pool.db.get(m.cls, m.ref)
  if (!rec) return
  const ops = { ...obj(rec['current_operations']) }
  if (on) ops[task] = m.op
  else delete ops[task]
  pool.db.update(m.cls, m.ref, { current_operations: ops })
  refreshAround(pool, m.cls, m.ref)
}

/** allowed_operations of the object and of those whose checks read it */
function refreshAround(pool: PoolState, cls: string, ref: string): void {
  if (cls === 'SR') return refreshSr(pool, ref)
  if (cls === 'VDI') {
    refreshVdi(pool, ref)
    for (const vbd of refs(pool.db.get('VDI', ref)?.['VBDs'])) refreshVbd(pool, vbd)
    return
  }
  if (cls === 'VBD') {
    refreshVbd(pool, ref)
    const vdi = str(pool.db.get('VBD', ref)?.['VDI'])
    if (vdi && vdi !== NULL_REF) refreshVdi(pool, vdi)
  }
}

/** checks, marks, the fleet's duration (progress, cancellable), then `body`; marks cleared however it ends */
async function marked<T extends SimValue>(pool: PoolState, call: CallInfo, marks: Marked[], body: (task: TaskHandle) => T | Promise<T>): Promise<T> {
  for (const m of marks) check(pool, m)
  const visible = call.taskRef ? pool.tasks.running.get(call.taskRef) : undefined
  const task = visible ?? pool.tasks.create(call.wire, pool.masterRef, call.session, false)
  for (const m of marks) setMark(pool, m, task.ref, true)
  try {
    await opDelay(pool, task)
    return await body(task)
  } finally {
    for (const m of marks) setMark(pool, m, task.ref, false)
    if (!visible) pool.tasks.discard(task)
  }
}

// ---------------------------------------------------------------------------------------------
// space

/** what a new disk of `virtualSize` takes on the SR at once */
function initialFootprint(pool: PoolState, srRef: string, virtualSize: number): number {
  return isThin(pool, srRef) ? Math.min(roundUp(virtualSize), THIN_INITIAL) : roundUp(virtualSize)
}

export function srFree(pool: PoolState, srRef: string): number {
  const sr = pool.db.must('SR', srRef)
  return Math.max(0, num(sr['physical_size']) - num(sr['physical_utilisation']))
}

/** SR_FULL [requested, maximum] when `need` more bytes do not fit; `requested`/`base` express sizes as the caller asked for them */
function assertFits(pool: PoolState, srRef: string, need: number, requested: number, base = 0): void {
  const free = srFree(pool, srRef)
  if (need > free) throw new SimXapiError(['SR_FULL', String(requested), String(base + free)])
}

export function account(pool: PoolState, srRef: string, physical: number, virtual: number): void {
  const sr = pool.db.get('SR', srRef)
  if (!sr) return
  pool.db.update('SR', srRef, {
    physical_utilisation: Math.max(0, num(sr['physical_utilisation']) + physical),
    virtual_allocation: Math.max(0, num(sr['virtual_allocation']) + virtual),
  })
}

// ---------------------------------------------------------------------------------------------
// devices

/** Device_number.of_string for the forms XAPI accepts: '3', 'xvdd', 'hdb', 'sda' → disk number */
export function diskNumber(device: string): number | undefined {
  if (/^\d{1,3}$/.test(device)) return Number(device)
  const m = /^(?:xvd|hd|sd)([a-z]{1,2})$/.exec(device)
  if (!m || !m[1]) return undefined
  const letters = m[1]
  const n = letters.length === 1 ? letters.charCodeAt(0) - 97 : (letters.charCodeAt(0) - 96) * 26 + letters.charCodeAt(1) - 97
  return n
}

function deviceName(n: number): string {
  return n < 26 ? `xvd${String.fromCharCode(97 + n)}` : `xvd${String.fromCharCode(96 + Math.floor(n / 26))}${String.fromCharCode(97 + (n % 26))}`
}

function usedDisks(pool: PoolState, vm: SimRecord): Set<number> {
  const used = new Set<number>()
  for (const r of refs(vm['VBDs'])) {
    const vbd = pool.db.get('VBD', r)
    if (!vbd) continue
    for (const d of [str(vbd['userdevice']), str(vbd['device'])]) {
      const n = diskNumber(d)
      if (n !== undefined) used.add(n)
    }
  }
  return used
}

/** xapi_vm_helpers.ml allowed_VBD_devices (HVM and PV: disks 0–254) minus the ones in use */
function allowedVbdDevices(pool: PoolState, vm: SimRecord): string[] {
  const used = usedDisks(pool, vm)
  const out: string[] = []
  for (let n = 0; n <= 254; n++) if (!used.has(n)) out.push(String(n))
  return out
}

/** the host a VM's devices are plugged on, or undefined when it is not running there */
function residentHost(pool: PoolState, vm: SimRecord): string | undefined {
  const h = str(vm['resident_on'])
  return h && h !== NULL_REF && (vm['power_state'] === 'Running' || vm['power_state'] === 'Paused') ? h : undefined
}

function assertSrVisible(pool: PoolState, srRef: string, host: string | undefined): void {
  if (host !== undefined && pluggedPbds(pool, srRef, host).length === 0) throw new SimXapiError(['SR_NOT_ATTACHED', srRef])
}

function vbdOfVdi(pool: PoolState, vdiRef: string): string | undefined {
  return refs(pool.db.get('VDI', vdiRef)?.['VBDs'])[0]
}

function removeVbd(pool: PoolState, ref: string): void {
  const vbd = pool.db.get('VBD', ref)
  if (!vbd) return
  pool.db.remove('VBD', ref)
  const c = pool.schema.classes.get('VBD')
  if (c) maintainRelations(pool, c, ref, vbd, 'remove')
  const metrics = str(vbd['metrics'])
  if (metrics && metrics !== NULL_REF) pool.db.remove('VBD_metrics', metrics)
}

/** the VDI record goes (xapi's destroy and forget): its drives go too, and it stops being a snapshot of anything */
function removeVdi(pool: PoolState, ref: string, freeSpace: boolean): void {
  const vdi = pool.db.get('VDI', ref)
  if (!vdi) return
  const srRef = str(vdi['SR'])
  const vms = new Set<string>()
  for (const vbd of refs(vdi['VBDs'])) {
    vms.add(str(pool.db.get('VBD', vbd)?.['VM']))
    removeVbd(pool, vbd)
  }
  const parent = str(vdi['snapshot_of'])
  const p = pool.db.get('VDI', parent)
  if (p) pool.db.update('VDI', parent, { snapshots: refs(p['snapshots']).filter((s) => s !== ref) })
  for (const [vmRef, vm] of pool.db.table('VM')) if (vm['suspend_VDI'] === ref) pool.db.update('VM', vmRef, { suspend_VDI: NULL_REF })
  pool.db.remove('VDI', ref)
  const c = pool.schema.classes.get('VDI')
  if (c) maintainRelations(pool, c, ref, vdi, 'remove')
  if (freeSpace) account(pool, srRef, -num(vdi['physical_utilisation']), -num(vdi['virtual_size']))
  for (const vm of vms) refreshVmStorage(pool, vm)
  refreshSr(pool, srRef)
}

function newVdi(pool: PoolState, srRef: string, fields: SimRecord): string {
  const ref = newRef()
  const rec = pool.db.blank('VDI', {
    name_label: '',
    name_description: '',
    allowed_operations: [],
    current_operations: {},
    VBDs: [],
    crash_dumps: [],
    type: 'user',
    sharable: false,
    read_only: false,
    other_config: {},
    storage_lock: false,
    managed: true,
    missing: false,
    parent: NULL_REF,
    xenstore_data: {},
    sm_config: {},
    is_a_snapshot: false,
    snapshot_of: NULL_REF,
    snapshots: [],
    tags: [],
    on_boot: 'persist',
    ...fields,
    SR: srRef,
  })
  rec['location'] = str(rec['uuid'])
  const sr = pool.db.get('SR', srRef)
  if (sr && sr['content_type'] !== 'iso' && Object.keys(obj(rec['sm_config'])).length === 0) rec['sm_config'] = { vdi_type: 'vhd' }
  // fields of later releases stay out of an older pool's records
  const c = pool.schema.classes.get('VDI')
  if (c) for (const k of Object.keys(rec)) if (!c.fieldMap.has(k)) delete rec[k]
  pool.db.insert('VDI', ref, rec)
  if (c) maintainRelations(pool, c, ref, rec, 'add')
  account(pool, srRef, num(rec['physical_utilisation']), num(rec['virtual_size']))
  refreshVdi(pool, ref)
  refreshSr(pool, srRef)
  return ref
}

// ---------------------------------------------------------------------------------------------
// handlers

const vdiCreate: Handler = (pool, [args], call) => {
  const a = obj(args)
  const srRef = str(a['SR'])
  pool.db.must('SR', srRef)
  const type = str(a['type']) || 'user'
  if (type === 'cbt_metadata') throw new SimXapiError(['VDI_INCOMPATIBLE_TYPE', '', 'cbt_metadata'])
  if (pluggedPbds(pool, srRef).length === 0) throw new SimXapiError(['SR_HAS_NO_PBDS', srRef])
  const size = roundUp(Math.max(0, num(a['virtual_size'])))
  return marked(pool, call, [{ cls: 'SR', ref: srRef, op: 'vdi_create' }], () => {
    const footprint = initialFootprint(pool, srRef, size)
    assertFits(pool, srRef, footprint, size)
    const fields: SimRecord = {}
    for (const k of ['name_label', 'name_description', 'sharable', 'read_only', 'other_config', 'xenstore_data', 'sm_config', 'tags']) if (a[k] !== undefined) fields[k] = a[k] as SimValue
    return newVdi(pool, srRef, { ...fields, type, virtual_size: size, physical_utilisation: footprint })
  })
}

const vdiDestroy: Handler = (pool, [self], call) => {
  const ref = str(self)
  const vdi = pool.db.must('VDI', ref)
  const srRef = str(vdi['SR'])
  return marked(pool, call, [{ cls: 'SR', ref: srRef, op: 'vdi_destroy' }, { cls: 'VDI', ref, op: 'destroy' }], () => {
    if (pluggedPbds(pool, srRef).length === 0) throw new SimXapiError(['SR_HAS_NO_PBDS', srRef])
    if (pool.db.must('VDI', ref)['managed'] === false) throw new SimXapiError(['VDI_NOT_MANAGED', ref])
    const attached = refs(pool.db.must('VDI', ref)['VBDs']).some((v) => pool.db.get('VBD', v)?.['currently_attached'] === true)
    if (attached) throw new SimXapiError(['VDI_IN_USE', ref, 'destroy'])
    // the bytes go too (an SR.forget keeps them: removeVdi alone)
    disksOf(pool).forget(ref)
    removeVdi(pool, ref, true)
    return ''
  })
}

function resize(op: 'resize' | 'resize_online'): Handler {
  return (pool, [vdiArg, sizeArg], call) => {
    const ref = str(vdiArg)
    const vdi = pool.db.must('VDI', ref)
    const srRef = str(vdi['SR'])
    return marked(pool, call, [{ cls: 'SR', ref: srRef, op: 'vdi_resize' }, { cls: 'VDI', ref, op }], () => {
      if (pluggedPbds(pool, srRef).length === 0) throw new SimXapiError(['SR_HAS_NO_PBDS', srRef])
      const cur = pool.db.must('VDI', ref)
      const from = num(cur['virtual_size'])
      const to = roundUp(num(sizeArg))
      // the storage managers refuse to shrink (LVHD/FileSR: SRErrorCodes 'VDISize')
      if (to < from) throw new SimXapiError(['SR_BACKEND_FAILURE_79', '', 'VDI Invalid size [opterr=shrinking not allowed]', ''])
      const grow = to - from
      const thick = !isThin(pool, srRef)
      if (thick) assertFits(pool, srRef, grow, to, from)
      pool.db.update('VDI', ref, { virtual_size: to, physical_utilisation: num(cur['physical_utilisation']) + (thick ? grow : 0) })
      account(pool, srRef, thick ? grow : 0, grow)
      refreshSr(pool, srRef)
      return ''
    })
  }
}

const vdiCopy: Handler = (pool, [vdiArg, srArg, , intoArg], call) => {
  const ref = str(vdiArg)
  const src = pool.db.must('VDI', ref)
  const srRef = str(srArg)
  pool.db.must('SR', srRef)
  const into = str(intoArg)
  return marked(pool, call, [{ cls: 'VDI', ref, op: 'copy' }, { cls: 'SR', ref: srRef, op: 'vdi_create' }], () => {
    if (pluggedPbds(pool, srRef).length === 0) throw new SimXapiError(['SR_HAS_NO_PBDS', srRef])
    const size = num(src['virtual_size'])
    if (into && into !== NULL_REF) {
      const target = pool.db.must('VDI', into)
      if (num(target['virtual_size']) < size) throw new SimXapiError(['VDI_TOO_SMALL', into, String(size)])
      if (target['read_only'] === true) throw new SimXapiError(['VDI_READONLY', into])
      return into
    }
    const footprint = isThin(pool, srRef) ? Math.max(THIN_INITIAL, num(src['physical_utilisation'])) : roundUp(size)
    assertFits(pool, srRef, footprint, size)
    return newVdi(pool, srRef, {
      name_label: src['name_label'] ?? '',
      name_description: src['name_description'] ?? '',
      type: src['type'] ?? 'user',
      sharable: src['sharable'] ?? false,
      read_only: src['read_only'] ?? false,
      other_config: { ...obj(src['other_config']) },
      virtual_size: size,
      physical_utilisation: footprint,
    })
  })
}


/** the hosts that can reach every SR in `srs` (a PBD plugged on each), enabled and live */
function hostsSeeing(pool: PoolState, srs: string[]): string[] {
  return [...pool.db.table('host').keys()].filter((h) => {
    const host = pool.db.get('host', h)
    const metrics = pool.db.get('host_metrics', str(host?.['metrics']))
    return host?.['enabled'] === true && metrics?.['live'] !== false && srs.every((sr) => pluggedPbds(pool, sr, h).length > 0)
  })
}

// ---------------------------------------------------------------------------------------------
// storage migrations in flight (xapi_vm_migrate.ml with_migrate: 3 at once per xapi)

export const MAX_STORAGE_MIGRATES = 3
const inFlight = new WeakMap<PoolState, number>()

/** runs `body` as one of the pool's storage migrations, or refuses TOO_MANY_STORAGE_MIGRATES ["3"] */
export async function withStorageMigrate<T>(pool: PoolState, body: () => Promise<T>): Promise<T> {
  const n = inFlight.get(pool) ?? 0
  if (n >= MAX_STORAGE_MIGRATES) throw new SimXapiError(['TOO_MANY_STORAGE_MIGRATES', String(MAX_STORAGE_MIGRATES)])
  inFlight.set(pool, n + 1)
  try {
    return await body()
  } finally {
    inFlight.set(pool, Math.max(0, (inFlight.get(pool) ?? 1) - 1))
  }
}

const vdiPoolMigrate: Handler = (pool, [vdiArg, srArg], call) => {
  const ref = str(vdiArg)
  const vdi = pool.db.must('VDI', ref)
  const srRef = str(srArg)
  pool.db.must('SR', srRef)
  const vbdRef = vbdOfVdi(pool, ref)
  if (!vbdRef) throw new SimXapiError(['VDI_NEEDS_VM_FOR_MIGRATE', ref])
  if (vdi['cbt_enabled'] === true) throw new SimXapiError(['VDI_CBT_ENABLED', ref])
  const vmRef = str(pool.db.must('VBD', vbdRef)['VM'])
  return marked(pool, call, [{ cls: 'VM', ref: vmRef, op: 'migrate_send' }, { cls: 'VDI', ref, op: 'mirror' }], async (task) => {
    const vm = pool.db.must('VM', vmRef)
    // every other disk of the VM stays where it is: the destination host must see all of them
    const needed = new Set([srRef])
    for (const r of refs(vm['VBDs'])) {
      const other = pool.db.get('VDI', str(pool.db.get('VBD', r)?.['VDI']))
      if (other && str(pool.db.get('VBD', r)?.['VDI']) !== ref) needed.add(str(other['SR']))
    }
    const candidates = hostsSeeing(pool, [...needed])
    const resident = residentHost(pool, vm)
    const dest = resident && candidates.includes(resident) ? resident : candidates.includes(pool.masterRef) ? pool.masterRef : candidates[0]
    if (!dest) throw new SimXapiError(['NO_HOSTS_AVAILABLE'])
    // storage migrations in flight per pool, shared with VM.migrate_send (migrate.ts)
    return withStorageMigrate(pool, async () => {
      const cur = pool.db.must('VDI', ref)
      const size = num(cur['virtual_size'])
      const footprint = isThin(pool, srRef) ? Math.max(THIN_INITIAL, num(cur['physical_utilisation'])) : roundUp(size)
      assertFits(pool, srRef, footprint, size)
      // the mirror copies while the guest runs: as long again as the preparation
      await opDelay(pool, task)
      const copy = newVdi(pool, srRef, {
        name_label: cur['name_label'] ?? '',
        name_description: cur['name_description'] ?? '',
        type: cur['type'] ?? 'user',
        sharable: cur['sharable'] ?? false,
        read_only: cur['read_only'] ?? false,
        other_config: { ...obj(cur['other_config']) },
        virtual_size: size,
        physical_utilisation: footprint,
      })
      for (const v of refs(cur['VBDs'])) {
        pool.db.update('VBD', v, { VDI: copy })
        pool.db.update('VDI', copy, { VBDs: [...refs(pool.db.must('VDI', copy)['VBDs']), v] })
      }
      pool.db.update('VDI', ref, { VBDs: [] })
      removeVdi(pool, ref, true)
      // the VM went where its disks can be seen (xapi migrates it within the pool)
      const now = pool.db.must('VM', vmRef)
      const live = residentHost(pool, now)
      if (live && live !== dest) {
        const power = now['power_state'] === 'Paused' ? 'Paused' : 'Running'
        unplace(pool, vmRef, 'Halted')
        place(pool, vmRef, dest, power)
      }
      refreshVmStorage(pool, vmRef)
      return copy
    })
  })
}

const vbdCreate: Handler = (pool, [args]) => {
  const a = obj(args)
  const vmRef = str(a['VM'])
  const vm = pool.db.must('VM', vmRef)
  const type = str(a['type']) || 'Disk'
  const mode = str(a['mode']) || 'RW'
  const empty = a['empty'] === true
  const vdiRef = empty ? NULL_REF : str(a['VDI'])
  if (!empty) {
    const vdi = pool.db.must('VDI', vdiRef)
    const t = str(vdi['type'])
    if (!['system', 'user', 'ephemeral', 'suspend', 'crashdump', 'metadata', 'rrd', 'pvs_cache'].includes(t)) throw new SimXapiError(['VDI_INCOMPATIBLE_TYPE', vdiRef, t])
  }
  if (type === 'CD' && mode !== 'RO') throw new SimXapiError(['VBD_CDS_MUST_BE_READONLY'])
  if (type !== 'CD' && empty) throw new SimXapiError(['VBD_NOT_REMOVABLE_MEDIA', 'in constructor'])
  if (!empty && mode === 'RW' && pool.db.must('VDI', vdiRef)['read_only'] === true) throw new SimXapiError(['VDI_READONLY', vdiRef])
  const migrating = Object.entries(obj(vm['current_operations'])).find(([, op]) => op === 'migrate_send' || op === 'pool_migrate')
  if (migrating) throw new SimXapiError(['OTHER_OPERATION_IN_PROGRESS', 'VM', vmRef, str(migrating[1]), migrating[0]])
  let userdevice = str(a['userdevice'])
  if (userdevice !== 'autodetect' && (diskNumber(userdevice) ?? 255) > 254) throw new SimXapiError(['INVALID_DEVICE', userdevice])
  if (userdevice === 'autodetect') {
    const first = allowedVbdDevices(pool, vm)[0]
    if (first === undefined) throw new SimXapiError(['INVALID_DEVICE', userdevice])
    userdevice = first
  }
  const n = diskNumber(userdevice)
  if (n !== undefined && usedDisks(pool, vm).has(n)) throw new SimXapiError(['DEVICE_ALREADY_EXISTS', userdevice])
  const suspended = vm['power_state'] === 'Suspended'
  const metrics = newRef()
  if (pool.schema.classes.has('VBD_metrics')) pool.db.insert('VBD_metrics', metrics, pool.db.blank('VBD_metrics', { io_read_kbs: 0, io_write_kbs: 0, other_config: {} }))
  const ref = newRef()
  const rec = pool.db.blank('VBD', {
    allowed_operations: [],
    current_operations: {},
    VM: vmRef,
    VDI: vdiRef,
    userdevice,
    device: suspended ? str(a['device']) : '',
    bootable: a['bootable'] === true,
    mode,
    type,
    unpluggable: a['unpluggable'] !== false,
    storage_lock: false,
    empty,
    other_config: { ...obj(a['other_config']) },
    currently_attached: suspended ? a['currently_attached'] === true : false,
    status_code: 0,
    status_detail: '',
    runtime_properties: {},
    qos_algorithm_type: str(a['qos_algorithm_type']),
    qos_algorithm_params: { ...obj(a['qos_algorithm_params']) },
    qos_supported_algorithms: [],
    metrics: pool.schema.classes.has('VBD_metrics') ? metrics : NULL_REF,
  })
  const c = pool.schema.classes.get('VBD')
  if (c) for (const k of Object.keys(rec)) if (!c.fieldMap.has(k)) delete rec[k]
  pool.db.insert('VBD', ref, rec)
  if (c) maintainRelations(pool, c, ref, rec, 'add')
  refreshAround(pool, 'VBD', ref)
  return ref
}

const vbdDestroy: Handler = (pool, [self]) => {
  const ref = str(self)
  const vbd = pool.db.must('VBD', ref)
  if (vbd['currently_attached'] === true) {
    const vmUuid = str(pool.db.get('VM', str(vbd['VM']))?.['uuid'])
    throw new SimXapiError(['OPERATION_NOT_ALLOWED', `VBD '${str(vbd['uuid'])}' still attached to '${vmUuid}'`])
  }
  const vdi = str(vbd['VDI'])
  removeVbd(pool, ref)
  if (vdi && vdi !== NULL_REF) refreshVdi(pool, vdi)
  return ''
}

const vbdPlug: Handler = (pool, [self], call) => {
  const ref = str(self)
  return marked(pool, call, [{ cls: 'VBD', ref, op: 'plug' }], () => {
    const vbd = pool.db.must('VBD', ref)
    const vm = pool.db.must('VM', str(vbd['VM']))
    const vdi = pool.db.get('VDI', str(vbd['VDI']))
    if (vdi) assertSrVisible(pool, str(vdi['SR']), residentHost(pool, vm))
    const n = diskNumber(str(vbd['userdevice']))
    pool.db.update('VBD', ref, { currently_attached: true, ...(str(vbd['device']) === '' && n !== undefined ? { device: deviceName(n) } : {}) })
    refreshVmStorage(pool, str(vbd['VM']))
    return ''
  })
}

function unplug(force: boolean): Handler {
  return (pool, [self], call) => {
    const ref = str(self)
    return marked(pool, call, [{ cls: 'VBD', ref, op: force ? 'unplug_force' : 'unplug' }], () => {
      const vbd = pool.db.must('VBD', ref)
      // a guest that holds the disk open refuses a clean unplug (xenopsd: device_detach_rejected)
      if (!force && obj(vbd['other_config'])['xenpilot_sim_in_use'] === 'true') throw new SimXapiError(['DEVICE_DETACH_REJECTED', 'VBD', ref, 'the guest is using the device'])
      pool.db.update('VBD', ref, { currently_attached: false })
      refreshVmStorage(pool, str(vbd['VM']))
      return ''
    })
  }
}

const vbdInsert: Handler = (pool, [vbdArg, vdiArg], call) => {
  const ref = str(vbdArg)
  const vdiRef = str(vdiArg)
  return marked(pool, call, [{ cls: 'VBD', ref, op: 'insert' }], () => {
    const vdi = pool.db.must('VDI', vdiRef)
    if (vdi['managed'] === false) throw new SimXapiError(['VDI_NOT_MANAGED', vdiRef])
    const vbd = pool.db.must('VBD', ref)
    if (vbd['empty'] !== true) throw new SimXapiError(['VBD_NOT_EMPTY', ref])
    const vm = pool.db.must('VM', str(vbd['VM']))
    assertSrVisible(pool, str(vdi['SR']), residentHost(pool, vm))
    pool.db.update('VBD', ref, { VDI: vdiRef, empty: false })
    pool.db.update('VDI', vdiRef, { VBDs: [...refs(vdi['VBDs']).filter((r) => r !== ref), ref] })
    refreshVmStorage(pool, str(vbd['VM']))
    return ''
  })
}

const vbdEject: Handler = (pool, [vbdArg], call) => {
  const ref = str(vbdArg)
  return marked(pool, call, [{ cls: 'VBD', ref, op: 'eject' }], () => {
    const vbd = pool.db.must('VBD', ref)
    if (vbd['empty'] === true) throw new SimXapiError(['VBD_IS_EMPTY', ref])
    const vdiRef = str(vbd['VDI'])
    pool.db.update('VBD', ref, { VDI: NULL_REF, empty: true })
    const vdi = pool.db.get('VDI', vdiRef)
    if (vdi) {
      pool.db.update('VDI', vdiRef, { VBDs: refs(vdi['VBDs']).filter((r) => r !== ref) })
      refreshVdi(pool, vdiRef)
    }
    refreshVmStorage(pool, str(vbd['VM']))
    return ''
  })
}

/** SR.scan/update: the SR's usage as the storage manager reports it, recomputed from its disks */
function rescan(pool: PoolState, srRef: string): void {
  const sr = pool.db.must('SR', srRef)
  let physical = 0
  let virtual = 0
  const vdis = refs(sr['VDIs'])
  for (const v of vdis) {
    const vdi = pool.db.get('VDI', v)
    physical += num(vdi?.['physical_utilisation'])
    virtual += num(vdi?.['virtual_size'])
  }
  const media = sr['type'] === 'iso' || sr['type'] === 'udev'
  // block SRs keep a little metadata per volume (LVM: 4 MiB)
  if (!media) physical += 4 * MiB * vdis.length
  pool.db.update('SR', srRef, { physical_utilisation: physical, virtual_allocation: virtual })
}

function scan(op: 'scan' | 'update'): Handler {
  return (pool, [srArg], call) => {
    const srRef = str(srArg)
    pool.db.must('SR', srRef)
    return marked(pool, call, op === 'scan' ? [{ cls: 'SR', ref: srRef, op: 'scan' }] : [], () => {
      if (pluggedPbds(pool, srRef).length === 0) throw new SimXapiError(['SR_HAS_NO_PBDS', srRef])
      rescan(pool, srRef)
      return ''
    })
  }
}

/** xapi_sr.ml really_forget: the SR's PBDs, VDIs and record leave the database (the data stays for forget) */
function forgetSr(pool: PoolState, srRef: string): void {
  const sr = pool.db.must('SR', srRef)
  for (const pbd of refs(sr['PBDs'])) removePbd(pool, pbd)
  for (const vdi of refs(sr['VDIs'])) removeVdi(pool, vdi, false)
  pool.db.remove('SR', srRef)
}

function removePbd(pool: PoolState, ref: string): void {
  const pbd = pool.db.get('PBD', ref)
  if (!pbd) return
  pool.db.remove('PBD', ref)
  const c = pool.schema.classes.get('PBD')
  if (c) maintainRelations(pool, c, ref, pbd, 'remove')
}

const srForget: Handler = (pool, [srArg], call) => {
  const srRef = str(srArg)
  pool.db.must('SR', srRef)
  return marked(pool, call, [{ cls: 'SR', ref: srRef, op: 'forget' }], () => {
    forgetSr(pool, srRef)
    return ''
  })
}

const srDestroy: Handler = (pool, [srArg], call) => {
  const srRef = str(srArg)
  pool.db.must('SR', srRef)
  return marked(pool, call, [{ cls: 'SR', ref: srRef, op: 'destroy' }], () => {
    if (obj(pool.db.must('SR', srRef)['other_config'])['indestructible'] === 'true') throw new SimXapiError(['SR_INDESTRUCTIBLE', srRef])
    forgetSr(pool, srRef)
    return ''
  })
}

function hostLive(pool: PoolState, host: string): boolean {
  const metrics = pool.db.get('host_metrics', str(pool.db.get('host', host)?.['metrics']))
  return metrics?.['live'] !== false
}

const pbdPlug: Handler = (pool, [self], call) => {
  const ref = str(self)
  const pbd = pool.db.must('PBD', ref)
  if (pbd['currently_attached'] === true) return ''
  const srRef = str(pbd['SR'])
  const host = str(pbd['host'])
  if (!hostLive(pool, host)) throw new SimXapiError(['HOST_OFFLINE', host])
  const sr = pool.db.must('SR', srRef)
  if (sr['shared'] !== true && pluggedPbds(pool, srRef).some((p) => p !== ref)) throw new SimXapiError(['SR_NOT_SHARABLE', srRef, host])
  return marked(pool, call, [{ cls: 'SR', ref: srRef, op: 'plug' }], () => {
    pool.db.update('PBD', ref, { currently_attached: true })
    refreshSr(pool, srRef)
    for (const vdi of refs(pool.db.get('SR', srRef)?.['VDIs'])) refreshVdi(pool, vdi)
    return ''
  })
}

const pbdUnplug: Handler = (pool, [self], call) => {
  const ref = str(self)
  const pbd = pool.db.must('PBD', ref)
  if (pbd['currently_attached'] !== true) return ''
  const srRef = str(pbd['SR'])
  const host = str(pbd['host'])
  return marked(pool, call, [{ cls: 'SR', ref: srRef, op: 'unplug' }], () => {
    // xapi_pbd.ml unplug: disks of the SR that a VM on this host has plugged keep it connected
    const active = refs(pool.db.must('SR', srRef)['VDIs']).filter((v) =>
      refs(pool.db.get('VDI', v)?.['VBDs']).some((b) => {
        const vbd = pool.db.get('VBD', b)
        const vm = pool.db.get('VM', str(vbd?.['VM']))
        return vbd?.['currently_attached'] === true && vm !== undefined && residentHost(pool, vm) === host
      }),
    )
    if (active.length > 0) throw new SimXapiError(['VDI_IN_USE', ...active])
    pool.db.update('PBD', ref, { currently_attached: false })
    refreshSr(pool, srRef)
    for (const vdi of refs(pool.db.get('SR', srRef)?.['VDIs'])) refreshVdi(pool, vdi)
    return ''
  })
}

const pbdCreate: Handler = (pool, [args]) => {
  const a = obj(args)
  const srRef = str(a['SR'])
  const host = str(a['host'])
  pool.db.must('SR', srRef)
  pool.db.must('host', host)
  const existing = refs(pool.db.must('SR', srRef)['PBDs']).find((p) => pool.db.get('PBD', p)?.['host'] === host)
  if (existing) throw new SimXapiError(['PBD_EXISTS', srRef, host, existing])
  checkSr(pool, srRef, 'pbd_create')
  const ref = newRef()
  const rec = pool.db.blank('PBD', { host, SR: srRef, device_config: { ...obj(a['device_config']) }, currently_attached: false, other_config: { ...obj(a['other_config']) } })
  pool.db.insert('PBD', ref, rec)
  const c = pool.schema.classes.get('PBD')
  if (c) maintainRelations(pool, c, ref, rec, 'add')
  refreshSr(pool, srRef)
  return ref
}

const pbdDestroy: Handler = (pool, [self]) => {
  const ref = str(self)
  const pbd = pool.db.must('PBD', ref)
  if (pbd['currently_attached'] === true) throw new SimXapiError(['OPERATION_NOT_ALLOWED', 'PBD is currently attached'])
  checkSr(pool, str(pbd['SR']), 'pbd_destroy')
  removePbd(pool, ref)
  refreshSr(pool, str(pbd['SR']))
  return ''
}

export const STORAGE_HANDLERS: Record<string, Handler> = {
  'VM.get_allowed_VBD_devices': (pool, [vm]) => allowedVbdDevices(pool, pool.db.must('VM', str(vm))),
  'VDI.create': vdiCreate,
  'VDI.destroy': vdiDestroy,
  'VDI.resize': resize('resize'),
  'VDI.resize_online': resize('resize_online'),
  'VDI.copy': vdiCopy,
  'VDI.pool_migrate': vdiPoolMigrate,
  'VDI.update': (pool, [vdi]) => {
    pool.db.must('VDI', str(vdi))
    return ''
  },
  'VBD.create': vbdCreate,
  'VBD.destroy': vbdDestroy,
  'VBD.plug': vbdPlug,
  'VBD.unplug': unplug(false),
  'VBD.unplug_force': unplug(true),
  'VBD.insert': vbdInsert,
  'VBD.eject': vbdEject,
  'VBD.assert_attachable': (pool, [self]) => {
    checkVbd(pool, str(self), 'attach')
    return ''
  },
  'SR.scan': scan('scan'),
  'SR.update': scan('update'),
  'SR.forget': srForget,
  'SR.destroy': srDestroy,
  'PBD.plug': pbdPlug,
  'PBD.unplug': pbdUnplug,
  'PBD.create': pbdCreate,
  'PBD.destroy': pbdDestroy,
}
