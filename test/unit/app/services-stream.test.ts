/**
 * main/services sends pool graphs to a window in pieces, in order, with flow control: a large
 * reset is split (PoolDiff.part/more), graphs for a new subscriber are pulled from the pools
 * layer's graphPieces() as the window's outbox drains, live diffs follow the pieces they came
 * after, and with a `window` no more than that many diffs are unacknowledged.
 */
import { describe, expect, it } from 'vitest'
import { resetPieces, type PoolDiff } from '../../../shared/model/diff'
import { createServices, PIECE_UPSERTS, type EventSink } from '../../../main/services'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { CatchUp, UnreadBudget } from '../../../main/services/outbox'
import { memorySettingsStore } from '../../../main/services/settings'
import { FakePools } from '../../integration/contract/fake-pools'
import { ObjectGraph } from '../../../renderer/src/model/objects'

function bigGraph(id: string, n: number, seq: number, tag = 'a'): PoolDiff {
  const upserts = [{ cls: 'pool', ref: `OpaqueRef:${id}-pool`, record: { uuid: `${id}-pool`, name_label: id } }]
  for (let i = 0; i < n; i++) upserts.push({ cls: 'VM', ref: `OpaqueRef:${id}-vm${i}`, record: { uuid: `${id}-vm${i}`, name_label: `${tag}-${i}` } })
  return { connectionId: id, seq, reset: true, upserts, removes: [] }
}

class StreamingPools extends FakePools {
  readonly graphsById = new Map<string, PoolDiff>()
  pulls = 0
  override snapshot(id: string): PoolDiff | undefined {
    return this.graphsById.get(id)
  }
  *stream(id: string, max: number): Generator<PoolDiff> {
    const g = this.graphsById.get(id)
    if (!g) return
    for (const p of resetPieces(g, max)) {
      this.pulls++
      yield p
    }
  }
  override graphPieces(id: string, max: number): Generator<PoolDiff> {
    return this.stream(id, max)
  }
  emit(d: PoolDiff): void {
    ;(this as unknown as { emitDiff(d: PoolDiff): void }).emitDiff(d)
  }
}

function servicesOf(pools: StreamingPools, catchUp?: CatchUp) {
  return createServices({
    pools,
    ...(catchUp ? { catchUp } : {}),
    settings: memorySettingsStore(),
    keychain: memoryKeychainStatus(),
    app: { name: 'XenPilot', version: 't', mode: 'browser', versions: {} },
    log: () => undefined,
  })
}

async function setup() {
  const pools = new StreamingPools()
  const services = servicesOf(pools)
  const diffs: PoolDiff[] = []
  const emit: EventSink = (event, payload) => {
    if (event === 'pool.diff') diffs.push(payload as PoolDiff)
  }
  const session = services.openSession(emit)
  const a = await pools.add({ address: 'a.example', username: 'root', password: '', rememberPassword: false })
  const b = await pools.add({ address: 'b.example', username: 'root', password: '', rememberPassword: false })
  return { pools, services, session, diffs, a: a.id, b: b.id }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r))
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await turn()
  if (!cond()) throw new Error('condition not reached')
}

describe('services: graphs to a window in pieces', () => {
  it('streams each pool from graphPieces after the subscribe call, in pieces, and a live diff after them', async () => {
    const { pools, session, diffs, a, b } = await setup()
    pools.graphsById.set(a, bigGraph(a, PIECE_UPSERTS * 2 + 10, 5))
    pools.graphsById.set(b, bigGraph(b, 3, 2))
    await session.call('objects.subscribe', {})
    // nothing is produced inside the call: the outbox pulls pieces on later turns
    expect(pools.pulls).toBe(0)
    pools.emit({ connectionId: a, seq: 6, reset: false, upserts: [{ cls: 'VM', ref: `OpaqueRef:${a}-vm0`, record: { uuid: `${a}-vm0`, name_label: 'renamed' } }], removes: [] })
    await until(() => diffs.length === 5)
    expect(diffs.map((d) => [d.connectionId, d.part, d.more ?? false, d.reset])).toEqual([
      [a, 0, true, true],
      [a, 1, true, true],
      [a, 2, false, true],
      [b, undefined, false, true],
      [a, undefined, false, false],
    ])
    const g = new ObjectGraph()
    for (const d of diffs) g.apply(d)
    expect(g.pool(a)?.all('VM').size).toBe(PIECE_UPSERTS * 2 + 10)
    expect(g.pool(a)?.get('VM', `OpaqueRef:${a}-vm0`)?.name_label).toBe('renamed')
    expect(g.pool(b)?.all('VM').size).toBe(3)
  })

  it('splits a large live reset into pieces', async () => {
    const { pools, session, diffs, a } = await setup()
    await session.call('objects.subscribe', {})
    await until(() => diffs.length === 0 && pools.pulls === 0)
    await turn()
    diffs.length = 0
    pools.emit(bigGraph(a, PIECE_UPSERTS + 1, 9))
    await until(() => diffs.length === 2)
    expect(diffs.map((d) => [d.part, d.more ?? false])).toEqual([
      [0, true],
      [1, false],
    ])
  })

  it('with a window, keeps at most that many diffs unacknowledged', async () => {
    const { pools, session, diffs, a } = await setup()
    pools.graphsById.set(a, bigGraph(a, PIECE_UPSERTS * 5 - 1, 3))
    await session.call('objects.subscribe', { window: 2 })
    await until(() => diffs.length === 2)
    for (let i = 0; i < 20; i++) await turn()
    expect(diffs).toHaveLength(2)
    // a live diff waits behind the pieces, also under the window
    pools.emit({ connectionId: a, seq: 4, reset: false, upserts: [], removes: [] })
    expect(diffs).toHaveLength(2)
    await session.call('objects.ack', { count: 2 })
    await until(() => diffs.length === 4)
    await session.call('objects.ack', { count: 2 })
    await until(() => diffs.length === 6)
    expect(diffs.map((d) => d.part)).toEqual([0, 1, 2, 3, 4, undefined])
    expect(diffs.at(-1)?.reset).toBe(false)
  })

  it('a new subscribe mid-stream starts every graph again from part 0 (the old pieces are not continued)', async () => {
    const { pools, session, diffs, a } = await setup()
    pools.graphsById.set(a, bigGraph(a, PIECE_UPSERTS * 4, 3, 'old'))
    await session.call('objects.subscribe', { window: 1 })
    await until(() => diffs.length === 1)
    pools.graphsById.set(a, bigGraph(a, PIECE_UPSERTS * 2, 8, 'new'))
    await session.call('objects.subscribe', { window: 1 })
    for (let i = 0; i < 10; i++) {
      await session.call('objects.ack', { count: 1 })
      await turn()
      await turn()
    }
    await until(() => diffs.length === 4)
    expect(diffs.map((d) => [d.seq, d.part])).toEqual([
      [3, 0],
      [8, 0],
      [8, 1],
      [8, 2],
    ])
    const g = new ObjectGraph()
    for (const d of diffs) g.apply(d)
    expect(g.pool(a)?.all('VM').size).toBe(PIECE_UPSERTS * 2)
    expect([...(g.pool(a)?.all('VM').values() ?? [])].every((r) => String(r.name_label).startsWith('new-'))).toBe(true)
  })
})

describe('services: a live diff queued for a door that takes JSON text', () => {
  it('is encoded once: the text the budget counted is the text the door sends, with the window’s classes', async () => {
    const pools = new StreamingPools()
    const services = servicesOf(pools)
    const a = (await pools.add({ address: 'a.example', username: 'root', password: '', rememberPassword: false })).id
    pools.graphsById.set(a, bigGraph(a, 2, 1))
    const sent: { envelope: Omit<PoolDiff, 'upserts'>; upsertsJson: string }[] = []
    const emitted: PoolDiff[] = []
    const budget = new UnreadBudget(64 * 1024 * 1024)
    const session = services.openSession((event, payload) => (event === 'pool.diff' ? emitted.push(payload as PoolDiff) : undefined), {
      emitRawDiff: (envelope, upsertsJson) => sent.push({ envelope, upsertsJson }),
      unread: { sink: { backlog: () => 0, disconnect: () => undefined }, budget },
    })
    await session.call('objects.subscribe', { window: 1 })
    await until(() => emitted.length === 1)
    // the window is full (the graph is unacknowledged): live diffs queue, each record counting its encodings
    let encodings = 0
    const counted = { toJSON: () => (encodings++, 'counted') }
    const live = (seq: number): PoolDiff => ({
      connectionId: a,
      seq,
      reset: false,
      upserts: [
        { cls: 'VM', ref: `OpaqueRef:${a}-vm0`, record: { uuid: `${a}-vm0`, name_label: `seq ${seq}`, probe: counted } },
        // a class no window is sent unless it asks (shared/model/slim.ts)
        { cls: 'VIF', ref: 'OpaqueRef:vif', record: { uuid: 'vif' } },
      ],
      removes: [],
    })
    pools.emit(live(2))
    pools.emit(live(3))
    expect(encodings).toBe(2)
    const queued = budget.total()
    expect(queued).toBeGreaterThan(0)
    await session.call('objects.ack', { count: 1 })
    await until(() => sent.length === 1)
    await session.call('objects.ack', { count: 1 })
    await until(() => sent.length === 2)
    expect(encodings).toBe(2)
    expect(budget.total()).toBe(0)
    expect(sent.reduce((n, s) => n + s.upsertsJson.length + JSON.stringify(s.envelope).length, 0)).toBe(queued)
    const upserts = sent.map((s) => JSON.parse(s.upsertsJson) as PoolDiff['upserts'])
    expect(sent.map((s) => s.envelope.seq)).toEqual([2, 3])
    expect(upserts.map((u) => u.map((x) => [x.cls, x.record.name_label, x.record.probe]))).toEqual([[['VM', 'seq 2', 'counted']], [['VM', 'seq 3', 'counted']]])
    session.close()
    await services.close()
  })
})

describe('services: main’s background work waits while a window catches up (CatchUp)', () => {
  /** one pool, one window subscribed with `window`, nothing sent yet */
  async function windowOf(catchUp: CatchUp, window: number) {
    const pools = new StreamingPools()
    const services = servicesOf(pools, catchUp)
    const a = (await pools.add({ address: 'a.example', username: 'root', password: '', rememberPassword: false })).id
    const diffs: PoolDiff[] = []
    const session = services.openSession((event, payload) => (event === 'pool.diff' ? diffs.push(payload as PoolDiff) : undefined))
    // a window that subscribed to nothing yet holds nothing back
    expect(catchUp.waiting()).toBe(false)
    await session.call('objects.subscribe', { window })
    await until(() => !catchUp.waiting())
    /** a live diff of the pool (one batch of changes) */
    const live = (seq: number): void => pools.emit({ connectionId: a, seq, reset: false, upserts: [], removes: [] })
    return { pools, services, a, diffs, session, live }
  }

  it('says a window is behind while pieces of a reset wait or are unacknowledged, not once it applied them', async () => {
    const catchUp = new CatchUp()
    const { pools, services, a, diffs, session, live } = await windowOf(catchUp, 2)
    // a pool's first sync: its reset arrives, 3 pieces, the window takes 2 at a time
    pools.emit(bigGraph(a, PIECE_UPSERTS * 3 - 1, 2))
    await until(() => diffs.length === 2)
    expect(catchUp.waiting()).toBe(true)
    await session.call('objects.ack', { count: 2 })
    await until(() => diffs.length === 3)
    // all sent, the last not applied yet
    expect(catchUp.waiting()).toBe(true)
    await session.call('objects.ack', { count: 1 })
    expect(catchUp.waiting()).toBe(false)
    // a closed window holds nothing back
    live(3)
    expect(catchUp.waiting()).toBe(true)
    session.close()
    expect(catchUp.waiting()).toBe(false)
    await services.close()
  })

  it('holds work back at most CATCH_UP_MAX_WAIT_MS for a window that stays behind, again once it caught up', async () => {
    let clock = 0
    const catchUp = new CatchUp(20_000, () => clock)
    const { services, session, live } = await windowOf(catchUp, 1)
    // what background work is told at each moment
    const told: boolean[] = []
    const ask = (): number => told.push(catchUp.waiting())
    // a page that stopped acknowledging (its credit comes back after 2 s: it is sent the next and stays behind)
    live(2)
    ask()
    clock += 19_000
    ask()
    clock += 1_000
    ask()
    // it catches up: the next time it is behind holds work back again
    await session.call('objects.ack', { count: 1 })
    ask()
    live(3)
    ask()
    expect(told).toEqual([true, true, false, false, true])
    session.close()
    await services.close()
  })
})
