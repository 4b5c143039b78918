/**
 * Storage actions (issue 13) as commands: whether each can run on the objects as the pool shows
 * them right now, with the reason a person reads when it cannot — before the click. Both sides use
 * it: the renderer to enable buttons and explain, main to refuse before calling XAPI.
 *
 * XAPI stays the authority: a drive's, disk's or SR's `allowed_operations` is recomputed by XAPI
 * after every change (xapi_vbd_helpers.ml, xapi_vdi.ml, xapi_sr_operations.ml), so the rules read
 * it first and only explain; what XAPI cannot know (a disk another VM also uses, a plan that
 * deletes disks) is a rule of our own. Records are graph records (refs as strings or null, sizes
 * as numbers); `StorageView` is the little each side must answer about the pool.
 */
import { domainType } from './vm'

export type CanRun = true | string
export type Rec = Record<string, unknown>

/** What the rules read about one pool; main answers from its graph, the renderer from its store. */
export interface StorageView {
  get(cls: string, ref: string): Rec | undefined
  /** the VBD refs of a VM (VM.VBDs: XAPI keeps it in step with VBD.VM) */
  vbdsOf(vmRef: string): readonly string[]
  /** the VDI refs of an SR (SR.VDIs, in step with VDI.SR) */
  vdisOf(srRef: string): readonly string[]
  /** the PBD refs of an SR (SR.PBDs, in step with PBD.SR) */
  pbdsOf(srRef: string): readonly string[]
  /** every host of the pool */
  hosts(): readonly string[]
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const map = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {})
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) || 0 : 0)
const isRef = (v: unknown): v is string => typeof v === 'string' && v.startsWith('OpaqueRef:') && v !== 'OpaqueRef:NULL'

export const GiB = 1024 ** 3
/** the most a single disk may have (VHD: 2 TiB; LARGE_VDI backends more, but XenCenter's dialog caps at this) */
export const MAX_DISK_BYTES = 2040 * GiB

const name = (rec: Rec | undefined, fallback: string): string => str(rec?.name_label) || fallback
const vmName = (vm: Rec | undefined): string => `VM '${name(vm, 'unknown')}'`
const allowed = (rec: Rec | undefined, op: string): boolean => strs(rec?.allowed_operations).includes(op)
const busyWith = (rec: Rec | undefined): string[] => Object.values(map(rec?.current_operations)).map((o) => str(o).replace(/_/g, ' '))

export type PowerState = 'Halted' | 'Running' | 'Paused' | 'Suspended'
export function powerOf(vm: Rec | undefined): PowerState {
  const p = str(vm?.power_state)
  return p === 'Running' || p === 'Paused' || p === 'Suspended' ? p : 'Halted'
}
const live = (vm: Rec | undefined): boolean => powerOf(vm) === 'Running' || powerOf(vm) === 'Paused'

/** human size: '10 GiB', '1.5 TiB', '512 MiB' */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—'
  const TiB = 1024 * GiB
  if (n >= TiB) return `${trim(n / TiB)} TiB`
  if (n >= GiB) return `${trim(n / GiB)} GiB`
  if (n >= 1024 ** 2) return `${trim(n / 1024 ** 2)} MiB`
  if (n >= 1024) return `${trim(n / 1024)} KiB`
  return `${n} B`
}
function trim(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1).replace(/\.0$/, '') : x.toFixed(2).replace(/\.?0+$/, '')
}

// ---------------------------------------------------------------------------------------------
// what a drive, disk and SR are

export function isCd(vbd: Rec | undefined): boolean {
  return str(vbd?.type) === 'CD'
}

/** an SR whose disks are CD images or host devices, not VM disks */
export function isMediaSr(sr: Rec | undefined): boolean {
  const type = str(sr?.type)
  return type === 'iso' || type === 'udev' || str(sr?.content_type) === 'iso'
}

export function isToolsSr(sr: Rec | undefined): boolean {
  return sr?.is_tools_sr === true || map(sr?.other_config)['xenserver_tools_sr'] === 'true'
}

/** the SR can hold new VM disks (its storage manager creates VDIs) */
export function canHoldDisks(sr: Rec | undefined): boolean {
  return sr !== undefined && !isMediaSr(sr) && allowed(sr, 'vdi_create')
}

/** why a new disk cannot go on this SR now, or true */
export function canCreateDiskOn(sr: Rec | undefined): CanRun {
  if (!sr) return 'Choose an SR'
  if (isMediaSr(sr) || isToolsSr(sr)) return `SR '${name(sr, 'unknown')}' holds CD images or devices, not VM disks`
  if (!allowed(sr, 'vdi_create')) {
    const busy = busyWith(sr)
    return busy.length ? `SR '${name(sr, 'unknown')}' is busy: ${busy.join(', ')} in progress` : `SR '${name(sr, 'unknown')}' cannot create disks`
  }
  return true
}

/** hosts with a plugged PBD of the SR */
export function hostsSeeing(view: StorageView, srRef: string): string[] {
  const out: string[] = []
  for (const p of view.pbdsOf(srRef)) {
    const pbd = view.get('PBD', p)
    if (pbd?.currently_attached === true && isRef(pbd.host)) out.push(pbd.host)
  }
  return out
}

/** VMs (not snapshots) whose drives use the VDI, other than `except` */
export function vmsUsing(view: StorageView, vdiRef: string, except?: string): string[] {
  const vdi = view.get('VDI', vdiRef)
  const out = new Set<string>()
  for (const b of strs(vdi?.VBDs)) {
    const vm = str(view.get('VBD', b)?.VM)
    if (vm && vm !== except) out.add(vm)
  }
  return [...out]
}

/**
 * A disk nobody uses: no drive, not a snapshot and no snapshots of it (not a snapshot base), an
 * ordinary user/system disk on a VM-disk SR. Orphans are usually left by deleted VMs or failed imports.
 */
export function isOrphan(view: StorageView, vdi: Rec): boolean {
  if (strs(vdi.VBDs).length > 0 || vdi.is_a_snapshot === true || strs(vdi.snapshots).length > 0) return false
  const type = str(vdi.type)
  if (type !== 'user' && type !== 'system') return false
  const sr = isRef(vdi.SR) ? view.get('SR', vdi.SR) : undefined
  return !isMediaSr(sr) && !isToolsSr(sr)
}

/** ISO SRs a VM's host can see (plugged there); for a VM that is not running: SRs plugged anywhere */
export function isoSrsFor(view: StorageView, vm: Rec | undefined, allSrs: readonly string[]): string[] {
  const host = live(vm) && isRef(vm?.resident_on) ? vm.resident_on : undefined
  return allSrs.filter((sr) => {
    const rec = view.get('SR', sr)
    if (!rec || str(rec.content_type) !== 'iso' || str(rec.type) === 'udev') return false
    const seen = hostsSeeing(view, sr)
    return host ? seen.includes(host) : seen.length > 0
  })
}

// ---------------------------------------------------------------------------------------------
// VM: add and attach

function vmGate(vm: Rec | undefined): CanRun {
  if (!vm) return 'The VM is not loaded yet'
  if (vm.is_control_domain === true) return `${vmName(vm)} is a control domain; its storage is managed through its host`
  if (vm.is_a_snapshot === true) return `${vmName(vm)} is a snapshot: its disks cannot be changed`
  const migrating = Object.values(map(vm.current_operations)).some((o) => o === 'migrate_send' || o === 'pool_migrate')
  if (migrating) return `${vmName(vm)} is being migrated; wait for it to finish`
  if (powerOf(vm) === 'Suspended') return `${vmName(vm)} is suspended; resume it or shut it down to change its disks`
  return true
}

/** a running HVM guest plugs disks only with its PV drivers (xapi_vbd_helpers.ml: VM_MISSING_PV_DRIVERS) */
export function canHotplug(view: StorageView, vm: Rec): boolean {
  if (!live(vm)) return true
  if (domainType(vm) !== 'hvm') return true
  const gm = isRef(vm.guest_metrics) ? view.get('VM_guest_metrics', vm.guest_metrics) : undefined
  if (!gm) return false
  if (gm.can_use_hotplug_vbd === 'yes') return true
  if (gm.can_use_hotplug_vbd === 'no') return false
  return gm.PV_drivers_detected === true || Object.keys(map(gm.PV_drivers_version)).length > 0
}

/** disk numbers (userdevice) in use by a VM's drives */
function usedDevices(view: StorageView, vmRef: string): Set<number> {
  const used = new Set<number>()
  for (const b of view.vbdsOf(vmRef)) {
    const vbd = view.get('VBD', b)
    const n = Number(str(vbd?.userdevice))
    if (Number.isInteger(n)) used.add(n)
  }
  return used
}

export function canAddDisk(view: StorageView, vmRef: string): CanRun {
  const vm = view.get('VM', vmRef)
  const gate = vmGate(vm)
  if (gate !== true || !vm) return gate
  if (live(vm) && !canHotplug(view, vm)) return `${vmName(vm)} runs without guest tools (PV drivers), so a disk cannot be attached while it runs; shut it down first`
  if (usedDevices(view, vmRef).size >= 255) return `${vmName(vm)} has no free disk position left`
  return true
}

export const canAttachDisk = canAddDisk

/** the disks a VM could attach: on an SR its host sees, not CD images, not its own, not attached read-write elsewhere (unless sharable) */
export function attachableDisks(view: StorageView, vmRef: string, allSrs: readonly string[]): string[] {
  const vm = view.get('VM', vmRef)
  const host = live(vm) && isRef(vm?.resident_on) ? vm.resident_on : undefined
  const out: string[] = []
  for (const sr of allSrs) {
    const rec = view.get('SR', sr)
    if (!rec || isMediaSr(rec)) continue
    const seen = hostsSeeing(view, sr)
    if (host ? !seen.includes(host) : seen.length === 0) continue
    for (const v of view.vdisOf(sr)) {
      const vdi = view.get('VDI', v)
      if (!vdi || vdi.is_a_snapshot === true || vdi.missing === true || vdi.managed === false) continue
      const type = str(vdi.type)
      if (type !== 'user' && type !== 'system') continue
      if (vmsUsing(view, v).includes(vmRef)) continue
      const inUse = strs(vdi.VBDs).some((b) => {
        const vbd = view.get('VBD', b)
        return vbd?.currently_attached === true && str(vbd.mode) === 'RW'
      })
      if (inUse && vdi.sharable !== true) continue
      out.push(v)
    }
  }
  return out
}

export function cdDrive(view: StorageView, vmRef: string): string | undefined {
  return view.vbdsOf(vmRef).find((b) => isCd(view.get('VBD', b)))
}

export function canAddCdDrive(view: StorageView, vmRef: string): CanRun {
  const vm = view.get('VM', vmRef)
  const gate = vmGate(vm)
  if (gate !== true || !vm) return gate
  if (cdDrive(view, vmRef)) return `${vmName(vm)} already has a DVD drive`
  if (powerOf(vm) !== 'Halted') return `Shut ${vmName(vm)} down to add a DVD drive: XAPI cannot hot-plug one`
  return true
}

// ---------------------------------------------------------------------------------------------
// drives

function vbdContext(view: StorageView, vbdRef: string): { vbd: Rec; vm: Rec; vdi: Rec | undefined } | string {
  const vbd = view.get('VBD', vbdRef)
  if (!vbd) return 'The drive is not loaded yet'
  const vm = isRef(vbd.VM) ? view.get('VM', vbd.VM) : undefined
  if (!vm) return 'The drive’s VM is not loaded yet'
  const vdi = isRef(vbd.VDI) ? view.get('VDI', vbd.VDI) : undefined
  return { vbd, vm, vdi }
}

/** whether a drive can be detached; `force`: the user asked for unplug_force */
export function canDetach(view: StorageView, vbdRef: string, force = false): CanRun {
  const c = vbdContext(view, vbdRef)
  if (typeof c === 'string') return c
  const { vbd, vm } = c
  const gate = vmGate(vm)
  if (gate !== true) return gate
  if (isCd(vbd)) return 'This is the DVD drive: eject the disc instead'
  const busy = busyWith(vbd)
  if (busy.length > 0) return `The drive is busy: ${busy.join(', ')} in progress`
  if (vbd.currently_attached === true && live(vm)) {
    if (vbd.unpluggable !== true) return `This disk cannot be unplugged while ${vmName(vm)} runs (XAPI marks it not unpluggable, as for a boot disk); shut the VM down first`
    const op = force ? 'unplug_force' : 'unplug'
    if (!allowed(vbd, op)) {
      if (!canHotplug(view, vm)) return `${vmName(vm)} runs without guest tools (PV drivers), so the disk cannot be unplugged while it runs; shut it down first`
      return `XAPI does not allow unplugging this disk from ${vmName(vm)} now`
    }
  }
  return true
}

/** delete = detach + VDI.destroy; refused when another VM uses the disk too */
export function canDeleteDisk(view: StorageView, vbdRef: string): CanRun {
  const c = vbdContext(view, vbdRef)
  if (typeof c === 'string') return c
  const detach = canDetach(view, vbdRef)
  if (detach !== true) return detach
  const vdiRef = str(c.vbd.VDI)
  if (!c.vdi) return 'The drive has no disk'
  const others = vmsUsing(view, vdiRef, str(c.vbd.VM))
  if (others.length > 0) {
    const names = others.map((o) => vmName(view.get('VM', o)))
    return `This disk is also used by ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}: detach it instead, or delete it from there`
  }
  const sr = isRef(c.vdi.SR) ? view.get('SR', c.vdi.SR) : undefined
  if (isMediaSr(sr) || isToolsSr(sr)) return 'This is a CD image or a device, not a VM disk'
  if (sr && !allowed(sr, 'vdi_destroy')) return `SR '${name(sr, 'unknown')}' does not allow deleting disks now${busyWith(sr).length ? ` (${busyWith(sr).join(', ')} in progress)` : ''}`
  const ops = strs(c.vdi.allowed_operations)
  // XAPI lists destroy only once nothing has the disk plugged: the detach comes first
  if (!ops.includes('destroy') && !(c.vbd.currently_attached === true && live(c.vm))) return `XAPI does not allow deleting disk '${name(c.vdi, 'unknown')}' now`
  return true
}

export function canRenameDisk(view: StorageView, vdiRef: string): CanRun {
  const vdi = view.get('VDI', vdiRef)
  if (!vdi) return 'The disk is not loaded yet'
  const sr = isRef(vdi.SR) ? view.get('SR', vdi.SR) : undefined
  if (isToolsSr(sr) || str(sr?.type) === 'udev') return 'This disk belongs to the host and cannot be renamed'
  return true
}

/** grow only: VDI.resize_online when its VM runs with it plugged and the SR allows it, VDI.resize otherwise */
export function resizeMethod(view: StorageView, vdiRef: string): 'resize' | 'resize_online' {
  const vdi = view.get('VDI', vdiRef)
  const plugged = strs(vdi?.VBDs).some((b) => view.get('VBD', b)?.currently_attached === true)
  return plugged ? 'resize_online' : 'resize'
}

export function canResize(view: StorageView, vdiRef: string, vmRef?: string): CanRun {
  const vdi = view.get('VDI', vdiRef)
  if (!vdi) return 'The disk is not loaded yet'
  if (vmRef) {
    const gate = vmGate(view.get('VM', vmRef))
    if (gate !== true) return gate
  }
  const sr = isRef(vdi.SR) ? view.get('SR', vdi.SR) : undefined
  if (isMediaSr(sr) || vdi.read_only === true) return 'Read-only disks and CD images cannot be resized'
  if (vdi.is_a_snapshot === true) return 'A snapshot’s disk cannot be resized'
  const busy = busyWith(vdi)
  if (busy.length > 0) return `Disk '${name(vdi, 'unknown')}' is busy: ${busy.join(', ')} in progress`
  const method = resizeMethod(view, vdiRef)
  if (method === 'resize_online' && !allowed(vdi, 'resize_online')) {
    return `Disk '${name(vdi, 'unknown')}' is in use by a running VM and SR '${name(sr, 'unknown')}' (${str(sr?.type)}) cannot resize a disk in use; shut the VM down first`
  }
  if (method === 'resize' && !allowed(vdi, 'resize')) {
    if (sr && !allowed(sr, 'vdi_resize')) return `SR '${name(sr, 'unknown')}' does not allow resizing disks now${busyWith(sr).length ? ` (${busyWith(sr).join(', ')} in progress)` : ''}`
    return `XAPI does not allow resizing disk '${name(vdi, 'unknown')}' now`
  }
  return true
}

/** the new size must be larger than the current one (XAPI's storage managers refuse to shrink) */
export function checkNewSize(vdi: Rec | undefined, bytes: number): CanRun {
  const cur = num(vdi?.virtual_size)
  if (!Number.isFinite(bytes) || bytes <= 0) return 'Enter a size'
  if (bytes <= cur) return `A disk can only grow: enter more than ${formatBytes(cur)}`
  if (bytes > MAX_DISK_BYTES) return `A disk can be at most ${formatBytes(MAX_DISK_BYTES)}`
  return true
}

/** free bytes of an SR (physical size less what is used) */
export function srFree(sr: Rec | undefined): number {
  return Math.max(0, num(sr?.physical_size) - num(sr?.physical_utilisation))
}

/** thick-provisioned SRs (LVM, LVMoISCSI, HBA) take a disk's full size at once */
export function isThick(sr: Rec | undefined): boolean {
  const type = str(sr?.type)
  if (map(sr?.sm_config)['allocation'] === 'thick') return true
  return type === 'lvm' || type === 'lvmoiscsi' || type === 'lvmohba' || type === 'lvmofcoe'
}

/** does a new disk of `bytes` fit (thick SRs only; thin ones grow as written) */
export function checkFits(sr: Rec | undefined, bytes: number): CanRun {
  if (!sr) return 'Choose an SR'
  if (isThick(sr) && bytes > srFree(sr)) return `SR '${name(sr, 'unknown')}' has ${formatBytes(srFree(sr))} free; a ${formatBytes(bytes)} disk does not fit`
  return true
}

/**
 * Move a disk to another SR: VDI.pool_migrate while its VM runs (storage motion), VDI.copy to the
 * new SR then VBDs re-created and the old disk deleted when the VM is halted (MoveVirtualDiskAction).
 */
export function moveMethod(view: StorageView, vdiRef: string): 'pool_migrate' | 'copy' {
  const vdi = view.get('VDI', vdiRef)
  const running = strs(vdi?.VBDs).some((b) => {
    const vbd = view.get('VBD', b)
    return vbd?.currently_attached === true && live(isRef(vbd.VM) ? view.get('VM', vbd.VM) : undefined)
  })
  return running ? 'pool_migrate' : 'copy'
}

export function canMove(view: StorageView, vdiRef: string, vmRef?: string): CanRun {
  const vdi = view.get('VDI', vdiRef)
  if (!vdi) return 'The disk is not loaded yet'
  const vm = vmRef ? view.get('VM', vmRef) : undefined
  if (vmRef) {
    const gate = vmGate(vm)
    if (gate !== true) return gate
  }
  const sr = isRef(vdi.SR) ? view.get('SR', vdi.SR) : undefined
  if (isMediaSr(sr) || isToolsSr(sr)) return 'CD images and devices cannot be moved'
  if (vdi.is_a_snapshot === true) return 'A snapshot’s disk moves with its VM'
  const busy = busyWith(vdi)
  if (busy.length > 0) return `Disk '${name(vdi, 'unknown')}' is busy: ${busy.join(', ')} in progress`
  if (moveMethod(view, vdiRef) === 'pool_migrate') {
    const owner = vm ?? view.get('VM', str(view.get('VBD', strs(vdi.VBDs)[0] ?? '')?.VM))
    if (owner && !allowed(owner, 'migrate_send')) return `${vmName(owner)} cannot migrate storage now${busyWith(owner).length ? ` (${busyWith(owner).join(', ')} in progress)` : ''}`
    if (sr && !allowed(sr, 'vdi_mirror')) return `SR '${name(sr, 'unknown')}' cannot mirror a disk in use; shut the VM down to move it`
    return true
  }
  if (!allowed(vdi, 'copy')) return `XAPI does not allow copying disk '${name(vdi, 'unknown')}' now`
  return true
}

/** SRs a disk can move to: VM-disk SRs that fit it and that the VM's host (or, halted, any host) sees */
export function moveTargets(view: StorageView, vdiRef: string, allSrs: readonly string[]): string[] {
  const vdi = view.get('VDI', vdiRef)
  if (!vdi) return []
  return allSrs.filter((s) => {
    if (s === vdi.SR) return false
    const sr = view.get('SR', s)
    return canHoldDisks(sr) && hostsSeeing(view, s).length > 0
  })
}

// ---------------------------------------------------------------------------------------------
// the DVD drive

export function canInsert(view: StorageView, vbdRef: string): CanRun {
  const c = vbdContext(view, vbdRef)
  if (typeof c === 'string') return c
  if (!isCd(c.vbd)) return 'Only a DVD drive takes a disc'
  if (powerOf(c.vm) === 'Suspended') return `${vmName(c.vm)} is suspended; resume it to change the disc`
  const busy = busyWith(c.vbd)
  if (busy.length > 0) return `The DVD drive is busy: ${busy.join(', ')} in progress`
  // a drive with a disc is ejected first (ChangeDisc): either operation will do
  if (c.vbd.empty === true ? !allowed(c.vbd, 'insert') : !allowed(c.vbd, 'eject')) return `XAPI does not allow changing the disc of ${vmName(c.vm)} now`
  return true
}

export function canEject(view: StorageView, vbdRef: string): CanRun {
  const c = vbdContext(view, vbdRef)
  if (typeof c === 'string') return c
  if (!isCd(c.vbd)) return 'Only a DVD drive can eject'
  if (c.vbd.empty === true) return 'The drive is empty'
  if (powerOf(c.vm) === 'Suspended') return `${vmName(c.vm)} is suspended; resume it to eject the disc`
  if (!allowed(c.vbd, 'eject')) return `XAPI does not allow ejecting the disc of ${vmName(c.vm)} now`
  return true
}

// ---------------------------------------------------------------------------------------------
// SRs and PBDs

export function canScan(view: StorageView, srRef: string): CanRun {
  const sr = view.get('SR', srRef)
  if (!sr) return 'The SR is not loaded yet'
  if (Object.values(map(sr.current_operations)).includes('scan')) return 'A scan of this SR is running'
  if (hostsSeeing(view, srRef).length === 0) return `SR '${name(sr, 'unknown')}' is not connected to any server; repair it first`
  const busy = busyWith(sr)
  if (!allowed(sr, 'scan')) return busy.length ? `SR '${name(sr, 'unknown')}' is busy: ${busy.join(', ')} in progress` : `XAPI does not allow scanning SR '${name(sr, 'unknown')}' now`
  return true
}

export function canSetDefault(view: StorageView, srRef: string, pool: Rec | undefined): CanRun {
  const sr = view.get('SR', srRef)
  if (!sr) return 'The SR is not loaded yet'
  if (pool?.default_SR === srRef) return `SR '${name(sr, 'unknown')}' is already the default`
  if (isMediaSr(sr)) return 'An ISO or device SR cannot hold VM disks'
  if (!allowed(sr, 'vdi_create')) return `SR '${name(sr, 'unknown')}' cannot create disks`
  if (hostsSeeing(view, srRef).length === 0) return `SR '${name(sr, 'unknown')}' is not connected to any server`
  if (sr.shared !== true && view.hosts().length > 1) return 'Only a shared SR can be the default of a pool with several servers'
  return true
}

/** the SR's disks that a running, paused or suspended VM uses */
export function disksInUse(view: StorageView, srRef: string, host?: string): string[] {
  return view.vdisOf(srRef).filter((v) => {
    const vdi = view.get('VDI', v)
    return strs(vdi?.VBDs).some((b) => {
      const vbd = view.get('VBD', b)
      const vm = isRef(vbd?.VM) ? view.get('VM', vbd.VM) : undefined
      if (!vm || (!live(vm) && powerOf(vm) !== 'Suspended')) return false
      if (vbd?.currently_attached !== true && powerOf(vm) !== 'Suspended') return false
      return host === undefined || vm.resident_on === host || powerOf(vm) === 'Suspended'
    })
  })
}

export function canPlugPbd(view: StorageView, pbdRef: string): CanRun {
  const pbd = view.get('PBD', pbdRef)
  if (!pbd) return 'The connection is not loaded yet'
  if (pbd.currently_attached === true) return 'Already connected'
  const host = isRef(pbd.host) ? view.get('host', pbd.host) : undefined
  if (host && host.enabled === false) return `Server '${name(host, 'unknown')}' is disabled`
  return true
}

export function canUnplugPbd(view: StorageView, pbdRef: string): CanRun {
  const pbd = view.get('PBD', pbdRef)
  if (!pbd) return 'The connection is not loaded yet'
  if (pbd.currently_attached !== true) return 'Already disconnected'
  const srRef = str(pbd.SR)
  const used = disksInUse(view, srRef, str(pbd.host))
  if (used.length > 0) return `${used.length} disk${used.length === 1 ? ' is' : 's are'} in use by VMs on this server: shut them down or move them first`
  const sr = view.get('SR', srRef)
  if (sr && !allowed(sr, 'unplug')) return `SR '${name(sr, 'unknown')}' is busy${busyWith(sr).length ? `: ${busyWith(sr).join(', ')} in progress` : ''}`
  return true
}

/** what Repair does: PBDs to create on hosts that have none (shared SRs), PBDs to plug */
export function repairPlan(view: StorageView, srRef: string): { create: string[]; plug: string[] } {
  const sr = view.get('SR', srRef)
  const pbds = view.pbdsOf(srRef)
  const withPbd = new Set(pbds.map((p) => str(view.get('PBD', p)?.host)))
  const create = sr?.shared === true && pbds.length > 0 ? view.hosts().filter((h) => !withPbd.has(h)) : []
  const plug = pbds.filter((p) => view.get('PBD', p)?.currently_attached !== true)
  return { create, plug }
}

export function canRepair(view: StorageView, srRef: string): CanRun {
  const sr = view.get('SR', srRef)
  if (!sr) return 'The SR is not loaded yet'
  const plan = repairPlan(view, srRef)
  if (plan.create.length === 0 && plan.plug.length === 0) return `SR '${name(sr, 'unknown')}' is connected to every server it should be`
  if (view.pbdsOf(srRef).length === 0) return `SR '${name(sr, 'unknown')}' has no connection to copy the settings from`
  return true
}

export interface RemovalPlan {
  kind: 'forget' | 'destroy'
  /** PBDs unplugged first, with their host */
  unplug: { pbd: string; host: string }[]
  /** every disk of the SR: with destroy its data is deleted, with forget only XenPilot/XAPI stop knowing it */
  disks: { vdi: string; name: string; size: number; usedBy: string[]; snapshot: boolean }[]
  /** VMs that lose a drive */
  vms: string[]
  /** why it cannot run (empty: it can) */
  blockers: string[]
}

/** what forgetting or destroying an SR takes with it */
export function removalPlan(view: StorageView, srRef: string, kind: 'forget' | 'destroy'): RemovalPlan {
  const sr = view.get('SR', srRef)
  const blockers: string[] = []
  if (!sr) return { kind, unplug: [], disks: [], vms: [], blockers: ['The SR is not loaded yet'] }
  if (isToolsSr(sr)) blockers.push('The tools SR belongs to the servers and cannot be removed')
  const busy = busyWith(sr)
  if (busy.length > 0) blockers.push(`SR '${name(sr, 'unknown')}' is busy: ${busy.join(', ')} in progress`)
  const inUse = disksInUse(view, srRef)
  if (inUse.length > 0) {
    const vms = new Set(inUse.flatMap((v) => vmsUsing(view, v)).filter((vm) => live(view.get('VM', vm)) || powerOf(view.get('VM', vm)) === 'Suspended'))
    blockers.push(`${[...vms].map((v) => vmName(view.get('VM', v))).slice(0, 3).join(', ')}${vms.size > 3 ? ` and ${vms.size - 3} more` : ''} ${vms.size === 1 ? 'runs' : 'run'} from this SR: shut ${vms.size === 1 ? 'it' : 'them'} down or move ${vms.size === 1 ? 'its' : 'their'} disks first`)
  }
  if (kind === 'destroy') {
    if (isMediaSr(sr)) blockers.push('An ISO or device SR cannot be destroyed; forget it instead')
    else if (!allowed(sr, 'vdi_destroy') && view.vdisOf(srRef).length > 0 && busy.length === 0) blockers.push(`SR '${name(sr, 'unknown')}' cannot delete its disks`)
    if (map(sr.other_config)['indestructible'] === 'true') blockers.push(`SR '${name(sr, 'unknown')}' is marked indestructible`)
  }
  const unplug = view
    .pbdsOf(srRef)
    .map((p) => ({ pbd: p, rec: view.get('PBD', p) }))
    .filter((x) => x.rec?.currently_attached === true)
    .map((x) => ({ pbd: x.pbd, host: str(x.rec?.host) }))
  const vms = new Set<string>()
  const disks = view.vdisOf(srRef).map((v) => {
    const vdi = view.get('VDI', v)
    const usedBy = vmsUsing(view, v)
    for (const u of usedBy) vms.add(u)
    return { vdi: v, name: name(vdi, '(no name)'), size: num(vdi?.virtual_size), usedBy, snapshot: vdi?.is_a_snapshot === true }
  })
  return { kind, unplug, disks, vms: [...vms], blockers }
}

export function canForget(view: StorageView, srRef: string): CanRun {
  return removalPlan(view, srRef, 'forget').blockers[0] ?? true
}

export function canDestroy(view: StorageView, srRef: string): CanRun {
  return removalPlan(view, srRef, 'destroy').blockers[0] ?? true
}

// ---------------------------------------------------------------------------------------------
// the pool-wide overview

export interface SrUsage {
  size: number
  used: number
  /** sum of the virtual sizes of its disks */
  allocated: number
  free: number
  /** used / size, 0..1 (0 when the size is unknown) */
  fraction: number
  tone: 'ok' | 'warning' | 'critical'
}

/** ≥ 80 % used: warning, ≥ 90 %: critical (XenCenter's SR alert default is 80 %) */
export function srUsage(sr: Rec | undefined): SrUsage {
  const size = num(sr?.physical_size)
  const used = num(sr?.physical_utilisation)
  const fraction = size > 0 ? Math.min(1, used / size) : 0
  return { size, used, allocated: num(sr?.virtual_allocation), free: Math.max(0, size - used), fraction, tone: fraction >= 0.9 ? 'critical' : fraction >= 0.8 ? 'warning' : 'ok' }
}

/** SRs worth listing in a storage overview: real capacity, not the tools ISO SR nor removable-device SRs */
export function inStorageOverview(sr: Rec): boolean {
  return num(sr.physical_size) > 0 && !isToolsSr(sr) && str(sr.type) !== 'udev'
}
