/**
 * Storage actions end to end (issue 13): contract arguments → storage module → PoolManager →
 * Async.* tasks on the real HTTPS simulator → results, history, progress and the object graph.
 * XAPI's refusals come back with its exact code and parameters (xapi_errors.json names); the ones
 * XenPilot makes itself (shared/operations/storage.ts) come back as 'refused' with the reason the
 * renderer shows before the click. A refusal by XAPI is provoked the way it happens in real life:
 * another client changes the pool a moment before, while XenPilot's graph has not seen it yet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methods, type EventPayload } from '../../../shared/contract'
import type { OperationResult } from '../../../shared/contract/operations'
import type { StorageMethodName } from '../../../shared/contract/storage'
import { MemoryHistory } from '../../../main/services/operations'
import { storageModule } from '../../../main/services/storage'
import type { HandlerArgs, ServiceModule } from '../../../main/services'
import type { PoolManagerApi } from '../../../main/pools/api'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle, SimRecord, SimValue } from '../../sim/model'
import { connectTrusted, makeManager, waitFor, type Harness } from '../pools/helpers'

const GiB = 1024 ** 3

let sim: SimControl
let h: Harness
let pool: SimPoolHandle
let cur = ''
const history = new MemoryHistory()
let mod: ServiceModule<StorageMethodName>
const progress: EventPayload<'operation.progress'>[] = []
/** every XAPI task that failed under XenPilot, as [method, code, ...params] (what the pool answered) */
const refusals: string[][] = []

function spy(pools: PoolManagerApi): PoolManagerApi {
  return new Proxy(pools, {
    get(target, prop, receiver) {
      if (prop === 'callAsync') {
        return async (id: string, method: string, params: unknown[], onProgress?: (p: number, t: string) => void) => {
          try {
            return await target.callAsync(id, method, params, onProgress)
          } catch (e) {
            const err = e as { code?: string; params?: unknown[] }
            refusals.push([method, String(err.code), ...(err.params ?? []).map(String)])
            throw e
          }
        }
      }
      const v: unknown = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.92', opDurationMs: 0 }) })
  pool = sim.pool('tiny-current')
  h = makeManager()
  cur = await connectTrusted(h, pool)
  mod = storageModule({ history, migrateRetryMs: 150, migrateWaitMaxMs: 30_000 })({
    pools: spy(h.manager),
    broadcast: (event, payload) => {
      if (event === 'operation.progress') progress.push(payload as EventPayload<'operation.progress'>)
    },
    log: () => {},
  })
}, 120_000)

afterAll(async () => {
  await h?.close()
  await sim?.stop()
})

// ---------------------------------------------------------------------------------------------

const table = (cls: string) => pool.objects.get(cls) ?? new Map<string, SimRecord>()
const rec = (cls: string, ref: string): SimRecord => {
  const r = table(cls).get(ref)
  if (!r) throw new Error(`${cls} ${ref} is gone`)
  return r
}
function find(cls: string, pred: (r: SimRecord) => boolean): string {
  for (const [ref, r] of table(cls)) if (pred(r)) return ref
  throw new Error(`no ${cls} matches`)
}
const vm = (name: string) => find('VM', (r) => r.name_label === name && r.is_a_snapshot !== true && r.is_a_template !== true)
const hostRef = (i: number) => pool.hosts[i]?.ref ?? ''
const srNamed = (name: string, host?: string) =>
  find('SR', (r) => r.name_label === name && (host === undefined || (r.PBDs as string[]).some((p) => table('PBD').get(p)?.host === host)))
const drives = (vmRef: string, type: 'Disk' | 'CD') => (rec('VM', vmRef).VBDs as string[]).filter((b) => rec('VBD', b).type === type)
const diskOf = (vbd: string) => String(rec('VBD', vbd).VDI)
const simCall = (method: string, ...params: SimValue[]) => pool.call(method, params)
const graph = () => {
  const g = h.manager.graph(cur)
  if (!g) throw new Error('no graph')
  return g
}
/** the graph has caught up with the simulator for this object (XenPilot plans from its graph) */
const seen = (cls: string, ref: string, pred: (r: Record<string, unknown>) => boolean = () => true) =>
  waitFor(`${cls} in graph`, () => {
    const r = graph().get(cls, ref)
    return r !== undefined && pred(r)
  })
const gone = (cls: string, ref: string) => waitFor(`${cls} gone from graph`, () => graph().get(cls, ref) === undefined)

/** another client fills a thick SR with large disks until less than `leaveGiB` is free; the graph sees it */
async function fill(sr: string, leaveGiB: number): Promise<string[]> {
  const free = () => Number(rec('SR', sr).physical_size) - Number(rec('SR', sr).physical_utilisation)
  const fillers: string[] = []
  while (free() > leaveGiB * GiB) {
    const size = Math.min(1000 * GiB, Math.floor((free() - (leaveGiB - 10) * GiB) / GiB) * GiB)
    fillers.push(String(await simCall('VDI.create', { name_label: 'filler', SR: sr, virtual_size: String(size), type: 'user', sharable: false, read_only: false, other_config: {} })))
  }
  await seen('SR', sr, (x) => Number(x.physical_size) - Number(x.physical_utilisation) === free())
  return fillers
}

/** another client deletes the fillers; the graph sees the SR free again */
async function unfill(sr: string, fillers: readonly string[]): Promise<void> {
  for (const f of fillers) await simCall('VDI.destroy', f)
  await seen('SR', sr, (x) => (x.VDIs as string[]).every((v) => !fillers.includes(v)) && Object.keys(x.current_operations as object).length === 0)
}

/** run a contract method through its schema, as a door would */
async function run(m: StorageMethodName, args: unknown): Promise<OperationResult> {
  const parsed = methods[m].args.parse(args) as HandlerArgs<typeof m>
  const handler = mod.handlers[m] as ((a: HandlerArgs<typeof m>, ctx: never) => Promise<OperationResult>) | undefined
  if (!handler) throw new Error(`no handler for ${m}`)
  return handler(parsed, undefined as never)
}
async function refused(m: StorageMethodName, args: unknown): Promise<{ code: string; message: string }> {
  try {
    await run(m, args)
  } catch (e) {
    return e as { code: string; message: string }
  }
  throw new Error(`${m} was not refused`)
}

// ---------------------------------------------------------------------------------------------

describe('a VM’s disks', () => {
  it('adds a 10 GiB disk to a running VM: VDI.create, VBD.create at XAPI’s first free position, VBD.plug — one action, one history entry', async () => {
    const web = vm('web-01')
    const nfs = srNamed('NFS VM storage')
    const before = progress.length
    const r = await run('disk.create', { connectionId: cur, vm: web, sr: nfs, name: 'web-01 data', size: 10 * GiB })
    expect(r).toMatchObject({ ok: true, ref: web })
    const vdi = r.created ?? ''
    expect(rec('VDI', vdi)).toMatchObject({ name_label: 'web-01 data', virtual_size: 10 * GiB, SR: nfs })
    const vbd = (rec('VDI', vdi).VBDs as string[])[0] ?? ''
    expect(rec('VBD', vbd)).toMatchObject({ VM: web, userdevice: '1', currently_attached: true, mode: 'RW', type: 'Disk', bootable: false })
    expect((rec('VBD', vbd).other_config as Record<string, string>).owner).toBe('true')
    // three XAPI tasks, one user action: every progress report carries the same action id and target
    const mine = progress.slice(before)
    expect(new Set(mine.map((p) => p.action?.id)).size).toBe(1)
    expect(mine[0]?.action?.title).toBe('Add disk')
    expect(new Set(mine.map((p) => p.taskRef)).size).toBe(3)
    expect(mine.every((p) => p.ref === web && p.cls === 'VM')).toBe(true)
    expect(Math.max(...mine.map((p) => p.progress))).toBeLessThanOrEqual(1)
    const [entry] = history.list({ ref: web })
    expect(entry).toMatchObject({ action: 'Add disk', ok: true, cls: 'VM', objectName: 'web-01' })
    await seen('VBD', vbd, (x) => x.currently_attached === true)
  })

  it('refuses a disk larger than a thick SR’s free space before asking XAPI, with the same reason the UI shows', async () => {
    const web = vm('web-01')
    const local = srNamed('Local storage', String(rec('VM', web).resident_on))
    const fillers = await fill(local, 1000)
    const s = rec('SR', local)
    const size = Math.ceil((Number(s.physical_size) - Number(s.physical_utilisation) + GiB) / GiB) * GiB
    const e = await refused('disk.create', { connectionId: cur, vm: web, sr: local, name: 'too big', size })
    expect(e.code).toBe('refused')
    expect(e.message).toMatch(/free; a .* disk does not fit/)
    await unfill(local, fillers)
  })

  it('grows a halted VM’s disk with VDI.resize; XAPI answers a growth beyond the SR’s space with SR_FULL [requested, maximum]', async () => {
    const build = vm('build-01')
    const host = hostRef(0)
    const local = srNamed('Local storage', host)
    // a disk on the thick local SR: create it there first
    const made = await run('disk.create', { connectionId: cur, vm: build, sr: local, name: 'build scratch', size: 2 * GiB })
    expect(made.ok).toBe(true)
    const vdi = made.created ?? ''
    await seen('VDI', vdi)
    const grown = await run('disk.resize', { connectionId: cur, vdi, size: 6 * GiB, vm: build })
    expect(grown).toMatchObject({ ok: true })
    expect(rec('VDI', vdi).virtual_size).toBe(6 * GiB)
    await seen('VDI', vdi, (x) => x.virtual_size === 6 * GiB)
    const fillers = await fill(local, 500)
    const s = rec('SR', local)
    const free = Number(s.physical_size) - Number(s.physical_utilisation)
    const want = 6 * GiB + Math.ceil((free + GiB) / GiB) * GiB
    const full = await run('disk.resize', { connectionId: cur, vdi, size: want, vm: build })
    await unfill(local, fillers)
    expect(full.ok).toBe(false)
    expect(full.error?.code).toBe('SR_FULL')
    expect(full.error?.params).toEqual([String(want), String(6 * GiB + free)])
    expect(full.error?.message).toMatch(/^The storage repository is full: .* requested, .* maximum\.$/)
    expect(history.list({ ref: build })[0]).toMatchObject({ action: 'Resize disk', ok: false, errorCode: 'SR_FULL' })
    // shrinking is refused before XAPI is asked
    expect((await refused('disk.resize', { connectionId: cur, vdi, size: 4 * GiB, vm: build })).message).toMatch(/can only grow/)
  })

  it('renames a disk', async () => {
    const build = vm('build-01')
    const vdi = find('VDI', (r) => r.name_label === 'build scratch')
    const r = await run('disk.rename', { connectionId: cur, vdi, name_label: 'build cache', name_description: 'ccache', vm: build })
    expect(r.ok).toBe(true)
    expect(rec('VDI', vdi)).toMatchObject({ name_label: 'build cache', name_description: 'ccache' })
  })

  it('attaches an existing disk; a disk another running VM has plugged read-write: XAPI refuses VBD.plug with VDI_IN_USE [vdi] and the new drive is removed again', async () => {
    const web2 = vm('web-02')
    const orphan = find('VDI', (r) => r.name_label === 'restore-2025-03')
    const ok = await run('disk.attach', { connectionId: cur, vm: web2, vdi: orphan })
    expect(ok.ok).toBe(true)
    expect(rec('VBD', ok.created ?? '')).toMatchObject({ VM: web2, VDI: orphan, currently_attached: true })
    await seen('VBD', ok.created ?? '', (x) => x.currently_attached === true)
    const webDisk = diskOf(drives(vm('web-01'), 'Disk')[0] ?? '')
    const drivesBefore = drives(web2, 'Disk').length
    const r = await run('disk.attach', { connectionId: cur, vm: web2, vdi: webDisk })
    expect(r.ok).toBe(false)
    expect(r.error?.code).toBe('VDI_IN_USE')
    expect(r.error?.params).toEqual([webDisk])
    expect(r.error?.message).toMatch(/is plugged into another running VM/)
    expect(drives(web2, 'Disk')).toHaveLength(drivesBefore)
  })

  it('refuses to delete a disk another VM uses too; detaches it instead, and deletes it from its last VM', async () => {
    const web2 = vm('web-02')
    const build = vm('build-01')
    const orphan = find('VDI', (r) => r.name_label === 'restore-2025-03')
    const second = await run('disk.attach', { connectionId: cur, vm: build, vdi: orphan, readOnly: true })
    expect(second.ok).toBe(true)
    await seen('VBD', second.created ?? '')
    const e = await refused('disk.delete', { connectionId: cur, vdi: orphan, vm: web2 })
    expect(e.message).toMatch(/also used by VM 'build-01'/)
    const detached = await run('disk.detach', { connectionId: cur, vbd: second.created ?? '' })
    expect(detached.ok).toBe(true)
    expect(table('VBD').has(second.created ?? '')).toBe(false)
    await gone('VBD', second.created ?? '')
    const del = await run('disk.delete', { connectionId: cur, vdi: orphan, vm: web2 })
    expect(del).toMatchObject({ ok: true, ref: web2 })
    expect(table('VDI').has(orphan)).toBe(false)
    expect(history.list({ ref: web2 }).map((x) => x.action)).toContain('Delete disk')
  })

  it('detaching a boot disk is refused before XAPI; when another client just made a data disk not unpluggable, XAPI answers VBD_NOT_UNPLUGGABLE [vbd]', async () => {
    const web = vm('web-01')
    const [system] = drives(web, 'Disk')
    expect((await refused('disk.detach', { connectionId: cur, vbd: system ?? '' })).message).toMatch(/cannot be unplugged while VM 'web-01' runs/)
    const data = drives(web, 'Disk').find((b) => rec('VBD', b).bootable !== true) ?? ''
    await simCall('VBD.set_unpluggable', data, false)
    const r = await run('disk.detach', { connectionId: cur, vbd: data })
    expect(r.ok).toBe(false)
    expect(r.error?.code).toBe('VBD_NOT_UNPLUGGABLE')
    expect(r.error?.params).toEqual([data])
    expect(r.error?.message).toMatch(/^The drive 1 of VM 'web-01' cannot be unplugged while the VM runs/)
    await simCall('VBD.set_unpluggable', data, true)
    await seen('VBD', data, (x) => x.unpluggable === true)
  })

  it('a guest that holds the disk refuses a clean unplug (DEVICE_DETACH_REJECTED); force detach unplugs it with unplug_force only when asked', async () => {
    const web = vm('web-01')
    const data = drives(web, 'Disk').find((b) => rec('VBD', b).bootable !== true) ?? ''
    await simCall('VBD.add_to_other_config', data, 'xenpilot_sim_in_use', 'true')
    const r = await run('disk.detach', { connectionId: cur, vbd: data })
    expect(r.error?.code).toBe('DEVICE_DETACH_REJECTED')
    expect(r.error?.params).toEqual(['VBD', data, 'the guest is using the device'])
    expect(r.error?.action).toMatch(/force the detach/)
    expect(rec('VBD', data).currently_attached).toBe(true)
    expect(refusals.some((x) => x[0] === 'VBD.unplug_force')).toBe(false)
    const forced = await run('disk.detach', { connectionId: cur, vbd: data, force: true })
    expect(forced.ok).toBe(true)
    expect(table('VBD').has(data)).toBe(false)
    expect(history.list({ ref: web })[0]).toMatchObject({ action: 'Force detach disk', ok: true })
  })
})

describe('moving disks to another SR', () => {
  it('storage-migrates a running VM’s disk with VDI.pool_migrate: the drive stays plugged, now on the new SR', async () => {
    const db = vm('db-01')
    const data = drives(db, 'Disk').find((b) => rec('VBD', b).bootable !== true) ?? ''
    const vdi = diskOf(data)
    const host = String(rec('VM', db).resident_on)
    const local = srNamed('Local storage', host)
    const r = await run('disk.move', { connectionId: cur, vdi, sr: local, vm: db })
    expect(r.ok).toBe(true)
    const moved = r.created ?? ''
    expect(rec('VDI', moved)).toMatchObject({ SR: local })
    expect(rec('VBD', data)).toMatchObject({ VDI: moved, currently_attached: true })
    expect(table('VDI').has(vdi)).toBe(false)
    expect(refusals.filter((x) => x[0] === 'VDI.copy')).toEqual([])
    await seen('VBD', data, (x) => x.VDI === moved)
  })

  it('moves a halted VM’s disk by copying it: VDI.copy, the drive re-created at the same position (bootable kept), the original deleted last', async () => {
    const build = vm('build-01')
    const [system] = drives(build, 'Disk')
    const vdi = diskOf(system ?? '')
    const before = { userdevice: rec('VBD', system ?? '').userdevice, bootable: rec('VBD', system ?? '').bootable }
    const local = srNamed('Local storage', hostRef(1))
    const r = await run('disk.move', { connectionId: cur, vdi, sr: local, vm: build })
    expect(r.ok).toBe(true)
    const copy = r.created ?? ''
    expect(rec('VDI', copy).SR).toBe(local)
    expect(table('VDI').has(vdi)).toBe(false)
    const [drive] = (rec('VDI', copy).VBDs as string[]).map((b) => rec('VBD', b))
    expect(drive).toMatchObject({ VM: build, ...before })
    expect(refusals.filter((x) => x[0] === 'VDI.pool_migrate').map((x) => x[1])).not.toContain('VDI_NEEDS_VM_FOR_MIGRATE')
    await seen('VDI', copy)
  })

  it('a running VM whose disks no single server could see on both SRs keeps the disk where it is: XAPI’s NO_HOSTS_AVAILABLE []', async () => {
    const db = vm('db-01')
    const host = String(rec('VM', db).resident_on)
    const mine = srNamed('Local storage', host)
    const other = srNamed('Local storage', host === hostRef(0) ? hostRef(1) : hostRef(0))
    // db-01 has a disk on its host's local SR (previous test): a second one there cannot join it on the other host's SR
    const extra = await run('disk.create', { connectionId: cur, vm: db, sr: mine, name: 'db-01 logs', size: GiB })
    expect(extra.ok).toBe(true)
    const vdi = extra.created ?? ''
    const drive = (rec('VDI', vdi).VBDs as string[])[0] ?? ''
    await seen('VBD', drive, (x) => x.currently_attached === true)
    const r = await run('disk.move', { connectionId: cur, vdi, sr: other, vm: db })
    expect(r.error?.code).toBe('NO_HOSTS_AVAILABLE')
    expect(r.error?.params).toEqual([])
    expect(rec('VDI', vdi).SR).toBe(mine)
    expect(rec('VBD', drive)).toMatchObject({ VDI: vdi, currently_attached: true })
    expect(refusals.filter((x) => x[0] === 'VDI.copy')).toEqual([])
  })

  it('falls back to copying when XAPI cannot mirror because the VM stopped meanwhile (NO_HOSTS_AVAILABLE): copy, drive re-created, original deleted', async () => {
    const db = vm('db-01')
    const host = String(rec('VM', db).resident_on)
    const other = srNamed('Local storage', host === hostRef(0) ? hostRef(1) : hostRef(0))
    const vdi = find('VDI', (r) => r.name_label === 'db-01 logs')
    const drive = (rec('VDI', vdi).VBDs as string[])[0] ?? ''
    const userdevice = rec('VBD', drive).userdevice
    // another client shuts the VM down; XenPilot's graph still shows it running when the move starts
    await simCall('VM.hard_shutdown', db)
    const r = await run('disk.move', { connectionId: cur, vdi, sr: other, vm: db })
    expect(refusals).toContainEqual(['VDI.pool_migrate', 'NO_HOSTS_AVAILABLE'])
    expect(r.error).toBeUndefined()
    const copy = r.created ?? ''
    expect(rec('VDI', copy).SR).toBe(other)
    expect(table('VDI').has(vdi)).toBe(false)
    const [fresh] = rec('VDI', copy).VBDs as string[]
    expect(rec('VBD', fresh ?? '')).toMatchObject({ VM: db, userdevice, currently_attached: false })
    await simCall('VBD.destroy', fresh ?? '')
    await simCall('VM.start_on', db, host, false, false)
    await seen('VM', db, (x) => x.power_state === 'Running')
  })

  it('falls back to copying a disk that lost its VM meanwhile (VDI_NEEDS_VM_FOR_MIGRATE)', async () => {
    const web2 = vm('web-02')
    const nfs = srNamed('NFS VM storage')
    const made = await run('disk.create', { connectionId: cur, vm: web2, sr: nfs, name: 'web-02 tmp', size: GiB })
    const vdi = made.created ?? ''
    const drive = (rec('VDI', vdi).VBDs as string[])[0] ?? ''
    await seen('VBD', drive, (x) => x.currently_attached === true)
    await simCall('VBD.unplug', drive)
    await simCall('VBD.destroy', drive)
    const local = srNamed('Local storage', String(rec('VM', web2).resident_on))
    const r = await run('disk.move', { connectionId: cur, vdi, sr: local, vm: web2 })
    expect(refusals).toContainEqual(['VDI.pool_migrate', 'VDI_NEEDS_VM_FOR_MIGRATE', vdi])
    expect(r.error).toBeUndefined()
    expect(rec('VDI', r.created ?? '')).toMatchObject({ SR: local, VBDs: [] })
    expect(table('VDI').has(vdi)).toBe(false)
  })

  it('retries while XAPI runs its maximum of storage migrations (TOO_MANY_STORAGE_MIGRATES ["3"]) and then moves the disk', async () => {
    const slow = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.94', opDurationMs: 600 }) })
    const hs = makeManager()
    try {
      const p = slow.pool('tiny-current')
      const id = await connectTrusted(hs, p)
      const seenCodes: string[][] = []
      const m = storageModule({ history: new MemoryHistory(), migrateRetryMs: 200, migrateWaitMaxMs: 20_000 })({
        pools: new Proxy(hs.manager as PoolManagerApi, {
          get(target, prop, receiver) {
            if (prop === 'callAsync')
              return async (cid: string, method: string, params: unknown[], cb?: (x: number, t: string) => void) => {
                try {
                  return await target.callAsync(cid, method, params, cb)
                } catch (e) {
                  const err = e as { code?: string; params?: unknown[] }
                  seenCodes.push([method, String(err.code), ...(err.params ?? []).map(String)])
                  throw e
                }
              }
            const v: unknown = Reflect.get(target, prop, receiver)
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
          },
        }),
        broadcast: () => {},
        log: () => {},
      })
      const tab = (cls: string) => p.objects.get(cls) ?? new Map<string, SimRecord>()
      const running = [...tab('VM')].filter(([, r]) => r.power_state === 'Running' && r.is_control_domain !== true).map(([ref]) => ref)
      const systemDisk = (v: string) => String(tab('VBD').get((tab('VM').get(v)?.VBDs as string[]).find((b) => tab('VBD').get(b)?.bootable === true) ?? '')?.VDI)
      const local = [...tab('SR')].find(([, r]) => r.name_label === 'Local storage' && (r.PBDs as string[]).some((x) => tab('PBD').get(x)?.host === p.hosts[0]?.ref))?.[0] ?? ''
      const onHost0 = running.filter((v) => tab('VM').get(v)?.resident_on === p.hosts[0]?.ref)
      expect(onHost0.length).toBeGreaterThanOrEqual(3)
      // three migrations by another client keep every slot busy
      const others = await Promise.all(onHost0.slice(0, 3).map((v) => p.call('Async.VDI.pool_migrate', [systemDisk(v), local, {}])))
      expect(others).toHaveLength(3)
      const target = running.find((v) => !onHost0.slice(0, 3).includes(v)) ?? ''
      await waitFor('graph', () => hs.manager.graph(id)?.get('VM', target))
      const handler = m.handlers['disk.move'] as (a: unknown, c: never) => Promise<OperationResult>
      const r = await handler(methods['disk.move'].args.parse({ connectionId: id, vdi: systemDisk(target), sr: local }), undefined as never)
      expect(seenCodes).toContainEqual(['VDI.pool_migrate', 'TOO_MANY_STORAGE_MIGRATES', '3'])
      expect(r.error).toBeUndefined()
      expect(tab('VDI').get(r.created ?? '')?.SR).toBe(local)
    } finally {
      await hs.close()
      await slow.stop()
    }
  }, 60_000)
})

describe('the DVD drive', () => {
  it('inserts an ISO and ejects it', async () => {
    const web = vm('web-02')
    const [cd] = drives(web, 'CD')
    const iso = find('VDI', (r) => r.name_label === 'alpine-virt-3.20.3-x86_64.iso')
    const r = await run('cd.insert', { connectionId: cur, vbd: cd ?? '', vdi: iso })
    expect(r).toMatchObject({ ok: true, ref: web })
    expect(rec('VBD', cd ?? '')).toMatchObject({ VDI: iso, empty: false })
    await seen('VBD', cd ?? '', (x) => x.empty === false)
    const e = await run('cd.eject', { connectionId: cur, vbd: cd ?? '' })
    expect(e.ok).toBe(true)
    expect(rec('VBD', cd ?? '')).toMatchObject({ empty: true })
    expect(history.list({ ref: web }).slice(0, 2).map((x) => x.action)).toEqual(['Eject disc', 'Insert disc'])
    await seen('VBD', cd ?? '', (x) => x.empty === true)
  })

  it('a drive another client just filled: XAPI answers VBD_NOT_EMPTY [vbd]; XenPilot ejects and inserts again', async () => {
    const web = vm('web-02')
    const [cd] = drives(web, 'CD')
    const isoA = find('VDI', (r) => r.name_label === 'Rocky-9.4-x86_64-minimal.iso')
    const isoB = find('VDI', (r) => r.name_label === 'debian-12.7.0-amd64-netinst.iso')
    await simCall('VBD.insert', cd ?? '', isoA)
    const r = await run('cd.insert', { connectionId: cur, vbd: cd ?? '', vdi: isoB })
    expect(refusals).toContainEqual(['VBD.insert', 'VBD_NOT_EMPTY', cd])
    expect(r.ok).toBe(true)
    expect(rec('VBD', cd ?? '').VDI).toBe(isoB)
    await seen('VBD', cd ?? '', (x) => x.VDI === isoB)
    // a drive with a disc is ejected first, without a refusal
    const n = refusals.length
    expect((await run('cd.insert', { connectionId: cur, vbd: cd ?? '', vdi: isoA })).ok).toBe(true)
    expect(refusals.length).toBe(n)
    expect(rec('VBD', cd ?? '').VDI).toBe(isoA)
  })

  it('adds a DVD drive to a halted VM that has none, at position 3; refuses on a running VM', async () => {
    const build = vm('build-01')
    for (const cd of drives(build, 'CD')) await simCall('VBD.destroy', cd)
    await waitFor('no CD in graph', () => !graph().linked('VM', build, 'VBDs', 'VBD').some((b) => graph().get('VBD', b)?.type === 'CD'))
    const r = await run('cd.add', { connectionId: cur, vm: build })
    expect(r.ok).toBe(true)
    expect(rec('VBD', r.created ?? '')).toMatchObject({ type: 'CD', mode: 'RO', empty: true, userdevice: '3', VM: build })
    expect((await refused('cd.add', { connectionId: cur, vm: vm('web-02') })).message).toMatch(/already has a DVD drive|Shut .* down/)
  })
})

describe('SRs and their connections', () => {
  it('scans an SR; a second scan while one runs is refused with XAPI’s OTHER_OPERATION_IN_PROGRESS ["SR", sr, "scan", task]', async () => {
    const nfs = srNamed('NFS VM storage')
    const r = await run('sr.scan', { connectionId: cur, sr: nfs })
    expect(r).toMatchObject({ ok: true, ref: nfs })
    expect(history.list({ ref: nfs })[0]).toMatchObject({ action: 'Scan SR', ok: true, cls: 'SR' })
    const slow = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.95', opDurationMs: 1500 }) })
    const hs = makeManager()
    try {
      const p = slow.pool('tiny-current')
      const id = await connectTrusted(hs, p)
      const m = storageModule({ history: new MemoryHistory() })({ pools: hs.manager, broadcast: () => {}, log: () => {} })
      const scan = m.handlers['sr.scan'] as (a: unknown, c: never) => Promise<OperationResult>
      const sr = [...(p.objects.get('SR') ?? [])].find(([, x]) => x.name_label === 'NFS VM storage')?.[0] ?? ''
      const first = p.call('Async.SR.scan', [sr])
      const task = String(await first)
      const second = await scan({ connectionId: id, sr }, undefined as never)
      expect(second.error?.code).toBe('OTHER_OPERATION_IN_PROGRESS')
      expect(second.error?.params).toEqual(['SR', sr, 'scan', task])
      // once the graph shows the scan, XenPilot says so before asking
      await waitFor('scan in graph', () => Object.values((hs.manager.graph(id)?.get('SR', sr)?.current_operations ?? {}) as Record<string, string>).includes('scan'))
      await expect(scan({ connectionId: id, sr }, undefined as never)).rejects.toMatchObject({ code: 'refused', message: 'A scan of this SR is running' })
    } finally {
      await hs.close()
      await slow.stop()
    }
  }, 60_000)

  it('sets the default SR (and the suspend-image and crash-dump SRs with it)', async () => {
    const local = srNamed('Local storage', hostRef(0))
    const nfs = srNamed('NFS VM storage')
    const poolRef = [...table('pool').keys()][0] ?? ''
    expect((await refused('sr.setDefault', { connectionId: cur, sr: local })).message).toMatch(/Only a shared SR/)
    expect((await refused('sr.setDefault', { connectionId: cur, sr: nfs })).message).toMatch(/already the default/)
    const iso = srNamed('ISO library')
    expect((await refused('sr.setDefault', { connectionId: cur, sr: iso })).message).toMatch(/cannot hold VM disks/)
    await simCall('pool.set_default_SR', poolRef, local)
    await seen('pool', poolRef, (x) => x.default_SR === local)
    const r = await run('sr.setDefault', { connectionId: cur, sr: nfs })
    expect(r.ok).toBe(true)
    expect(rec('pool', poolRef)).toMatchObject({ default_SR: nfs, suspend_image_SR: nfs, crash_dump_SR: nfs })
  })

  it('unplugs and plugs a PBD; unplugging a host’s connection to an SR its running VMs use is refused', async () => {
    const iso = srNamed('ISO library')
    const pbd = (rec('SR', iso).PBDs as string[]).find((x) => rec('PBD', x).host === hostRef(1)) ?? ''
    // web-02's DVD (host 2) holds an ISO? eject first so the SR is free there
    for (const [ref, vbd] of table('VBD')) if (vbd.type === 'CD' && vbd.empty === false && table('VDI').get(String(vbd.VDI))?.SR === iso) await simCall('VBD.eject', ref)
    await waitFor('no ISO of the library inserted', () => [...graph().all('VBD').values()].every((v) => v.type !== 'CD' || v.empty === true || graph().get('VDI', String(v.VDI))?.SR !== iso))
    const off = await run('pbd.unplug', { connectionId: cur, pbd })
    expect(off).toMatchObject({ ok: true, ref: iso })
    expect(rec('PBD', pbd).currently_attached).toBe(false)
    await seen('PBD', pbd, (x) => x.currently_attached === false)
    const on = await run('pbd.plug', { connectionId: cur, pbd })
    expect(on.ok).toBe(true)
    expect(rec('PBD', pbd).currently_attached).toBe(true)
    const nfs = srNamed('NFS VM storage')
    const busy = (rec('SR', nfs).PBDs as string[]).find((x) => rec('PBD', x).host === String(rec('VM', vm('web-01')).resident_on)) ?? ''
    expect((await refused('pbd.unplug', { connectionId: cur, pbd: busy })).message).toMatch(/in use by VMs on this server/)
  })

  it('repairs an SR: creates the PBD a server lacks (settings copied) and plugs every unplugged one', async () => {
    const iso = srNamed('ISO library')
    const pbds = rec('SR', iso).PBDs as string[]
    const [keep, drop] = pbds
    await simCall('PBD.unplug', keep ?? '')
    await simCall('PBD.unplug', drop ?? '')
    await simCall('PBD.destroy', drop ?? '')
    await seen('SR', iso, (x) => (x.PBDs as string[]).length === 1)
    await seen('PBD', keep ?? '', (x) => x.currently_attached === false)
    const r = await run('sr.repair', { connectionId: cur, sr: iso })
    expect(r.ok).toBe(true)
    const now = rec('SR', iso).PBDs as string[]
    expect(now).toHaveLength(2)
    expect(now.map((x) => rec('PBD', x).currently_attached)).toEqual([true, true])
    const created = now.find((x) => x !== keep) ?? ''
    expect(rec('PBD', created).device_config).toEqual(rec('PBD', keep ?? '').device_config)
    await seen('SR', iso, (x) => (x.PBDs as string[]).length === 2)
    expect((await refused('sr.repair', { connectionId: cur, sr: iso })).message).toMatch(/connected to every server/)
  })

  it('forgets an ISO SR: its PBDs are unplugged first, then SR.forget; the SR and its disks leave the pool', async () => {
    const iso = srNamed('ISO library')
    const vdis = rec('SR', iso).VDIs as string[]
    await waitFor('graph sees every ISO', () => graph().linked('SR', iso, 'VDIs', 'VDI').length === vdis.length)
    const r = await run('sr.forget', { connectionId: cur, sr: iso })
    expect(r).toMatchObject({ ok: true, ref: iso })
    expect(table('SR').has(iso)).toBe(false)
    for (const v of vdis) expect(table('VDI').has(v)).toBe(false)
    expect(history.list({ ref: iso })[0]).toMatchObject({ action: 'Forget SR', ok: true, params: { disks: vdis.length, vms: 0 } })
  })

  it('destroys an SR: its disks deleted, PBDs unplugged, SR.destroy; refused while a running VM uses it', async () => {
    const db = vm('db-01')
    const host = String(rec('VM', db).resident_on)
    const busy = srNamed('Local storage', host)
    expect((await refused('sr.destroy', { connectionId: cur, sr: busy })).message).toMatch(/VM 'db-01'.* from this SR/)
    const other = srNamed('Local storage', host === hostRef(0) ? hostRef(1) : hostRef(0))
    const users = new Set<string>()
    for (const v of rec('SR', other).VDIs as string[]) for (const b of rec('VDI', v).VBDs as string[]) users.add(String(rec('VBD', b).VM))
    for (const u of users) if (rec('VM', u).power_state !== 'Halted') await simCall('VM.hard_shutdown', u)
    for (const u of users) await seen('VM', u, (x) => x.power_state === 'Halted')
    const r = await run('sr.destroy', { connectionId: cur, sr: other })
    expect(r.error).toBeUndefined()
    expect(table('SR').has(other)).toBe(false)
  })
})

describe('offline pools and bad arguments', () => {
  it('refuses every storage action on a pool that is not connected, saying since when', async () => {
    const legacy = sim.pool('tiny-legacy')
    const id = await connectTrusted(h, legacy)
    const lvm = [...(legacy.objects.get('SR') ?? [])].find(([, r]) => r.name_label === 'Local storage')?.[0] ?? ''
    await h.manager.disconnect(id)
    await expect(run('sr.scan', { connectionId: id, sr: lvm })).rejects.toMatchObject({ code: 'offline' })
  })

  it('rejects bad arguments before anything reaches XAPI', () => {
    expect(() => methods['disk.create'].args.parse({ connectionId: cur, vm: 'x', sr: 'OpaqueRef:1', name: 'a', size: GiB })).toThrow(/OpaqueRef/)
    expect(() => methods['disk.create'].args.parse({ connectionId: cur, vm: 'OpaqueRef:1', sr: 'OpaqueRef:1', name: ' ', size: GiB })).toThrow(/name is required/)
    expect(() => methods['disk.create'].args.parse({ connectionId: cur, vm: 'OpaqueRef:1', sr: 'OpaqueRef:1', name: 'a', size: 10 })).toThrow(/at least 1 MiB/)
    expect(() => methods['disk.resize'].args.parse({ connectionId: cur, vdi: 'OpaqueRef:1', size: 3000 * GiB })).toThrow(/at most 2040 GiB/)
  })
})
