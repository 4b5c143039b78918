/**
 * VM and host commands end to end: contract arguments → operations module → PoolManager →
 * Async.* tasks on the real HTTPS simulator → results, history and the object graph.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methods } from '../../../shared/contract'
import type { OperationResult, operationMethods } from '../../../shared/contract/operations'
import { MemoryHistory, operationsModule } from '../../../main/services/operations'
import type { HandlerArgs, ServiceModule } from '../../../main/services'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { connectTrusted, makeManager, waitFor, type Harness } from '../pools/helpers'

let sim: SimControl
let h: Harness
let current: SimPoolHandle
let legacy: SimPoolHandle
let cur = ''
let leg = ''
const history = new MemoryHistory()
let mod: ServiceModule<keyof typeof operationMethods>
const progress: number[] = []

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.90', opDurationMs: 0 }) })
  current = sim.pool('tiny-current')
  legacy = sim.pool('tiny-legacy')
  h = makeManager()
  cur = await connectTrusted(h, current)
  leg = await connectTrusted(h, legacy)
  mod = operationsModule({ history })({
    pools: h.manager,
    broadcast: (event, payload) => {
      if (event === 'operation.progress' && typeof payload === 'object' && payload && 'progress' in payload) progress.push(Number(payload.progress))
    },
    log: () => {},
  })
}, 120_000)

afterAll(async () => {
  await h?.close()
  await sim?.stop()
})

function vmRef(pool: SimPoolHandle, name: string): string {
  for (const [ref, r] of pool.objects.get('VM') ?? []) if (r.name_label === name && r.is_a_snapshot === false) return ref
  throw new Error(`no VM ${name} in ${pool.name}`)
}
function simVm(pool: SimPoolHandle, ref: string) {
  const r = pool.objects.get('VM')?.get(ref)
  if (!r) throw new Error(`VM ${ref} gone`)
  return r
}
function hostRef(pool: SimPoolHandle, i: number): string {
  const ref = pool.hosts[i]?.ref
  if (!ref) throw new Error('no host')
  return ref
}

/** run a contract method through its schema, as a door would */
async function run<M extends 'vm.run' | 'host.run' | 'object.edit' | 'history.list'>(m: M, args: unknown): Promise<unknown> {
  const parsed = methods[m].args.parse(args) as HandlerArgs<M>
  const handler = mod.handlers[m] as ((a: HandlerArgs<M>, ctx: never) => Promise<unknown> | unknown) | undefined
  if (!handler) throw new Error(`no handler for ${m}`)
  return handler(parsed, undefined as never)
}
const vmRun = async (args: unknown) => (await run('vm.run', args)) as OperationResult[]

describe('VM commands against the simulator', () => {
  it('starts a halted VM as a task with progress, and the graph shows it running on a host', async () => {
    const ref = vmRef(current, 'build-01')
    const [r] = await vmRun({ targets: [{ connectionId: cur, ref }], op: 'start' })
    expect(r).toMatchObject({ ok: true, ref })
    expect(simVm(current, ref).power_state).toBe('Running')
    await waitFor('graph shows running', () => h.manager.graph(cur)?.get('VM', ref)?.power_state === 'Running')
    expect(progress.length).toBeGreaterThan(0)
  })

  it('refuses a second start with XAPI’s exact error, explained with the VM named', async () => {
    const ref = vmRef(current, 'build-01')
    const [r] = await vmRun({ targets: [{ connectionId: cur, ref }], op: 'start' })
    expect(r?.ok).toBe(false)
    expect(r?.error?.code).toBe('VM_BAD_POWER_STATE')
    expect(r?.error?.params).toEqual([ref, 'halted', 'running'])
    expect(r?.error?.message).toBe("VM 'build-01' is running; this needs it halted.")
  })

  it('refuses to start a template and a snapshot with VM_IS_TEMPLATE / VM_IS_SNAPSHOT', async () => {
    const tpl = vmRef(current, 'debian12-golden')
    const [a] = await vmRun({ targets: [{ connectionId: cur, ref: tpl }], op: 'start' })
    expect(a?.error?.code).toBe('VM_IS_TEMPLATE')
    let snap = ''
    for (const [ref, r] of current.objects.get('VM') ?? []) if (r.is_a_snapshot === true) snap = ref
    const [b] = await vmRun({ targets: [{ connectionId: cur, ref: snap }], op: 'start' })
    expect(['VM_IS_SNAPSHOT', 'VM_IS_TEMPLATE']).toContain(b?.error?.code)
  })

  it('snapshots, reverts to and deletes a snapshot; the snapshot shows in the graph', async () => {
    const ref = vmRef(current, 'web-01')
    const [s] = await vmRun({ targets: [{ connectionId: cur, ref }], op: 'snapshot', name: 'pre-patch' })
    expect(s?.ok).toBe(true)
    const snap = s?.created ?? ''
    expect(snap).toMatch(/^OpaqueRef:/)
    expect(simVm(current, snap)).toMatchObject({ is_a_snapshot: true, is_a_template: true, snapshot_of: ref, name_label: 'pre-patch' })
    // the VM now descends from its newest snapshot, as XenCenter's snapshot tree reads it
    expect(simVm(current, ref).parent).toBe(snap)
    await waitFor('snapshot in graph', () => h.manager.graph(cur)?.get('VM', snap)?.snapshot_of === ref)
    const [rv] = await vmRun({ targets: [{ connectionId: cur, ref: snap }], op: 'revert' })
    expect(rv?.ok).toBe(true)
    const [d] = await vmRun({ targets: [{ connectionId: cur, ref: snap }], op: 'destroy', withDisks: true })
    expect(d?.ok).toBe(true)
    expect(current.objects.get('VM')?.has(snap)).toBe(false)
    await waitFor('snapshot gone from graph', () => h.manager.graph(cur)?.get('VM', snap) === undefined)
  })

  it('reverting to a disk-only snapshot leaves the VM halted, as XAPI does', () => {
    expect(simVm(current, vmRef(current, 'web-01')).power_state).toBe('Halted')
  })

  it('migrates a running VM to the other host of the pool', async () => {
    const ref = vmRef(current, 'web-02')
    const from = String(simVm(current, ref).resident_on)
    const to = from === hostRef(current, 0) ? hostRef(current, 1) : hostRef(current, 0)
    const [m] = await vmRun({ targets: [{ connectionId: cur, ref }], op: 'pool_migrate', host: to })
    expect(m?.error).toBeUndefined()
    expect(simVm(current, ref).resident_on).toBe(to)
    await waitFor('graph moved', () => h.manager.graph(cur)?.get('VM', ref)?.resident_on === to)
  })

  it('shuts down VMs in two pools in one bulk action, reporting each VM; one fails and the rest go on', async () => {
    const targets = [
      { connectionId: cur, ref: vmRef(current, 'db-01') },
      { connectionId: leg, ref: vmRef(legacy, 'old-web') },
      { connectionId: leg, ref: vmRef(legacy, 'old-win') }, // halted: must fail alone
    ]
    const results = await vmRun({ targets, op: 'hard_shutdown' })
    expect(results.map((r) => r.ok)).toEqual([true, true, false])
    expect(results[2]?.error?.code).toBe('VM_BAD_POWER_STATE')
    expect(simVm(current, targets[0]?.ref ?? '').power_state).toBe('Halted')
    expect(simVm(legacy, targets[1]?.ref ?? '').power_state).toBe('Halted')
  })

  it('clones a halted VM and renames, tags and files the clone into a XenCenter folder', async () => {
    const ref = vmRef(current, 'legacy-app')
    const [c] = await vmRun({ targets: [{ connectionId: cur, ref }], op: 'clone', name: 'legacy-app-clone' })
    expect(c?.ok).toBe(true)
    const clone = c?.created ?? ''
    await run('object.edit', { connectionId: cur, cls: 'VM', ref: clone, name_label: 'legacy-app-2', tags: ['blue', 'blue', 'batch'], folder: '/Staging/Apps' })
    const rec = simVm(current, clone)
    expect(rec.name_label).toBe('legacy-app-2')
    expect(rec.tags).toEqual(['blue', 'batch'])
    expect((rec.other_config as Record<string, string>).folder).toBe('/Staging/Apps')
    await expect(run('object.edit', { connectionId: cur, cls: 'VM', ref: clone, folder: 'no-leading-slash' })).rejects.toThrow(/path like \/Production\/Web/)
  })

  it('rejects bad arguments before anything reaches XAPI', () => {
    expect(() => methods['vm.run'].args.parse({ targets: [], op: 'start' })).toThrow(/at least one VM/)
    expect(() => methods['vm.run'].args.parse({ targets: [{ connectionId: cur, ref: 'not-a-ref' }], op: 'start' })).toThrow(/OpaqueRef/)
    expect(() => methods['vm.run'].args.parse({ targets: [{ connectionId: cur, ref: 'OpaqueRef:1' }], op: 'explode' })).toThrow()
  })

  it('keeps a history of everything it ran, per object and globally, newest first', async () => {
    const all = (await run('history.list', {})) as { action: string; ok: boolean; objectName: string; ref: string }[]
    expect(all.length).toBeGreaterThanOrEqual(9)
    expect(all[0]?.objectName).toBeTruthy()
    const ref = vmRef(current, 'build-01')
    const mine = (await run('history.list', { ref })) as { action: string; ok: boolean }[]
    expect(mine.map((e) => [e.action, e.ok])).toEqual([
      ['Start', false],
      ['Start', true],
    ])
  })
})

describe('every other VM command, as XAPI runs it', () => {
  it('suspends and resumes on a chosen server; pauses and unpauses; reboots clean and forced', async () => {
    const ref = vmRef(current, 'pinned-01')
    const one = async (op: string, extra: Record<string, unknown> = {}) => {
      const [r] = await vmRun({ targets: [{ connectionId: cur, ref }], op, ...extra })
      expect(r?.error, `${op}`).toBeUndefined()
      return r
    }
    await one('suspend')
    expect(simVm(current, ref).power_state).toBe('Suspended')
    const [refused] = await vmRun({ targets: [{ connectionId: cur, ref }], op: 'start' })
    expect(refused?.error?.params).toEqual([ref, 'halted', 'suspended'])
    await one('resume_on', { host: hostRef(current, 1) })
    expect(simVm(current, ref)).toMatchObject({ power_state: 'Running', resident_on: hostRef(current, 1) })
    await one('pause')
    expect(simVm(current, ref).power_state).toBe('Paused')
    await one('unpause')
    await one('clean_reboot')
    await one('hard_reboot')
    expect(simVm(current, ref).power_state).toBe('Running')
  })

  it('takes a checkpoint (snapshot with memory), copies a halted VM, starts a VM on a chosen server', async () => {
    const running = vmRef(current, 'win-app-01')
    const [cp] = await vmRun({ targets: [{ connectionId: cur, ref: running }], op: 'checkpoint', name: 'with-memory' })
    expect(cp?.ok).toBe(true)
    expect(simVm(current, cp?.created ?? '')).toMatchObject({ is_a_snapshot: true, power_state: 'Suspended', snapshot_of: running })
    const halted = vmRef(current, 'legacy-app')
    const [cpy] = await vmRun({ targets: [{ connectionId: cur, ref: halted }], op: 'copy', name: 'legacy-app-copy' })
    expect(cpy?.ok).toBe(true)
    expect(simVm(current, cpy?.created ?? '')).toMatchObject({ name_label: 'legacy-app-copy', power_state: 'Halted', is_a_snapshot: false })
    const [st] = await vmRun({ targets: [{ connectionId: cur, ref: cpy?.created ?? '' }], op: 'start_on', host: hostRef(current, 0) })
    expect(st?.error).toBeUndefined()
    expect(simVm(current, cpy?.created ?? '')).toMatchObject({ power_state: 'Running', resident_on: hostRef(current, 0) })
    const [gone] = await vmRun({ targets: [{ connectionId: cur, ref: cpy?.created ?? '' }], op: 'destroy' })
    expect(gone?.error?.code).toBe('VM_BAD_POWER_STATE')
    await vmRun({ targets: [{ connectionId: cur, ref: cpy?.created ?? '' }], op: 'hard_shutdown' })
    const [deleted] = await vmRun({ targets: [{ connectionId: cur, ref: cpy?.created ?? '' }], op: 'destroy', withDisks: true })
    expect(deleted?.ok).toBe(true)
  })

  it('refuses an operation on a VM that is busy with another one: OTHER_OPERATION_IN_PROGRESS', async () => {
    const slow = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.91', opDurationMs: 1500 }) })
    const hs = makeManager()
    try {
      const pool = slow.pool('tiny-current')
      const id = await connectTrusted(hs, pool)
      const slowMod = operationsModule({ history: new MemoryHistory() })({ pools: hs.manager, broadcast: () => {}, log: () => {} })
      const vmRun2 = slowMod.handlers['vm.run']
      if (!vmRun2) throw new Error('no vm.run')
      const ref = vmRef(pool, 'web-02')
      const first = vmRun2(methods['vm.run'].args.parse({ targets: [{ connectionId: id, ref }], op: 'clean_reboot' }), undefined as never)
      await waitFor('reboot in progress', () => Object.keys(pool.objects.get('VM')?.get(ref)?.current_operations ?? {}).length > 0, 10_000)
      const second = (await vmRun2(methods['vm.run'].args.parse({ targets: [{ connectionId: id, ref }], op: 'suspend' }), undefined as never)) as OperationResult[]
      expect(second[0]?.error?.code).toBe('OTHER_OPERATION_IN_PROGRESS')
      expect(second[0]?.error?.message).toMatch(/busy with another operation \(clean reboot\)/)
      const done = (await first) as OperationResult[]
      expect(done[0]?.ok).toBe(true)
    } finally {
      await hs.close()
      await slow.stop()
    }
  })
})

describe('host commands', () => {
  it('enters maintenance mode (disable + evacuate, XenCenter’s marker) and exits it', async () => {
    const host = hostRef(current, 1)
    const results = (await run('host.run', { targets: [{ connectionId: cur, ref: host }], op: 'enter_maintenance' })) as OperationResult[]
    expect(results[0]?.error).toBeUndefined()
    const rec = current.objects.get('host')?.get(host)
    expect(rec?.enabled).toBe(false)
    expect((rec?.other_config as Record<string, string>).MAINTENANCE_MODE).toBe('true')
    const stillThere = [...(current.objects.get('VM') ?? []).values()].filter((v) => v.resident_on === host && v.is_control_domain === false && v.power_state === 'Running')
    expect(stillThere).toEqual([])
    await run('host.run', { targets: [{ connectionId: cur, ref: host }], op: 'exit_maintenance' })
    expect(current.objects.get('host')?.get(host)?.enabled).toBe(true)
  })
})
