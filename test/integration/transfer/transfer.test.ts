/**
 * VM and disk transfers end to end: contract → transfer module → PoolManager's pinned agents →
 * the HTTPS simulator, files on this machine. Export → import of a two-disk VM gives identical
 * disks and config; cancel removes the partial file and the XAPI task ends cancelled; a cut or
 * damaged XVA is refused with a sentence; the 302 to the server of a local SR is followed with that
 * server's own pinned certificate (and refused when it presents another). Then the queue's limit,
 * progress from the task (an XVA has no length) or from the bytes, an import sent to the server of
 * a local SR, compression as chosen, and the free-space check.
 */
import { createHash } from 'node:crypto'
import { closeSync, existsSync, openSync, readFileSync, readSync, statfsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPinia, setActivePinia } from 'pinia'
import { beforeAll, describe, expect, it } from 'vitest'
import { methods, type MethodName } from '../../../shared/contract'
import { TRANSFER_CONCURRENCY, type TransferState } from '../../../shared/contract/transfer'
import { hostKey, pinFromPem } from '../../../main/xapi/trust'
import { parseTarHeader, TAR_BLOCK, tarPadding } from '../../../shared/xva/tar'
import { poolStateOf, setTransferRate } from '../../sim'
import { disksOf } from '../../sim/server/disks'
import { buildFleet } from '../../sim/fleet'
import type { SimPoolHandle } from '../../sim/model'
import { waitFor } from '../pools/helpers'
import { setUpTransfers } from './setup'

const progress: { op: string; progress: number; action?: { id: string } }[] = []
/** windows listening to transfer.changed (a reloaded window attaches again) */
const windows = new Set<(s: TransferState) => void>()
const setup = setUpTransfers({
  fleet: () => buildFleet('tiny', { addressBase: '127.94', opDurationMs: 0 }),
  pools: ['tiny-current'],
  dirPrefix: 'xp-transfer-',
  onEvent: (event, payload) => {
    if (event === 'transfer.changed') for (const w of windows) w(payload as TransferState)
    if (event === 'operation.progress') progress.push(payload as (typeof progress)[number])
  },
})
const { h, dir, states, callContract, ended } = setup
let pool: SimPoolHandle
let id = ''
beforeAll(() => void ([pool, id] = [setup.pool('tiny-current'), setup.id('tiny-current')]))

const call = (method: string, params: unknown[]) => h.manager.call(id, method, params)
const str = (v: unknown): string => (typeof v === 'string' ? v : '')

function vmRef(name: string): string {
  for (const [ref, r] of pool.objects.get('VM') ?? []) if (r.name_label === name && r.is_a_snapshot === false) return ref
  throw new Error(`no VM ${name}`)
}

function localSr(hostIndex: number): string {
  const host = pool.hosts[hostIndex]?.ref
  for (const [ref, sr] of pool.objects.get('SR') ?? []) {
    if (sr.type !== 'lvm') continue
    const pbd = pool.objects.get('PBD')?.get(String((sr.PBDs as string[])[0]))
    if (pbd?.host === host) return ref
  }
  throw new Error('no local SR')
}

/** a halted VM with two disks of its own on `sr` (a copy of build-01 plus a 3 GiB data disk) */
async function twoDiskVm(name: string, sr: string): Promise<string> {
  const vm = str(await call('VM.copy', [vmRef('build-01'), name, sr]))
  const vdi = str(await call('VDI.create', [{ name_label: `${name} data`, name_description: '', SR: sr, virtual_size: String(3 * 1024 ** 3), type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] }]))
  await call('VBD.create', [{ VM: vm, VDI: vdi, userdevice: '1', bootable: false, mode: 'RW', type: 'Disk', unpluggable: true, empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }])
  await waitFor('the graph has the VM with two disks', () => (h.manager.graph(id)?.linked('VM', vm, 'VBDs', 'VBD').filter((b) => h.manager.graph(id)?.get('VBD', b)?.type === 'Disk').length ?? 0) === 2)
  return vm
}

/** sha256 per disk of an XVA file's non-zero chunks, by chunk number (the disks' contents) */
function diskDigests(file: string): string[] {
  const b = readFileSync(file)
  const per = new Map<string, ReturnType<typeof createHash>>()
  let off = 0
  for (;;) {
    const hd = parseTarHeader(b.subarray(off, off + TAR_BLOCK))
    if (hd.kind !== 'entry') break
    off += TAR_BLOCK
    const m = /^(Ref:\d+)\/(\d{8})$/.exec(hd.entry.name)
    const data = b.subarray(off, off + hd.entry.size)
    if (m && !data.every((x) => x === 0)) {
      let hh = per.get(m[1]!)
      if (!hh) per.set(m[1]!, (hh = createHash('sha256')))
      hh.update(m[2]!).update(data)
    }
    off += hd.entry.size + tarPadding(hd.entry.size)
  }
  return [...per.values()].map((x) => x.digest('hex')).sort()
}

/**
 * Cancels a running transfer; its end, and every status the host wrote into its XAPI task (main
 * destroys its tasks once it has read their end, so polling can miss 'cancelled': each write is seen)
 */
async function cancelWatchingTask(t: TransferState, taskRef: string): Promise<{ done: TransferState; seen: Set<string> }> {
  const seen = new Set<string>()
  const tasks = pool.objects.get('task')
  if (!tasks) throw new Error('the simulator has no task table')
  const set = tasks.set.bind(tasks)
  tasks.set = (ref, rec) => {
    if (ref === taskRef) seen.add(String(rec.status))
    return set(ref, rec)
  }
  try {
    await callContract('transfer.cancel', { id: t.id })
    return { done: await ended(t), seen }
  } finally {
    tasks.set = set
  }
}

describe('export and import through main', () => {
  it('round trip of a VM with two disks: identical disk contents and config; NICs moved, renamed, started; a checksum file beside the export', async () => {
    const sr = localSr(0)
    const vm = await twoDiskVm('transfer-rt', sr)
    const file = join(dir, 'transfer-rt.xva')
    const started = await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: vm, path: file })
    expect(started.status).toMatch(/queued|running/)
    const done = await ended(started)
    expect(done.message).toBeUndefined()
    expect(done.status).toBe('done')
    expect(existsSync(`${file}.part`)).toBe(false)
    const sum = readFileSync(`${file}.sha256`, 'utf8')
    expect(sum).toBe(`${createHash('sha256').update(readFileSync(file)).digest('hex')}  transfer-rt.xva\n`)
    expect(done.bytes).toBe(readFileSync(file).length)
    // the Activity panel saw the transfer as one action with its progress
    expect(progress.some((p) => p.action?.id === started.id)).toBe(true)
    // what the import dialog shows
    const info = await callContract<{ kind: string; vm?: { name: string; disks: unknown[]; vifs: { device: string }[] } }>('transfer.inspect', { path: file })
    expect(info.kind).toBe('xva')
    expect(info.vm?.name).toBe('transfer-rt')
    expect(info.vm?.disks).toHaveLength(2)
    // import onto another network, renamed, started
    const nets = [...(pool.objects.get('network') ?? [])].filter(([, n]) => (n.PIFs as string[]).length > 0).map(([r]) => r)
    const target = nets[nets.length - 1] ?? ''
    const networks = Object.fromEntries((info.vm?.vifs ?? []).map((v) => [v.device, target]))
    const imp = await ended(await callContract<TransferState>('transfer.importVm', { connectionId: id, path: file, sr: localSr(0), name: 'transfer-rt imported', networks, start: true }))
    expect(imp.message).toBeUndefined()
    expect(imp.status).toBe('done')
    const newVm = imp.ref ?? ''
    const rec = pool.objects.get('VM')?.get(newVm)
    expect(rec?.name_label).toBe('transfer-rt imported')
    expect(rec?.power_state).toBe('Running')
    const orig = pool.objects.get('VM')?.get(vm)
    for (const f of ['VCPUs_max', 'memory_static_max', 'HVM_boot_params', 'platform']) expect(rec?.[f]).toEqual(orig?.[f])
    for (const vif of rec?.VIFs as string[]) expect(pool.objects.get('VIF')?.get(vif)?.network).toBe(target)
    // the imported VM's disks hold the same bytes: export it again and compare
    await call('VM.hard_shutdown', [newVm])
    await waitFor('the graph shows it halted', () => h.manager.graph(id)?.get('VM', newVm)?.power_state === 'Halted')
    const again = join(dir, 'again.xva')
    expect((await ended(await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: newVm, path: again }))).status).toBe('done')
    expect(diskDigests(again)).toEqual(diskDigests(file))
    expect(diskDigests(file)).toHaveLength(2)
  }, 180_000)

  it('follows the 302 to the server of a local SR with that server’s pinned certificate; a server presenting another certificate is refused', async () => {
    const vm = await twoDiskVm('on-host-2', localSr(1))
    const file = join(dir, 'on-host-2.xva')
    const done = await ended(await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: vm, path: file }))
    expect(done.status).toBe('done')
    // the master redirected: the simulator's second host served it (its task ran there)
    const second = pool.hosts[1]!
    await pool.rotateCertificate(second.address)
    const refused = await ended(await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: vm, path: join(dir, 'refused.xva') }))
    expect(refused.status).toBe('failed')
    // main asked the master; the refusal names the second server: the redirect was followed to it, with its own pin
    expect(refused.message).toMatch(/certificate/i)
    expect(refused.message).toContain(second.address)
    expect(existsSync(join(dir, 'refused.xva'))).toBe(false)
    expect(existsSync(join(dir, 'refused.xva.part'))).toBe(false)
    // the new certificate confirmed (as the Certificates tab does): the export goes through again
    await h.manager.hostTrust.pins.set(hostKey(second.address, pool.port), pinFromPem(second.certPem, 'user'))
    expect((await ended(await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: vm, path: join(dir, 'confirmed.xva') }))).status).toBe('done')
  }, 120_000)

  it('cancel mid-export: the XAPI task ends cancelled and the partial file is removed', async () => {
    const vm = await twoDiskVm('to-cancel', localSr(0))
    setTransferRate(pool, 2 * 1024 * 1024)
    try {
      const file = join(dir, 'to-cancel.xva')
      const t = await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: vm, path: file })
      const running = await waitFor('bytes flowing', () => {
        const s = states.get(t.id)
        return s && s.bytes > 1024 * 1024 && s.taskRef ? s : undefined
      })
      expect(existsSync(`${file}.part`)).toBe(true)
      const { done, seen } = await cancelWatchingTask(t, running.taskRef ?? '')
      expect(seen).toContain('cancelled')
      expect(done.errorCode).toBe('TASK_CANCELLED')
      expect(done.status).toBe('cancelled')
      expect(done.message).toMatch(/partial file was removed/)
      expect(existsSync(`${file}.part`)).toBe(false)
      expect(existsSync(file)).toBe(false)
    } finally {
      setTransferRate(pool, 0)
    }
  })

  it('cancelling the XAPI task itself (the Activity panel’s Tasks tab, or another client) mid-export ends the export as cancelled, partial file removed: a VM (XVA, no length) and a disk (raw, with its length)', async () => {
    const vm = await twoDiskVm('task-cancel', localSr(0))
    const vdi = str(await call('VDI.create', [{ name_label: 'task-cancel raw', name_description: '', SR: localSr(0), virtual_size: String(64 * 1024 * 1024), type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] }]))
    await waitFor('the graph has the disk', () => h.manager.graph(id)?.get('VDI', vdi))
    setTransferRate(pool, 2 * 1024 * 1024)
    try {
      for (const [method, ref, file] of [
        ['transfer.exportVm', vm, join(dir, 'task-cancel.xva')],
        ['transfer.exportDisk', vdi, join(dir, 'task-cancel.raw')],
      ] as const) {
        const t = await callContract<TransferState>(method, { connectionId: id, ref, path: file })
        const running = await waitFor('bytes flowing', () => {
          const s = states.get(t.id)
          return s && s.bytes > 1024 * 1024 && s.taskRef ? s : undefined
        })
        await h.manager.call(id, 'task.cancel', [running.taskRef])
        const done = await ended(t)
        expect(done.message).toMatch(/partial file was removed/)
        expect(done).toMatchObject({ status: 'cancelled', errorCode: 'TASK_CANCELLED' })
        expect(existsSync(`${file}.part`)).toBe(false)
        expect(existsSync(file)).toBe(false)
      }
    } finally {
      setTransferRate(pool, 0)
    }
  })

  it('a window that starts mid-export (a reload) finds the transfer with its progress through its store, and Cancel from it still stops the export', async () => {
    const vm = await twoDiskVm('reload-me', localSr(0))
    setTransferRate(pool, 1024 * 1024)
    try {
      const file = join(dir, 'reload-me.xva')
      const t = await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: vm, path: file })
      await waitFor('bytes flowing', () => ((states.get(t.id)?.bytes ?? 0) > 1024 * 1024 ? true : undefined))
      // the reloaded window: a fresh renderer store, attached as the app does on start (transfer.list, then transfer.changed)
      // (its events are held back at first: the row must come from what main lists)
      setActivePinia(createPinia())
      // the renderer's store, loaded at run time (this project's tsconfig has no DOM types for renderer/src)
      const storeModule = '../../../renderer/src/stores/transfers'
      const { useTransfersStore } = (await import(storeModule)) as {
        useTransfersStore: () => { attach(api: { call: unknown; on: unknown }): void; readonly list: TransferState[] }
      }
      const store = useTransfersStore()
      let live = false
      store.attach({
        call: ((method: MethodName, args: unknown) => callContract(method, args)) as never,
        on: ((event: string, cb: (s: TransferState) => void) => {
          const w = (s: TransferState): void => {
            if (live) cb(s)
          }
          if (event === 'transfer.changed') windows.add(w)
          return () => windows.delete(w)
        }) as never,
      })
      const row = await waitFor('the row is back', () => store.list.find((x) => x.id === t.id))
      live = true
      expect(row.status).toBe('running')
      expect(row.bytes).toBeGreaterThan(1024 * 1024)
      const before = row.bytes
      await waitFor('progress keeps coming to the new window', () => ((store.list.find((x) => x.id === t.id)?.bytes ?? 0) > before ? true : undefined))
      await callContract('transfer.cancel', { id: t.id })
      await waitFor('the new window sees it cancelled', () => (store.list.find((x) => x.id === t.id)?.status === 'cancelled' ? true : undefined))
      expect(store.list.find((x) => x.id === t.id)?.message).toMatch(/partial file was removed/)
      expect(existsSync(`${file}.part`)).toBe(false)
      expect(existsSync(file)).toBe(false)
    } finally {
      windows.clear()
      setTransferRate(pool, 0)
    }
  })

  it('a truncated or damaged XVA is refused with a sentence before any byte is sent; a damaged chunk is refused by the host', async () => {
    const vm = await twoDiskVm('to-damage', localSr(0))
    const file = join(dir, 'good.xva')
    expect((await ended(await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: vm, path: file }))).status).toBe('done')
    const good = readFileSync(file)
    const cut = join(dir, 'cut.xva')
    writeFileSync(cut, good.subarray(0, Math.floor(good.length * 0.6)))
    await expect(callContract('transfer.importVm', { connectionId: id, path: cut, sr: localSr(0) })).rejects.toThrow(/cut short.*incomplete/)
    const notXva = join(dir, 'not.xva')
    writeFileSync(notXva, Buffer.concat([Buffer.from('ova.xmlnot a tar header at all'), Buffer.alloc(600)]))
    await expect(callContract('transfer.importVm', { connectionId: id, path: notXva, sr: localSr(0) })).rejects.toThrow(/not an XVA file/)
    // flip a byte inside a chunk: the framing is whole, the host's checksum check refuses it
    const damaged = Buffer.from(good)
    const at = TAR_BLOCK * 3 + 5000 + Number(parseTarHeader(good.subarray(0, TAR_BLOCK)).kind === 'entry' ? (parseTarHeader(good.subarray(0, TAR_BLOCK)) as { entry: { size: number } }).entry.size : 0)
    damaged[at] = (damaged[at] ?? 0) ^ 0xff
    const bad = join(dir, 'damaged.xva')
    writeFileSync(bad, damaged)
    const vmsBefore = pool.objects.get('VM')?.size
    const r = await ended(await callContract<TransferState>('transfer.importVm', { connectionId: id, path: bad, sr: localSr(0) }))
    expect(r.status).toBe('failed')
    expect(r.message).toMatch(/does not match its checksums/)
    expect(pool.objects.get('VM')?.size).toBe(vmsBefore)
    await expect(callContract('transfer.importVm', { connectionId: id, path: join(dir, 'nothing-here.xva'), sr: localSr(0) })).rejects.toThrow(/no file/)
  })

  it('a disk as raw: export, then import into a new disk with the same bytes', async () => {
    const sr = localSr(0)
    const vdi = str(await call('VDI.create', [{ name_label: 'raw-me', name_description: '', SR: sr, virtual_size: String(32 * 1024 * 1024), type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] }]))
    await waitFor('the graph has the disk', () => h.manager.graph(id)?.get('VDI', vdi))
    const file = join(dir, 'disk.raw')
    const out = await ended(await callContract<TransferState>('transfer.exportDisk', { connectionId: id, ref: vdi, path: file }))
    expect(out.status).toBe('done')
    expect(readFileSync(file).length).toBe(32 * 1024 * 1024)
    const back = await ended(await callContract<TransferState>('transfer.importDisk', { connectionId: id, path: file, sr, name: 'raw back' }))
    expect(back.status).toBe('done')
    const copy = join(dir, 'disk2.raw')
    await waitFor('the graph has the new disk', () => h.manager.graph(id)?.get('VDI', back.ref ?? ''))
    expect((await ended(await callContract<TransferState>('transfer.exportDisk', { connectionId: id, ref: back.ref, path: copy }))).status).toBe('done')
    expect(createHash('sha256').update(readFileSync(copy)).digest('hex')).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'))
  })

  it('refuses before starting: a folder that does not exist, a file that exists, a running VM; the list keeps every transfer', async () => {
    await expect(callContract('transfer.exportVm', { connectionId: id, ref: vmRef('build-01'), path: '/nonexistent-folder/x.xva' })).rejects.toThrow(/does not exist/)
    writeFileSync(join(dir, 'exists.xva'), 'x')
    await expect(callContract('transfer.exportVm', { connectionId: id, ref: vmRef('build-01'), path: join(dir, 'exists.xva') })).rejects.toThrow(/already exists/)
    await expect(callContract('transfer.exportVm', { connectionId: id, ref: vmRef('web-01'), path: join(dir, 'web.xva') })).rejects.toThrow(/running/)
    expect(() => methods['transfer.exportVm'].args.parse({ connectionId: id, ref: vmRef('build-01'), path: 'relative/x.xva' })).toThrow(/full path/)
    const list = await callContract<TransferState[]>('transfer.list', {})
    expect(list.length).toBeGreaterThan(3)
  })
})

/** a halted VM with one disk of `mib` MiB holding data in every chunk (paced transfers last a known time) */
async function denseVm(name: string, mib: number): Promise<{ vm: string; vdi: string }> {
  const vm = str(await call('VM.copy', [vmRef('build-01'), name, localSr(0)]))
  for (const vbd of (await call('VM.get_VBDs', [vm])) as string[]) {
    if ((await call('VBD.get_type', [vbd])) !== 'Disk') continue
    const old = str(await call('VBD.get_VDI', [vbd]))
    await call('VBD.destroy', [vbd])
    await call('VDI.destroy', [old])
  }
  const vdi = str(await call('VDI.create', [{ name_label: `${name} disk`, name_description: '', SR: localSr(0), virtual_size: String(mib * 1024 * 1024), type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] }]))
  await call('VBD.create', [{ VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', unpluggable: false, empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }])
  const state = poolStateOf(pool)
  if (!state) throw new Error('no pool state')
  disksOf(state).setDensity(vdi, 1)
  await waitFor('the graph has the VM and its disk', () => h.manager.graph(id)?.get('VDI', vdi) && h.manager.graph(id)?.linked('VM', vm, 'VBDs', 'VBD').length)
  return { vm, vdi }
}

function head(file: string, n: number): Buffer {
  const fd = openSync(file, 'r')
  try {
    const b = Buffer.alloc(n)
    readSync(fd, b, 0, n, 0)
    return b
  } finally {
    closeSync(fd)
  }
}

describe('the queue, progress, where and how', () => {
  it(`runs at most ${TRANSFER_CONCURRENCY} transfers at once; the next one waits queued and starts when one ends`, async () => {
    // a VM each: XAPI runs one export of a VM at a time
    const vms: string[] = []
    for (let i = 0; i <= TRANSFER_CONCURRENCY; i++) vms.push((await denseVm(`queued-${i}`, 64)).vm)
    setTransferRate(pool, 4 * 1024 * 1024)
    const started: TransferState[] = []
    let most = 0
    const count = (): number => started.filter((t) => states.get(t.id)?.status === 'running' || states.get(t.id)?.status === 'finishing').length
    const watch = setInterval(() => (most = Math.max(most, count())), 5)
    try {
      for (let i = 0; i <= TRANSFER_CONCURRENCY; i++) started.push(await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: vms[i], path: join(dir, `queued-${i}.xva`) }))
      await waitFor('the first ones running', () => (count() === TRANSFER_CONCURRENCY ? true : undefined))
      const last = started[TRANSFER_CONCURRENCY]!
      expect(states.get(last.id)?.status).toBe('queued')
      expect(existsSync(join(dir, `queued-${TRANSFER_CONCURRENCY}.xva.part`))).toBe(false)
      await callContract('transfer.cancel', { id: started[0]!.id })
      await waitFor('the queued one starts once one ended', () => (states.get(last.id)?.status === 'running' ? true : undefined))
      for (const t of started) await callContract('transfer.cancel', { id: t.id })
      for (const t of started) expect(await ended(t)).toMatchObject({ status: 'cancelled' })
      expect(most).toBe(TRANSFER_CONCURRENCY)
    } finally {
      clearInterval(watch)
      setTransferRate(pool, 0)
    }
  })

  it('progress: an XVA (the host sends no length) from the XAPI task’s progress; a raw disk (Content-Length) from the bytes received', async () => {
    const { vm, vdi } = await denseVm('progress', 64)
    setTransferRate(pool, 8 * 1024 * 1024)
    try {
      const xva = await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: vm, path: join(dir, 'progress.xva') })
      const mid = await waitFor('the XVA export shows progress', () => {
        const s = states.get(xva.id)
        return s?.status === 'running' && s.progress > 0 ? s : undefined
      })
      expect(mid.totalBytes).toBeUndefined()
      await callContract('transfer.cancel', { id: xva.id })
      await ended(xva)
      const raw = await callContract<TransferState>('transfer.exportDisk', { connectionId: id, ref: vdi, path: join(dir, 'progress.raw'), format: 'raw' })
      const rawMid = await waitFor('the raw export shows progress', () => {
        const s = states.get(raw.id)
        return s?.status === 'running' && s.progress > 0 ? s : undefined
      })
      expect(rawMid.totalBytes).toBe(64 * 1024 * 1024)
      // the fraction is the bytes counted at the last tick: never more than those received since
      expect(rawMid.progress).toBeLessThanOrEqual(rawMid.bytes / (64 * 1024 * 1024))
      await callContract('transfer.cancel', { id: raw.id })
      await ended(raw)
    } finally {
      setTransferRate(pool, 0)
    }
  })

  it('cancel mid-import of an XVA: the XAPI task ends cancelled and nothing is left in the pool (no VM, no disk)', async () => {
    const { vm } = await denseVm('import-cancel', 64)
    const file = join(dir, 'import-cancel.xva')
    expect((await ended(await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: vm, path: file }))).status).toBe('done')
    const count = (cls: string): number => [...(pool.objects.get(cls)?.values() ?? [])].filter((r) => cls !== 'VM' || r.is_a_snapshot === false).length
    const vms = count('VM')
    const vdis = count('VDI')
    setTransferRate(pool, 4 * 1024 * 1024)
    try {
      const t = await callContract<TransferState>('transfer.importVm', { connectionId: id, path: file, sr: localSr(0), name: 'never here', networks: {}, start: false })
      const running = await waitFor('bytes flowing', () => {
        const s = states.get(t.id)
        return s && s.bytes > 8 * 1024 * 1024 && s.taskRef ? s : undefined
      })
      // the host made the new disk as the upload began
      expect(count('VDI')).toBe(vdis + 1)
      const { done, seen } = await cancelWatchingTask(t, running.taskRef ?? '')
      expect(seen).toContain('cancelled')
      expect(done).toMatchObject({ status: 'cancelled', errorCode: 'TASK_CANCELLED', message: 'Cancelled; nothing was imported.' })
      expect(count('VM')).toBe(vms)
      expect(count('VDI')).toBe(vdis)
    } finally {
      setTransferRate(pool, 0)
    }
  })

  it('imports into the local SR of the second server: the file goes to that server (an upload cannot follow a redirect) with its Content-Length', async () => {
    const vm = await twoDiskVm('to-host-2', localSr(0))
    const file = join(dir, 'to-host-2.xva')
    expect((await ended(await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: vm, path: file }))).status).toBe('done')
    const imp = await ended(await callContract<TransferState>('transfer.importVm', { connectionId: id, path: file, sr: localSr(1), name: 'on host 2', networks: {}, start: false }))
    expect(imp.message).toBeUndefined()
    expect(imp.status).toBe('done')
    const vbds = (pool.objects.get('VM')?.get(imp.ref ?? '')?.VBDs ?? []) as string[]
    const srs = vbds.map((b) => pool.objects.get('VDI')?.get(String(pool.objects.get('VBD')?.get(b)?.VDI))?.SR).filter(Boolean)
    expect(srs).toHaveLength(2)
    for (const sr of srs) expect(sr).toBe(localSr(1))
  })

  it('compression as chosen: zstd and gzip files (their magic bytes), each read by the import dialog (its VM, disks, NICs) and imported back', async () => {
    const vm = await twoDiskVm('compressed', localSr(0))
    for (const [compression, magic] of [
      ['zstd', '28b52ffd'],
      ['gzip', '1f8b'],
    ] as const) {
      const file = join(dir, `compressed.${compression}.xva`)
      const out = await ended(await callContract<TransferState>('transfer.exportVm', { connectionId: id, ref: vm, path: file, compression }))
      expect(out.status).toBe('done')
      expect(head(file, magic.length / 2).toString('hex')).toBe(magic)
      // the import dialog reads what it holds (its NICs can be put on other networks)
      const info = await callContract<{ compression: string; vm?: { name: string; disks: unknown[]; vifs: unknown[] } }>('transfer.inspect', { path: file })
      expect(info).toMatchObject({ compression, vm: { name: 'compressed' } })
      expect(info.vm?.disks).toHaveLength(2)
      expect(info.vm?.vifs.length).toBeGreaterThan(0)
      const back = await ended(await callContract<TransferState>('transfer.importVm', { connectionId: id, path: file, sr: localSr(0), name: `from ${compression}`, networks: {}, start: false }))
      expect(back.message).toBeUndefined()
      expect(back.status).toBe('done')
    }
  })

  it('checks the free space before starting: a disk larger than the room left beside the file is refused with the figures', async () => {
    const fs = statfsSync(dir)
    const free = fs.bavail * fs.bsize
    const size = Math.ceil((free + 16 * 1024 ** 3) / (1024 * 1024)) * 1024 * 1024
    const vdi = str(await call('VDI.create', [{ name_label: 'too-big', name_description: '', SR: localSr(0), virtual_size: String(size), type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] }]))
    await waitFor('the graph has the disk', () => h.manager.graph(id)?.get('VDI', vdi))
    const before = (await callContract<TransferState[]>('transfer.list', {})).length
    await expect(callContract('transfer.exportDisk', { connectionId: id, ref: vdi, path: join(dir, 'too-big.raw'), format: 'raw' })).rejects.toThrow(/free; the export needs about/)
    expect((await callContract<TransferState[]>('transfer.list', {})).length).toBe(before)
    expect(existsSync(join(dir, 'too-big.raw.part'))).toBe(false)
  })
})
