/**
 * HA restart priority (issue 14, XenCenter's High Availability page). XenCenter offers "Restart"
 * (protected: HA guarantees the restart) only to a VM that XAPI's VM.assert_agile accepts and that
 * has no vGPU (VMHAEditPage.RefillPrioritiesComboBox); "Restart if possible" and "Do not restart"
 * to any VM. XAPI itself asks its HA planner when a VM that is not halted is raised to "restart"
 * with HA on, and refuses with HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN when the VM cannot be
 * restarted elsewhere (xapi_vm_helpers.ml set_ha_restart_priority). This is Agility.vm_assert_agile
 * as a rule with the reason in words: main reads it from its graph for the dialog (vm.settings) and
 * checks it again before the call.
 */
import type { Rec, StorageView } from './storage'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const isRef = (v: unknown): v is string => typeof v === 'string' && v.startsWith('OpaqueRef:') && v !== 'OpaqueRef:NULL'

const NEEDS = 'HA guarantees a restart only to a VM every server can run'

/**
 * Whether every (enabled) server of the pool could run the VM (Agility.vm_assert_agile): no vGPU,
 * every disk on an SR marked shared and plugged on every enabled server, every network with a PIF
 * (no bond member) on every enabled server — a private network without PIFs is not. True, or why not.
 */
export function vmAgility(view: Pick<StorageView, 'get' | 'hosts'>, vmRef: string): true | string {
  const vm: Rec | undefined = view.get('VM', vmRef)
  if (!vm) return 'The VM is no longer in the pool'
  const name = str(vm.name_label) || 'this VM'
  if (strs(vm.VGPUs).length > 0) return `${NEEDS}; ${name} has a virtual GPU`
  const enabled = view.hosts().filter((h) => view.get('host', h)?.enabled === true)
  for (const vbd of strs(vm.VBDs)) {
    const b = view.get('VBD', vbd)
    if (!b || b.empty === true) continue
    const srRef = str(view.get('VDI', str(b.VDI))?.SR)
    const sr = view.get('SR', srRef)
    if (!sr) continue
    const plugged = new Set(strs(sr.PBDs).flatMap((p) => {
      const pbd = view.get('PBD', p)
      return pbd?.currently_attached === true ? [str(pbd.host)] : []
    }))
    if (sr.shared !== true || enabled.some((h) => !plugged.has(h))) return `${NEEDS}; ${name} has a disk on '${str(sr.name_label) || srRef}', which not every server shares`
  }
  for (const vif of strs(vm.VIFs)) {
    const netRef = str(view.get('VIF', vif)?.network)
    const net = view.get('network', netRef)
    const on = new Set(strs(net?.PIFs).flatMap((p) => {
      const pif = view.get('PIF', p)
      return pif && !isRef(pif.bond_slave_of) ? [str(pif.host)] : []
    }))
    if (enabled.some((h) => !on.has(h))) return `${NEEDS}; ${name} is on the network '${str(net?.name_label) || netRef}', which not every server has`
  }
  return true
}

/** why this priority cannot be chosen for a VM with this agility, or undefined (XenCenter's rule) */
export function haPriorityProblem(current: string, wanted: string, agility: true | string): string | undefined {
  if (wanted !== 'restart' || current === 'restart' || agility === true) return undefined
  return `${agility}. Choose “Restart if possible” instead.`
}
