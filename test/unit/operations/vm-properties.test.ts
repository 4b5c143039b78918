import { describe, expect, it } from 'vitest'
import { canConvertToTemplate, canConvertToVm, canTemplateFromSnapshot, changedOnly, checkVmChanges, propertyRules } from '../../../shared/operations/vm-properties'

const GiB = 1024 ** 3
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
    expect(checkVmChanges(hvm, { vcpusAtStartup: 5 })).toMatch(/at most the maximum \(4\)/)
    expect(checkVmChanges(hvm, { vcpusMax: 3 })).toMatch(/multiple of the cores per socket \(2\)/)
    expect(checkVmChanges(hvm, { memory: { staticMax: 4 * GiB, dynamicMin: 512 * 1024 ** 2, dynamicMax: 4 * GiB } })).toMatch(/out of order.*static minimum is 1024 MiB/)
    expect(checkVmChanges(hvm, { memory: { staticMax: 8 * GiB, dynamicMin: 2 * GiB, dynamicMax: 8 * GiB } })).toBe(true)
    expect(checkVmChanges({ ...hvm, power_state: 'Running' }, { memory: { staticMax: 8 * GiB, dynamicMin: 2 * GiB, dynamicMax: 4 * GiB } })).toMatch(/static memory limits can change only while web is shut down/)
    expect(changedOnly({ description: 'x', otherConfig: { set: {}, remove: [] } })).toEqual({ description: 'x' })
  })

  it('template conversions', () => {
    expect(canConvertToTemplate(hvm)).toBe(true)
    expect(canConvertToTemplate({ ...hvm, power_state: 'Running' })).toBe('web is running; shut it down before converting it to a template')
    expect(canConvertToVm({ ...hvm, is_a_template: true, is_default_template: true })).toBe('web is a built-in template: make a new VM from it instead')
    expect(canConvertToVm({ ...hvm, is_a_template: true })).toBe(true)
    expect(canTemplateFromSnapshot({ ...hvm, is_a_snapshot: true, allowed_operations: ['clone'] })).toBe(true)
    expect(canTemplateFromSnapshot(hvm)).toBe('web is not a snapshot')
  })
})
