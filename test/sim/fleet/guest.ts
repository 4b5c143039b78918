/**
 * A guest VM (or a custom template) as XAPI holds it after install and some life: disks, NICs, guest
 * metrics, placement on a host and its NUMA nodes, consoles, suspend image, other_config and
 * xenstore_data as tools and installers leave them, VM_metrics, snapshots. The steps run in a fixed
 * order because each draws from the pool's one seeded generator.
 */
import type { SimRecord } from '../model'
import { defaultRecord, NULL_DATE, NULL_REF } from '../records'
import { arr, EXTERNAL_VNC_KEY, GiB, MiB, roundPages, str, type BuildContext, type HostState } from './context'
import { vbdAllowedOperations, vdiAllowedOperations, vifAllowedOperations, vmAllowedOperations } from './ops'
import { pickHost, placeNuma } from './placement'
import type { PowerState, VmSpec } from './plan'
import { OSES, type OsSpec } from './products'
import { buildSnapshot } from './snapshot'
import { addVbd, addVdi } from './storage'
import { biosStrings, nvram, platformFor, recommendations } from './vm-settings'

/** what every step of one guest's build knows */
interface Guest {
  spec: VmSpec
  os: OsSpec
  isTemplate: boolean
  mem: number
  overhead: number
  /** the plan's power state, Halted when no host has room */
  power: PowerState
  host: HostState | undefined
  running: boolean
  everBooted: boolean
  tools: boolean
  vmRef: string
  metricsRef: string
  vmUuid: string
  installDaysAgo: number
  startDaysAgo: number
}

export function buildGuest(b: BuildContext, spec: VmSpec, asTemplate?: { template: true; diskGiB: number }): string {
  const g = planGuest(b, spec, asTemplate !== undefined)
  const vbds = guestDisks(b, g, asTemplate?.diskGiB)
  const { vifs, macs } = guestNics(b, g)
  const { guestMetrics, ips } = guestMetricsOf(b, g, macs.length)
  const placed = placeGuest(g)
  const consoles = guestConsoles(b, g)
  const suspendVdi = suspendImage(b, g)
  const otherConfig = guestOtherConfig(b, g)
  const xenstore = guestXenstore(b, g.os, macs, ips)
  const dynMin = !g.os.windows && spec.memGiB >= 4 && b.rng.chance(0.3) ? g.mem / 2 : g.mem
  const vcpuParams: Record<string, string> = spec.mask !== undefined ? { mask: spec.mask } : b.rng.chance(0.3) ? { weight: '256' } : {}
  const templateName = otherConfig.base_template_name ?? ''
  const { os, isTemplate, mem, running, host, everBooted } = g
  const rec = defaultRecord('VM', b.release, {
    uuid: g.vmUuid,
    name_label: spec.name,
    name_description: spec.description ?? (isTemplate ? '' : b.rng.pick(['', '', 'Created by XenCenter', `${os.osVersion?.name?.split('|')[0] ?? templateName}`])),
    power_state: g.power,
    user_version: 1,
    is_a_template: isTemplate,
    is_default_template: false,
    suspend_VDI: suspendVdi,
    resident_on: running && host ? host.ref : NULL_REF,
    scheduled_to_be_resident_on: NULL_REF,
    affinity: spec.affinity !== undefined ? (b.hosts[spec.affinity]?.ref ?? NULL_REF) : NULL_REF,
    memory_overhead: g.overhead,
    memory_target: running ? mem : isTemplate ? 0 : mem,
    memory_static_max: mem,
    memory_dynamic_max: mem,
    memory_dynamic_min: dynMin,
    memory_static_min: Math.min(mem, os.windows ? 2 * GiB : 512 * MiB),
    VCPUs_params: vcpuParams,
    VCPUs_max: spec.vcpus,
    VCPUs_at_startup: spec.vcpus,
    actions_after_softreboot: 'soft_reboot',
    actions_after_shutdown: 'destroy',
    actions_after_reboot: 'restart',
    actions_after_crash: os.windows ? 'preserve' : 'restart',
    consoles,
    VIFs: vifs,
    VBDs: vbds,
    VUSBs: [],
    crash_dumps: [],
    VTPMs: [],
    PV_bootloader: os.domainType === 'pv' ? 'pygrub' : '',
    PV_kernel: '',
    PV_ramdisk: '',
    PV_args: os.domainType === 'pv' ? 'console=hvc0' : '',
    PV_bootloader_args: '',
    PV_legacy_args: '',
    HVM_boot_policy: os.domainType === 'pv' ? '' : 'BIOS order',
    HVM_boot_params: os.domainType === 'pv' ? {} : b.legacy ? { order: b.rng.pick(['cdn', 'dc', 'cd']) } : os.uefi ? { firmware: 'uefi', order: 'cd' } : { firmware: 'bios', order: b.rng.pick(['cdn', 'dc', 'cd']) },
    HVM_shadow_multiplier: 1,
    platform: platformFor(b, os, spec.vcpus),
    PCI_bus: '',
    other_config: otherConfig,
    domid: placed.domid,
    domarch: '',
    last_boot_CPU_flags: everBooted ? { vendor: host?.hw.cpu.vendor ?? b.hosts[0]?.hw.cpu.vendor ?? 'GenuineIntel', features: (host ?? b.hosts[0])?.hw.cpu.featuresHvm ?? '' } : {},
    is_control_domain: false,
    metrics: g.metricsRef,
    guest_metrics: guestMetrics,
    last_booted_record: '',
    recommendations: recommendations(b, os),
    xenstore_data: xenstore,
    ha_always_run: spec.haRestart === true,
    ha_restart_priority: spec.haRestart ? 'restart' : '',
    tags: spec.tags ?? [],
    blocked_operations: spec.blocked ?? {},
    bios_strings: everBooted || isTemplate ? biosStrings(b) : {},
    generation_id: os.windows && everBooted ? `${b.rng.int(1e9)}${b.rng.int(1e9)}:${b.rng.int(1e9)}${b.rng.int(1e9)}` : '',
    hardware_platform_version: b.legacy ? 0 : 2,
    has_vendor_device: !b.legacy && os.windows,
    reference_label: b.legacy ? '' : templateName.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
    domain_type: os.domainType,
    NVRAM: os.uefi && !b.legacy && everBooted ? nvram(b) : {},
    snapshots: [],
    children: [],
    parent: spec.danglingParent ? b.ref() : NULL_REF,
  })
  rec.allowed_operations = vmAllowedOperations(rec, g.tools)
  b.table('VM').set(g.vmRef, rec)
  // a running HVM guest without PV drivers cannot hot-unplug (xapi_vbd_helpers.ml: VM_MISSING_PV_DRIVERS)
  diskAllowedOperations(b, vbds, running, g.tools || os.domainType !== 'hvm')
  guestVmMetrics(b, g, placed.numaMemory)
  for (let s = 0; s < (spec.snapshots ?? 0); s++) buildSnapshot(b, g.vmRef, s, g.power)
  return g.vmRef
}

function planGuest(b: BuildContext, spec: VmSpec, isTemplate: boolean): Guest {
  const os = OSES[spec.os]
  const mem = spec.memGiB * GiB
  const overhead = roundPages(Math.round(spec.memGiB * 8.5 + 2.5) * MiB)
  let power: PowerState = isTemplate ? 'Halted' : spec.power
  let host: HostState | undefined
  if (power === 'Running' || power === 'Paused') {
    host = pickHost(b, spec, mem + overhead)
    if (!host) power = 'Halted'
  }
  const running = power === 'Running' || power === 'Paused'
  const everBooted = !isTemplate && (running || power === 'Suspended' || b.rng.chance(0.7))
  const tools = !isTemplate && spec.tools !== false && os.osVersion !== undefined
  const vmRef = b.ref()
  const metricsRef = b.ref()
  const vmUuid = b.uuid()
  const installDaysAgo = 30 + b.rng.int(700)
  const startDaysAgo = running ? b.rng.int(Math.min(installDaysAgo, 120)) : 0
  return { spec, os, isTemplate, mem, overhead, power, host, running, everBooted, tools, vmRef, metricsRef, vmUuid, installDaysAgo, startDaysAgo }
}

/** the system disk (and data disks) on shared storage or the host's local SR, and the CD drive of an HVM guest: the VM's VBDs */
function guestDisks(b: BuildContext, g: Guest, templateDiskGiB: number | undefined): string[] {
  const { spec, os, running, host, vmRef } = g
  const vbds: string[] = []
  const diskSr = spec.localDisk || !b.pool.nfsSr ? ((host ?? b.hosts[b.rng.int(b.hosts.length)] ?? b.hosts[0])?.localSr ?? NULL_REF) : b.pool.nfsSr
  const systemGiB = templateDiskGiB ?? os.diskGiB + 8 * b.rng.int(3)
  const disks: { gib: number; name: string; desc: string; type: string }[] = [
    { gib: systemGiB, name: `${spec.name} 0`, desc: g.isTemplate ? 'Created by template provisioner' : b.rng.chance(0.5) ? 'Created by template provisioner' : '', type: 'system' },
    ...(spec.dataDisksGiB ?? []).map((gib, i) => ({ gib, name: `${spec.name}-data${i + 1}`, desc: i === 0 ? (os.windows ? 'D:\\' : '/var/lib/data') : '', type: 'user' })),
  ]
  const hostAttach = running && host ? `host_${host.ref}` : undefined
  disks.forEach((d, i) => {
    const vdi = addVdi(b, {
      sr: diskSr,
      name: d.name,
      description: d.desc,
      size: d.gib * GiB,
      used: roundPages(d.gib * GiB * (0.2 + b.rng.next() * 0.7)),
      type: d.type,
      smConfig: hostAttach ? { [hostAttach]: 'RW', vdi_type: 'vhd' } : { vdi_type: 'vhd' },
    })
    const userdevice = String(i === 0 ? 0 : i)
    const vbd = addVbd(b, { vm: vmRef, vdi, userdevice, device: `xvd${String.fromCharCode(97 + i)}`, bootable: i === 0, type: 'Disk', mode: 'RW', running, empty: false, owner: i === 0 })
    vbds.push(vbd)
  })
  if (os.domainType !== 'pv') {
    const cdVdi = spec.cdTools ? b.pool.toolsIso : NULL_REF
    vbds.unshift(addVbd(b, { vm: vmRef, vdi: cdVdi, userdevice: '3', device: 'xvdd', bootable: false, type: 'CD', mode: 'RO', running, empty: cdVdi === NULL_REF, owner: false }))
  }
  return vbds
}

/** VIF 0 on eth0's network, VIF 1 on the VLAN when the pool has one, the rest on eth1's */
function guestNics(b: BuildContext, g: Guest): { vifs: string[]; macs: string[] } {
  const vifs: string[] = []
  const nics = g.spec.nics ?? 1
  const macs: string[] = []
  const networks = b.pool.networks
  for (let i = 0; i < nics; i++) {
    const net = i === 0 ? networks.eth0 : i === 1 && networks.vlan ? networks.vlan : networks.eth1
    const mac = b.mac()
    macs.push(mac)
    const { ref } = b.add('VIF', {
      allowed_operations: g.isTemplate ? [] : vifAllowedOperations(g.running),
      current_operations: {},
      device: String(i),
      network: net,
      VM: g.vmRef,
      MAC: mac,
      MTU: i === 1 && networks.vlan ? 9000 : 1500,
      other_config: {},
      currently_attached: g.running,
      status_code: 0,
      status_detail: '',
      runtime_properties: {},
      qos_algorithm_type: '',
      qos_algorithm_params: {},
      qos_supported_algorithms: [],
      metrics: NULL_REF,
      MAC_autogenerated: true,
      locking_mode: 'network_default',
    })
    arr(b.get('network', net), 'VIFs').push(ref)
    vifs.push(ref)
  }
  return { vifs, macs }
}

/** VM_guest_metrics as the guest agent reports them, for a booted guest with tools; its IPs */
function guestMetricsOf(b: BuildContext, g: Guest, nics: number): { guestMetrics: string; ips: string[] } {
  const { os, spec, running } = g
  const ips: string[] = []
  if (!(g.tools && g.everBooted && os.osVersion)) return { guestMetrics: NULL_REF, ips }
  const networks: Record<string, string> = {}
  for (let i = 0; i < nics; i++) {
    const ip = b.guestIp()
    ips.push(ip)
    networks[`${i}/ip`] = ip
    if (!b.legacy) networks[`${i}/ipv4/0`] = ip
    if (b.rng.chance(0.6) || os.windows) networks[`${i}/ipv6/0`] = `fe80:0000:0000:0000:${b.rng.hex8().slice(0, 4)}:${b.rng.hex8().slice(0, 4)}:${b.rng.hex8().slice(0, 4)}:${b.rng.hex8().slice(0, 4)}`
  }
  const other: Record<string, string> = os.windows
    ? { 'data-ts': '1', 'feature-balloon': '1', 'feature-poweroff': '1', 'feature-reboot': '1', 'feature-s3': '1', 'feature-s4': '1', 'feature-setcomputername': '1', 'feature-static-ip-setting': '1', 'feature-suspend': '1', 'feature-ts': '1', 'feature-ts2': '1', 'feature-xs-batcmd': '1', 'has-vendor-device': b.legacy ? '0' : '1', 'platform-feature-multiprocessor-suspend': '1' }
    : { 'feature-balloon': '1', 'feature-shutdown': '1', 'feature-suspend': '1', 'feature-vcpu-hotplug': '1', 'has-vendor-device': '0', 'platform-feature-multiprocessor-suspend': '1' }
  const drivers = os.windows ? { ...b.product.pvDrivers } : b.legacy ? { ...b.product.pvDrivers } : { major: '8', minor: '4', micro: '0', build: '1' }
  const guestMetrics = b.add('VM_guest_metrics', {
    os_version: { ...os.osVersion },
    PV_drivers_version: drivers,
    PV_drivers_up_to_date: true,
    memory: {},
    disks: {},
    networks,
    other,
    last_updated: running ? b.date(g.startDaysAgo) : b.date(3 + b.rng.int(60)),
    other_config: {},
    live: running,
    can_use_hotplug_vbd: os.windows ? 'yes' : 'unspecified',
    can_use_hotplug_vif: os.windows ? 'yes' : 'unspecified',
    PV_drivers_detected: true,
    netbios_name: os.windows && !b.legacy ? { netbios_name: spec.name.toUpperCase().slice(0, 15) } : {},
  }).ref
  return { guestMetrics, ips }
}

/** a running guest takes its host's memory (NUMA nodes by xenopsd's best_effort), a domid, a place in resident_VMs */
function placeGuest(g: Guest): { numaMemory: Record<string, number>; domid: number } {
  if (!(g.running && g.host)) return { numaMemory: {}, domid: -1 }
  const numaMemory = placeNuma(g.host, g.mem + g.overhead, g.spec.mask !== undefined)
  const domid = g.host.nextDomid++
  arr(g.host.rec, 'resident_VMs').push(g.vmRef)
  return { numaMemory, domid }
}

/** a running guest's consoles: RFB (and a text console first for PV) */
function guestConsoles(b: BuildContext, g: Guest): string[] {
  const consoles: string[] = []
  if (!(g.running && g.host)) return consoles
  const protocols = g.os.domainType === 'pv' ? ['vt100', 'rfb'] : ['rfb']
  for (const protocol of protocols) {
    const uuid = b.uuid()
    const { ref } = b.add('console', { uuid, protocol, location: `https://${g.host.spec.address}/console?uuid=${uuid}`, VM: g.vmRef, other_config: {} })
    consoles.push(ref)
  }
  return consoles
}

function suspendImage(b: BuildContext, g: Guest): string {
  if (g.power !== 'Suspended') return NULL_REF
  const sr = b.pool.nfsSr ?? b.hosts[0]?.localSr ?? NULL_REF
  return addVdi(b, { sr, name: 'Suspend image', description: `Suspend image for VM ${g.vmUuid}`, size: g.mem + 2 * MiB, type: 'suspend' })
}

/** other_config, the way templates, XenCenter and installers leave it */
function guestOtherConfig(b: BuildContext, g: Guest): Record<string, string> {
  const { os, spec } = g
  const otherConfig: Record<string, string> = {
    base_template_name: b.product.templates.find((t) => t.os === spec.os)?.name ?? 'Other install media',
    'install-methods': os.installMethods,
    mac_seed: b.uuid(),
  }
  if (!os.windows) otherConfig.linux_template = 'true'
  if (b.rng.chance(0.4)) otherConfig.import_task = b.ref() // long gone task: a real dangling ref
  if (b.rng.chance(0.5)) otherConfig.instant = 'true'
  if (spec.folder) otherConfig.folder = spec.folder
  if (b.rng.chance(0.15)) otherConfig['XenCenter.CustomFields.owner'] = b.rng.pick(['ops-team', 'j.smith', 'dba', ''])
  for (const [name, value] of Object.entries(spec.customFields ?? {})) otherConfig[`XenCenter.CustomFields.${name}`] = value
  if (b.rng.chance(0.2)) otherConfig.auto_poweron = 'true'
  if (!g.running && g.everBooted && !g.isTemplate) {
    otherConfig.last_shutdown_action = 'Destroy'
    otherConfig.last_shutdown_initiator = b.rng.pick(['internal', 'external'])
    otherConfig.last_shutdown_reason = b.rng.pick(['halted', 'halted', 'rebooted'])
    otherConfig.last_shutdown_time = b.date(1 + b.rng.int(90))
  }
  if (!b.legacy && b.rng.chance(0.2)) otherConfig['xenrt-distro'] = os.distroTag
  const ext = b.plan.externalConsoles?.[spec.name]
  if (ext) otherConfig[EXTERNAL_VNC_KEY] = `${ext.host}:${ext.port}`
  return otherConfig
}

/** xenstore_data: the MMIO hole of UEFI/Windows guests, and now and then a static network config an installer left */
function guestXenstore(b: BuildContext, os: OsSpec, macs: string[], ips: string[]): Record<string, string> {
  const xenstore: Record<string, string> = { 'vm-data': '' }
  if (os.uefi || os.windows) xenstore['vm-data/mmio-hole-size'] = '268435456'
  if (b.rng.chance(0.25) && macs[0]) {
    xenstore['vm-data/networks'] = ''
    xenstore['vm-data/networks/0'] = ''
    xenstore['vm-data/networks/0/mac'] = macs[0]
    xenstore['vm-data/networks/0/name'] = 'Pool-wide network associated with eth0'
    if (ips[0]) {
      xenstore['vm-data/networks/0/ip'] = ips[0]
      xenstore['vm-data/networks/0/netmask'] = '255.255.0.0'
      xenstore['vm-data/networks/0/gateway'] = `${b.plan.guestNet}.0.1`
      xenstore['vm-data/networks/0/prefix'] = '16'
      xenstore['vm-data/networks/0/type'] = 'static'
    }
  }
  return xenstore
}

/** VBD allowed_operations once the VM record exists, and those of the VM's own disks (not the tools ISO) */
function diskAllowedOperations(b: BuildContext, vbds: string[], running: boolean, hotplug: boolean): void {
  for (const vbdRef of vbds) {
    const vbd = b.get('VBD', vbdRef)
    vbd.allowed_operations = vbdAllowedOperations(vbd, running, hotplug)
  }
  for (const vbdRef of vbds) {
    const vdi = str(b.get('VBD', vbdRef), 'VDI')
    if (vdi !== NULL_REF && vdi !== b.pool.toolsIso) b.get('VDI', vdi).allowed_operations = vdiAllowedOperations({ attachedToRunning: running, iso: false, snapshot: false, suspend: false })
  }
}

function guestVmMetrics(b: BuildContext, g: Guest, numaMemory: Record<string, number>): void {
  const { running, mem, overhead, os } = g
  const metricsOverrides: SimRecord = {
    memory_actual: running ? mem : 0,
    VCPUs_number: running ? g.spec.vcpus : 0,
    VCPUs_utilisation: {},
    VCPUs_CPU: {},
    VCPUs_params: {},
    VCPUs_flags: {},
    state: [],
    start_time: running ? b.date(g.startDaysAgo) : NULL_DATE,
    install_time: b.date(g.installDaysAgo),
    last_updated: NULL_DATE,
    other_config: {},
    hvm: running && os.domainType !== 'pv',
    nested_virt: false,
    nomigrate: false,
    current_domain_type: running ? os.domainType : 'unspecified',
  }
  if (b.hasVmNuma && running) {
    const numaNodes = Object.keys(numaMemory).length
    const hostNodes = g.host?.spec.numa.nodes ?? 1
    metricsOverrides.numa_nodes = numaNodes
    metricsOverrides.numa_optimised = numaNodes === 1 || numaNodes < hostNodes
    metricsOverrides.numa_node_memory = Object.fromEntries(Object.entries(numaMemory).map(([n, bytes]) => [n, roundPages((bytes * mem) / (mem + overhead))]))
  }
  b.add('VM_metrics', metricsOverrides, g.metricsRef)
}
