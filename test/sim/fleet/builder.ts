/**
 * Builds one pool's object graph the way XAPI holds it: every cross reference kept consistent in
 * both directions (VM.VBDs ↔ VBD.VM, host.resident_VMs ↔ VM.resident_on, SR.VDIs ↔ VDI.SR, …),
 * host memory and NUMA node accounting consistent with the resident VMs.
 */
import { NO_EVENT_CLASSES } from '../../../shared/xapi/datamodel.generated'
import type { SimHostSpec, SimPoolSpec, SimRecord, SimTable, SimValue } from '../model'
import { classesOf, cloneRecord, defaultRecord, NULL_DATE, NULL_REF, newUuid, Rng, xapiDate } from '../records'
import { cpuCount, type HardwareSpec } from './hardware'
import { HOST_OPERATIONS, SR_OPERATIONS_BLOCK, SR_OPERATIONS_ISO, SR_OPERATIONS_UDEV, vbdAllowedOperations, vdiAllowedOperations, vifAllowedOperations, vmAllowedOperations } from './ops'
import { licenseParams, OSES, PRODUCTS, releaseAtLeast, type OsKey, type OsSpec, type ProductId, type ProductSpec } from './products'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
const PAGE = 4096

/** Every date in a fleet derives from this instant, so a seed always gives the same records. */
export const FLEET_EPOCH_MS = Date.UTC(2026, 9, 19, 6, 0, 0)

/** other_config key carrying an external VNC endpoint ('host:port') for a VM's console. */
export const EXTERNAL_VNC_KEY = 'xenpilot_sim_vnc'

export type PowerState = 'Running' | 'Halted' | 'Suspended' | 'Paused'

export interface HostPlan {
  name: string
  hw: HardwareSpec
  numaAffinityPolicy?: 'any' | 'best_effort' | 'default_policy'
  dom0MemGiB: number
  dom0Vcpus: number
}

export interface VmSpec {
  name: string
  os: OsKey
  power: PowerState
  /** preferred host index for running/paused VMs; the builder falls back to the emptiest host */
  host?: number
  memGiB: number
  vcpus: number
  /** data disks beyond the system disk, GiB */
  dataDisksGiB?: number[]
  nics?: number
  /** false: no guest agent (no guest_metrics, fewer allowed operations) */
  tools?: boolean
  description?: string
  folder?: string
  tags?: string[]
  /** VCPUs_params.mask (hard affinity, skips NUMA placement) */
  mask?: string
  blocked?: Record<string, string>
  haRestart?: boolean
  /** keep the system disk on the host's local SR (otherwise shared storage when the pool has it) */
  localDisk?: boolean
  /** VM.affinity host index */
  affinity?: number
  /** take this many snapshots of the VM */
  snapshots?: number
  /** a dangling VM.parent: the snapshot it was reverted from has since been deleted (real pools have these) */
  danglingParent?: boolean
  /** tools ISO inserted in the CD drive */
  cdTools?: boolean
}

export interface PoolPlan {
  name: string
  product: ProductId
  /** overrides the product's default XAPI release */
  release?: string
  username: string
  password: string
  /** '127.77.3' → hosts 127.77.3.1, 127.77.3.2, … */
  addressPrefix: string
  /** private guest subnet, '10.3' → guests 10.3.x.y */
  guestNet: string
  hosts: HostPlan[]
  vms: VmSpec[]
  /** default templates to install: all of the product's, or the first n */
  defaultTemplates: number | 'all'
  customTemplates: { name: string; os: OsKey; diskGiB: number }[]
  sharedStorage: boolean
  isoLibrary: boolean
  vlan: boolean
  messages: number
  externalConsoles?: Record<string, { host: string; port: number }>
  /**
   * Highest share of a host's memory the generated running VMs may take (default 0.8), so a fresh
   * fleet can still start VMs; VMs that do not fit anywhere stay Halted.
   */
  maxFill?: number
}

interface HostState {
  ref: string
  rec: SimRecord
  metrics: SimRecord
  hw: HardwareSpec
  spec: SimHostSpec
  totalBytes: number
  freeBytes: number
  nodeFree: number[]
  localSr: string
  nextDomid: number
  pifs: { eth0: string; eth1: string; vlan?: string }
}

interface PoolState {
  ref: string
  rec: SimRecord
  nfsSr?: string
  isoSr?: string
  toolsSr: string
  toolsIso: string
  isoVdis: string[]
  networks: { eth0: string; eth1: string; vlan?: string; internal: string }
}

function arr(rec: SimRecord, field: string): SimValue[] {
  const v = rec[field]
  if (!Array.isArray(v)) throw new Error(`builder: ${field} is not a set`)
  return v
}

function map(rec: SimRecord, field: string): Record<string, SimValue> {
  const v = rec[field]
  if (v === undefined || typeof v !== 'object' || Array.isArray(v)) throw new Error(`builder: ${field} is not a map`)
  return v
}

function num(rec: SimRecord, field: string): number {
  const v = rec[field]
  if (typeof v !== 'number') throw new Error(`builder: ${field} is not a number`)
  return v
}

function str(rec: SimRecord, field: string): string {
  const v = rec[field]
  if (typeof v !== 'string') throw new Error(`builder: ${field} is not a string`)
  return v
}

const roundPages = (bytes: number): number => Math.floor(bytes / PAGE) * PAGE

/** Builds one pool from its plan; `build()` returns the SimPoolSpec the server serves. */
export class PoolBuilder {
  readonly product: ProductSpec
  readonly release: string
  readonly objects = new Map<string, SimTable>()
  private readonly hosts: HostState[] = []
  private pool!: PoolState
  private readonly rng: Rng
  private readonly hasThreadsPerCore: boolean
  private readonly hasNrNodes: boolean
  private readonly hasVmNuma: boolean
  private readonly legacy: boolean
  private ipCounter = 10

  constructor(
    private readonly plan: PoolPlan,
    seed: number,
  ) {
    this.product = PRODUCTS[plan.product]
    this.release = plan.release ?? this.product.release
    this.rng = new Rng(seed)
    this.hasThreadsPerCore = releaseAtLeast(this.release, '24.12.0')
    this.hasNrNodes = releaseAtLeast(this.release, '25.34.0')
    this.hasVmNuma = releaseAtLeast(this.release, '26.2.0')
    this.legacy = !releaseAtLeast(this.release, '1.250.0')
    for (const cls of classesOf(this.release)) if (!NO_EVENT_CLASSES.includes(cls)) this.objects.set(cls, new Map())
  }

  // -------------------------------------------------------------------------------------------
  // plumbing

  private ref(): string {
    return `OpaqueRef:${newUuid(this.rng)}`
  }
  private uuid(): string {
    return newUuid(this.rng)
  }
  private table(cls: string): SimTable {
    let t = this.objects.get(cls)
    if (!t) {
      t = new Map()
      this.objects.set(cls, t)
    }
    return t
  }
  private add(cls: string, overrides: SimRecord, ref = this.ref()): { ref: string; rec: SimRecord } {
    const rec = defaultRecord(cls, this.release, { uuid: this.uuid(), ...overrides })
    this.table(cls).set(ref, rec)
    return { ref, rec }
  }
  private get(cls: string, ref: string): SimRecord {
    const rec = this.objects.get(cls)?.get(ref)
    if (!rec) throw new Error(`builder: no ${cls} ${ref}`)
    return rec
  }
  /** a date `daysAgo` before the fleet epoch, with seeded jitter so records differ */
  private date(daysAgo: number): string {
    const jitter = this.rng.int(86400) * 1000
    return xapiDate(new Date(FLEET_EPOCH_MS - daysAgo * 86400000 - jitter))
  }
  private mac(): string {
    const first = (this.rng.int(64) * 4 + 2).toString(16).padStart(2, '0')
    const rest = Array.from({ length: 5 }, () => this.rng.int(256).toString(16).padStart(2, '0'))
    return [first, ...rest].join(':')
  }
  private guestIp(): string {
    this.ipCounter++
    const n = this.ipCounter
    return `${this.plan.guestNet}.${Math.floor(n / 250)}.${(n % 250) + 2}`
  }

  // -------------------------------------------------------------------------------------------

  build(): SimPoolSpec {
    this.buildPoolShell()
    this.plan.hosts.forEach((h, i) => this.buildHost(h, i))
    this.buildSharedStorage()
    this.buildNetworks()
    this.plan.hosts.forEach((_, i) => this.buildHostNetworkAndStorage(i))
    this.buildTemplates()
    for (const spec of this.plan.vms) this.buildGuest(spec)
    this.buildMessages()
    this.finish()
    const master = this.hosts[0]
    if (!master) throw new Error(`pool ${this.plan.name} has no host`)
    return {
      name: this.plan.name,
      xapiRelease: this.release,
      jsonRpc: this.product.jsonRpc,
      username: this.plan.username,
      password: this.plan.password,
      hosts: this.hosts.map((h) => h.spec),
      objects: this.objects,
    }
  }

  private buildPoolShell(): void {
    const { ref, rec } = this.add('pool', {
      name_label: this.plan.name,
      name_description: '',
      other_config: {
        cpuid_feature_mask: 'ffffff7f-ffffffff-ffffffff-ffffffff',
        'memory-ratio-hvm': '0.25',
        'memory-ratio-pv': '0.25',
        auto_poweron: 'false',
      },
      tls_verification_enabled: !this.legacy,
      coordinator_bias: true,
      migration_compression: false,
      restrictions: Object.fromEntries(Object.entries(licenseParams(this.product, 2)).filter(([k]) => k.startsWith('restrict_'))),
      gui_config: this.rng.chance(0.5) ? { 'XenCenter.CustomFields.owner': 'string', 'XenCenter.CustomFields.cost-centre': 'string' } : {},
      telemetry_next_collection: this.legacy ? NULL_DATE : this.date(-3),
      last_update_sync: this.product.brand === 'XenServer' && !this.legacy ? this.date(2) : NULL_DATE,
    })
    this.pool = { ref, rec, toolsSr: NULL_REF, toolsIso: NULL_REF, isoVdis: [], networks: { eth0: NULL_REF, eth1: NULL_REF, internal: NULL_REF } }
  }

  private buildHost(plan: HostPlan, index: number): void {
    const t = plan.hw.topology
    const address = `${this.plan.addressPrefix}.${index + 1}`
    const cpus = cpuCount(t)
    const totalBytes = (t.nodeMemMiB.reduce((a, b) => a + b, 0) - plan.hw.holeMiB) * MiB
    // Xen's own reservation: the real 7.2 sample reserves 4.5 GiB of 256 GiB
    const xenOverhead = roundPages(totalBytes * 0.012 + 1 * GiB)
    const hostRef = this.ref()
    const metricsRef = this.ref()
    const dom0Ref = this.ref()
    const cpuInfo: Record<string, string> = {
      cpu_count: String(cpus),
      socket_count: String(t.sockets),
      vendor: plan.hw.cpu.vendor,
      speed: plan.hw.cpu.speedMHz.toFixed(3),
      modelname: plan.hw.cpu.modelname,
      family: String(plan.hw.cpu.family),
      model: String(plan.hw.cpu.model),
      stepping: String(plan.hw.cpu.stepping),
      flags: plan.hw.cpu.flags,
      features: plan.hw.cpu.features,
      features_pv: plan.hw.cpu.featuresPv,
      features_hvm: plan.hw.cpu.featuresHvm,
    }
    if (!this.legacy) {
      cpuInfo.features_pv_host = plan.hw.cpu.featuresPvHost
      cpuInfo.features_hvm_host = plan.hw.cpu.featuresHvmHost
    }
    if (this.hasThreadsPerCore) cpuInfo.threads_per_core = String(t.threadsPerCore)
    if (this.hasNrNodes) cpuInfo.nr_nodes = String(t.nodes)

    const hostCpus: string[] = []
    for (let n = 0; n < cpus; n++) {
      const { ref } = this.add('host_cpu', {
        host: hostRef,
        number: n,
        vendor: plan.hw.cpu.vendor,
        speed: Math.floor(plan.hw.cpu.speedMHz),
        modelname: plan.hw.cpu.modelname,
        family: plan.hw.cpu.family,
        model: plan.hw.cpu.model,
        stepping: String(plan.hw.cpu.stepping),
        flags: plan.hw.cpu.flags,
        features: plan.hw.cpu.features,
        utilisation: Math.round(this.rng.next() * 3000) / 10000,
      })
      hostCpus.push(ref)
    }

    const bootDaysAgo = 20 + this.rng.int(200)
    const sw = { ...this.product.softwareVersion }
    const rec = defaultRecord('host', this.release, {
      uuid: this.uuid(),
      name_label: plan.name,
      name_description: 'Default install',
      memory_overhead: xenOverhead,
      allowed_operations: HOST_OPERATIONS.slice(),
      API_version_major: this.product.apiMajor,
      API_version_minor: this.product.apiMinor,
      API_version_vendor: 'XenSource',
      API_version_vendor_implementation: {},
      enabled: true,
      software_version: sw,
      other_config: {
        agent_start_time: `${Math.floor(FLEET_EPOCH_MS / 1000) - bootDaysAgo * 86400 + 95}.`,
        boot_time: `${Math.floor(FLEET_EPOCH_MS / 1000) - bootDaysAgo * 86400}.`,
        iscsi_iqn: `iqn.2024-03.com.example:${this.rng.hex8()}`,
        last_blob_sync_time: `${Math.floor(FLEET_EPOCH_MS / 1000) - 3600}.41`,
        multipathhandle: 'dmp',
        multipathing: 'false',
      },
      capabilities: ['xen-3.0-x86_64', 'hvm-3.0-x86_32', 'hvm-3.0-x86_32p', 'hvm-3.0-x86_64', ''],
      cpu_configuration: {},
      sched_policy: 'credit',
      supported_bootloaders: this.legacy ? ['pygrub', 'eliloader'] : ['pygrub'],
      resident_VMs: [],
      logging: {},
      PIFs: [],
      PBDs: [],
      host_CPUs: hostCpus,
      cpu_info: cpuInfo,
      hostname: plan.name,
      address,
      metrics: metricsRef,
      license_params: licenseParams(this.product, t.sockets),
      edition: this.product.edition,
      editions: this.product.editions,
      license_server: { address: 'localhost', port: '27000' },
      bios_strings: { ...plan.hw.biosStrings },
      chipset_info: { iommu: 'true' },
      ssl_legacy: this.legacy,
      display: 'enabled',
      virtual_hardware_platform_versions: [0, 1, 2],
      control_domain: dom0Ref,
      iscsi_iqn: `iqn.2024-03.com.example:${this.rng.hex8()}`,
      multipathing: false,
      tls_verification_enabled: !this.legacy,
      last_software_update: this.legacy ? NULL_DATE : this.date(bootDaysAgo),
      latest_synced_updates_applied: this.product.brand === 'XenServer' && !this.legacy ? 'yes' : 'unknown',
      numa_affinity_policy: plan.numaAffinityPolicy ?? 'default_policy',
      last_update_hash: this.legacy ? '' : this.rng.hex8() + this.rng.hex8(),
      timezone: 'UTC',
      ntp_mode: 'ntp_mode_dhcp',
      ssh_enabled: true,
    })
    this.table('host').set(hostRef, rec)

    const metrics = defaultRecord('host_metrics', this.release, {
      uuid: this.uuid(),
      memory_total: totalBytes,
      memory_free: totalBytes,
      live: true,
      last_updated: xapiDate(new Date(FLEET_EPOCH_MS)),
    })
    this.table('host_metrics').set(metricsRef, metrics)

    const nodeFree = t.nodeMemMiB.map((m, i) => (m - (i === 0 ? plan.hw.holeMiB : 0)) * MiB)
    const spec: SimHostSpec = { ref: hostRef, address, numa: t }
    const state: HostState = {
      ref: hostRef,
      rec,
      metrics,
      hw: plan.hw,
      spec,
      totalBytes,
      freeBytes: totalBytes,
      nodeFree,
      localSr: NULL_REF,
      nextDomid: 1,
      pifs: { eth0: NULL_REF, eth1: NULL_REF },
    }
    this.hosts.push(state)
    // Xen's reservation and dom0 live on node 0, like `xl info -n` shows them
    this.takeMemory(state, xenOverhead, [0])
    this.buildControlDomain(state, dom0Ref, plan, bootDaysAgo)
  }

  private takeMemory(h: HostState, bytes: number, nodes: number[]): Record<string, number> {
    const per: Record<string, number> = {}
    let left = bytes
    nodes.forEach((n, i) => {
      const share = i === nodes.length - 1 ? left : roundPages(bytes / nodes.length)
      per[String(n)] = share
      h.nodeFree[n] = (h.nodeFree[n] ?? 0) - share
      left -= share
    })
    h.freeBytes -= bytes
    return per
  }

  private buildControlDomain(h: HostState, dom0Ref: string, plan: HostPlan, bootDaysAgo: number): void {
    const mem = plan.dom0MemGiB * GiB
    const metricsRef = this.ref()
    const consoles = [this.ref(), this.ref()]
    const start = this.date(bootDaysAgo)
    this.table('VM').set(
      dom0Ref,
      defaultRecord('VM', this.release, {
        uuid: this.uuid(),
        name_label: `Control domain on host: ${plan.name}`,
        name_description: 'The domain which manages physical devices and manages other domains',
        power_state: 'Running',
        user_version: 1,
        is_a_template: false,
        resident_on: h.ref,
        affinity: NULL_REF,
        memory_overhead: 0,
        memory_target: mem,
        memory_static_max: mem,
        memory_dynamic_max: mem,
        memory_dynamic_min: mem,
        memory_static_min: mem,
        VCPUs_params: {},
        VCPUs_max: plan.dom0Vcpus,
        VCPUs_at_startup: plan.dom0Vcpus,
        actions_after_shutdown: 'destroy',
        actions_after_reboot: 'destroy',
        actions_after_crash: 'destroy',
        consoles,
        VIFs: [],
        VBDs: [],
        HVM_boot_policy: '',
        HVM_boot_params: {},
        platform: {},
        other_config: { storage_driver_domain: dom0Ref, is_system_domain: 'true', perfmon: '<config><variable><name value="fs_usage"/><alarm_trigger_level value="0.9"/></variable></config>' },
        domid: 0,
        domarch: 'x64',
        is_control_domain: true,
        metrics: metricsRef,
        guest_metrics: NULL_REF,
        domain_type: 'pv',
        allowed_operations: [],
        generation_id: '',
        hardware_platform_version: 0,
      }),
    )
    this.add(
      'VM_metrics',
      {
        memory_actual: mem,
        VCPUs_number: plan.dom0Vcpus,
        VCPUs_utilisation: {},
        start_time: start,
        install_time: start,
        last_updated: NULL_DATE,
        hvm: false,
        current_domain_type: 'pv',
        ...(this.hasVmNuma ? { numa_optimised: true, numa_nodes: 1, numa_node_memory: { '0': mem } } : {}),
      },
      metricsRef,
    )
    consoles.forEach((cref, i) => {
      const uuid = this.uuid()
      this.table('console').set(
        cref,
        defaultRecord('console', this.release, {
          uuid,
          protocol: i === 0 ? 'rfb' : 'vt100',
          location: `https://${h.spec.address}/console?uuid=${uuid}`,
          VM: dom0Ref,
          other_config: {},
        }),
      )
    })
    arr(h.rec, 'resident_VMs').push(dom0Ref)
    this.takeMemory(h, mem, [0])
  }

  // -------------------------------------------------------------------------------------------
  // storage and networks

  private addSr(o: { name: string; description: string; type: string; contentType: string; shared: boolean; size: number; otherConfig: Record<string, string>; smConfig?: Record<string, string>; ops: string[]; toolsSr?: boolean }): string {
    const { ref } = this.add('SR', {
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

  private addPbd(hostRef: string, srRef: string, deviceConfig: Record<string, string>): void {
    const { ref } = this.add('PBD', { host: hostRef, SR: srRef, device_config: deviceConfig, currently_attached: true, other_config: {} })
    arr(this.get('SR', srRef), 'PBDs').push(ref)
    arr(this.get('host', hostRef), 'PBDs').push(ref)
  }

  private addVdi(o: { sr: string; name: string; description?: string; size: number; used?: number; type: string; readOnly?: boolean; sharable?: boolean; location?: string; iso?: boolean; toolsIso?: boolean; snapshotOf?: string; snapshotTime?: string; smConfig?: Record<string, string> }): string {
    const uuid = this.uuid()
    const { ref } = this.add('VDI', {
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
    arr(this.get('SR', o.sr), 'VDIs').push(ref)
    if (o.snapshotOf) arr(this.get('VDI', o.snapshotOf), 'snapshots').push(ref)
    return ref
  }

  /** the storage managers a host registers at start (SM objects), for the SR types the fleets use */
  private buildStorageManagers(): void {
    const caps = ['SR_PROBE', 'SR_UPDATE', 'VDI_CREATE', 'VDI_DELETE', 'VDI_ATTACH', 'VDI_DETACH', 'VDI_RESIZE', 'VDI_CLONE', 'VDI_SNAPSHOT', 'VDI_MIRROR', 'VDI_GENERATE_CONFIG', 'VDI_RESET_ON_BOOT/2', 'VDI_CONFIG_CBT', 'THIN_PROVISIONING']
    const sms: { type: string; name: string; description: string; driver: string; configuration: Record<string, string>; capabilities: string[] }[] = [
      { type: 'lvm', name: 'Local LVM', description: 'SR plugin which represents disks as VHD disks on Logical Volumes within a locally-attached Volume Group', driver: 'LVMSR', configuration: { device: 'local device path (required) (e.g. /dev/sda3)' }, capabilities: caps.filter((c) => c !== 'THIN_PROVISIONING') },
      { type: 'nfs', name: 'NFS VHD', description: 'SR plugin which stores disks as VHD files on a remote NFS filesystem', driver: 'NFSSR', configuration: { server: 'hostname or IP address', serverpath: 'path on remote server', nfsversion: 'Specifies the NFS protocol version' }, capabilities: caps },
      { type: 'ext', name: 'Local EXT3 VHD', description: 'SR plugin which represents disks as VHD files stored on a local EXT3 filesystem, created inside an LVM volume', driver: 'EXTSR', configuration: { device: 'local device path (required) (e.g. /dev/sda3)' }, capabilities: caps },
      { type: 'iso', name: 'ISO', description: 'Handles CD images stored as files in iso format', driver: 'ISOSR', configuration: { location: 'path to mount (required)', type: 'cifs or nfs_iso' }, capabilities: ['VDI_CREATE', 'VDI_DELETE', 'VDI_ATTACH', 'VDI_DETACH', 'SR_SCAN', 'SR_ATTACH', 'SR_DETACH'] },
      { type: 'udev', name: 'Local Devices', description: 'SR plugin which represents removable devices', driver: 'udevSR', configuration: { location: 'path to mount (required)' }, capabilities: ['VDI_INTRODUCE', 'VDI_ATTACH', 'VDI_DETACH', 'VDI_UPDATE', 'SR_UPDATE'] },
    ]
    for (const sm of sms) {
      this.add('SM', {
        name_label: sm.name,
        name_description: sm.description,
        type: sm.type,
        vendor: this.product.brand === 'XCP-ng' ? 'Vates SAS' : 'Citrix Systems Inc',
        copyright: this.product.brand === 'XCP-ng' ? '(C) 2024 Vates' : '(C) 2008 Citrix Systems Inc',
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

  private buildSharedStorage(): void {
    this.buildStorageManagers()
    const p = this.pool
    p.toolsSr = this.addSr({
      name: this.product.toolsSrName,
      description: `${this.product.toolsSrName} ISOs`,
      type: 'iso',
      contentType: 'iso',
      shared: true,
      size: 0,
      otherConfig: { xensource_internal: 'true', xenserver_tools_sr: 'true', 'i18n-key': 'xenserver-tools', 'i18n-original-value-name_label': this.product.toolsSrName, 'i18n-original-value-name_description': `${this.product.toolsSrName} ISOs` },
      smConfig: {},
      ops: SR_OPERATIONS_ISO,
      toolsSr: true,
    })
    p.toolsIso = this.addVdi({ sr: p.toolsSr, name: this.product.toolsIsoName, size: 70 * MiB + 524288, type: 'user', readOnly: true, sharable: true, location: this.product.toolsIsoName, iso: true, toolsIso: true })
    if (this.plan.sharedStorage) {
      p.nfsSr = this.addSr({
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
    if (this.plan.isoLibrary) {
      p.isoSr = this.addSr({
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
      for (const iso of isos) p.isoVdis.push(this.addVdi({ sr: p.isoSr, name: iso, size: (600 + this.rng.int(4000)) * MiB, type: 'user', readOnly: false, location: iso, iso: true }))
    }
    this.pool.rec.default_SR = p.nfsSr ?? NULL_REF
  }

  private addNetwork(name: string, bridge: string, description: string, otherConfig: Record<string, string>, mtu = 1500): string {
    const { ref } = this.add('network', { name_label: name, name_description: description, allowed_operations: [], VIFs: [], PIFs: [], MTU: mtu, other_config: otherConfig, bridge, managed: true })
    return ref
  }

  private buildNetworks(): void {
    const n = this.pool.networks
    n.eth0 = this.addNetwork('Pool-wide network associated with eth0', 'xenbr0', '', {})
    n.eth1 = this.addNetwork('Pool-wide network associated with eth1', 'xenbr1', '', {})
    if (this.plan.vlan) n.vlan = this.addNetwork('VLAN 20 (storage)', 'xapi1', 'Storage traffic', {}, 9000)
    n.internal = this.addNetwork('Host internal management network', 'xenapi', 'Network on which guests will be assigned a private link-local IP address which can be used to talk XenAPI', {
      ip_begin: '169.254.0.1',
      ip_end: '169.254.255.254',
      is_guest_installer_network: 'true',
      is_host_internal_management_network: 'true',
      netmask: '255.255.0.0',
    })
  }

  private addPif(h: HostState, o: { device: string; network: string; mac: string; vlan: number; physical: boolean; management: boolean; ip?: string; mtu?: number; pci?: string }): string {
    let metrics = NULL_REF
    if (o.physical) {
      metrics = this.add('PIF_metrics', {
        io_read_kbs: 0,
        io_write_kbs: 0,
        carrier: true,
        vendor_id: '8086',
        vendor_name: 'Intel Corporation',
        device_id: '1572',
        device_name: 'Ethernet Controller X710 for 10GbE SFP+',
        speed: 10000,
        duplex: true,
        pci_bus_path: o.pci ?? '',
        last_updated: NULL_DATE,
      }).ref
    }
    const { ref } = this.add('PIF', {
      device: o.device,
      network: o.network,
      host: h.ref,
      MAC: o.mac,
      MTU: o.mtu ?? 1500,
      VLAN: o.vlan,
      metrics,
      physical: o.physical,
      currently_attached: true,
      ip_configuration_mode: o.ip ? 'Static' : 'None',
      IP: o.ip ?? '',
      netmask: o.ip ? '255.255.255.0' : '',
      gateway: o.ip ? `${this.plan.addressPrefix}.254` : '',
      DNS: o.ip ? '10.0.0.2,10.0.0.3' : '',
      management: o.management,
      other_config: {},
      primary_address_type: 'IPv4',
      managed: true,
      properties: o.physical && !this.legacy ? { gro: 'on' } : {},
      capabilities: [],
      igmp_snooping_status: this.legacy ? 'unknown' : 'disabled',
    })
    arr(h.rec, 'PIFs').push(ref)
    arr(this.get('network', o.network), 'PIFs').push(ref)
    return ref
  }

  private buildHostNetworkAndStorage(index: number): void {
    const h = this.hosts[index]
    if (!h) return
    const n = this.pool.networks
    h.pifs.eth0 = this.addPif(h, { device: 'eth0', network: n.eth0, mac: this.mac(), vlan: -1, physical: true, management: true, ip: h.spec.address, pci: '0000:3b:00.0' })
    const eth1Mac = this.mac()
    h.pifs.eth1 = this.addPif(h, { device: 'eth1', network: n.eth1, mac: eth1Mac, vlan: -1, physical: true, management: false, pci: '0000:3b:00.1' })
    if (n.vlan) {
      const vlanPif = this.addPif(h, { device: 'eth1', network: n.vlan, mac: eth1Mac, vlan: 20, physical: false, management: false, mtu: 9000 })
      h.pifs.vlan = vlanPif
      const { ref: vlanRef } = this.add('VLAN', { tagged_PIF: h.pifs.eth1, untagged_PIF: vlanPif, tag: 20, other_config: {} })
      this.get('PIF', vlanPif).VLAN_master_of = vlanRef
      arr(this.get('PIF', h.pifs.eth1), 'VLAN_slave_of').push(vlanRef)
    }
    const localSize = (1800 + this.rng.int(1800)) * GiB
    h.localSr = this.addSr({
      name: 'Local storage',
      description: '',
      type: 'lvm',
      contentType: 'user',
      shared: false,
      size: localSize,
      otherConfig: { 'i18n-original-value-name_label': 'Local storage', 'i18n-key': 'local-storage' },
      smConfig: { allocation: 'thick', use_vhd: 'true', devserial: `scsi-36d0946606b1ce800${this.rng.hex8()}` },
      ops: SR_OPERATIONS_BLOCK,
    })
    this.addPbd(h.ref, h.localSr, { device: `/dev/disk/by-id/scsi-36d0946606b1ce800${this.rng.hex8()}-part3` })
    const dvd = this.addSr({ name: 'DVD drives', description: 'Physical DVD drives', type: 'udev', contentType: 'iso', shared: false, size: 0, otherConfig: { 'i18n-original-value-name_label': 'DVD drives', 'i18n-original-value-name_description': 'Physical DVD drives', 'i18n-key': 'local-hotplug-cd' }, smConfig: { type: 'cd' }, ops: SR_OPERATIONS_UDEV })
    this.addPbd(h.ref, dvd, { location: '/dev/xapi/cd' })
    const removable = this.addSr({ name: 'Removable storage', description: '', type: 'udev', contentType: 'disk', shared: false, size: 0, otherConfig: { 'i18n-original-value-name_label': 'Removable storage', 'i18n-key': 'local-hotplug-disk' }, smConfig: { type: 'block' }, ops: SR_OPERATIONS_UDEV })
    this.addPbd(h.ref, removable, { location: '/dev/xapi/block' })
    h.rec.suspend_image_sr = h.localSr
    h.rec.crash_dump_sr = h.localSr
    if (index === 0) {
      this.pool.rec.suspend_image_SR = h.localSr
      this.pool.rec.crash_dump_SR = h.localSr
      if (this.pool.rec.default_SR === NULL_REF) this.pool.rec.default_SR = h.localSr
    }
    this.addPbd(h.ref, this.pool.toolsSr, { location: '/opt/xensource/packages/iso', legacy_mode: 'true' })
    if (this.pool.nfsSr) this.addPbd(h.ref, this.pool.nfsSr, { server: '10.0.10.5', serverpath: '/export/xen', nfsversion: this.legacy ? '3' : '4.1' })
    if (this.pool.isoSr) this.addPbd(h.ref, this.pool.isoSr, { location: '//10.0.10.5/isos', type: 'cifs', username: 'isoreader' })
  }

  // -------------------------------------------------------------------------------------------
  // VMs

  private platformFor(os: OsSpec, vcpus: number): Record<string, string> {
    const cps = vcpus >= 4 && vcpus % 2 === 0 ? (vcpus >= 8 ? 4 : 2) : 1
    if (os.domainType === 'pv') return { 'cores-per-socket': String(cps), nx: 'true', pae: 'true', apic: 'true', acpi: '1', timeoffset: '0' }
    const p: Record<string, string> = {
      acpi: '1',
      apic: 'true',
      'cores-per-socket': String(cps),
      device_id: os.windows ? '0002' : '0001',
      hpet: 'true',
      nx: 'true',
      pae: 'true',
      timeoffset: os.windows ? '-28800' : '0',
      vga: 'std',
      videoram: '8',
      viridian: os.windows ? 'true' : 'false',
    }
    if (!this.legacy) p['device-model'] = os.uefi ? 'qemu-upstream-uefi' : 'qemu-upstream-compat'
    if (os.windows) {
      p.viridian_reference_tsc = 'true'
      p.viridian_time_ref_count = 'true'
      if (!this.legacy) {
        p.viridian_apic_assist = 'true'
        p.viridian_crash_ctl = 'true'
        p.viridian_stimer = 'true'
        p.acpi_laptop_slate = '1'
      }
    }
    if (os.secureBoot && !this.legacy) p.secureboot = 'true'
    if (os.key === 'win11' && !this.legacy) p.vtpm = 'true'
    return p
  }

  private recommendations(os: OsSpec): string {
    const parts = [
      `<restriction field="memory-static-max" max="${os.maxMemGiB * GiB}"/>`,
      `<restriction field="vcpus-max" max="${os.maxVcpus}"/>`,
      os.windows ? '<restriction field="has-vendor-device" value="true"/>' : '',
      this.legacy ? '' : `<restriction field="supports-bios" value="${os.uefi && os.secureBoot ? 'no' : 'yes'}"/>`,
      this.legacy ? '' : `<restriction field="supports-uefi" value="${os.uefi ? 'yes' : 'no'}"/>`,
      this.legacy ? '' : `<restriction field="supports-secure-boot" value="${os.secureBoot ? 'yes' : 'no'}"/>`,
      '<restriction max="255" property="number-of-vbds"/>',
      '<restriction max="7" property="number-of-vifs"/>',
      this.legacy ? '<restriction field="allow-gpu-passthrough" value="0"/>' : '',
    ]
    return `<restrictions>${parts.join('')}</restrictions>`
  }

  private biosStrings(): Record<string, string> {
    const b: Record<string, string> = {
      'bios-vendor': 'Xen',
      'bios-version': '',
      'system-manufacturer': 'Xen',
      'system-product-name': 'HVM domU',
      'system-version': '',
      'system-serial-number': '',
      'hp-rombios': '',
      'oem-1': 'Xen',
      'oem-2': 'MS_VM_CERT/SHA1/bdbeb6e0a816d43fa6d3fe8aaef04c2bad9d3e3d',
    }
    if (!this.legacy) {
      b['baseboard-asset-tag'] = ''
      b['baseboard-location-in-chassis'] = ''
      b['baseboard-manufacturer'] = ''
      b['baseboard-product-name'] = ''
      b['baseboard-serial-number'] = ''
      b['baseboard-version'] = ''
      b['enclosure-asset-tag'] = ''
    }
    return b
  }

  /** base64 of an EFI variable store, the size of a freshly installed guest's */
  private nvram(): Record<string, string> {
    const bytes = Buffer.alloc(256)
    for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(this.rng.int(0x100000000) >>> 0, i)
    bytes.write('VARS', 0, 'latin1')
    return { 'EFI-variables': bytes.toString('base64') }
  }

  private templateOtherConfig(os: OsSpec, name: string): Record<string, string> {
    const oc: Record<string, string> = {
      default_template: 'true',
      'install-methods': os.installMethods,
      disks: `<provision><disk device="0" size="${os.diskGiB * GiB}" sr="" bootable="true" type="system"/></provision>`,
      instant: 'true',
    }
    if (!os.windows) oc.linux_template = 'true'
    if (!this.legacy) oc.reference_label = name.toLowerCase().replace(/[^a-z0-9]+/g, '-')
    return oc
  }

  private buildTemplates(): void {
    const list = this.plan.defaultTemplates === 'all' ? this.product.templates : this.product.templates.slice(0, this.plan.defaultTemplates)
    for (const t of list) {
      const os = OSES[t.os]
      const mem = (os.memGiB[0] ?? 1) * GiB
      const metricsRef = this.ref()
      const vmRef = this.ref()
      const rec = defaultRecord('VM', this.release, {
        uuid: this.uuid(),
        name_label: t.name,
        name_description: `Template for ${t.name}`,
        power_state: 'Halted',
        user_version: 1,
        is_a_template: true,
        is_default_template: true,
        resident_on: NULL_REF,
        affinity: NULL_REF,
        memory_overhead: 0,
        memory_target: 0,
        memory_static_max: mem,
        memory_dynamic_max: mem,
        memory_dynamic_min: mem,
        memory_static_min: 512 * MiB,
        VCPUs_params: {},
        VCPUs_max: os.vcpus[0] ?? 1,
        VCPUs_at_startup: os.vcpus[0] ?? 1,
        actions_after_shutdown: 'destroy',
        actions_after_reboot: 'restart',
        actions_after_crash: 'restart',
        consoles: [],
        VIFs: [],
        VBDs: [],
        PV_bootloader: os.domainType === 'pv' ? 'eliloader' : '',
        HVM_boot_policy: os.domainType === 'pv' ? '' : 'BIOS order',
        HVM_boot_params: os.domainType === 'pv' ? {} : this.legacy ? { order: 'cdn' } : { order: 'cdn', firmware: os.uefi ? 'uefi' : 'bios' },
        HVM_shadow_multiplier: 1,
        platform: this.platformFor(os, os.vcpus[0] ?? 1),
        other_config: this.templateOtherConfig(os, t.name),
        domid: -1,
        is_control_domain: false,
        metrics: metricsRef,
        guest_metrics: NULL_REF,
        recommendations: this.recommendations(os),
        bios_strings: {},
        generation_id: '',
        hardware_platform_version: 0,
        has_vendor_device: !this.legacy && os.windows,
        reference_label: t.name.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
        domain_type: os.domainType === 'pv' ? 'pv' : 'hvm',
      })
      rec.allowed_operations = vmAllowedOperations(rec, false)
      this.table('VM').set(vmRef, rec)
      this.add('VM_metrics', { memory_actual: 0, VCPUs_number: 0, VCPUs_utilisation: {}, start_time: NULL_DATE, install_time: this.date(400), last_updated: NULL_DATE, hvm: false, current_domain_type: 'unspecified' }, metricsRef)
    }
    for (const t of this.plan.customTemplates) {
      this.buildGuest({ name: t.name, os: t.os, power: 'Halted', memGiB: OSES[t.os].memGiB[0] ?? 2, vcpus: OSES[t.os].vcpus[0] ?? 2, tools: true, description: 'Golden image, patched monthly' }, { template: true, diskGiB: t.diskGiB })
    }
  }

  private pickHost(spec: VmSpec, bytes: number): HostState | undefined {
    const fill = this.plan.maxFill ?? 0.8
    const fits = (h: HostState): boolean => h.freeBytes - bytes >= h.totalBytes * (1 - fill)
    const preferred = spec.host !== undefined ? this.hosts[spec.host % this.hosts.length] : undefined
    if (preferred && fits(preferred)) return preferred
    let best: HostState | undefined
    for (const h of this.hosts) if (fits(h) && (!best || h.freeBytes > best.freeBytes)) best = h
    return best
  }

  /** xenopsd best_effort in miniature: one node when it fits, else the fewest nodes with most free. */
  private placeNuma(h: HostState, bytes: number, masked: boolean): Record<string, number> {
    const nodes = h.nodeFree.map((free, n) => ({ n, free })).sort((a, b) => b.free - a.free || a.n - b.n)
    if (masked) return this.takeMemory(h, bytes, h.nodeFree.map((_, n) => n))
    const first = nodes[0]
    if (first && first.free >= bytes) return this.takeMemory(h, bytes, [first.n])
    const chosen: number[] = []
    let sum = 0
    for (const { n, free } of nodes) {
      chosen.push(n)
      sum += Math.max(0, free)
      if (sum >= bytes) break
    }
    return this.takeMemory(h, bytes, chosen.sort((a, b) => a - b))
  }

  private buildGuest(spec: VmSpec, asTemplate?: { template: true; diskGiB: number }): string {
    const os = OSES[spec.os]
    const isTemplate = asTemplate !== undefined
    const mem = spec.memGiB * GiB
    const overhead = roundPages(Math.round(spec.memGiB * 8.5 + 2.5) * MiB)
    let power: PowerState = isTemplate ? 'Halted' : spec.power
    let host: HostState | undefined
    if (power === 'Running' || power === 'Paused') {
      host = this.pickHost(spec, mem + overhead)
      if (!host) power = 'Halted'
    }
    const running = power === 'Running' || power === 'Paused'
    const everBooted = !isTemplate && (running || power === 'Suspended' || this.rng.chance(0.7))
    const tools = !isTemplate && spec.tools !== false && os.osVersion !== undefined
    const vmRef = this.ref()
    const metricsRef = this.ref()
    const vmUuid = this.uuid()
    const installDaysAgo = 30 + this.rng.int(700)
    const startDaysAgo = running ? this.rng.int(Math.min(installDaysAgo, 120)) : 0

    // ---- disks
    const vbds: string[] = []
    const diskSr = spec.localDisk || !this.pool.nfsSr ? (host ?? this.hosts[this.rng.int(this.hosts.length)] ?? this.hosts[0])?.localSr ?? NULL_REF : this.pool.nfsSr
    const systemGiB = asTemplate?.diskGiB ?? os.diskGiB + 8 * this.rng.int(3)
    const disks: { gib: number; name: string; desc: string; type: string }[] = [
      { gib: systemGiB, name: `${spec.name} 0`, desc: isTemplate ? 'Created by template provisioner' : this.rng.chance(0.5) ? 'Created by template provisioner' : '', type: 'system' },
      ...(spec.dataDisksGiB ?? []).map((gib, i) => ({ gib, name: `${spec.name}-data${i + 1}`, desc: i === 0 ? (os.windows ? 'D:\\' : '/var/lib/data') : '', type: 'user' })),
    ]
    const hostAttach = running && host ? `host_${host.ref}` : undefined
    disks.forEach((d, i) => {
      const vdi = this.addVdi({
        sr: diskSr,
        name: d.name,
        description: d.desc,
        size: d.gib * GiB,
        used: roundPages(d.gib * GiB * (0.2 + this.rng.next() * 0.7)),
        type: d.type,
        smConfig: hostAttach ? { [hostAttach]: 'RW', vdi_type: 'vhd' } : { vdi_type: 'vhd' },
      })
      const userdevice = String(i === 0 ? 0 : i)
      const vbd = this.addVbd({ vm: vmRef, vdi, userdevice, device: `xvd${String.fromCharCode(97 + i)}`, bootable: i === 0, type: 'Disk', mode: 'RW', running, empty: false, owner: i === 0 })
      vbds.push(vbd)
    })
    if (os.domainType !== 'pv') {
      const cdVdi = spec.cdTools ? this.pool.toolsIso : NULL_REF
      vbds.unshift(this.addVbd({ vm: vmRef, vdi: cdVdi, userdevice: '3', device: 'xvdd', bootable: false, type: 'CD', mode: 'RO', running, empty: cdVdi === NULL_REF, owner: false }))
    }

    // ---- NICs
    const vifs: string[] = []
    const nics = spec.nics ?? 1
    const macs: string[] = []
    for (let i = 0; i < nics; i++) {
      const net = i === 0 ? this.pool.networks.eth0 : i === 1 && this.pool.networks.vlan ? this.pool.networks.vlan : this.pool.networks.eth1
      const mac = this.mac()
      macs.push(mac)
      const { ref } = this.add('VIF', {
        allowed_operations: isTemplate ? [] : vifAllowedOperations(running),
        current_operations: {},
        device: String(i),
        network: net,
        VM: vmRef,
        MAC: mac,
        MTU: i === 1 && this.pool.networks.vlan ? 9000 : 1500,
        other_config: {},
        currently_attached: running,
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
      arr(this.get('network', net), 'VIFs').push(ref)
      vifs.push(ref)
    }

    // ---- guest metrics
    let guestMetrics = NULL_REF
    const ips: string[] = []
    if (tools && everBooted && os.osVersion) {
      const networks: Record<string, string> = {}
      for (let i = 0; i < nics; i++) {
        const ip = this.guestIp()
        ips.push(ip)
        networks[`${i}/ip`] = ip
        if (!this.legacy) networks[`${i}/ipv4/0`] = ip
        if (this.rng.chance(0.6) || os.windows) networks[`${i}/ipv6/0`] = `fe80:0000:0000:0000:${this.rng.hex8().slice(0, 4)}:${this.rng.hex8().slice(0, 4)}:${this.rng.hex8().slice(0, 4)}:${this.rng.hex8().slice(0, 4)}`
      }
      const other: Record<string, string> = os.windows
        ? { 'data-ts': '1', 'feature-balloon': '1', 'feature-poweroff': '1', 'feature-reboot': '1', 'feature-s3': '1', 'feature-s4': '1', 'feature-setcomputername': '1', 'feature-static-ip-setting': '1', 'feature-suspend': '1', 'feature-ts': '1', 'feature-ts2': '1', 'feature-xs-batcmd': '1', 'has-vendor-device': this.legacy ? '0' : '1', 'platform-feature-multiprocessor-suspend': '1' }
        : { 'feature-balloon': '1', 'feature-shutdown': '1', 'feature-suspend': '1', 'feature-vcpu-hotplug': '1', 'has-vendor-device': '0', 'platform-feature-multiprocessor-suspend': '1' }
      const drivers = os.windows ? { ...this.product.pvDrivers } : this.legacy ? { ...this.product.pvDrivers } : { major: '8', minor: '4', micro: '0', build: '1' }
      guestMetrics = this.add('VM_guest_metrics', {
        os_version: { ...os.osVersion },
        PV_drivers_version: drivers,
        PV_drivers_up_to_date: true,
        memory: {},
        disks: {},
        networks,
        other,
        last_updated: running ? this.date(startDaysAgo) : this.date(3 + this.rng.int(60)),
        other_config: {},
        live: running,
        can_use_hotplug_vbd: os.windows ? 'yes' : 'unspecified',
        can_use_hotplug_vif: os.windows ? 'yes' : 'unspecified',
        PV_drivers_detected: true,
        netbios_name: os.windows && !this.legacy ? { netbios_name: spec.name.toUpperCase().slice(0, 15) } : {},
      }).ref
    }

    // ---- placement
    let numaMemory: Record<string, number> = {}
    let domid = -1
    if (running && host) {
      numaMemory = this.placeNuma(host, mem + overhead, spec.mask !== undefined)
      domid = host.nextDomid++
      arr(host.rec, 'resident_VMs').push(vmRef)
    }
    const numaNodes = Object.keys(numaMemory).length
    const hostNodes = host?.spec.numa.nodes ?? 1

    // ---- consoles
    const consoles: string[] = []
    if (running && host) {
      const protocols = os.domainType === 'pv' ? ['vt100', 'rfb'] : ['rfb']
      for (const protocol of protocols) {
        const uuid = this.uuid()
        const { ref } = this.add('console', { uuid, protocol, location: `https://${host.spec.address}/console?uuid=${uuid}`, VM: vmRef, other_config: {} })
        consoles.push(ref)
      }
    }

    // ---- suspend image
    let suspendVdi = NULL_REF
    if (power === 'Suspended') {
      const sr = this.pool.nfsSr ?? this.hosts[0]?.localSr ?? NULL_REF
      suspendVdi = this.addVdi({ sr, name: 'Suspend image', description: `Suspend image for VM ${vmUuid}`, size: mem + 2 * MiB, type: 'suspend' })
    }

    // ---- other_config, the way templates, XenCenter and installers leave it
    const otherConfig: Record<string, string> = {
      base_template_name: this.product.templates.find((t) => t.os === spec.os)?.name ?? 'Other install media',
      'install-methods': os.installMethods,
      mac_seed: this.uuid(),
    }
    if (!os.windows) otherConfig.linux_template = 'true'
    if (this.rng.chance(0.4)) otherConfig.import_task = this.ref() // long gone task: a real dangling ref
    if (this.rng.chance(0.5)) otherConfig.instant = 'true'
    if (spec.folder) otherConfig.folder = spec.folder
    if (this.rng.chance(0.15)) otherConfig['XenCenter.CustomFields.owner'] = this.rng.pick(['ops-team', 'j.smith', 'dba', ''])
    if (this.rng.chance(0.2)) otherConfig.auto_poweron = 'true'
    if (!running && everBooted && !isTemplate) {
      otherConfig.last_shutdown_action = 'Destroy'
      otherConfig.last_shutdown_initiator = this.rng.pick(['internal', 'external'])
      otherConfig.last_shutdown_reason = this.rng.pick(['halted', 'halted', 'rebooted'])
      otherConfig.last_shutdown_time = this.date(1 + this.rng.int(90))
    }
    if (!this.legacy && this.rng.chance(0.2)) otherConfig['xenrt-distro'] = os.distroTag
    const ext = this.plan.externalConsoles?.[spec.name]
    if (ext) otherConfig[EXTERNAL_VNC_KEY] = `${ext.host}:${ext.port}`

    const xenstore: Record<string, string> = { 'vm-data': '' }
    if (os.uefi || os.windows) xenstore['vm-data/mmio-hole-size'] = '268435456'
    if (this.rng.chance(0.25) && macs[0]) {
      xenstore['vm-data/networks'] = ''
      xenstore['vm-data/networks/0'] = ''
      xenstore['vm-data/networks/0/mac'] = macs[0]
      xenstore['vm-data/networks/0/name'] = 'Pool-wide network associated with eth0'
      if (ips[0]) {
        xenstore['vm-data/networks/0/ip'] = ips[0]
        xenstore['vm-data/networks/0/netmask'] = '255.255.0.0'
        xenstore['vm-data/networks/0/gateway'] = `${this.plan.guestNet}.0.1`
        xenstore['vm-data/networks/0/prefix'] = '16'
        xenstore['vm-data/networks/0/type'] = 'static'
      }
    }

    const dynMin = !os.windows && spec.memGiB >= 4 && this.rng.chance(0.3) ? mem / 2 : mem
    const vcpuParams: Record<string, string> = spec.mask !== undefined ? { mask: spec.mask } : this.rng.chance(0.3) ? { weight: '256' } : {}
    const templateName = otherConfig.base_template_name ?? ''
    const rec = defaultRecord('VM', this.release, {
      uuid: vmUuid,
      name_label: spec.name,
      name_description: spec.description ?? (isTemplate ? '' : this.rng.pick(['', '', 'Created by XenCenter', `${os.osVersion?.name?.split('|')[0] ?? templateName}`])),
      power_state: power,
      user_version: 1,
      is_a_template: isTemplate,
      is_default_template: false,
      suspend_VDI: suspendVdi,
      resident_on: running && host ? host.ref : NULL_REF,
      scheduled_to_be_resident_on: NULL_REF,
      affinity: spec.affinity !== undefined ? (this.hosts[spec.affinity]?.ref ?? NULL_REF) : NULL_REF,
      memory_overhead: overhead,
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
      HVM_boot_params: os.domainType === 'pv' ? {} : this.legacy ? { order: this.rng.pick(['cdn', 'dc', 'cd']) } : os.uefi ? { firmware: 'uefi', order: 'cd' } : { firmware: 'bios', order: this.rng.pick(['cdn', 'dc', 'cd']) },
      HVM_shadow_multiplier: 1,
      platform: this.platformFor(os, spec.vcpus),
      PCI_bus: '',
      other_config: otherConfig,
      domid,
      domarch: '',
      last_boot_CPU_flags: everBooted ? { vendor: host?.hw.cpu.vendor ?? this.hosts[0]?.hw.cpu.vendor ?? 'GenuineIntel', features: (host ?? this.hosts[0])?.hw.cpu.featuresHvm ?? '' } : {},
      is_control_domain: false,
      metrics: metricsRef,
      guest_metrics: guestMetrics,
      last_booted_record: '',
      recommendations: this.recommendations(os),
      xenstore_data: xenstore,
      ha_always_run: spec.haRestart === true,
      ha_restart_priority: spec.haRestart ? 'restart' : '',
      tags: spec.tags ?? [],
      blocked_operations: spec.blocked ?? {},
      bios_strings: everBooted || isTemplate ? this.biosStrings() : {},
      generation_id: os.windows && everBooted ? `${this.rng.int(1e9)}${this.rng.int(1e9)}:${this.rng.int(1e9)}${this.rng.int(1e9)}` : '',
      hardware_platform_version: this.legacy ? 0 : 2,
      has_vendor_device: !this.legacy && os.windows,
      reference_label: this.legacy ? '' : templateName.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
      domain_type: os.domainType,
      NVRAM: os.uefi && !this.legacy && everBooted ? this.nvram() : {},
      snapshots: [],
      children: [],
      parent: spec.danglingParent ? this.ref() : NULL_REF,
    })
    rec.allowed_operations = vmAllowedOperations(rec, tools)
    this.table('VM').set(vmRef, rec)
    for (const vbdRef of vbds) {
      const vbd = this.get('VBD', vbdRef)
      vbd.allowed_operations = vbdAllowedOperations(vbd, running)
    }
    for (const vbdRef of vbds) {
      const vdi = str(this.get('VBD', vbdRef), 'VDI')
      if (vdi !== NULL_REF && vdi !== this.pool.toolsIso) this.get('VDI', vdi).allowed_operations = vdiAllowedOperations({ attachedToRunning: running, iso: false, snapshot: false, suspend: false })
    }

    const metricsOverrides: SimRecord = {
      memory_actual: running ? mem : 0,
      VCPUs_number: running ? spec.vcpus : 0,
      VCPUs_utilisation: {},
      VCPUs_CPU: {},
      VCPUs_params: {},
      VCPUs_flags: {},
      state: [],
      start_time: running ? this.date(startDaysAgo) : NULL_DATE,
      install_time: this.date(installDaysAgo),
      last_updated: NULL_DATE,
      other_config: {},
      hvm: running && os.domainType !== 'pv',
      nested_virt: false,
      nomigrate: false,
      current_domain_type: running ? os.domainType : 'unspecified',
    }
    if (this.hasVmNuma && running) {
      metricsOverrides.numa_nodes = numaNodes
      metricsOverrides.numa_optimised = numaNodes === 1 || numaNodes < hostNodes
      metricsOverrides.numa_node_memory = Object.fromEntries(Object.entries(numaMemory).map(([n, b]) => [n, roundPages((b * mem) / (mem + overhead))]))
    }
    this.add('VM_metrics', metricsOverrides, metricsRef)

    for (let s = 0; s < (spec.snapshots ?? 0); s++) this.buildSnapshot(vmRef, s, power)
    return vmRef
  }

  private addVbd(o: { vm: string; vdi: string; userdevice: string; device: string; bootable: boolean; type: 'CD' | 'Disk'; mode: 'RO' | 'RW'; running: boolean; empty: boolean; owner: boolean }): string {
    const { ref } = this.add('VBD', {
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
    if (o.vdi !== NULL_REF) arr(this.get('VDI', o.vdi), 'VBDs').push(ref)
    return ref
  }

  /** VM.snapshot as xapi_vm_clone does it: a halted template copy with snapshot VDIs, VIFs and metrics. */
  private buildSnapshot(srcRef: string, index: number, srcPower: PowerState): void {
    const src = this.get('VM', srcRef)
    const snapRef = this.ref()
    const daysAgo = 2 + index * 7 + this.rng.int(5)
    const when = this.date(daysAgo)
    const vbds: string[] = []
    for (const vbdRef of arr(src, 'VBDs')) {
      if (typeof vbdRef !== 'string') continue
      const vbd = this.get('VBD', vbdRef)
      const vdiRef = str(vbd, 'VDI')
      let snapVdi = NULL_REF
      if (vbd.type === 'Disk' && vdiRef !== NULL_REF) {
        const vdi = this.get('VDI', vdiRef)
        snapVdi = this.addVdi({ sr: str(vdi, 'SR'), name: str(vdi, 'name_label'), description: str(vdi, 'name_description'), size: num(vdi, 'virtual_size'), used: roundPages(num(vdi, 'physical_utilisation') * 0.1), type: str(vdi, 'type'), snapshotOf: vdiRef, snapshotTime: when })
        this.get('VDI', snapVdi).allowed_operations = vdiAllowedOperations({ attachedToRunning: false, iso: false, snapshot: true, suspend: false })
      }
      const ref = this.addVbd({ vm: snapRef, vdi: snapVdi, userdevice: str(vbd, 'userdevice'), device: str(vbd, 'device'), bootable: vbd.bootable === true, type: vbd.type === 'CD' ? 'CD' : 'Disk', mode: vbd.mode === 'RO' ? 'RO' : 'RW', running: false, empty: snapVdi === NULL_REF, owner: vbd.bootable === true })
      this.get('VBD', ref).allowed_operations = []
      vbds.push(ref)
    }
    const vifs: string[] = []
    for (const vifRef of arr(src, 'VIFs')) {
      if (typeof vifRef !== 'string') continue
      const vif = this.get('VIF', vifRef)
      const { ref } = this.add('VIF', { ...vif, uuid: this.uuid(), VM: snapRef, currently_attached: false, allowed_operations: [] })
      arr(this.get('network', str(vif, 'network')), 'VIFs').push(ref)
      vifs.push(ref)
    }
    const metricsRef = this.ref()
    const srcMetrics = this.get('VM_metrics', str(src, 'metrics'))
    this.add('VM_metrics', { ...srcMetrics, uuid: this.uuid(), memory_actual: 0, VCPUs_number: 0, start_time: NULL_DATE, hvm: false, current_domain_type: 'unspecified', ...(this.hasVmNuma ? { numa_nodes: 0, numa_optimised: false, numa_node_memory: {} } : {}) }, metricsRef)
    let gm = NULL_REF
    const srcGm = str(src, 'guest_metrics')
    if (srcGm !== NULL_REF) gm = this.add('VM_guest_metrics', { ...this.get('VM_guest_metrics', srcGm), uuid: this.uuid(), live: false }).ref
    const name = index === 0 ? `${str(src, 'name_label')} before upgrade` : `${str(src, 'name_label')} ${when.slice(0, 8)}`
    const srcOther = map(src, 'other_config')
    const otherConfig: Record<string, SimValue> = { ...srcOther }
    delete otherConfig[EXTERNAL_VNC_KEY]
    const rec: SimRecord = cloneRecord({
      ...src,
      uuid: this.uuid(),
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
    this.table('VM').set(snapRef, rec)
    arr(src, 'snapshots').push(snapRef)
    // the VM now descends from its newest snapshot; the previous parent gains no child link to keep the chain simple
    const oldParent = str(src, 'parent')
    if (oldParent !== NULL_REF) {
      const p = this.objects.get('VM')?.get(oldParent)
      if (p) {
        const children = arr(p, 'children')
        const i = children.indexOf(srcRef)
        if (i >= 0) children[i] = snapRef
      }
    }
    src.parent = snapRef
  }

  // -------------------------------------------------------------------------------------------

  private buildMessages(): void {
    const vms = [...(this.objects.get('VM') ?? new Map<string, SimRecord>()).values()].filter((v) => v.is_a_template === false && v.is_control_domain === false)
    const kinds: { name: string; priority: number; cls: string; body: (uuid: string, label: string) => string; target: 'host' | 'vm' | 'pool' | 'sr' }[] = [
      { name: 'VM_STARTED', priority: 5, cls: 'VM', target: 'vm', body: (_u, l) => `VM '${l}' started` },
      { name: 'VM_SHUTDOWN', priority: 5, cls: 'VM', target: 'vm', body: (_u, l) => `VM '${l}' shutdown` },
      { name: 'ALARM', priority: 3, cls: 'Host', target: 'host', body: () => `value: ${(0.9 + this.rng.next() * 0.09).toFixed(6)}\nconfig:\n<variable>\n\n<name value="cpu_usage"/>\n\n<alarm_trigger_level value="0.9"/>\n\n</variable>\n` },
      { name: 'HOST_CLOCK_SKEW_DETECTED', priority: 3, cls: 'Host', target: 'host', body: () => 'The clock on this host has drifted from the pool master by more than 5 seconds' },
      { name: 'PBD_PLUG_FAILED_ON_SERVER_START', priority: 2, cls: 'Host', target: 'host', body: () => '' },
      { name: 'LICENSE_EXPIRES_SOON', priority: 2, cls: 'Host', target: 'host', body: () => 'The license for this host expires in 14 days' },
      { name: 'SR_BACKEND_FAILURE_PBD_PLUG', priority: 1, cls: 'SR', target: 'sr', body: () => 'Error code: SR_BACKEND_FAILURE_73 Error parameters: , NFS mount error [opterr=mount failed with return code 32]' },
      { name: 'POOL_MASTER_TRANSITION', priority: 4, cls: 'Pool', target: 'pool', body: () => 'The pool master has changed' },
    ]
    const hosts = this.hosts
    const srs = [...(this.objects.get('SR') ?? new Map<string, SimRecord>()).values()]
    for (let i = 0; i < this.plan.messages; i++) {
      const k = kinds[i % kinds.length]
      if (!k) continue
      let uuid = str(this.pool.rec, 'uuid')
      let label = this.plan.name
      if (k.target === 'vm' && vms.length) {
        const vm = this.rng.pick(vms)
        uuid = str(vm, 'uuid')
        label = str(vm, 'name_label')
      } else if (k.target === 'host' && hosts.length) {
        const h = this.rng.pick(hosts)
        uuid = str(h.rec, 'uuid')
        label = str(h.rec, 'name_label')
      } else if (k.target === 'sr' && srs.length) {
        const sr = this.rng.pick(srs)
        uuid = str(sr, 'uuid')
        label = str(sr, 'name_label')
      }
      this.add('message', { name: k.name, priority: k.priority, cls: k.cls, obj_uuid: uuid, timestamp: this.date(this.rng.int(10)), body: k.body(uuid, label) })
    }
  }

  private finish(): void {
    for (const h of this.hosts) h.metrics.memory_free = Math.max(0, h.freeBytes)
    // pool.cpu_info sums only cpu_count and socket_count (create_pool_cpuinfo)
    const first = this.hosts[0]
    if (first) {
      const info = map(first.rec, 'cpu_info')
      this.pool.rec.cpu_info = {
        cpu_count: String(this.hosts.reduce((a, h) => a + cpuCount(h.hw.topology), 0)),
        socket_count: String(this.hosts.reduce((a, h) => a + h.hw.topology.sockets, 0)),
        vendor: String(info.vendor ?? ''),
        features_pv: String(info.features_pv ?? ''),
        features_hvm: String(info.features_hvm ?? ''),
        ...(this.legacy ? {} : { features_pv_host: String(info.features_pv_host ?? ''), features_hvm_host: String(info.features_hvm_host ?? '') }),
      }
      this.pool.rec.master = first.ref
    }
    // SR usage follows its VDIs
    for (const sr of this.objects.get('SR')?.values() ?? []) {
      let virt = 0
      let phys = 0
      for (const v of arr(sr, 'VDIs')) {
        if (typeof v !== 'string') continue
        const vdi = this.get('VDI', v)
        virt += num(vdi, 'virtual_size')
        phys += num(vdi, 'physical_utilisation')
      }
      sr.virtual_allocation = virt
      if (sr.type === 'iso' || sr.type === 'udev') {
        sr.physical_utilisation = phys
        if (num(sr, 'physical_size') < phys) sr.physical_size = phys
      } else sr.physical_utilisation = phys + 4 * MiB * arr(sr, 'VDIs').length
    }
  }
}
