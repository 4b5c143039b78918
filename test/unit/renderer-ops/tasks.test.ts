import { describe, expect, it } from 'vitest'
import { elapsed, TaskTracker, taskTitle } from '../../../renderer/src/model/tasks'

const task = (extra: Record<string, unknown>) => ({ name_label: 'Async.VM.start', status: 'pending', progress: 0.3, created: '2026-11-25T10:00:00Z', allowed_operations: ['cancel'], error_info: [], ...extra })

describe('task list', () => {
  it('shows every pool’s tasks, including ones other clients started, with progress and cancel', () => {
    let now = Date.parse('2026-11-25T10:00:04Z')
    const t = new TaskTracker(() => now)
    t.observe([
      { connectionId: 'a', tasks: new Map([['OpaqueRef:t1', task({})]]) },
      { connectionId: 'b', tasks: new Map([['OpaqueRef:t2', task({ name_label: 'Async.VM.pool_migrate', allowed_operations: [] })]]) },
    ])
    const rows = t.list()
    expect(rows.map((r) => [r.connectionId, r.title, r.progress, r.canCancel, r.mine])).toEqual([
      ['a', 'Start', 0.3, true, false],
      ['b', 'Migrate to Server', 0.3, false, false],
    ])
    now += 1000
    expect(elapsed(now - (rows[0]?.created ?? 0))).toBe('5 s')
  })

  it('a task that fails says why in words, with the XAPI code and params kept', () => {
    const t = new TaskTracker(() => Date.parse('2026-11-25T10:00:09Z'))
    t.observe([{ connectionId: 'a', tasks: new Map([['OpaqueRef:t1', task({})]]) }])
    const done = t.observe(
      [{ connectionId: 'a', tasks: new Map([['OpaqueRef:t1', task({ status: 'failure', finished: '2026-11-25T10:00:08Z', error_info: ['VM_BAD_POWER_STATE', 'OpaqueRef:vm', 'halted', 'running'] })]]) }],
      () => (ref) => (ref === 'OpaqueRef:vm' ? "VM 'web-01'" : undefined),
    )
    expect(done).toHaveLength(1)
    expect(done[0]?.durationMs).toBe(8000)
    const row = t.list()[0]
    expect(row?.status).toBe('failure')
    expect(row?.canCancel).toBe(false)
    expect(row?.error?.sentence).toBe("VM 'web-01' is running; this needs it halted.")
    expect(row?.error?.params).toEqual(['OpaqueRef:vm', 'halted', 'running'])
  })

  it('our own task destroyed before its final status arrived gets its target from progress and its outcome from the history', () => {
    const t = new TaskTracker(() => Date.parse('2026-11-25T10:00:03Z'))
    t.noteProgress({ connectionId: 'a', ref: 'OpaqueRef:vm', op: 'start', progress: 0.5, taskRef: 'OpaqueRef:t1' }, 'VM', 'build-01')
    t.observe([{ connectionId: 'a', tasks: new Map([['OpaqueRef:t1', task({})]]) }])
    expect(t.list()[0]?.target).toEqual({ cls: 'VM', ref: 'OpaqueRef:vm', name: 'build-01' })
    expect(t.list()[0]?.mine).toBe(true)
    // destroyed by main as soon as it finished: the batch only carries the removal
    const vanished = t.observe([{ connectionId: 'a', tasks: new Map() }])
    expect(vanished.map((f) => f.row.status)).toEqual(['finished'])
    t.noteOutcome({ connectionId: 'a', ref: 'OpaqueRef:vm', ok: false, errorCode: 'TASK_CANCELLED', errorMessage: 'The task was cancelled.' })
    expect(t.list()[0]?.status).toBe('cancelled')
    expect(t.list()[0]?.error?.sentence).toBe('The task was cancelled.')
  })

  it('the tasks of one user action (Remove network: two bond deletions, then the network) are one row with the action’s title and progress', () => {
    const t = new TaskTracker(() => Date.parse('2026-11-25T10:00:09Z'))
    const action = { id: 'act-1', title: 'Remove network' }
    t.noteProgress({ connectionId: 'a', ref: 'OpaqueRef:net', op: 'Remove network', progress: 0.25, taskRef: 'OpaqueRef:b1', action }, 'network', 'Bond 2+3')
    t.observe([{ connectionId: 'a', tasks: new Map([['OpaqueRef:b1', task({ name_label: 'Async.Bond.destroy', created: '2026-11-25T10:00:01Z' })]]) }])
    t.noteProgress({ connectionId: 'a', ref: 'OpaqueRef:net', op: 'Remove network', progress: 0.6, taskRef: 'OpaqueRef:b2', action }, 'network', 'Bond 2+3')
    t.observe([
      {
        connectionId: 'a',
        tasks: new Map([
          ['OpaqueRef:b1', task({ name_label: 'Async.Bond.destroy', created: '2026-11-25T10:00:01Z', status: 'success', finished: '2026-11-25T10:00:02Z' })],
          ['OpaqueRef:b2', task({ name_label: 'Async.Bond.destroy', created: '2026-11-25T10:00:03Z', progress: 0 })],
        ]),
      },
    ])
    const rows = t.list()
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ taskRef: 'OpaqueRef:b2', title: 'Remove network', target: { cls: 'network', name: 'Bond 2+3' } })
    expect(rows[0]?.progress).toBe(0.6)
  })

  it('running tasks come first, newest first; Clear finished keeps the running ones', () => {
    const t = new TaskTracker()
    t.observe([
      {
        connectionId: 'a',
        tasks: new Map([
          ['OpaqueRef:old', task({ created: '2026-11-25T09:00:00Z', status: 'success', finished: '2026-11-25T09:00:02Z' })],
          ['OpaqueRef:run', task({ created: '2026-11-25T08:00:00Z' })],
          ['OpaqueRef:new', task({ created: '2026-11-25T10:00:00Z', status: 'success', finished: '2026-11-25T10:00:02Z' })],
        ]),
      },
    ])
    expect(t.list().map((r) => r.taskRef)).toEqual(['OpaqueRef:run', 'OpaqueRef:new', 'OpaqueRef:old'])
    t.clearFinished()
    expect(t.list().map((r) => r.taskRef)).toEqual(['OpaqueRef:run'])
  })

  it('names tasks for people', () => {
    expect(taskTitle('Async.VM.clean_shutdown')).toBe('Shut Down')
    expect(taskTitle('Async.host.evacuate')).toBe('Evacuate server')
    expect(taskTitle('Async.SR.scan')).toBe('SR scan')
    expect(elapsed(125_000)).toBe('2 min 05 s')
  })

  it('a task of another client says what is known: the server it runs on, and that its end was not seen when it vanished (not "0 %")', () => {
    const t = new TaskTracker()
    const namer = () => (ref: string) => (ref === 'OpaqueRef:h1' ? "Server 'tiny-host-1'" : undefined)
    t.observe([{ connectionId: 'a', tasks: new Map([['OpaqueRef:t9', task({ name_label: 'Async.VM.clone', progress: 0, resident_on: 'OpaqueRef:h1' })]]) }], namer)
    let row = t.list()[0]
    expect(row).toMatchObject({ mine: false, progressKnown: true, progress: 0, runsOn: "Server 'tiny-host-1'" })
    expect(row?.target).toBeUndefined()
    // its client destroyed it before we saw the end: the progress we saw last is not how it ended
    t.observe([{ connectionId: 'a', tasks: new Map() }], namer)
    row = t.list()[0]
    expect(row).toMatchObject({ status: 'finished', progressKnown: false, runsOn: "Server 'tiny-host-1'" })
  })
})
