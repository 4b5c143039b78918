/**
 * The pool drift report (shared/drift/drift.ts) on the demo fleet's records: Production's iSCSI path B is cabled to
 * eth4 on three hosts and eth5 on the fourth, and its backup VLAN is missing on the fourth — both flagged; what
 * matches is not. Fleet drift compares pools of one kind; CSV and Markdown exports keep every value and cannot
 * smuggle a spreadsheet formula.
 */
import { describe, expect, it } from 'vitest'
import { buildFleet } from '../../sim/fleet'
import type { SimPoolSpec } from '../../sim/model'
import { driftCsv, driftMarkdown, fleetDrift, poolDrift, poolKind, type DriftSource } from '../../../shared/drift/drift'
import { clockSkews, durationWords, withClockRow } from '../../../shared/drift/clocks'

const fleet = buildFleet('demo', { opDurationMs: 0 })
const src = (p: SimPoolSpec): DriftSource => ({ table: (cls) => p.objects.get(cls) ?? new Map() })
const pool = (name: string): SimPoolSpec => {
  const p = fleet.pools.find((x) => x.name === name)
  if (!p) throw new Error(`no pool ${name}`)
  return p
}

describe('poolDrift', () => {
  it('flags the PIF device ↔ network mismatch and the missing VLAN of Production, not what matches', () => {
    const r = poolDrift(src(pool('Production')), 'c1', 'Production')
    expect(r.hosts.map((h) => h.name)).toEqual(['xs-prod-01', 'xs-prod-02', 'xs-prod-03', 'xs-prod-04'])
    const row = (s: string) => r.rows.find((x) => x.setting === s)
    expect(row('Network “iSCSI path B”: PIF')).toMatchObject({ differs: true, values: ['eth4', 'eth4', 'eth4', 'eth5'] })
    expect(row('Network “Backup (VLAN 40)”: PIF')).toMatchObject({ differs: true, values: ['eth1 (VLAN 40)', 'eth1 (VLAN 40)', 'eth1 (VLAN 40)', '—'] })
    expect(row('Product version')?.differs).toBe(false)
    expect(row('Management interface')?.differs).toBe(false)
    expect(row('NUMA affinity policy')).toMatchObject({ differs: true })
    expect(row('Control domain memory')?.values[0]).toMatch(/MiB$/)
  })

  it('exports CSV (formula-safe) and Markdown with every host and the differing settings marked', () => {
    const r = poolDrift(src(pool('Production')), 'c1', 'Production')
    const csv = driftCsv(r)
    expect(csv.split('\r\n')[0]).toBe('Group,Setting,Differs,xs-prod-01,xs-prod-02,xs-prod-03,xs-prod-04')
    expect(csv).toContain('Networking,Network “iSCSI path B”: PIF,yes,eth4,eth4,eth4,eth5')
    const evil = { ...r, rows: [{ group: 'Software' as const, setting: '=HYPERLINK("x")', values: ['a,b', '"q"', '@x', '+1'], differs: true }] }
    expect(driftCsv(evil).split('\r\n')[1]).toBe(`Software,"'=HYPERLINK(""x"")",yes,"a,b","""q""",'@x,'+1`)
    const md = driftMarkdown(r, '07/12/2026, 19:00:00')
    expect(md).toContain('_From the offline cache, as of 07/12/2026, 19:00:00._')
    expect(md).toContain('| ⚠ Network “iSCSI path B”: PIF | **eth4** | **eth4** | **eth4** | **eth5** |')
  })
})

describe('fleetDrift', () => {
  it('compares every host of the pools of one kind', () => {
    const kinds = fleet.pools.map((p) => poolKind(src(p)))
    const kind = poolKind(src(pool('Production')))
    const same = fleet.pools.filter((_, i) => kinds[i] === kind)
    const r = fleetDrift(same.map((p, i) => ({ src: src(p), connectionId: `c${i}`, fallbackName: p.name })), kind)
    expect(r.hosts.length).toBe(same.reduce((n, p) => n + p.hosts.length, 0))
    expect(r.rows.find((x) => x.setting === 'Product version')?.values.every((v) => v === r.rows.find((x) => x.setting === 'Product version')?.values[0])).toBe(true)
  })

  it('the demo has two XenServer 8 pools (Production and Production-DR) whose time zone and NTP differ', () => {
    const kind = poolKind(src(pool('Production')))
    expect(poolKind(src(pool('Production-DR')))).toBe(kind)
    const same = fleet.pools.filter((p) => poolKind(src(p)) === kind)
    expect(same.map((p) => p.name)).toEqual(['Production', 'Production-DR'])
    const r = fleetDrift(same.map((p, i) => ({ src: src(p), connectionId: `c${i}`, fallbackName: p.name })), kind)
    const row = (s: string) => r.rows.find((x) => x.setting === s)
    expect(row('Time zone')).toMatchObject({ differs: true, values: ['UTC', 'UTC', 'UTC', 'UTC', 'Europe/Berlin', 'Europe/Berlin'] })
    expect(row('NTP')).toMatchObject({ differs: true })
    expect(row('NTP')?.values[5]).toBe('custom: ntp1.dr.example.net, ntp2.dr.example.net')
    expect(row('Product version')?.differs).toBe(false)
    // inside each pool, time zone and NTP match
    for (const p of same) expect(poolDrift(src(p), 'c', p.name).rows.find((x) => x.setting === 'Time zone')?.differs).toBe(false)
  })
})

describe('time skew', () => {
  const clocks = (offsets: (number | null)[], masterIndex = 0) => ({
    readAt: '2026-12-07T22:00:00.000Z',
    masterRef: `OpaqueRef:h${masterIndex}`,
    hosts: offsets.map((o, i) => ({ hostRef: `OpaqueRef:h${i}`, hostName: `xs-prod-0${i + 1}`, offsetMs: o, uncertaintyMs: o === null ? null : 520, ...(o === null ? { problem: `xs-prod-0${i + 1} did not say its time: timed out.` } : {}) })),
  })

  it('says durations in words', () => {
    expect(durationWords(252_000)).toBe('4 min 12 s')
    expect(durationWords(-3_400)).toBe('3 s')
    expect(durationWords(3_600_000 + 180_000)).toBe('1 h 3 min')
    expect(durationWords(7_200_000)).toBe('2 h')
    expect(durationWords(2 * 86_400_000 + 4 * 3_600_000 + 99_000)).toBe('2 d 4 h')
    expect(durationWords(60_000)).toBe('1 min')
  })

  it('gives each host its skew from the master in words; within 2 s they agree; an unanswered host is unknown', () => {
    const s = clockSkews(clocks([1_000, 1_700, 253_100, -90_000, null]))
    expect(s.masterName).toBe('xs-prod-01')
    expect(s.skewed.map((h) => h.sentence)).toEqual(['xs-prod-03 is 4 min 12 s ahead of the master.', 'xs-prod-04 is 1 min 31 s behind the master.'])
    expect(s.hosts.map((h) => h.cell)).toEqual(['master', 'agrees', '4 min 12 s ahead', '1 min 31 s behind', '—'])
    expect(s.hosts[4]?.sentence).toBe('xs-prod-05 did not say its time: timed out.')
    expect(s.summary).toBe('xs-prod-03 is 4 min 12 s ahead of the master. xs-prod-04 is 1 min 31 s behind the master.')
    expect(clockSkews(clocks([0, 1_500, -1_900])).summary).toBe('Every host that answered agrees with the master (xs-prod-01) within 2 s.')
    // the master's clock unknown: nobody's skew is known
    expect(clockSkews(clocks([null, 5_000])).hosts.map((h) => h.skewMs)).toEqual([null, null])
  })

  it('adds a "Clock (vs the master)" row to the pool report, flagged when a host is skewed, exported with the rest', () => {
    const base = poolDrift(src(pool('Production')), 'c1', 'Production')
    const refs = base.hosts.map((h) => h.ref)
    const c = { readAt: '2026-12-07T22:00:00.000Z', masterRef: refs[0] ?? '', hosts: base.hosts.map((h, i) => ({ hostRef: h.ref, hostName: h.name, offsetMs: i === 2 ? 252_400 : 300, uncertaintyMs: 510 })) }
    const r = withClockRow(base, clockSkews(c))
    const at = r.rows.findIndex((x) => x.setting === 'Clock (vs the master)')
    expect(r.rows[at]).toMatchObject({ group: 'Time and names', differs: true, values: ['master', 'agrees', '4 min 12 s ahead', 'agrees'] })
    expect(r.rows[at - 1]?.group).toBe('Time and names')
    expect(r.rows[at + 1]?.group).toBe('Resources')
    expect(driftCsv(r)).toContain('Time and names,Clock (vs the master),yes,master,agrees,4 min 12 s ahead,agrees')
    expect(driftMarkdown(r)).toContain('| ⚠ Clock (vs the master) | **master** | **agrees** | **4 min 12 s ahead** | **agrees** |')
  })
})
