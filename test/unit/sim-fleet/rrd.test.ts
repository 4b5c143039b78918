import { describe, expect, it } from 'vitest'
import type { SimPoolSpec, SimRecord } from '../../sim/model'
import { buildFleet, FLEET_EPOCH_MS } from '../../sim/fleet'
import { dataSources, formatFToS, formatG15, formatXml, isPeggedVm, jsonSpellingOf, recordDataSource, rrdDump, rrdUpdates, type RrdQuery } from '../../sim/rrd'
import { parseRrdDump, parseRrdUpdates } from '../../../main/perf/rrd'

const fleet = buildFleet('tiny')
const pool = fleet.pools[0] as SimPoolSpec
const host = pool.hosts[0]
if (!host) throw new Error('tiny-current has no host')
const now = Math.floor(FLEET_EPOCH_MS / 1000) + 17
const hostRec = pool.objects.get('host')?.get(host.ref) as SimRecord
const residents = (hostRec.resident_VMs as string[]).map((r) => pool.objects.get('VM')?.get(r) as SimRecord)

interface Parsed {
  meta: { start: number; step: number; end: number; rows: number; columns: number; legend: string[] }
  data: { t: number; values: string[] }[]
}

/** the xport document, read with plain patterns: the format is flat and fixed */
function parseXml(body: string): Parsed {
  const one = (tag: string): number => Number(new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body)?.[1])
  const legend = [...body.matchAll(/<entry>([^<]*)<\/entry>/g)].map((m) => m[1] ?? '')
  const data = [...body.matchAll(/<row><t>(\d+)<\/t>((?:<v>[^<]*<\/v>)*)<\/row>/g)].map((m) => ({
    t: Number(m[1]),
    values: [...(m[2] ?? '').matchAll(/<v>([^<]*)<\/v>/g)].map((v) => v[1] ?? ''),
  }))
  return { meta: { start: one('start'), step: one('step'), end: one('end'), rows: one('rows'), columns: one('columns'), legend }, data }
}

const query = (q: Partial<RrdQuery>): RrdQuery => ({ hostRef: host.ref, start: now - 60, interval: 5, cf: 'AVERAGE', json: false, includeHost: true, now, ...q })

describe('rrd_updates', () => {
  it('answers an xport XML document by default, rows newest first, one value per legend entry', () => {
    const r = rrdUpdates(pool, query({}))
    expect(r.contentType).toBe('text/xml')
    expect(r.body.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<xport><meta><start>')).toBe(true)
    const x = parseXml(r.body)
    expect(x.meta.step).toBe(5)
    expect(x.meta.end).toBe(Math.floor(now / 5) * 5)
    expect(x.meta.rows).toBe(x.data.length)
    expect(x.data.length).toBe(12)
    expect(x.meta.columns).toBe(x.meta.legend.length)
    for (const row of x.data) expect(row.values).toHaveLength(x.meta.columns)
    const ts = x.data.map((d) => d.t)
    expect(ts).toEqual([...ts].sort((a, b) => b - a))
    expect(ts[0]).toBe(x.meta.end)
    for (const row of x.data) for (const v of row.values) expect(v).toMatch(/^(NaN|-?\d+(\.\d+)?(e[+-]\d+)?)$/)
  })

  it('covers the host (cpuN per logical CPU, memory, load, PIFs) and each resident VM', () => {
    const x = parseXml(rrdUpdates(pool, query({})).body)
    const hostUuid = String(hostRec.uuid)
    const hostDs = x.meta.legend.filter((l) => l.startsWith(`AVERAGE:host:${hostUuid}:`)).map((l) => l.split(':')[3])
    expect(hostDs.filter((d) => /^cpu\d+$/.test(d ?? ''))).toHaveLength(32)
    expect(hostDs).toEqual(expect.arrayContaining(['cpu_avg', 'memory_total_kib', 'memory_free_kib', 'loadavg', 'pif_eth0_rx', 'pif_eth0_tx', 'pif_eth1_rx']))
    for (const vm of residents) {
      const ds = x.meta.legend.filter((l) => l.startsWith(`AVERAGE:vm:${String(vm.uuid)}:`)).map((l) => l.split(':')[3])
      const vcpus = Number(vm.VCPUs_at_startup)
      expect(ds.filter((d) => /^cpu\d+$/.test(d ?? ''))).toHaveLength(vcpus)
      expect(ds).toContain('memory')
      if (vm.is_control_domain === false) expect(ds).toEqual(expect.arrayContaining(['vif_0_rx', 'vif_0_tx', 'vbd_xvda_read', 'vbd_xvda_write']))
    }
    // nothing from VMs resident elsewhere
    const otherVms = [...(pool.objects.get('VM')?.values() ?? [])].filter((v) => v.resident_on !== host.ref)
    for (const vm of otherVms) expect(x.meta.legend.some((l) => l.includes(String(vm.uuid)))).toBe(false)
    const i = x.meta.legend.indexOf(`AVERAGE:host:${hostUuid}:memory_total_kib`)
    const metrics = pool.objects.get('host_metrics')?.get(String(hostRec.metrics))
    expect(Number(x.data[0]?.values[i])).toBeCloseTo(Number(metrics?.memory_total) / 1024, 3)
    const free = Number(x.data[0]?.values[x.meta.legend.indexOf(`AVERAGE:host:${hostUuid}:memory_free_kib`)])
    expect(free).toBeGreaterThan(0)
    expect(free).toBeLessThanOrEqual(Number(metrics?.memory_total) / 1024)
  })

  it('answers JSON with string values and numeric meta when json=true', () => {
    const r = rrdUpdates(pool, query({ json: true, start: now - 7200, interval: 60, cf: 'MAX' }))
    expect(r.contentType).toBe('application/json')
    const j = JSON.parse(r.body) as Parsed
    expect(j.meta.step).toBe(60)
    expect(j.meta.rows).toBe(j.data.length)
    expect(j.data.length).toBe(120)
    expect(j.meta.legend.every((l) => l.startsWith('MAX:'))).toBe(true)
    for (const row of j.data.slice(0, 3)) {
      expect(row.values).toHaveLength(j.meta.columns)
      for (const v of row.values) expect(typeof v).toBe('string')
    }
    expect(j.data[0]?.t).toBeGreaterThan(j.data[1]?.t ?? Infinity)
  })

  it('leaves the host out unless host=true, and filters VMs by uuid', () => {
    const vm = residents.find((v) => v.is_control_domain === false)
    if (!vm) throw new Error('no guest on host 1')
    const x = parseXml(rrdUpdates(pool, query({ includeHost: false, vmUuids: [String(vm.uuid)] })).body)
    expect(x.meta.legend.length).toBeGreaterThan(0)
    expect(x.meta.legend.every((l) => l.startsWith(`AVERAGE:vm:${String(vm.uuid)}:`))).toBe(true)
  })

  it('picks the archive step from the interval and the age of start', () => {
    expect(parseXml(rrdUpdates(pool, query({ interval: 0, start: now - 300 })).body).meta.step).toBe(5)
    expect(parseXml(rrdUpdates(pool, query({ interval: 0, start: now - 3 * 3600 })).body).meta.step).toBe(3600)
    expect(parseXml(rrdUpdates(pool, query({ interval: 3600, start: now - 86400 })).body).meta.step).toBe(3600)
    const day = parseXml(rrdUpdates(pool, query({ interval: 86400, start: now - 30 * 86400, includeHost: false })).body)
    expect(day.meta.step).toBe(86400)
    expect(day.data).toHaveLength(30)
    // a negative start counts back from the last update; the row at start itself comes too (xapi-rrd)
    expect(parseXml(rrdUpdates(pool, query({ start: -60 })).body).data).toHaveLength(13)
    // asking for 60 s rows from 3 hours ago: the 60 s archive keeps 2 hours, so XAPI answers hourly rows
    expect(parseXml(rrdUpdates(pool, query({ interval: 60, start: now - 3 * 3600 })).body).meta.step).toBe(3600)
  })

  it('fills rows from before a VM started with NaN', () => {
    const vm = residents.find((v) => v.is_control_domain === false)
    if (!vm) throw new Error('no guest on host 1')
    const started = pool.objects.get('VM_metrics')?.get(String(vm.metrics))?.start_time
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(String(started))
    const startedAt = Date.UTC(Number(m?.[1]), Number(m?.[2]) - 1, Number(m?.[3]), Number(m?.[4]), Number(m?.[5]), Number(m?.[6])) / 1000
    const x = parseXml(rrdUpdates(pool, query({ includeHost: false, vmUuids: [String(vm.uuid)], interval: 5, start: startedAt - 100, now: startedAt + 100 })).body)
    const before = x.data.filter((d) => d.t < startedAt)
    const after = x.data.filter((d) => d.t >= startedAt)
    expect(before.length).toBeGreaterThan(0)
    expect(after.length).toBeGreaterThan(0)
    for (const d of before) expect(d.values.every((v) => v === 'NaN')).toBe(true)
    for (const d of after) expect(d.values.some((v) => v === 'NaN')).toBe(false)
  })

  it('is deterministic: overlapping queries agree on shared rows', () => {
    const a = parseXml(rrdUpdates(pool, query({ start: now - 60 })).body)
    const b = parseXml(rrdUpdates(pool, query({ start: now - 30 })).body)
    for (const row of b.data) expect(a.data.find((r) => r.t === row.t)?.values).toEqual(row.values)
  })

  it('refuses a host outside the pool', () => {
    expect(() => rrdUpdates(pool, query({ hostRef: 'OpaqueRef:NULL' }))).toThrow(/not in pool/)
  })
})

describe('number formats', () => {
  it('writes JSON values like %0.15g and XML values like xapi-rrd f_to_s', () => {
    expect([0, 1, 0.1, 1 / 3, 8589934592, 1e-5, 1.5e20, Number.NaN, Number.POSITIVE_INFINITY, -2.5].map(formatG15)).toEqual([
      '0',
      '1',
      '0.1',
      '0.333333333333333',
      '8589934592',
      '1e-05',
      '1.5e+20',
      'NaN',
      'Infinity',
      '-2.5',
    ])
    expect([0, 1, 0.012345, Number.NaN].map(formatXml)).toEqual(['0.0', '1.0000', '0.0123', 'NaN'])
  })
})

describe('spellings of the releases', () => {
  const q = query({ json: true, start: now - 30 })
  it('writes bare keys and bare NaN before 23.31, data inside meta until 24.10, data beside meta after', () => {
    expect(jsonSpellingOf('falcon')).toBe('legacy')
    expect(jsonSpellingOf('23.30.0')).toBe('legacy')
    expect(jsonSpellingOf('24.3.0')).toBe('data-in-meta')
    expect(jsonSpellingOf('24.14.0')).toBe('current')
    const legacy = rrdUpdates(pool, q, 'legacy').body
    expect(legacy.startsWith('{meta: {start: ')).toBe(true)
    expect(() => JSON.parse(legacy) as unknown).toThrow()
    const inMeta = JSON.parse(rrdUpdates(pool, q, 'data-in-meta').body) as { meta: { data?: unknown[] }; data?: unknown[] }
    expect(inMeta.data).toBeUndefined()
    expect(inMeta.meta.data?.length).toBeGreaterThan(0)
    // all three read the same through the client's parser
    const a = parseRrdUpdates(legacy)
    const b = parseRrdUpdates(rrdUpdates(pool, q, 'data-in-meta').body)
    const c = parseRrdUpdates(rrdUpdates(pool, q, 'current').body)
    expect(a.legend).toEqual(c.legend)
    expect(b.times).toEqual(c.times)
    for (let i = 0; i < c.data.length; i++) {
      const x = c.data[i] ?? 0
      if (Number.isNaN(x)) expect(a.data[i]).toBeNaN()
      else expect(a.data[i]).toBeCloseTo(x, 3)
      expect(b.data[i]).toBe(c.data[i])
    }
    expect(formatFToS(0)).toBe('0.0')
  })
})

describe('whole RRDs and data sources', () => {
  const vm = residents.find((v) => v.is_control_domain === false) as SimRecord
  it('dumps every archive (5 s, 60 s, 1 h, 1 day) in AVERAGE, MIN and MAX, rows oldest first, XML and JSON alike', () => {
    const x = parseRrdDump(rrdDump(pool, { kind: 'vm', rec: vm }, now, false))
    const j = parseRrdDump(rrdDump(pool, { kind: 'vm', rec: vm }, now, true))
    expect(x.archives.map((a) => `${a.cf}/${a.resolution}/${a.rows}`)).toEqual(
      ['5/120', '60/120', '3600/168', '86400/366'].flatMap((r) => ['AVERAGE', 'MIN', 'MAX'].map((cf) => `${cf}/${r}`)),
    )
    expect(j.ds.map((d) => d.name)).toEqual(x.ds.map((d) => d.name))
    const avg60 = x.archives.find((a) => a.cf === 'AVERAGE' && a.resolution === 60)
    expect(avg60?.times.at(-1)).toBe(Math.floor(now / 60) * 60)
    expect(avg60?.times[1]! - avg60?.times[0]!).toBe(60)
  })
  it('lists data sources with units and -Infinity minimums, and records a non-standard one from now on', () => {
    const sources = dataSources(pool, { kind: 'vm', rec: vm }, now)
    const cpu = sources.find((s) => s.name_label === 'cpu0')
    expect(cpu).toMatchObject({ enabled: true, standard: true, units: '(fraction)', min: 0, max: 1 })
    const extra = sources.find((s) => s.name_label === 'runstate_fullrun')
    expect(extra).toMatchObject({ enabled: false, standard: false })
    expect(dataSources(pool, { kind: 'host', rec: hostRec }, now).some((s) => s.min === Number.NEGATIVE_INFINITY)).toBe(true)
    const legendOf = (t: number): string[] => parseXml(rrdUpdates(pool, query({ includeHost: false, vmUuids: [String(vm.uuid)], now: t, start: t - 10 })).body).meta.legend
    expect(legendOf(now).some((l) => l.endsWith(':runstate_fullrun'))).toBe(false)
    expect(recordDataSource(pool, { kind: 'vm', rec: vm }, 'no_such_source', now)).toBe(false)
    expect(recordDataSource(pool, { kind: 'vm', rec: vm }, 'runstate_fullrun', now)).toBe(true)
    expect(legendOf(now + 30).some((l) => l.endsWith(':runstate_fullrun'))).toBe(true)
    expect(dataSources(pool, { kind: 'vm', rec: vm }, now).find((s) => s.name_label === 'runstate_fullrun')?.enabled).toBe(true)
  })
})

describe('realistic series', () => {
  const demo = buildFleet('demo')
  const prod = demo.pools.find((p) => p.name === 'Production') as SimPoolSpec
  const vms = [...(prod.objects.get('VM')?.values() ?? [])].filter((v) => v.power_state === 'Running' && v.is_control_domain !== true)
  it('has a VM pegging its CPUs in the demo Production pool, well above every other', () => {
    const pegged = vms.filter(isPeggedVm)
    expect(pegged.length).toBeGreaterThan(0)
    const cpuOf = (vm: SimRecord): number => {
      const u = parseRrdUpdates(rrdUpdates(prod, { hostRef: String(vm.resident_on), start: now - 600, interval: 60, cf: 'AVERAGE', json: true, includeHost: false, vmUuids: [String(vm.uuid)], now }).body)
      const c = u.legend.findIndex((l) => l?.ds === 'cpu_usage')
      let s = 0
      for (let r = 0; r < u.rows; r++) s += u.value(r, c)
      return s / u.rows
    }
    for (const p of pegged) expect(cpuOf(p)).toBeGreaterThan(0.9)
    const others = vms.filter((v) => !isPeggedVm(v)).slice(0, 20).map(cpuOf)
    expect(Math.max(...others)).toBeLessThan(0.9)
  })
  it('follows a daily cycle and has short bursts', () => {
    const vm = vms.find((v) => !isPeggedVm(v)) as SimRecord
    const day = parseRrdUpdates(rrdUpdates(prod, { hostRef: String(vm.resident_on), start: now - 7 * 86400, interval: 3600, cf: 'AVERAGE', json: true, includeHost: false, vmUuids: [String(vm.uuid)], now }).body)
    const c = day.legend.findIndex((l) => l?.ds === 'cpu_usage')
    const hourly = Array.from({ length: day.rows }, (_, r) => day.value(r, c))
    expect(Math.max(...hourly) - Math.min(...hourly)).toBeGreaterThan(0.1)
    // over a day of 60 s rows, some minutes jump well above their two hours' mean
    let bursts = 0
    for (let k = 0; k < 12; k++) {
      const at = now + k * 7200
      const fine = parseRrdUpdates(rrdUpdates(prod, { hostRef: String(vm.resident_on), start: at - 7200, interval: 60, cf: 'AVERAGE', json: true, includeHost: false, vmUuids: [String(vm.uuid)], now: at }).body)
      expect(fine.step).toBe(60)
      const col = fine.legend.findIndex((l) => l?.ds === 'cpu_usage')
      const v = Array.from({ length: fine.rows }, (_, r) => fine.value(r, col))
      const mean = v.reduce((a, x) => a + x, 0) / v.length
      bursts += v.filter((x) => x > mean + 0.15).length
    }
    expect(bursts).toBeGreaterThan(0)
  })
})
