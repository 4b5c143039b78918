/**
 * The simulator's storage (issue 13) as xapi behaves: drives, disks, SRs and PBDs with xapi's
 * checks, codes and parameters (xapi_errors.json names), space accounting, and allowed_operations
 * that follow every change.
 */
import { describe, expect, it } from 'vitest'
import { buildFleet } from '../../sim/fleet'
import { SimXapiError, type SimRecord, type SimValue } from '../../sim/model'
import { dispatch } from '../../sim/server/dispatch'
import { PoolState } from '../../sim/server/pool'

const GiB = 1024 ** 3
const NULL = 'OpaqueRef:NULL'

function tiny(name = 'tiny-current', opMs = 0) {
  const spec = buildFleet('tiny', { addressBase: '127.81' }).pools.find((p) => p.name === name)
  if (!spec) throw new Error(`no pool ${name}`)
  const pool = new PoolState(spec, opMs)
  const call = async (method: string, ...params: SimValue[]): Promise<SimValue> => {
    const m = pool.schema.methods.get(method.replace(/^Async\./, ''))
    const r = await dispatch(pool, { hostRef: pool.masterRef }, method, m?.hasSession ? [pool.adminSession, ...params] : params)
    if (r.kind === 'error') throw new SimXapiError(r.description)
    if (r.kind !== 'value') throw new Error('unexpected result')
    return r.value
  }
  const fails = async (method: string, ...params: SimValue[]): Promise<string[]> => {
    try {
      await call(method, ...params)
    } catch (e) {
      if (e instanceof SimXapiError) return e.description
      throw e
    }
    throw new Error(`${method} succeeded`)
  }
  const rec = (cls: string, ref: string): SimRecord => pool.db.must(cls, ref)
  const find = (cls: string, pred: (r: SimRecord) => boolean): string => {
    for (const [ref, r] of pool.db.table(cls)) if (pred(r)) return ref
    throw new Error(`no ${cls} matches`)
  }
  const vm = (label: string) => find('VM', (r) => r['name_label'] === label && r['is_a_snapshot'] !== true)
  const sr = (label: string, host?: string) =>
    find('SR', (r) => r['name_label'] === label && (host === undefined || (r['PBDs'] as string[]).some((p) => pool.db.get('PBD', p)?.['host'] === host)))
  const vbds = (vmRef: string, type: 'Disk' | 'CD') => (rec('VM', vmRef)['VBDs'] as string[]).filter((b) => rec('VBD', b)['type'] === type)
  return { pool, call, fails, rec, find, vm, sr, vbds }
}

function newDisk(sr: string, gib: number, name = 'data'): SimValue {
  return { name_label: name, name_description: '', SR: sr, virtual_size: String(gib * GiB), type: 'user', sharable: false, read_only: false, other_config: {} }
}
function newVbd(vm: string, vdi: string, userdevice: string, o: Partial<Record<string, SimValue>> = {}): SimValue {
  return { VM: vm, VDI: vdi, userdevice, bootable: false, mode: 'RW', type: 'Disk', empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, ...o }
}

describe('disks and drives', () => {
  it('adds a disk to a running VM: VDI.create takes space on a thick SR, VBD.create on a free userdevice, VBD.plug attaches it', async () => {
    const t = tiny()
    const web = t.vm('web-01')
    const host = String(t.rec('VM', web)['resident_on'])
    const local = t.sr('Local storage', host)
    const before = Number(t.rec('SR', local)['physical_utilisation'])
    const devices = (await t.call('VM.get_allowed_VBD_devices', web)) as string[]
    expect(devices).not.toContain('0')
    expect(devices).not.toContain('3')
    expect(devices[0]).toBe('1')
    const vdi = String(await t.call('VDI.create', newDisk(local, 10)))
    expect(t.rec('VDI', vdi)).toMatchObject({ SR: local, virtual_size: 10 * GiB, physical_utilisation: 10 * GiB, managed: true, VBDs: [] })
    expect(t.rec('SR', local)['VDIs']).toContain(vdi)
    expect(Number(t.rec('SR', local)['physical_utilisation'])).toBe(before + 10 * GiB)
    const vbd = String(await t.call('VBD.create', newVbd(web, vdi, devices[0] ?? '')))
    expect(t.rec('VBD', vbd)).toMatchObject({ currently_attached: false, device: '', userdevice: '1' })
    expect(t.rec('VBD', vbd)['allowed_operations']).toContain('plug')
    expect(t.rec('VDI', vdi)['VBDs']).toEqual([vbd])
    await t.call('VBD.plug', vbd)
    expect(t.rec('VBD', vbd)).toMatchObject({ currently_attached: true, device: 'xvdb' })
    expect(t.rec('VBD', vbd)['allowed_operations']).toEqual(expect.arrayContaining(['unplug', 'unplug_force']))
    expect(t.rec('VDI', vdi)['allowed_operations']).not.toContain('destroy')
    expect(await t.fails('VBD.create', newVbd(web, vdi, '1'))).toEqual(['DEVICE_ALREADY_EXISTS', '1'])
    expect(await t.fails('VBD.create', newVbd(web, vdi, 'bogus'))).toEqual(['INVALID_DEVICE', 'bogus'])
  })

  it('refuses a disk that does not fit with SR_FULL [requested, maximum]; thin SRs only take what is written', async () => {
    const t = tiny()
    const host = String(t.rec('VM', t.vm('web-01'))['resident_on'])
    const local = t.sr('Local storage', host)
    const s = t.rec('SR', local)
    const free = Number(s['physical_size']) - Number(s['physical_utilisation'])
    const tooBig = Math.ceil(free / GiB + 1)
    expect(await t.fails('VDI.create', newDisk(local, tooBig))).toEqual(['SR_FULL', String(tooBig * GiB), String(free)])
    const nfs = t.sr('NFS VM storage')
    const usedBefore = Number(t.rec('SR', nfs)['physical_utilisation'])
    const vdi = String(await t.call('VDI.create', newDisk(nfs, 100)))
    expect(Number(t.rec('VDI', vdi)['physical_utilisation'])).toBeLessThan(10 * 1024 ** 2)
    expect(Number(t.rec('SR', nfs)['physical_utilisation']) - usedBefore).toBeLessThan(10 * 1024 ** 2)
  })

  it('grows a disk (resize), refuses to shrink it and refuses on an attached disk with VDI_IN_USE [vdi, "resize"]', async () => {
    const t = tiny()
    const build = t.vm('build-01')
    const [vbd] = t.vbds(build, 'Disk')
    const vdi = String(t.rec('VBD', vbd ?? '')['VDI'])
    const size = Number(t.rec('VDI', vdi)['virtual_size'])
    await t.call('VDI.resize', vdi, String(size + 4 * GiB))
    expect(t.rec('VDI', vdi)['virtual_size']).toBe(size + 4 * GiB)
    expect(await t.fails('VDI.resize', vdi, String(size))).toEqual(['SR_BACKEND_FAILURE_79', '', 'VDI Invalid size [opterr=shrinking not allowed]', ''])
    const web = t.vm('web-01')
    const attached = String(t.rec('VBD', t.vbds(web, 'Disk')[0] ?? '')['VDI'])
    expect(t.rec('VDI', attached)['allowed_operations']).not.toContain('resize')
    expect(await t.fails('VDI.resize', attached, String(100 * GiB))).toEqual(['VDI_IN_USE', attached, 'resize'])
    // no storage manager of the fleet resizes an attached disk
    expect(await t.fails('VDI.resize_online', attached, String(100 * GiB))).toEqual(['SR_OPERATION_NOT_SUPPORTED', String(t.rec('VDI', attached)['SR'])])
  })

  it('detaches: VBD_NOT_UNPLUGGABLE for the system disk; a guest refusal (DEVICE_DETACH_REJECTED) yields to unplug_force; destroy needs it unplugged', async () => {
    const t = tiny()
    const web = t.vm('web-01')
    const [system] = t.vbds(web, 'Disk')
    expect(await t.fails('VBD.unplug', system ?? '')).toEqual(['VBD_NOT_UNPLUGGABLE', system])
    const nfs = t.sr('NFS VM storage')
    const vdi = String(await t.call('VDI.create', newDisk(nfs, 1)))
    const vbd = String(await t.call('VBD.create', newVbd(web, vdi, '2', { other_config: { xenpilot_sim_in_use: 'true' } })))
    await t.call('VBD.plug', vbd)
    expect(await t.fails('VBD.destroy', vbd)).toEqual(['OPERATION_NOT_ALLOWED', `VBD '${String(t.rec('VBD', vbd)['uuid'])}' still attached to '${String(t.rec('VM', web)['uuid'])}'`])
    expect(await t.fails('VDI.destroy', vdi)).toEqual(['VDI_IN_USE', vdi, 'destroy'])
    expect(await t.fails('VBD.unplug', vbd)).toEqual(['DEVICE_DETACH_REJECTED', 'VBD', vbd, 'the guest is using the device'])
    await t.call('VBD.unplug_force', vbd)
    expect(await t.fails('VBD.unplug', vbd)).toEqual(['DEVICE_ALREADY_DETACHED', vbd])
    await t.call('VBD.destroy', vbd)
    expect(t.pool.db.get('VBD', vbd)).toBeUndefined()
    expect(t.rec('VDI', vdi)['VBDs']).toEqual([])
    expect(t.rec('VM', web)['VBDs']).not.toContain(vbd)
    await t.call('VDI.destroy', vdi)
    expect(t.pool.db.get('VDI', vdi)).toBeUndefined()
    expect(t.rec('SR', nfs)['VDIs']).not.toContain(vdi)
  })

  it('refuses to plug a disk another running VM has attached read-write: VDI_IN_USE [vdi]', async () => {
    const t = tiny()
    const web = t.vm('web-01')
    const other = t.vm('web-02')
    const vdi = String(t.rec('VBD', t.vbds(web, 'Disk')[0] ?? '')['VDI'])
    const vbd = String(await t.call('VBD.create', newVbd(other, vdi, '5')))
    expect(t.rec('VBD', vbd)['allowed_operations']).not.toContain('plug')
    expect(await t.fails('VBD.plug', vbd)).toEqual(['VDI_IN_USE', vdi])
  })

  it('inserts and ejects an ISO: VBD_NOT_EMPTY [vbd] on a full drive, VBD_IS_EMPTY [vbd] on an empty one, VBD_NOT_REMOVABLE_MEDIA on a disk', async () => {
    const t = tiny()
    const win = t.vm('win-app-01')
    const [cd] = t.vbds(win, 'CD')
    const iso = t.find('VDI', (r) => r['name_label'] === 'debian-12.7.0-amd64-netinst.iso')
    expect(t.rec('VBD', cd ?? '')['empty']).toBe(false)
    expect(await t.fails('VBD.insert', cd ?? '', iso)).toEqual(['VBD_NOT_EMPTY', cd])
    await t.call('VBD.eject', cd ?? '')
    expect(t.rec('VBD', cd ?? '')).toMatchObject({ empty: true, VDI: NULL, currently_attached: true })
    expect(t.rec('VBD', cd ?? '')['allowed_operations']).toContain('insert')
    expect(await t.fails('VBD.eject', cd ?? '')).toEqual(['VBD_IS_EMPTY', cd])
    await t.call('VBD.insert', cd ?? '', iso)
    expect(t.rec('VBD', cd ?? '')).toMatchObject({ empty: false, VDI: iso })
    expect(t.rec('VDI', iso)['VBDs']).toContain(cd)
    const [disk] = t.vbds(win, 'Disk')
    expect(await t.fails('VBD.eject', disk ?? '')).toEqual(['VBD_NOT_REMOVABLE_MEDIA', disk])
    expect(await t.fails('VBD.create', newVbd(win, NULL, '7', { type: 'CD', mode: 'RW', empty: true }))).toEqual(['VBD_CDS_MUST_BE_READONLY'])
    const suspended = t.vm('suspended-01')
    const [scd] = t.vbds(suspended, 'CD')
    expect(await t.fails('VBD.insert', scd ?? '', iso)).toEqual(['VM_BAD_POWER_STATE', suspended, 'halted, running', 'suspended'])
  })
})

describe('moving disks', () => {
  it('VDI.pool_migrate moves a running VM’s disk: a new VDI on the target SR behind the same drive; VDI_NEEDS_VM_FOR_MIGRATE for an unused disk', async () => {
    const t = tiny()
    const db = t.vm('db-01')
    const host = String(t.rec('VM', db)['resident_on'])
    const local = t.sr('Local storage', host)
    const data = t.vbds(db, 'Disk').find((b) => t.rec('VBD', b)['bootable'] !== true) ?? ''
    const vdi = String(t.rec('VBD', data)['VDI'])
    const name = t.rec('VDI', vdi)['name_label']
    const moved = String(await t.call('VDI.pool_migrate', vdi, local, {}))
    expect(moved).not.toBe(vdi)
    expect(t.pool.db.get('VDI', vdi)).toBeUndefined()
    expect(t.rec('VDI', moved)).toMatchObject({ SR: local, name_label: name, VBDs: [data] })
    expect(t.rec('VBD', data)).toMatchObject({ VDI: moved, currently_attached: true })
    const orphan = t.find('VDI', (r) => r['name_label'] === 'restore-2025-03')
    expect(await t.fails('VDI.pool_migrate', orphan, local, {})).toEqual(['VDI_NEEDS_VM_FOR_MIGRATE', orphan])
  })

  it('refuses a fourth storage migration at once with TOO_MANY_STORAGE_MIGRATES ["3"]', async () => {
    const t = tiny('tiny-current', 300)
    const nfs = t.sr('NFS VM storage')
    const local = t.sr('Local storage', t.pool.masterRef)
    const disks: string[] = []
    for (const name of ['web-01', 'db-01', 'pinned-01', 'build-01']) {
      const vm = t.vm(name)
      const [system] = t.vbds(vm, 'Disk')
      const vdi = String(t.rec('VBD', system ?? '')['VDI'])
      if (t.rec('VDI', vdi)['SR'] === nfs) disks.push(vdi)
    }
    expect(disks.length).toBeGreaterThanOrEqual(4)
    const running = disks.slice(0, 3).map((d) => t.call('VDI.pool_migrate', d, local, {}))
    await new Promise((r) => setTimeout(r, 50))
    expect(await t.fails('VDI.pool_migrate', disks[3] ?? '', local, {})).toEqual(['TOO_MANY_STORAGE_MIGRATES', '3'])
    await Promise.all(running)
  })

  it('VDI.copy copies a halted VM’s disk to another SR (the original stays); refuses a disk attached read-write', async () => {
    const t = tiny()
    const build = t.vm('build-01')
    const vdi = String(t.rec('VBD', t.vbds(build, 'Disk')[0] ?? '')['VDI'])
    const local = t.sr('Local storage', t.pool.masterRef)
    const copy = String(await t.call('VDI.copy', vdi, local))
    expect(t.rec('VDI', copy)).toMatchObject({ SR: local, virtual_size: t.rec('VDI', vdi)['virtual_size'], VBDs: [] })
    expect(t.pool.db.get('VDI', vdi)).toBeDefined()
    const web = String(t.rec('VBD', t.vbds(t.vm('web-01'), 'Disk')[0] ?? '')['VDI'])
    expect(await t.fails('VDI.copy', web, local)).toEqual(['VDI_IN_USE', web, 'copy'])
  })
})

describe('SRs and PBDs', () => {
  it('scans once at a time: a second SR.scan meanwhile is OTHER_OPERATION_IN_PROGRESS ["SR", sr, "scan", task]', async () => {
    const t = tiny('tiny-current', 300)
    const nfs = t.sr('NFS VM storage')
    const first = t.call('SR.scan', nfs)
    await new Promise((r) => setTimeout(r, 30))
    const ops = t.rec('SR', nfs)['current_operations'] as Record<string, string>
    const [task] = Object.keys(ops)
    expect(ops[task ?? '']).toBe('scan')
    expect(t.rec('SR', nfs)['allowed_operations']).not.toContain('scan')
    expect(await t.fails('SR.scan', nfs)).toEqual(['OTHER_OPERATION_IN_PROGRESS', 'SR', nfs, 'scan', task])
    expect(await t.fails('VDI.create', newDisk(nfs, 1))).toEqual(['OTHER_OPERATION_IN_PROGRESS', 'SR', nfs, 'scan', task])
    await first
    expect(t.rec('SR', nfs)['allowed_operations']).toContain('scan')
  })

  it('unplugs and plugs PBDs; a PBD whose SR holds a running VM’s disk stays: VDI_IN_USE [vdis…]; forget needs every PBD unplugged (SR_HAS_PBD)', async () => {
    const t = tiny()
    const iso = t.sr('ISO library')
    const pbds = t.rec('SR', iso)['PBDs'] as string[]
    expect(await t.fails('SR.forget', iso)).toEqual(['SR_HAS_PBD', iso])
    for (const p of pbds) await t.call('PBD.unplug', p)
    expect(pbds.map((p) => t.rec('PBD', p)['currently_attached'])).toEqual(pbds.map(() => false))
    expect(t.rec('SR', iso)['allowed_operations']).toContain('forget')
    expect(await t.fails('SR.scan', iso)).toEqual(['SR_HAS_NO_PBDS', iso])
    await t.call('PBD.plug', pbds[0] ?? '')
    expect(t.rec('PBD', pbds[0] ?? '')['currently_attached']).toBe(true)
    expect(await t.fails('SR.forget', iso)).toEqual(['SR_HAS_PBD', iso])
    const web = t.vm('web-01')
    const nfs = t.sr('NFS VM storage')
    const host = String(t.rec('VM', web)['resident_on'])
    const nfsPbd = (t.rec('SR', nfs)['PBDs'] as string[]).find((p) => t.rec('PBD', p)['host'] === host) ?? ''
    const err = await t.fails('PBD.unplug', nfsPbd)
    expect(err[0]).toBe('VDI_IN_USE')
    expect(err).toContain(String(t.rec('VBD', t.vbds(web, 'Disk')[0] ?? '')['VDI']))
    const existing = (t.rec('SR', nfs)['PBDs'] as string[])[0] ?? ''
    const h = String(t.rec('PBD', existing)['host'])
    expect(await t.fails('PBD.create', { SR: nfs, host: h, device_config: {} })).toEqual(['PBD_EXISTS', nfs, h, existing])
  })

  it('destroys an empty SR only once unplugged (SR_NOT_EMPTY [] while it holds disks); forget drops the SR with its disks and drives', async () => {
    const t = tiny()
    const iso = t.sr('ISO library')
    for (const p of t.rec('SR', iso)['PBDs'] as string[]) await t.call('PBD.unplug', p)
    expect(await t.fails('SR.destroy', iso)).toEqual(['SR_NOT_EMPTY'])
    const vdis = t.rec('SR', iso)['VDIs'] as string[]
    await t.call('SR.forget', iso)
    expect(t.pool.db.get('SR', iso)).toBeUndefined()
    for (const v of vdis) expect(t.pool.db.get('VDI', v)).toBeUndefined()
  })

  it('keeps allowed_operations in step: a drive of a running VM without PV drivers cannot be unplugged (VM_MISSING_PV_DRIVERS)', async () => {
    const t = tiny()
    const legacy = t.vm('legacy-app')
    const nfs = t.sr('NFS VM storage')
    const vdi = String(await t.call('VDI.create', newDisk(nfs, 1)))
    const vbd = String(await t.call('VBD.create', newVbd(legacy, vdi, '4')))
    await t.call('VM.start', legacy, false, false)
    const vm = t.rec('VM', legacy)
    if (vm['domain_type'] === 'hvm') {
      expect(t.rec('VBD', vbd)['allowed_operations']).not.toContain('unplug')
      expect(await t.fails('VBD.unplug', vbd)).toEqual(['VM_MISSING_PV_DRIVERS', legacy])
    } else expect(t.rec('VBD', vbd)['allowed_operations']).toContain('unplug')
    expect(t.rec('VBD', vbd)['currently_attached']).toBe(true)
  })
})
