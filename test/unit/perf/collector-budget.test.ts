/**
 * The RRD collector's first-sight budget (main/perf/collector.ts): a host new to the history gets its
 * past (/host_rrd + an hourly and a daily /rrd_updates of its VMs) a few jobs at a time — at most 2 in
 * the app and 1 per pool —, behind the 60 s feeds and the 5 s polls of watched objects, within a share
 * of the main thread, backing off on errors. The answers are the simulator's own (test/sim/rrd.ts);
 * the test holds or fails each request to see what the collector asks while others wait.
 * And the 60 s feed: an older host's XML answers stored like JSON ones, the answer's step trusted over
 * the interval asked, and a failing host backed off (120 s × 2ⁿ, at most 15 min) with its reason.
 */
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { PerfHistory } from '../../../main/cache/perf'
import { migrate } from '../../../main/cache/schema'
import { FEEDS_AT_ONCE, FIRST_FEED_S, FIRST_SIGHT_ATTEMPTS, OVERVIEW_LEASE_MS, RrdCollector, UNWATCHED_FEED_MS, type CollectorPools } from '../../../main/perf/collector'
import { ObjectGraph } from '../../../main/pools/graph'
import { parseRrdUpdates } from '../../../main/perf/rrd'
import { rrdDump, rrdUpdates } from '../../sim/rrd'
import { tinyPool, type TinyPool } from '../sim/tiny-pool'

interface Req {
  connectionId: string
  address: string
  path: string
  query: Record<string, unknown>
  firstSight: boolean
  settled: boolean
  release(): void
  fail(e: Error): void
}

type Get = (connectionId: string, address: string, path: string, query: Record<string, unknown>) => Promise<string>

const T0 = 1_796_601_600_000

function world(poolCount: number, hostCount: number) {
  const pools = Array.from({ length: poolCount }, (_, i) => ({ id: `c${i}`, tp: tinyPool({ name: `budget-${i}`, addressBase: `127.87.${i}`, hostCount }) }))
  const graphs = new Map<string, ObjectGraph>()
  for (const p of pools) {
    const g = new ObjectGraph()
    for (const [cls, t] of p.tp.spec.objects) for (const [ref, rec] of t) g.upsert(cls, ref, rec)
    graphs.set(p.id, g)
  }
  const status = new Map<string, string>()
  const collectorPools: CollectorPools = {
    list: () => pools.map((p) => ({ id: p.id, status: status.get(p.id) ?? 'connected', label: p.tp.spec.name })),
    graph: (id) => graphs.get(id),
    hostHttp: () => {
      throw new Error('the test answers every request')
    },
  }
  const db = new Database(':memory:')
  migrate(db)
  let clock = T0
  const hist = new PerfHistory(db, {}, () => Math.floor(clock / 1000))
  const requests: Req[] = []
  /** first-sight requests held until the test releases them (feeds and live polls are answered at once) unless `hold` says otherwise */
  let holdLive = false
  let answerAll = false
  /** hosts (addresses) whose 60 s feed is held */
  const holdFeeds = new Set<string>()
  const failing = new Set<string>()
  /** hosts (addresses) whose 60 s feed fails */
  const failingFeeds = new Set<string>()
  /** pools whose hosts answer XML whatever is asked (hosts older than JSON RRDs) */
  const xml = new Set<string>()
  const answer = (connectionId: string, tp: TinyPool, address: string, path: string, query: Record<string, unknown>): string => {
    const host = tp.spec.hosts.find((h) => h.address === address)
    if (!host) throw new Error(`no host ${address}`)
    const now = Math.floor(clock / 1000)
    const json = !xml.has(connectionId)
    if (path === '/host_rrd') return rrdDump(tp.spec, { kind: 'host', rec: tp.spec.objects.get('host')?.get(host.ref) ?? {} }, now, json)
    if (path === '/vm_rrd') {
      const vm = [...(tp.spec.objects.get('VM')?.values() ?? [])].find((v) => v['uuid'] === query['uuid'])
      return rrdDump(tp.spec, { kind: 'vm', rec: vm ?? {} }, now, json)
    }
    const vms = query['vm_uuid']
    return rrdUpdates(tp.spec, { hostRef: host.ref, start: Number(query['start']), interval: Number(query['interval']), cf: 'AVERAGE', json, includeHost: query['host'] === true, now, ...(Array.isArray(vms) ? { vmUuids: vms.map(String) } : {}) }).body
  }
  const get: Get = (connectionId, address, path, query) =>
    new Promise<string>((resolve, reject) => {
      const tp = pools.find((p) => p.id === connectionId)?.tp
      // the 60 s feeds and 5 s polls ask the last minutes of the host (host=true); the rest is first sight
      const interval = Number(query['interval'])
      const firstSight = path !== '/rrd_updates' || (interval !== 5 && (interval >= 3600 || query['host'] === false || Number(query['start']) < Math.floor(clock / 1000) - FIRST_FEED_S - 60))
      const req: Req = {
        connectionId,
        address,
        path,
        query,
        firstSight,
        settled: false,
        release: () => {
          if (req.settled) return
          req.settled = true
          try {
            if (!tp) throw new Error('no pool')
            resolve(answer(connectionId, tp, address, path, query))
          } catch (e) {
            reject(e as Error)
          }
        },
        fail: (e) => {
          if (req.settled) return
          req.settled = true
          reject(e)
        },
      }
      requests.push(req)
      if (firstSight && failing.has(connectionId)) return setImmediate(() => req.fail(new Error('the host closed the connection')))
      if (!firstSight && interval === 60 && failingFeeds.has(address)) return setImmediate(() => req.fail(new Error('the host closed the connection')))
      const held = (holdLive && Number(query['interval']) === 5) || (holdFeeds.has(address) && Number(query['interval']) === 60)
      if (answerAll || (!firstSight && !held)) setImmediate(() => req.release())
    })
  const collector = (extra: Partial<ConstructorParameters<typeof RrdCollector>[0]> = {}): RrdCollector => {
    // fed every minute unless a test asks for the cadence of hosts nobody looks at (unwatchedFeedMs: UNWATCHED_FEED_MS)
    const c = new RrdCollector({ pools: collectorPools, history: () => hist, tickMs: 3_600_000, now: () => clock, log: () => {}, unwatchedFeedMs: 60_000, ...extra })
    ;(c as unknown as { get: Get }).get = get
    open.push({
      c,
      releaseAll: () => {
        answerAll = true
        for (const r of requests) r.release()
      },
    })
    return c
  }
  return {
    pools,
    hist,
    requests,
    collector,
    failing,
    failingFeeds,
    xml,
    setHoldLive: (on: boolean) => (holdLive = on),
    holdFeeds,
    status,
    advance: (ms: number) => (clock += ms),
    now: () => clock,
  }
}

/** lets the requests answered at once be stored */
async function settle(): Promise<void> {
  for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r))
}

const inFlight = (reqs: Req[]): Req[] => reqs.filter((r) => r.firstSight && !r.settled)

/** `n` of the collector's 1 s ticks, each after its answers were stored */
async function ticks(w: { advance(ms: number): void }, c: RrdCollector, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    w.advance(1000)
    c.tick()
    await settle()
  }
}

let open: { c: RrdCollector; releaseAll: () => void }[] = []
afterEach(async () => {
  for (const o of open) {
    o.releaseAll()
    await o.c.close()
  }
  open = []
})

describe('RRD collector: first sight on a budget', () => {
  it('asks at most 2 first-sight jobs at a time in the app and 1 per pool, while every host is fed at once', async () => {
    const w = world(3, 2)
    const c = w.collector()
    // the hosts are seen at the first tick, their first feeds spread over 5 s
    c.tick()
    w.advance(6000)
    c.tick()
    await settle()
    // all 6 hosts fed in the first pass: their feed does not wait for the first sight of their past
    expect(c.counters.feeds).toBe(6)
    expect(c.status().every((s) => s.lastEnd !== undefined)).toBe(true)
    let maxAll = 0
    let maxPool = 0
    for (let i = 0; i < 200; i++) {
      const now = inFlight(w.requests)
      maxAll = Math.max(maxAll, now.length)
      for (const p of w.pools) maxPool = Math.max(maxPool, now.filter((r) => r.connectionId === p.id).length)
      const s = c.firstSightStatus()
      if (s.queued === 0 && s.running === 0) break
      now[0]?.release()
      await settle()
      w.advance(1000)
      c.tick()
      await settle()
    }
    expect(c.firstSightStatus()).toEqual({ queued: 0, running: 0, done: 6, failed: 0 })
    expect(maxAll).toBe(2)
    expect(maxPool).toBe(1)
    // each host's past came with its own job; its VMs' past with the host's hourly and daily answers, no /vm_rrd each
    expect(w.requests.filter((r) => r.path === '/host_rrd')).toHaveLength(6)
    expect(w.requests.filter((r) => r.path === '/vm_rrd')).toHaveLength(0)
    const vm = String(w.pools[0]?.tp.spec.objects.get('VM')?.get(w.pools[0]?.tp.refs.running ?? '')?.['uuid'])
    const nowS = Math.floor(w.now() / 1000)
    expect(w.hist.read(vm, ['cpu0'], nowS - 300 * 86400, nowS, 86400).times.length).toBeGreaterThan(250)
  }, 60_000)

  it('starts no first-sight job while a watched object’s 5 s poll is on its way', async () => {
    const w = world(2, 2)
    const c = w.collector()
    const tp = w.pools[0]?.tp
    const vm = String(tp?.spec.objects.get('VM')?.get(tp.refs.running)?.['uuid'])
    w.setHoldLive(true)
    c.watch('graph', 'c0', [vm])
    // the hosts are seen at the first tick, their first feeds spread over 5 s
    c.tick()
    w.advance(6000)
    c.tick()
    await settle()
    const live = w.requests.filter((r) => Number(r.query['interval']) === 5 && !r.settled)
    expect(live).toHaveLength(1)
    expect(c.counters.feeds).toBe(4)
    // the feeds are stored, first sight of 4 hosts waits: the watched VM's poll goes first
    await ticks(w, c, 3)
    expect(inFlight(w.requests)).toHaveLength(0)
    expect(c.firstSightStatus().queued).toBe(4)
    w.setHoldLive(false)
    live[0]?.release()
    await settle()
    await ticks(w, c, 1)
    expect(inFlight(w.requests).length).toBeGreaterThan(0)
  }, 60_000)

  it('starts no first-sight job while a window is catching up (yieldTo: main/services CatchUp), the 60 s feeds go on', async () => {
    const w = world(2, 2)
    let windowBehind = true
    const c = w.collector({ yieldTo: () => windowBehind })
    c.tick()
    w.advance(6000)
    c.tick()
    await settle()
    expect(c.counters.feeds).toBe(4)
    await ticks(w, c, 3)
    expect(inFlight(w.requests)).toHaveLength(0)
    expect(c.firstSightStatus()).toMatchObject({ queued: 4, running: 0 })
    // the window caught up: first sight starts at the next tick
    windowBehind = false
    await ticks(w, c, 1)
    expect(inFlight(w.requests).length).toBeGreaterThan(0)
  }, 60_000)

  it('never asks a host for its past while its 60 s feed is on its way', async () => {
    const w = world(2, 2)
    const c = w.collector()
    const slow = w.pools[0]?.tp.spec.hosts[0]?.address ?? ''
    w.holdFeeds.add(slow)
    c.tick()
    w.advance(6000)
    for (let i = 0; i < 5; i++) {
      c.tick()
      await settle()
      w.advance(1000)
    }
    // the other pool's hosts got theirs started meanwhile
    expect(w.requests.some((r) => r.path === '/host_rrd' && r.connectionId === 'c1')).toBe(true)
    expect(w.requests.filter((r) => r.address === slow && r.firstSight)).toHaveLength(0)
    w.holdFeeds.clear()
    for (const r of w.requests) if (r.address === slow) r.release()
    for (let i = 0; i < 30 && !w.requests.some((r) => r.address === slow && r.path === '/host_rrd'); i++) {
      for (const r of inFlight(w.requests)) r.release()
      await settle()
      w.advance(1000)
      c.tick()
      await settle()
    }
    expect(w.requests.some((r) => r.address === slow && r.path === '/host_rrd')).toBe(true)
  }, 60_000)

  it('asks only the last minutes in a host’s first feed; the hours since an old cursor come as a first-sight job, and the stored cursor waits for them', async () => {
    const w = world(1, 2)
    const tp = w.pools[0]?.tp
    const hosts = [...(tp?.spec.objects.get('host')?.values() ?? [])].map((r) => String(r['uuid']))
    // known hosts, last fed 3 hours ago (the app was closed)
    const old = Math.floor(w.now() / 1000) - 3 * 3600
    for (const u of hosts) {
      w.hist.put({ connectionId: 'c0', kind: 'host', uuid: u, ds: 'cpu_avg' }, 60, old, 0.5)
      w.hist.setCursor('c0', u, old)
    }
    w.hist.flush()
    const c = w.collector()
    c.tick()
    w.advance(6000)
    c.tick()
    await settle()
    const nowS = Math.floor(w.now() / 1000)
    const feeds = w.requests.filter((r) => r.path === '/rrd_updates' && r.query['interval'] === 60 && !r.firstSight)
    expect(feeds).toHaveLength(2)
    for (const f of feeds) expect(Number(f.query['start'])).toBeGreaterThanOrEqual(nowS - FIRST_FEED_S - 10)
    // the catch-up of one host is on its way (1 per pool), from the stored cursor; no cursor moved yet
    const catchup = inFlight(w.requests)
    expect(catchup).toHaveLength(1)
    expect(Number(catchup[0]?.query['start'])).toBe(old)
    expect(hosts.map((u) => w.hist.cursor(u))).toEqual([old, old])
    for (let i = 0; i < 10 && c.firstSightStatus().done < 2; i++) {
      for (const r of inFlight(w.requests)) r.release()
      await settle()
      c.tick()
      await settle()
    }
    expect(c.firstSightStatus().done).toBe(2)
    expect(w.requests.filter((r) => r.path === '/host_rrd')).toHaveLength(0)
    // both past and present are in: the cursors move to the newest answer
    for (const u of hosts) expect(w.hist.cursor(u)).toBe(c.status().find((s) => s.hostUuid === u)?.lastEnd)
  }, 60_000)

  it('fills a host’s past after a reconnect when the pool dropped before its first sight was done', async () => {
    const w = world(1, 2)
    const c = w.collector()
    c.tick()
    w.advance(6000)
    c.tick()
    await settle()
    expect(c.status().every((s) => s.lastEnd !== undefined)).toBe(true)
    const dumps = (): number => w.requests.filter((r) => r.path === '/host_rrd').length
    expect(dumps()).toBe(1)
    // the pool drops: the job on its way fails, the waiting one is dropped with the hosts
    w.status.set('c0', 'disconnected')
    c.tick()
    for (const r of inFlight(w.requests)) r.fail(new Error('the connection was reset'))
    await settle()
    w.advance(1000)
    c.tick()
    expect(c.status()).toHaveLength(0)
    expect(c.firstSightStatus().queued).toBe(0)
    // back: the hosts are known to the history now (their feeds stored rows), but their past is not: asked again
    w.status.delete('c0')
    c.tick()
    w.advance(6000)
    // (after the pool's back-off: its job failed when it dropped)
    for (let i = 0; i < 40 && dumps() < 3; i++) {
      c.tick()
      await settle()
      for (const r of inFlight(w.requests)) r.release()
      await settle()
      w.advance(5000)
    }
    expect(dumps()).toBe(3)
  }, 60_000)

  it('backs off a pool whose first sight fails (60 s, then 120 s …) and gives it up after a few attempts; other pools go on', async () => {
    const w = world(2, 2)
    const c = w.collector()
    w.failing.add('c1')
    // the hosts are seen at the first tick, their first feeds spread over 5 s
    c.tick()
    w.advance(6000)
    c.tick()
    await settle()
    const asked = (id: string): number => w.requests.filter((r) => r.firstSight && r.connectionId === id && r.path === '/host_rrd').length
    // c1 fails at once; c0 is held (its job runs, one at a time)
    expect(asked('c1')).toBe(1)
    await settle()
    // 59 s later nothing more was asked of c1 (its other host waits too)
    for (let i = 0; i < 59; i++) {
      w.advance(1000)
      c.tick()
      await settle()
    }
    expect(asked('c1')).toBe(1)
    w.advance(1500)
    c.tick()
    await settle()
    expect(asked('c1')).toBe(2)
    // the next wait is twice as long
    w.advance(100_000)
    c.tick()
    await settle()
    expect(asked('c1')).toBe(2)
    w.advance(21_000)
    c.tick()
    await settle()
    expect(asked('c1')).toBe(3)
    // given up after FIRST_SIGHT_ATTEMPTS for each host of c1 (the feed keeps the history from now on)
    for (let i = 0; i < 40 && c.firstSightStatus().failed < 2; i++) {
      w.advance(16 * 60_000)
      c.tick()
      await settle()
      for (const r of inFlight(w.requests)) if (r.connectionId === 'c0') r.release()
      await settle()
    }
    expect(c.firstSightStatus().failed).toBe(2)
    expect(asked('c1')).toBe(2 * FIRST_SIGHT_ATTEMPTS)
    // meanwhile c0's hosts got their past
    expect(w.requests.filter((r) => r.connectionId === 'c0' && r.path === '/host_rrd')).toHaveLength(2)
  }, 60_000)

  it('forgets, at its hourly prune, the VMs it remembered for an empty dump once no connected pool has them (memory stays bounded)', async () => {
    const w = world(1, 2)
    const c = w.collector()
    const tp = w.pools[0]?.tp
    const vm = String(tp?.spec.objects.get('VM')?.get(tp.refs.running)?.['uuid'])
    // first sight remembers VMs whose dump held no value, so as not to ask again: one still there, one destroyed since
    const remembered = (c as unknown as { sightVmSeen: Set<string> }).sightVmSeen
    remembered.add(vm)
    remembered.add('0b5e55ed-0000-4000-8000-000000000001')
    expect(c.sightRemembered()).toBe(2)
    c.prune()
    expect(c.sightRemembered()).toBe(1)
    // its pool disconnected: forgotten too (a reconnect decides again)
    w.status.set('c0', 'disconnected')
    c.prune()
    expect(c.sightRemembered()).toBe(0)
  })

  it('keeps first sight within its share of the main thread: after an answer took X ms to store, the next job waits 3·X', async () => {
    const w = world(3, 1)
    // storing takes 100 ms of the (test's) clock per first-sight answer
    const c = w.collector({ firstSight: { global: 1, perPool: 1, cpuShare: 0.25 } })
    const hist = w.hist as unknown as { writer: PerfHistory['writer'] }
    const writer = w.hist.writer.bind(w.hist)
    let storing = false
    hist.writer = (key) => {
      if (storing) w.advance(1)
      return writer(key)
    }
    // the hosts are seen at the first tick, their first feeds spread over 5 s
    c.tick()
    w.advance(6000)
    c.tick()
    await settle()
    expect(inFlight(w.requests)).toHaveLength(1)
    storing = true
    const before = w.now()
    inFlight(w.requests)[0]?.release()
    await settle()
    const spent = c.counters.firstSightMs
    expect(spent).toBeGreaterThan(5)
    expect(w.now() - before).toBe(spent)
    storing = false
    // the same job's next answers (its VMs' rows) are asked at once: the share only delays new jobs
    for (let i = 0; i < 3; i++) {
      const held = inFlight(w.requests)
      expect(held).toHaveLength(1)
      held[0]?.release()
      await settle()
    }
    expect(c.firstSightStatus().done).toBe(1)
    // the next job: not before 3 × the time spent storing
    c.tick()
    await settle()
    expect(inFlight(w.requests)).toHaveLength(0)
    w.advance(3 * spent + 10)
    c.tick()
    await settle()
    expect(inFlight(w.requests)).toHaveLength(1)
  }, 60_000)
})

describe('RRD collector: the 60 s feed', () => {
  it('stores an older host’s XML answers (it ignores json) like JSON ones: its past and its feed', async () => {
    const w = world(1, 1)
    w.xml.add('c0')
    const c = w.collector()
    c.tick()
    w.advance(6000)
    for (let i = 0; i < 20; i++) {
      c.tick()
      await settle()
      for (const r of inFlight(w.requests)) r.release()
      await settle()
      const s = c.firstSightStatus()
      if (s.queued === 0 && s.running === 0 && s.done > 0) break
      w.advance(1000)
    }
    expect(c.firstSightStatus()).toMatchObject({ queued: 0, running: 0, failed: 0 })
    expect(c.status()[0]?.error).toBeUndefined()
    const tp = w.pools[0]?.tp
    const host = String(tp?.spec.objects.get('host')?.get(tp.refs.hosts[0] ?? '')?.['uuid'])
    const vm = String(tp?.spec.objects.get('VM')?.get(tp.refs.running)?.['uuid'])
    const nowS = Math.floor(w.now() / 1000)
    expect(w.hist.read(host, ['cpu_avg'], nowS - 3600, nowS, 60).values[0]?.filter((v) => v !== null).length).toBeGreaterThan(50)
    expect(w.hist.read(vm, ['cpu0'], nowS - 300 * 86400, nowS, 86400).times.length).toBeGreaterThan(250)
    expect(c.summaries().find((r) => r.uuid === vm)?.cpu).toBeGreaterThan(0)
  }, 60_000)

  it('trusts the answer’s step: 60 s rows asked from 3 hours back come hourly and are stored as hourly rows, not as minutes', async () => {
    const w = world(1, 1)
    const tp = w.pools[0]?.tp
    const host = String(tp?.spec.objects.get('host')?.get(tp.refs.hosts[0] ?? '')?.['uuid'])
    // a known host, last fed 3 hours ago (only an hourly value stored, so every 60 s row comes from this run)
    const nowS = Math.floor(w.now() / 1000)
    const old = nowS - 3 * 3600
    w.hist.put({ connectionId: 'c0', kind: 'host', uuid: host, ds: 'cpu_avg' }, 3600, old - 3600, 0.5)
    w.hist.setCursor('c0', host, old)
    w.hist.flush()
    const c = w.collector()
    c.tick()
    w.advance(6000)
    for (let i = 0; i < 20 && c.firstSightStatus().done < 1; i++) {
      c.tick()
      await settle()
      for (const r of inFlight(w.requests)) r.release()
      await settle()
      w.advance(1000)
    }
    const catchup = w.requests.find((r) => r.firstSight && r.path === '/rrd_updates')
    expect(catchup?.query).toMatchObject({ interval: 60, start: old })
    // the 60 s rows go back only as far as the feed's own (the last minutes); the 3 hours before came hourly
    const depth = w.hist.depth(host)
    expect(depth[60]).toBeGreaterThanOrEqual(nowS - FIRST_FEED_S - 60)
    const hourly = w.hist.read(host, ['cpu_avg'], old, nowS - FIRST_FEED_S - 60, 3600)
    expect(hourly.resolution).toBe(3600)
    expect(hourly.values[0]?.filter((v) => v !== null).length).toBeGreaterThanOrEqual(2)
  }, 60_000)

  it('backs off a host whose feed fails (120 s, 240 s … at most 15 min), saying why; its 5 s poll only goes with each retry; an answer ends it', async () => {
    const w = world(1, 2)
    const tp = w.pools[0]?.tp
    // the first host: the running VM lives there
    const address = tp?.spec.hosts[0]?.address ?? ''
    const hostUuid = String(tp?.spec.objects.get('host')?.get(tp.refs.hosts[0] ?? '')?.['uuid'])
    const vm = String(tp?.spec.objects.get('VM')?.get(tp.refs.running)?.['uuid'])
    w.failingFeeds.add(address)
    const c = w.collector()
    const mine = (): Req[] => w.requests.filter((r) => r.address === address)
    const feeds = (): number => mine().filter((r) => !r.firstSight && r.query['interval'] === 60).length
    const lives = (): number => mine().filter((r) => r.query['interval'] === 5).length
    const status = () => c.status().find((s) => s.hostUuid === hostUuid)
    c.tick()
    w.advance(6000)
    c.tick()
    await settle()
    expect(feeds()).toBe(1)
    expect(status()).toMatchObject({ failures: 1, error: 'the host closed the connection' })
    // the graph of its VM opens while it backs off: nothing is asked of the host
    c.watch('graph', 'c0', [vm])
    const waits: number[] = []
    let last = w.now()
    for (let s = 0; s < 3 * 3600 && waits.length < 6; s++) {
      w.advance(1000)
      c.watch('graph', 'c0', [vm])
      const before = feeds()
      c.tick()
      await settle()
      if (feeds() > before) {
        waits.push(Math.round((w.now() - last) / 1000))
        last = w.now()
      }
    }
    expect(waits).toEqual([120, 240, 480, 900, 900, 900])
    // not every 5 s: at most once with each retry of the feed
    expect(lives()).toBeLessThanOrEqual(waits.length)
    const livesBefore = lives()
    // the host answers again: the feed is back to every 60 s, the error gone, the watched VM polled
    w.failingFeeds.clear()
    for (let s = 0; s < 901 && feeds() === 1 + waits.length; s++) {
      w.advance(1000)
      c.watch('graph', 'c0', [vm])
      c.tick()
      await settle()
    }
    expect(status()).toMatchObject({ failures: 0, error: undefined })
    expect(status()?.nextAt).toBe(w.now() + 60_000)
    for (let i = 0; i < 3; i++) {
      w.advance(5000)
      c.watch('graph', 'c0', [vm])
      c.tick()
      await settle()
    }
    expect(lives()).toBeGreaterThanOrEqual(livesBefore + 3)
  }, 60_000)
})

describe('RRD collector: the column plan', () => {
  /** the newest row of what the host answers now: each VM's value of `ds` (the simulator's series differ per VM) */
  function answerNow(tp: TinyPool, hostRef: string, nowS: number, ds: string): { t: number; byUuid: Map<string, number> } {
    const u = parseRrdUpdates(rrdUpdates(tp.spec, { hostRef, start: nowS - 120, interval: 60, cf: 'AVERAGE', json: true, includeHost: true, now: nowS }).body)
    const byUuid = new Map<string, number>()
    u.legend.forEach((l, i) => {
      if (l?.kind === 'vm' && l.ds === ds) byUuid.set(l.uuid, u.value(0, i))
    })
    return { t: u.times[0] ?? 0, byUuid }
  }

  it('works the columns out again when a host’s legend changes (a VM leaving, a VM arriving): every value goes to its own VM', async () => {
    const w = world(1, 2)
    const tp = w.pools[0]?.tp
    if (!tp) throw new Error('no pool')
    const hostRef = tp.refs.hosts[0] ?? ''
    const hostRec = tp.spec.objects.get('host')?.get(hostRef)
    if (!hostRec) throw new Error('no host')
    const uuidOf = (ref: string): string => String(tp.spec.objects.get('VM')?.get(ref)?.['uuid'])
    const dom0 = tp.refs.dom0s[0] ?? ''
    const vm = uuidOf(tp.refs.running)
    expect(hostRec['resident_VMs']).toEqual([dom0, tp.refs.running])
    const c = w.collector()
    const feedNow = async (): Promise<void> => {
      c.tick()
      await settle()
    }
    /** what the history holds of each VM at time t, and the overview's figures, against the answer */
    const check = (present: string[], absent: string[]): void => {
      const nowS = Math.floor(w.now() / 1000)
      const a = answerNow(tp, hostRef, nowS, 'cpu0')
      for (const uuid of present) {
        const stored = w.hist.read(uuid, ['cpu0'], a.t - 60, a.t, 60)
        expect(stored.times.at(-1), uuid).toBe(a.t)
        expect(stored.values[0]?.at(-1), uuid).toBeCloseTo(a.byUuid.get(uuid) ?? Number.NaN, 6)
        const s = c.summaries().find((r) => r.uuid === uuid)
        expect(s?.at, uuid).toBe(a.t)
      }
      for (const uuid of absent) expect(w.hist.read(uuid, ['cpu0'], a.t - 30, a.t, 60).times, uuid).toEqual([])
    }
    c.tick()
    w.advance(6000)
    await feedNow()
    check([uuidOf(dom0), vm], [])
    // the control domain leaves the host's list: every column of the running VM moves
    hostRec['resident_VMs'] = [tp.refs.running]
    w.advance(60_000)
    await feedNow()
    check([vm], [uuidOf(dom0)])
    // and comes back, last: the running VM's columns move back, the control domain's are new
    hostRec['resident_VMs'] = [tp.refs.running, dom0]
    w.advance(60_000)
    await feedNow()
    check([vm, uuidOf(dom0)], [])
  })

  it('adds one sparkline point per minute of an answer that brings several (the first feed asks the last minutes)', async () => {
    const w = world(1, 2)
    const tp = w.pools[0]?.tp
    const vm = String(tp?.spec.objects.get('VM')?.get(tp?.refs.running ?? '')?.['uuid'])
    const c = w.collector()
    c.tick()
    w.advance(6000)
    c.tick()
    await settle()
    const first = c.summaries().find((r) => r.uuid === vm)
    // the first feed asks FIRST_FEED_S back: a point per 60 s row of it, oldest first, the newest row's figures
    expect(first?.spark.cpu.length).toBeGreaterThanOrEqual(FIRST_FEED_S / 60)
    expect(first?.spark.cpu.at(-1)).toBe(first?.cpu)
    // a minute later: one point more (the row already seen is not counted twice)
    w.advance(60_000)
    c.tick()
    await settle()
    const next = c.summaries().find((r) => r.uuid === vm)
    expect(next?.spark.cpu.length).toBe((first?.spark.cpu.length ?? 0) + 1)
    expect(next?.at).toBe((first?.at ?? 0) + 60)
    // what summaries() handed out earlier is a copy: it did not grow
    expect(first?.spark.cpu.length).toBe(next ? next.spark.cpu.length - 1 : -1)
  })
})

describe('RRD collector: the feed follows what is looked at (issue 16 rule, issue 20 cost)', () => {
  const feedsOf = (w: ReturnType<typeof world>, address?: string): Req[] => w.requests.filter((r) => !r.firstSight && r.path === '/rrd_updates' && r.query['interval'] === 60 && (address === undefined || r.address === address))

  /** seconds of the collector's clock, ticking every second */
  async function run(w: ReturnType<typeof world>, c: RrdCollector, seconds: number, each?: () => void): Promise<void> {
    for (let i = 0; i < seconds; i++) {
      w.advance(1000)
      each?.()
      c.tick()
      await settle()
    }
  }

  it('feeds a host nobody looks at every 5 minutes, asking from the end of its last answer: every 60 s row is kept', async () => {
    const w = world(1, 2)
    const c = w.collector({ unwatchedFeedMs: UNWATCHED_FEED_MS })
    c.tick()
    await run(w, c, 6)
    const address = w.pools[0]?.tp.spec.hosts[0]?.address ?? ''
    expect(feedsOf(w, address)).toHaveLength(1)
    const t0 = Math.floor(w.now() / 1000)
    await run(w, c, 12 * 60)
    // 12 minutes: 2 more feeds, not 12 (red when a host nobody looks at is fed every minute)
    const feeds = feedsOf(w, address)
    expect(feeds).toHaveLength(3)
    // each asks from where the previous answer ended
    const ends = feeds.map((r) => Number(r.query['start']))
    expect(ends[2]! - ends[1]!).toBe(UNWATCHED_FEED_MS / 1000)
    // and the history has every minute since the first feed at 60 s, no gap
    const tp = w.pools[0]?.tp
    const host = String(tp?.spec.objects.get('host')?.get(tp.refs.hosts[0] ?? '')?.['uuid'])
    const stored = w.hist.read(host, ['cpu_avg'], t0 - 60, Math.floor(w.now() / 1000), 60)
    const first = stored.times[0] ?? 0
    expect(stored.resolution).toBe(60)
    expect(stored.times).toEqual(Array.from({ length: stored.times.length }, (_, i) => first + i * 60))
    expect(stored.times.at(-1)).toBeGreaterThanOrEqual(ends[2] ?? Infinity)
    expect(stored.values[0]?.every((v) => v !== null)).toBe(true)
  })

  it('feeds every host every minute while the overview is open, and catches up at once (at most FEEDS_AT_ONCE at a time) when it opens', async () => {
    const w = world(5, 2)
    const c = w.collector({ unwatchedFeedMs: UNWATCHED_FEED_MS })
    c.tick()
    await run(w, c, 6)
    expect(feedsOf(w)).toHaveLength(10)
    // two minutes nobody looks: nothing asked
    await run(w, c, 120)
    expect(feedsOf(w)).toHaveLength(10)
    // the overview opens: the 10 hosts are asked at once, 8 at a time (their answers held)
    for (const h of w.pools.flatMap((p) => p.tp.spec.hosts)) w.holdFeeds.add(h.address)
    void c.showOverview()
    await settle()
    const held = feedsOf(w).filter((r) => !r.settled)
    expect(held).toHaveLength(FEEDS_AT_ONCE)
    w.holdFeeds.clear()
    for (const r of held) r.release()
    await settle()
    await settle()
    expect(feedsOf(w)).toHaveLength(20)
    // then every minute while it asks (every minute, as FleetPerf does): 5 minutes, 5 feeds per host (red when the overview's hosts wait 5 minutes)
    let lastAsk = w.now()
    await run(w, c, 5 * 60, () => {
      if (w.now() - lastAsk >= 60_000) {
        lastAsk = w.now()
        void c.showOverview()
      }
    })
    expect(feedsOf(w)).toHaveLength(20 + 5 * 10)
    // closed (no more asks): once the lease is over, back to every 5 minutes
    const before = feedsOf(w).length
    await run(w, c, (OVERVIEW_LEASE_MS + UNWATCHED_FEED_MS) / 1000)
    expect(feedsOf(w).length - before).toBeLessThanOrEqual(10 * (2 + 1))
  })

  it('says "as of" for the rows of hosts nobody looked at for minutes, and the overview opening answers once they are caught up', async () => {
    const w = world(1, 2)
    const c = w.collector({ unwatchedFeedMs: UNWATCHED_FEED_MS })
    c.tick()
    await run(w, c, 6)
    expect(c.summaries().every((r) => !r.stale)).toBe(true)
    // 4 minutes hidden: the figures are older than STALE_AFTER_FEEDS minutes — not "now"
    await run(w, c, 4 * 60)
    expect(c.summaries().every((r) => r.stale)).toBe(true)
    await c.showOverview()
    const rows = c.summaries()
    expect(rows.every((r) => !r.stale)).toBe(true)
    expect(Math.min(...rows.map((r) => r.at))).toBeGreaterThanOrEqual(Math.floor(w.now() / 1000) - 60)
  })

  it('feeds every minute the host of an open graph (its VM’s or its own), the others every 5 minutes', async () => {
    const w = world(1, 2)
    const c = w.collector({ unwatchedFeedMs: UNWATCHED_FEED_MS })
    const tp = w.pools[0]?.tp
    const [a, b] = tp?.spec.hosts.map((h) => h.address) ?? []
    // the running VM lives on the first host
    const vm = String(tp?.spec.objects.get('VM')?.get(tp.refs.running)?.['uuid'])
    c.tick()
    await run(w, c, 6)
    let lastAsk = w.now()
    c.showObject('c0', vm)
    await run(w, c, 10 * 60, () => {
      if (w.now() - lastAsk >= 60_000) {
        lastAsk = w.now()
        c.showObject('c0', vm)
      }
    })
    expect(feedsOf(w, a)).toHaveLength(1 + 10)
    expect(feedsOf(w, b)).toHaveLength(1 + 2)
  })
})
