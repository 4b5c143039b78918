/**
 * The Migrate wizard never starts a migration the destination cannot take (issue 17): the Confirm
 * button follows confirmProblem (renderer/src/model/migrate.ts), and the VMs offered follow
 * migrateReason (XAPI's power states and allowed_operations for VM.migrate_send).
 */
import { describe, expect, it } from 'vitest'
import { confirmProblem, migrateReason } from '../../../renderer/src/model/migrate'
import type { PlanSummary } from '../../../shared/operations/migrate'

const plan = (fits: boolean): PlanSummary => ({
  headline: '2 VMs, 40 GiB of disks, moved to pool B',
  hosts: '1 server: b-01',
  fits,
  srs: [{ sr: 'OpaqueRef:sr', name: 'Local storage', needed: 40, free: fits ? 100 : 10, fits, sentence: fits ? 'Local storage has room: 40 B needed, 100 B free' : 'Local storage does not have room: 40 B needed, 10 B free' }],
})
const ok = [{ vm: 'OpaqueRef:1', vmName: 'web-01', ok: true }]
const base = { unplaced: 0, plan: plan(true), verdicts: ok, unmappedDisks: 0, unmappedNics: 0, vmCount: 1 }

describe('confirmProblem', () => {
  it('lets a checked plan with room through', () => {
    expect(confirmProblem(base)).toBeNull()
  })
  it('refuses a destination SR without room, with its sentence', () => {
    expect(confirmProblem({ ...base, plan: plan(false) })).toBe('Local storage does not have room: 40 B needed, 10 B free')
  })
  it('refuses a server XAPI refused for one of the VMs, naming the VM and XAPI’s reason', () => {
    expect(confirmProblem({ ...base, verdicts: [...ok, { vm: 'OpaqueRef:2', vmName: 'db-01', ok: false, sentence: 'The server is disabled.' }] })).toBe('db-01: The server is disabled.')
  })
  it('waits for the check, and needs a server, an SR per disk and a network per NIC', () => {
    expect(confirmProblem({ ...base, verdicts: undefined })).toMatch(/Checking/)
    expect(confirmProblem({ ...base, unplaced: 1 })).toBe('Choose a destination server')
    expect(confirmProblem({ ...base, unplaced: 2, vmCount: 3 })).toBe('2 VMs have no destination server')
    expect(confirmProblem({ ...base, unmappedDisks: 2 })).toBe('2 disks have no storage chosen')
    expect(confirmProblem({ ...base, unmappedNics: 1 })).toBe('1 network interface has no network chosen')
  })
})

describe('migrateReason', () => {
  const vm = (o: Record<string, unknown>) => ({ power_state: 'Running', allowed_operations: ['migrate_send'], blocked_operations: {}, ...o })
  it('follows XAPI: a paused VM, a snapshot, a template, a blocked or busy VM are left out with why', () => {
    expect(migrateReason(vm({}), 'a', 'migrate')).toBe(true)
    expect(migrateReason(vm({ power_state: 'Paused' }), 'a', 'migrate')).toMatch(/paused/)
    expect(migrateReason(vm({ is_a_snapshot: true }), 'a', 'migrate')).toMatch(/snapshot/)
    expect(migrateReason(vm({ is_a_template: true }), 'a', 'migrate')).toMatch(/template/)
    expect(migrateReason(vm({ blocked_operations: { migrate_send: 'frozen' } }), 'a', 'migrate')).toBe('Migration is blocked on a: frozen')
    expect(migrateReason(vm({ allowed_operations: [], current_operations: { t: 'clean_reboot' } }), 'a', 'migrate')).toBe('a is busy (clean reboot)')
    expect(migrateReason(vm({ power_state: 'Suspended' }), 'a', 'storage')).toMatch(/suspended/)
  })
})
