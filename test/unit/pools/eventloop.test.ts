import { describe, expect, it } from 'vitest'
import { EventLoop, type EventSession } from '../../../main/pools/eventloop'
import { ObjectGraph } from '../../../main/pools/graph'
import { XapiError } from '../../../main/xapi/errors'
import { normaliseResult } from '../../../main/xapi/normalise'
import type { WireValue } from '../../../main/xapi/wire'
import type { PoolDiff } from '../../../shared/model/diff'

type Answer = unknown | (() => unknown)

/** a scripted XAPI: event.from answers are taken from a queue; '' token returns the current table */
class FakePool implements EventSession {
  sessionId: string | undefined = 'OpaqueRef:s1'
  vms = new Map<string, { name_label: string; memory_static_max: string }>()
  queue: Answer[] = []
  calls: string[] = []
  private waiting: (() => void) | undefined

  batchAll(): unknown {
    return {
      events: [...this.vms].map(([ref, r]) => ({ id: '1', class: 'vm', operation: 'add', ref, snapshot: { ...r } })).concat([{ id: '1', class: 'session', operation: 'add', ref: 'OpaqueRef:sess', snapshot: { uuid: 'x' } }] as never[]),
      valid_ref_counts: { vm: this.vms.size },
      token: 'T0',
    }
  }

  async call(method: string, params: readonly unknown[] = [], co: { signal?: AbortSignal } = {}): Promise<unknown> {
    this.calls.push(`${method}(${String(params[1] ?? '')})`)
    if (method === 'pool.get_all') return ['OpaqueRef:pool']
    if (method === 'event.inject') return 'T0'
    if (method === 'VM.get_all_records') return normaliseResult(method, Object.fromEntries([...this.vms].map(([ref, r]) => [ref, { ...r }])))
    if (method === 'session.get_all_records') return { 'OpaqueRef:sess': { uuid: 'x' } }
    if (method.endsWith('.get_all_records')) return {}
    if (method !== 'event.from') throw new Error(`unexpected ${method}`)
    // like the transport: answers are normalised by the method's result type
    if (params[1] === '') return normaliseResult('event.from', this.batchAll() as WireValue)
    while (this.queue.length === 0) {
      if (co.signal?.aborted) throw new Error('aborted')
      await new Promise<void>((r) => {
        this.waiting = r
        co.signal?.addEventListener('abort', () => r(), { once: true })
      })
    }
    const a = this.queue.shift()
    const v = typeof a === 'function' ? (a as () => unknown)() : a
    if (v instanceof Error) throw v
    return normaliseResult('event.from', JSON.parse(JSON.stringify(v)) as WireValue)
  }

  push(a: Answer): void {
    this.queue.push(a)
    this.waiting?.()
  }
}

async function until(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !fn(); i++) await new Promise((r) => setTimeout(r, 10))
  if (!fn()) throw new Error(`timed out waiting for ${what}`)
}

function setup(batchMs = 30, initialLoad: 'event.from' | 'get_all_records' = 'get_all_records') {
  const pool = new FakePool()
  pool.vms.set('OpaqueRef:a', { name_label: 'a', memory_static_max: '1024' })
  pool.vms.set('OpaqueRef:b', { name_label: 'b', memory_static_max: '2048' })
  const diffs: PoolDiff[] = []
  let seq = 0
  const graph = new ObjectGraph()
  const loop = new EventLoop({ client: pool, graph, batchMs, initialLoad, emit: (d) => diffs.push({ connectionId: 'c', seq: ++seq, ...d }) })
  return { pool, diffs, graph, loop }
}

describe('EventLoop', () => {
  it.each(['event.from', 'get_all_records'] as const)('loads everything as one reset diff (%s), normalised, without ignored classes', async (strategy) => {
    const { diffs, graph, loop } = setup(30, strategy)
    await loop.fullSync()
    expect(graph.get('VM', 'OpaqueRef:a')?.memory_static_max).toBe(1024)
    expect(diffs).toHaveLength(1)
    expect(diffs[0]?.reset).toBe(true)
    expect(diffs[0]?.upserts.map((u) => u.ref).sort()).toEqual(['OpaqueRef:a', 'OpaqueRef:b'])
    expect(graph.count('session')).toBe(0)
    expect(diffs[0]?.token).toBe('T0')
  })

  it('coalesces changes per object into one diff per batch window, and drops objects born and gone inside it', async () => {
    const { pool, diffs, graph, loop } = setup(100)
    await loop.fullSync()
    const run = loop.run().catch(() => undefined)
    pool.push({ events: [{ class: 'vm', operation: 'mod', ref: 'OpaqueRef:a', snapshot: { name_label: 'a1', memory_static_max: '1' } }], valid_ref_counts: { vm: 2 }, token: 'T1' })
    pool.push({ events: [{ class: 'vm', operation: 'mod', ref: 'OpaqueRef:a', snapshot: { name_label: 'a2', memory_static_max: '1' } }], valid_ref_counts: { vm: 2 }, token: 'T2' })
    pool.push({ events: [{ class: 'vm', operation: 'add', ref: 'OpaqueRef:c', snapshot: { name_label: 'c' } }], valid_ref_counts: { vm: 3 }, token: 'T3' })
    pool.push({ events: [{ class: 'vm', operation: 'del', ref: 'OpaqueRef:c' }, { class: 'vm', operation: 'del', ref: 'OpaqueRef:b' }], valid_ref_counts: { vm: 1 }, token: 'T4' })
    await until('flush', () => diffs.length >= 2)
    loop.stop()
    await run
    const d = diffs[1]
    expect(diffs).toHaveLength(2)
    expect(d?.reset).toBe(false)
    expect(d?.upserts).toEqual([{ cls: 'VM', ref: 'OpaqueRef:a', record: { name_label: 'a2', memory_static_max: 1 } }])
    expect(d?.removes).toEqual([{ cls: 'VM', ref: 'OpaqueRef:b' }])
    expect(d?.token).toBe('T4')
    expect([...graph.all('VM').keys()]).toEqual(['OpaqueRef:a'])
  })

  it('resyncs fully on EVENT_FROM_TOKEN_PARSE_FAILURE: a reset diff, no ghost of deleted objects', async () => {
    const { pool, diffs, loop } = setup()
    await loop.fullSync()
    const run = loop.run().catch(() => undefined)
    pool.vms.delete('OpaqueRef:b')
    pool.vms.set('OpaqueRef:d', { name_label: 'd', memory_static_max: '1' })
    pool.push(new XapiError('EVENT_FROM_TOKEN_PARSE_FAILURE', ['T0']))
    await until('reset', () => diffs.length >= 2)
    loop.stop()
    await run
    expect(diffs[1]?.reset).toBe(true)
    expect(diffs[1]?.upserts.map((u) => u.ref).sort()).toEqual(['OpaqueRef:a', 'OpaqueRef:d'])
  })

  it('re-reads a class whose valid_ref_count disagrees, and resyncs fully when many do or the session was re-established', async () => {
    const { pool, diffs, graph, loop } = setup()
    await loop.fullSync()
    const run = loop.run().catch(() => undefined)
    // an object created while events were lost: counts say 3, the graph has 2 → VM re-read
    pool.vms.set('OpaqueRef:e', { name_label: 'e', memory_static_max: '1' })
    pool.push({ events: [], valid_ref_counts: { vm: 3 }, token: 'T9' })
    await until('class re-read', () => diffs.length >= 2)
    expect(diffs[1]?.reset).toBe(false)
    expect(diffs[1]?.upserts.map((u) => u.ref)).toContain('OpaqueRef:e')
    expect(graph.count('VM')).toBe(3)
    // four classes off: we lost track, full resync
    pool.push({ events: [], valid_ref_counts: { vm: 3, host: 2, sr: 2, pif: 2, network: 2 }, token: 'T10' })
    await until('reset after counts', () => diffs.length >= 3)
    expect(diffs[2]?.reset).toBe(true)
    pool.push(() => {
      pool.sessionId = 'OpaqueRef:s2'
      return { events: [], valid_ref_counts: { vm: 3 }, token: 'T11' }
    })
    await until('reset after re-login', () => diffs.length >= 4)
    loop.stop()
    await run
    expect(diffs[3]?.reset).toBe(true)
  })

  it('resumes from a cached token when the pool accepts it, else reports that a full sync is needed', async () => {
    const { pool, diffs, graph, loop } = setup()
    graph.upsert('VM', 'OpaqueRef:a', { name_label: 'a' })
    graph.upsert('VM', 'OpaqueRef:b', { name_label: 'b' })
    pool.push({ events: [{ class: 'vm', operation: 'mod', ref: 'OpaqueRef:a', snapshot: { name_label: 'a-new' } }], valid_ref_counts: { vm: 2 }, token: 'T5' })
    expect(await loop.resume('T4')).toBe(true)
    expect(diffs.at(-1)?.upserts[0]?.record.name_label).toBe('a-new')
    expect(loop.token).toBe('T5')
    pool.push(new XapiError('EVENT_FROM_TOKEN_PARSE_FAILURE', ['bad']))
    expect(await loop.resume('bad')).toBe(false)
  })

  it('a sync in pieces sends the records as they are read (one seq, numbered parts, the token with the last) and the same graph as one reset', async () => {
    const { pool } = setup()
    for (let i = 0; i < 5; i++) pool.vms.set(`OpaqueRef:v${i}`, { name_label: `v${i}`, memory_static_max: '1' })
    const out: { diff: PoolDiff; restore: boolean }[] = []
    const graph = new ObjectGraph()
    const loop = new EventLoop({ client: pool, graph, syncPieceUpserts: 2, emit: (d, o) => out.push({ diff: { connectionId: 'c', seq: 1, ...d }, restore: o?.restore === true }) })
    await loop.fullSync()
    const ps = out.map((o) => o.diff)
    expect(out.every((o) => !o.restore)).toBe(true)
    expect(ps.map((p) => p.part)).toEqual(ps.map((_, i) => i))
    // read from the pool as they go: a window holding nothing of it may show them at once
    expect(ps.every((p) => p.live === true)).toBe(true)
    expect(ps.slice(0, -1).every((p) => p.reset && p.more === true && p.upserts.length === 2 && p.token === undefined)).toBe(true)
    expect(ps.at(-1)?.more).toBeUndefined()
    expect(ps.at(-1)?.token).toBe('T0')
    expect(ps.flatMap((p) => p.upserts.map((u) => u.ref)).sort()).toEqual([...graph.all('VM').keys()].sort())
    expect(graph.count('VM')).toBe(7)
  })

  it('a sync in pieces that fails half-way sends the graph main still holds as a complete reset (a restore), and throws', async () => {
    const { pool } = setup()
    const call = pool.call.bind(pool)
    // the VMs are read, then the next class asked fails
    let vmsRead = false
    pool.call = async (method, params, co) => {
      if (method.endsWith('.get_all_records') && vmsRead) {
        await new Promise((r) => setTimeout(r, 5))
        throw new Error('the pool went away')
      }
      const answer = await call(method, params, co)
      if (method === 'VM.get_all_records') vmsRead = true
      return answer
    }
    const out: { diff: PoolDiff; restore: boolean }[] = []
    const graph = new ObjectGraph()
    graph.upsert('VM', 'OpaqueRef:old', { name_label: 'cached' })
    const loop = new EventLoop({ client: pool, graph, syncPieceUpserts: 1, emit: (d, o) => out.push({ diff: { connectionId: 'c', seq: 1, ...d }, restore: o?.restore === true }) })
    await expect(loop.fullSync()).rejects.toThrow('the pool went away')
    expect(out.some((o) => o.diff.part === 0 && o.diff.more === true)).toBe(true)
    const last = out.at(-1)
    expect(last?.restore).toBe(true)
    expect(last?.diff.reset).toBe(true)
    expect(last?.diff.part).toBeUndefined()
    expect(last?.diff.upserts.map((u) => u.ref)).toEqual(['OpaqueRef:old'])
    expect([...graph.all('VM').keys()]).toEqual(['OpaqueRef:old'])
  })
})
