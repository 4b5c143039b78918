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
import { ObjectGraph } from '../../../renderer/src/model/objects'

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
})
