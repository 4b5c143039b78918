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
})
