import { describe, expect, it } from 'vitest'
import { commandLabel, createRegistry, type CommandContext, type ConfirmRequest, type DialogRequest, type SelectedItem } from '../../../renderer/src/commands'
import { bulkDetail, skipPhrase } from '../../../renderer/src/commands/bulk'
import { clock, dropMigrateReason } from '../../../renderer/src/commands/vm'
import { summariseResults } from '../../../renderer/src/model/results'
import type { ConnectionState } from '../../../shared/contract/connection'
import type { OperationResult } from '../../../shared/contract/operations'
import { connectionState } from '../renderer/fleet'

type Rec = Record<string, unknown>

const vmRec = (name: string, power: string, allowed: string[], extra: Rec = {}): Rec => ({
  uuid: `uuid-${name}`,
  name_label: name,
  power_state: power,
  allowed_operations: allowed,
  current_operations: {},
  blocked_operations: {},
  is_a_template: false,
  is_a_snapshot: false,
  is_control_domain: false,
  resident_on: power === 'Running' ? 'OpaqueRef:h1' : null,
  ...extra,
})

function world(states: ConnectionState[], records: Record<string, Rec>, vmRunResult: (args: unknown) => OperationResult[] = () => []) {
  const calls: { method: string; args: unknown }[] = []
  const dialogs: DialogRequest[] = []
  const confirms: ConfirmRequest[] = []
  const notes: string[] = []
  const byId = new Map(states.map((s) => [s.id, s]))
  const ctx: CommandContext = {
    api: {
      call: (async (method: string, args: unknown) => {
        calls.push({ method, args })
        return method === 'vm.run' ? vmRunResult(args) : null
      }) as CommandContext['api']['call'],
    },
    connection: (id) => byId.get(id),
    record: (c, cls, ref) => records[`${c}|${cls}|${ref}`],
    confirm: async (req) => {
      confirms.push(req)
      return true
    },
    openDialog: (req) => dialogs.push(req),
    copyText: async () => undefined,
    notify: (m) => notes.push(m),
  }
  return { ctx, calls, dialogs, confirms, notes }
}

const item = (c: string, ref: string, label: string, kind: SelectedItem['kind'] = 'VM', cls = 'VM'): SelectedItem => ({ objId: `${c}|${ref}`, kind, label, connectionId: c, cls, ref })

describe('VM commands', () => {
  const registry = createRegistry()
  const cmd = (id: string) => {
    const c = registry.get(id)
    if (!c) throw new Error(`no command ${id}`)
    return c
  }
  const records = {
    'p1|VM|OpaqueRef:web': vmRec('web-01', 'Running', ['clean_shutdown', 'hard_shutdown', 'clean_reboot', 'pool_migrate', 'snapshot']),
    'p1|VM|OpaqueRef:build': vmRec('build-01', 'Halted', ['start', 'start_on', 'clone', 'copy', 'destroy', 'snapshot']),
    'p2|VM|OpaqueRef:old': vmRec('old-db', 'Running', ['clean_shutdown', 'hard_shutdown']),
  }

  it('can run from allowed_operations, and says why not', () => {
    const { ctx } = world([connectionState('p1'), connectionState('p2')], records)
    expect(cmd('vm.start').canRun([item('p1', 'OpaqueRef:build', 'build-01')], ctx)).toBe(true)
    expect(cmd('vm.start').canRun([item('p1', 'OpaqueRef:web', 'web-01')], ctx)).toBe('web-01 is running; Start needs it halted')
    expect(cmd('vm.shutdown').appliesTo([item('p1', 'OpaqueRef:web', 'web-01', 'snapshot')])).toBe(false)
    expect(cmd('snapshot.revert').appliesTo([item('p1', 'OpaqueRef:web', 'web-01')])).toBe(false)
  })

  it('objects of an offline pool cannot be changed, and the reason says since when', () => {
    const since = '2026-11-25T14:02:00Z'
    const { ctx } = world([connectionState('p1'), connectionState('p2', { label: 'tiny-legacy', status: 'failed', offlineSince: since })], records)
    expect(cmd('vm.shutdown').canRun([item('p2', 'OpaqueRef:old', 'old-db')], ctx)).toBe(`tiny-legacy is offline since ${clock(since)}`)
    expect(clock(since)).toMatch(/\d{1,2}.\d{2}/)
    expect(cmd('object.rename').canRun([item('p2', 'OpaqueRef:old', 'old-db')], ctx)).toBe(`tiny-legacy is offline since ${clock(since)}`)
    // one pool online is enough for a multi-selection: the offline VM is reported as skipped
    expect(cmd('vm.shutdown').canRun([item('p1', 'OpaqueRef:web', 'web-01'), item('p2', 'OpaqueRef:old', 'old-db')], ctx)).toBe(true)
  })

  it('a multi-selection across pools is one vm.run call; skipped and failed VMs are listed per VM', async () => {
    const { ctx, calls, dialogs, confirms } = world([connectionState('p1'), connectionState('p2')], records, () => [
      { connectionId: 'p1', ref: 'OpaqueRef:web', ok: true },
      { connectionId: 'p2', ref: 'OpaqueRef:old', ok: false, error: { code: 'VM_MISSING_PV_DRIVERS', message: "VM 'old-db' has no guest tools", params: ['OpaqueRef:old'] } },
    ])
    const sel = [item('p1', 'OpaqueRef:web', 'web-01'), item('p2', 'OpaqueRef:old', 'old-db'), item('p1', 'OpaqueRef:build', 'build-01')]
    await cmd('vm.shutdown').run(sel, ctx)
    expect(confirms[0]?.title).toBe('Shut Down 2 VMs?')
    expect(calls).toEqual([
      {
        method: 'vm.run',
        args: { op: 'clean_shutdown', targets: [{ connectionId: 'p1', ref: 'OpaqueRef:web' }, { connectionId: 'p2', ref: 'OpaqueRef:old' }] },
      },
    ])
    const d = dialogs[0]
    if (d?.kind !== 'operation' || d.request.kind !== 'results') throw new Error('no results dialog')
    expect(d.request.title).toBe('Shut Down: 1 of 3 VMs done, 1 failed, 1 skipped')
    expect(d.request.rows.map((r) => [r.name, r.outcome, r.code])).toEqual([
      ['web-01', 'ok', undefined],
      ['old-db', 'failed', 'VM_MISSING_PV_DRIVERS'],
      ['build-01', 'skipped', undefined],
    ])
    expect(d.request.rows[2]?.sentence).toBe('build-01 is halted; Shut Down needs it running')
  })

  it('a mixed selection (a Shift-range that takes in an SR) acts on the VMs and says what it skips and why', async () => {
    const { ctx, calls, confirms, dialogs } = world([connectionState('p1'), connectionState('p2')], records, () => [{ connectionId: 'p1', ref: 'OpaqueRef:web', ok: true }])
    const sr = item('p1', 'OpaqueRef:sr', 'Local storage', 'SR', 'SR')
    const sel = [item('p1', 'OpaqueRef:web', 'web-01'), sr, item('p1', 'OpaqueRef:build', 'build-01')]
    const shutdown = cmd('vm.shutdown')
    expect(shutdown.appliesTo(sel)).toBe(true)
    expect(shutdown.canRun(sel, ctx)).toBe(true)
    expect(commandLabel(shutdown, sel, ctx)).toBe('Shut Down 1 VM (1 is already halted and 1 is not a VM, skipped)')
    expect(commandLabel(cmd('vm.reboot'), sel, ctx)).toBe('Reboot 1 VM (1 is halted and 1 is not a VM, skipped)')
    expect(commandLabel(shutdown, [item('p1', 'OpaqueRef:web', 'web-01')], ctx)).toBe('Shut Down')
    expect(shutdown.appliesTo([sr])).toBe(false)
    await shutdown.run(sel, ctx)
    expect(confirms[0]?.message).toContain('Skipped: 1 is already halted and 1 is not a VM.')
    expect(calls).toEqual([{ method: 'vm.run', args: { op: 'clean_shutdown', targets: [{ connectionId: 'p1', ref: 'OpaqueRef:web' }] } }])
    const d = dialogs[0]
    if (d?.kind !== 'operation' || d.request.kind !== 'results') throw new Error('no results dialog')
    expect(d.request.title).toBe('Shut Down: 1 of 3 objects done, 2 skipped')
    expect(d.request.rows.find((r) => r.name === 'Local storage')?.sentence).toBe('Local storage is a storage repository, not a VM')
  })

  it('skipped objects are counted by why: several reasons in one sentence', () => {
    expect(skipPhrase([{ type: 'state', state: 'Halted', already: true }, { type: 'kind' }, { type: 'state', state: 'Halted', already: true }, { type: 'offline' }], ['VM', 'VMs'])).toBe(
      '2 are already halted, 1 is not a VM and 1 is in a pool that is offline',
    )
    expect(bulkDetail(3, [{ type: 'busy' }, { type: 'busy' }], ['VM', 'VMs'])).toBe('3 VMs (2 are busy with another operation, skipped)')
    expect(bulkDetail(2, [], ['VM', 'VMs'])).toBe('2 VMs')
    expect(bulkDetail(1, [], ['VM', 'VMs'])).toBeNull()
    expect(bulkDetail(0, [{ type: 'kind' }, { type: 'kind' }], ['VM', 'VMs'])).toBeNull()
  })

  it('Delete deletes the selected VM, or forgets the selected server', () => {
    const key = { key: 'Delete', ctrlKey: false, shiftKey: false, altKey: false, metaKey: false }
    expect(registry.forShortcut(key, [item('p1', 'OpaqueRef:build', 'build-01')])?.id).toBe('vm.delete')
    expect(registry.forShortcut(key, [{ objId: 'conn:p1', kind: 'pool', label: 'p1', connectionId: 'p1', isConnectionRoot: true }])?.id).toBe('connection.forget')
  })

  it('a VM dropped on a host of another pool is refused with the reason', () => {
    const { ctx } = world([connectionState('p1'), connectionState('p2')], { ...records, 'p1|host|OpaqueRef:h2': { name_label: 'host-2', enabled: true } })
    expect(dropMigrateReason([item('p2', 'OpaqueRef:old', 'old-db')], { connectionId: 'p1', ref: 'OpaqueRef:h2', label: 'host-2' }, ctx)).toMatch(/^old-db is in another pool/)
    expect(dropMigrateReason([item('p1', 'OpaqueRef:web', 'web-01')], { connectionId: 'p1', ref: 'OpaqueRef:h2', label: 'host-2' }, ctx)).toBe(true)
    expect(dropMigrateReason([item('p1', 'OpaqueRef:web', 'web-01')], { connectionId: 'p1', ref: 'OpaqueRef:h1', label: 'host-1' }, ctx)).toBe('web-01 already runs on host-1')
    expect(dropMigrateReason([item('p1', 'OpaqueRef:build', 'build-01')], { connectionId: 'p1', ref: 'OpaqueRef:h2', label: 'host-2' }, ctx)).toMatch(/build-01 is halted/)
  })

  it('host commands refuse a reboot while VMs run there', () => {
    const { ctx } = world([connectionState('p1')], {
      ...records,
      'p1|host|OpaqueRef:h1': { name_label: 'host-1', enabled: true, allowed_operations: ['reboot', 'shutdown', 'evacuate'], current_operations: {}, other_config: {}, resident_VMs: ['OpaqueRef:web'] },
    })
    const host = item('p1', 'OpaqueRef:h1', 'host-1', 'host', 'host')
    expect(cmd('host.reboot').canRun([host], ctx)).toMatch(/still runs 1 VM/)
    expect(cmd('host.enterMaintenance').canRun([host], ctx)).toBe(true)
    expect(cmd('host.exitMaintenance').canRun([host], ctx)).toBe('host-1 is not in maintenance mode')
  })
})

describe('result summaries', () => {
  const names = (_c: string, r: string) => r.replace('OpaqueRef:', '')
  it('all good is one line', () => {
    expect(summariseResults('Start', [{ connectionId: 'a', ref: 'OpaqueRef:x', ok: true }], [], names).title).toBe('Start: x done')
    expect(summariseResults('Start', [{ connectionId: 'a', ref: 'OpaqueRef:x', ok: true }, { connectionId: 'b', ref: 'OpaqueRef:y', ok: true }], [], names).title).toBe('Start: 2 VMs done')
  })
  it('a single failure names the VM and keeps the action', () => {
    const s = summariseResults('Start', [{ connectionId: 'a', ref: 'OpaqueRef:x', ok: false, error: { code: 'NO_HOSTS_AVAILABLE', message: 'No server…', action: 'Check free memory', params: [] } }], [], names)
    expect(s.title).toBe('Start failed for x')
    expect(s.rows[0]).toMatchObject({ outcome: 'failed', code: 'NO_HOSTS_AVAILABLE', action: 'Check free memory' })
  })
})
