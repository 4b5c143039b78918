import { describe, expect, it } from 'vitest'
import { bootModes } from '../../../shared/operations/provision'
import { bootModeChoices, bootModeWarning, canConvertToTemplate, canConvertToVm, canCloneSnapshot, changedOnly, checkVmChanges, firmwareDeviceModel, propertyRules, withSettings } from '../../../shared/operations/vm-properties'

const GiB = 1024 ** 3
/** a pool whose servers say nothing of their topology (no limit from the hardware), the VM agile */
const anyPool = { topology: { coresPerSocket: 0 }, agility: true as const }
const hvm = { name_label: 'web', power_state: 'Halted', HVM_boot_policy: 'BIOS order', VCPUs_max: 4, VCPUs_at_startup: 2, platform: { 'cores-per-socket': '2' }, memory_static_min: GiB, memory_static_max: 4 * GiB, memory_dynamic_min: 2 * GiB, memory_dynamic_max: 4 * GiB, allowed_operations: [] }

describe('VM Properties rules (shared/operations/vm-properties.ts)', () => {
  it('what a halted, a running, a PV VM, a template and a snapshot may change, and when it applies', () => {
    const halted = propertyRules(hvm)
    expect(halted.vcpusMax).toEqual({ ok: true, when: 'next-boot' })
    expect(halted.name).toEqual({ ok: true, when: 'now' })
    const running = propertyRules({ ...hvm, power_state: 'Running', allowed_operations: ['changing_VCPUs_live'] })
    expect(running.vcpusMax).toEqual({ ok: false, why: 'The maximum number of vCPUs can change only while web is shut down (it is running).' })
    expect(running.vcpusAtStartup).toEqual({ ok: true, when: 'now' })
    expect(running.memoryDynamic).toEqual({ ok: true, when: 'now' })
    expect(propertyRules({ ...hvm, power_state: 'Running' }).vcpusAtStartup.ok).toBe(false)
    const pv = propertyRules({ ...hvm, HVM_boot_policy: '', PV_bootloader: 'pygrub' })
    expect(pv.bootOrder.ok).toBe(false)
    expect(pv.pvArgs).toEqual({ ok: true, when: 'next-boot' })
    expect(propertyRules({ ...hvm, is_a_template: true }).haRestartPriority.ok).toBe(false)
    const snap = propertyRules({ ...hvm, is_a_snapshot: true, is_a_template: true })
    expect(snap.name.ok).toBe(true)
    expect(snap.memoryStatic.ok).toBe(false)
  })

  it('checks vCPUs, cores per socket and memory order; sends only what changed', () => {
    expect(checkVmChanges(hvm, { vcpusAtStartup: 5 }, anyPool)).toMatch(/at most the maximum \(4\)/)
    expect(checkVmChanges(hvm, { vcpusMax: 3 }, anyPool)).toMatch(/multiple of the cores per socket \(2\)/)
    expect(checkVmChanges(hvm, { memory: { staticMax: 4 * GiB, dynamicMin: 512 * 1024 ** 2, dynamicMax: 4 * GiB } }, anyPool)).toMatch(/out of order.*static minimum is 1024 MiB/)
    expect(checkVmChanges(hvm, { memory: { staticMax: 8 * GiB, dynamicMin: 2 * GiB, dynamicMax: 8 * GiB } }, anyPool)).toBe(true)
    expect(checkVmChanges({ ...hvm, power_state: 'Running' }, { memory: { staticMax: 8 * GiB, dynamicMin: 2 * GiB, dynamicMax: 4 * GiB } }, anyPool)).toMatch(/static memory limits can change only while web is shut down/)
    expect(changedOnly({ description: 'x', otherConfig: { set: {}, remove: [] } })).toEqual({ description: 'x' })
  })

  it('boot mode: XenCenter’s rules — the template’s recommendations, and a VM that has started keeps BIOS or UEFI (Secure Boot still toggles)', () => {
    const rec = '<restrictions><restriction field="supports-bios" value="yes"/><restriction field="supports-uefi" value="yes"/><restriction field="supports-secure-boot" value="yes"/></restrictions>'
    const fresh = { ...hvm, recommendations: rec, HVM_boot_params: { firmware: 'uefi' }, platform: { secureboot: 'false' } }
    expect(bootModeChoices(fresh)).toEqual({ bios: true, uefi: true, 'uefi-secure': true })
    const booted = { ...fresh, last_boot_CPU_flags: { vendor: 'GenuineIntel', features: 'x' } }
    expect(bootModeChoices(booted)).toEqual({ bios: 'web has already started with UEFI: the OS installed on it would not boot with BIOS.', uefi: true, 'uefi-secure': true })
    expect(checkVmChanges(booted, { bootMode: 'bios' }, anyPool)).toBe('web has already started with UEFI: the OS installed on it would not boot with BIOS.')
    expect(checkVmChanges(booted, { bootMode: 'uefi-secure' }, anyPool)).toBe(true)
    // vm.settings says it for the renderer (its records have no last_boot_CPU_flags)
    expect(bootModeChoices({ ...fresh, HVM_boot_params: { firmware: 'bios' }, booted: true }).uefi).toBe('web has already started with BIOS: the OS installed on it would not boot with UEFI.')
    expect(bootModes({ ...fresh, HVM_boot_params: { firmware: 'bios' }, booted: true })).toEqual(['bios'])
    const noSecure = { ...fresh, recommendations: rec.replace('supports-secure-boot" value="yes', 'supports-secure-boot" value="no') }
    expect(bootModeChoices(noSecure)['uefi-secure']).toBe("web does not support UEFI Secure Boot (its template's recommendations).")
    expect(bootModeWarning('bios', 'uefi')).toMatch(/^An OS installed for BIOS does not boot with UEFI/)
    expect(bootModeWarning('uefi', 'uefi-secure')).toMatch(/signed boot loader/)
    expect(bootModeWarning('uefi', 'uefi')).toBeNull()
    // the device model follows the firmware (Vm_platform.sanity_check refuses a mismatch at start)
    expect(firmwareDeviceModel('qemu-upstream-compat', 'uefi')).toBe('qemu-upstream-uefi')
    expect(firmwareDeviceModel('qemu-upstream-uefi', 'bios')).toBe('qemu-upstream-compat')
    expect(firmwareDeviceModel('qemu-trad', 'uefi')).toBe('qemu-upstream-uefi')
    expect(firmwareDeviceModel('qemu-upstream', 'bios')).toBe('qemu-upstream')
  })

  it('the renderer’s record (dropped fields there as undefined) over vm.settings keeps the settings', () => {
    const merged = withSettings({ HVM_boot_params: { firmware: 'uefi' }, booted: true }, { name_label: 'web', HVM_boot_params: undefined, power_state: 'Halted' })
    expect(merged).toEqual({ HVM_boot_params: { firmware: 'uefi' }, booted: true, name_label: 'web', power_state: 'Halted' })
  })

  it('CPU priority (VCPUs_params weight/cap) changes only while halted, as XenCenter’s CPU page', () => {
    expect(propertyRules(hvm).cpuPriority).toEqual({ ok: true, when: 'next-boot' })
    expect(checkVmChanges({ ...hvm, power_state: 'Running' }, { cpuWeight: 1024 }, anyPool)).toBe('The CPU priority can change only while web is shut down (it is running).')
  })

  it('template conversions', () => {
    expect(canConvertToTemplate(hvm)).toBe(true)
    expect(canConvertToTemplate({ ...hvm, power_state: 'Running' })).toBe('web is running; shut it down before converting it to a template')
    expect(canConvertToVm({ ...hvm, is_a_template: true, is_default_template: true })).toBe('web is a built-in template: make a new VM from it instead')
    expect(canConvertToVm({ ...hvm, is_a_template: true })).toBe(true)
    expect(canCloneSnapshot({ ...hvm, is_a_snapshot: true, allowed_operations: ['clone'] })).toBe(true)
    expect(canCloneSnapshot(hvm)).toBe('web is not a snapshot')
  })
})
