/**
 * A small, hand-described pool for the simulator's own tests: two hosts, dom0s, a running VM,
 * a halted VM with a disk and a NIC, a template and a default template. Independent of the
 * fleets module so protocol tests do not move when fleets get richer.
 */
import { randomUUID } from 'node:crypto'
import type { SimFleet, SimHostSpec, SimNumaTopology, SimPoolSpec, SimRecord, SimTable } from '../../sim/model'
import { defaultRecord } from '../../sim/records'

const GiB = 1024 ** 3

function ref(): string {
  return `OpaqueRef:${randomUUID()}`
}

const NUMA: SimNumaTopology = {
  siblingNumbering: 'adjacent',
  sockets: 1,
  nodes: 1,
  coresPerSocket: 4,
  threadsPerCore: 2,
  nodeMemMiB: [65536],
  distances: [[10]],
}

export interface TinyPool {
  spec: SimPoolSpec
  refs: {
    pool: string
    hosts: string[]
    running: string
    halted: string
    template: string
    defaultTemplate: string
    dom0s: string[]
    sr: string
    network: string
  }
}

export function tinyPool(opts: { name?: string; release?: string; jsonRpc?: boolean; addressBase?: string; hostMemGiB?: number; hostCount?: number } = {}): TinyPool {
  const release = opts.release ?? '24.16.0'
  const objects = new Map<string, SimTable>()
  const put = (cls: string, r: string, overrides: SimRecord): string => {
    let t = objects.get(cls)
    if (!t) {
      t = new Map()
      objects.set(cls, t)
    }
    t.set(r, defaultRecord(cls, release, { uuid: randomUUID(), ...overrides }))
    return r
  }
  const base = opts.addressBase ?? '127.78.1'
  const hostSpecs: SimHostSpec[] = Array.from({ length: Math.max(2, opts.hostCount ?? 2) }, (_, k) => k + 1).map((i) => ({ ref: ref(), address: `${base}.${i}`, numa: NUMA }))
  const poolRef = ref()
  const srRef = ref()
  const netRef = ref()
  const dom0s: string[] = []
  const hostMem = (opts.hostMemGiB ?? 64) * GiB
  hostSpecs.forEach((h, i) => {
    const metrics = put('host_metrics', ref(), { memory_total: hostMem, memory_free: hostMem - 4 * GiB, live: true })
    const dom0 = ref()
    const dom0Metrics = put('VM_metrics', ref(), { memory_actual: 4 * GiB, VCPUs_number: 4 })
    put('VM', dom0, {
      name_label: `Control domain on host: sim-host-${i + 1}`,
      is_control_domain: true,
      power_state: 'Running',
      resident_on: h.ref,
      domid: 0,
      memory_dynamic_max: 4 * GiB,
      memory_static_max: 4 * GiB,
      metrics: dom0Metrics,
      domain_type: 'pv',
    })
    dom0s.push(dom0)
    put('host', h.ref, {
      name_label: `sim-host-${i + 1}`,
      hostname: `sim-host-${i + 1}`,
      address: h.address,
      enabled: true,
      metrics,
      resident_VMs: [dom0],
      control_domain: dom0,
      API_version_major: 2,
      API_version_minor: 21,
      software_version: { product_version: '8.3.0', xapi: '24.16' },
      cpu_info: { cpu_count: '8', socket_count: '1', threads_per_core: '2', nr_nodes: '1' },
    })
  })
  put('pool', poolRef, { name_label: opts.name ?? 'tiny', master: hostSpecs[0]?.ref ?? '', default_SR: srRef, other_config: {} })
  // the SR is reachable from every host (a PBD each, plugged) through an 'ext' storage manager
  const pbds = hostSpecs.map((h) => put('PBD', ref(), { host: h.ref, SR: srRef, device_config: { device: '/dev/sdb' }, currently_attached: true, other_config: {} }))
  put('SR', srRef, { name_label: 'Local storage', type: 'ext', content_type: 'user', shared: true, physical_size: 500 * GiB, VDIs: [], PBDs: pbds })
  put('SM', ref(), { type: 'ext', name_label: 'Local EXT3 VHD', capabilities: ['VDI_CREATE', 'VDI_DELETE', 'VDI_ATTACH', 'VDI_DETACH', 'VDI_RESIZE', 'VDI_CLONE', 'VDI_SNAPSHOT', 'VDI_MIRROR', 'THIN_PROVISIONING'], configuration: {}, other_config: {} })
  put('network', netRef, { name_label: 'Pool-wide network associated with eth0', bridge: 'xenbr0', MTU: 1500, VIFs: [] })

  const makeVm = (name: string, over: SimRecord): string => {
    const vmRef = ref()
    const metrics = put('VM_metrics', ref(), { memory_actual: 0, VCPUs_number: 2 })
    const vdi = put('VDI', ref(), { name_label: `${name} disk`, SR: srRef, virtual_size: 20 * GiB, type: 'user', VBDs: [] })
    const vbd = put('VBD', ref(), { VM: vmRef, VDI: vdi, device: 'xvda', userdevice: '0', bootable: true, mode: 'RW', type: 'Disk' })
    const vbdTable = objects.get('VDI')
    const vdiRec = vbdTable?.get(vdi)
    if (vdiRec) vdiRec['VBDs'] = [vbd]
    const vif = put('VIF', ref(), { VM: vmRef, network: netRef, device: '0', MAC: '02:00:00:00:00:01', MTU: 1500 })
    put('VM', vmRef, {
      name_label: name,
      power_state: 'Halted',
      memory_static_max: 2 * GiB,
      memory_dynamic_max: 2 * GiB,
      memory_dynamic_min: 1 * GiB,
      memory_static_min: 512 * 1024 * 1024,
      VCPUs_max: 2,
      VCPUs_at_startup: 2,
      metrics,
      VBDs: [vbd],
      VIFs: [vif],
      domid: -1,
      domain_type: 'hvm',
      HVM_boot_policy: 'BIOS order',
      ...over,
    })
    return vmRef
  }
  const running = makeVm('web-01', { power_state: 'Running', resident_on: hostSpecs[0]?.ref ?? '', domid: 1 })
  {
    // make web-01 consistently resident on host 1: host lists it, memory is taken, console exists
    const host = objects.get('host')?.get(hostSpecs[0]?.ref ?? '')
    const vm = objects.get('VM')?.get(running)
    if (!host || !vm) throw new Error('tiny pool: host 1 or web-01 missing')
    host['resident_VMs'] = [...(host['resident_VMs'] as string[]), running]
    const hm = objects.get('host_metrics')?.get(String(host['metrics']))
    if (hm) hm['memory_free'] = Number(hm['memory_free']) - 2 * GiB
    const vmm = objects.get('VM_metrics')?.get(String(vm['metrics']))
    if (vmm) vmm['memory_actual'] = 2 * GiB
    const consoleUuid = randomUUID()
    vm['consoles'] = [put('console', ref(), { uuid: consoleUuid, protocol: 'rfb', VM: running, location: `https://${hostSpecs[0]?.address}/console?uuid=${consoleUuid}` })]
  }
  const halted = makeVm('db-01', {})
  const template = makeVm('my-template', { is_a_template: true })
  const defaultTemplate = makeVm('Debian Bookworm 12', { is_a_template: true, is_default_template: true, other_config: { default_template: 'true' } })

  const spec: SimPoolSpec = {
    name: opts.name ?? 'tiny',
    xapiRelease: release,
    jsonRpc: opts.jsonRpc ?? true,
    username: 'root',
    password: 'secret',
    hosts: hostSpecs,
    objects,
  }
  return { spec, refs: { pool: poolRef, hosts: hostSpecs.map((h) => h.ref), running, halted, template, defaultTemplate, dom0s, sr: srRef, network: netRef } }
}

export function tinyFleet(pools: SimPoolSpec[], opDurationMs = 0): SimFleet {
  return { name: 'tiny', seed: 1, opDurationMs, pools }
}
