/**
 * Where the bridge connects, decided from the pool's live records (main's graph, no XAPI round
 * trip): the VM's rfb console and resident host, a host's control domain (also on hosts older than
 * host.control_domain).
 */
import { describe, expect, it } from 'vitest'
import type { ConnectionState } from '../../../shared/contract/connection'
import type { PoolHostAccess } from '../../../main/pools/api'
import { PoolConsoleSource, type ConsolePools } from '../../../main/console/pool-source'
import { ConsoleError } from '../../../main/console/errors'
import { ObjectGraph } from '../../../main/pools/graph'

type Tables = Record<string, Record<string, Record<string, unknown>>>

function fakePools(tables: Tables, status: ConnectionState['status'] = 'connected'): { pools: ConsolePools; calls: string[] } {
  const calls: string[] = []
  const state = { id: 'c1', address: 'pool', username: 'root', label: 'Lab', rememberPassword: false, hasPassword: false, forceXmlRpc: false, doNotCache: false, status } satisfies ConnectionState
  const graph = new ObjectGraph()
  for (const [cls, table] of Object.entries(tables)) for (const [ref, rec] of Object.entries(table)) graph.upsert(cls, ref, rec)
  const pools: ConsolePools = {
    get: (id: string) => (id === 'c1' ? state : undefined),
    graph: (id: string) => (id === 'c1' ? graph : undefined),
    call: async (_id: string, method: string) => {
      calls.push(method)
      throw new Error(`unexpected ${method}`)
    },
  }
  return { pools, calls }
}

const noTls: PoolHostAccess = { connectHostTls: async () => Promise.reject(new Error('not in this test')), hostHttp: () => { throw new Error('not in this test') } }

const vm = (over: Record<string, unknown>): Record<string, unknown> => ({
  uuid: 'u1',
  name_label: 'web',
  power_state: 'Running',
  consoles: ['OpaqueRef:c-vt', 'OpaqueRef:c-rfb'],
  resident_on: 'OpaqueRef:h1',
  is_control_domain: false,
  ...over,
})
const tables = (vmOver: Record<string, unknown> = {}, host: Record<string, unknown> = {}): Tables => ({
  VM: { 'OpaqueRef:vm': vm(vmOver), 'OpaqueRef:dom0': vm({ uuid: 'd0', name_label: 'Control domain on host: h1', is_control_domain: true, consoles: ['OpaqueRef:c-d0'] }) },
  console: { 'OpaqueRef:c-vt': { protocol: 'vt100' }, 'OpaqueRef:c-rfb': { protocol: 'rfb' }, 'OpaqueRef:c-d0': { protocol: 'rfb' } },
  host: { 'OpaqueRef:h1': { name_label: 'h1', address: '10.0.0.1', control_domain: 'OpaqueRef:dom0', ...host } },
})

async function refusal(p: Promise<unknown>): Promise<ConsoleError> {
  try {
    await p
  } catch (e) {
    if (e instanceof ConsoleError) return e
    throw e
  }
  throw new Error('expected a refusal')
}

describe('PoolConsoleSource.locate', () => {
  it("picks the VM's rfb console (not its text console) and its resident host's address", async () => {
    const { pools, calls } = fakePools(tables())
    const l = await new PoolConsoleSource(pools, noTls).locate({ connectionId: 'c1', vmRef: 'OpaqueRef:vm' })
    expect(l).toMatchObject({ consoleRef: 'OpaqueRef:c-rfb', hostAddress: '10.0.0.1', hostName: 'h1', vmName: 'web', isControlDomain: false })
    expect(calls).toEqual([])
  })

  it("finds a host's control domain through host.control_domain", async () => {
    const { pools } = fakePools(tables())
    const l = await new PoolConsoleSource(pools, noTls).locate({ connectionId: 'c1', hostRef: 'OpaqueRef:h1' })
    expect(l).toMatchObject({ vmRef: 'OpaqueRef:dom0', consoleRef: 'OpaqueRef:c-d0', isControlDomain: true })
  })

  it('finds the control domain among the VMs on hosts older than host.control_domain', async () => {
    const t = tables()
    const h1 = t['host']?.['OpaqueRef:h1']
    if (h1) delete h1['control_domain']
    const { pools, calls } = fakePools(t)
    const l = await new PoolConsoleSource(pools, noTls).locate({ connectionId: 'c1', hostRef: 'OpaqueRef:h1' })
    expect(l.vmRef).toBe('OpaqueRef:dom0')
    expect(calls).toEqual([])
  })

  it('accepts NULL refs raw or normalised: a VM resident nowhere is not running', async () => {
    for (const resident of ['OpaqueRef:NULL', null]) {
      const { pools } = fakePools(tables({ resident_on: resident }))
      const e = await refusal(new PoolConsoleSource(pools, noTls).locate({ connectionId: 'c1', vmRef: 'OpaqueRef:vm' }))
      expect(e.code).toBe('vm-not-running')
    }
  })

  it('says halted, suspended, no console, offline pool and unknown VM each in its own words', async () => {
    const src = (t: Tables, status?: ConnectionState['status']): PoolConsoleSource => new PoolConsoleSource(fakePools(t, status).pools, noTls)
    const target = { connectionId: 'c1', vmRef: 'OpaqueRef:vm' }
    expect(await refusal(src(tables({ power_state: 'Halted' })).locate(target))).toMatchObject({ code: 'vm-not-running', message: "VM 'web' is not running (Halted): start it to see its console." })
    expect(await refusal(src(tables({ power_state: 'Suspended' })).locate(target))).toMatchObject({ code: 'vm-suspended' })
    expect(await refusal(src(tables({ consoles: ['OpaqueRef:c-vt'] })).locate(target))).toMatchObject({ code: 'no-console' })
    expect(await refusal(src(tables(), 'reconnecting').locate(target))).toMatchObject({ code: 'pool-offline', message: "Pool 'Lab' is reconnecting: consoles need a connected pool. Connect it and try again." })
    expect(await refusal(src(tables()).locate({ connectionId: 'c1', vmRef: 'OpaqueRef:nope' }))).toMatchObject({ code: 'not-found' })
    expect(await refusal(src(tables()).locate({ connectionId: 'zz', vmRef: 'OpaqueRef:vm' }))).toMatchObject({ code: 'not-found' })
  })

  it('honours a console switched off with other_config:disable_pv_vnc on a PV guest', async () => {
    const { pools } = fakePools(tables({ domain_type: 'pv', other_config: { disable_pv_vnc: '1' } }))
    const e = await refusal(new PoolConsoleSource(pools, noTls).locate({ connectionId: 'c1', vmRef: 'OpaqueRef:vm' }))
    expect(e.code).toBe('console-disabled')
    expect(e.message).toBe("VM 'web' has its console switched off (other_config:disable_pv_vnc=1). Remove that key to use the console.")
    const hvm = fakePools(tables({ domain_type: 'hvm', other_config: { disable_pv_vnc: '1' } }))
    expect((await new PoolConsoleSource(hvm.pools, noTls).locate({ connectionId: 'c1', vmRef: 'OpaqueRef:vm' })).consoleRef).toBe('OpaqueRef:c-rfb')
  })

  it('refuses a record of the wrong shape with a sentence instead of crashing', async () => {
    const { pools } = fakePools(tables({ consoles: 'not-a-list' }))
    const e = await refusal(new PoolConsoleSource(pools, noTls).locate({ connectionId: 'c1', vmRef: 'OpaqueRef:vm' }))
    expect(e.code).toBe('not-found')
    expect(e.message).toMatch(/not a record a console can use/)
  })

  it('a running VM whose console ref points nowhere (as in real XenServer 7.2 records) is said so, with a code the viewer does not retry', async () => {
    const { pools } = fakePools(tables({ consoles: ['OpaqueRef:4fa7d34e-1fb6-9e88-1b21-41a3c6550d8b'] }))
    const e = await refusal(new PoolConsoleSource(pools, noTls).locate({ connectionId: 'c1', vmRef: 'OpaqueRef:vm' }))
    expect(e.code).toBe('console-missing')
    expect(e.message).toMatch(/VM 'web' is running but its console .*does not exist in the pool/)
  })

  it('a running VM without any console yet is still "no console yet" (retried while it boots)', async () => {
    const { pools } = fakePools(tables({ consoles: [] }))
    expect((await refusal(new PoolConsoleSource(pools, noTls).locate({ connectionId: 'c1', vmRef: 'OpaqueRef:vm' }))).code).toBe('no-console')
  })
})
