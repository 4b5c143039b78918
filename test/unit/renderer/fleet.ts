/**
 * Generated pools as `pool.diff` batches (the renderer's input), for renderer unit tests and the
 * tree benchmark. Deterministic: names and uuids derive from indexes.
 */
import type { ConnectionState } from '../../../shared/contract/connection'
import type { ObjectUpsert, PoolDiff } from '../../../shared/model/diff'

export interface FleetSpec {
  connectionId: string
  poolName: string
  hosts: number
  /** running VMs per host */
  runningPerHost: number
  halted: number
  /** IPs of running VMs are 10.<pool>.<host>.<vm> */
  poolIndex?: number
  standalone?: boolean
}

const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0')
export const uuidOf = (pool: number, kind: number, i: number): string => `${hex(pool, 8)}-${hex(kind, 4)}-4000-8000-${hex(i, 12)}`

export interface GeneratedPool {
  diff: PoolDiff
  poolRef: string
  hostRefs: string[]
  runningVmRefs: string[]
  haltedVmRefs: string[]
  sharedSrRef: string
  localSrRefs: string[]
  networkRef: string
}

export function generatePool(spec: FleetSpec): GeneratedPool {
  const pi = spec.poolIndex ?? 0
  const c = spec.connectionId
  const ups: ObjectUpsert[] = []
  const add = (cls: string, ref: string, record: Record<string, unknown>): void => {
    ups.push({ cls, ref, record })
  }
  const poolRef = `OpaqueRef:${c}-pool`
  const hostRefs: string[] = []
  const runningVmRefs: string[] = []
  const haltedVmRefs: string[] = []
  const localSrRefs: string[] = []
  const sharedSrRef = `OpaqueRef:${c}-sr-shared`
  const networkRef = `OpaqueRef:${c}-net0`
  const sharedPbds: string[] = []
  let vmCounter = 0
  for (let h = 0; h < spec.hosts; h++) {
    const hostRef = `OpaqueRef:${c}-host${h}`
    hostRefs.push(hostRef)
    const metricsRef = `${hostRef}-metrics`
    const resident: string[] = []
    const localSr = `OpaqueRef:${c}-sr-local${h}`
    const localPbd = `${localSr}-pbd`
    const sharedPbd = `${sharedSrRef}-pbd${h}`
    sharedPbds.push(sharedPbd)
    localSrRefs.push(localSr)
    const dom0 = `OpaqueRef:${c}-dom0-${h}`
    resident.push(dom0)
    add('VM', dom0, { uuid: uuidOf(pi, 9, h), name_label: `Control domain on host: ${spec.poolName}-host${h}`, is_control_domain: true, is_a_template: false, is_a_snapshot: false, power_state: 'Running', resident_on: hostRef, tags: [], other_config: {}, current_operations: {} })
    for (let v = 0; v < spec.runningPerHost; v++) {
      const i = vmCounter++
      const vmRef = `OpaqueRef:${c}-vm${i}`
      const gm = `${vmRef}-gm`
      const vmm = `${vmRef}-metrics`
      resident.push(vmRef)
      runningVmRefs.push(vmRef)
      add('VM_guest_metrics', gm, { uuid: uuidOf(pi, 7, i), networks: { '0/ip': `10.${pi}.${h}.${v + 1}`, '0/ipv4/0': `10.${pi}.${h}.${v + 1}`, '0/ipv6/0': `fe80::${hex(i + 1, 1)}` }, os_version: { name: 'Debian GNU/Linux 12 (bookworm)', distro: 'debian' } })
      add('VM_metrics', vmm, { uuid: uuidOf(pi, 6, i), memory_actual: 2147483648, VCPUs_number: 2, start_time: '2026-11-25T10:00:00Z' })
      add('VM', vmRef, {
        uuid: uuidOf(pi, 1, i),
        name_label: `${spec.poolName}-vm${i}`,
        name_description: '',
        power_state: 'Running',
        resident_on: hostRef,
        affinity: hostRef,
        is_a_template: false,
        is_a_snapshot: false,
        is_control_domain: false,
        guest_metrics: gm,
        metrics: vmm,
        tags: i % 3 === 0 ? ['web'] : i % 3 === 1 ? ['db', 'prod'] : [],
        other_config: i % 2 === 0 ? { folder: `/${spec.poolName}/apps` } : {},
        current_operations: {},
        memory_dynamic_max: 2147483648,
        memory_dynamic_min: 1073741824,
        memory_static_max: 4294967296,
        VCPUs_at_startup: 2,
        VCPUs_max: 4,
        domain_type: 'hvm',
      })
    }
    add('host_metrics', metricsRef, { uuid: uuidOf(pi, 5, h), memory_total: 68719476736, live: true })
    add('PBD', localPbd, { uuid: uuidOf(pi, 11, h), host: hostRef, SR: localSr, currently_attached: true })
    add('PBD', sharedPbd, { uuid: uuidOf(pi, 12, h), host: hostRef, SR: sharedSrRef, currently_attached: true })
    add('SR', localSr, { uuid: uuidOf(pi, 3, h), name_label: `Local storage`, type: 'ext', shared: false, PBDs: [localPbd], physical_size: 500e9, physical_utilisation: 100e9, virtual_allocation: 200e9, tags: [], other_config: {} })
    add('host', hostRef, {
      uuid: uuidOf(pi, 2, h),
      name_label: spec.standalone ? `${spec.poolName}` : `${spec.poolName}-host${h}`,
      address: `127.77.${pi}.${h + 1}`,
      hostname: `${spec.poolName}-host${h}`,
      enabled: true,
      metrics: metricsRef,
      resident_VMs: resident,
      cpu_info: { cpu_count: '16', socket_count: '2', modelname: 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz', threads_per_core: '2' },
      software_version: { product_brand: 'XCP-ng', product_version: '8.3.0', xapi: '25.6', build_number: 'release/yangtze' },
      other_config: { boot_time: String(Date.UTC(2026, 10, 20) / 1000) },
      memory_overhead: 0,
      tags: h === 0 ? ['prod'] : [],
      current_operations: {},
    })
  }
  for (let v = 0; v < spec.halted; v++) {
    const i = vmCounter++
    const vmRef = `OpaqueRef:${c}-vm${i}`
    haltedVmRefs.push(vmRef)
    add('VM', vmRef, {
      uuid: uuidOf(pi, 1, i),
      name_label: `${spec.poolName}-halted${v}`,
      power_state: 'Halted',
      resident_on: null,
      is_a_template: false,
      is_a_snapshot: false,
      is_control_domain: false,
      guest_metrics: null,
      metrics: null,
      tags: [],
      other_config: {},
      current_operations: {},
    })
  }
  add('VM', `OpaqueRef:${c}-template0`, { uuid: uuidOf(pi, 8, 0), name_label: 'Debian Bookworm 12', is_a_template: true, is_default_template: true, is_a_snapshot: false, is_control_domain: false, power_state: 'Halted', resident_on: null, tags: [], other_config: {} })
  if (runningVmRefs[0]) {
    add('VM', `OpaqueRef:${c}-snap0`, { uuid: uuidOf(pi, 8, 1), name_label: 'before-upgrade', is_a_template: true, is_a_snapshot: true, snapshot_of: runningVmRefs[0], is_control_domain: false, power_state: 'Halted', resident_on: null, tags: [], other_config: {} })
  }
  add('SR', sharedSrRef, { uuid: uuidOf(pi, 4, 0), name_label: 'NFS storage', type: 'nfs', shared: true, PBDs: sharedPbds, physical_size: 2e12, physical_utilisation: 1e12, virtual_allocation: 1.5e12, tags: ['storage'], other_config: {} })
  add('network', networkRef, { uuid: uuidOf(pi, 10, 0), name_label: 'Pool-wide network associated with eth0', bridge: 'xenbr0', MTU: 1500, PIFs: [], VIFs: [], tags: [], other_config: {} })
  add('network', `OpaqueRef:${c}-net-internal`, { uuid: uuidOf(pi, 10, 1), name_label: 'Host internal management network', bridge: 'xenapi', MTU: 1500, PIFs: [], VIFs: [], tags: [], other_config: { is_host_internal_management_network: 'true' } })
  add('pool', poolRef, { uuid: uuidOf(pi, 0, 0), name_label: spec.standalone ? '' : spec.poolName, master: hostRefs[0] ?? null, ha_enabled: false, default_SR: sharedSrRef, tags: [], other_config: { EMPTY_FOLDERS: '/Empty;/Nested/Empty' } })
  add('task', `OpaqueRef:${c}-task0`, { uuid: uuidOf(pi, 13, 0), name_label: 'VM.start', status: 'pending', progress: 0.5 })
  add('task', `OpaqueRef:${c}-task1`, { uuid: uuidOf(pi, 13, 1), name_label: 'VM.shutdown', status: 'success', progress: 1 })
  return { diff: { connectionId: c, seq: 1, reset: true, upserts: ups, removes: [] }, poolRef, hostRefs, runningVmRefs, haltedVmRefs, sharedSrRef, localSrRefs, networkRef }
}

export function connectionState(id: string, over: Partial<ConnectionState> = {}): ConnectionState {
  return {
    id,
    address: `${id}.example`,
    username: 'root',
    label: id,
    rememberPassword: true,
    hasPassword: true,
    forceXmlRpc: false,
    doNotCache: false,
    status: 'connected',
    ...over,
  }
}
