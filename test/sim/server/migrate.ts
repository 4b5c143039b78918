/**
 * Migration between pools of one simulated fleet, and storage motion (issue 17), as
 * xapi_vm_migrate.ml and xapi_host.ml do it:
 *
 *   Host.migrate_receive (destination pool's session) → a dest map {SM, host, xenops, session_id,
 *   master} holding a fresh session of the destination pool;
 *   VM.assert_can_migrate / VM.migrate_send (source pool's session) with that map, vdi_map,
 *   vif_map and options (force / copy / compress).
 *
 * Cross-pool: the VM, its snapshots, their VDIs (mirrored into the mapped SRs), VBDs and VIFs are
 * re-created in the destination pool with new refs (the VM keeps its uuid unless copied) and
 * removed from the source unless options.copy; both pools emit their events. The task's progress
 * follows the bytes mirrored (proportional to disk size). Within one pool, the VDIs in vdi_map move
 * to their SR and the VM to the destination host; vif_map must be empty.
 *
 * Refusals, with the datamodel's parameters: TOO_MANY_STORAGE_MIGRATES [number],
 * VDI_CBT_ENABLED [vdi], VIF_NOT_IN_MAP [vif], VDI_NOT_IN_MAP [vdi],
 * VM_HOST_INCOMPATIBLE_VERSION_MIGRATE [host, vm], MIRROR_FAILED [vdi] (the destination SR ran out
 * of room while mirroring), LICENCE_RESTRICTION [feature] (pool.restrictions
 * restrict_xen_motion / restrict_storage_xen_motion), plus VM_BAD_POWER_STATE, HOST_DISABLED,
 * HOST_NOT_ENOUGH_FREE_MEMORY, VM_REQUIRES_SR, OPERATION_NOT_ALLOWED, NOT_IMPLEMENTED,
 * HOST_CANNOT_ATTACH_NETWORK, INTERFACE_HAS_NO_IP, SESSION_INVALID, CANNOT_CONTACT_HOST.
 *
 * The pools of a fleet find each other through linkFleet (startSimulator calls it); a pool alone
 * (dispatcher tests) answers CANNOT_CONTACT_HOST for another pool's dest map.
 */
import { randomUUID } from 'node:crypto'
import { SimXapiError, type SimRecord, type SimValue } from '../model'
import { newRef } from './db'
import { maintainRelations, type Handler } from './generic'
import { place, unplace } from './lifecycle'
import type { PoolState } from './pool'
import { NULL_REF } from './schema'
import { account, srFree, withStorageMigrate } from './storage'
import { checkVdi, isThin, num, obj, pluggedPbds, refreshSr, refreshVdi, refreshVmStorage, refs, str } from './storage-rules'
import type { TaskHandle } from './tasks'
import { checkVmOperation, refreshAllowedOperations, setCurrentOperation } from './vmops'

// ---------------------------------------------------------------------------------------------
// the fleet: which pool answers at an address

const fleets = new WeakMap<PoolState, PoolState[]>()

/** the pools of one simulator fleet can reach each other (cross-pool migration) */
export function linkFleet(pools: PoolState[]): void {
  for (const p of pools) fleets.set(p, pools)
}

function poolAt(from: PoolState, address: string): PoolState | undefined {
  const all = fleets.get(from) ?? [from]
  return all.find((p) => [...p.db.table('host').keys()].some((h) => p.hostAddress(h) === address))
}

// ---------------------------------------------------------------------------------------------
// Host.migrate_receive

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '')
  } catch {
    return ''
  }
}

const migrateReceive: Handler = (pool, [hostArg, networkArg]) => {
  const host = str(hostArg)
  const network = str(networkArg)
  pool.db.must('host', host)
  pool.db.must('network', network)
  const pif = refs(pool.db.must('host', host)['PIFs']).find((p) => str(pool.db.get('PIF', p)?.['network']) === network)
  if (!pif) throw new SimXapiError(['HOST_CANNOT_ATTACH_NETWORK', host, network])
  const ip = str(pool.db.get('PIF', pif)?.['IP'])
  if (!ip) throw new SimXapiError(['INTERFACE_HAS_NO_IP', pif])
  // xapi logs a pool session in for the sender (Xapi_session.login_no_password)
  const session = pool.openSession('', pool.masterRef, 'migrate_receive')
  pool.db.update('session', session, { pool: true })
  return {
    SM: `http://${ip}/services/SM?session_id=${session}`,
    host,
    xenops: `http://${ip}/services/xenops?session_id=${session}`,
    session_id: session,
    master: `http://${pool.masterAddress}/`,
  }
}

// ---------------------------------------------------------------------------------------------
// the plan both VM.assert_can_migrate and VM.migrate_send build

interface Remote {
  pool: PoolState
  host: string
  intra: boolean
}

interface DiskMove {
  /** source VDI */
  vdi: string
  /** destination SR (the source SR for a disk that stays, intra-pool) */
  sr: string
  moves: boolean
  bytes: number
}

interface Plan {
  vm: string
  remote: Remote
  copy: boolean
  live: boolean
  /** the VM and its snapshots, VM first */
  vms: string[]
  disks: Map<string, DiskMove>
  /** VIF → destination network (cross-pool only) */
  vifs: Map<string, string>
}

function strMap(v: SimValue | undefined): Map<string, string> {
  return new Map(Object.entries(obj(v)).map(([k, x]) => [k, str(x)]))
}

function boolOption(options: Map<string, string>, key: string): boolean {
  return (options.get(key) ?? '').trim().toLowerCase() === 'true'
}

function resolveRemote(pool: PoolState, dest: Map<string, string>): Remote {
  const host = dest.get('host') ?? ''
  if (pool.db.get('host', host)) return { pool, host, intra: true }
  for (const key of ['master', 'xenops', 'session_id', 'host']) {
    if (!dest.has(key)) throw new SimXapiError(['INTERNAL_ERROR', `dest map has no '${key}' (call Host.migrate_receive on the destination)`])
  }
  const address = hostOf(dest.get('master') ?? '')
  const other = poolAt(pool, address)
  if (!other || other === pool) throw new SimXapiError(['CANNOT_CONTACT_HOST', address])
  other.checkSession(dest.get('session_id'))
  other.db.must('host', host)
  return { pool: other, host, intra: false }
}

/** the licence of the source pool (pool.restrictions, as Pool_features reads it) */
function assertLicensed(pool: PoolState, key: string, feature: string): void {
  const r = obj(pool.poolRecord['restrictions'])
  if (str(r[key]) === 'true') throw new SimXapiError(['LICENCE_RESTRICTION', feature])
}

function versionOf(pool: PoolState, host: string): number[] {
  const sv = obj(pool.db.get('host', host)?.['software_version'])
  const parse = (s: string): number[] => s.split('.').map((x) => Number.parseInt(x, 10) || 0)
  return [...parse(str(sv['platform_version'])), ...parse(str(sv['xapi']))]
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

function vmMemory(vm: SimRecord): number {
  return num(vm['memory_dynamic_max']) || num(vm['memory_static_max'])
}

function hostFreeMemory(pool: PoolState, host: string): number {
  return num(pool.db.get('host_metrics', str(pool.db.get('host', host)?.['metrics']))?.['memory_free'])
}

/** the VDIs a VM's disk drives hold (CDs are not mirrored: xapi ejects them) */
function diskVdis(pool: PoolState, vm: SimRecord): string[] {
  const out: string[] = []
  for (const vbd of refs(vm['VBDs'])) {
    const r = pool.db.get('VBD', vbd)
    if (!r || r['empty'] === true || r['type'] === 'CD') continue
    const vdi = str(r['VDI'])
    if (vdi && vdi !== NULL_REF && pool.db.get('VDI', vdi)) out.push(vdi)
  }
  return out
}

function buildPlan(pool: PoolState, args: SimValue[]): Plan {
  const vm = str(args[0])
  const vmRec = pool.db.must('VM', vm)
  const dest = strMap(args[1])
  const live = args[2] === true
  const vdiMap = strMap(args[3])
  const vifMap = strMap(args[4])
  const options = strMap(args[5])
  const force = boolOption(options, 'force')
  const copy = boolOption(options, 'copy')

  const remote = resolveRemote(pool, dest)
  if (copy && remote.intra) {
    throw new SimXapiError(['OPERATION_NOT_ALLOWED', 'Copy mode is disallowed on intra pool storage migration, try efficient alternatives e.g. VM.copy/clone.'])
  }
  checkVmOperation(vm, vmRec, 'migrate_send')
  const power = str(vmRec['power_state'])
  const resident = str(vmRec['resident_on'])
  const sourceHost = resident && resident !== NULL_REF ? resident : pool.masterRef

  // Storage XenMotion: the disks change SR (always, between pools)
  const anyMoves = !remote.intra || [...vdiMap].some(([vdi, sr]) => str(pool.db.get('VDI', vdi)?.['SR']) !== sr)

  // licence: moving a running VM to another host is XenMotion, moving its disks Storage XenMotion
  if (power === 'Running' && remote.host !== sourceHost) assertLicensed(pool, 'restrict_xen_motion', 'Xen_motion')
  if (anyMoves) assertLicensed(pool, 'restrict_storage_xen_motion', 'Storage_motion')

  if (remote.intra) {
    if (vifMap.size > 0) throw new SimXapiError(['NOT_IMPLEMENTED', 'VIF mapping is not supported for intra-pool migration'])
  } else {
    if (!force && copy && power !== 'Halted') throw new SimXapiError(['VM_BAD_POWER_STATE', vm, 'halted', power.toLowerCase()])
    // Prevent VMs from being migrated onto a host with a lower platform version
    if (compareVersions(versionOf(remote.pool, remote.host), versionOf(pool, sourceHost)) < 0) {
      throw new SimXapiError(['VM_HOST_INCOMPATIBLE_VERSION_MIGRATE', remote.host, vm])
    }
    if (remote.pool.db.must('host', remote.host)['enabled'] !== true) throw new SimXapiError(['HOST_DISABLED', remote.host])
  }

  const vms = [vm, ...refs(vmRec['snapshots']).filter((s) => pool.db.get('VM', s))]
  // the VM's own disks must be mapped (cross-pool); a snapshot's disk follows the disk it is a
  // snapshot of, else it must be mapped too
  const disks = new Map<string, DiskMove>()
  for (const v of vms) {
    for (const vdi of diskVdis(pool, pool.db.must('VM', v))) {
      if (disks.has(vdi)) continue
      const rec = pool.db.must('VDI', vdi)
      const here = str(rec['SR'])
      let sr = vdiMap.get(vdi)
      if (sr === undefined && v !== vm) sr = vdiMap.get(str(rec['snapshot_of']))
      if (sr === undefined) {
        if (!remote.intra) throw new SimXapiError(['VDI_NOT_IN_MAP', vdi])
        sr = here
      }
      const moves = !remote.intra || sr !== here
      disks.set(vdi, { vdi, sr, moves, bytes: num(rec['physical_utilisation']) || num(rec['virtual_size']) })
    }
  }
  const suspendVdi = str(vmRec['suspend_VDI'])
  if (suspendVdi && suspendVdi !== NULL_REF && pool.db.get('VDI', suspendVdi) && !disks.has(suspendVdi)) {
    const rec = pool.db.must('VDI', suspendVdi)
    const first = [...disks.values()][0]
    const sr = vdiMap.get(suspendVdi) ?? first?.sr ?? str(rec['SR'])
    disks.set(suspendVdi, { vdi: suspendVdi, sr, moves: !remote.intra || sr !== str(rec['SR']), bytes: num(rec['virtual_size']) })
  }
  for (const d of disks.values()) {
    if (!d.moves) continue
    remote.pool.db.must('SR', d.sr)
    if (pool.db.get('VDI', d.vdi)?.['cbt_enabled'] === true) throw new SimXapiError(['VDI_CBT_ENABLED', d.vdi])
    if (pluggedPbds(remote.pool, d.sr, remote.host).length === 0) throw new SimXapiError(['VM_REQUIRES_SR', vm, d.sr])
  }

  const vifs = new Map<string, string>()
  if (!remote.intra) {
    // xapi infers a snapshot's VIF from the VM's VIF with the same MAC; a VIF only a snapshot has must be mapped
    const byMac = new Map<string, string>()
    for (const vif of refs(vmRec['VIFs'])) {
      const rec = pool.db.get('VIF', vif)
      if (!rec) continue
      const net = vifMap.get(vif)
      if (net === undefined) throw new SimXapiError(['VIF_NOT_IN_MAP', vif])
      vifs.set(vif, net)
      byMac.set(str(rec['MAC']).toLowerCase(), net)
    }
    for (const snap of vms.slice(1)) {
      for (const vif of refs(pool.db.must('VM', snap)['VIFs'])) {
        const rec = pool.db.get('VIF', vif)
        if (!rec) continue
        const net = vifMap.get(vif) ?? byMac.get(str(rec['MAC']).toLowerCase())
        if (net === undefined) throw new SimXapiError(['VIF_NOT_IN_MAP', vif])
        vifs.set(vif, net)
      }
    }
    for (const net of vifs.values()) remote.pool.db.must('network', net)
  }

  if (power === 'Running' || power === 'Paused') {
    const needed = vmMemory(vmRec)
    const free = hostFreeMemory(remote.pool, remote.host)
    if (remote.host !== resident && free < needed) throw new SimXapiError(['HOST_NOT_ENOUGH_FREE_MEMORY', String(needed), String(free)])
  }
  return { vm, remote, copy, live, vms, disks, vifs }
}

// ---------------------------------------------------------------------------------------------
// copying records

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const GiB = 1024 ** 3

/** only the fields the destination's release knows */
function fitSchema(pool: PoolState, cls: string, rec: SimRecord): SimRecord {
  const c = pool.schema.classes.get(cls)
  const out = pool.db.blank(cls, {})
  if (!c) return { ...rec }
  for (const f of c.fields) if (rec[f.name] !== undefined) out[f.name] = rec[f.name] as SimValue
  return out
}

function insert(pool: PoolState, cls: string, ref: string, rec: SimRecord): void {
  pool.db.insert(cls, ref, rec)
  const c = pool.schema.classes.get(cls)
  if (c) maintainRelations(pool, c, ref, rec, 'add')
}

function remove(pool: PoolState, cls: string, ref: string): void {
  const rec = pool.db.get(cls, ref)
  if (!rec) return
  pool.db.remove(cls, ref)
  const c = pool.schema.classes.get(cls)
  if (c) maintainRelations(pool, c, ref, rec, 'remove')
}

/** the mirror of one VDI in the destination SR (new ref, new uuid) */
function mirrorVdi(src: PoolState, dst: PoolState, vdi: string, sr: string): string {
  const rec = src.db.must('VDI', vdi)
  const size = num(rec['virtual_size'])
  const used = isThin(dst, sr) ? num(rec['physical_utilisation']) || size : size
  if (srFree(dst, sr) < used) throw new SimXapiError(['MIRROR_FAILED', vdi])
  const ref = newRef()
  const uuid = randomUUID()
  const copy = fitSchema(dst, 'VDI', {
    ...rec,
    uuid,
    location: uuid,
    SR: sr,
    VBDs: [],
    crash_dumps: [],
    current_operations: {},
    allowed_operations: [],
    snapshot_of: NULL_REF,
    snapshots: [],
    parent: NULL_REF,
    physical_utilisation: used,
    cbt_enabled: false,
  })
  insert(dst, 'VDI', ref, copy)
  account(dst, sr, used, size)
  refreshSr(dst, sr)
  refreshVdi(dst, ref)
  return ref
}

function destroyVdi(pool: PoolState, vdi: string): void {
  const rec = pool.db.get('VDI', vdi)
  if (!rec) return
  for (const vbd of refs(rec['VBDs'])) remove(pool, 'VBD', vbd)
  const parent = str(rec['snapshot_of'])
  const p = pool.db.get('VDI', parent)
  if (p) pool.db.update('VDI', parent, { snapshots: refs(p['snapshots']).filter((s) => s !== vdi) })
  remove(pool, 'VDI', vdi)
  account(pool, str(rec['SR']), -num(rec['physical_utilisation']), -num(rec['virtual_size']))
  refreshSr(pool, str(rec['SR']))
}

/** the bytes of every moving disk, mirrored one after the other: progress = bytes done / bytes in all */
async function mirrorAll(pool: PoolState, plan: Plan, task: TaskHandle, made: Map<string, string>): Promise<void> {
  const moving = [...plan.disks.values()].filter((d) => d.moves)
  const total = moving.reduce((s, d) => s + d.bytes, 0)
  // the fleet's operation duration per 32 GiB, between one and eight durations in all
  const duration = pool.opDurationMs * Math.min(8, Math.max(1, total / (32 * GiB)))
  let done = 0
  task.setCancellable(true)
  try {
    for (const d of moving) {
      const share = total > 0 ? d.bytes / total : 1 / moving.length
      const ms = duration * share
      const steps = Math.max(1, Math.min(20, Math.round(ms / 100)))
      for (let i = 1; i <= steps; i++) {
        if (ms > 0) await sleep(ms / steps)
        else await new Promise((r) => setImmediate(r))
        task.checkCancelled()
        task.progress(0.05 + 0.9 * ((done + (d.bytes * i) / steps) / Math.max(1, total)))
      }
      made.set(d.vdi, mirrorVdi(pool, plan.remote.pool, d.vdi, d.sr))
      done += d.bytes
    }
  } finally {
    task.setCancellable(false)
  }
}

function copyMetrics(src: PoolState, dst: PoolState, cls: 'VM_metrics' | 'VM_guest_metrics', ref: string): string {
  const rec = src.db.get(cls, ref)
  if (!rec) return NULL_REF
  const next = newRef()
  dst.db.insert(cls, next, fitSchema(dst, cls, { ...rec, uuid: randomUUID() }))
  return next
}

/** the VM or snapshot `vm` as a record of the destination pool, with its drives and NICs */
function recreateVm(plan: Plan, vm: string, made: Map<string, string>, newVms: Map<string, string>, keepUuid: boolean): string {
  const from = poolOfPlan(plan)
  const dst = plan.remote.pool
  const rec = from.db.must('VM', vm)
  const ref = newRef()
  newVms.set(vm, ref)
  const isSnap = rec['is_a_snapshot'] === true
  const parent = isSnap ? newVms.get(str(rec['snapshot_of'])) ?? NULL_REF : NULL_REF
  const next = fitSchema(dst, 'VM', {
    ...rec,
    uuid: keepUuid ? str(rec['uuid']) : randomUUID(),
    power_state: isSnap ? rec['power_state'] ?? 'Halted' : rec['power_state'] === 'Suspended' ? 'Suspended' : 'Halted',
    resident_on: NULL_REF,
    scheduled_to_be_resident_on: NULL_REF,
    affinity: NULL_REF,
    domid: -1,
    consoles: [],
    VBDs: [],
    VIFs: [],
    VGPUs: [],
    VUSBs: [],
    PCIs: [],
    attached_PCIs: [],
    crash_dumps: [],
    snapshots: [],
    children: [],
    parent: NULL_REF,
    snapshot_of: parent,
    current_operations: {},
    allowed_operations: [],
    suspend_VDI: made.get(str(rec['suspend_VDI'])) ?? NULL_REF,
    suspend_SR: NULL_REF,
    metrics: copyMetrics(from, dst, 'VM_metrics', str(rec['metrics'])),
    guest_metrics: copyMetrics(from, dst, 'VM_guest_metrics', str(rec['guest_metrics'])),
    appliance: NULL_REF,
    protection_policy: NULL_REF,
    snapshot_schedule: NULL_REF,
    groups: [],
  })
  dst.db.insert('VM', ref, next)
  if (parent !== NULL_REF) {
    const p = dst.db.get('VM', parent)
    if (p) dst.db.update('VM', parent, { snapshots: [...refs(p['snapshots']), ref] })
  }
  for (const vbd of refs(rec['VBDs'])) {
    const v = from.db.get('VBD', vbd)
    if (!v) continue
    const oldVdi = str(v['VDI'])
    const vdi = made.get(oldVdi)
    // xapi ejects a CD on a cross-pool move (the ISO library is the source pool's)
    const isCd = v['type'] === 'CD'
    const nv = newRef()
    insert(
      dst,
      'VBD',
      nv,
      fitSchema(dst, 'VBD', {
        ...v,
        uuid: randomUUID(),
        VM: ref,
        VDI: vdi ?? NULL_REF,
        empty: isCd ? true : vdi === undefined,
        currently_attached: false,
        current_operations: {},
        allowed_operations: [],
        metrics: NULL_REF,
      }),
    )
  }
  for (const vif of refs(rec['VIFs'])) {
    const v = from.db.get('VIF', vif)
    const net = plan.vifs.get(vif)
    if (!v || net === undefined) continue
    insert(
      dst,
      'VIF',
      newRef(),
      fitSchema(dst, 'VIF', {
        ...v,
        uuid: randomUUID(),
        VM: ref,
        network: net,
        currently_attached: false,
        current_operations: {},
        allowed_operations: [],
        metrics: NULL_REF,
      }),
    )
  }
  return ref
}

/** the mirrors of snapshot VDIs are snapshots of the mirrors of their parents */
function linkSnapshots(from: PoolState, dst: PoolState, made: Map<string, string>): void {
  for (const [oldVdi, newVdi] of made) {
    const newOf = made.get(str(from.db.get('VDI', oldVdi)?.['snapshot_of']))
    if (!newOf) continue
    dst.db.update('VDI', newVdi, { snapshot_of: newOf, is_a_snapshot: true })
    const p = dst.db.get('VDI', newOf)
    if (p && !refs(p['snapshots']).includes(newVdi)) dst.db.update('VDI', newOf, { snapshots: [...refs(p['snapshots']), newVdi] })
  }
}

const planPools = new WeakMap<Plan, PoolState>()
function poolOfPlan(plan: Plan): PoolState {
  const p = planPools.get(plan)
  if (!p) throw new Error('plan without its pool')
  return p
}

/** the VM and its snapshots leave the source pool (after a move, not a copy) */
function destroyVmAndSnapshots(pool: PoolState, plan: Plan): void {
  const vm = pool.db.get('VM', plan.vm)
  if (!vm) return
  if (vm['power_state'] === 'Running' || vm['power_state'] === 'Paused') unplace(pool, plan.vm, 'Halted')
  for (const v of plan.vms) {
    const rec = pool.db.get('VM', v)
    if (!rec) continue
    for (const vbd of refs(rec['VBDs'])) remove(pool, 'VBD', vbd)
    for (const vif of refs(rec['VIFs'])) remove(pool, 'VIF', vif)
    for (const cls of ['VM_metrics', 'VM_guest_metrics'] as const) {
      const m = str(rec[cls === 'VM_metrics' ? 'metrics' : 'guest_metrics'])
      // a snapshot shares its VM's guest metrics
      if (m && m !== NULL_REF && !(cls === 'VM_guest_metrics' && v !== plan.vm)) pool.db.remove(cls, m)
    }
  }
  for (const d of plan.disks.values()) destroyVdi(pool, d.vdi)
  for (const v of [...plan.vms].reverse()) {
    const rec = pool.db.get('VM', v)
    if (!rec) continue
    const parent = str(rec['parent'])
    const p = pool.db.get('VM', parent)
    if (p) pool.db.update('VM', parent, { children: refs(p['children']).filter((c) => c !== v) })
    pool.db.remove('VM', v)
  }
}

async function crossPool(pool: PoolState, plan: Plan, task: TaskHandle): Promise<string> {
  const dst = plan.remote.pool
  const made = new Map<string, string>()
  const newVms = new Map<string, string>()
  const vmRec = pool.db.must('VM', plan.vm)
  const power = str(vmRec['power_state'])
  try {
    await mirrorAll(pool, plan, task, made)
    linkSnapshots(pool, dst, made)
    // VMs: the VM first (its snapshots point at it), then its snapshots
    const ref = recreateVm(plan, plan.vm, made, newVms, !plan.copy)
    for (const s of plan.vms.slice(1)) recreateVm(plan, s, made, newVms, !plan.copy)
    if (!plan.copy) {
      destroyVmAndSnapshots(pool, plan)
      if (power === 'Running' || power === 'Paused') place(dst, ref, plan.remote.host, power === 'Paused' ? 'Paused' : 'Running')
    }
    for (const r of newVms.values()) {
      refreshAllowedOperations(dst, r)
      refreshVmStorage(dst, r)
    }
    const uuid = str(dst.db.must('VM', ref)['uuid'])
    pool.log(`${pool.spec.name}: VM ${uuid} ${plan.copy ? 'copied' : 'migrated'} to ${dst.spec.name} (${dst.hostAddress(plan.remote.host)})`)
    return ref
  } catch (e) {
    // tidy up what reached the destination: the source is untouched
    for (const r of newVms.values()) {
      const rec = dst.db.get('VM', r)
      if (!rec) continue
      for (const vbd of refs(rec['VBDs'])) remove(dst, 'VBD', vbd)
      for (const vif of refs(rec['VIFs'])) remove(dst, 'VIF', vif)
      dst.db.remove('VM', r)
    }
    for (const v of made.values()) destroyVdi(dst, v)
    throw e
  }
}

async function intraPool(pool: PoolState, plan: Plan, task: TaskHandle): Promise<string> {
  const made = new Map<string, string>()
  const ownPlan: Plan = { ...plan, remote: { ...plan.remote, pool } }
  try {
    await mirrorAll(pool, ownPlan, task, made)
  } catch (e) {
    for (const v of made.values()) destroyVdi(pool, v)
    throw e
  }
  linkSnapshots(pool, pool, made)
  // the drives now hold the mirrors; the originals go
  for (const [oldVdi, newVdi] of made) {
    for (const vbd of refs(pool.db.get('VDI', oldVdi)?.['VBDs'])) {
      pool.db.update('VBD', vbd, { VDI: newVdi })
      const n = pool.db.must('VDI', newVdi)
      pool.db.update('VDI', newVdi, { VBDs: [...refs(n['VBDs']), vbd] })
    }
    pool.db.update('VDI', oldVdi, { VBDs: [] })
    const vm = pool.db.get('VM', plan.vm)
    if (vm?.['suspend_VDI'] === oldVdi) pool.db.update('VM', plan.vm, { suspend_VDI: newVdi })
    destroyVdi(pool, oldVdi)
  }
  const vm = pool.db.must('VM', plan.vm)
  const resident = str(vm['resident_on'])
  if ((vm['power_state'] === 'Running' || vm['power_state'] === 'Paused') && resident !== plan.remote.host) {
    const power = vm['power_state'] === 'Paused' ? 'Paused' : 'Running'
    unplace(pool, plan.vm, 'Halted')
    place(pool, plan.vm, plan.remote.host, power)
  }
  refreshVmStorage(pool, plan.vm)
  return plan.vm
}

const assertCanMigrate: Handler = (pool, args) => {
  buildPlan(pool, args)
  return ''
}

const migrateSend: Handler = async (pool, args, call) => {
  const plan = buildPlan(pool, args)
  planPools.set(plan, pool)
  const anyMoves = [...plan.disks.values()].some((d) => d.moves)
  const run = async (): Promise<string> => {
    const visible = call.taskRef ? pool.tasks.running.get(call.taskRef) : undefined
    const task = visible ?? pool.tasks.create(call.wire, pool.masterRef, call.session, false)
    setCurrentOperation(pool, plan.vm, task.ref, 'migrate_send')
    try {
      task.progress(0.02)
      const r = plan.remote.intra ? await intraPool(pool, plan, task) : await crossPool(pool, plan, task)
      return r
    } finally {
      if (pool.db.get('VM', plan.vm)) setCurrentOperation(pool, plan.vm, task.ref, undefined)
      if (!visible) pool.tasks.discard(task)
    }
  }
  // a move that mirrors no disk is not a storage migration
  return anyMoves ? withStorageMigrate(pool, run) : run()
}

// ---------------------------------------------------------------------------------------------
// CBT (VDI_CBT_ENABLED is answered with the offer to disable it)

/** VDI.enable_cbt / disable_cbt with xapi_vdi.ml check_operation_error's checks (busy, SM feature VDI_CONFIG_CBT, snapshot, type, on_boot) */
function setCbt(on: boolean): Handler {
  return (pool, [self]) => {
    const ref = str(self)
    pool.db.must('VDI', ref)
    checkVdi(pool, ref, on ? 'enable_cbt' : 'disable_cbt')
    pool.db.update('VDI', ref, { cbt_enabled: on })
    refreshVdi(pool, ref)
    return ''
  }
}

export const MIGRATE_HANDLERS: Record<string, Handler> = {
  'host.migrate_receive': migrateReceive,
  'VM.assert_can_migrate': assertCanMigrate,
  'VM.migrate_send': migrateSend,
  'VDI.enable_cbt': setCbt(true),
  'VDI.disable_cbt': setCbt(false),
}
