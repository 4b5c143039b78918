/** A host as XAPI holds it: host, host_metrics, host_cpu records, and its control domain (dom0). */
import type { SimHostSpec } from '../model'
import { defaultRecord, NULL_DATE, NULL_REF, xapiDate } from '../records'
import { arr, FLEET_EPOCH_MS, GiB, MiB, roundPages, type BuildContext, type HostState } from './context'
import { cpuCount } from './hardware'
import { HOST_OPERATIONS } from './ops'
import type { HostPlan } from './plan'
import { takeMemory } from './placement'
import { licenseParams } from './products'

export function buildHost(b: BuildContext, plan: HostPlan, index: number): void {
  const t = plan.hw.topology
  const address = `${b.plan.addressPrefix}.${index + 1}`
  const cpus = cpuCount(t)
  const totalBytes = (t.nodeMemMiB.reduce((sum, m) => sum + m, 0) - plan.hw.holeMiB) * MiB
  // Xen's own reservation: the real 7.2 sample reserves 4.5 GiB of 256 GiB
  const xenOverhead = roundPages(totalBytes * 0.012 + 1 * GiB)
  const hostRef = b.ref()
  const metricsRef = b.ref()
  const dom0Ref = b.ref()
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
  if (!b.legacy) {
    cpuInfo.features_pv_host = plan.hw.cpu.featuresPvHost
    cpuInfo.features_hvm_host = plan.hw.cpu.featuresHvmHost
  }
  if (b.hasThreadsPerCore) cpuInfo.threads_per_core = String(t.threadsPerCore)
  if (b.hasNrNodes) cpuInfo.nr_nodes = String(t.nodes)

  const hostCpus: string[] = []
  for (let n = 0; n < cpus; n++) {
    const { ref } = b.add('host_cpu', {
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
      utilisation: Math.round(b.rng.next() * 3000) / 10000,
    })
    hostCpus.push(ref)
  }

  const bootDaysAgo = 20 + b.rng.int(200)
  const sw = { ...b.product.softwareVersion }
  const rec = defaultRecord('host', b.release, {
    uuid: b.uuid(),
    name_label: plan.name,
    name_description: 'Default install',
    memory_overhead: xenOverhead,
    allowed_operations: HOST_OPERATIONS.slice(),
    API_version_major: b.product.apiMajor,
    API_version_minor: b.product.apiMinor,
    API_version_vendor: 'XenSource',
    API_version_vendor_implementation: {},
    enabled: true,
    software_version: sw,
    other_config: {
      agent_start_time: `${Math.floor(FLEET_EPOCH_MS / 1000) - bootDaysAgo * 86400 + 95}.`,
      boot_time: `${Math.floor(FLEET_EPOCH_MS / 1000) - bootDaysAgo * 86400}.`,
      iscsi_iqn: `iqn.2024-03.com.example:${b.rng.hex8()}`,
      last_blob_sync_time: `${Math.floor(FLEET_EPOCH_MS / 1000) - 3600}.41`,
      multipathhandle: 'dmp',
      multipathing: 'false',
    },
    capabilities: ['xen-3.0-x86_64', 'hvm-3.0-x86_32', 'hvm-3.0-x86_32p', 'hvm-3.0-x86_64', ''],
    cpu_configuration: {},
    sched_policy: 'credit',
    supported_bootloaders: b.legacy ? ['pygrub', 'eliloader'] : ['pygrub'],
    resident_VMs: [],
    logging: {},
    PIFs: [],
    PBDs: [],
    host_CPUs: hostCpus,
    cpu_info: cpuInfo,
    hostname: plan.name,
    address,
    metrics: metricsRef,
    license_params: licenseParams(b.product, t.sockets),
    edition: b.product.edition,
    editions: b.product.editions,
    license_server: { address: 'localhost', port: '27000' },
    bios_strings: { ...plan.hw.biosStrings },
    chipset_info: { iommu: 'true' },
    ssl_legacy: b.legacy,
    display: 'enabled',
    virtual_hardware_platform_versions: [0, 1, 2],
    control_domain: dom0Ref,
    iscsi_iqn: `iqn.2024-03.com.example:${b.rng.hex8()}`,
    multipathing: false,
    tls_verification_enabled: !b.legacy,
    last_software_update: b.legacy ? NULL_DATE : b.date(bootDaysAgo),
    latest_synced_updates_applied: b.product.brand === 'XenServer' && !b.legacy ? 'yes' : 'unknown',
    numa_affinity_policy: plan.numaAffinityPolicy ?? 'default_policy',
    last_update_hash: b.legacy ? '' : b.rng.hex8() + b.rng.hex8(),
    timezone: plan.timezone ?? 'UTC',
    ntp_mode: plan.ntpServers?.length ? 'ntp_mode_custom' : 'ntp_mode_dhcp',
    ...(plan.ntpServers?.length ? { ntp_custom_servers: [...plan.ntpServers] } : {}),
    ssh_enabled: true,
  })
  b.table('host').set(hostRef, rec)

  const metrics = defaultRecord('host_metrics', b.release, {
    uuid: b.uuid(),
    memory_total: totalBytes,
    memory_free: totalBytes,
    live: true,
    last_updated: xapiDate(new Date(FLEET_EPOCH_MS)),
  })
  b.table('host_metrics').set(metricsRef, metrics)

  const nodeFree = t.nodeMemMiB.map((m, i) => (m - (i === 0 ? plan.hw.holeMiB : 0)) * MiB)
  const spec: SimHostSpec = { ref: hostRef, address, numa: t, ...(plan.clockSkewS ? { clockSkewMs: plan.clockSkewS * 1000 } : {}) }
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
  b.hosts.push(state)
  // Xen's reservation and dom0 live on node 0, like `xl info -n` shows them
  takeMemory(state, xenOverhead, [0])
  buildControlDomain(b, state, dom0Ref, plan, bootDaysAgo)
}

/** dom0: the control domain, its metrics and consoles, resident on the host from boot */
function buildControlDomain(b: BuildContext, h: HostState, dom0Ref: string, plan: HostPlan, bootDaysAgo: number): void {
  const mem = plan.dom0MemGiB * GiB
  const metricsRef = b.ref()
  const consoles = [b.ref(), b.ref()]
  const start = b.date(bootDaysAgo)
  b.table('VM').set(
    dom0Ref,
    defaultRecord('VM', b.release, {
      uuid: b.uuid(),
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
  b.add(
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
      ...(b.hasVmNuma ? { numa_optimised: true, numa_nodes: 1, numa_node_memory: { '0': mem } } : {}),
    },
    metricsRef,
  )
  consoles.forEach((cref, i) => {
    const uuid = b.uuid()
    b.table('console').set(
      cref,
      defaultRecord('console', b.release, {
        uuid,
        protocol: i === 0 ? 'rfb' : 'vt100',
        location: `https://${h.spec.address}/console?uuid=${uuid}`,
        VM: dom0Ref,
        other_config: {},
      }),
    )
  })
  arr(h.rec, 'resident_VMs').push(dom0Ref)
  takeMemory(h, mem, [0])
}
