/**
 * objects.scope / objects.unscope (shared/contract/objects.ts): a window asks for classes main does
 * not otherwise send it, per pool; main sends every current record of them as a class reset
 * (PoolDiff.scope), then their live changes, and graphs sent later carry them; unscope (counted)
 * sends an empty class reset and the changes stop. Another window's stream is untouched. Fed into
 * the renderer's model (ObjectGraph) as the window applies them.
 */
import { describe, expect, it } from 'vitest'
import type { ObjectUpsert, PoolDiff } from '../../../shared/model/diff'
import { createServices, PIECE_UPSERTS } from '../../../main/services'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { memorySettingsStore } from '../../../main/services/settings'
import { openWindow, StreamPools } from '../../integration/contract/stream-pools'

function graphOf(id: string, seq: number, vifs = 2): PoolDiff {
  const upserts: ObjectUpsert[] = [
    { cls: 'pool', ref: `OpaqueRef:${id}-pool`, record: { uuid: `${id}-pool`, name_label: id } },
    { cls: 'VM', ref: `OpaqueRef:${id}-vm`, record: { uuid: `${id}-vm`, name_label: 'web-01', power_state: 'Running' } },
    { cls: 'VBD', ref: `OpaqueRef:${id}-VBD`, record: { uuid: `${id}-vbd`, VM: `OpaqueRef:${id}-vm` } },
    { cls: 'Bond', ref: `OpaqueRef:${id}-Bond`, record: { uuid: `${id}-bond`, mode: 'active-backup' } },
  ]
  for (let i = 0; i < vifs; i++) upserts.push({ cls: 'VIF', ref: `OpaqueRef:${id}-VIF${i}`, record: { uuid: `${id}-vif${i}`, VM: `OpaqueRef:${id}-vm`, device: String(i) } })
  return { connectionId: id, seq, reset: true, upserts, removes: [] }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r))
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await turn()
  if (!cond()) throw new Error('condition not reached')
}

async function setup() {
  const pools = new StreamPools()
  const services = createServices({ pools, settings: memorySettingsStore(), keychain: memoryKeychainStatus(), app: { name: 'XenPilot', version: 't', mode: 'browser', versions: {} }, log: () => undefined })
  const a = (await pools.add({ address: 'a.example', username: 'root', password: '', rememberPassword: false })).id
  pools.graphsById.set(a, graphOf(a, 4))
  return { pools, services, a }
}

describe('objects.scope: classes a window asks for', () => {
  it('sends every record of a scoped class, then its changes; unscope drops them and the changes stop; another window is untouched', async () => {
    const { pools, services, a } = await setup()
    const w1 = openWindow(services, 4)
    const w2 = openWindow(services, 4)
    await w1.session.call('objects.subscribe', { window: 4 })
    await w2.session.call('objects.subscribe', { window: 4 })
    await until(() => w1.diffs.length === 1 && w2.diffs.length === 1)
    expect(w1.refs(a, 'VIF')).toEqual([])

    await w1.scope(a, ['VIF'])
    await until(() => w1.refs(a, 'VIF').length === 2)
    expect(w1.diffs.at(-1)?.scope).toEqual(['VIF'])
    expect(w1.refs(a, 'VIF')).toEqual([`OpaqueRef:${a}-VIF0`, `OpaqueRef:${a}-VIF1`])
    expect(w1.graph.pool(a)?.referencing('VIF', 'VM', `OpaqueRef:${a}-vm`).map(([, r]) => r.device)).toEqual(['0', '1'])

    pools.emit({ connectionId: a, seq: 5, reset: false, upserts: [{ cls: 'VIF', ref: `OpaqueRef:${a}-VIF2`, record: { uuid: 'vif2', VM: `OpaqueRef:${a}-vm`, device: '2' } }], removes: [{ cls: 'VIF', ref: `OpaqueRef:${a}-VIF0` }] })
    await until(() => w1.graph.pool(a)?.seq === 5 && w2.graph.pool(a)?.seq === 5)
    expect(w1.refs(a, 'VIF')).toEqual([`OpaqueRef:${a}-VIF1`, `OpaqueRef:${a}-VIF2`])
    expect(w1.graph.pool(a)?.referencing('VIF', 'VM', `OpaqueRef:${a}-vm`).map(([, r]) => r.device)).toEqual(['1', '2'])
    // the other window never got a VIF: not in its graph, not in any diff it was sent
    expect(w2.refs(a, 'VIF')).toEqual([])
    expect(w2.diffs.flatMap((d) => [...d.upserts, ...d.removes]).some((x) => x.cls === 'VIF')).toBe(false)

    const before = w1.diffs.length
    await w1.unscope(a, ['VIF'])
    await until(() => w1.diffs.length === before + 1)
    expect(w1.diffs.at(-1)).toMatchObject({ scope: ['VIF'], upserts: [] })
    expect(w1.refs(a, 'VIF')).toEqual([])
    pools.emit({ connectionId: a, seq: 6, reset: false, upserts: [{ cls: 'VIF', ref: `OpaqueRef:${a}-VIF3`, record: { uuid: 'vif3' } }, { cls: 'VM', ref: `OpaqueRef:${a}-vm`, record: { uuid: `${a}-vm`, name_label: 'renamed' } }], removes: [] })
    await until(() => w1.graph.pool(a)?.seq === 6)
    expect(w1.diffs.at(-1)?.upserts.map((u) => u.cls)).toEqual(['VM'])
    expect(w1.refs(a, 'VIF')).toEqual([])
  })

  it('counts: a class stays while any of its scopes is not undone', async () => {
    const { pools, services, a } = await setup()
    const w = openWindow(services)
    await w.session.call('objects.subscribe', {})
    await w.scope(a, ['VIF'])
    await w.scope(a, ['VIF', 'Bond'])
    await until(() => w.refs(a, 'Bond').length === 1 && w.refs(a, 'VIF').length === 2)
    // the second scope of VIF read nothing again
    expect(pools.scopedReads.map((r) => r.classes)).toEqual([['VIF'], ['Bond']])
    await w.session.call('objects.unscope', { connectionId: a, classes: ['VIF', 'Bond'] })
    w.graph.unkeep(a, ['Bond'])
    await until(() => w.refs(a, 'Bond').length === 0)
    pools.emit({ connectionId: a, seq: 5, reset: false, upserts: [{ cls: 'VIF', ref: `OpaqueRef:${a}-VIF9`, record: { uuid: 'vif9' } }], removes: [] })
    await until(() => w.graph.pool(a)?.seq === 5)
    expect(w.refs(a, 'VIF')).toContain(`OpaqueRef:${a}-VIF9`)
    // an unscope without a scope changes nothing
    await w.session.call('objects.unscope', { connectionId: a, classes: ['Bond'] })
    expect(w.refs(a, 'VIF')).toHaveLength(3)
  })

  it('keeps scoped classes through a pool reset (in pieces) and through a re-subscribe', async () => {
    const { pools, services, a } = await setup()
    const w = openWindow(services, 2)
    await w.scope(a, ['VIF']) // before subscribing: the graph itself carries them
    await w.session.call('objects.subscribe', { window: 2 })
    await until(() => w.refs(a, 'VIF').length === 2)
    expect(pools.scopedReads).toEqual([])

    const big = graphOf(a, 9, PIECE_UPSERTS * 2)
    pools.graphsById.set(a, big)
    pools.emit(big)
    await until(() => w.graph.pool(a)?.seq === 9 && !w.graph.staging(a))
    expect(w.refs(a, 'VIF')).toHaveLength(PIECE_UPSERTS * 2)
    expect(w.refs(a, 'Bond')).toEqual([])

    pools.graphsById.set(a, graphOf(a, 10, 3))
    await w.session.call('objects.subscribe', { window: 2 })
    await until(() => w.graph.pool(a)?.seq === 10)
    expect(w.refs(a, 'VIF')).toHaveLength(3)
  })

  it('an offline pool: the scoped classes come from the cache (a class only a connected pool sends too) and go again with unscope', async () => {
    const { pools, services, a } = await setup()
    pools.offline.add(a)
    const w = openWindow(services)
    await w.session.call('objects.subscribe', {})
    await until(() => w.diffs.length === 1)
    expect(w.refs(a, 'VBD')).toEqual([])
    await w.scope(a, ['VBD'])
    await until(() => w.refs(a, 'VBD').length === 1)
    expect(pools.scopedReads).toEqual([{ id: a, classes: ['VBD'] }])
    await w.unscope(a, ['VBD'])
    await until(() => w.refs(a, 'VBD').length === 0)

    // connected: the whole graph comes again and VBDs are part of it without any scope; unscoping one then drops nothing
    await w.scope(a, ['VBD'])
    pools.connected(a)
    await until(() => w.diffs.some((d) => d.reset && 'upserts' in d && d.upserts.some((u) => u.cls === 'Bond') === false && d.upserts.some((u) => u.cls === 'VBD')) && w.graph.pool(a)?.tables.get('VM') !== undefined)
    const n = w.diffs.length
    await w.unscope(a, ['VBD'])
    await turn()
    await turn()
    expect(w.diffs.length).toBe(n)
    expect(w.refs(a, 'VBD')).toEqual([`OpaqueRef:${a}-VBD`])
  })

  it('refuses classes a window gets anyway, and a pool that does not exist', async () => {
    const { services } = await setup()
    const w = openWindow(services)
    await expect(w.session.call('objects.scope', { connectionId: 'conn-1', classes: ['VM'] })).rejects.toMatchObject({ code: 'invalid-args' })
    await expect(w.session.call('objects.scope', { connectionId: 'nope', classes: ['VIF'] })).rejects.toMatchObject({ code: 'not-found' })
  })
})
