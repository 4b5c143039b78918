/**
 * The history never answers a time that has not come yet: buckets are labelled by their end, and the
 * bucket holding the range's end would otherwise end after it (seen as a flaky 24 h service test when
 * the newest row was less than a bucket old).
 */
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { PerfHistory } from '../../../main/cache/perf'
import { migrate } from '../../../main/cache/schema'

describe('performance history read', () => {
  it('keeps every point inside (from, to], also when the newest row is younger than a bucket', () => {
    const db = new Database(':memory:')
    migrate(db)
    const to = 1_796_656_109 // not a multiple of 60 or 120
    const h = new PerfHistory(db, {}, () => to)
    const key = { connectionId: 'c', kind: 'vm' as const, uuid: '11111111-2222-3333-4444-555555555555', ds: 'cpu0' }
    for (let t = to - 86_400; t <= to; t += 60) h.put(key, 60, t, 0.5)
    h.flush()
    for (const bucket of [60, 120, 600, 3600]) {
      const r = h.read(key.uuid, ['cpu0'], to - 86_400, to, bucket)
      expect(r.times.length).toBeGreaterThan(20)
      expect(r.times.every((t, i) => i === 0 || t > (r.times[i - 1] ?? 0))).toBe(true)
      expect(r.times[0]).toBeGreaterThan(to - 86_400)
      expect(r.times.at(-1)).toBeLessThanOrEqual(to)
    }
    db.close()
  })
})
