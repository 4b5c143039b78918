/**
 * The General tab's content for each kind of object, as data (sections of label/value rows), so the
 * fields admins look for are specified and tested without a DOM.
 */
import type { ConnectionState } from '../../../shared/contract/connection'
import { connectionBadge } from './connection'
import { bytes, dateTime, duration, parseTime, percent } from './format'
import { guestIps, type PoolObjects, type Rec } from './objects'
import { isPlainVm } from './tree/build'
import { domainType } from '../../../shared/operations/vm'

export interface Field {
  label: string
  value: string
  /** shown as a list of chips (tags, IPs) */
  list?: string[]
  tone?: 'ok' | 'warning' | 'error'
  /** a live-only value shown from an offline pool's last update: frozen at that time (issue 15) */
  frozen?: boolean
}
export interface Section {
  title: string
  fields: Field[]
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : NaN)
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {})
const yesNo = (b: unknown): string => (b === true ? 'Yes' : b === false ? 'No' : '—')
const or = (s: string): string => (s === '' ? '—' : s)

function common(rec: Rec): Field[] {
  const out: Field[] = [{ label: 'Name', value: or(str(rec.name_label)) }]
  if (str(rec.name_description)) out.push({ label: 'Description', value: str(rec.name_description) })
  const tags = strs(rec.tags)
  out.push({ label: 'Tags', value: tags.length ? tags.join(', ') : '—', list: tags.length ? tags : undefined })
  const folder = str(obj(rec.other_config).folder)
  if (folder) out.push({ label: 'Folder', value: folder })
  out.push({ label: 'UUID', value: or(str(rec.uuid)) })
  return out
}

function hostName(p: PoolObjects, ref: unknown): string {
  return str(p.get('host', ref)?.name_label)
}

const DOMAIN_TYPE_TEXT: Readonly<Record<string, string>> = { hvm: 'HVM', pv: 'PV', pvh: 'PVH', pv_in_pvh: 'PV in PVH' }

/**
 * the guest's OS as its tools report it; Windows tools append the system folder and boot partition
 * after '|' ("…2016 Standard|C:\Windows|\Device\Harddisk0\Partition2"): the name is the part before
 */
export function osName(osVersion: unknown): string {
  const v = obj(osVersion)
  return str(v.name).split('|')[0]?.trim() || str(v.distro)
}

export function vmSections(p: PoolObjects, rec: Rec, now: number): Section[] {
  const metrics = p.get('VM_metrics', rec.metrics)
  const gm = p.get('VM_guest_metrics', rec.guest_metrics)
  const running = rec.power_state === 'Running' || rec.power_state === 'Paused'
  const start = parseTime(metrics?.start_time)
  const os = osName(gm?.os_version)
  const ips = guestIps(gm)
  const memActual = num(metrics?.memory_actual)
  const ops = Object.values(obj(rec.current_operations)).filter((v): v is string => typeof v === 'string')
  const general: Field[] = [
    ...common(rec),
    { label: 'Power state', value: str(rec.power_state) || '—', tone: rec.power_state === 'Running' ? 'ok' : undefined },
  ]
  if (ops.length) general.push({ label: 'In progress', value: ops.join(', '), tone: 'warning' })
  general.push(
    { label: 'Home server', value: running ? or(hostName(p, rec.resident_on)) : or(hostName(p, rec.affinity)) },
    { label: 'Operating system', value: os || (running ? 'Unknown (no guest tools)' : '—') },
    { label: 'IP addresses', value: ips.length ? ips.join(', ') : '—', list: ips.length ? ips : undefined },
    { label: 'Uptime', value: running && !Number.isNaN(start) ? duration(now - start) : '—' },
  )
  const vcpus = num(metrics?.VCPUs_number)
  const hw: Field[] = [
    { label: 'vCPUs', value: `${running && !Number.isNaN(vcpus) ? vcpus : num(rec.VCPUs_at_startup)}${num(rec.VCPUs_max) > num(rec.VCPUs_at_startup) ? ` (max ${num(rec.VCPUs_max)})` : ''}` },
    {
      label: 'Memory',
      value:
        running && !Number.isNaN(memActual)
          ? `${bytes(memActual)} (dynamic ${bytes(rec.memory_dynamic_min)} – ${bytes(rec.memory_dynamic_max)})`
          : `${bytes(rec.memory_dynamic_max)} (static max ${bytes(rec.memory_static_max)})`,
    },
    { label: 'Virtualization mode', value: DOMAIN_TYPE_TEXT[domainType(rec) ?? ''] ?? '—' },
  ]
  if (str(rec.ha_restart_priority)) hw.push({ label: 'HA restart priority', value: str(rec.ha_restart_priority) })
  return [
    { title: 'General', fields: general },
    { title: 'Resources', fields: hw },
  ]
}

export function hostSections(p: PoolObjects, ref: string, rec: Rec, now: number): Section[] {
  const cpu = obj(rec.cpu_info)
  const sw = obj(rec.software_version)
  const metrics = p.get('host_metrics', rec.metrics)
  const total = num(metrics?.memory_total)
  // host_metrics.memory_free is deprecated; when absent, count what runs here (dom0 included) plus overhead
  let free = num(metrics?.memory_free)
  if (Number.isNaN(free) && !Number.isNaN(total)) {
    let used = num(rec.memory_overhead) || 0
    for (const vmRef of p.index('residentOn').get(ref)) {
      const vm = p.get('VM', vmRef)
      const m = p.get('VM_metrics', vm?.metrics)
      used += (num(m?.memory_actual) || num(vm?.memory_dynamic_max) || 0) + (num(vm?.memory_overhead) || 0)
    }
    free = total - used
  }
  const used = total - free
  const sockets = num(Number(cpu.socket_count))
  const threads = num(Number(cpu.cpu_count))
  const threadsPerCore = num(Number(cpu.threads_per_core))
  const coresPerSocket = num(Number(cpu.cores_per_socket))
  let cores = !Number.isNaN(coresPerSocket) && !Number.isNaN(sockets) ? coresPerSocket * sockets : NaN
  if (Number.isNaN(cores) && !Number.isNaN(threads)) cores = Number.isNaN(threadsPerCore) ? threads : threads / threadsPerCore
  const bootTime = Number(obj(rec.other_config).boot_time)
  const pool = p.pool()
  const isMaster = pool?.rec.master === ref
  const live = metrics?.live
  const vms = [...p.index('residentOn').get(ref)].filter((r) => {
    const vm = p.get('VM', r)
    return vm ? isPlainVm(vm) : false
  }).length
  const general: Field[] = [
    ...common(rec),
    { label: 'Address', value: or(str(rec.address)) },
    { label: 'Role', value: isMaster ? 'Pool master' : 'Pool member' },
    { label: 'State', value: live === false ? 'Not reachable' : rec.enabled === false ? 'Maintenance mode (disabled)' : 'Enabled', tone: live === false ? 'error' : rec.enabled === false ? 'warning' : 'ok' },
    { label: 'Uptime', value: Number.isFinite(bootTime) && bootTime > 0 ? duration(now - bootTime * 1000) : '—' },
    { label: 'Running VMs', value: String(vms) },
  ]
  const cpus: Field[] = [
    { label: 'CPU model', value: or(str(cpu.modelname)) },
    { label: 'Sockets', value: Number.isNaN(sockets) ? '—' : String(sockets) },
    { label: 'Cores', value: Number.isNaN(cores) ? '—' : String(cores) },
    { label: 'Threads', value: Number.isNaN(threads) ? '—' : String(threads) },
    {
      label: 'Memory',
      value: Number.isNaN(total) ? '—' : `${bytes(used)} used of ${bytes(total)} (${percent(used, total)})`,
    },
  ]
  const versions: Field[] = [
    { label: 'Product', value: [str(sw.product_brand), str(sw.product_version) || str(sw.platform_version)].filter(Boolean).join(' ') || '—' },
    { label: 'XAPI version', value: or(str(sw.xapi)) },
    { label: 'Build', value: or(str(sw.build_number)) },
  ]
  return [
    { title: 'General', fields: general },
    { title: 'CPU and memory', fields: cpus },
    { title: 'Version', fields: versions },
  ]
}

export function poolSections(p: PoolObjects, rec: Rec, conn: ConnectionState | undefined, now = Date.now()): Section[] {
  let vms = 0
  let running = 0
  for (const vm of p.all('VM').values()) {
    if (!isPlainVm(vm)) continue
    vms++
    if (vm.power_state === 'Running') running++
  }
  const hosts = p.all('host').size
  const defaultSr = str(p.get('SR', rec.default_SR)?.name_label)
  const general: Field[] = [
    ...common(rec),
    { label: 'Master', value: or(hostName(p, rec.master)) },
    { label: 'Servers', value: String(hosts) },
    { label: 'VMs', value: `${vms} (${running} running)` },
    { label: 'High availability', value: rec.ha_enabled === true ? `Enabled (tolerates ${num(rec.ha_host_failures_to_tolerate)} host failures)` : 'Disabled' },
    { label: 'Default SR', value: or(defaultSr) },
  ]
  return [{ title: 'General', fields: general }, ...(conn ? connectionSections(conn, now) : [])]
}

export function srSections(p: PoolObjects, rec: Rec): Section[] {
  const size = num(rec.physical_size)
  const used = num(rec.physical_utilisation)
  const pbds = strs(rec.PBDs).map((r) => p.get('PBD', r))
  const attached = pbds.filter((b) => b?.currently_attached === true).length
  const hosts = pbds.map((b) => hostName(p, b?.host)).filter(Boolean)
  return [
    {
      title: 'General',
      fields: [
        ...common(rec),
        { label: 'Type', value: or(str(rec.type)) },
        { label: 'Content type', value: or(str(rec.content_type)) },
        { label: 'Shared', value: yesNo(rec.shared) },
        { label: 'Size', value: bytes(size) },
        { label: 'Used', value: Number.isNaN(used) ? '—' : `${bytes(used)} (${percent(used, size)})` },
        { label: 'Allocated', value: bytes(rec.virtual_allocation) },
        { label: 'Attached to', value: hosts.length ? hosts.join(', ') : 'No server', tone: attached < pbds.length || pbds.length === 0 ? 'warning' : undefined },
      ],
    },
  ]
}

export function networkSections(p: PoolObjects, rec: Rec): Section[] {
  const pifs = strs(rec.PIFs).map((r) => p.get('PIF', r))
  const nics = pifs.map((x) => str(x?.device)).filter(Boolean)
  return [
    {
      title: 'General',
      fields: [
        ...common(rec),
        { label: 'Bridge', value: or(str(rec.bridge)) },
        { label: 'MTU', value: Number.isNaN(num(rec.MTU)) ? '—' : String(num(rec.MTU)) },
        { label: 'Managed', value: yesNo(rec.managed) },
        { label: 'NICs', value: nics.length ? [...new Set(nics)].join(', ') : 'None (internal network)' },
        { label: 'VIFs', value: String(strs(rec.VIFs).length) },
      ],
    },
  ]
}

export function connectionSections(c: ConnectionState, now = Date.now()): Section[] {
  // the status in words (connectionBadge is the one place a status becomes text), never its code
  const badge = connectionBadge(c, now)
  const fields: Field[] = [
    { label: 'Address', value: c.address },
    { label: 'User name', value: c.username },
    { label: 'Status', value: badge?.text ?? 'Connected', tone: badge === null ? 'ok' : badge.tone === 'error' ? 'error' : 'warning' },
  ]
  if (c.detail && !badge?.text.includes(c.detail)) fields.push({ label: 'Detail', value: c.detail })
  if (c.masterAddress) fields.push({ label: 'Master address', value: c.masterAddress })
  if (c.transport) fields.push({ label: 'Protocol', value: c.transport === 'json-rpc' ? 'JSON-RPC' : 'XML-RPC' })
  if (c.xapiVersion) fields.push({ label: 'API version', value: c.xapiVersion })
  if (c.lastEventAt) fields.push({ label: 'Last event', value: dateTime(c.lastEventAt) })
  if (c.cachedAt && c.status !== 'connected') fields.push({ label: 'Showing cache from', value: dateTime(c.cachedAt) })
  // saved = in the keychain and accepted by the pool; a typed one not yet accepted is only in memory
  fields.push({ label: 'Password saved', value: c.passwordStored === true ? 'Yes' : c.hasPassword ? 'No (kept for this session only)' : 'No' })
  return [{ title: 'Connection', fields }]
}

/** values that only mean something while the pool answers: frozen and marked when it does not */
const LIVE_ONLY = new Set(['Power state', 'In progress', 'Uptime', 'Memory', 'vCPUs', 'IP addresses', 'Operating system', 'State', 'Running VMs', 'Attached to', 'Used', 'VMs'])

/** the sections of an offline pool's object: live-only values marked frozen, no "healthy" colour */
export function freezeSections(sections: Section[]): Section[] {
  return sections.map((s) =>
    s.title === 'Connection'
      ? s
      : { ...s, fields: s.fields.map((f) => (LIVE_ONLY.has(f.label) && f.value !== '—' ? { label: f.label, value: f.value, ...(f.list ? { list: f.list } : {}), frozen: true } : f)) },
  )
}

/**
 * The General tab for any object; null when the object is not (or no longer) in the graph.
 * `asOf` (epoch ms): the pool is not connected and its data is from then — uptimes stop there and
 * live-only values are marked.
 */
export function generalSections(p: PoolObjects | undefined, cls: string | undefined, ref: string | undefined, conn: ConnectionState | undefined, now: number, asOf?: number): Section[] | null {
  if (asOf === undefined) return liveSections(p, cls, ref, conn, now, now)
  const s = liveSections(p, cls, ref, conn, asOf, now)
  return s ? freezeSections(s) : s
}

/** `now`: the time the object's values are as of; `clock`: the real time (the connection's own status) */
function liveSections(p: PoolObjects | undefined, cls: string | undefined, ref: string | undefined, conn: ConnectionState | undefined, now: number, clock: number): Section[] | null {
  if (!p || !cls || !ref) return conn ? connectionSections(conn, clock) : null
  const rec = p.tables.get(cls)?.get(ref)
  if (!rec) return conn ? connectionSections(conn, clock) : null
  switch (cls) {
    case 'VM':
      return vmSections(p, rec, now)
    case 'host': {
      const s = hostSections(p, ref, rec, now)
      return conn ? [...s, ...connectionSections(conn, clock)] : s
    }
    case 'pool':
      return poolSections(p, rec, conn, clock)
    case 'SR':
      return srSections(p, rec)
    case 'network':
      return networkSections(p, rec)
    default:
      return [{ title: 'General', fields: common(rec) }]
  }
}

