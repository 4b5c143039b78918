/**
 * The storage calls XenPilot makes (issue 13) work for clients written by others against real
 * XAPI: the official XenAPI Python client (XML-RPC) and Xen Orchestra's `xen-api` (JSON-RPC on a
 * current host, XML-RPC on a 7.2 one) — results, Async tasks and XAPI's failures as they expect them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Xapi } from 'xen-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle, SimRecord } from '../../sim/model'
import { runPython } from '../../helpers/python'

const GiB = 1024 ** 3
let sim: SimControl
let tmp: string

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.96', opDurationMs: 0 }) })
  tmp = await mkdtemp(join(tmpdir(), 'xenpilot-sim-storage-clients-'))
})
afterAll(async () => {
  await sim?.stop()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('official XenAPI Python client (os_xenapi, XML-RPC): storage', () => {
  it('creates, plugs, storage-migrates, resizes, copies and destroys a disk; inserts and ejects an ISO; scans an SR and plugs its PBD — and reads XAPI’s failures', async () => {
    const pool = sim.pool('tiny-current')
    const master = pool.hosts[0]
    if (!master) throw new Error('no master')
    const cafile = join(tmp, 'master.pem')
    await writeFile(cafile, master.certPem)
    const script = fileURLToPath(new URL('./xenapi_storage.py', import.meta.url))
    const out = JSON.parse(await runPython(script, [pool.masterUrl, cafile, pool.username, pool.password])) as Record<string, unknown>
    expect(out['first_device']).toBe('1')
    // int64 arrives as a string of digits over XML-RPC
    expect(out['vdi_size']).toBe(String(GiB))
    expect(out).toMatchObject({ plug: 'success', attached: true, pool_migrate: 'success', moved_sr_is_local: true, resized: String(3 * GiB), copy_on_shared: true })
    expect((out['resize_attached'] as string[])[0]).toBe('VDI_IN_USE')
    expect((out['resize_attached'] as string[])[2]).toBe('resize')
    expect((out['destroy_attached'] as string[])[2]).toBe('destroy')
    expect(out['shrink']).toEqual(['SR_BACKEND_FAILURE_79', '', 'VDI Invalid size [opterr=shrinking not allowed]', ''])
    expect(out['sr_full']).toEqual(out['sr_full_expected'])
    expect((out['needs_vm'] as string[])[0]).toBe('VDI_NEEDS_VM_FOR_MIGRATE')
    expect(out['inserted']).toBe(true)
    expect((out['insert_full'] as string[])[0]).toBe('VBD_NOT_EMPTY')
    expect((out['eject_empty'] as string[])[0]).toBe('VBD_IS_EMPTY')
    expect((out['unplug_boot'] as string[])[0]).toBe('VBD_NOT_UNPLUGGABLE')
    expect(out).toMatchObject({ scan: 'success', pbd_after_unplug: false, pbd_after_plug: true, default_is_shared: true })
    expect((out['forget_attached'] as string[])[0]).toBe('SR_HAS_PBD')
  }, 120_000)
})

describe("Xen Orchestra's xen-api client: storage", () => {
  const clients: Xapi[] = []
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.disconnect().catch(() => undefined)))
  })
  function client(pool: SimPoolHandle): Xapi {
    const x = new Xapi({ url: pool.masterUrl, auth: { user: pool.username, password: pool.password }, allowUnauthorized: true, debounce: 50 })
    clients.push(x)
    return x
  }
  const find = (pool: SimPoolHandle, cls: string, pred: (r: SimRecord) => boolean): string => {
    for (const [ref, r] of pool.objects.get(cls) ?? []) if (pred(r)) return ref
    throw new Error(`no ${cls}`)
  }

  it('JSON-RPC on a current host: VDI.create + VBD.create + Async VBD.plug, VBD.insert/eject, SR.scan, and XAPI errors with their params', async () => {
    const pool = sim.pool('tiny-current')
    const x = client(pool)
    await x.connect()
    const vm = find(pool, 'VM', (r) => r.name_label === 'web-02')
    const sr = find(pool, 'SR', (r) => r.name_label === 'NFS VM storage')
    const devices = (await x.call('VM.get_allowed_VBD_devices', vm)) as string[]
    const vdi = (await x.call('VDI.create', { name_label: 'xo-disk', name_description: '', SR: sr, virtual_size: 2 * GiB, type: 'user', sharable: false, read_only: false, other_config: {} })) as string
    const vbd = (await x.call('VBD.create', { VM: vm, VDI: vdi, userdevice: devices[0], bootable: false, mode: 'RW', type: 'Disk', unpluggable: true, empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} })) as string
    await x.callAsync('VBD.plug', vbd)
    expect(pool.objects.get('VBD')?.get(vbd)?.currently_attached).toBe(true)
    // ints are JSON numbers on this transport
    expect(await x.call('VDI.get_virtual_size', vdi)).toBe(2 * GiB)
    const cd = find(pool, 'VBD', (r) => r.VM === vm && r.type === 'CD')
    const iso = find(pool, 'VDI', (r) => r.name_label === 'ubuntu-24.04.1-live-server-amd64.iso')
    if (pool.objects.get('VBD')?.get(cd)?.empty !== true) await x.call('VBD.eject', cd)
    await x.callAsync('VBD.insert', cd, iso)
    await expect(x.call('VBD.insert', cd, iso)).rejects.toMatchObject({ code: 'VBD_NOT_EMPTY', params: [cd] })
    await x.call('VBD.eject', cd)
    await expect(x.call('VBD.eject', cd)).rejects.toMatchObject({ code: 'VBD_IS_EMPTY', params: [cd] })
    await x.callAsync('SR.scan', sr)
    await expect(x.call('VDI.destroy', vdi)).rejects.toMatchObject({ code: 'VDI_IN_USE', params: [vdi, 'destroy'] })
    await x.callAsync('VBD.unplug', vbd)
    await x.call('VBD.destroy', vbd)
    await x.callAsync('VDI.destroy', vdi)
    expect(pool.objects.get('VDI')?.has(vdi)).toBe(false)
  })

  it('XML-RPC on a 7.2 host: a disk that does not fit its thick SR is SR_FULL [requested, maximum]; a halted VM’s disk is copied with the 3-argument VDI.copy', async () => {
    const pool = sim.pool('tiny-legacy')
    const x = client(pool)
    await x.connect()
    const sr = find(pool, 'SR', (r) => r.name_label === 'Local storage')
    const rec = pool.objects.get('SR')?.get(sr)
    const free = Number(rec?.physical_size) - Number(rec?.physical_utilisation)
    const size = Math.ceil((free + GiB) / (2 * 1024 ** 2)) * 2 * 1024 ** 2
    await expect(x.call('VDI.create', { name_label: 'huge', name_description: '', SR: sr, virtual_size: size, type: 'user', sharable: false, read_only: false, other_config: {} })).rejects.toMatchObject({
      code: 'SR_FULL',
      params: [String(size), String(free)],
    })
    const win = find(pool, 'VM', (r) => r.name_label === 'old-win')
    const system = find(pool, 'VBD', (r) => r.VM === win && r.bootable === true)
    const vdi = String(pool.objects.get('VBD')?.get(system)?.VDI)
    const copy = (await x.callAsync('VDI.copy', vdi, sr)) as string
    expect(pool.objects.get('VDI')?.get(copy)).toMatchObject({ SR: sr })
    await x.call('VDI.destroy', copy)
  })
})
