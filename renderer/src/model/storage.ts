/**
 * Storage as the renderer shows it (issue 13): a VM's drives, an SR's disks and connections, every
 * SR of the fleet by free space. Plain TypeScript over the object graph (model/objects.ts); the
 * rules (what can run, and why not) are shared/operations/storage.ts, read here through
 * `storageView`, the same StorageView main answers from its own graph.
 *
 * The graph does not carry the parents' ref lists for these links (VM.VBDs and SR.VDIs are never
 * sent to a window: shared/model/slim.ts); the children's own fields are read instead
 * (VBD.VM, VDI.SR, PBD.SR) through PoolObjects.referencing.
 */
import { attachableDisks, canCreateDiskOn, checkFits, hostsSeeing, isCd, isMediaSr, isOrphan, isThick, isToolsSr, isoSrsFor, powerOf, srFree, srUsage, vmsUsing, inStorageOverview, type StorageView, type SrUsage } from '../../../shared/operations/storage'
import type { PoolObjects, Rec } from './objects'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) || 0 : 0)
const isRef = (v: unknown): v is string => typeof v === 'string' && v.startsWith('OpaqueRef:') && v !== 'OpaqueRef:NULL'
const refs = (list: [string, unknown][]): string[] => list.map(([r]) => r)

/** the shared rules' view of one pool of the renderer's graph */
export function storageView(p: PoolObjects): StorageView {
  return {
    get: (cls, ref) => p.tables.get(cls)?.get(ref),
    vbdsOf: (vm) => refs(p.referencing('VBD', 'VM', vm)),
    vdisOf: (sr) => refs(p.referencing('VDI', 'SR', sr)),
    pbdsOf: (sr) => refs(p.referencing('PBD', 'SR', sr)),
    hosts: () => [...p.all('host').keys()],
  }
}

/** one drive of a VM as the Storage tab lists it */
export interface DriveRow {
  vbd: string
  /** NULL for an empty DVD drive */
  vdi: string
  /** userdevice: the position the guest sees (0 = first disk) */
  position: string
  /** the device in the guest (xvda, hdd) while attached, else '' */
  device: string
  cd: boolean
  /** a DVD drive with no disc */
  empty: boolean
  name: string
  description: string
  sr: string
  srName: string
  /** bytes (virtual size) */
  size: number
  readOnly: boolean
  bootable: boolean
  attached: boolean
  /** other VMs (names) whose drives also use this disk */
  alsoUsedBy: string[]
}

const position = (v: unknown): number => {
  const n = Number(str(v))
  return Number.isInteger(n) ? n : 1000
}

/** a VM's drives, disks first by position, then its DVD drives */
export function vmDrives(p: PoolObjects, vmRef: string): DriveRow[] {
  const view = storageView(p)
  const rows: DriveRow[] = []
  for (const [ref, vbd] of p.referencing('VBD', 'VM', vmRef)) {
    const vdiRef = str(vbd.VDI)
    const vdi = isRef(vdiRef) ? p.get('VDI', vdiRef) : undefined
    const srRef = str(vdi?.SR)
    const sr = isRef(srRef) ? p.get('SR', srRef) : undefined
    const cd = isCd(vbd)
    const empty = vbd.empty === true || !vdi
    rows.push({
      vbd: ref,
      vdi: vdiRef,
      position: str(vbd.userdevice),
      device: vbd.currently_attached === true ? str(vbd.device) : '',
      cd,
      empty: cd && empty,
      name: cd ? (empty ? '(empty)' : str(vdi?.name_label) || '(no name)') : str(vdi?.name_label) || '(no name)',
      description: str(vdi?.name_description),
      sr: srRef,
      srName: str(sr?.name_label),
      size: num(vdi?.virtual_size),
      readOnly: str(vbd.mode) === 'RO' || vdi?.read_only === true,
      bootable: vbd.bootable === true,
      attached: vbd.currently_attached === true,
      alsoUsedBy: vdi && !cd ? vmsUsing(view, vdiRef, vmRef).map((v) => str(p.get('VM', v)?.name_label) || 'a VM') : [],
    })
  }
  return rows.sort((a, b) => Number(a.cd) - Number(b.cd) || position(a.position) - position(b.position))
}

/** one disk of an SR as the SR view lists it */
export interface SrDiskRow {
  vdi: string
  name: string
  description: string
  size: number
  /** bytes the disk takes on the SR */
  physical: number
  /** names of the VMs (not snapshots) whose drives use it */
  usedBy: string[]
  /** names of the snapshots that use it */
  snapshotsUsing: string[]
  /** it is a snapshot's disk */
  snapshot: boolean
  /** how many snapshots were taken of it */
  snapshots: number
  orphan: boolean
  readOnly: boolean
}

export function srDisks(p: PoolObjects, srRef: string): SrDiskRow[] {
  const view = storageView(p)
  const rows: SrDiskRow[] = []
  for (const [ref, vdi] of p.referencing('VDI', 'SR', srRef)) {
    const usedBy: string[] = []
    const snapshotsUsing: string[] = []
    for (const b of strs(vdi.VBDs)) {
      const vm = p.get('VM', p.get('VBD', b)?.VM)
      if (!vm) continue
      const n = str(vm.name_label) || '(no name)'
      if (vm.is_a_snapshot === true) snapshotsUsing.push(n)
      else usedBy.push(n)
    }
    rows.push({
      vdi: ref,
      name: str(vdi.name_label) || '(no name)',
      description: str(vdi.name_description),
      size: num(vdi.virtual_size),
      physical: num(vdi.physical_utilisation),
      usedBy: [...new Set(usedBy)],
      snapshotsUsing: [...new Set(snapshotsUsing)],
      snapshot: vdi.is_a_snapshot === true,
      snapshots: strs(vdi.snapshots).length,
      orphan: isOrphan(view, vdi),
      readOnly: vdi.read_only === true,
    })
  }
  return rows.sort((a, b) => Number(b.orphan) - Number(a.orphan) || a.name.localeCompare(b.name, undefined, { numeric: true }))
}

/** one connection of an SR to a server */
export interface PbdRow {
  pbd: string
  host: string
  hostName: string
  attached: boolean
}

export function srConnections(p: PoolObjects, srRef: string): PbdRow[] {
  return p
    .referencing('PBD', 'SR', srRef)
    .map(([ref, pbd]) => ({ pbd: ref, host: str(pbd.host), hostName: str(p.get('host', pbd.host)?.name_label) || 'a server', attached: pbd.currently_attached === true }))
    .sort((a, b) => a.hostName.localeCompare(b.hostName, undefined, { numeric: true }))
}

/** an SR's name, with its server when it is local ('Local storage on xs-prod-01': every server has one of that name) */
export function srLabel(p: PoolObjects, sr: Rec): string {
  const label = str(sr.name_label) || '(no name)'
  const local = p.localSrHost(sr)
  return local ? `${label} on ${str(p.get('host', local)?.name_label) || 'its server'}` : label
}

/** SR type as a person reads it */
export function srTypeLabel(sr: Rec | undefined): string {
  const t = str(sr?.type)
  const LABELS: Record<string, string> = {
    lvm: 'Local LVM',
    ext: 'Local EXT',
    nfs: 'NFS',
    iso: 'ISO library',
    udev: 'Removable devices',
    lvmoiscsi: 'iSCSI (LVM)',
    lvmohba: 'Hardware HBA (LVM)',
    lvmofcoe: 'FCoE (LVM)',
    smb: 'SMB',
    cifs: 'SMB',
    gfs2: 'GFS2 (shared)',
    xfs: 'Local XFS',
    zfs: 'Local ZFS',
    file: 'Local file',
    cephfs: 'CephFS',
    glusterfs: 'GlusterFS',
    linstor: 'LINSTOR',
  }
  return LABELS[t] ?? (t || 'unknown')
}

/** one SR in the fleet storage overview */
export interface OverviewRow {
  connectionId: string
  sr: string
  name: string
  poolName: string
  type: string
  shared: boolean
  usage: SrUsage
  /** no server is connected to it */
  detached: boolean
}

/**
 * Every SR worth listing (real capacity, not the tools SR nor removable devices) of one pool; the
 * overview sorts the fleet's rows by free space (least first).
 */
export function overviewRows(p: PoolObjects, poolName: string): OverviewRow[] {
  const known = overviewMemo.get(p)
  if (known && known.version === p.version && known.poolName === poolName) return [...known.rows]
  const rows = srOverviewRows(p, poolName)
  overviewMemo.set(p, { version: p.version, poolName, rows })
  return [...rows]
}

/**
 * each pool's rows as last made, until a batch changes the pool (`version`): the fleet overview lists
 * every pool's SRs after each batch, and a fleet streaming in changes a few pools at a time (200 pools)
 */
const overviewMemo = new WeakMap<PoolObjects, { version: number; poolName: string; rows: readonly OverviewRow[] }>()

function srOverviewRows(p: PoolObjects, poolName: string): OverviewRow[] {
  const view = storageView(p)
  const out: OverviewRow[] = []
  for (const [ref, sr] of p.all('SR')) {
    if (!inStorageOverview(sr) || isToolsSr(sr)) continue
    out.push({ connectionId: p.connectionId, sr: ref, name: srLabel(p, sr), poolName, type: srTypeLabel(sr), shared: sr.shared === true, usage: srUsage(sr), detached: hostsSeeing(view, ref).length === 0 })
  }
  return out
}

export function byFreeSpace(a: OverviewRow, b: OverviewRow): number {
  return a.usage.free - b.usage.free || b.usage.fraction - a.usage.fraction || a.name.localeCompare(b.name)
}


/** an SR a new (or moved) disk could go to, with why not when it cannot */
export interface SrChoice {
  ref: string
  name: string
  free: number
  size: number
  /** takes a disk's whole size at once (LVM): the free space must hold it */
  thick: boolean
  isDefault: boolean
  /** null: usable */
  reason: string | null
}

/**
 * SRs for a VM's new disk (or a disk moving off `exclude`): every SR that holds VM disks, the ones
 * the VM's server cannot reach (or, for a VM that is not running, no server) disabled with the reason.
 */
export function srChoices(p: PoolObjects, vmRef: string | undefined, exclude?: string): SrChoice[] {
  const view = storageView(p)
  const vm = vmRef ? p.get('VM', vmRef) : undefined
  const live = powerOf(vm) === 'Running' || powerOf(vm) === 'Paused'
  const host = live && isRef(vm?.resident_on) ? vm.resident_on : undefined
  const hostName = str(p.get('host', host)?.name_label) || 'its server'
  const def = str(p.pool()?.rec.default_SR)
  const out: SrChoice[] = []
  for (const [ref, sr] of p.all('SR')) {
    if (ref === exclude || isMediaSr(sr) || isToolsSr(sr)) continue
    const seen = hostsSeeing(view, ref)
    const can = canCreateDiskOn(sr)
    let reason: string | null = can === true ? null : can
    if (reason === null && (host ? !seen.includes(host) : seen.length === 0)) reason = host ? `not connected to ${hostName}` : 'not connected to any server'
    out.push({ ref, name: srLabel(p, sr), free: srFree(sr), size: num(sr.physical_size), thick: isThick(sr), isDefault: ref === def, reason })
  }
  return out.sort((a, b) => Number(a.reason !== null) - Number(b.reason !== null) || Number(b.isDefault) - Number(a.isDefault) || b.free - a.free)
}

/** whether the chosen SR takes a disk of `bytes` (thick SRs need the free space now), or why not */
export function checkSrChoice(p: PoolObjects, choice: SrChoice | undefined, bytes: number): true | string {
  if (!choice) return 'Choose an SR'
  if (choice.reason) return `${choice.name} is ${choice.reason}`
  return checkFits(p.get('SR', choice.ref), bytes)
}

/** a disk a VM could attach */
export interface DiskChoice {
  vdi: string
  name: string
  srName: string
  size: number
  /** other VMs that have it (read-only, or sharable) */
  usedBy: string[]
}

export function diskChoices(p: PoolObjects, vmRef: string): DiskChoice[] {
  const view = storageView(p)
  return attachableDisks(view, vmRef, [...p.all('SR').keys()])
    .map((v) => {
      const vdi = p.get('VDI', v)
      return { vdi: v, name: str(vdi?.name_label) || '(no name)', srName: str(p.get('SR', vdi?.SR)?.name_label), size: num(vdi?.virtual_size), usedBy: vmsUsing(view, v).map((x) => str(p.get('VM', x)?.name_label) || 'a VM') }
    })
    .sort((a, b) => a.srName.localeCompare(b.srName) || a.name.localeCompare(b.name, undefined, { numeric: true }))
}

/** the ISO images a VM's DVD drive can take, by library (the SRs its server sees) */
export interface IsoLibrary {
  sr: string
  name: string
  isos: { vdi: string; name: string; size: number }[]
}

export function isoLibraries(p: PoolObjects, vmRef: string): IsoLibrary[] {
  const view = storageView(p)
  return isoSrsFor(view, p.get('VM', vmRef), [...p.all('SR').keys()])
    .map((sr) => ({
      sr,
      name: str(p.get('SR', sr)?.name_label) || '(no name)',
      isos: p
        .referencing('VDI', 'SR', sr)
        .filter(([, v]) => v.missing !== true && v.is_a_snapshot !== true)
        .map(([vdi, v]) => ({ vdi, name: str(v.name_label) || '(no name)', size: num(v.virtual_size) }))
        .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true })),
    }))
    .filter((l) => l.isos.length > 0)
    .sort((a, b) => a.name.localeCompare(b.name))
}
