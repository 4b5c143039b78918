/** Storage as XAPI holds it: SM plugins, SRs, PBDs, VDIs and VBDs, both directions of every link kept. */
import { NULL_DATE, NULL_REF } from '../records'
import { arr, GiB, MiB, roundPages, type BuildContext, type HostState } from './context'
import { SR_OPERATIONS_BLOCK, SR_OPERATIONS_ISO, SR_OPERATIONS_UDEV, vdiAllowedOperations } from './ops'

export function addSr(b: BuildContext, o: { name: string; description: string; type: string; contentType: string; shared: boolean; size: number; otherConfig: Record<string, string>; smConfig?: Record<string, string>; ops: string[]; toolsSr?: boolean }): string {
  const { ref } = b.add('SR', {
    name_label: o.name,
    name_description: o.description,
    allowed_operations: o.ops.slice(),
    VDIs: [],
    PBDs: [],
    virtual_allocation: 0,
    physical_utilisation: 0,
    physical_size: o.size,
    type: o.type,
    content_type: o.contentType,
    shared: o.shared,
    other_config: o.otherConfig,
    sm_config: o.smConfig ?? {},
    is_tools_sr: o.toolsSr ?? false,
  })
  return ref
}

export function addPbd(b: BuildContext, hostRef: string, srRef: string, deviceConfig: Record<string, string>): void {
  const { ref } = b.add('PBD', { host: hostRef, SR: srRef, device_config: deviceConfig, currently_attached: true, other_config: {} })
  arr(b.get('SR', srRef), 'PBDs').push(ref)
  arr(b.get('host', hostRef), 'PBDs').push(ref)
}

export function addVdi(b: BuildContext, o: { sr: string; name: string; description?: string; size: number; used?: number; type: string; readOnly?: boolean; sharable?: boolean; location?: string; iso?: boolean; toolsIso?: boolean; snapshotOf?: string; snapshotTime?: string; smConfig?: Record<string, string> }): string {
  const uuid = b.uuid()
  const { ref } = b.add('VDI', {
    uuid,
    name_label: o.name,
    name_description: o.description ?? '',
    allowed_operations: o.iso ? vdiAllowedOperations({ attachedToRunning: false, iso: true, snapshot: false, suspend: false }) : [],
    SR: o.sr,
    VBDs: [],
    crash_dumps: [],
    virtual_size: o.size,
    physical_utilisation: o.used ?? o.size,
    type: o.type,
    sharable: o.sharable ?? false,
    read_only: o.readOnly ?? false,
    other_config: {},
    storage_lock: false,
    location: o.location ?? uuid,
    managed: true,
    missing: false,
    parent: NULL_REF,
    xenstore_data: {},
    sm_config: o.smConfig ?? (o.iso ? {} : { vdi_type: 'vhd' }),
    is_a_snapshot: o.snapshotOf !== undefined,
    snapshot_of: o.snapshotOf ?? NULL_REF,
    snapshots: [],
    snapshot_time: o.snapshotTime ?? NULL_DATE,
    on_boot: 'persist',
    is_tools_iso: o.toolsIso ?? false,
  })
  arr(b.get('SR', o.sr), 'VDIs').push(ref)
  if (o.snapshotOf) arr(b.get('VDI', o.snapshotOf), 'snapshots').push(ref)
  return ref
}

export function addVbd(b: BuildContext, o: { vm: string; vdi: string; userdevice: string; device: string; bootable: boolean; type: 'CD' | 'Disk'; mode: 'RO' | 'RW'; running: boolean; empty: boolean; owner: boolean }): string {
  const { ref } = b.add('VBD', {
    allowed_operations: [],
    current_operations: {},
    VM: o.vm,
    VDI: o.vdi,
    device: o.device,
    userdevice: o.userdevice,
    bootable: o.bootable,
    mode: o.mode,
    type: o.type,
    unpluggable: !o.bootable,
    storage_lock: false,
    empty: o.empty,
    other_config: o.owner ? { owner: '' } : {},
    currently_attached: o.running,
    status_code: 0,
    status_detail: '',
    runtime_properties: {},
    qos_algorithm_type: '',
    qos_algorithm_params: {},
    qos_supported_algorithms: [],
    metrics: NULL_REF,
  })
  if (o.vdi !== NULL_REF) arr(b.get('VDI', o.vdi), 'VBDs').push(ref)
  return ref
}

/** the storage managers a host registers at start (SM objects), for the SR types the fleets use */
function buildStorageManagers(b: BuildContext): void {
  const caps = ['SR_PROBE', 'SR_UPDATE', 'VDI_CREATE', 'VDI_DELETE', 'VDI_ATTACH', 'VDI_DETACH', 'VDI_RESIZE', 'VDI_CLONE', 'VDI_SNAPSHOT', 'VDI_MIRROR', 'VDI_GENERATE_CONFIG', 'VDI_RESET_ON_BOOT/2', 'VDI_CONFIG_CBT', 'THIN_PROVISIONING']
  const sms: { type: string; name: string; description: string; driver: string; configuration: Record<string, string>; capabilities: string[] }[] = [
    { type: 'lvm', name: 'Local LVM', description: 'SR plugin which represents disks as VHD disks on Logical Volumes within a locally-attached Volume Group', driver: 'LVMSR', configuration: { device: 'local device path (required) (e.g. /dev/sda3)' }, capabilities: caps.filter((c) => c !== 'THIN_PROVISIONING') },
    { type: 'nfs', name: 'NFS VHD', description: 'SR plugin which stores disks as VHD files on a remote NFS filesystem', driver: 'NFSSR', configuration: { server: 'hostname or IP address', serverpath: 'path on remote server', nfsversion: 'Specifies the NFS protocol version' }, capabilities: caps },
    { type: 'ext', name: 'Local EXT3 VHD', description: 'SR plugin which represents disks as VHD files stored on a local EXT3 filesystem, created inside an LVM volume', driver: 'EXTSR', configuration: { device: 'local device path (required) (e.g. /dev/sda3)' }, capabilities: caps },
    { type: 'iso', name: 'ISO', description: 'Handles CD images stored as files in iso format', driver: 'ISOSR', configuration: { location: 'path to mount (required)', type: 'cifs or nfs_iso' }, capabilities: ['VDI_CREATE', 'VDI_DELETE', 'VDI_ATTACH', 'VDI_DETACH', 'SR_SCAN', 'SR_ATTACH', 'SR_DETACH'] },
    { type: 'udev', name: 'Local Devices', description: 'SR plugin which represents removable devices', driver: 'udevSR', configuration: { location: 'path to mount (required)' }, capabilities: ['VDI_INTRODUCE', 'VDI_ATTACH', 'VDI_DETACH', 'VDI_UPDATE', 'SR_UPDATE'] },
  ]
  for (const sm of sms) {
    b.add('SM', {
      name_label: sm.name,
      name_description: sm.description,
      type: sm.type,
      vendor: b.product.brand === 'XCP-ng' ? 'Vates SAS' : 'Citrix Systems Inc',
      copyright: b.product.brand === 'XCP-ng' ? '(C) 2024 Vates' : '(C) 2008 Citrix Systems Inc',
      version: '1.0',
      required_api_version: '1.0',
      configuration: sm.configuration,
      capabilities: sm.capabilities,
      features: Object.fromEntries(sm.capabilities.map((c) => [c.split('/')[0] ?? c, c.includes('/') ? Number(c.split('/')[1]) : 1])),
      other_config: {},
      driver_filename: `/opt/xensource/sm/${sm.driver}`,
      required_cluster_stack: [],
    })
  }
}

export function buildSharedStorage(b: BuildContext): void {
  buildStorageManagers(b)
  const p = b.pool
  p.toolsSr = addSr(b, {
    name: b.product.toolsSrName,
    description: `${b.product.toolsSrName} ISOs`,
    type: 'iso',
    contentType: 'iso',
    shared: true,
    size: 0,
    otherConfig: { xensource_internal: 'true', xenserver_tools_sr: 'true', 'i18n-key': 'xenserver-tools', 'i18n-original-value-name_label': b.product.toolsSrName, 'i18n-original-value-name_description': `${b.product.toolsSrName} ISOs` },
    smConfig: {},
    ops: SR_OPERATIONS_ISO,
    toolsSr: true,
  })
  p.toolsIso = addVdi(b, { sr: p.toolsSr, name: b.product.toolsIsoName, size: 70 * MiB + 524288, type: 'user', readOnly: true, sharable: true, location: b.product.toolsIsoName, iso: true, toolsIso: true })
  if (b.plan.sharedStorage) {
    p.nfsSr = addSr(b, {
      name: 'NFS VM storage',
      description: 'NFS SR [10.0.10.5:/export/xen]',
      type: 'nfs',
      contentType: '',
      shared: true,
      size: 8 * 1024 * GiB,
      otherConfig: { 'auto-scan': 'false' },
      ops: SR_OPERATIONS_BLOCK,
    })
  }
  if (b.plan.isoLibrary) {
    p.isoSr = addSr(b, {
      name: 'ISO library',
      description: 'CIFS ISO Library [\\\\10.0.10.5\\isos]',
      type: 'iso',
      contentType: 'iso',
      shared: true,
      size: 2 * 1024 * GiB,
      otherConfig: { 'auto-scan': 'true' },
      ops: SR_OPERATIONS_ISO,
    })
    const isos = ['debian-12.7.0-amd64-netinst.iso', 'ubuntu-24.04.1-live-server-amd64.iso', 'Rocky-9.4-x86_64-minimal.iso', 'SERVER_EVAL_x64FRE_en-us.iso', 'alpine-virt-3.20.3-x86_64.iso']
    for (const iso of isos) p.isoVdis.push(addVdi(b, { sr: p.isoSr, name: iso, size: (600 + b.rng.int(4000)) * MiB, type: 'user', readOnly: false, location: iso, iso: true }))
  }
  b.pool.rec.default_SR = p.nfsSr ?? NULL_REF
}

/** the host's local SRs (LVM, DVD drives, removable storage) and its PBDs to the shared SRs */
export function buildHostStorage(b: BuildContext, h: HostState, index: number): void {
  const localSize = (1800 + b.rng.int(1800)) * GiB
  h.localSr = addSr(b, {
    name: 'Local storage',
    description: '',
    type: 'lvm',
    contentType: 'user',
    shared: false,
    size: localSize,
    otherConfig: { 'i18n-original-value-name_label': 'Local storage', 'i18n-key': 'local-storage' },
    smConfig: { allocation: 'thick', use_vhd: 'true', devserial: `scsi-36d0946606b1ce800${b.rng.hex8()}` },
    ops: SR_OPERATIONS_BLOCK,
  })
  addPbd(b, h.ref, h.localSr, { device: `/dev/disk/by-id/scsi-36d0946606b1ce800${b.rng.hex8()}-part3` })
  const dvd = addSr(b, { name: 'DVD drives', description: 'Physical DVD drives', type: 'udev', contentType: 'iso', shared: false, size: 0, otherConfig: { 'i18n-original-value-name_label': 'DVD drives', 'i18n-original-value-name_description': 'Physical DVD drives', 'i18n-key': 'local-hotplug-cd' }, smConfig: { type: 'cd' }, ops: SR_OPERATIONS_UDEV })
  addPbd(b, h.ref, dvd, { location: '/dev/xapi/cd' })
  const removable = addSr(b, { name: 'Removable storage', description: '', type: 'udev', contentType: 'disk', shared: false, size: 0, otherConfig: { 'i18n-original-value-name_label': 'Removable storage', 'i18n-key': 'local-hotplug-disk' }, smConfig: { type: 'block' }, ops: SR_OPERATIONS_UDEV })
  addPbd(b, h.ref, removable, { location: '/dev/xapi/block' })
  h.rec.suspend_image_sr = h.localSr
  h.rec.crash_dump_sr = h.localSr
  if (index === 0) {
    b.pool.rec.suspend_image_SR = h.localSr
    b.pool.rec.crash_dump_SR = h.localSr
    if (b.pool.rec.default_SR === NULL_REF) b.pool.rec.default_SR = h.localSr
  }
  addPbd(b, h.ref, b.pool.toolsSr, { location: '/opt/xensource/packages/iso', legacy_mode: 'true' })
  if (b.pool.nfsSr) addPbd(b, h.ref, b.pool.nfsSr, { server: '10.0.10.5', serverpath: '/export/xen', nfsversion: b.legacy ? '3' : '4.1' })
  if (b.pool.isoSr) addPbd(b, h.ref, b.pool.isoSr, { location: '//10.0.10.5/isos', type: 'cifs', username: 'isoreader' })
}

/** orphaned disks and an unplugged ISO library PBD, as real pools have them (after every other step, so no earlier record moves) */
export function buildStorageLeftovers(b: BuildContext): void {
  for (const o of b.plan.orphanDisks ?? []) {
    const sr = o.local || !b.pool.nfsSr ? (b.hosts[0]?.localSr ?? NULL_REF) : b.pool.nfsSr
    const size = o.gib * GiB
    const vdi = addVdi(b, { sr, name: o.name, description: o.description ?? '', size, used: roundPages(size * o.usedShare), type: 'user' })
    b.get('VDI', vdi).allowed_operations = vdiAllowedOperations({ attachedToRunning: false, iso: false, snapshot: false, suspend: false })
  }
  const h = b.plan.isoLibraryUnpluggedOn !== undefined ? b.hosts[b.plan.isoLibraryUnpluggedOn] : undefined
  const isoSr = b.pool.isoSr
  if (!h || !isoSr) return
  for (const pbd of arr(h.rec, 'PBDs')) {
    if (typeof pbd !== 'string') continue
    const rec = b.get('PBD', pbd)
    if (rec.SR === isoSr) rec.currently_attached = false
  }
}
