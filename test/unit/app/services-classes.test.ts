/**
 * Classes a window never gets (shared/model/slim.ts, issue 2): main/services leaves the classes no
 * renderer code reads out of every pool diff it sends to a window (live diffs and graphs of a
 * connected pool); a graph a window got from the offline cache (raw pieces, which the cache's SQL
 * already stripped of those and of the classes only a connected pool needs) is sent whole again
 * when that pool connects; and the renderer's model drops the unused classes if they still come.
 */
import { describe, expect, it } from 'vitest'
import type { ObjectUpsert, PoolDiff } from '../../../shared/model/diff'
import { OFFLINE_UNUSED_CLASSES, RENDERER_UNUSED_CLASSES, RENDERER_UNUSED_FIELDS } from '../../../shared/model/slim'
import { createServices, type EventSink } from '../../../main/services'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { memorySettingsStore } from '../../../main/services/settings'
import { StreamPools } from '../../integration/contract/stream-pools'
import { ObjectGraph, PoolObjects } from '../../../renderer/src/model/objects'
import { forWindow } from '../../../shared/model/slim'
import { hostSections, networkSections, srSections, vmSections } from '../../../renderer/src/model/details'
import { deletePlan } from '../../../renderer/src/model/delete-plan'
import { diskChoices, isoLibraries, srChoices, srDisks, storageView, vmDrives } from '../../../renderer/src/model/storage'
import { buildSnapshotTree } from '../../../renderer/src/model/snapshot-tree'
import * as storageRules from '../../../shared/operations/storage'
import { hotplugReason, vifRows } from '../../../shared/operations/network'
import { buildFleet } from '../../sim/fleet'
import { collectAlerts } from '../../../renderer/src/model/alerts'
import { migrateView } from '../../../renderer/src/model/migrate'
import { vmDisks } from '../../../shared/operations/migrate'

/** a small pool with one object of every class a window reads, and of every class it is not sent */
function fullGraph(id: string, seq: number): PoolDiff {
  const upserts: ObjectUpsert[] = [
    { cls: 'pool', ref: `OpaqueRef:${id}-pool`, record: { uuid: `${id}-pool`, name_label: id } },
    { cls: 'VM', ref: `OpaqueRef:${id}-vm`, record: { uuid: `${id}-vm`, name_label: 'web-01', power_state: 'Running', VBDs: [`OpaqueRef:${id}-VBD`], VIFs: [`OpaqueRef:${id}-VIF`] } },
  ]
  for (const cls of [...RENDERER_UNUSED_CLASSES, ...OFFLINE_UNUSED_CLASSES]) upserts.push({ cls, ref: `OpaqueRef:${id}-${cls}`, record: { uuid: `${id}-${cls}` } })
  return { connectionId: id, seq, reset: true, upserts, removes: [] }
}

async function setup() {
  const pools = new StreamPools()
  const services = createServices({
    pools,
    settings: memorySettingsStore(),
    keychain: memoryKeychainStatus(),
    app: { name: 'XenPilot', version: 't', mode: 'browser', versions: {} },
    log: () => undefined,
  })
  const diffs: PoolDiff[] = []
  const emit: EventSink = (event, payload) => {
    if (event === 'pool.diff') diffs.push(payload as PoolDiff)
  }
  const session = services.openSession(emit)
  const a = await pools.add({ address: 'a.example', username: 'root', password: '', rememberPassword: false })
  return { pools, session, diffs, a: a.id }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r))
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await turn()
  if (!cond()) throw new Error('condition not reached')
}
const classesOf = (ds: readonly PoolDiff[]): Set<string> => new Set(ds.flatMap((d) => [...d.upserts.map((u) => u.cls), ...d.removes.map((r) => r.cls)]))

describe('services: classes a window never reads', () => {
  it('leaves the unused classes out of a connected pool’s graph and live diffs, and keeps the ones it reads when connected', async () => {
    const { pools, session, diffs, a } = await setup()
    pools.graphsById.set(a, fullGraph(a, 4))
    await session.call('objects.subscribe', {})
    await until(() => diffs.length === 1)
    const live: PoolDiff = {
      connectionId: a,
      seq: 5,
      reset: false,
      upserts: [
        { cls: 'VIF', ref: `OpaqueRef:${a}-VIF2`, record: { uuid: 'vif2' } },
        { cls: 'VM', ref: `OpaqueRef:${a}-vm`, record: { uuid: `${a}-vm`, name_label: 'renamed' } },
        { cls: 'VBD', ref: `OpaqueRef:${a}-VBD2`, record: { uuid: 'vbd2' } },
      ],
      removes: [
        { cls: 'console', ref: `OpaqueRef:${a}-console` },
        { cls: 'VDI', ref: `OpaqueRef:${a}-VDI` },
      ],
    }
    pools.emit(live)
    await until(() => diffs.length === 2)
    const sent = classesOf(diffs)
    for (const cls of RENDERER_UNUSED_CLASSES) expect(sent.has(cls), cls).toBe(false)
    // a connected pool's window gets what the delete plan reads
    for (const cls of OFFLINE_UNUSED_CLASSES) expect(sent.has(cls), cls).toBe(true)
    expect(diffs[1]?.upserts.map((u) => u.cls)).toEqual(['VM', 'VBD'])
    expect(diffs[1]?.removes.map((r) => r.cls)).toEqual(['VDI'])
    // a diff with nothing to leave out goes as it is (no copy)
    const plain: PoolDiff = { connectionId: a, seq: 6, reset: false, upserts: [{ cls: 'VM', ref: `OpaqueRef:${a}-vm`, record: { uuid: `${a}-vm`, name_label: 'again' } }], removes: [] }
    pools.emit(plain)
    await until(() => diffs.length === 3)
    expect(diffs[2]).toBe(plain)
  })

  it('leaves the fields no renderer code reads out of a connected pool’s records, main’s own records staying whole', async () => {
    const { pools, session, diffs, a } = await setup()
    const unused = RENDERER_UNUSED_FIELDS['VM'] ?? []
    const full = (name: string): Record<string, unknown> => ({ uuid: `${a}-vm`, name_label: name, power_state: 'Running', ...Object.fromEntries(unused.map((f) => [f, `${f} of ${name}`])) })
    const graph = fullGraph(a, 4)
    const vm = graph.upserts.find((u) => u.cls === 'VM')
    if (!vm) throw new Error('no VM')
    vm.record = full('web-01')
    pools.graphsById.set(a, graph)
    await session.call('objects.subscribe', {})
    await until(() => diffs.length === 1)
    const live: PoolDiff = { connectionId: a, seq: 5, reset: false, upserts: [{ cls: 'VM', ref: vm.ref, record: full('renamed') }], removes: [] }
    pools.emit(live)
    await until(() => diffs.length === 2)
    const sentVms = diffs.flatMap((d) => d.upserts.filter((u) => u.cls === 'VM').map((u) => JSON.parse(JSON.stringify(u.record)) as Record<string, unknown>))
    expect(sentVms).toEqual([
      { uuid: `${a}-vm`, name_label: 'web-01', power_state: 'Running' },
      { uuid: `${a}-vm`, name_label: 'renamed', power_state: 'Running' },
    ])
    // what main holds (its graph's records, the live diff the cache writes) keeps every field
    expect(vm.record).toEqual(full('web-01'))
    expect(live.upserts[0]?.record).toEqual(full('renamed'))
  })

  it('sends a graph that came from the offline cache whole again when the pool connects', async () => {
    const { pools, session, diffs, a } = await setup()
    pools.graphsById.set(a, fullGraph(a, 4))
    pools.offline.add(a)
    await session.call('objects.subscribe', {})
    await until(() => diffs.length === 1)
    const offline = classesOf(diffs)
    for (const cls of [...RENDERER_UNUSED_CLASSES, ...OFFLINE_UNUSED_CLASSES]) expect(offline.has(cls), cls).toBe(false)
    expect(offline.has('VM')).toBe(true)

    pools.connected(a)
    await until(() => diffs.length === 2)
    expect(diffs[1]?.reset).toBe(true)
    const g = new ObjectGraph()
    for (const d of diffs) g.apply(d)
    const pool = g.pool(a)
    expect(pool?.get('VBD', `OpaqueRef:${a}-VBD`)).toBeDefined()
    expect(pool?.get('VDI', `OpaqueRef:${a}-VDI`)).toBeDefined()
    expect(pool?.get('VIF', `OpaqueRef:${a}-VIF`)).toBeUndefined()
    // connected again later (after a drop): the window already holds the whole graph, nothing is re-sent
    pools.connected(a)
    for (let i = 0; i < 20; i++) await turn()
    expect(diffs).toHaveLength(2)
  })

  it('the renderer model drops unused classes that still arrive, and keeps every other', () => {
    const g = new ObjectGraph()
    g.apply(fullGraph('c1', 1))
    const pool = g.pool('c1')
    for (const cls of RENDERER_UNUSED_CLASSES) expect(pool?.tables.has(cls), cls).toBe(false)
    for (const cls of OFFLINE_UNUSED_CLASSES) expect(pool?.tables.get(cls)?.size, cls).toBe(1)
    expect(pool?.get('VM', 'OpaqueRef:c1-vm')?.name_label).toBe('web-01')
    expect(pool?.byUuid.has('c1-VIF')).toBe(false)
  })

  it('every field the renderer reads still arrives: its details, drives, disks, delete plan, disks to migrate and storage and NIC rules say the same of a pool sent for a window as of the whole pool', () => {
    // the demo fleet's pools (running and halted VMs, guest tools or none, CDs, ISOs, shared and local SRs, snapshots), records as XAPI has them
    const fleet = buildFleet('demo', { opDurationMs: 0 })
    let compared = 0
    for (const spec of fleet.pools) {
      const upserts: ObjectUpsert[] = []
      for (const [cls, table] of spec.objects) for (const [ref, rec] of table) upserts.push({ cls, ref, record: rec })
      // the whole pool, every field of every record as main holds it: indexed as the renderer does, then each record put back whole
      const whole = new PoolObjects(spec.name, new Set(RENDERER_UNUSED_CLASSES))
      const copy = (r: Record<string, unknown>): Record<string, unknown> => JSON.parse(JSON.stringify(r)) as Record<string, unknown>
      for (const u of upserts) {
        whole.upsert(u.cls, u.ref, copy(u.record))
        whole.table(u.cls).set(u.ref, copy(u.record))
      }
      // the pool as a window gets it (forWindow) and the renderer keeps it, with the classes views scope in (VIF for the NIC rules)
      const g = new ObjectGraph()
      g.keep(spec.name, ['VIF'])
      g.apply(JSON.parse(JSON.stringify(forWindow({ connectionId: spec.name, seq: 1, reset: true, upserts, removes: [] }, new Set(['VIF'])))) as PoolDiff)
      const sent = g.pool(spec.name)
      if (!sent) throw new Error('pool not kept')
      const both = <T>(what: string, f: (p: PoolObjects) => T): void => {
        expect(f(sent), what).toEqual(f(whole))
        compared++
      }
      const now = Date.parse('2026-12-08T12:00:00Z')
      const srs = [...whole.all('SR').keys()]
      const snapshotsOf = new Map([sent, whole].map((p) => [p, new Map([...p.all('VM')].filter(([, r]) => r.is_a_snapshot === true))]))
      let i = 0
      for (const ref of whole.all('VM').keys()) {
        // the choices of a disk to attach list the pool's disks: every 8th VM (they are the same lists; the test stays fast)
        if (i++ % 8 === 0) {
          both(`VM ${ref} disk choices`, (p) => [diskChoices(p, ref), isoLibraries(p, ref), srChoices(p, ref), storageRules.attachableDisks(storageView(p), ref, srs)])
        }
        both(`VM ${ref} details`, (p) => vmSections(p, p.get('VM', ref) ?? {}, now))
        both(`VM ${ref} drives`, (p) => vmDrives(p, ref))
        both(`VM ${ref} delete plan and disks to migrate`, (p) => [deletePlan(p, ref, 'vm'), vmDisks(migrateView(p), ref)])
        both(`VM ${ref} snapshots`, (p) => buildSnapshotTree(ref, p.get('VM', ref) ?? {}, snapshotsOf.get(p) ?? new Map()))
        both(`VM ${ref} storage rules`, (p) => {
          const v = storageView(p)
          return [storageRules.canHotplug(v, p.get('VM', ref) ?? {}), storageRules.canAddDisk(v, ref), storageRules.canAddCdDrive(v, ref)]
        })
        both(`VM ${ref} NICs`, (p) => [hotplugReason(p, ref), vifRows(p, ref)])
      }
      for (const ref of whole.all('VBD').keys()) {
        both(`VBD ${ref} rules`, (p) => {
          const v = storageView(p)
          return [storageRules.canDetach(v, ref), storageRules.canDeleteDisk(v, ref), storageRules.canInsert(v, ref), storageRules.canEject(v, ref)]
        })
      }
      for (const ref of whole.all('VDI').keys()) {
        both(`VDI ${ref} rules`, (p) => {
          const v = storageView(p)
          return [storageRules.canRenameDisk(v, ref), storageRules.canResize(v, ref), storageRules.canMove(v, ref), storageRules.moveTargets(v, ref, srs), storageRules.vmsUsing(v, ref)]
        })
      }
      for (const ref of srs) {
        both(`SR ${ref}`, (p) => {
          const v = storageView(p)
          return [srSections(p, p.get('SR', ref) ?? {}), srDisks(p, ref), storageRules.canScan(v, ref), storageRules.canRepair(v, ref), storageRules.removalPlan(v, ref, 'destroy'), storageRules.disksInUse(v, ref)]
        })
      }
      for (const ref of whole.all('host').keys()) both(`host ${ref}`, (p) => hostSections(p, ref, p.get('host', ref) ?? {}, now))
      for (const ref of whole.all('network').keys()) both(`network ${ref}`, (p) => networkSections(p, p.get('network', ref) ?? {}))
      // alerts name their object, found by its uuid (a message names a VM, host, SR, pool or VDI)
      const wholeGraph = new ObjectGraph()
      wholeGraph.pools.set(spec.name, whole)
      expect(collectAlerts(g).map((a) => a.object?.name ?? 'none')).toEqual(collectAlerts(wholeGraph).map((a) => a.object?.name ?? 'none'))
    }
    expect(compared).toBeGreaterThan(100)
  })

  it('every field a screen reads outside those (a wizard, a dialog) or that the demo fleet cannot tell apart arrives too', () => {
    // where each is read: take a field off here only when no renderer code reads it any more
    const read: Record<string, readonly string[]> = {
      // details (uptime, memory, vCPUs while running)
      VM_metrics: ['start_time', 'memory_actual', 'VCPUs_number'],
      // details (OS), tree and search (IPs), storage and NIC hot-plug rules
      VM_guest_metrics: ['os_version', 'networks', 'PV_drivers_version', 'PV_drivers_detected', 'can_use_hotplug_vbd', 'can_use_hotplug_vif'],
      // the drives tab, delete plan and storage rules
      VBD: ['VM', 'VDI', 'type', 'userdevice', 'device', 'bootable', 'mode', 'empty', 'currently_attached', 'unpluggable', 'allowed_operations', 'current_operations'],
      // New VM (an ISO's name: location), Migrate (cbt_enabled), disks tab, storage rules, search (tags, other_config), alerts (uuid)
      VDI: ['uuid', 'name_label', 'name_description', 'SR', 'VBDs', 'virtual_size', 'physical_utilisation', 'type', 'sharable', 'read_only', 'managed', 'missing', 'location', 'cbt_enabled', 'is_a_snapshot', 'snapshot_of', 'snapshots', 'tags', 'other_config', 'allowed_operations', 'current_operations'],
      // alerts and perf rows (uuid), console (consoles, domid), properties (order, affinity, VCPUs_params), snapshot tree (parent, snapshot_time, suspend_VDI), details
      VM: ['uuid', 'consoles', 'domid', 'order', 'affinity', 'VCPUs_params', 'parent', 'snapshot_time', 'suspend_VDI', 'ha_restart_priority', 'blocked_operations', 'memory_overhead', 'HVM_boot_policy', 'is_default_template'],
    }
    const upserts: ObjectUpsert[] = Object.entries(read).map(([cls, fields]) => ({
      cls,
      ref: `OpaqueRef:${cls}`,
      record: Object.fromEntries([...fields, ...(RENDERER_UNUSED_FIELDS[cls] ?? [])].map((f) => [f, `${cls}.${f}`])),
    }))
    const g = new ObjectGraph()
    g.apply(JSON.parse(JSON.stringify(forWindow({ connectionId: 'c1', seq: 1, reset: true, upserts, removes: [] }))) as PoolDiff)
    for (const [cls, fields] of Object.entries(read)) {
      const kept = g.pool('c1')?.tables.get(cls)?.get(`OpaqueRef:${cls}`) ?? {}
      expect(Object.keys(kept).filter((f) => kept[f] !== undefined).sort(), cls).toEqual([...fields].sort())
    }
  })
})
