import { describe, expect, it } from 'vitest'
import type { SimPoolSpec, SimRecord } from '../../sim/model'
import { buildFleet, FLEET_EPOCH_MS } from '../../sim/fleet'
import { formatG15, formatXml, rrdUpdates, type RrdQuery } from '../../sim/rrd'

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
    for (const row of x.data) for (const v of row.values) expect(v).toMatch(/^(NaN|-?\d+\.\d+)$/)
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
    const i = x.meta.legend.indexOf(`AVERAGE:host:${hostUuid}:memory_free_kib`)
    const metrics = pool.objects.get('host_metrics')?.get(String(hostRec.metrics))
    expect(Number(x.data[0]?.values[i])).toBeCloseTo(Number(metrics?.memory_free) / 1024, 3)
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
    // a negative start counts back from now
    expect(parseXml(rrdUpdates(pool, query({ start: -60 })).body).data).toHaveLength(12)
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
