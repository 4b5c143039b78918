import { describe, expect, it } from 'vitest'
import { makePool, waitFor } from './harness'

const GiB = 1024 ** 3

describe('VM power lifecycle', () => {
  it('starts a halted VM: Running, resident, domid, metrics, console, host memory, alert, allowed_operations', async () => {
    const { t, call, rec, pool } = makePool()
    const hostRef = t.refs.hosts[1] ?? ''
    const metricsRef = String(rec('host', hostRef)['metrics'])
    const freeBefore = Number(rec('host_metrics', metricsRef)['memory_free'])
    await call('VM.start_on', t.refs.halted, hostRef, false, false)
    const vm = rec('VM', t.refs.halted)
    expect(vm['power_state']).toBe('Running')
    expect(vm['resident_on']).toBe(hostRef)
    expect(Number(vm['domid'])).toBeGreaterThan(0)
    expect(rec('host', hostRef)['resident_VMs']).toContain(t.refs.halted)
    expect(Number(rec('host_metrics', metricsRef)['memory_free'])).toBe(freeBefore - 2 * GiB)
    const m = rec('VM_metrics', String(vm['metrics']))
    expect(m['memory_actual']).toBe(2 * GiB)
    expect(m['start_time']).toMatch(/^\d{8}T\d\d:\d\d:\d\dZ$/)
    const consoles = vm['consoles'] as string[]
    expect(consoles).toHaveLength(1)
    const c = rec('console', consoles[0] ?? '')
    expect(c['protocol']).toBe('rfb')
    expect(c['location']).toBe(`https://${t.spec.hosts[1]?.address}/console?uuid=${String(c['uuid'])}`)
    expect(vm['allowed_operations']).toEqual(expect.arrayContaining(['clean_shutdown', 'hard_shutdown', 'clean_reboot', 'hard_reboot', 'suspend', 'pause', 'snapshot', 'checkpoint', 'pool_migrate']))
    expect(vm['allowed_operations']).not.toContain('start')
    expect(vm['current_operations']).toEqual({})
    const msgs = [...pool.db.table('message').values()]
    expect(msgs.some((x) => x['name'] === 'VM_STARTED' && x['cls'] === 'VM' && x['obj_uuid'] === vm['uuid'] && x['priority'] === 5)).toBe(true)
  })

  it('refuses a second start with VM_BAD_POWER_STATE [ref, "halted", "running"], and lists all allowed states', async () => {
    const { t, fails, call } = makePool()
    expect(await fails('VM.start', t.refs.running, false, false)).toEqual(['VM_BAD_POWER_STATE', t.refs.running, 'halted', 'running'])
    expect(await fails('VM.hard_shutdown', t.refs.halted)).toEqual(['VM_BAD_POWER_STATE', t.refs.halted, 'paused, suspended, running', 'halted'])
    await call('VM.pause', t.refs.running)
    expect(await fails('VM.clean_shutdown', t.refs.running)).toEqual(['VM_BAD_POWER_STATE', t.refs.running, 'running', 'paused'])
  })

  it('shuts down: Halted, no console, memory back, no residence, VM_SHUTDOWN alert', async () => {
    const { t, call, rec, pool } = makePool()
    const hostRef = t.refs.hosts[0] ?? ''
    const metricsRef = String(rec('host', hostRef)['metrics'])
    const freeBefore = Number(rec('host_metrics', metricsRef)['memory_free'])
    const consoleRef = (rec('VM', t.refs.running)['consoles'] as string[])[0] ?? ''
    await call('VM.clean_shutdown', t.refs.running)
    const vm = rec('VM', t.refs.running)
    expect(vm).toMatchObject({ power_state: 'Halted', resident_on: 'OpaqueRef:NULL', domid: -1, consoles: [] })
    expect(pool.db.get('console', consoleRef)).toBeUndefined()
    expect(Number(rec('host_metrics', metricsRef)['memory_free'])).toBe(freeBefore + 2 * GiB)
    expect(rec('host', hostRef)['resident_VMs']).not.toContain(t.refs.running)
    expect(vm['allowed_operations']).toEqual(expect.arrayContaining(['start', 'start_on', 'clone', 'copy', 'destroy', 'snapshot', 'export']))
    expect([...pool.db.table('message').values()].some((m) => m['name'] === 'VM_SHUTDOWN')).toBe(true)
  })

  it('suspends and resumes, pauses and unpauses, reboots with a new domid', async () => {
    const { t, call, rec } = makePool()
    await call('VM.suspend', t.refs.running)
    expect(rec('VM', t.refs.running)['power_state']).toBe('Suspended')
    expect(rec('VM', t.refs.running)['consoles']).toEqual([])
    await call('VM.resume', t.refs.running, false, false)
    expect(rec('VM', t.refs.running)['power_state']).toBe('Running')
    await call('VM.pause', t.refs.running)
    expect(rec('VM', t.refs.running)['power_state']).toBe('Paused')
    await call('VM.unpause', t.refs.running)
    const domid = rec('VM', t.refs.running)['domid']
    await call('VM.hard_reboot', t.refs.running)
    expect(rec('VM', t.refs.running)['power_state']).toBe('Running')
    expect(rec('VM', t.refs.running)['domid']).not.toBe(domid)
  })

  it('guards templates, snapshots and blocked operations', async () => {
    const { t, call, fails } = makePool()
    expect(await fails('VM.start', t.refs.template, false, false)).toEqual(['VM_IS_TEMPLATE', t.refs.template, 'start'])
    expect(await fails('VM.destroy', t.refs.defaultTemplate)).toEqual(['VM_IS_TEMPLATE', t.refs.defaultTemplate, 'destroy'])
    await call('VM.add_to_blocked_operations', t.refs.halted, 'start', 'maintenance window')
    expect(await fails('VM.start', t.refs.halted, false, false)).toEqual(['OPERATION_BLOCKED', t.refs.halted, 'maintenance window'])
    const snap = String(await call('VM.snapshot', t.refs.running, 'before upgrade'))
    expect(await fails('VM.start', snap, false, false)).toEqual(['VM_IS_SNAPSHOT', snap, 'start'])
  })

  it('refuses a start that does not fit with HOST_NOT_ENOUGH_FREE_MEMORY [needed, available]', async () => {
    const { t, fails, call } = makePool({ hostMemGiB: 6 })
    const metrics = (await call('host_metrics.get_record', String(await call('host.get_metrics', t.refs.hosts[0] ?? '')))) as Record<string, number>
    const free = metrics['memory_free']
    expect(await fails('VM.start_on', t.refs.halted, t.refs.hosts[0] ?? '', false, false)).toEqual(['HOST_NOT_ENOUGH_FREE_MEMORY', String(2 * GiB), String(free)])
  })
})

describe('snapshots, clones, copies', () => {
  it('snapshots as is_a_snapshot + is_a_template + snapshot_of, with disk copies that are VDI snapshots', async () => {
    const { t, call, rec } = makePool()
    const snap = String(await call('VM.snapshot', t.refs.running, 'snap1'))
    const s = rec('VM', snap)
    expect(s).toMatchObject({ is_a_snapshot: true, is_a_template: true, snapshot_of: t.refs.running, power_state: 'Halted', name_label: 'snap1' })
    expect(s['snapshot_time']).not.toBe('19700101T00:00:00Z')
    expect(rec('VM', t.refs.running)['snapshots']).toEqual([snap])
    const vbd = rec('VBD', (s['VBDs'] as string[])[0] ?? '')
    expect(vbd['VM']).toBe(snap)
    const vdi = rec('VDI', String(vbd['VDI']))
    const origVdi = String(rec('VBD', (rec('VM', t.refs.running)['VBDs'] as string[])[0] ?? '')['VDI'])
    expect(vdi).toMatchObject({ is_a_snapshot: true, snapshot_of: origVdi })
    expect(s['allowed_operations']).toEqual(expect.arrayContaining(['revert', 'clone', 'copy', 'destroy']))
    const cp = String(await call('VM.checkpoint', t.refs.running, 'cp'))
    expect(rec('VM', cp)['power_state']).toBe('Suspended')
  })

  it('reverts a running VM to a snapshot (halted), clones a template into a template, copies and destroys', async () => {
    const { t, call, rec, pool } = makePool()
    const snap = String(await call('VM.snapshot', t.refs.running, 'snap1'))
    await call('VM.revert', snap)
    expect(rec('VM', t.refs.running)).toMatchObject({ power_state: 'Halted', parent: snap })
    const clone = String(await call('VM.clone', t.refs.template, 'from-template'))
    expect(rec('VM', clone)).toMatchObject({ is_a_template: true, is_default_template: false, is_a_snapshot: false })
    expect((rec('VM', clone)['other_config'] as Record<string, string>)['base_template_name']).toBe('my-template')
    const copy = String(await call('VM.copy', t.refs.halted, 'copy', t.refs.sr))
    const copyVdi = String(rec('VBD', (rec('VM', copy)['VBDs'] as string[])[0] ?? '')['VDI'])
    expect(rec('SR', t.refs.sr)['VDIs']).toContain(copyVdi)
    const vbds = rec('VM', copy)['VBDs'] as string[]
    await call('VM.destroy', copy)
    expect(pool.db.get('VM', copy)).toBeUndefined()
    expect(pool.db.get('VBD', vbds[0] ?? '')).toBeUndefined()
    await call('VM.destroy', snap)
    expect(rec('VM', t.refs.running)['snapshots']).toEqual([])
  })
})

describe('tasks and Async.*', () => {
  it('runs Async.VM.start as a task: name_label, pending → success, progress 1, result "<value></value>"', async () => {
    const { t, call, rec } = makePool()
    const task = String(await call('Async.VM.start', t.refs.halted, false, false))
    expect(rec('task', task)['name_label']).toBe('Async.VM.start')
    const done = await waitFor('task end', () => (rec('task', task)['status'] !== 'pending' ? rec('task', task) : undefined))
    expect(done).toMatchObject({ status: 'success', progress: 1, result: '<value></value>', error_info: [], allowed_operations: [] })
    expect(rec('VM', t.refs.halted)['power_state']).toBe('Running')
  })

  it('puts a returned ref in result as an XML-RPC fragment, and a failure in error_info', async () => {
    const { t, call, rec } = makePool()
    const task = String(await call('Async.VM.clone', t.refs.halted, 'c'))
    const done = await waitFor('clone', () => (rec('task', task)['status'] === 'success' ? rec('task', task) : undefined))
    expect(done['result']).toMatch(/^<value>OpaqueRef:[0-9a-f-]{36}<\/value>$/)
    const bad = String(await call('Async.VM.start', t.refs.running, false, false))
    const failed = await waitFor('fail', () => (rec('task', bad)['status'] === 'failure' ? rec('task', bad) : undefined))
    expect(failed['error_info']).toEqual(['VM_BAD_POWER_STATE', t.refs.running, 'halted', 'running'])
  })

  it('shows current_operations while a task runs, refuses other operations, and cancels to status cancelled', async () => {
    const { t, call, rec, fails, pool } = makePool({ opMs: 10_000 })
    const task = String(await call('Async.VM.clean_shutdown', t.refs.running))
    await waitFor('cancellable', () => (rec('task', task)['allowed_operations'] as string[]).includes('cancel') || undefined)
    expect(rec('VM', t.refs.running)['current_operations']).toEqual({ [task]: 'clean_shutdown' })
    expect(await fails('VM.suspend', t.refs.running)).toEqual(['OTHER_OPERATION_IN_PROGRESS', 'VM', t.refs.running, 'clean_shutdown', task])
    await call('task.cancel', task)
    const done = await waitFor('cancelled', () => (['cancelled', 'success', 'failure'].includes(String(rec('task', task)['status'])) ? rec('task', task) : undefined))
    expect(done).toMatchObject({ status: 'cancelled', error_info: ['TASK_CANCELLED', task] })
    expect(rec('VM', t.refs.running)).toMatchObject({ power_state: 'Running', current_operations: {} })
    await call('task.destroy', task)
    expect(pool.db.get('task', task)).toBeUndefined()
  })

  it('reports progress between 0 and 1 while a long operation runs', async () => {
    const { t, call, rec } = makePool({ opMs: 600 })
    const task = String(await call('Async.VM.start', t.refs.halted, false, false))
    const seen = new Set<number>()
    await waitFor('done', () => {
      seen.add(Number(rec('task', task)['progress']))
      return rec('task', task)['status'] === 'success' || undefined
    })
    expect([...seen].some((p) => p > 0 && p < 1)).toBe(true)
  })
})

describe('hosts', () => {
  it('disables, evacuates, and reboots only when disabled', async () => {
    const { t, call, rec, fails } = makePool()
    const h1 = t.refs.hosts[0] ?? ''
    expect(await fails('host.reboot', h1)).toEqual(['HOST_NOT_DISABLED'])
    await call('host.disable', h1)
    expect(rec('host', h1)['enabled']).toBe(false)
    await call('host.evacuate', h1)
    expect(rec('VM', t.refs.running)['resident_on']).toBe(t.refs.hosts[1])
    await call('host.reboot', h1)
    expect(rec('host', h1)['enabled']).toBe(true)
    expect(typeof (await call('host.get_servertime', h1))).toBe('string')
  })

  it('answers an unknown plug-in with XENAPI_MISSING_PLUGIN', async () => {
    const { t, fails } = makePool()
    expect(await fails('host.call_plugin', t.refs.hosts[0] ?? '', 'nope', 'f', {})).toEqual(['XENAPI_MISSING_PLUGIN', 'nope'])
  })

  it('returns alerts newer than a date from message.get_since', async () => {
    const { t, call } = makePool()
    await call('VM.start', t.refs.halted, false, false)
    const since = (await call('message.get_since', '20000101T00:00:00Z')) as Record<string, { name: string }>
    expect(Object.values(since).map((m) => m.name)).toContain('VM_STARTED')
    expect(await call('message.get_since', '29990101T00:00:00Z')).toEqual({})
  })

  it('destroys alerts as xapi_message.ml does: an unknown ref is HANDLE_INVALID [message, ref]; destroy_many stops at it, keeping the ones after', async () => {
    const { t, call, fails, pool } = makePool()
    const uuid = String(pool.db.must('VM', t.refs.halted)['uuid'])
    const made: string[] = []
    for (const n of ['A', 'B', 'C', 'D']) made.push(String(await call('message.create', `TEST_${n}`, 3, 'VM', uuid, n)))
    const [a, b, c, d] = made as [string, string, string, string]
    await call('message.destroy', a)
    expect(pool.db.get('message', a)).toBeUndefined()
    expect(await fails('message.destroy', a)).toEqual(['HANDLE_INVALID', 'message', a])
    // destroy_many: b goes, the unknown a stops it, c stays
    expect(await fails('message.destroy_many', [b, a, c])).toEqual(['HANDLE_INVALID', 'message', a])
    expect(pool.db.get('message', b)).toBeUndefined()
    expect(pool.db.get('message', c)).toBeDefined()
    await call('message.destroy_many', [c, d])
    expect(pool.db.get('message', c)).toBeUndefined()
    expect(pool.db.get('message', d)).toBeUndefined()
  })
})

describe('generated create/destroy and queries', () => {
  it('filters get_all_records_where with XAPI expressions', async () => {
    const { t, call } = makePool()
    const dom0 = (await call('VM.get_all_records_where', `field "is_control_domain"="true" and field "resident_on"="${t.refs.hosts[1]}"`)) as Record<string, unknown>
    expect(Object.keys(dom0)).toEqual([t.refs.dom0s[1]])
    const notTemplates = (await call('VM.get_all_records_where', 'not (field "is_a_template"="true") and field "is_control_domain"<>"true"')) as Record<string, unknown>
    expect(Object.keys(notTemplates).sort()).toEqual([t.refs.running, t.refs.halted].sort())
    expect(Object.keys((await call('VM.get_all_records_where', 'true')) as object)).toHaveLength(6)
  })

  it('keeps one-to-many relations in step on create and destroy (VBD.VM ↔ VM.VBDs, VDI.SR ↔ SR.VDIs)', async () => {
    const { t, call, rec, fails } = makePool()
    const vdi = String(await call('VDI.create', { name_label: 'scratch', SR: t.refs.sr, virtual_size: 1024, type: 'user', sharable: false, read_only: false, other_config: {} }))
    expect(rec('SR', t.refs.sr)['VDIs']).toContain(vdi)
    const vbd = String(await call('VBD.create', { VM: t.refs.halted, VDI: vdi, userdevice: '1', bootable: false, mode: 'RW', type: 'Disk', empty: false, other_config: {} }))
    expect(rec('VM', t.refs.halted)['VBDs']).toContain(vbd)
    expect(rec('VDI', vdi)['VBDs']).toEqual([vbd])
    await call('VBD.destroy', vbd)
    expect(rec('VM', t.refs.halted)['VBDs']).not.toContain(vbd)
    expect(rec('VDI', vdi)['VBDs']).toEqual([])
    await call('VDI.destroy', vdi)
    expect(rec('SR', t.refs.sr)['VDIs']).not.toContain(vdi)
    await call('VM.start', t.refs.halted, false, false)
    const attached = String(rec('VBD', (rec('VM', t.refs.halted)['VBDs'] as string[])[0] ?? '')['VDI'])
    expect(await fails('VDI.destroy', attached)).toEqual(['VDI_IN_USE', attached, 'destroy'])
  })

  it('designates a new master: pool.master changes, then sessions end as the toolstack restarts', async () => {
    const { t, call, pool } = makePool()
    const s = pool.openSession('root', t.refs.hosts[0] ?? '', 'x')
    await call('pool.designate_new_master', t.refs.hosts[1] ?? '')
    await waitFor('master change', () => (pool.masterRef === t.refs.hosts[1] ? true : undefined))
    expect(pool.sessions.has(s)).toBe(false)
    expect(pool.masterAddress).toBe(t.spec.hosts[1]?.address)
  })
})

describe('allowed_operations after plain field writes', () => {
  it('drops an operation when it is blocked and brings it back when unblocked', async () => {
    const { t, call, rec } = makePool()
    await call('VM.add_to_blocked_operations', t.refs.halted, 'start', 'no')
    expect(rec('VM', t.refs.halted)['allowed_operations']).not.toContain('start')
    await call('VM.remove_from_blocked_operations', t.refs.halted, 'start')
    expect(rec('VM', t.refs.halted)['allowed_operations']).toContain('start')
    await call('VM.set_is_a_template', t.refs.halted, true)
    expect(rec('VM', t.refs.halted)['allowed_operations']).not.toContain('start')
    expect(rec('VM', t.refs.halted)['allowed_operations']).toContain('clone')
  })
})

describe('memory and vCPU setters', () => {
  it('keep static_min ≤ dynamic_min ≤ dynamic_max ≤ static_max and change static limits only when halted', async () => {
    const { t, call, rec, fails } = makePool()
    await call('VM.set_memory_limits', t.refs.halted, 512 * 1024 ** 2, 4 * GiB, 1 * GiB, 3 * GiB)
    expect(rec('VM', t.refs.halted)).toMatchObject({ memory_static_max: 4 * GiB, memory_dynamic_max: 3 * GiB })
    expect(await fails('VM.set_memory_dynamic_range', t.refs.halted, 3 * GiB, 2 * GiB)).toEqual(['MEMORY_CONSTRAINT_VIOLATION_ORDER'])
    expect(await fails('VM.set_memory_static_range', t.refs.running, 1 * GiB, 8 * GiB)).toEqual(['VM_BAD_POWER_STATE', t.refs.running, 'halted', 'running'])
    await call('VM.set_memory_dynamic_range', t.refs.running, 1 * GiB, 2 * GiB)
    await call('VM.set_VCPUs_number_live', t.refs.running, 1)
    expect(rec('VM_metrics', String(rec('VM', t.refs.running)['metrics']))['VCPUs_number']).toBe(1)
  })
})
