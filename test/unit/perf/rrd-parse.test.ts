/**
 * The RRD parsers on recorded answers (test/fixtures/rrd: /rrd_updates bodies as the simulator
 * serves them per release — XAPI 26.2 JSON and XML, the 24.0–24.10 JSON with data inside meta, the
 * XenServer 7.2 bare-key JSON with bare NaN and its XML — plus xen-api's own full-dump sample).
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseLooseJson, parseRrdDump, parseRrdUpdates, rrdNumber, RrdParseError } from '../../../main/perf/rrd'

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/rrd/${name}`, import.meta.url), 'utf8')

function sameNumbers(a: Float64Array, b: Float64Array, digits: number): void {
  expect(a.length).toBe(b.length)
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    if (Number.isNaN(y)) expect(x).toBeNaN()
    else expect(x).toBeCloseTo(y, digits)
  }
}

describe('/rrd_updates answers', () => {
  it('reads XAPI 26.2 JSON: meta, legend split into cf/kind/uuid/ds, rows newest first, string values as numbers', () => {
    const u = parseRrdUpdates(fixture('updates-26.2.json'))
    expect(u.step).toBe(5)
    expect(u.rows).toBe(u.times.length)
    expect(u.columns).toBe(u.legend.length)
    expect(u.times[0]).toBe(u.end)
    expect(u.times).toEqual([...u.times].sort((a, b) => b - a))
    expect(u.start).toBe(u.times.at(-1))
    const first = u.legend[0]
    expect(first).toMatchObject({ cf: 'AVERAGE', kind: 'host', ds: 'cpu0' })
    expect(u.legend.some((l) => l?.kind === 'vm' && l.ds === 'memory')).toBe(true)
    const cpu0 = u.value(0, 0)
    expect(cpu0).toBeGreaterThan(0)
    expect(cpu0).toBeLessThanOrEqual(1)
  })

  it('reads the same answer alike as JSON, as XML and in the 24.0–24.10 spelling with data inside meta', () => {
    const json = parseRrdUpdates(fixture('updates-26.2.json'))
    const xml = parseRrdUpdates(fixture('updates-26.2.xml'))
    const inMeta = parseRrdUpdates(fixture('updates-24.3-data-in-meta.json'))
    for (const other of [xml, inMeta]) {
      expect(other.legend).toEqual(json.legend)
      expect(other.times).toEqual(json.times)
      sameNumbers(other.data, json.data, 12)
    }
  })

  it('reads XenServer 7.2 JSON (bare keys, bare numbers, NaN unquoted) like its XML', () => {
    const text = fixture('updates-falcon-legacy.json')
    expect(() => JSON.parse(text) as unknown).toThrow()
    const legacy = parseRrdUpdates(text)
    const xml = parseRrdUpdates(fixture('updates-falcon.xml'))
    expect(legacy.legend).toEqual(xml.legend)
    expect(legacy.times).toEqual(xml.times)
    sameNumbers(legacy.data, xml.data, 4)
  })

  it('hands back the previous answer’s legend array while the legend reads the same, a new one when a column differs', () => {
    const text = fixture('updates-26.2.json')
    const first = parseRrdUpdates(text)
    const again = parseRrdUpdates(text, first)
    expect(again.legend).toBe(first.legend)
    // the same text as XML: the same legend too
    expect(parseRrdUpdates(fixture('updates-26.2.xml'), first).legend).toBe(first.legend)
    // one column renamed (a VM gone, another come: same count, another uuid): a legend of its own, parsed from its text
    const doc = JSON.parse(text) as { meta: { legend: string[] } }
    const renamed = doc.meta.legend.at(-1)?.replace(/:vm:[^:]+:/, ':vm:0f0f0f0f-0000-4000-8000-000000000001:') ?? ''
    doc.meta.legend[doc.meta.legend.length - 1] = renamed
    const changed = parseRrdUpdates(JSON.stringify(doc), first)
    expect(changed.legend).not.toBe(first.legend)
    expect(changed.legend.at(-1)?.uuid).toBe('0f0f0f0f-0000-4000-8000-000000000001')
    expect(changed.legend.slice(0, -1)).toEqual(first.legend.slice(0, -1))
  })

  it('reads values as before: blank and empty are gaps, "inf"/"nan" spelled out, zeros kept', () => {
    expect(rrdNumber('0.5')).toBe(0.5)
    expect(rrdNumber(' 2 ')).toBe(2)
    expect(rrdNumber('0')).toBe(0)
    expect(Object.is(rrdNumber('-0'), -0)).toBe(true)
    expect(rrdNumber('')).toBeNaN()
    expect(rrdNumber('   ')).toBeNaN()
    expect(rrdNumber('inf')).toBe(Number.POSITIVE_INFINITY)
    expect(rrdNumber('-inf')).toBe(Number.NEGATIVE_INFINITY)
    expect(rrdNumber('-nan')).toBeNaN()
    expect(rrdNumber('Infinity')).toBe(Number.POSITIVE_INFINITY)
    expect(rrdNumber('1e3')).toBe(1000)
    expect(rrdNumber('x1')).toBeNaN()
  })

  it('keeps gaps as NaN: rows from before a VM started', () => {
    const u = parseRrdUpdates(fixture('updates-falcon-gap.json'))
    const rows = Array.from({ length: u.rows }, (_, r) => Array.from({ length: u.columns }, (_, c) => u.value(r, c)))
    const empty = rows.filter((r) => r.every((v) => Number.isNaN(v)))
    const full = rows.filter((r) => r.every((v) => Number.isFinite(v)))
    expect(empty.length).toBeGreaterThan(0)
    expect(full.length).toBeGreaterThan(0)
    expect(empty.length + full.length).toBe(u.rows)
    // newest first: the empty rows are the oldest
    expect(rows.findIndex((r) => r.every((v) => Number.isNaN(v)))).toBeGreaterThan(rows.findIndex((r) => r.every((v) => Number.isFinite(v))))
  })

  it('reports the step the host chose: 60 s asked from 3 hours back comes as hourly rows', () => {
    const u = parseRrdUpdates(fixture('updates-step-3600.json'))
    expect(u.step).toBe(3600)
    for (let i = 1; i < u.rows; i++) expect((u.times[i - 1] ?? 0) - (u.times[i] ?? 0)).toBe(3600)
  })

  it('keeps each host’s own clock: two hosts asked at the same instant, one running 95 s ahead', () => {
    const a = parseRrdUpdates(fixture('updates-skew-host1.json'))
    const b = parseRrdUpdates(fixture('updates-skew-host2-ahead-95s.json'))
    expect(a.step).toBe(60)
    expect(b.step).toBe(60)
    expect(b.end - a.end).toBeGreaterThanOrEqual(60)
    expect(b.end - a.end).toBeLessThanOrEqual(120)
  })

  it('refuses malformed answers with a sentence saying what is wrong', () => {
    const ok = { meta: { start: 0, step: 5, end: 10, rows: 1, columns: 2, legend: ['AVERAGE:host:h:cpu0', 'AVERAGE:host:h:cpu1'] }, data: [{ t: 10, values: ['1', '2'] }] }
    const bad = (patch: (d: typeof ok) => unknown): string => {
      const d = structuredClone(ok)
      const text = JSON.stringify(patch(d) ?? d)
      try {
        parseRrdUpdates(text)
      } catch (e) {
        expect(e).toBeInstanceOf(RrdParseError)
        return (e as Error).message
      }
      return 'parsed'
    }
    expect(bad((d) => void (d.data[0] = { t: 10, values: ['1'] }))).toMatch(/row 0 of the RRD answer has 1 values but the legend names 2/)
    expect(bad((d) => void (d.meta.columns = 3))).toMatch(/declares 3 columns but its legend names 2/)
    expect(bad((d) => void (d.meta.step = 0))).toMatch(/step is 0 s; it must be positive/)
    expect(bad((d) => ({ meta: { ...d.meta, legend: undefined }, data: d.data }))).toMatch(/no legend/)
    expect(bad((d) => void ((d.data[0] as { t: unknown }).t = 'soon'))).toMatch(/time of row 0 is not a whole number/)
    expect(() => parseRrdUpdates('<html><body>502 Bad Gateway</body></html>')).toThrow(/should have <xport>/)
    expect(() => parseRrdUpdates('Internal error')).toThrow(/neither XML nor JSON/)
    expect(() => parseRrdUpdates(`{meta: {start: 1, step: 5`)).toThrow(/not valid JSON: a missing "," or "}" at offset 25/)
    expect(() => parseLooseJson('['.repeat(100) + ']'.repeat(100))).toThrow(/nesting deeper than 16 levels/)
    // a value that is not a number is a gap, never a guess
    const d = structuredClone(ok)
    d.data[0] = { t: 10, values: ['fast', ''] }
    const u = parseRrdUpdates(JSON.stringify(d))
    expect(u.value(0, 0)).toBeNaN()
    expect(u.value(0, 1)).toBeNaN()
    // a legend entry of an unknown shape is kept as null (ignored), not fatal
    d.meta.legend[1] = 'AVERAGE:pool:x'
    expect(parseRrdUpdates(JSON.stringify(d)).legend[1]).toBeNull()
  })
})

describe('full RRD dumps (/host_rrd, /vm_rrd)', () => {
  it('reads xen-api’s own sample: data sources, archives per CF, rows oldest first, times from lastupdate', () => {
    const dump = parseRrdDump(fixture('xapi-full-dump-flip-flop.xml'))
    expect(dump.step).toBe(5)
    expect(dump.lastUpdate).toBe(100)
    expect(dump.ds).toEqual([{ name: 'flip_flop', type: 'DERIVE', min: 0, max: Number.POSITIVE_INFINITY }])
    expect(dump.archives.map((a) => a.cf)).toEqual(['AVERAGE', 'MIN', 'MAX'])
    const avg = dump.archives[0]
    if (!avg) throw new Error('no archive')
    expect(avg.resolution).toBe(5)
    expect(avg.times.at(-1)).toBe(100)
    expect(avg.data.at(-1)).toBe(19)
    expect(avg.data.at(-2)).toBe(-19)
    expect(avg.data[0]).toBeNaN()
    expect(avg.times[1]! - avg.times[0]!).toBe(5)
  })
  it('refuses a dump whose rows do not match its data sources', () => {
    const broken = fixture('xapi-full-dump-flip-flop.xml').replace('<row><v>19.0000</v></row>', '<row><v>19.0000</v><v>1</v></row>')
    expect(() => parseRrdDump(broken)).toThrow(/row \d+ of archive 0 of the RRD dump has 2 values for 1 data sources/)
  })
})
