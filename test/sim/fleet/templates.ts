/** The product's default templates and the plan's custom templates (built as halted guests). */
import { defaultRecord, NULL_DATE, NULL_REF } from '../records'
import { GiB, MiB, type BuildContext } from './context'
import { buildGuest } from './guest'
import { vmAllowedOperations } from './ops'
import { OSES } from './products'
import { platformFor, recommendations, templateOtherConfig } from './vm-settings'

export function buildTemplates(b: BuildContext): void {
  const chosen = b.plan.defaultTemplates
  const list =
    chosen === 'all' ? b.product.templates : typeof chosen === 'number' ? b.product.templates.slice(0, chosen) : b.product.templates.filter((t) => chosen.includes(t.name))
  for (const t of list) {
    const os = t.uefi ? { ...OSES[t.os], uefi: true } : OSES[t.os]
    const mem = (os.memGiB[0] ?? 1) * GiB
    const metricsRef = b.ref()
    const vmRef = b.ref()
    const rec = defaultRecord('VM', b.release, {
      uuid: b.uuid(),
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
      HVM_boot_params: os.domainType === 'pv' ? {} : b.legacy ? { order: 'cdn' } : { order: 'cdn', firmware: os.uefi ? 'uefi' : 'bios' },
      HVM_shadow_multiplier: 1,
      platform: platformFor(b, os, os.vcpus[0] ?? 1),
      other_config: templateOtherConfig(b, os, t.name),
      domid: -1,
      is_control_domain: false,
      metrics: metricsRef,
      guest_metrics: NULL_REF,
      recommendations: recommendations(b, os),
      bios_strings: {},
      generation_id: '',
      hardware_platform_version: 0,
      has_vendor_device: !b.legacy && os.windows,
      reference_label: t.name.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
      domain_type: os.domainType === 'pv' ? 'pv' : 'hvm',
    })
    rec.allowed_operations = vmAllowedOperations(rec, false)
    b.table('VM').set(vmRef, rec)
    b.add('VM_metrics', { memory_actual: 0, VCPUs_number: 0, VCPUs_utilisation: {}, start_time: NULL_DATE, install_time: b.date(400), last_updated: NULL_DATE, hvm: false, current_domain_type: 'unspecified' }, metricsRef)
  }
  for (const t of b.plan.customTemplates) {
    buildGuest(b, { name: t.name, os: t.os, power: 'Halted', memGiB: OSES[t.os].memGiB[0] ?? 2, vcpus: OSES[t.os].vcpus[0] ?? 2, tools: true, description: 'Golden image, patched monthly' }, { template: true, diskGiB: t.diskGiB })
  }
}
