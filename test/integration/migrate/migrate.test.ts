/**
 * Migration end to end (issue 17): contract arguments → migrate module → MigrationRunner →
 * ActionRunner → PoolManager sessions of BOTH pools → the real HTTPS simulator (demo fleet: Lab,
 * Production, Legacy). Host.migrate_receive goes to the destination pool, VM.assert_can_migrate and
 * Async.VM.migrate_send to the source; the VM appears in the destination's graph and leaves the
 * source's. XAPI's refusals come back with their exact code and parameters and a sentence; a
 * refusal is provoked the way it happens in real life (another client changes a pool a moment
 * before XenPilot asks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methods, type EventPayload } from '../../../shared/contract'
import type { MigrationResult } from '../../../shared/contract/migrate'
import { MemoryHistory } from '../../../main/services/operations'
import { migrateModule } from '../../../main/services/migrate'
import type { HandlerArgs, ServiceModule } from '../../../main/services'
import type { PoolManagerApi } from '../../../main/pools/api'
import { poolStateOf, startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle, SimRecord, SimValue } from '../../sim/model'
import { connectTrusted, makeManager, waitFor, type Harness } from '../pools/helpers'

let sim: SimControl
let h: Harness
const conn: Record<string, string> = {}
const history = new MemoryHistory()
type M = 'migrate.check' | 'migrate.run' | 'migrate.cancel' | 'migrate.disableCbt'
let mod: ServiceModule<M>
const progress: EventPayload<'operation.progress'>[] = []
const states: EventPayload<'migrate.state'>[] = []
/** runs just before XenPilot's call of that method reaches the pool: another client acting then */
const before = new Map<string, () => Promise<void> | void>()

function spy(pools: PoolManagerApi): PoolManagerApi {
  return new Proxy(pools, {
    get(target, prop, receiver) {
      if (prop === 'call' || prop === 'callAsync') {
        return async (id: string, method: string, params: unknown[], onProgress?: (p: number, t: string) => void) => {
          const hook = before.get(method)
          if (hook) {
            before.delete(method)
            await hook()
          }
          return prop === 'call' ? target.call(id, method, params) : target.callAsync(id, method, params, onProgress)
        }
      }
      const v: unknown = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('demo', { addressBase: '127.143', opDurationMs: 40 }) })
  h = makeManager()
  for (const p of sim.pools) conn[p.name] = await connectTrusted(h, p)
  mod = migrateModule({ history, retryMs: 100, waitMaxMs: 60_000 })({
    pools: spy(h.manager),
    broadcast: (event, payload) => {
      if (event === 'operation.progress') progress.push(payload as EventPayload<'operation.progress'>)
      if (event === 'migrate.state') states.push(payload as EventPayload<'migrate.state'>)
    },
    log: () => {},
  })
}, 180_000)

afterAll(async () => {
  await h?.close()
  await sim?.stop()
})

// ---------------------------------------------------------------------------------------------

const P = (name: string): SimPoolHandle => sim.pool(name)
const id = (name: string): string => conn[name] ?? ''
const rec = (p: SimPoolHandle, cls: string, ref: string): SimRecord => {
  const r = p.objects.get(cls)?.get(ref)
  if (!r) throw new Error(`${p.name}: ${cls} ${ref} is gone`)
  return r
}
const refs = (v: SimValue | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== 'OpaqueRef:NULL') : [])
function find(p: SimPoolHandle, cls: string, pred: (r: SimRecord) => boolean): string {
  for (const [ref, r] of p.objects.get(cls) ?? []) if (pred(r)) return ref
  throw new Error(`${p.name}: no such ${cls}`)
}
const vmNamed = (p: SimPoolHandle, name: string) => find(p, 'VM', (r) => r['name_label'] === name && r['is_a_snapshot'] !== true && r['is_a_template'] !== true)
const netNamed = (p: SimPoolHandle, name: string) => find(p, 'network', (r) => r['name_label'] === name)
const localSr = (p: SimPoolHandle, host: string) => find(p, 'SR', (r) => r['type'] === 'lvm' && refs(r['PBDs']).some((b) => rec(p, 'PBD', b)['host'] === host))
const disks = (p: SimPoolHandle, vm: string) =>
  refs(rec(p, 'VM', vm)['VBDs'])
    .map((b) => rec(p, 'VBD', b))
    .filter((b) => b['type'] === 'Disk')
    .map((b) => String(b['VDI']))
const graphHas = (pool: string, cls: string, ref: string) => waitFor(`${cls} in ${pool}'s graph`, () => h.manager.graph(id(pool))?.get(cls, ref))

async function call<K extends M>(m: K, args: unknown): Promise<Awaited<ReturnType<ServiceModule<K>['handlers'][K]>>> {
  const parsed = methods[m].args.parse(args) as HandlerArgs<K>
  const handler = mod.handlers[m] as (a: HandlerArgs<K>, ctx: never) => Promise<Awaited<ReturnType<ServiceModule<K>['handlers'][K]>>>
  return handler(parsed, undefined as never)
}
/** the Lab VMs the TOO_MANY_STORAGE_MIGRATES test moves (the bulk test leaves them alone) */
const TOO_MANY_NAMES = ['web-01', 'db-02', 'web-02', 'app-01', 'db-01']
const runOne = async (item: Record<string, unknown>): Promise<MigrationResult> => {
  const [r] = await call('migrate.run', { items: [item] })
  if (!r) throw new Error('no result')
  return r
}

describe('one VM between pools', () => {
  it('moves a running VM with two disks and two NICs from Lab to Production, each disk to the SR and each NIC to the network chosen', async () => {
    const lab = P('Lab')
    const prod = P('Production')
    const vm = vmNamed(lab, 'app-02')
    const uuid = String(rec(lab, 'VM', vm)['uuid'])
    expect(rec(lab, 'VM', vm)['power_state']).toBe('Running')
    // a second NIC and a second disk (another client set the VM up so)
    await lab.call('VIF.create', [{ device: '1', network: netNamed(lab, 'Lab sandbox'), VM: vm, MAC: 'aa:00:00:00:00:02', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }])
    if (disks(lab, vm).length < 2) {
      const sr = String(rec(lab, 'VDI', disks(lab, vm)[0] ?? '')['SR'])
      const vdi = String(await lab.call('VDI.create', [{ name_label: 'data', SR: sr, virtual_size: String(2 * 1024 ** 3), type: 'user', sharable: false, read_only: false, other_config: {} }]))
      const [free] = (await lab.call('VM.get_allowed_VBD_devices', [vm])) as string[]
      await lab.call('VBD.create', [{ VM: vm, VDI: vdi, userdevice: free ?? '4', bootable: false, mode: 'RW', type: 'Disk', empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }])
    }
    const [d1, d2] = disks(lab, vm)
    const vifs = refs(rec(lab, 'VM', vm)['VIFs'])
    expect(disks(lab, vm)).toHaveLength(2)
    expect(vifs).toHaveLength(2)
    await waitFor('graph sees both NICs and disks', () => (h.manager.graph(id('Lab'))?.get('VM', vm)?.['VIFs'] as string[] | undefined)?.length === 2 && (h.manager.graph(id('Lab'))?.get('VM', vm)?.['VBDs'] as string[] | undefined)?.length === refs(rec(lab, 'VM', vm)['VBDs']).length)
    const host = prod.hosts[2]?.ref ?? ''
    const local = localSr(prod, host)
    const nfs = find(prod, 'SR', (r) => r['name_label'] === 'NFS VM storage')
    const guest = netNamed(prod, 'Bond 2+3 (guest traffic)')
    const backup = netNamed(prod, 'VLAN 20 (storage)')
    const item = { connectionId: id('Lab'), vm, destConnectionId: id('Production'), host, vdiMap: { [d1 ?? '']: local, [d2 ?? '']: nfs }, vifMap: { [vifs[0] ?? '']: guest, [vifs[1] ?? '']: backup } }
    // every server of Production can take it (the check runs migrate_receive + assert_can_migrate per server)
    const { host: _chosen, ...rest } = item
    const checks = await call('migrate.check', { ...rest, hosts: prod.hosts.map((x) => x.ref) })
    expect(checks.find((c) => c.host === host)?.ok).toBe(true)
    const r = await runOne(item)
    expect(r.error).toBeUndefined()
    expect(r.ok).toBe(true)
    const created = r.created ?? ''
    // the destination: same uuid, running on the chosen server, disks and NICs where chosen
    const moved = rec(prod, 'VM', created)
    expect(moved['uuid']).toBe(uuid)
    expect(moved['resident_on']).toBe(host)
    expect(moved['power_state']).toBe('Running')
    const srs = disks(prod, created).map((v) => rec(prod, 'VDI', v)['SR'])
    expect(srs.sort()).toEqual([local, nfs].sort())
    const nets = refs(moved['VIFs']).map((v) => [rec(prod, 'VIF', v)['MAC'], rec(prod, 'VIF', v)['network']])
    expect(nets).toContainEqual(['aa:00:00:00:00:02', backup])
    expect(nets.map((n) => n[1]).sort()).toEqual([guest, backup].sort())
    // the tree follows: XenPilot's graphs see it leave Lab and arrive in Production
    await graphHas('Production', 'VM', created)
    await waitFor('VM gone from Lab graph', () => h.manager.graph(id('Lab'))?.get('VM', vm) === undefined)
    // one Activity row (the action id), progress under it, a history entry on each side
    expect(progress.filter((p) => p.action?.id === r.actionId).length).toBeGreaterThan(0)
    const entries = history.list({ limit: 50 })
    expect(entries.find((e) => e.ref === vm && e.ok && e.action === 'Migrate VM to Production')).toBeDefined()
    // the arrival says where the VM's earlier history is (the History tab follows it)
    const arrival = entries.find((e) => e.ref === created && e.connectionId === id('Production') && e.action === 'Migrated here from Lab')
    expect(arrival?.objectName).toBe('app-02')
    expect(arrival?.params).toMatchObject({ fromConnectionId: id('Lab'), fromRef: vm })
  })

  it('copy keeps the source VM', async () => {
    const lab = P('Lab')
    const prod = P('Production')
    const vm = vmNamed(lab, 'k8s-node-01')
    expect(rec(lab, 'VM', vm)['power_state']).toBe('Halted')
    const host = prod.hosts[0]?.ref ?? ''
    // only the SR of the first disk chosen: the rest go by the defaults (the pool's default SR)
    const r = await runOne({ connectionId: id('Lab'), vm, destConnectionId: id('Production'), host, vdiMap: { [disks(lab, vm)[0] ?? '']: localSr(prod, host) }, vifMap: {}, copy: true })
    expect(r.ok).toBe(true)
    expect(rec(lab, 'VM', vm)['name_label']).toBe('k8s-node-01')
    expect(rec(prod, 'VM', r.created ?? '')['name_label']).toBe('k8s-node-01')
    expect(rec(prod, 'VM', r.created ?? '')['uuid']).not.toBe(rec(lab, 'VM', vm)['uuid'])
  })
})

describe('each refusal surfaces with its parameters and a sentence', () => {
  const lab = () => P('Lab')
  const prod = () => P('Production')
  const toProd = (vm: string, extra: Record<string, unknown> = {}) => ({ connectionId: id('Lab'), vm, destConnectionId: id('Production'), host: prod().hosts[1]?.ref ?? '', vdiMap: {}, vifMap: {}, ...extra })

  it('VDI_CBT_ENABLED [vdi]', async () => {
    const vm = vmNamed(lab(), 'ci-runner-01')
    const [disk] = disks(lab(), vm)
    await lab().call('VDI.enable_cbt', [disk ?? ''])
    try {
      const r = await runOne(toProd(vm))
      expect(r.error?.code).toBe('VDI_CBT_ENABLED')
      expect(r.error?.params).toEqual([disk])
      expect(r.error?.message).toMatch(/Changed block tracking/)
      expect(r.error?.action).toMatch(/Disable CBT/)
      expect(rec(lab(), 'VM', vm)['name_label']).toBe('ci-runner-01')
    } finally {
      await lab().call('VDI.disable_cbt', [disk ?? ''])
    }
  })

  it('VIF_NOT_IN_MAP [vif] and VDI_NOT_IN_MAP [vdi]: another client adds a NIC / a disk just before', async () => {
    const vm = vmNamed(lab(), 'k8s-node-02')
    let added = ''
    before.set('VM.assert_can_migrate', async () => {
      added = String(await lab().call('VIF.create', [{ device: '5', network: netNamed(lab(), 'Lab sandbox'), VM: vm, MAC: 'aa:00:00:00:00:05', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }]))
    })
    const r = await runOne(toProd(vm))
    expect(r.error?.code).toBe('VIF_NOT_IN_MAP')
    expect(r.error?.params).toEqual([added])
    expect(r.error?.message).toMatch(/No destination network/)
    expect(r.error?.action).toMatch(/Choose a network for every NIC/)
    await lab().call('VIF.destroy', [added])
    let vdi = ''
    before.set('VM.assert_can_migrate', async () => {
      const sr = String(rec(lab(), 'VDI', disks(lab(), vm)[0] ?? '')['SR'])
      vdi = String(await lab().call('VDI.create', [{ name_label: 'late', SR: sr, virtual_size: String(1024 ** 3), type: 'user', sharable: false, read_only: false, other_config: {} }]))
      await lab().call('VBD.create', [{ VM: vm, VDI: vdi, userdevice: '4', bootable: false, mode: 'RW', type: 'Disk', empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }])
    })
    const r2 = await runOne(toProd(vm))
    expect(r2.error?.code).toBe('VDI_NOT_IN_MAP')
    expect(r2.error?.params).toEqual([vdi])
    expect(r2.error?.message).toMatch(/No destination SR/)
    expect(r2.error?.action).toMatch(/Choose an SR for every disk/)
  })

  it('VM_HOST_INCOMPATIBLE_VERSION_MIGRATE [host, vm]: Production to the older Lab', async () => {
    const vm = vmNamed(prod(), 'web-02')
    const host = P('Lab').hosts[0]?.ref ?? ''
    const r = await runOne({ connectionId: id('Production'), vm, destConnectionId: id('Lab'), host, vdiMap: {}, vifMap: {} })
    expect(r.error?.code).toBe('VM_HOST_INCOMPATIBLE_VERSION_MIGRATE')
    expect(r.error?.params).toEqual([host, vm])
    expect(r.error?.message).toBe("VM 'web-02' cannot move to server 'xcp-lab': that server runs an older XCP-ng/XenServer than the VM's pool, and a VM never moves to an older version.")
    expect(r.error?.action).toMatch(/same or a newer version/)
  })

  it('MIRROR_FAILED [vdi]: the destination SR fills up just before the copy; the VM stays in Lab', async () => {
    const vm = vmNamed(lab(), 'k8s-node-03')
    const host = prod().hosts[3]?.ref ?? ''
    const sr = localSr(prod(), host)
    const state = poolStateOf(prod())
    const saved = rec(prod(), 'SR', sr)['physical_utilisation']
    before.set('VM.migrate_send', () => {
      state?.db.update('SR', sr, { physical_utilisation: Number(rec(prod(), 'SR', sr)['physical_size']) - 1024 })
    })
    try {
      const [first] = disks(lab(), vm)
      const r = await runOne(toProd(vm, { host, vdiMap: Object.fromEntries(disks(lab(), vm).map((d) => [d, sr])) }))
      expect(r.error?.code).toBe('MIRROR_FAILED')
      expect(r.error?.params).toEqual([first])
      expect(r.error?.message).toMatch(/the VM stayed where it was/)
      expect(r.error?.action).toMatch(/Check that the destination SR has room/)
      expect(rec(lab(), 'VM', vm)['name_label']).toBe('k8s-node-03')
    } finally {
      state?.db.update('SR', sr, { physical_utilisation: saved ?? 0 })
    }
  })

  it('LICENCE_RESTRICTION [Storage_motion] and [Xen_motion]', async () => {
    const vm = vmNamed(lab(), 'desktop-01')
    const state = poolStateOf(lab())
    const r0 = rec(lab(), 'pool', lab().ref)['restrictions'] as Record<string, SimValue>
    state?.db.update('pool', lab().ref, { restrictions: { ...r0, restrict_storage_xen_motion: 'true' } })
    try {
      const r = await runOne(toProd(vm))
      expect(r.error?.code).toBe('LICENCE_RESTRICTION')
      expect(r.error?.params).toEqual(['Storage_motion'])
      expect(r.error?.message).toMatch(/Storage XenMotion/)
      expect(r.error?.action).toMatch(/Apply a licence that includes it/)
      // a running VM moving to another server is XenMotion first
      state?.db.update('pool', lab().ref, { restrictions: { ...r0, restrict_xen_motion: 'true' } })
      const running = find(lab(), 'VM', (x) => x['power_state'] === 'Running' && x['is_control_domain'] !== true && x['is_a_template'] !== true && x['is_a_snapshot'] !== true)
      const r2 = await runOne(toProd(running))
      expect(r2.error?.code).toBe('LICENCE_RESTRICTION')
      expect(r2.error?.params).toEqual(['Xen_motion'])
      expect(r2.error?.message).toBe("The pool's licence does not include live migration (XenMotion).")
      expect(rec(lab(), 'VM', running)['power_state']).toBe('Running')
    } finally {
      state?.db.update('pool', lab().ref, { restrictions: r0 })
    }
  })
})

describe('bulk', () => {
  it('20 VMs from two pools (Legacy and Lab) to Production in one run: the limit per source and per destination pool holds, one refused VM does not stop the others', async () => {
    const legacy = P('Legacy')
    const lab = P('Lab')
    const prod = P('Production')
    const movable = (p: SimPoolHandle, skip: readonly string[] = []) =>
      [...(p.objects.get('VM') ?? [])]
        .filter(([, r]) => r['is_a_template'] !== true && r['is_control_domain'] !== true && r['is_a_snapshot'] !== true)
        .filter(([, r]) => (r['power_state'] === 'Halted' || r['power_state'] === 'Running') && !skip.includes(String(r['name_label'])))
        .filter(([ref]) => disks(p, ref).every((d) => rec(p, 'VDI', d)['cbt_enabled'] !== true))
        .map(([ref]) => ref)
    // Lab's VMs the TOO_MANY_STORAGE_MIGRATES test below moves stay where they are
    const fromLab = movable(lab, TOO_MANY_NAMES).slice(0, 4)
    const fromLegacy = movable(legacy).slice(0, 20 - fromLab.length)
    expect(fromLab).toHaveLength(4)
    expect(fromLegacy).toHaveLength(16)
    const refusedVm = fromLegacy[7] ?? ''
    const [refusedDisk] = disks(legacy, refusedVm)
    // 7.2 has no CBT: this VM is refused another way — its disk goes to an SR its server cannot see
    const hosts = prod.hosts.map((x) => x.ref)
    const itemOf = (p: SimPoolHandle, vm: string, i: number) => {
      const host = hosts[i % hosts.length] ?? ''
      // each disk to the chosen server's local SR (Production's default NFS SR has room for a few only)
      const vdiMap: Record<string, string> = Object.fromEntries(disks(p, vm).map((d) => [d, localSr(prod, host)]))
      if (vm === refusedVm && refusedDisk) vdiMap[refusedDisk] = localSr(prod, hosts[(i + 1) % hosts.length] ?? '')
      return { connectionId: id(p.name), vm, destConnectionId: id('Production'), host, vdiMap, vifMap: {} }
    }
    // the two pools' VMs interleaved at the head of the queue, as a selection across the tree gives them
    const items = fromLegacy.map((vm, i) => itemOf(legacy, vm, i))
    fromLab.forEach((vm, i) => items.splice(i * 2 + 1, 0, itemOf(lab, vm, i + 1)))
    const from = states.length
    const results = await call('migrate.run', { items, concurrency: { perSource: 2, perDestination: 3 } })
    expect(results).toHaveLength(20)
    const failed = results.filter((r) => !r.ok)
    expect(failed.map((r) => [r.ref, r.error?.code])).toEqual([[refusedVm, 'VM_REQUIRES_SR']])
    expect(results.filter((r) => r.ok)).toHaveLength(19)
    expect(new Set(results.filter((r) => r.ok).map((r) => r.connectionId))).toEqual(new Set([id('Legacy'), id('Lab')]))
    // each VM ran with its own source pool's session: it left its own pool
    for (const r of results.filter((x) => x.ok)) expect((r.connectionId === id('Lab') ? lab : legacy).objects.get('VM')?.has(r.ref)).toBe(false)
    // never more than 2 running from one pool, never more than 3 into Production — and both limits were reached
    const running = new Map<string, EventPayload<'migrate.state'>>()
    const most = { [id('Legacy')]: 0, [id('Lab')]: 0, into: 0 }
    for (const s of states.slice(from)) {
      if (s.state === 'running') running.set(s.actionId, s)
      else running.delete(s.actionId)
      for (const src of [id('Legacy'), id('Lab')]) most[src] = Math.max(most[src] ?? 0, [...running.values()].filter((x) => x.connectionId === src).length)
      most.into = Math.max(most.into, [...running.values()].filter((x) => x.destConnectionId === id('Production')).length)
    }
    expect(most[id('Legacy')]).toBeLessThanOrEqual(2)
    expect(most[id('Lab')]).toBeLessThanOrEqual(2)
    expect(most.into).toBe(3)
    expect(Math.max(most[id('Legacy')] ?? 0, most[id('Lab')] ?? 0)).toBe(2)
    for (const r of results.filter((x) => x.ok)) expect(prod.objects.get('VM')?.has(r.created ?? '')).toBe(true)
  }, 180_000)

  it('TOO_MANY_STORAGE_MIGRATES: with a limit above XAPI’s 3, the extra VMs wait and are tried again until all are moved', async () => {
    const lab = P('Lab')
    const prod = P('Production')
    const vms = TOO_MANY_NAMES.map((n) => {
      try {
        return vmNamed(lab, n)
      } catch {
        return ''
      }
    }).filter((v) => v && rec(lab, 'VM', v)['power_state'] !== 'Suspended')
    expect(vms.length).toBeGreaterThanOrEqual(4)
    const host = prod.hosts[0]?.ref ?? ''
    // long enough mirrors that the VMs overlap in XAPI
    const state = poolStateOf(lab)
    if (state) state.opDurationMs = 400
    const local = localSr(prod, host)
    const results = await call('migrate.run', { items: vms.map((vm) => ({ connectionId: id('Lab'), vm, destConnectionId: id('Production'), host, vdiMap: Object.fromEntries(disks(lab, vm).map((d) => [d, local])), vifMap: {} })), concurrency: { perSource: 6, perDestination: 6 } })
    if (state) state.opDurationMs = 40
    expect(results.map((r) => r.error?.code ?? 'ok')).toEqual(vms.map(() => 'ok'))
    expect(results.reduce((s, r) => s + r.retries, 0)).toBeGreaterThan(0)
    expect(states.some((s) => s.state === 'retrying' && /trying again/.test(s.detail ?? ''))).toBe(true)
  }, 120_000)
})

describe('TOO_MANY_STORAGE_MIGRATES once XenPilot stops waiting', () => {
  it('surfaces with its parameter ["3"] and what to do, for the VMs XAPI did not take; the others move', async () => {
    const legacy = P('Legacy')
    const prod = P('Production')
    // a XenPilot that does not wait for a free storage migration slot (its wait limit is over at once)
    const impatient = migrateModule({ history, retryMs: 100, waitMaxMs: 0 })({ pools: h.manager, broadcast: () => {}, log: () => {} })
    const run = impatient.handlers['migrate.run'] as (a: HandlerArgs<'migrate.run'>, ctx: never) => Promise<MigrationResult[]>
    const vms = [...(legacy.objects.get('VM') ?? [])]
      .filter(([, r]) => r['is_a_template'] !== true && r['is_control_domain'] !== true && r['is_a_snapshot'] !== true && r['power_state'] === 'Halted')
      .map(([ref]) => ref)
      .slice(0, 5)
    expect(vms).toHaveLength(5)
    const host = prod.hosts[2]?.ref ?? ''
    const state = poolStateOf(legacy)
    // long enough mirrors that all five overlap in XAPI
    if (state) state.opDurationMs = 600
    try {
      const items = vms.map((vm) => ({ connectionId: id('Legacy'), vm, destConnectionId: id('Production'), host, vdiMap: Object.fromEntries(disks(legacy, vm).map((d) => [d, localSr(prod, host)])), vifMap: {} }))
      const results = await run(methods['migrate.run'].args.parse({ items, concurrency: { perSource: 5, perDestination: 5 } }), undefined as never)
      const refused = results.filter((r) => !r.ok)
      expect(results.filter((r) => r.ok)).toHaveLength(3)
      expect(refused).toHaveLength(2)
      for (const r of refused) {
        expect(r.error?.code).toBe('TOO_MANY_STORAGE_MIGRATES')
        expect(r.error?.params).toEqual(['3'])
        expect(r.error?.message).toBe('The pool is already running 3 storage migrations at once.')
        expect(r.error?.action).toMatch(/wait for one to finish/)
        expect(legacy.objects.get('VM')?.has(r.ref)).toBe(true)
      }
    } finally {
      if (state) state.opDurationMs = 40
    }
  }, 120_000)
})

describe('VDI_CBT_ENABLED answered', () => {
  it('migrate.disableCbt turns CBT off on the VM’s own disks (one history entry) so the migration goes through; a disk of another VM is refused before XAPI is asked', async () => {
    const lab = P('Lab')
    const vm = find(lab, 'VM', (r) => r['is_a_template'] !== true && r['is_a_snapshot'] !== true && r['is_control_domain'] !== true && r['power_state'] === 'Halted' && refs(r['VBDs']).some((b) => rec(lab, 'VBD', b)['type'] === 'Disk'))
    const other = find(lab, 'VM', (r) => r['is_a_template'] !== true && r['is_a_snapshot'] !== true && r['is_control_domain'] !== true && r['uuid'] !== rec(lab, 'VM', vm)['uuid'] && refs(r['VBDs']).some((b) => rec(lab, 'VBD', b)['type'] === 'Disk'))
    const [disk] = disks(lab, vm)
    const [foreign] = disks(lab, other)
    await lab.call('VDI.enable_cbt', [disk ?? ''])
    await lab.call('VDI.enable_cbt', [foreign ?? ''])
    await waitFor('CBT seen', () => h.manager.graph(id('Lab'))?.get('VDI', disk ?? '')?.['cbt_enabled'] === true || undefined)
    await expect(call('migrate.disableCbt', { connectionId: id('Lab'), vm, vdis: [disk, foreign] })).rejects.toThrow(/is not a disk of/)
    expect(rec(lab, 'VDI', foreign ?? '')['cbt_enabled']).toBe(true)
    const r = await call('migrate.disableCbt', { connectionId: id('Lab'), vm, vdis: [disk] })
    expect(r.ok).toBe(true)
    expect(rec(lab, 'VDI', disk ?? '')['cbt_enabled']).toBe(false)
    expect(history.list({ ref: vm }).filter((e) => e.action === 'Disable changed block tracking')).toHaveLength(1)
    await lab.call('VDI.disable_cbt', [foreign ?? ''])
  })
})
