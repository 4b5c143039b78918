import { describe, expect, it } from 'vitest'
import { connectionBadge } from '../../../renderer/src/model/connection'
import { generalSections, type Section } from '../../../renderer/src/model/details'
import { bytes, duration, parseTime } from '../../../renderer/src/model/format'
import { ObjectGraph } from '../../../renderer/src/model/objects'
import { connectionState, generatePool } from './fleet'

const field = (s: Section[] | null, label: string): string | undefined => s?.flatMap((x) => x.fields).find((f) => f.label === label)?.value
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)

describe('General tab', () => {
  const graph = new ObjectGraph()
  const gen = generatePool({ connectionId: 'c1', poolName: 'alpha', hosts: 2, runningPerHost: 2, halted: 1 })
  graph.apply(gen.diff)
  const p = graph.pool('c1')

  it('VM: power state, host, memory, vCPUs, OS, IPs, uptime', () => {
    const s = generalSections(p, 'VM', gen.runningVmRefs[0], undefined, NOW)
    expect(field(s, 'Power state')).toBe('Running')
    expect(field(s, 'Home server')).toBe('alpha-host0')
    expect(field(s, 'Operating system')).toBe('Debian GNU/Linux 12 (bookworm)')
    expect(field(s, 'IP addresses')).toBe('10.0.0.1, fe80::1')
    expect(field(s, 'Uptime')).toBe('2 h 0 min')
    expect(field(s, 'vCPUs')).toBe('2 (max 4)')
    expect(field(s, 'Memory')).toMatch(/^2\.00 GiB/)
    expect(field(s, 'Tags')).toBe('web')
  })

  it('host: CPU, sockets/cores/threads, memory used of total, versions, uptime', () => {
    const s = generalSections(p, 'host', gen.hostRefs[0], undefined, NOW)
    expect(field(s, 'CPU model')).toMatch(/Xeon/)
    expect(field(s, 'Sockets')).toBe('2')
    expect(field(s, 'Cores')).toBe('8')
    expect(field(s, 'Threads')).toBe('16')
    expect(field(s, 'Memory')).toBe('4.00 GiB used of 64.0 GiB (6%)')
    expect(field(s, 'Product')).toBe('XCP-ng 8.3.0')
    expect(field(s, 'XAPI version')).toBe('25.6')
    expect(field(s, 'Role')).toBe('Pool master')
    expect(field(s, 'Uptime')).toBe('5 days 12 h 0 min')
  })

  it('pool, SR and network', () => {
    const conn = connectionState('c1')
    const pool = generalSections(p, 'pool', gen.poolRef, conn, NOW)
    expect(field(pool, 'Master')).toBe('alpha-host0')
    expect(field(pool, 'Servers')).toBe('2')
    expect(field(pool, 'VMs')).toBe('5 (4 running)')
    expect(field(pool, 'High availability')).toBe('Disabled')
    expect(field(pool, 'Status')).toBe('Connected') // words, never the status code
    const sr = generalSections(p, 'SR', gen.sharedSrRef, undefined, NOW)
    expect(field(sr, 'Type')).toBe('nfs')
    expect(field(sr, 'Shared')).toBe('Yes')
    expect(field(sr, 'Size')).toBe('1.82 TiB')
    expect(field(sr, 'Used')).toBe('931 GiB (50%)')
    const net = generalSections(p, 'network', gen.networkRef, undefined, NOW)
    expect(field(net, 'Bridge')).toBe('xenbr0')
  })

  it('an object that disappeared gives nothing (or the connection) rather than stale data', () => {
    expect(generalSections(p, 'VM', 'OpaqueRef:gone', undefined, NOW)).toBeNull()
    expect(field(generalSections(p, 'VM', 'OpaqueRef:gone', connectionState('c1'), NOW), 'Address')).toBe('c1.example')
  })
})

describe('formatting and connection badges', () => {
  it('formats sizes, durations and XAPI dates', () => {
    expect(bytes(0)).toBe('0 B')
    expect(bytes(1536)).toBe('1.50 KiB')
    expect(bytes(-1)).toBe('—')
    expect(duration(90_061_000)).toBe('1 day 1 h 1 min')
    expect(parseTime('20261125T10:00:00Z')).toBe(Date.UTC(2026, 10, 25, 10))
    expect(parseTime('19700101T00:00:00Z')).toBeNaN()
  })
  it('reads connection states for people', () => {
    expect(connectionBadge(connectionState('a'), NOW)).toBeNull()
    expect(connectionBadge(connectionState('a', { status: 'auth-failed' }), NOW)?.text).toBe('Login failed')
    expect(connectionBadge(connectionState('a', { status: 'reconnecting', nextRetryAt: new Date(NOW - 1).toISOString() }), NOW)?.text).toBe('Reconnecting…')
  })
})
