/**
 * The Migrate wizard's rules for VMs of several pools and a server per VM (issue 17):
 * - each VM's server: the user's pick, else the common choice unless XAPI refused it for that VM,
 *   else the NUMA advisor's best server XAPI accepts (serverFor);
 * - a refusal every server gives for the same reason is about the VM, not the servers (refusedEverywhere);
 * - XAPI is asked VMs × servers times: at most `limit` migrate.check calls at once, each answer
 *   kept for the wizard's run per VM × server × choices (MigrationChecks), main asks at most a few
 *   servers at once (mapLimited);
 * - VMs of several pools open one wizard (migrateCanRun), storage motion stays within one pool.
 */
import { describe, expect, it } from 'vitest'
import type { MigrationCheck } from '../../../shared/contract/migrate'
import { mapLimited } from '../../../shared/operations/migrate'
import { BEST_SERVER, MigrationChecks, refusedEverywhere, serverFor, sourcesSentence, type CheckItem } from '../../../renderer/src/model/migrate'
import { migrateCanRun } from '../../../renderer/src/commands/migrate'

const H = ['OpaqueRef:h1', 'OpaqueRef:h2', 'OpaqueRef:h3']
const [h1 = '', h2 = '', h3 = ''] = H

describe('serverFor', () => {
  const none = () => false
  it('takes the user’s pick for the VM first, then the common choice', () => {
    expect(serverFor({ picked: h3, common: h1, hosts: H, refused: none, ranked: [h2] })).toBe(h3)
    expect(serverFor({ common: h1, hosts: H, refused: none, ranked: [h2] })).toBe(h1)
  })
  it('a common server XAPI refused for this VM gives way to the NUMA advisor’s best server XAPI accepts', () => {
    expect(serverFor({ common: h1, hosts: H, refused: (h) => h === h1, ranked: [h3, h2] })).toBe(h3)
    expect(serverFor({ common: h1, hosts: H, refused: (h) => h === h1 || h === h3, ranked: [h3, h2] })).toBe(h2)
  })
  it('"each VM to its best server" follows the advisor, skipping refused servers; without advice, the first server XAPI accepts', () => {
    expect(serverFor({ common: BEST_SERVER, hosts: H, refused: none, ranked: [h2, h1] })).toBe(h2)
    expect(serverFor({ common: BEST_SERVER, hosts: H, refused: (h) => h === h2, ranked: [h2, h1] })).toBe(h1)
    expect(serverFor({ common: BEST_SERVER, hosts: H, refused: (h) => h === h1, ranked: [] })).toBe(h2)
  })
  it('when XAPI refuses every server the common choice stays (the plan shows why); nothing chosen: no server', () => {
    expect(serverFor({ common: h2, hosts: H, refused: () => true, ranked: [h1] })).toBe(h2)
    expect(serverFor({ common: '', hosts: H, refused: none, ranked: [h1] })).toBe('')
    expect(serverFor({ picked: 'OpaqueRef:gone', common: h1, hosts: H, refused: none, ranked: [] })).toBe(h1)
  })
})

describe('refusedEverywhere', () => {
  const no = (host: string, code: string): MigrationCheck => ({ host, ok: false, error: { code, params: [], message: code } })
  it('is the answer when every server refused for one reason (CBT on a disk), not when one accepted or reasons differ', () => {
    expect(refusedEverywhere([no(h1, 'VDI_CBT_ENABLED'), no(h2, 'VDI_CBT_ENABLED')])?.error?.code).toBe('VDI_CBT_ENABLED')
    expect(refusedEverywhere([no(h1, 'VDI_CBT_ENABLED'), { host: h2, ok: true }])).toBeUndefined()
    expect(refusedEverywhere([no(h1, 'HOST_DISABLED'), no(h2, 'HOST_NOT_ENOUGH_FREE_MEMORY')])).toBeUndefined()
    expect(refusedEverywhere([no(h1, 'VDI_CBT_ENABLED'), undefined])).toBeUndefined()
    expect(refusedEverywhere([])).toBeUndefined()
  })
})

describe('MigrationChecks', () => {
  const item = (vm: string, extra: Partial<CheckItem> = {}): CheckItem => ({ connectionId: 'a', vm, destConnectionId: 'b', vdiMap: {}, vifMap: {}, ...extra })
  function fake() {
    const calls: { vm: string; hosts: string[] }[] = []
    let now = 0
    let most = 0
    const release: (() => void)[] = []
    const ask = async (a: CheckItem & { hosts: string[] }): Promise<MigrationCheck[]> => {
      calls.push({ vm: a.vm, hosts: a.hosts })
      now++
      most = Math.max(most, now)
      await new Promise<void>((r) => release.push(r))
      now--
      return a.hosts.map((host) => ({ host, ok: host !== h2 }))
    }
    const drain = async (): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        await new Promise((r) => setTimeout(r, 0))
        release.splice(0).forEach((r) => r())
      }
    }
    return { calls, ask, drain, most: () => most }
  }

  it('never has more than `limit` calls in flight, whatever the number of VMs', async () => {
    const f = fake()
    const c = new MigrationChecks(f.ask, () => {}, 3)
    const done = Promise.all(Array.from({ length: 10 }, (_, i) => c.ensure(item(`OpaqueRef:vm${i}`), H)))
    await f.drain()
    await done
    expect(f.calls).toHaveLength(10)
    expect(f.most()).toBe(3)
    expect(c.get(item('OpaqueRef:vm4'), h2)?.ok).toBe(false)
    expect(c.get(item('OpaqueRef:vm4'), h1)?.ok).toBe(true)
  })

  it('asks a server once per VM and choices (the same choices in another key order too); changed choices or fresh are asked again; forget drops a VM’s answers', async () => {
    const f = fake()
    let told = 0
    const c = new MigrationChecks(f.ask, () => told++)
    const run = async (p: Promise<void>) => {
      await f.drain()
      await p
    }
    await run(c.ensure(item('OpaqueRef:vm1', { vdiMap: { 'OpaqueRef:d1': 'OpaqueRef:s1', 'OpaqueRef:d2': 'OpaqueRef:s2' } }), [h1, h2]))
    // the same choices, keys in another order: nothing asked; one server more: only it
    await run(c.ensure({ vifMap: {}, vdiMap: { 'OpaqueRef:d2': 'OpaqueRef:s2', 'OpaqueRef:d1': 'OpaqueRef:s1' }, destConnectionId: 'b', vm: 'OpaqueRef:vm1', connectionId: 'a' }, H))
    expect(f.calls.map((x) => x.hosts)).toEqual([[h1, h2], [h3]])
    // another SR chosen: asked again
    await run(c.ensure(item('OpaqueRef:vm1', { vdiMap: { 'OpaqueRef:d1': 'OpaqueRef:s9' } }), [h1]))
    expect(f.calls).toHaveLength(3)
    await run(c.ensure(item('OpaqueRef:vm1', { vdiMap: { 'OpaqueRef:d1': 'OpaqueRef:s9' } }), [h1], true))
    expect(f.calls).toHaveLength(4)
    c.forget('a', 'OpaqueRef:vm1')
    expect(c.get(item('OpaqueRef:vm1', { vdiMap: { 'OpaqueRef:d1': 'OpaqueRef:s9' } }), h1)).toBeUndefined()
    await run(c.ensure(item('OpaqueRef:vm1', { vdiMap: { 'OpaqueRef:d1': 'OpaqueRef:s9' } }), [h1]))
    expect(f.calls).toHaveLength(5)
    expect(told).toBe(5)
  })

  it('two asks for the same server at once make one call', async () => {
    const f = fake()
    const c = new MigrationChecks(f.ask)
    const both = Promise.all([c.ensure(item('OpaqueRef:vm1'), [h1]), c.ensure(item('OpaqueRef:vm1'), [h1])])
    await f.drain()
    await both
    expect(f.calls).toHaveLength(1)
  })
})

describe('mapLimited (main asks a few servers at once per check)', () => {
  it('keeps the order, runs at most `limit` at once, and rejects with the first failure', async () => {
    let now = 0
    let most = 0
    const out = await mapLimited([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, async (n) => {
      now++
      most = Math.max(most, now)
      await new Promise((r) => setTimeout(r, n % 3))
      now--
      return n * 2
    })
    expect(out).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18])
    expect(most).toBe(4)
    await expect(mapLimited([1, 2, 3], 2, async (n) => (n === 2 ? Promise.reject(new Error('two')) : n))).rejects.toThrow('two')
  })
})

describe('VMs of several pools', () => {
  const c = (connectionId: string, name: string) => ({ connectionId, ref: `OpaqueRef:${name}`, name, reason: true as const })
  it('open one Migrate wizard; Move Storage… stays within one pool', () => {
    expect(migrateCanRun([c('lab', 'a'), c('legacy', 'b')], 'migrate')).toBe(true)
    expect(migrateCanRun([c('lab', 'a'), c('legacy', 'b')], 'storage')).toMatch(/one pool/)
    expect(migrateCanRun([c('lab', 'a'), c('lab', 'b')], 'storage')).toBe(true)
  })
  it('the plan says where they come from', () => {
    expect(sourcesSentence(['Lab', 'Legacy', 'Legacy'])).toBe('From Lab (1 VM) and Legacy (2 VMs).')
    expect(sourcesSentence(['Lab', 'Lab'])).toBe('')
  })
})
