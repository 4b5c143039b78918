import type { ObjectRecord, ObjectUpsert } from './diff'

/**
 * Record fields the renderer never reads, by class: large (a VM's `recommendations` XML, its BIOS
 * strings, NVRAM, boot CPU flags… ≈40 % of a VM record's JSON in the many-pools fleet) and of no
 * use to the tree, search or details. Main leaves them out of what it streams to a window, from
 * the offline cache and of a connected pool (forWindow; the cache and main's graph keep the whole
 * record), and the renderer drops them from every record it keeps, so its copy of a 20,000-VM
 * fleet holds what it shows.
 *
 * Before the renderer reads one of these fields, take it off this list.
 */
export const RENDERER_UNUSED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  VM: [
    'recommendations', 'bios_strings', 'last_boot_CPU_flags', 'NVRAM', 'xenstore_data', 'HVM_boot_params', 'platform', 'last_booted_record',
    // no renderer code names these (checked by grep of renderer/src and shared/operations, shared/numa)
    'snapshot_info', 'snapshot_metadata', 'user_version', 'scheduled_to_be_resident_on', 'memory_target', 'memory_static_min',
    'actions_after_softreboot', 'actions_after_shutdown', 'actions_after_reboot', 'actions_after_crash', 'VUSBs', 'crash_dumps', 'VTPMs',
    'PV_bootloader', 'PV_kernel', 'PV_ramdisk', 'PV_args', 'PV_bootloader_args', 'PV_legacy_args', 'HVM_shadow_multiplier',
    'PCI_bus', 'domarch', 'ha_always_run', 'transportable_snapshot_id', 'blobs', 'protection_policy', 'is_snapshot_from_vmpp', 'snapshot_schedule',
    'is_vmss_snapshot', 'appliance', 'start_delay', 'shutdown_delay', 'VGPUs', 'attached_PCIs', 'suspend_SR', 'generation_id',
    'hardware_platform_version', 'has_vendor_device', 'requires_reboot', 'reference_label', 'pending_guidances', 'pending_guidances_recommended',
    'pending_guidances_full',
    // the VM's network interfaces: their class is never sent (RENDERER_UNUSED_CLASSES), no view counts them
    'VIFs',
    // the VM's drives (≈2 refs per VM, ≈45,000 in a 20,000-VM fleet): the views find them by VBD.VM (PoolObjects.referencing)
    'VBDs',
  ],
  // the details read start_time, memory_actual and VCPUs_number; NUMA figures come from main (numa.*), not from these.
  // uuid: no alert is about metrics or a drive (XAPI's messages name a VM, host, SR, pool, VDI…), nothing looks them up by uuid
  VM_metrics: [
    'uuid',
    'VCPUs_utilisation', 'VCPUs_CPU', 'VCPUs_flags', 'install_time', 'last_updated', 'hvm', 'nested_virt', 'nomigrate', 'current_domain_type',
    'VCPUs_params', 'state', 'other_config', 'numa_nodes', 'numa_node_memory', 'numa_optimised',
  ],
  host: ['bios_strings', 'license_params'],
  host_cpu: ['flags', 'features'],
  // PV_drivers_version, PV_drivers_detected and can_use_hotplug_vbd are read by the storage rules (canHotplug: may a running VM take a disk);
  // can_use_hotplug_vif by the networking rules (hotplugReason: may a running VM's NICs change)
  // the details read os_version, the tree and search the networks (IP addresses)
  VM_guest_metrics: ['uuid', 'other', 'PV_drivers_up_to_date', 'last_updated', 'netbios_name', 'memory', 'disks', 'services', 'live', 'other_config'],
  // a VM's drives: sent while connected (delete plan, storage rules, the drives tab), never a drive's QoS, locks or status
  VBD: ['uuid', 'qos_supported_algorithms', 'qos_algorithm_type', 'qos_algorithm_params', 'runtime_properties', 'storage_lock', 'status_code', 'status_detail', 'metrics', 'other_config'],
  // name, description, size, use, SR, VBDs, snapshots, type, sharable, read_only, managed, missing, location (an ISO's name),
  // cbt_enabled, tags and other_config (search) are read
  VDI: ['sm_config', 'metadata_of_pool', 'metadata_latest', 'allow_caching', 'storage_lock', 'is_tools_iso', 'on_boot', 'crash_dumps', 'xenstore_data', 'snapshot_time', 'parent'],
  // an SR's disks: no view lists or counts them (the VDI class is sent only while connected, for the delete plan)
  SR: ['VDIs'],
}

/**
 * Whole classes no renderer code reads (no `get('X', …)`, no table, not in the tree, search,
 * details, alerts or task texts): main never sends them to a window — not from the offline cache,
 * not in a connected pool's diffs — and the renderer drops any that still arrive. The cache and
 * main's own graph keep them. Classes that carry a `name_label` (task error texts name objects
 * by it) or can be the object of a `message` (alerts show its name) are not listed.
 *
 * Before the renderer reads one of these classes, take it off this list.
 */
export const RENDERER_UNUSED_CLASSES: ReadonlySet<string> = new Set([
  // a VM's network interfaces and their metrics: no view shows them
  'VIF',
  'VIF_metrics',
  // VNC/RFB consoles: the console view asks main (console.open) by VM/host ref
  'console',
  // CPUs of a host: NUMA figures come from main (numa.*), the details show host_metrics only
  'host_cpu',
  // metrics and crash dumps of devices, never shown
  'VBD_metrics',
  'PIF_metrics',
  'crashdump',
  'host_crashdump',
  // networking and device plumbing the tree and details do not show (PIF itself is read by the network details)
  'Bond',
  'VLAN',
  'tunnel',
  'network_sriov',
  'PCI',
  'PGPU',
  'VGPU',
  'VGPU_type',
  'PUSB',
  'VUSB',
  'VTPM',
  'SDN_controller',
  // storage and cluster internals
  'LVHD',
  'DR_task',
  'Cluster',
  'Cluster_host',
  'PVS_server',
  'PVS_cache_storage',
])

/**
 * Classes the renderer reads only for actions that are disabled while a pool is offline (the
 * delete plan of a VM reads its VBDs and their VDIs): main leaves them out of what it streams
 * to a window from the offline cache, and sends the whole graph again (a reset) when such a pool
 * connects. The renderer keeps them when they come (a connected pool's diffs carry them).
 * One thing shows less meanwhile: an alert about a VDI of an offline pool names the class, not the
 * VDI. Before the renderer reads one of these while a pool is offline, take it off this list.
 */
export const OFFLINE_UNUSED_CLASSES: ReadonlySet<string> = new Set(['VBD', 'VDI'])

/**
 * Record fields the renderer reads only for actions that are disabled while a pool is offline, as
 * OFFLINE_UNUSED_CLASSES: left out of what main streams from the offline cache, there again in
 * the whole graph sent when the pool connects. None at present (a VM's VBDs were, until the views
 * found a VM's drives by VBD.VM: now RENDERER_UNUSED_FIELDS).
 */
export const OFFLINE_UNUSED_FIELDS: Readonly<Record<string, readonly string[]>> = {}

/**
 * Every record field a window's stream of an offline pool leaves out (RENDERER_UNUSED_FIELDS and
 * OFFLINE_UNUSED_FIELDS together). The offline cache stores each record split along this list
 * (main/cache/serialize.ts toRow): the rest, which a window's page sends as stored, and these
 * fields apart — so a cold start streams records without parsing them.
 */
export const OFFLINE_STREAM_UNUSED_FIELDS: Readonly<Record<string, readonly string[]>> = mergeFields(RENDERER_UNUSED_FIELDS, OFFLINE_UNUSED_FIELDS)

function mergeFields(...lists: Readonly<Record<string, readonly string[]>>[]): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const list of lists) for (const [cls, fields] of Object.entries(list)) out[cls] = [...new Set([...(out[cls] ?? []), ...fields])]
  return out
}

/**
 * Classes a window can ask for, per pool, while a view needs them (objects.scope): the ones main
 * does not otherwise send it. Their records then come like any other and are kept by the renderer.
 */
export const SCOPABLE_CLASSES: ReadonlySet<string> = new Set([...RENDERER_UNUSED_CLASSES, ...OFFLINE_UNUSED_CLASSES])

const NONE: ReadonlySet<string> = new Set()

/**
 * what a window is sent of a pool: upserts and removes of the classes it never reads left out,
 * except those it asked for (`scoped`); `diff` itself when nothing is left out
 */
export function withoutUnusedClasses<D extends { upserts: readonly { cls: string }[]; removes: readonly { cls: string }[] }>(diff: D, scoped: ReadonlySet<string> = NONE): D {
  const drop = (x: { cls: string }): boolean => RENDERER_UNUSED_CLASSES.has(x.cls) && !scoped.has(x.cls)
  if (!diff.upserts.some(drop) && !diff.removes.some(drop)) return diff
  return { ...diff, upserts: diff.upserts.filter((x) => !drop(x)), removes: diff.removes.filter((x) => !drop(x)) }
}

/**
 * what a window is sent of a connected pool (graph, live diff): withoutUnusedClasses, and every
 * record that holds RENDERER_UNUSED_FIELDS as a copy without them — the records themselves are main's
 * graph's and stay whole (the cache, operations and objects.record read them). The renderer would
 * drop those fields on arrival anyway; sent, they were ≈40 % of a first connect's JSON (bench-10k's
 * reset: 85 MB, 51 MB without) to encode, carry and parse. `diff` itself when nothing is left out.
 */
export function forWindow<D extends { upserts: readonly ObjectUpsert[]; removes: readonly { cls: string }[] }>(diff: D, scoped: ReadonlySet<string> = NONE): D {
  const d = withoutUnusedClasses(diff, scoped)
  let upserts: ObjectUpsert[] | undefined
  for (let i = 0; i < d.upserts.length; i++) {
    const u = d.upserts[i]
    const unused = u && RENDERER_UNUSED_FIELDS[u.cls]
    if (!u || !unused) continue
    let copy: ObjectRecord | undefined
    for (const f of unused) {
      if (u.record[f] === undefined) continue
      // undefined, not deleted: the copy keeps the record's shape (fast to make and to encode), JSON leaves the field out
      copy ??= { ...u.record }
      copy[f] = undefined
    }
    if (!copy) continue
    upserts ??= d.upserts.slice()
    upserts[i] = { cls: u.cls, ref: u.ref, record: copy }
  }
  return upserts ? { ...d, upserts } : d
}
