/**
 * Record fields the renderer never reads, by class: large (a VM's `recommendations` XML, its BIOS
 * strings, NVRAM, boot CPU flags… ≈40 % of a VM record's JSON in the many-pools fleet) and of no
 * use to the tree, search or details. Main leaves them out of what it streams to a window from
 * the offline cache (the cache itself keeps the whole record), and the renderer drops them from
 * every record it keeps, so its copy of a 20,000-VM fleet holds what it shows.
 *
 * Before the renderer reads one of these fields, take it off this list.
 */
export const RENDERER_UNUSED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  VM: ['recommendations', 'bios_strings', 'last_boot_CPU_flags', 'NVRAM', 'xenstore_data', 'HVM_boot_params', 'platform', 'last_booted_record'],
  host: ['bios_strings', 'license_params'],
  host_cpu: ['flags', 'features'],
  VM_guest_metrics: ['other'],
  VDI: ['sm_config'],
}
