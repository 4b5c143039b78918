/**
 * Migration (issue 17) as rules both sides read: what a VM takes along (its disks and NICs and
 * those of its snapshots), where each goes by default, which networks can carry the transfer,
 * whether compression is offered, and the plan a person confirms ("12 VMs, 1.8 TiB of disks, to
 * pool B: …"). The renderer's wizard fills its choices from here; main completes a plan with the
 * same defaults (a snapshot's disk goes where its disk goes) before asking XAPI.
 *
 * Defaults as the issue says: the same SR when the destination server sees it, else the
 * destination pool's default SR (when the server sees it), else the SR the server sees with most
 * room; a NIC's network of the same name, else the destination server's management network; the
 * transfer over the management network.
 */
import { formatBytes, type Rec } from './storage'

/** what the rules read about one pool (main: its graph; the renderer: its store) */
export interface MigrateView {
  get(cls: string, ref: string): Rec | undefined
  /** every ref of a class */
  refs(cls: string): Iterable<string>
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const map = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {})
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) || 0 : 0)
export const isRef = (v: unknown): v is string => typeof v === 'string' && v.startsWith('OpaqueRef:') && v !== 'OpaqueRef:NULL'

/** one disk that travels with the VM */
export interface MigrateDisk {
  vdi: string
  name: string
  /** virtual size (bytes) */
  size: number
  /** what it takes on a thick SR, what a thin SR holds now */
  used: number
  sr: string
  /** the VM's own disk this one is a snapshot of ('' for the VM's own disks) */
  snapshotOf: string
  /** the snapshot it belongs to ('' for the VM's own disks) */
  snapshotName: string
}

/** one NIC that travels with the VM */
export interface MigrateNic {
  vif: string
  device: string
  mac: string
  network: string
  /** a NIC only a snapshot has (its MAC is not on the VM): it needs its own network */
  snapshotOnly: boolean
  snapshotName: string
}

function vmSnapshots(view: MigrateView, vm: string): string[] {
  return strs(view.get('VM', vm)?.snapshots).filter((s) => view.get('VM', s))
}

/** the VM's disks, then its snapshots' disks (CDs stay behind: XAPI ejects them) */
export function vmDisks(view: MigrateView, vm: string): MigrateDisk[] {
  const out: MigrateDisk[] = []
  const seen = new Set<string>()
  for (const owner of [vm, ...vmSnapshots(view, vm)]) {
    const o = view.get('VM', owner)
    for (const vbd of strs(o?.VBDs)) {
      const b = view.get('VBD', vbd)
      if (!b || b.type !== 'Disk' || b.empty === true || !isRef(b.VDI) || seen.has(b.VDI)) continue
      const d = view.get('VDI', b.VDI)
      if (!d) continue
      seen.add(b.VDI)
      const size = num(d.virtual_size)
      out.push({
        vdi: b.VDI,
        name: str(d.name_label) || `Disk ${str(b.userdevice)}`,
        size,
        used: num(d.physical_utilisation) || size,
        sr: str(d.SR),
        snapshotOf: owner === vm ? '' : isRef(d.snapshot_of) ? d.snapshot_of : '',
        snapshotName: owner === vm ? '' : str(o?.name_label),
      })
    }
  }
  return out
}

/** the VM's NICs, then NICs only its snapshots have (a snapshot's NIC with a MAC of the VM follows that NIC) */
export function vmNics(view: MigrateView, vm: string): MigrateNic[] {
  const out: MigrateNic[] = []
  const macs = new Set<string>()
  for (const vif of strs(view.get('VM', vm)?.VIFs)) {
    const v = view.get('VIF', vif)
    if (!v) continue
    macs.add(str(v.MAC).toLowerCase())
    out.push({ vif, device: str(v.device), mac: str(v.MAC), network: str(v.network), snapshotOnly: false, snapshotName: '' })
  }
  for (const snap of vmSnapshots(view, vm)) {
    const s = view.get('VM', snap)
    for (const vif of strs(s?.VIFs)) {
      const v = view.get('VIF', vif)
      if (!v || macs.has(str(v.MAC).toLowerCase())) continue
      out.push({ vif, device: str(v.device), mac: str(v.MAC), network: str(v.network), snapshotOnly: true, snapshotName: str(s?.name_label) })
    }
  }
  return out
}

/** every snapshot NIC the map must carry too (those sharing a MAC with a VM NIC go where that NIC goes) */
function snapshotVifsFollowing(view: MigrateView, vm: string): Map<string, string> {
  const byMac = new Map<string, string>()
  for (const vif of strs(view.get('VM', vm)?.VIFs)) byMac.set(str(view.get('VIF', vif)?.MAC).toLowerCase(), vif)
  const out = new Map<string, string>()
  for (const snap of vmSnapshots(view, vm)) {
    for (const vif of strs(view.get('VM', snap)?.VIFs)) {
      const parent = byMac.get(str(view.get('VIF', vif)?.MAC).toLowerCase())
      if (parent) out.set(vif, parent)
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// the destination

export interface SrChoice {
  sr: string
  name: string
  free: number
  shared: boolean
  isDefault: boolean
}

function srFree(sr: Rec | undefined): number {
  return Math.max(0, num(sr?.physical_size) - num(sr?.physical_utilisation))
}

/** can `host` reach the SR (a plugged PBD) */
export function hostSeesSr(view: MigrateView, host: string, sr: string): boolean {
  return strs(view.get('SR', sr)?.PBDs).some((p) => {
    const pbd = view.get('PBD', p)
    return pbd?.host === host && pbd.currently_attached === true
  })
}

function poolRec(view: MigrateView): Rec | undefined {
  for (const ref of view.refs('pool')) return view.get('pool', ref)
  return undefined
}

/** the SRs a disk may go to on `host`: it sees them and they hold disks (not ISO libraries, not removable drives) */
export function srChoices(view: MigrateView, host: string): SrChoice[] {
  const def = str(poolRec(view)?.default_SR)
  const out: SrChoice[] = []
  for (const sr of view.refs('SR')) {
    const r = view.get('SR', sr)
    if (!r || r.content_type === 'iso' || r.type === 'udev' || r.type === 'iso' || !hostSeesSr(view, host, sr)) continue
    out.push({ sr, name: str(r.name_label) || sr, free: srFree(r), shared: r.shared === true, isDefault: sr === def })
  }
  return out.sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || Number(b.shared) - Number(a.shared) || b.free - a.free)
}

/** the SR a disk goes to unless the user chooses: its own when the server sees it, the pool default, the roomiest */
export function defaultSr(dst: MigrateView, host: string, disk: Pick<MigrateDisk, 'sr'>, samePool: boolean): string {
  if (samePool && hostSeesSr(dst, host, disk.sr)) return disk.sr
  const choices = srChoices(dst, host)
  const def = choices.find((c) => c.isDefault)
  if (def) return def.sr
  return [...choices].sort((a, b) => b.free - a.free)[0]?.sr ?? ''
}

export interface NetworkChoice {
  network: string
  name: string
}

const hidden = (net: Rec): boolean =>
  map(net.other_config)['HideFromXenCenter'] === 'true' || map(net.other_config)['is_host_internal_management_network'] === 'true' || str(net.bridge) === 'xenapi'

/** the networks a NIC may join in the destination pool */
export function networkChoices(view: MigrateView): NetworkChoice[] {
  const out: NetworkChoice[] = []
  for (const n of view.refs('network')) {
    const r = view.get('network', n)
    if (r && !hidden(r)) out.push({ network: n, name: str(r.name_label) || n })
  }
  return out.sort((a, b) => a.name.localeCompare(b.name))
}

/** the management network of a server (its PIF marked management) */
export function managementNetwork(view: MigrateView, host: string): string {
  for (const pif of strs(view.get('host', host)?.PIFs)) {
    const p = view.get('PIF', pif)
    if (p?.management === true && isRef(p.network)) return p.network
  }
  for (const pif of view.refs('PIF')) {
    const p = view.get('PIF', pif)
    if (p?.host === host && p.management === true && isRef(p.network)) return p.network
  }
  return ''
}

/** the network a NIC joins unless the user chooses: the same network within a pool, one of the same name, else management */
export function defaultNetwork(src: MigrateView, dst: MigrateView, host: string, nic: Pick<MigrateNic, 'network'>, samePool: boolean): string {
  if (samePool) return nic.network
  const name = str(src.get('network', nic.network)?.name_label)
  const same = networkChoices(dst).find((c) => c.name === name)
  return same?.network ?? managementNetwork(dst, host)
}

/** networks that can carry the transfer: the server has an IP on them (management first) */
export function transferNetworks(view: MigrateView, host: string): NetworkChoice[] {
  const out: (NetworkChoice & { mgmt: boolean })[] = []
  const pifs = new Set([...strs(view.get('host', host)?.PIFs), ...[...view.refs('PIF')].filter((p) => view.get('PIF', p)?.host === host)])
  for (const pif of pifs) {
    const p = view.get('PIF', pif)
    if (!p || !isRef(p.network) || (!str(p.IP) && strs(p.IPv6).length === 0)) continue
    if (out.some((o) => o.network === p.network)) continue
    out.push({ network: p.network, name: str(view.get('network', p.network)?.name_label) || p.network, mgmt: p.management === true })
  }
  return out.sort((a, b) => Number(b.mgmt) - Number(a.mgmt) || a.name.localeCompare(b.name)).map(({ network, name }) => ({ network, name }))
}

function xapiMajor(view: MigrateView): number {
  for (const h of view.refs('host')) {
    const v = str(map(view.get('host', h)?.software_version)['xapi'])
    const major = Number.parseInt(v, 10)
    if (Number.isFinite(major)) return major
  }
  return 0
}

/** compression of the migration stream: both pools must run a xapi that has it (the numbered xapi releases, 23 and later) */
export function compressionSupported(src: MigrateView, dst: MigrateView): boolean {
  return xapiMajor(src) >= 23 && xapiMajor(dst) >= 23
}

// ---------------------------------------------------------------------------------------------
// maps

export interface MigrationChoices {
  /** the user's choice per disk (VDI → SR); missing disks get the default */
  disks?: Record<string, string>
  /** the user's choice per NIC (VIF → network) */
  nics?: Record<string, string>
}

/**
 * vdi_map and vif_map for VM.migrate_send: every disk (a snapshot's disk with its VM's disk unless
 * chosen), every NIC (snapshot NICs sharing a MAC follow the VM's NIC); within a pool only disks
 * that change SR, and no NICs.
 */
export function migrationMaps(
  src: MigrateView,
  dst: MigrateView,
  vm: string,
  host: string,
  samePool: boolean,
  choices: MigrationChoices = {},
): { vdiMap: Record<string, string>; vifMap: Record<string, string> } {
  const vdiMap: Record<string, string> = {}
  const disks = vmDisks(src, vm)
  const target = new Map<string, string>()
  for (const d of disks.filter((x) => !x.snapshotOf)) target.set(d.vdi, choices.disks?.[d.vdi] ?? defaultSr(dst, host, d, samePool))
  for (const d of disks.filter((x) => x.snapshotOf)) target.set(d.vdi, choices.disks?.[d.vdi] ?? target.get(d.snapshotOf) ?? defaultSr(dst, host, d, samePool))
  for (const [vdi, sr] of target) if (sr && (!samePool || sr !== str(src.get('VDI', vdi)?.SR))) vdiMap[vdi] = sr
  const vifMap: Record<string, string> = {}
  if (!samePool) {
    for (const n of vmNics(src, vm)) {
      const net = choices.nics?.[n.vif] ?? defaultNetwork(src, dst, host, n, samePool)
      if (net) vifMap[n.vif] = net
    }
    for (const [vif, parent] of snapshotVifsFollowing(src, vm)) {
      const net = vifMap[parent]
      if (net && !vifMap[vif]) vifMap[vif] = net
    }
  }
  return { vdiMap, vifMap }
}

// ---------------------------------------------------------------------------------------------
// bounded fan-out (the server checks are VMs × servers calls: never all at once)

/** `fn` over every item with at most `limit` running at once; the answers in the items' order (the first failure rejects, after the running ones end) */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length)
  let next = 0
  let failed: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++
      try {
        out[i] = await fn(items[i] as T, i)
      } catch (error) {
        failed ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  if (failed) throw failed.error
  return out
}

// ---------------------------------------------------------------------------------------------
// the plan a person confirms

export interface PlanVm {
  name: string
  /** bytes of disk that travel */
  bytes: number
  host: string
  /** bytes per destination SR this VM needs there */
  perSr: Record<string, number>
}

export interface PlanSummary {
  /** '12 VMs, 1.8 TiB of disks, to pool B' */
  headline: string
  /** one sentence per destination SR: 'Local storage (xs-prod-03) has room: 120 GiB needed, 2 TiB free' */
  srs: { sr: string; name: string; needed: number; free: number; fits: boolean; sentence: string }[]
  /** '3 servers: xs-prod-01, xs-prod-02, xs-prod-03' */
  hosts: string
  fits: boolean
}

export function planSummary(dst: MigrateView, poolName: string, vms: readonly PlanVm[], copy: boolean): PlanSummary {
  const bytes = vms.reduce((s, v) => s + v.bytes, 0)
  const verb = copy ? 'copied' : 'moved'
  const headline = `${vms.length} VM${vms.length === 1 ? '' : 's'}, ${formatBytes(bytes)} of disks, ${verb} to pool ${poolName}`
  const needed = new Map<string, number>()
  for (const v of vms) for (const [sr, n] of Object.entries(v.perSr)) needed.set(sr, (needed.get(sr) ?? 0) + n)
  const srs = [...needed].map(([sr, n]) => {
    const r = dst.get('SR', sr)
    const free = srFree(r)
    const name = str(r?.name_label) || sr
    const fits = n <= free
    return {
      sr,
      name,
      needed: n,
      free,
      fits,
      sentence: `${name} ${fits ? 'has room' : 'does not have room'}: ${formatBytes(n)} needed, ${formatBytes(free)} free`,
    }
  })
  const hostNames = [...new Set(vms.map((v) => str(dst.get('host', v.host)?.name_label) || v.host))]
  return { headline, srs, hosts: `${hostNames.length} server${hostNames.length === 1 ? '' : 's'}: ${hostNames.join(', ')}`, fits: srs.every((s) => s.fits) }
}

/** what a VM needs per destination SR under these maps (a thick SR holds the whole size, a thin one what is written) */
export function planVm(src: MigrateView, dst: MigrateView, vm: string, host: string, vdiMap: Record<string, string>): PlanVm {
  const perSr: Record<string, number> = {}
  let bytes = 0
  for (const d of vmDisks(src, vm)) {
    const sr = vdiMap[d.vdi]
    if (!sr) continue
    const thin = ['nfs', 'ext', 'file', 'smb', 'xfs', 'zfs'].includes(str(dst.get('SR', sr)?.type))
    const need = thin ? d.used : d.size
    perSr[sr] = (perSr[sr] ?? 0) + need
    bytes += d.size
  }
  return { name: str(src.get('VM', vm)?.name_label) || vm, bytes, host, perSr }
}
