/**
 * How the performance history stores values (main/cache/perf.ts): the compact block encoding (16-bit
 * codes over the block's range), blocks of the earlier encoding still read, sizes counted as blocks
 * are written, and the size bound shared by resolution so the newest 60 s rows are not what goes first.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateRawSync } from 'node:zlib'
import Database from 'better-sqlite3'
import { describe, expect, it, vi } from 'vitest'
import { BLOCK_SLOTS, PerfHistory, decodeBlock, encodeBlock } from '../../../main/cache/perf'
import { migrate } from '../../../main/cache/schema'

const uuid = (i: number): string => `11111111-2222-3333-4444-${String(i).padStart(12, '0')}`

describe('performance history blocks', () => {
  it('keeps every value within half a step of 1/65534 of the block range; constants and gaps exact', () => {
    const v = new Float64Array(BLOCK_SLOTS)
    for (let i = 0; i < BLOCK_SLOTS; i++) v[i] = i % 7 === 0 ? Number.NaN : 1e9 * Math.sin(i / 9) + 3e9
    const back = decodeBlock(encodeBlock(v))
    let lo = Infinity
    let hi = -Infinity
    for (const x of v) if (!Number.isNaN(x)) [lo, hi] = [Math.min(lo, x), Math.max(hi, x)]
    for (let i = 0; i < BLOCK_SLOTS; i++) {
      if (Number.isNaN(v[i] as number)) expect(back[i]).toBeNaN()
      else expect(Math.abs((back[i] as number) - (v[i] as number))).toBeLessThanOrEqual((hi - lo) / 65534 / 2 + 1e-6)
    }
    // noisy: its codes stored as they are (deflate would barely shrink them); smooth: deflated
    const noisy = new Float64Array(BLOCK_SLOTS)
    for (let i = 0; i < BLOCK_SLOTS; i++) noisy[i] = Math.abs(Math.sin(i * 7.7)) * 100
    const raw = encodeBlock(noisy)
    expect(raw[1]).toBe(3)
    expect(raw.length).toBe(18 + 2 * BLOCK_SLOTS)
    const rawBack = decodeBlock(raw)
    for (let i = 0; i < BLOCK_SLOTS; i++) expect(Math.abs((rawBack[i] as number) - (noisy[i] as number))).toBeLessThanOrEqual(100 / 65534)
    const smooth = new Float64Array(BLOCK_SLOTS)
    for (let i = 0; i < BLOCK_SLOTS; i++) smooth[i] = Math.floor(i / 40)
    expect(encodeBlock(smooth)[1]).toBe(2)
    expect(encodeBlock(smooth).length).toBeLessThan(100)
    const memory = new Float64Array(BLOCK_SLOTS).fill(4_000_000_123)
    expect([...decodeBlock(encodeBlock(memory))].every((x) => x === 4_000_000_123)).toBe(true)
    expect([...decodeBlock(encodeBlock(new Float64Array(BLOCK_SLOTS).fill(Number.NaN)))].every(Number.isNaN)).toBe(true)
  })

  it('reads blocks of the earlier encoding (deflated Float32) and reads damaged bytes as an empty block', () => {
    const f = new Float32Array(BLOCK_SLOTS).fill(Number.NaN)
    f[3] = 0.25
    const old = deflateRawSync(Buffer.from(f.buffer), { level: 1 })
    const back = decodeBlock(old)
    expect(back[3]).toBe(0.25)
    expect(back[4]).toBeNaN()
    expect([...decodeBlock(Buffer.from([0xff, 2, 1, 2, 3]))].every(Number.isNaN)).toBe(true)
    expect([...decodeBlock(Buffer.from('not a block'))].every(Number.isNaN)).toBe(true)
  })
})

describe('performance history size bound', () => {
  const now = 1_796_601_600 // a midnight
  function filled(): { db: Database.Database; h: PerfHistory } {
    const db = new Database(':memory:')
    migrate(db)
    const h = new PerfHistory(db, { keep60sDays: 30, maxBytes: 1e12 }, () => now)
    for (let o = 0; o < 20; o++) {
      const key = { connectionId: 'c', kind: 'vm' as const, uuid: uuid(o), ds: 'cpu0' }
      // a day of 60 s rows, 200 days of hourly rows (more than the 60 s ones), a year of daily rows (noisy: they do not compress away)
      for (let t = now - 86400 + 60; t <= now; t += 60) h.put(key, 60, t, Math.abs(Math.sin(t * 7.7 + o)))
      for (let t = now - 200 * 86400 + 3600; t <= now - 86400; t += 3600) h.put(key, 3600, t, Math.abs(Math.sin(t * 3.1 + o)))
      for (let t = now - 365 * 86400 + 86400; t <= now - 200 * 86400; t += 86400) h.put(key, 86400, t, Math.abs(Math.sin(t * 1.3 + o)))
    }
    h.flush()
    return { db, h }
  }
  const summed = (db: Database.Database): number => (db.prepare('SELECT total(length(data)) AS n FROM perf_block').get() as { n: number }).n

  it('counts its size as it writes (the same as summing the table)', () => {
    const { db, h } = filled()
    expect(h.sizeBytes()).toBe(summed(db))
    expect(h.sizeOf(3600)).toBeGreaterThan(h.sizeOf(60))
  })

  it('stays under the bound without giving up the 60 s rows first: the resolution most over its share gives up its oldest blocks', () => {
    const { db, h } = filled()
    const total = h.sizeBytes()
    const max = Math.floor(total * 0.6)
    ;(h.limits as { maxBytes: number }).maxBytes = max
    const r = h.prune(now)
    expect(r.bytes).toBeLessThanOrEqual(max)
    expect(h.sizeBytes()).toBe(summed(db))
    expect(r.bytes).toBe(summed(db))
    // the last 6 hours are still there at 60 s for every object
    for (let o = 0; o < 20; o++) {
      const last = h.read(uuid(o), ['cpu0'], now - 6 * 3600, now, 60)
      expect(last.resolution).toBe(60)
      expect(last.times.length).toBe(360)
    }
    // what went first was the oldest hourly rows, averaged into daily ones (still drawn); the whole day of 60 s rows is there
    expect(h.read(uuid(0), ['cpu0'], now - 86400, now, 60).times.length).toBe(1440)
    const old = h.read(uuid(0), ['cpu0'], now - 200 * 86400, now - 150 * 86400, 86400)
    expect(old.resolution).toBe(86400)
    expect(old.times.length).toBeGreaterThanOrEqual(49)
  })
})

describe('how far back the history goes, and a smaller bound reached a little at a time', () => {
  const now = 1_796_601_600
  it('says the oldest time with a value per resolution, for one object and for all, pending values included', () => {
    const db = new Database(':memory:')
    migrate(db)
    const h = new PerfHistory(db, { maxBytes: 1e12 }, () => now)
    const a = { connectionId: 'c', kind: 'vm' as const, uuid: uuid(1), ds: 'cpu0' }
    const b = { connectionId: 'c', kind: 'vm' as const, uuid: uuid(2), ds: 'cpu0' }
    expect(h.depth()).toEqual({ 60: null, 3600: null, 86400: null })
    for (let t = now - 3 * 3600 + 60; t <= now; t += 60) h.put(a, 60, t, 0.5)
    for (let t = now - 10 * 86400 + 3600; t <= now - 3 * 3600; t += 3600) h.put(a, 3600, t, 0.5)
    for (let t = now - 3600 + 60; t <= now; t += 60) h.put(b, 60, t, 0.5)
    // pending only
    expect(h.depth(uuid(1))).toEqual({ 60: now - 3 * 3600 + 60, 3600: now - 10 * 86400 + 3600, 86400: null })
    h.flush()
    expect(h.depth(uuid(1))).toEqual({ 60: now - 3 * 3600 + 60, 3600: now - 10 * 86400 + 3600, 86400: null })
    expect(h.depth(uuid(2))).toEqual({ 60: now - 3600 + 60, 3600: null, 86400: null })
    expect(h.depth()).toEqual({ 60: now - 3 * 3600 + 60, 3600: now - 10 * 86400 + 3600, 86400: null })
    expect(h.depth(uuid(9))).toEqual({ 60: null, 3600: null, 86400: null })
  })

  it('reaches a smaller bound over several budgeted calls (each stops once its budget is spent), then says done', () => {
    const db = new Database(':memory:')
    migrate(db)
    const h = new PerfHistory(db, { maxBytes: 1e12 }, () => now)
    for (let o = 0; o < 40; o++) {
      const key = { connectionId: 'c', kind: 'vm' as const, uuid: uuid(o), ds: 'cpu0' }
      for (let t = now - 4 * 86400 + 60; t <= now; t += 60) h.put(key, 60, t, Math.abs(Math.sin(t * 7.7 + o)))
    }
    h.flush()
    const before = h.depth()[60] ?? 0
    h.setLimits({ maxBytes: Math.floor(h.sizeBytes() / 3) })
    let calls = 0
    for (let r = h.prune(now, 0); ; r = h.prune(now, 0)) {
      calls++
      if (r.done) break
      expect(calls).toBeLessThan(10_000)
    }
    expect(calls).toBeGreaterThan(1)
    expect(h.sizeBytes()).toBeLessThanOrEqual(h.limits.maxBytes)
    // what is left of the 1-minute rows starts later: the oldest went into hourly rows
    expect(h.depth()[60] ?? 0).toBeGreaterThan(before)
    expect(h.depth()[3600]).not.toBeNull()
  })
})

describe('performance history and the cache worker', () => {
  it('never holds the main thread for the worker’s write lock: a flush gives up within WRITE_WAIT_MS, keeps everything pending, and writes it later; reads do not wait at all', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xp-perf-lock-'))
    try {
      const main = new Database(join(dir, 'cache.sqlite'))
      main.pragma('journal_mode = WAL')
      main.pragma('busy_timeout = 5000')
      migrate(main)
      const h = new PerfHistory(main, {}, () => 1_796_601_600)
      const key = { connectionId: 'c', kind: 'vm' as const, uuid: uuid(1), ds: 'cpu0' }
      h.put(key, 60, 1_796_601_600 - 60, 0.5)
      h.flush()
      // the worker's connection, in the middle of a long write transaction
      const worker = new Database(join(dir, 'cache.sqlite'))
      worker.pragma('busy_timeout = 5000')
      worker.exec("BEGIN IMMEDIATE; INSERT INTO perf_cursor (host_uuid, connection_id, end_t) VALUES ('w', 'c', 1)")
      // a graph reads what is committed, without waiting
      let t = performance.now()
      expect(h.read(key.uuid, ['cpu0'], 1_796_601_600 - 3600, 1_796_601_600, 60).values[0]?.filter((v) => v !== null)).toEqual([0.5])
      expect(performance.now() - t).toBeLessThan(1000)
      // a source seen for the first time: the flush starts with a write (its perf_series row), which waits for the lock
      h.put({ ...key, ds: 'cpu1' }, 60, 1_796_601_600, 0.25)
      t = performance.now()
      expect(() => h.flush()).toThrow(/busy|locked/i)
      expect(performance.now() - t).toBeLessThan(1000)
      expect(h.pendingBlocks()).toBe(1)
      // the connection's own wait is back for everything else
      expect(main.pragma('busy_timeout', { simple: true })).toBe(5000)
      worker.exec('COMMIT')
      h.flush()
      expect(h.pendingBlocks()).toBe(0)
      expect(h.read(key.uuid, ['cpu0', 'cpu1'], 1_796_601_600 - 3600, 1_796_601_600, 60).values.map((v) => v.filter((x) => x !== null))).toEqual([[0.5], [0.25]])
      worker.close()
      main.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('performance history memory', () => {
  it('lets go of objects nothing was written for in an hour (VMs gone from the pool): their series leave memory at the next flush, their rows stay readable and writable', () => {
    const db = new Database(':memory:')
    migrate(db)
    let now = 1_796_601_600
    const h = new PerfHistory(db, {}, () => now)
    const dss = ['cpu0', 'cpu1', 'memory']
    const write = (o: number): void => {
      for (const ds of dss) {
        const w = h.writer({ connectionId: 'c', kind: 'vm', uuid: uuid(o), ds })
        for (let t = now - 600 + 60; t <= now; t += 60) w.put(60, t, o + 0.5)
      }
    }
    for (let o = 0; o < 50; o++) write(o)
    h.flush()
    expect(h.heldSeries()).toBe(150)
    // two hours on: the feed still brings VMs 0–9, the others are gone
    for (let step = 0; step < 8; step++) {
      now += 900
      for (let o = 0; o < 10; o++) write(o)
      h.flush()
    }
    expect(h.heldSeries()).toBe(30)
    // a gone VM's history is still drawn, and a VM coming back is written to its same series
    const back = h.read(uuid(42), ['cpu0'], 1_796_601_600 - 3600, 1_796_601_600, 60)
    expect(back.values[0]?.filter((v) => v !== null)).toEqual(Array(10).fill(42.5))
    const series = (db.prepare('SELECT count(*) AS n FROM perf_series').get() as { n: number }).n
    h.put({ connectionId: 'c', kind: 'vm', uuid: uuid(42), ds: 'cpu0' }, 60, now, 1)
    h.flush()
    expect((db.prepare('SELECT count(*) AS n FROM perf_series').get() as { n: number }).n).toBe(series)
    expect(h.read(uuid(42), ['cpu0'], now - 60, now, 60).values[0]).toEqual([1])
    db.close()
  })
})

describe('performance history of objects that are gone', () => {
  const now = 1_796_601_600
  const series = (db: Database.Database): string[] => (db.prepare('SELECT uuid, ds FROM perf_series ORDER BY uuid, ds').all() as { uuid: string; ds: string }[]).map((r) => `${r.uuid.slice(-2)}:${r.ds}`)

  it('deletes a series once no block of it is left (everything older than the longest kept resolution), and the cursor of a host with no series left', () => {
    const db = new Database(':memory:')
    migrate(db)
    let clock = now
    const h = new PerfHistory(db, { keepDailyDays: 400, maxBytes: 1e12 }, () => clock)
    const host = { connectionId: 'c', kind: 'host' as const, uuid: uuid(1), ds: 'cpu_avg' }
    const vm = { connectionId: 'c', kind: 'vm' as const, uuid: uuid(2), ds: 'cpu0' }
    // three years ago, a host and a VM had daily rows (a pool long offline, or removed from view); the host its cursor
    for (let t = now - 1200 * 86400; t < now - 1000 * 86400; t += 86400) {
      h.put(host, 86400, t, 0.5)
      h.put(vm, 86400, t, 0.25)
    }
    h.setCursor('c', host.uuid, now - 1000 * 86400)
    // another VM is fed now
    const live = { connectionId: 'c', kind: 'vm' as const, uuid: uuid(3), ds: 'cpu0' }
    for (let t = now - 3600 + 60; t <= now; t += 60) h.put(live, 60, t, 0.75)
    h.flush()
    expect(series(db)).toEqual(['01:cpu_avg', '02:cpu0', '03:cpu0'])
    const r = h.prune(now)
    expect(r.deleted).toBeGreaterThan(0)
    expect(r.emptySeries).toBe(2)
    expect(series(db)).toEqual(['03:cpu0'])
    expect(h.cursor(host.uuid)).toBeUndefined()
    expect(h.knows(host.uuid)).toBe(false)
    expect(h.knows(vm.uuid)).toBe(false)
    expect(h.knows(live.uuid)).toBe(true)
    // the object coming back is written to a new series
    clock += 60
    h.put(vm, 60, clock, 0.5)
    h.flush()
    expect(series(db)).toEqual(['02:cpu0', '03:cpu0'])
    expect(h.read(vm.uuid, ['cpu0'], clock - 60, clock, 60).values[0]).toEqual([0.5])
  })

  it('keeps the history of an object known gone for keepGoneDays after its newest value, then deletes all of it (nothing of the others)', () => {
    const db = new Database(':memory:')
    migrate(db)
    const h = new PerfHistory(db, { keepGoneDays: 30, maxBytes: 1e12 }, () => now)
    const put = (o: number, last: number): void => {
      for (const ds of ['cpu0', 'memory']) for (let t = last - 6 * 3600 + 60; t <= last; t += 60) h.put({ connectionId: 'c', kind: 'vm', uuid: uuid(o), ds }, 60, t, o)
    }
    put(1, now - 31 * 86400) // destroyed 31 days ago
    put(2, now - 29 * 86400) // destroyed 29 days ago
    put(3, now - 31 * 86400) // halted 31 days ago: still there
    put(5, now - 31 * 86400) // of a pool offline now: not known gone
    h.setCursor('c', uuid(4), now)
    h.flush()
    const gone = new Set([uuid(1), uuid(2)])
    // without knowing what is gone, nothing goes
    expect(h.prune(now).forgotten).toBe(0)
    const offline = uuid(5)
    const asked: string[] = []
    const check = {
      present: (u: string) => !gone.has(u) && u !== offline,
      isGone: (o: { uuid: string }) => {
        asked.push(o.uuid)
        return gone.has(o.uuid)
      },
    }
    const r = h.prune(now, Number.POSITIVE_INFINITY, check)
    expect(r.forgotten).toBe(1)
    expect(series(db)).toEqual(['02:cpu0', '02:memory', '03:cpu0', '03:memory', '05:cpu0', '05:memory'])
    // only the objects not found in a pool are looked at closer
    expect(asked.sort()).toEqual([uuid(1), uuid(2), uuid(5)])
    expect((db.prepare('SELECT count(*) AS n FROM perf_block WHERE series NOT IN (SELECT id FROM perf_series)').get() as { n: number }).n).toBe(0)
    expect(h.sizeBytes()).toBe((db.prepare('SELECT total(length(data)) AS n FROM perf_block').get() as { n: number }).n)
    expect(h.knows(uuid(1))).toBe(false)
    // two days later the second one goes too
    expect(h.prune(now + 2 * 86400, Number.POSITIVE_INFINITY, check).forgotten).toBe(1)
    expect(series(db)).toEqual(['03:cpu0', '03:memory', '05:cpu0', '05:memory'])
    expect(h.cursor(uuid(4))).toBe(now)
  })
})

describe('the objects of the history', () => {
  it('lists every object once, stored or pending, with its connection (the newer one after a move between pools), without reading the table again', () => {
    const now = 1_796_601_600
    const db = new Database(':memory:')
    migrate(db)
    const first = new PerfHistory(db, {}, () => now)
    first.put({ connectionId: 'a', kind: 'vm', uuid: uuid(1), ds: 'cpu0' }, 60, now, 0.5)
    first.put({ connectionId: 'a', kind: 'vm', uuid: uuid(1), ds: 'memory' }, 60, now, 1e9)
    first.put({ connectionId: 'a', kind: 'host', uuid: uuid(2), ds: 'cpu_avg' }, 60, now, 0.25)
    first.flush()
    // the app starts again: stored objects, then one pending, then the VM seen in another pool
    const h = new PerfHistory(db, {}, () => now)
    const byUuid = () => Object.fromEntries(h.objects().map((o) => [o.uuid.slice(-2), `${o.connectionId}:${o.kind}`]))
    expect(byUuid()).toEqual({ '01': 'a:vm', '02': 'a:host' })
    h.put({ connectionId: 'b', kind: 'vm', uuid: uuid(3), ds: 'cpu0' }, 60, now, 0.5)
    h.put({ connectionId: 'b', kind: 'vm', uuid: uuid(1), ds: 'cpu0' }, 60, now + 60, 0.5)
    // a value that is no value does not make an object
    h.put({ connectionId: 'b', kind: 'vm', uuid: uuid(4), ds: 'cpu0' }, 60, now, Number.NaN)
    const prepare = vi.spyOn(db, 'prepare')
    expect(byUuid()).toEqual({ '01': 'b:vm', '02': 'a:host', '03': 'b:vm' })
    expect(h.objects()).toHaveLength(3)
    expect(prepare).not.toHaveBeenCalled()
    prepare.mockRestore()
    // a connection forgotten: its objects go, another's waiting to be written stay (the VM that moved too, though its
    // series row — looked up by a read — was the forgotten connection's)
    expect(h.read(uuid(1), ['cpu0'], now - 60, now + 60, 60).values[0]).toEqual([0.5, 0.5])
    h.forget('a')
    expect(byUuid()).toEqual({ '01': 'b:vm', '03': 'b:vm' })
    // and is written under its own connection
    h.flush()
    expect(db.prepare("SELECT connection_id AS c, count(*) AS n FROM perf_series WHERE uuid = ? GROUP BY connection_id").all(uuid(1))).toEqual([{ c: 'b', n: 1 }])
    expect(h.read(uuid(1), ['cpu0'], now, now + 60, 60).values[0]).toEqual([0.5])
  })
})
