/**
 * The simulator's cross-pool migration and storage motion (issue 17), in-process: Host.migrate_receive
 * on the destination, VM.assert_can_migrate / VM.migrate_send on the source, VDI.pool_migrate, and
 * each refusal with the datamodel's parameters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { poolStateOf, startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import { SimXapiError, type SimControl, type SimPoolHandle, type SimRecord, type SimValue } from '../../sim/model'

let sim: SimControl
let lab: SimPoolHandle
let prod: SimPoolHandle
let legacy: SimPoolHandle

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('demo', { addressBase: '127.141', opDurationMs: 0 }) })
  lab = sim.pool('Lab')
  prod = sim.pool('Production')
  legacy = sim.pool('Legacy')
}, 60_000)
afterAll(async () => {
  await sim?.stop()
})

const rec = (p: SimPoolHandle, cls: string, ref: string): SimRecord => {
  const r = p.objects.get(cls)?.get(ref)
  if (!r) throw new Error(`${p.name}: no ${cls} ${ref}`)
  return r
}
const refs = (v: SimValue | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== 'OpaqueRef:NULL') : [])
const find = (p: SimPoolHandle, cls: string, pred: (r: SimRecord) => boolean): string => {
  for (const [ref, r] of p.objects.get(cls) ?? []) if (pred(r)) return ref
  throw new Error(`${p.name}: no such ${cls}`)
}
const vmNamed = (p: SimPoolHandle, name: string): string => find(p, 'VM', (r) => r['name_label'] === name && r['is_a_snapshot'] !== true && r['is_a_template'] !== true)
const netNamed = (p: SimPoolHandle, name: string): string => find(p, 'network', (r) => r['name_label'] === name)
const mgmtNet = (p: SimPoolHandle): string => netNamed(p, 'Pool-wide network associated with eth0')
/** the local SR of a host */
const localSr = (p: SimPoolHandle, host: string): string =>
  find(p, 'SR', (r) => r['type'] === 'lvm' && refs(r['PBDs']).some((pbd) => rec(p, 'PBD', pbd)['host'] === host))

async function fails(p: Promise<unknown>): Promise<string[]> {
  try {
    await p
  } catch (e) {
    if (e instanceof SimXapiError) return e.description
    throw e
  }
  throw new Error('expected a XAPI failure')
}

/** the disks (VDIs) of a VM, by its disk drives */
function disks(p: SimPoolHandle, vm: string): string[] {
  return refs(rec(p, 'VM', vm)['VBDs'])
    .map((v) => rec(p, 'VBD', v))
    .filter((v) => v['type'] === 'Disk')
    .map((v) => String(v['VDI']))
}

async function waitTask(p: SimPoolHandle, task: string): Promise<SimRecord> {
  for (;;) {
    const t = rec(p, 'task', task)
    if (t['status'] !== 'pending') return t
    await new Promise((r) => setTimeout(r, 5))
  }
}

interface Maps {
  dest: Record<string, SimValue>
  vdiMap: Record<string, string>
  vifMap: Record<string, string>
}

async function mapsFor(src: SimPoolHandle, dst: SimPoolHandle, vm: string, host: string, sr: string, net: string): Promise<Maps> {
  const dest = (await dst.call('host.migrate_receive', [host, mgmtNet(dst), {}])) as Record<string, SimValue>
  const vdiMap: Record<string, string> = {}
  for (const d of disks(src, vm)) vdiMap[d] = sr
  const vifMap: Record<string, string> = {}
  for (const v of refs(rec(src, 'VM', vm)['VIFs'])) vifMap[v] = net
  return { dest, vdiMap, vifMap }
}

describe('Host.migrate_receive', () => {
  it('returns the dest map as XAPI does: SM, host, xenops, session_id, master', async () => {
    const host = prod.hosts[1]?.ref ?? ''
    const dest = (await prod.call('host.migrate_receive', [host, mgmtNet(prod), {}])) as Record<string, string>
    expect(Object.keys(dest).sort()).toEqual(['SM', 'host', 'master', 'session_id', 'xenops'])
    expect(dest['host']).toBe(host)
    expect(dest['master']).toBe(`http://${prod.hosts[0]?.address}/`)
    expect(dest['xenops']).toBe(`http://${prod.hosts[1]?.address}/services/xenops?session_id=${dest['session_id']}`)
    expect(rec(prod, 'session', dest['session_id'] ?? '')['pool']).toBe(true)
  })
  it('refuses a network the host has no interface on, and one without an IP', async () => {
    const host = prod.hosts[0]?.ref ?? ''
    const internal = netNamed(prod, 'Host internal management network')
    expect(await fails(prod.call('host.migrate_receive', [host, internal, {}]))).toEqual(['HOST_CANNOT_ATTACH_NETWORK', host, internal])
    const eth1 = netNamed(prod, 'Pool-wide network associated with eth1')
    const pif = find(prod, 'PIF', (r) => r['network'] === eth1 && r['host'] === host)
    expect(await fails(prod.call('host.migrate_receive', [host, eth1, {}]))).toEqual(['INTERFACE_HAS_NO_IP', pif])
  })
})

describe('VM.migrate_send between pools', () => {
  it('moves a running VM with its disks, NICs and snapshot: new refs in the destination, gone from the source, progress by bytes', async () => {
    const vm = vmNamed(lab, 'app-01')
    const before = rec(lab, 'VM', vm)
    expect(before['power_state']).toBe('Running')
    // a second NIC, and a snapshot whose NIC only it has
    const lan = netNamed(lab, 'Lab sandbox')
    await lab.call('VIF.create', [{ device: '1', network: lan, VM: vm, MAC: 'aa:bb:cc:00:11:22', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }])
    const snap = String(await lab.call('VM.snapshot', [vm, 'app-01 before move']))
    const snapOnlyVif = String(await lab.call('VIF.create', [{ device: '2', network: lan, VM: snap, MAC: 'aa:bb:cc:00:11:99', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }]))
    const srcDisks = disks(lab, vm)
    expect(srcDisks.length).toBe(2)
    const host = prod.hosts[2]?.ref ?? ''
    const sr = localSr(prod, host)
    const guest = netNamed(prod, 'Bond 2+3 (guest traffic)')
    const m = await mapsFor(lab, prod, vm, host, sr, guest)
    // a VIF only the snapshot has must be mapped
    expect(await fails(lab.call('VM.assert_can_migrate', [vm, m.dest, true, m.vdiMap, m.vifMap, {}, {}]))).toEqual(['VIF_NOT_IN_MAP', snapOnlyVif])
    m.vifMap[snapOnlyVif] = mgmtNet(prod)
    await lab.call('VM.assert_can_migrate', [vm, m.dest, true, m.vdiMap, m.vifMap, {}, {}])
    const srBefore = Number(rec(prod, 'SR', sr)['physical_utilisation'])
    const task = String(await lab.call('Async.VM.migrate_send', [vm, m.dest, true, m.vdiMap, m.vifMap, {}, {}]))
    const progress: number[] = []
    for (;;) {
      const t = rec(lab, 'task', task)
      progress.push(Number(t['progress']))
      if (t['status'] !== 'pending') break
      await new Promise((r) => setTimeout(r, 1))
    }
    const t = rec(lab, 'task', task)
    expect(t['status']).toBe('success')
    const newRef = /<value>(OpaqueRef:[^<]+)<\/value>/.exec(String(t['result']))?.[1] ?? ''
    expect(newRef).not.toBe(vm)
    // source: the VM, its snapshot, disks and NICs are gone
    expect(lab.objects.get('VM')?.get(vm)).toBeUndefined()
    expect(lab.objects.get('VM')?.get(snap)).toBeUndefined()
    for (const d of srcDisks) expect(lab.objects.get('VDI')?.get(d)).toBeUndefined()
    // destination: same uuid, running on the chosen host, disks on the chosen SR, NICs on the chosen network
    const moved = rec(prod, 'VM', newRef)
    expect(moved['uuid']).toBe(before['uuid'])
    expect(moved['power_state']).toBe('Running')
    expect(moved['resident_on']).toBe(host)
    expect(refs(moved['consoles']).length).toBe(1)
    const newDisks = disks(prod, newRef)
    expect(newDisks.length).toBe(2)
    for (const d of newDisks) {
      expect(rec(prod, 'VDI', d)['SR']).toBe(sr)
      expect(srcDisks).not.toContain(d)
    }
    expect(refs(moved['VIFs']).map((v) => rec(prod, 'VIF', v)['network'])).toEqual([guest, guest])
    expect(refs(moved['VIFs']).map((v) => rec(prod, 'VIF', v)['MAC']).sort()).toContain('aa:bb:cc:00:11:22')
    const [newSnap] = refs(moved['snapshots'])
    expect(rec(prod, 'VM', newSnap ?? '')['snapshot_of']).toBe(newRef)
    // the snapshot's own NIC went where it was mapped; its shared NIC followed the VM's by MAC
    const snapNets = refs(rec(prod, 'VM', newSnap ?? '')['VIFs']).map((v) => [rec(prod, 'VIF', v)['MAC'], rec(prod, 'VIF', v)['network']])
    expect(snapNets).toContainEqual(['aa:bb:cc:00:11:99', mgmtNet(prod)])
    expect(snapNets).toContainEqual(['aa:bb:cc:00:11:22', guest])
    // the snapshot's disks are snapshots of the moved disks, and the SR accounts for all of them
    const snapDisks = disks(prod, newSnap ?? '')
    expect(snapDisks.map((d) => rec(prod, 'VDI', d)['snapshot_of']).sort()).toEqual([...newDisks].sort())
    expect(Number(rec(prod, 'SR', sr)['physical_utilisation'])).toBeGreaterThan(srBefore)
    // progress grew with the bytes mirrored
    const seen = progress.filter((p) => p > 0 && p < 1)
    expect(seen.length).toBeGreaterThan(0)
    expect([...seen].sort((a, b) => a - b)).toEqual(seen)
  })

  it('copy keeps the source and gives the copy its own uuid; a running VM cannot be copied', async () => {
    const vm = vmNamed(lab, 'web-01')
    expect(rec(lab, 'VM', vm)['power_state']).toBe('Halted')
    const host = prod.hosts[0]?.ref ?? ''
    const m = await mapsFor(lab, prod, vm, host, localSr(prod, host), mgmtNet(prod))
    const copy = String(await lab.call('VM.migrate_send', [vm, m.dest, false, m.vdiMap, m.vifMap, { copy: 'true' }, {}]))
    expect(rec(lab, 'VM', vm)['name_label']).toBe('web-01')
    expect(disks(lab, vm).every((d) => lab.objects.get('VDI')?.has(d))).toBe(true)
    expect(rec(prod, 'VM', copy)['uuid']).not.toBe(rec(lab, 'VM', vm)['uuid'])
    expect(rec(prod, 'VM', copy)['power_state']).toBe('Halted')
    const running = vmNamed(lab, 'web-02')
    const m2 = await mapsFor(lab, prod, running, host, localSr(prod, host), mgmtNet(prod))
    expect(await fails(lab.call('VM.assert_can_migrate', [running, m2.dest, true, m2.vdiMap, m2.vifMap, { copy: 'true' }, {}]))).toEqual(['VM_BAD_POWER_STATE', running, 'halted', 'running'])
  })

  it('refuses with the datamodel parameters: VDI_NOT_IN_MAP, VIF_NOT_IN_MAP, VDI_CBT_ENABLED, VM_HOST_INCOMPATIBLE_VERSION_MIGRATE, LICENCE_RESTRICTION', async () => {
    const vm = vmNamed(lab, 'ci-runner-01')
    const host = prod.hosts[0]?.ref ?? ''
    const m = await mapsFor(lab, prod, vm, host, localSr(prod, host), mgmtNet(prod))
    const [firstDisk] = disks(lab, vm)
    const [firstVif] = refs(rec(lab, 'VM', vm)['VIFs'])
    const noDisk = { ...m.vdiMap }
    delete noDisk[firstDisk ?? '']
    expect(await fails(lab.call('VM.assert_can_migrate', [vm, m.dest, false, noDisk, m.vifMap, {}, {}]))).toEqual(['VDI_NOT_IN_MAP', firstDisk])
    expect(await fails(lab.call('VM.migrate_send', [vm, m.dest, false, m.vdiMap, {}, {}, {}]))).toEqual(['VIF_NOT_IN_MAP', firstVif])
    await lab.call('VDI.enable_cbt', [firstDisk ?? ''])
    expect(await fails(lab.call('VM.assert_can_migrate', [vm, m.dest, false, m.vdiMap, m.vifMap, {}, {}]))).toEqual(['VDI_CBT_ENABLED', firstDisk])
    await lab.call('VDI.disable_cbt', [firstDisk ?? ''])
    await lab.call('VM.assert_can_migrate', [vm, m.dest, false, m.vdiMap, m.vifMap, {}, {}])
    // a destination older than the source
    const old = legacy.hosts[0]?.ref ?? ''
    const m3 = await mapsFor(lab, legacy, vm, old, localSr(legacy, old), mgmtNet(legacy))
    expect(await fails(lab.call('VM.assert_can_migrate', [vm, m3.dest, false, m3.vdiMap, m3.vifMap, {}, {}]))).toEqual(['VM_HOST_INCOMPATIBLE_VERSION_MIGRATE', old, vm])
    // licence without Storage XenMotion
    const r = rec(lab, 'pool', lab.ref)['restrictions'] as Record<string, SimValue>
    const state = poolStateOf(lab)
    state?.db.update('pool', lab.ref, { restrictions: { ...r, restrict_storage_xen_motion: 'true' } })
    expect(await fails(lab.call('VM.assert_can_migrate', [vm, m.dest, false, m.vdiMap, m.vifMap, {}, {}]))).toEqual(['LICENCE_RESTRICTION', 'Storage_motion'])
    state?.db.update('pool', lab.ref, { restrictions: r })
  })

  it('MIRROR_FAILED when the destination SR runs out of room while mirroring; nothing is left behind and the source keeps the VM', async () => {
    const vm = vmNamed(legacy, 'db-03')
    const host = prod.hosts[0]?.ref ?? ''
    const nfs = find(prod, 'SR', (r) => r['name_label'] === 'NFS VM storage')
    const m = await mapsFor(legacy, prod, vm, host, nfs, mgmtNet(prod))
    const state = poolStateOf(prod)
    const sr = rec(prod, 'SR', nfs)
    state?.db.update('SR', nfs, { physical_utilisation: Number(sr['physical_size']) - 1024 })
    const vdisBefore = prod.objects.get('VDI')?.size
    const task = String(await legacy.call('Async.VM.migrate_send', [vm, m.dest, false, m.vdiMap, m.vifMap, {}, {}]))
    const t = await waitTask(legacy, task)
    expect(t['status']).toBe('failure')
    const errorInfo = t['error_info'] as string[]
    expect(errorInfo[0]).toBe('MIRROR_FAILED')
    expect(disks(legacy, vm)).toContain(errorInfo[1])
    expect(prod.objects.get('VDI')?.size).toBe(vdisBefore)
    expect(rec(legacy, 'VM', vm)['name_label']).toBe('db-03')
    state?.db.update('SR', nfs, { physical_utilisation: sr['physical_utilisation'] ?? 0 })
  })

  it('TOO_MANY_STORAGE_MIGRATES ["3"] for a fourth storage migration at once', async () => {
    const state = poolStateOf(legacy)
    if (!state) throw new Error('no state')
    state.opDurationMs = 200
    try {
      const names = ['k8s-node-02', 'k8s-node-03', 'mon-01', 'db-03']
      const host = prod.hosts[1]?.ref ?? ''
      const tasks: string[] = []
      for (const n of names) {
        const vm = vmNamed(legacy, n)
        const m = await mapsFor(legacy, prod, vm, host, localSr(prod, host), mgmtNet(prod))
        tasks.push(String(await legacy.call('Async.VM.migrate_send', [vm, m.dest, false, m.vdiMap, m.vifMap, {}, {}])))
      }
      const results = await Promise.all(tasks.map((t) => waitTask(legacy, t)))
      expect(results.map((r) => r['status'])).toEqual(['success', 'success', 'success', 'failure'])
      expect(results[3]?.['error_info']).toEqual(['TOO_MANY_STORAGE_MIGRATES', '3'])
    } finally {
      state.opDurationMs = 0
    }
  })
})

describe('storage motion within a pool', () => {
  it('VM.migrate_send to the same pool moves the mapped disks and keeps the VM ref; vif_map must stay empty; copy is refused', async () => {
    const vm = vmNamed(prod, 'web-04')
    const [disk] = disks(prod, vm)
    const resident = String(rec(prod, 'VM', vm)['resident_on'])
    const nfs = find(prod, 'SR', (r) => r['name_label'] === 'NFS VM storage')
    const target = rec(prod, 'VDI', disk ?? '')['SR'] === nfs ? localSr(prod, resident) : nfs
    const dest = (await prod.call('host.migrate_receive', [resident, mgmtNet(prod), {}])) as Record<string, SimValue>
    const [vif] = refs(rec(prod, 'VM', vm)['VIFs'])
    expect(await fails(prod.call('VM.assert_can_migrate', [vm, dest, true, { [disk ?? '']: target }, { [vif ?? '']: mgmtNet(prod) }, {}, {}]))).toEqual([
      'NOT_IMPLEMENTED',
      'VIF mapping is not supported for intra-pool migration',
    ])
    expect((await fails(prod.call('VM.assert_can_migrate', [vm, dest, true, { [disk ?? '']: target }, {}, { copy: 'true' }, {}])))[0]).toBe('OPERATION_NOT_ALLOWED')
    const r = await prod.call('VM.migrate_send', [vm, dest, true, { [disk ?? '']: target }, {}, {}, {}])
    expect(r).toBe(vm)
    const [moved] = disks(prod, vm)
    expect(moved).not.toBe(disk)
    expect(rec(prod, 'VDI', moved ?? '')['SR']).toBe(target)
    expect(prod.objects.get('VDI')?.has(disk ?? '')).toBe(false)
  })

  it('VDI.pool_migrate moves a running VM’s disk and refuses one with CBT on', async () => {
    const vm = vmNamed(prod, 'web-01')
    const [disk] = disks(prod, vm)
    const resident = String(rec(prod, 'VM', vm)['resident_on'])
    const target = localSr(prod, resident)
    await prod.call('VDI.enable_cbt', [disk ?? ''])
    expect(await fails(prod.call('VDI.pool_migrate', [disk ?? '', target, {}]))).toEqual(['VDI_CBT_ENABLED', disk])
    await prod.call('VDI.disable_cbt', [disk ?? ''])
    const moved = String(await prod.call('VDI.pool_migrate', [disk ?? '', target, {}]))
    expect(rec(prod, 'VDI', moved)['SR']).toBe(target)
  })
})
