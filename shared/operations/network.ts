/**
 * Networking as XenCenter shows it and XAPI allows it, over any one pool's records (main's graph,
 * the renderer's scoped copy, or the offline cache): a VM's NICs (VIFs), a host's NICs (PIFs with
 * PIF_metrics, bonds, VLANs), a network's PIF on every host — and where a host has none, or has it
 * on another device (the per-host mismatch the Network view and the pool drift report show).
 *
 * `canRun` rules say, before the click, why XAPI would refuse: they follow xapi_vif_helpers.ml
 * (hot-plug), xapi_bond.ml and xapi_pif_helpers.ml (bonds), xapi_vlan.ml (VLANs) and
 * xapi_network.ml (network destroy). XAPI stays the authority; these only spare the user a refusal.
 * Pure code, both sides use it.
 */

export type Rec = Record<string, unknown>

/** the records of one pool, read only */
export interface NetGraph {
  get(cls: string, ref: string): Rec | undefined
  all(cls: string): ReadonlyMap<string, Rec>
}

/** true, or the reason it cannot run */
export type CanRun = true | string

export const NULL_REF = 'OpaqueRef:NULL'
export const BOND_MODES = ['balance-slb', 'active-backup', 'lacp'] as const
export type BondMode = (typeof BOND_MODES)[number]
export const LOCKING_MODES = ['network_default', 'locked', 'unlocked', 'disabled'] as const
export type LockingMode = (typeof LOCKING_MODES)[number]
/** XenCenter's limits for a new bond (BondDetails): two to four NICs */
export const BOND_MIN_MEMBERS = 2
export const BOND_MAX_MEMBERS = 4
/** VM.get_allowed_VIF_devices: 0–15 */
export const VIF_DEVICE_COUNT = 16
export const MTU_MIN = 1500
export const MTU_MAX = 9216

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : NaN)
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const map = (v: unknown): Record<string, string> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {}
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(v)) out[k] = String(x)
  return out
}
const isRef = (r: string): boolean => r.startsWith('OpaqueRef:') && r !== NULL_REF

function byName(a: { name: string }, b: { name: string }): number {
  return a.name.localeCompare(b.name, undefined, { numeric: true })
}

function deviceOrder(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true })
}

// ---------------------------------------------------------------------------------------------
// names

export function hostName(g: NetGraph, host: string): string {
  const h = g.get('host', host)
  return str(h?.name_label) || str(h?.hostname) || 'a server'
}

export function vmName(g: NetGraph, vm: string): string {
  return str(g.get('VM', vm)?.name_label) || 'the VM'
}

export function networkName(g: NetGraph, net: string): string {
  const n = g.get('network', net)
  return n ? str(n.name_label) || str(n.bridge) || 'a network' : 'a network that no longer exists'
}

/** XenCenter's NIC names: 'NIC 0' for eth0, 'Bond 2+3' for a bond master; a VLAN says its tag */
export function pifName(g: NetGraph, pif: string): string {
  const p = g.get('PIF', pif)
  if (!p) return 'a NIC'
  const bond = strs(p.bond_master_of)[0]
  if (bond) {
    const members = bondMembers(g, bond).map((m) => str(g.get('PIF', m)?.device).replace(/^eth/, ''))
    return `Bond ${members.sort(deviceOrder).join('+')}`
  }
  const vlan = num(p.VLAN)
  const dev = str(p.device)
  const base = /^eth\d+$/.test(dev) ? `NIC ${dev.slice(3)}` : dev
  if (vlan >= 0) {
    const tagged = str(g.get('VLAN', str(p.VLAN_master_of))?.tagged_PIF)
    return `VLAN ${vlan} on ${isRef(tagged) && g.get('PIF', tagged) ? pifName(g, tagged) : base}`
  }
  return base
}

// ---------------------------------------------------------------------------------------------
// networks shown and hidden (XenCenter's Network.Show / PIF.Show)

export function isGuestInstallerNetwork(net: Rec | undefined): boolean {
  return map(net?.other_config).is_guest_installer_network === 'true'
}

export function isSystemNetwork(net: Rec | undefined): boolean {
  return map(net?.other_config).is_host_internal_management_network === 'true'
}

function hiddenFlag(rec: Rec | undefined): boolean {
  return map(rec?.other_config).HideFromXenCenter === 'true'
}

/** a network whose PIF on some host is a bond member: XenCenter hides it (the bond network stands for it) */
export function isBondMemberNetwork(g: NetGraph, net: string): boolean {
  return strs(g.get('network', net)?.PIFs).some((p) => isRef(str(g.get('PIF', p)?.bond_slave_of)))
}

/**
 * Whether XenCenter shows a network: the guest installer network and networks with
 * other_config.HideFromXenCenter (or a hidden or unmanaged PIF) only with "show hidden objects";
 * bond members' networks never (their bond's network is shown instead).
 */
export function isNetworkShown(g: NetGraph, net: string, showHidden: boolean): boolean {
  const n = g.get('network', net)
  if (!n) return false
  if (isGuestInstallerNetwork(n) && !showHidden) return false
  for (const p of strs(n.PIFs)) {
    const pif = g.get('PIF', p)
    if (pif && (pif.managed === false || (hiddenFlag(pif) && !showHidden))) return false
  }
  if (showHidden) return true
  if (isBondMemberNetwork(g, net)) return false
  return !hiddenFlag(n)
}

/** the networks a VM's NIC can be put on, as XenCenter offers them */
export function selectableNetworks(g: NetGraph, showHidden = false): { ref: string; name: string; mtu: number }[] {
  const out: { ref: string; name: string; mtu: number }[] = []
  for (const [ref, n] of g.all('network')) {
    if (!isNetworkShown(g, ref, showHidden)) continue
    out.push({ ref, name: networkName(g, ref), mtu: num(n.MTU) || 1500 })
  }
  return out.sort(byName)
}

// ---------------------------------------------------------------------------------------------
// a VM's NICs

export interface VifRow {
  ref: string
  device: string
  MAC: string
  network: string
  networkName: string
  /** the network is hidden from XenCenter (or a bond member's): shown, but marked */
  networkHidden: boolean
  /** IPv4 first, then IPv6, from the guest agent */
  ips: string[]
  lockingMode: LockingMode
  /** network_default resolved through the network's default_locking_mode */
  effectiveLocking: 'locked' | 'unlocked' | 'disabled'
  ipv4Allowed: string[]
  ipv6Allowed: string[]
  /** kB/s when qos_algorithm_type is 'ratelimit', else undefined */
  rateLimitKbps: number | undefined
  MTU: number
  attached: boolean
  allowed: string[]
  busy: string[]
}

/** XAPI guest metrics 'networks' keys: '0/ip', '0/ipv4/0', '0/ipv6/1' */
export function vifIps(guestNetworks: Record<string, string>, device: string): string[] {
  const v4: [number, string][] = []
  const v6: [number, string][] = []
  let legacy = ''
  for (const [k, ip] of Object.entries(guestNetworks)) {
    const m = /^(\d+)\/(ip|ipv4|ipv6)(?:\/(\d+))?$/.exec(k)
    if (!m || m[1] !== device || !ip) continue
    if (m[2] === 'ip') legacy = ip
    else (m[2] === 'ipv4' ? v4 : v6).push([Number(m[3] ?? 0), ip])
  }
  const four = v4.sort((a, b) => a[0] - b[0]).map(([, ip]) => ip)
  if (legacy && !four.includes(legacy)) four.unshift(legacy)
  return [...four, ...v6.sort((a, b) => a[0] - b[0]).map(([, ip]) => ip)]
}

function vifsOfVm(g: NetGraph, vm: string): string[] {
  const listed = strs(g.get('VM', vm)?.VIFs)
  if (listed.length > 0) return listed.filter((v) => g.get('VIF', v))
  // a slimmed VM record carries no VIFs field: find them by their VM
  const out: string[] = []
  for (const [ref, v] of g.all('VIF')) if (v.VM === vm) out.push(ref)
  return out
}

export function vifRows(g: NetGraph, vm: string): VifRow[] {
  const v = g.get('VM', vm)
  if (!v) return []
  const gm = map(g.get('VM_guest_metrics', str(v.guest_metrics))?.networks)
  const rows: VifRow[] = []
  for (const ref of vifsOfVm(g, vm)) {
    const r = g.get('VIF', ref)
    if (!r) continue
    const network = str(r.network)
    const net = g.get('network', network)
    const mode = (LOCKING_MODES as readonly string[]).includes(str(r.locking_mode)) ? (str(r.locking_mode) as LockingMode) : 'network_default'
    const netDefault = str(net?.default_locking_mode) === 'disabled' ? 'disabled' : 'unlocked'
    const params = map(r.qos_algorithm_params)
    const kbps = num(params.kbps)
    rows.push({
      ref,
      device: str(r.device),
      MAC: str(r.MAC),
      network,
      networkName: networkName(g, network),
      networkHidden: net ? !isNetworkShown(g, network, false) : false,
      ips: vifIps(gm, str(r.device)),
      lockingMode: mode,
      effectiveLocking: mode === 'network_default' ? netDefault : mode,
      ipv4Allowed: strs(r.ipv4_allowed),
      ipv6Allowed: strs(r.ipv6_allowed),
      rateLimitKbps: str(r.qos_algorithm_type) === 'ratelimit' && Number.isFinite(kbps) ? kbps : undefined,
      MTU: num(r.MTU) || 1500,
      attached: r.currently_attached === true,
      allowed: strs(r.allowed_operations),
      busy: Object.values(map(r.current_operations)),
    })
  }
  return rows.sort((a, b) => deviceOrder(a.device, b.device))
}

/** the lowest device number free on the VM (VM.get_allowed_VIF_devices' first answer) */
export function freeVifDevice(g: NetGraph, vm: string): string | undefined {
  const used = new Set(vifsOfVm(g, vm).map((v) => str(g.get('VIF', v)?.device)))
  for (let i = 0; i < VIF_DEVICE_COUNT; i++) if (!used.has(String(i))) return String(i)
  return undefined
}

type PowerState = 'Halted' | 'Paused' | 'Running' | 'Suspended'
const power = (vm: Rec): PowerState => {
  const p = str(vm.power_state)
  return p === 'Running' || p === 'Paused' || p === 'Suspended' ? p : 'Halted'
}

/** can the VM's NICs be hot-plugged now (xapi_vif_helpers valid_operations for plug/unplug), or why not */
export function hotplugReason(g: NetGraph, vm: string): CanRun {
  const v = g.get('VM', vm)
  if (!v) return 'The VM is not loaded yet'
  const name = vmName(g, vm)
  if (power(v) !== 'Running') return `${name} is ${power(v).toLowerCase()}`
  const busy = Object.values(map(v.current_operations)).find((op) => ['clean_shutdown', 'hard_shutdown', 'suspend', 'pause'].includes(op))
  if (busy) return `${name} is busy: ${busy.replace(/_/g, ' ')} in progress`
  if ((str(v.domain_type) || 'hvm') === 'hvm') {
    const gm = g.get('VM_guest_metrics', str(v.guest_metrics))
    const hotplug = str(gm?.can_use_hotplug_vif)
    if (hotplug === 'no') return `${name} says it does not support NIC hot-plug`
    if (hotplug !== 'yes' && gm?.PV_drivers_detected !== true) return `${name} has no guest tools running, so its NICs cannot be changed while it runs`
  }
  return true
}

function vmChangeable(g: NetGraph, vm: string): CanRun {
  const v = g.get('VM', vm)
  if (!v) return 'The VM is not loaded yet'
  const name = vmName(g, vm)
  if (v.is_control_domain === true) return `${name} is a control domain; its network is the host's`
  if (v.is_a_snapshot === true) return `${name} is a snapshot: its NICs are kept as they were`
  return true
}

export function canAddVif(g: NetGraph, vm: string): CanRun {
  const ok = vmChangeable(g, vm)
  if (ok !== true) return ok
  if (freeVifDevice(g, vm) === undefined) return `${vmName(g, vm)} already has ${VIF_DEVICE_COUNT} NICs, the most XAPI allows`
  return true
}

/** a running VM needs to hot-plug a NIC for this change; a halted or suspended one does not */
function needsHotplug(g: NetGraph, vm: string, vif: Rec): boolean {
  const v = g.get('VM', vm)
  return !!v && (power(v) === 'Running' || power(v) === 'Paused') && vif.currently_attached === true
}

/** a NIC that can be changed now (it exists, its VM can be changed, nothing runs on it): its record and VM, else why not */
function changeableVif(g: NetGraph, vif: string): { r: Rec; vm: string } | string {
  const r = g.get('VIF', vif)
  if (!r) return 'The NIC no longer exists'
  const vm = str(r.VM)
  const ok = vmChangeable(g, vm)
  if (ok !== true) return ok
  return vifBusy(g, r) ?? { r, vm }
}

function vifBusy(g: NetGraph, vif: Rec): string | undefined {
  const ops = Object.values(map(vif.current_operations))
  return ops.length > 0 ? `The NIC is busy: ${ops.join(', ')} in progress` : undefined
}

/** remove: unplug first when attached to a running VM (XenCenter's DeleteVIFAction), then VIF.destroy */
export function canRemoveVif(g: NetGraph, vif: string): CanRun {
  const t = changeableVif(g, vif)
  if (typeof t === 'string') return t
  const { r, vm } = t
  if (needsHotplug(g, vm, r)) {
    if (power(g.get('VM', vm) ?? {}) === 'Paused') return `${vmName(g, vm)} is paused; unpause or shut it down to remove the NIC`
    const hp = hotplugReason(g, vm)
    if (hp !== true) return `${hp}; shut it down to remove the NIC`
  }
  return true
}

export function canPlugVif(g: NetGraph, vif: string): CanRun {
  return plugRule(g, vif, 'plug')
}

export function canUnplugVif(g: NetGraph, vif: string): CanRun {
  return plugRule(g, vif, 'unplug')
}

/** connect (plug) a NIC that is not connected, or disconnect (unplug) one that is: the VM must hot-plug, XAPI must allow it */
function plugRule(g: NetGraph, vif: string, op: 'plug' | 'unplug'): CanRun {
  const t = changeableVif(g, vif)
  if (typeof t === 'string') return t
  const attached = t.r.currently_attached === true
  if (op === 'plug' && attached) return 'The NIC is already connected'
  if (op === 'unplug' && !attached) return 'The NIC is not connected'
  const hp = hotplugReason(g, t.vm)
  if (hp !== true) return hp
  return strs(t.r.allowed_operations).includes(op) ? true : `XAPI does not allow ${op === 'plug' ? 'connecting' : 'disconnecting'} this NIC now`
}

/** does this host have a PIF on the network, or is the network internal (no PIFs anywhere) */
export function hostSeesNetwork(g: NetGraph, host: string, net: string): boolean {
  const pifs = strs(g.get('network', net)?.PIFs)
  if (pifs.length === 0) return true
  return pifs.some((p) => g.get('PIF', p)?.host === host)
}

/**
 * VIF.move: a running VM's NIC moves bridge live (HOST_CANNOT_ATTACH_NETWORK when its host has no
 * PIF there); a halted VM's NIC just changes network. Without a target it answers whether moving
 * is possible at all.
 */
export function canMoveVif(g: NetGraph, vif: string, target?: string): CanRun {
  const t = changeableVif(g, vif)
  if (typeof t === 'string') return t
  const { r, vm } = t
  if (target === undefined) return true
  if (!g.get('network', target)) return 'Choose a network'
  if (target === str(r.network)) return `The NIC is already on ${networkName(g, target)}`
  const v = g.get('VM', vm)
  const active = r.currently_attached === true && v !== undefined && power(v) !== 'Suspended' && power(v) !== 'Halted'
  if (active) {
    const host = str(v?.resident_on)
    if (!hostSeesNetwork(g, host, target)) return `${hostName(g, host)}, where ${vmName(g, vm)} runs, has no NIC on ${networkName(g, target)}`
  }
  return true
}

/** a new MAC means a new VIF (MAC is set at creation): the NIC is removed and re-created */
export function canChangeMac(g: NetGraph, vif: string, mac: string): CanRun {
  if (!isValidMac(mac)) return `${mac || 'An empty address'} is not a MAC address (six pairs of hex digits, like 02:16:3e:aa:bb:cc)`
  const r = g.get('VIF', vif)
  if (r && str(r.MAC).toLowerCase() === mac.toLowerCase()) return 'That is already the NIC’s MAC address'
  return canRemoveVif(g, vif)
}

export function isValidMac(mac: string): boolean {
  return /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)
}

/** a unicast address: the low bit of the first byte clear */
export function isUnicastMac(mac: string): boolean {
  return isValidMac(mac) && (parseInt(mac.slice(0, 2), 16) & 1) === 0
}

export function canEditVifSettings(g: NetGraph, vif: string): CanRun {
  const t = changeableVif(g, vif)
  return typeof t === 'string' ? t : true
}

export function isIpv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)
  return !!m && m.slice(1).every((x) => Number(x) <= 255)
}

export function isIpv6(s: string): boolean {
  if (!/^[0-9a-fA-F:]+$/.test(s) || !s.includes(':')) return false
  const halves = s.split('::')
  if (halves.length > 2) return false
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')))
  if (groups.some((x) => x.length === 0 || x.length > 4)) return false
  return halves.length === 2 ? groups.length < 8 : groups.length === 8
}

// ---------------------------------------------------------------------------------------------
// a host's NICs

export type LinkState = 'connected' | 'disconnected' | 'unknown'

/** what a row of a host's NICs, bonds or VLANs says of its interface (PIF): network, management, attached */
export interface PifState {
  network: string
  networkName: string
  management: boolean
  attached: boolean
}

export interface PifRow extends PifState {
  ref: string
  /** 'NIC 0', 'Bond 2+3' */
  name: string
  device: string
  MAC: string
  link: LinkState
  /** Mbit/s, undefined when unknown */
  speed: number | undefined
  duplex: 'full' | 'half' | undefined
  vendor: string
  deviceName: string
  pciBusPath: string
  /** IP or DHCP / none */
  ip: string
  /** the bond this NIC is a member of, by its name */
  bondMemberOf: string | undefined
  isBond: boolean
  MTU: number
}

function linkOf(metrics: Rec | undefined): LinkState {
  if (!metrics) return 'unknown'
  return metrics.carrier === true ? 'connected' : 'disconnected'
}

/** the host's PIFs with their records (the rows of its NICs, bonds and VLANs come from these) */
function hostPifs(g: NetGraph, host: string): [string, Rec][] {
  const listed = strs(g.get('host', host)?.PIFs).flatMap((ref): [string, Rec][] => {
    const p = g.get('PIF', ref)
    return p ? [[ref, p]] : []
  })
  if (listed.length > 0) return listed
  return [...g.all('PIF')].filter(([, p]) => p.host === host)
}

function pifState(g: NetGraph, p: Rec): PifState {
  const network = str(p.network)
  return { network, networkName: networkName(g, network), management: p.management === true, attached: p.currently_attached === true }
}

function ipText(p: Rec): string {
  if (str(p.IP)) return str(p.IP)
  const mode = str(p.ip_configuration_mode)
  return mode === 'DHCP' ? 'DHCP' : ''
}

/** XenCenter's NICs tab: the physical NICs and the bond interfaces (VLAN and tunnel PIFs are not NICs) */
export function nicRows(g: NetGraph, host: string): PifRow[] {
  const rows: PifRow[] = []
  for (const [ref, p] of hostPifs(g, host)) {
    if (num(p.VLAN) >= 0 || p.managed === false) continue
    const isBond = strs(p.bond_master_of).length > 0
    if (!isBond && p.physical !== true) continue
    const m = g.get('PIF_metrics', str(p.metrics))
    const speed = num(m?.speed)
    const slaveOf = str(p.bond_slave_of)
    const bondMaster = isRef(slaveOf) ? str(g.get('Bond', slaveOf)?.master) : ''
    rows.push({
      ref,
      name: pifName(g, ref),
      device: str(p.device),
      MAC: str(p.MAC),
      link: linkOf(m),
      speed: m && Number.isFinite(speed) && speed > 0 ? speed : undefined,
      duplex: m ? (m.duplex === true ? 'full' : m.carrier === true ? 'half' : undefined) : undefined,
      vendor: str(m?.vendor_name),
      deviceName: str(m?.device_name),
      pciBusPath: str(m?.pci_bus_path),
      ...pifState(g, p),
      ip: ipText(p),
      bondMemberOf: bondMaster && g.get('PIF', bondMaster) ? pifName(g, bondMaster) : undefined,
      isBond,
      MTU: num(p.MTU) || 1500,
    })
  }
  return rows.sort((a, b) => Number(a.isBond) - Number(b.isBond) || deviceOrder(a.device, b.device))
}

export function bondMembers(g: NetGraph, bond: string): string[] {
  const listed = strs(g.get('Bond', bond)?.slaves).filter((p) => g.get('PIF', p))
  if (listed.length > 0) return listed
  const out: string[] = []
  for (const [ref, p] of g.all('PIF')) if (p.bond_slave_of === bond) out.push(ref)
  return out
}

export interface BondRow extends PifState {
  ref: string
  master: string
  name: string
  device: string
  mode: BondMode | string
  properties: Record<string, string>
  members: { ref: string; name: string; link: LinkState; speed: number | undefined }[]
  primary: string | undefined
  /**
   * the members carrying traffic: in active-backup the primary when its link is up, else the first
   * member with a link (what OVS does with bond-primary); in balance-slb and lacp every member with a link
   */
  active: string[]
  linksUp: number
  MTU: number
}

export function bondRows(g: NetGraph, host: string): BondRow[] {
  const rows: BondRow[] = []
  for (const [ref, p] of hostPifs(g, host)) {
    const bond = strs(p.bond_master_of)[0]
    if (!bond) continue
    const b = g.get('Bond', bond)
    if (!b) continue
    const members = bondMembers(g, bond)
      .map((m) => {
        const mp = g.get('PIF', m)
        const metrics = g.get('PIF_metrics', str(mp?.metrics))
        const speed = num(metrics?.speed)
        return { ref: m, name: pifName(g, m), link: linkOf(metrics), speed: Number.isFinite(speed) && speed > 0 ? speed : undefined, device: str(mp?.device) }
      })
      .sort((x, y) => deviceOrder(x.device, y.device))
    const mode = str(b.mode)
    const up = members.filter((m) => m.link === 'connected').map((m) => m.ref)
    const primary = isRef(str(b.primary_slave)) ? str(b.primary_slave) : undefined
    const active = mode === 'active-backup' ? (primary && up.includes(primary) ? [primary] : up.slice(0, 1)) : up
    const linksUp = num(b.links_up)
    rows.push({
      ref: bond,
      master: ref,
      name: pifName(g, ref),
      device: str(p.device),
      ...pifState(g, p),
      mode,
      properties: map(b.properties),
      members: members.map(({ device: _d, ...m }) => m),
      primary,
      active,
      linksUp: Number.isFinite(linksUp) ? linksUp : up.length,
      MTU: num(p.MTU) || 1500,
    })
  }
  return rows.sort((a, b) => deviceOrder(a.device, b.device))
}

export interface VlanRow extends PifState {
  ref: string
  tag: number
  /** the untagged PIF (the VLAN's interface on this host) */
  pif: string
  on: string
  onName: string
  ip: string
}

export function vlanRows(g: NetGraph, host: string): VlanRow[] {
  const rows: VlanRow[] = []
  for (const [ref, p] of hostPifs(g, host)) {
    if (num(p.VLAN) < 0) continue
    const vlan = str(p.VLAN_master_of)
    const v = g.get('VLAN', vlan)
    const tagged = str(v?.tagged_PIF)
    rows.push({
      ref: vlan,
      tag: num(p.VLAN),
      pif: ref,
      on: tagged,
      onName: isRef(tagged) && g.get('PIF', tagged) ? pifName(g, tagged) : str(p.device),
      ...pifState(g, p),
      ip: ipText(p),
    })
  }
  return rows.sort((a, b) => a.tag - b.tag || deviceOrder(a.onName, b.onName))
}

// ---------------------------------------------------------------------------------------------
// a network across the pool's hosts

export interface NetworkOnHost {
  host: string
  hostName: string
  /** the host's PIF on this network, if any */
  pif: string | undefined
  /** 'eth1', 'bond0', … */
  device: string | undefined
  /** 'NIC 1', 'Bond 2+3', 'VLAN 20 on NIC 1' */
  nicName: string | undefined
  vlan: number | undefined
  attached: boolean
  link: LinkState | undefined
  management: boolean
}

export function poolHosts(g: NetGraph): string[] {
  return [...g.all('host').keys()].sort((a, b) => hostName(g, a).localeCompare(hostName(g, b), undefined, { numeric: true }))
}

/** where the network is on each host of the pool (an internal network is on none, and that is no mismatch) */
export function networkAcrossHosts(g: NetGraph, net: string): NetworkOnHost[] {
  const byHost = new Map<string, string>()
  for (const p of strs(g.get('network', net)?.PIFs)) {
    const rec = g.get('PIF', p)
    if (rec) byHost.set(str(rec.host), p)
  }
  return poolHosts(g).map((host) => {
    const pif = byHost.get(host)
    const p = pif ? g.get('PIF', pif) : undefined
    const vlan = p ? num(p.VLAN) : NaN
    return {
      host,
      hostName: hostName(g, host),
      pif,
      device: p ? str(p.device) : undefined,
      nicName: pif ? pifName(g, pif) : undefined,
      vlan: Number.isFinite(vlan) && vlan >= 0 ? vlan : undefined,
      attached: p?.currently_attached === true,
      link: p ? linkOf(g.get('PIF_metrics', str(p.metrics))) : undefined,
      management: p?.management === true,
    }
  })
}

export interface NetworkMismatch {
  network: string
  networkName: string
  /** hosts with no PIF on a network other hosts reach through a NIC */
  missingOn: { host: string; hostName: string }[]
  /** the network rides on different devices (or VLAN tags) on different hosts: device → hosts */
  devices: { device: string; vlan: number | undefined; hosts: { host: string; hostName: string }[] }[]
}

/**
 * Per network, where the pool's hosts disagree (xcp-ng/xcp 525, XO 4759): hosts with no PIF on a
 * network that others have, and networks carried by different devices on different hosts. Networks
 * without PIFs (internal, private) are everyone's alike and never listed. Bond members' networks
 * are skipped: their bond's network speaks for them.
 */
export function networkMismatches(g: NetGraph): NetworkMismatch[] {
  const out: NetworkMismatch[] = []
  if (g.all('host').size < 2) return out
  for (const [net] of g.all('network')) {
    if (strs(g.get('network', net)?.PIFs).length === 0 || isBondMemberNetwork(g, net)) continue
    const across = networkAcrossHosts(g, net)
    const missingOn = across.filter((h) => !h.pif).map((h) => ({ host: h.host, hostName: h.hostName }))
    const devices = new Map<string, NetworkMismatch['devices'][number]>()
    for (const h of across) {
      if (!h.pif || h.device === undefined) continue
      const key = `${h.device}|${h.vlan ?? ''}`
      const d = devices.get(key) ?? { device: h.device, vlan: h.vlan, hosts: [] }
      d.hosts.push({ host: h.host, hostName: h.hostName })
      devices.set(key, d)
    }
    if (missingOn.length === 0 && devices.size <= 1) continue
    out.push({ network: net, networkName: networkName(g, net), missingOn, devices: [...devices.values()].sort((a, b) => b.hosts.length - a.hosts.length || deviceOrder(a.device, b.device)) })
  }
  return out.sort((a, b) => a.networkName.localeCompare(b.networkName, undefined, { numeric: true }))
}

/** a sentence per mismatch, for the Network view and reports */
export function describeMismatch(m: NetworkMismatch): string {
  const parts: string[] = []
  if (m.devices.length > 1) {
    const how = m.devices.map((d) => `${d.vlan !== undefined ? `VLAN ${d.vlan} on ` : ''}${d.device} on ${d.hosts.map((h) => h.hostName).join(', ')}`)
    parts.push(`carried by ${how.join('; ')}`)
  }
  if (m.missingOn.length > 0) parts.push(`missing on ${m.missingOn.map((h) => h.hostName).join(', ')}`)
  return `${m.networkName}: ${parts.join('; ')}`
}

// ---------------------------------------------------------------------------------------------
// bonds, VLANs, networks: what XAPI would refuse

function hostLive(g: NetGraph, host: string): boolean {
  const h = g.get('host', host)
  return g.get('host_metrics', str(h?.metrics))?.live !== false
}

export function canScanPifs(g: NetGraph, host: string): CanRun {
  const h = g.get('host', host)
  if (!h) return 'The server is not loaded yet'
  if (!hostLive(g, host)) return `${hostName(g, host)} is not reachable`
  return true
}

function haEnabled(g: NetGraph): boolean {
  for (const [, p] of g.all('pool')) if (p.ha_enabled === true) return true
  return false
}

/** NICs of a host that can join a new bond, with the reason for those that cannot */
export function bondCandidates(g: NetGraph, host: string): { ref: string; name: string; reason: CanRun }[] {
  return nicRows(g, host)
    .filter((r) => !r.isBond)
    .map((r) => ({ ref: r.ref, name: r.name, reason: canBondPif(g, r.ref) }))
}

/** Xapi_pif_helpers.bond_is_allowed_on_pif and Xapi_bond.create's per-member checks */
export function canBondPif(g: NetGraph, pif: string): CanRun {
  const p = g.get('PIF', pif)
  if (!p) return 'The NIC no longer exists'
  const name = pifName(g, pif)
  if (p.managed === false) return `${name} is not managed by XAPI`
  if (isRef(str(p.bond_slave_of))) return `${name} is already in a bond`
  if (num(p.VLAN) >= 0) return `${name} is a VLAN`
  if (strs(p.tunnel_access_PIF_of).length > 0) return `${name} is a tunnel interface`
  if (haEnabled(g) && p.management === true) return `${name} is the management interface and HA is on: turn HA off to bond it`
  return true
}

export function canCreateBond(g: NetGraph, members: readonly string[], mode: string): CanRun {
  if (!(BOND_MODES as readonly string[]).includes(mode)) return `Choose a bond mode (${BOND_MODES.join(', ')})`
  const uniq = [...new Set(members)]
  if (uniq.length < BOND_MIN_MEMBERS) return `Choose at least ${BOND_MIN_MEMBERS} NICs`
  if (uniq.length > BOND_MAX_MEMBERS) return `A bond takes at most ${BOND_MAX_MEMBERS} NICs`
  for (const m of uniq) {
    const ok = canBondPif(g, m)
    if (ok !== true) return ok
  }
  const recs = uniq.map((m) => g.get('PIF', m) ?? {})
  if (new Set(recs.map((p) => str(p.host))).size > 1) return 'All NICs of a bond must be on the same server'
  const withIp = recs.filter((p) => str(p.ip_configuration_mode) !== 'None' && str(p.ip_configuration_mode) !== '')
  if (withIp.length > 1) return 'Only one NIC of a bond may have an IP address (XAPI: PIF_BOND_MORE_THAN_ONE_IP)'
  const props = recs.map((p) => JSON.stringify(Object.entries(map(p.properties)).sort()))
  if (new Set(props).size > 1) return 'These NICs have different properties (such as GRO) and cannot be bonded'
  return true
}

/** the management interface is among the members: the bond takes it over, the connection may drop briefly */
export function bondTakesManagement(g: NetGraph, members: readonly string[]): boolean {
  return members.some((m) => g.get('PIF', m)?.management === true)
}

export function canDestroyBond(g: NetGraph, bond: string): CanRun {
  const b = g.get('Bond', bond)
  if (!b) return 'The bond no longer exists'
  const master = g.get('PIF', str(b.master))
  if (haEnabled(g) && master?.management === true) return 'The bond carries the management interface and HA is on: turn HA off to delete it'
  return true
}

export function vlanTagReason(tag: number): CanRun {
  if (!Number.isInteger(tag)) return 'A VLAN tag is a whole number from 0 to 4094'
  if (tag < 0 || tag > 4094) return `${tag} is not a VLAN tag: it must be between 0 and 4094`
  return true
}

/** Xapi_pif_helpers.vlan_is_allowed_on_pif and VLAN.create's checks for one PIF */
export function canVlanOnPif(g: NetGraph, pif: string, tag: number): CanRun {
  const p = g.get('PIF', pif)
  if (!p) return 'The NIC no longer exists'
  const name = pifName(g, pif)
  if (p.managed === false) return `${name} is not managed by XAPI`
  if (isRef(str(p.bond_slave_of))) return `${name} is a bond member: put the VLAN on the bond`
  if (num(p.VLAN) >= 0) return `${name} is already a VLAN: put the VLAN on the NIC under it`
  if (strs(p.tunnel_access_PIF_of).length > 0) return `${name} is a tunnel interface`
  const t = vlanTagReason(tag)
  if (t !== true) return t
  for (const v of strs(p.VLAN_slave_of)) if (num(g.get('VLAN', v)?.tag) === tag) return `${name} already has VLAN ${tag}`
  return true
}

/**
 * pool.create_VLAN_from_PIF: the VLAN goes on every host whose PIF is on the same network as the
 * chosen one. Which hosts get it, and which do not (their NIC is on another network or missing).
 */
export function vlanPlan(g: NetGraph, pif: string, tag: number): { on: { host: string; hostName: string; pif: string; reason: CanRun }[]; notOn: { host: string; hostName: string }[] } {
  const p = g.get('PIF', pif)
  const net = str(p?.network)
  const across = networkAcrossHosts(g, net)
  const on = across
    .filter((h) => h.pif !== undefined && hostLive(g, h.host))
    .map((h) => ({ host: h.host, hostName: h.hostName, pif: h.pif ?? '', reason: canVlanOnPif(g, h.pif ?? '', tag) }))
  const notOn = across.filter((h) => h.pif === undefined || !hostLive(g, h.host)).map((h) => ({ host: h.host, hostName: h.hostName }))
  return { on, notOn }
}

export function canCreateVlan(g: NetGraph, pif: string, tag: number): CanRun {
  const plan = vlanPlan(g, pif, tag)
  if (plan.on.length === 0) return 'No server can take this VLAN'
  const refused = plan.on.find((x) => x.reason !== true)
  if (refused) return plan.on.length > 1 ? `${refused.hostName}: ${String(refused.reason)}` : refused.reason
  return true
}

/** VLAN.destroy on one host: not the management interface, no running VM using it there */
export function canDestroyVlanPif(g: NetGraph, untagged: string): CanRun {
  const p = g.get('PIF', untagged)
  if (!p) return 'The VLAN no longer exists'
  const name = pifName(g, untagged)
  if (p.management === true) return `${name} is the management interface of ${hostName(g, str(p.host))}; move management elsewhere first`
  if (p.disallow_unplug === true) return `${name} is set to never be unplugged (disallow_unplug)`
  if (haEnabled(g) && p.currently_attached === true) return 'HA is on: turn it off to change this server’s networking'
  const host = str(p.host)
  const users = runningVmsOn(g, str(p.network), host)
  if (users.length > 0) return `${users.slice(0, 3).join(', ')}${users.length > 3 ? ` and ${users.length - 3} more` : ''} ${users.length === 1 ? 'uses' : 'use'} it on ${hostName(g, host)}`
  return true
}

/** names of running VMs with a connected NIC on the network, resident on `host` (any host when omitted) */
export function runningVmsOn(g: NetGraph, net: string, host?: string): string[] {
  const out: string[] = []
  for (const v of strs(g.get('network', net)?.VIFs)) {
    const vif = g.get('VIF', v)
    if (vif?.currently_attached !== true) continue
    const vm = g.get('VM', str(vif.VM))
    if (!vm || (power(vm) !== 'Running' && power(vm) !== 'Paused')) continue
    if (host !== undefined && vm.resident_on !== host) continue
    out.push(vmName(g, str(vif.VM)))
  }
  return out
}

export interface NetworkRemovalPlan {
  /** the network's bonds and VLANs go first (XenCenter's NetworkAction) */
  bonds: string[]
  vlans: string[]
  /** idle VIFs XAPI destroys with the network */
  vifs: string[]
}

/** what removing a network takes with it, or why it cannot go */
export function networkRemoval(g: NetGraph, net: string): { ok: true; plan: NetworkRemovalPlan } | { ok: false; reason: string } {
  const n = g.get('network', net)
  if (!n) return { ok: false, reason: 'The network no longer exists' }
  const name = networkName(g, net)
  if (isSystemNetwork(n)) return { ok: false, reason: `${name} is a system network and cannot be removed` }
  const users = runningVmsOn(g, net)
  if (users.length > 0) return { ok: false, reason: `${users.slice(0, 3).join(', ')}${users.length > 3 ? ` and ${users.length - 3} more` : ''} ${users.length === 1 ? 'is' : 'are'} connected to ${name}: disconnect or move their NICs first` }
  const plan: NetworkRemovalPlan = { bonds: [], vlans: [], vifs: strs(n.VIFs).filter((v) => g.get('VIF', v)) }
  for (const p of strs(n.PIFs)) {
    const pif = g.get('PIF', p)
    if (!pif) continue
    const bond = strs(pif.bond_master_of)[0]
    if (bond) {
      const ok = canDestroyBond(g, bond)
      if (ok !== true) return { ok: false, reason: ok }
      plan.bonds.push(bond)
    } else if (num(pif.VLAN) >= 0) {
      const ok = canDestroyVlanPif(g, p)
      if (ok !== true) return { ok: false, reason: ok }
      plan.vlans.push(str(pif.VLAN_master_of))
    } else return { ok: false, reason: `${name} is the network of a physical NIC (${pifName(g, p)} on ${hostName(g, str(pif.host))}) and cannot be removed` }
  }
  return { ok: true, plan }
}

export function canRemoveNetwork(g: NetGraph, net: string): CanRun {
  const r = networkRemoval(g, net)
  return r.ok ? true : r.reason
}

export function mtuReason(mtu: number): CanRun {
  if (!Number.isInteger(mtu) || mtu < MTU_MIN || mtu > MTU_MAX) return `The MTU must be a whole number from ${MTU_MIN} to ${MTU_MAX}`
  return true
}
