import { describe, expect, it } from 'vitest'
import { canRunHost, canRunVm, HOST_OPERATIONS, VM_OPERATIONS, type HostRecord, type VmRecord } from '../../../shared/operations/vm'
import { emptyRecord } from '../../../shared/xapi/empty-record'
import { explainXapiError } from '../../../shared/xapi/error-text'

function vm(over: Partial<VmRecord>): VmRecord {
  return { ...emptyRecord('VM'), uuid: 'u-1', name_label: 'web-01', ...over }
}
const halted = vm({ power_state: 'Halted', allowed_operations: ['start', 'start_on', 'clone', 'copy', 'destroy', 'snapshot', 'export'] })
const running = vm({
  power_state: 'Running',
  allowed_operations: ['clean_shutdown', 'clean_reboot', 'hard_shutdown', 'hard_reboot', 'suspend', 'pause', 'pool_migrate', 'snapshot', 'checkpoint'],
})

describe('VM commands decide like XAPI, with a reason', () => {
  it('starts a halted VM and refuses to start a running one, saying why', () => {
    expect(canRunVm(VM_OPERATIONS.start, halted)).toBe(true)
    expect(canRunVm(VM_OPERATIONS.start, running)).toBe('web-01 is running; Start needs it halted')
    expect(canRunVm(VM_OPERATIONS.clean_shutdown, running)).toBe(true)
    expect(canRunVm(VM_OPERATIONS.pool_migrate, halted)).toMatch(/needs it running/)
  })

  it('reports the operation in progress instead of a power-state reason', () => {
    const busy = vm({ power_state: 'Running', allowed_operations: [], current_operations: { 'OpaqueRef:t1': 'clean_shutdown' } })
    expect(canRunVm(VM_OPERATIONS.clean_reboot, busy)).toBe('web-01 is busy: clean shutdown in progress')
  })

  it('honours blocked_operations with the reason XAPI stores', () => {
    const blocked = vm({ ...halted, blocked_operations: { start: 'licence expired' } as VmRecord['blocked_operations'] })
    expect(canRunVm(VM_OPERATIONS.start, blocked)).toBe('Start is blocked on web-01: licence expired')
  })

  it('applies template and snapshot rules', () => {
    const tpl = vm({ is_a_template: true, is_default_template: true, name_label: 'Debian 12', allowed_operations: ['clone', 'copy', 'export'] })
    expect(canRunVm(VM_OPERATIONS.start, tpl)).toMatch(/is a template/)
    expect(canRunVm(VM_OPERATIONS.clone, tpl)).toBe(true)
    expect(canRunVm(VM_OPERATIONS.destroy, tpl)).toMatch(/default template/)
    const snap = vm({ is_a_snapshot: true, is_a_template: true, name_label: 'before upgrade', allowed_operations: ['revert', 'clone', 'copy', 'destroy'] })
    expect(canRunVm(VM_OPERATIONS.start, snap)).toMatch(/is a snapshot/)
    expect(canRunVm(VM_OPERATIONS.revert, snap)).toBe(true)
    expect(canRunVm(VM_OPERATIONS.revert, halted)).toBe('web-01 is not a snapshot')
  })

  it('never offers VM commands on a control domain', () => {
    expect(canRunVm(VM_OPERATIONS.clean_reboot, vm({ ...running, is_control_domain: true, name_label: 'Control domain on host-1' }))).toMatch(/control domain/)
  })
})

describe('host commands', () => {
  const host: HostRecord = { ...emptyRecord('host'), name_label: 'host-1', enabled: true, allowed_operations: ['evacuate', 'reboot', 'shutdown'] }
  it('refuses reboot while VMs run there, and allows maintenance mode', () => {
    expect(canRunHost(HOST_OPERATIONS.reboot, host, 3)).toMatch(/still runs 3 VMs/)
    expect(canRunHost(HOST_OPERATIONS.reboot, host, 0)).toBe(true)
    expect(canRunHost(HOST_OPERATIONS.enter_maintenance, host, 3)).toBe(true)
    expect(canRunHost(HOST_OPERATIONS.exit_maintenance, host, 0)).toMatch(/not in maintenance/)
  })
})

describe('XAPI errors read as sentences with an action', () => {
  const names: Record<string, string> = { 'OpaqueRef:vm1': "VM 'web-01'" }
  const nameOf = (r: string) => names[r]
  it('VM_BAD_POWER_STATE names the VM and the states', () => {
    const e = explainXapiError('VM_BAD_POWER_STATE', ['OpaqueRef:vm1', 'halted', 'running'], nameOf)
    expect(e.sentence).toBe("VM 'web-01' is running; this needs it halted.")
    expect(e.action).toBeTruthy()
  })
  it('HOST_NOT_ENOUGH_FREE_MEMORY shows sizes people read', () => {
    const e = explainXapiError('HOST_NOT_ENOUGH_FREE_MEMORY', [String(8 * 1024 ** 3), String(2 * 1024 ** 3)])
    expect(e.sentence).toContain('8.0 GiB needed, 2.0 GiB available')
    expect(explainXapiError('HOST_NOT_ENOUGH_FREE_MEMORY', [String(4 * 1024 ** 4), String(512 * 1024 ** 2)]).sentence).toContain('4.0 TiB needed, 512 MiB available')
  })
  it('falls back to the datamodel description with parameters named', () => {
    const e = explainXapiError('SR_INDESTRUCTIBLE', ['OpaqueRef:sr9'])
    expect(e.sentence.length).toBeGreaterThan(10)
    expect(e.sentence).toContain('sr: the object')
    expect(explainXapiError('NOT_A_REAL_CODE', ['x']).sentence).toBe('The server reported NOT_A_REAL_CODE (x).')
  })
})
