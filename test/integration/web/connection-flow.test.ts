/**
 * The contract end to end in browser mode against the XAPI simulator over real HTTPS: what a user
 * does in the Add Server and trust dialogs, seen from the renderer's side of the WebSocket.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { ConnectionState, ContractError } from '../../../shared/contract'
import { startApp, type AppHarness } from '../../e2e/harness'

let h: AppHarness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

function master(h: AppHarness): { address: string; username: string; password: string; fingerprint: string; name: string } {
  const p = h.sim.pools[0]
  if (!p) throw new Error('the fleet has no pool')
  const m = p.hosts[0]
  if (!m) throw new Error('the pool has no host')
  return { address: new URL(p.masterUrl).host, username: p.username, password: p.password, fingerprint: m.fingerprint256, name: p.name }
}

describe('adding a server in browser mode', () => {
  it('add → awaiting trust with the host’s real fingerprint → trust → connected, with the pool’s objects streamed', async () => {
    h = await startApp({ fleet: 'tiny', page: false })
    const m = master(h)
    await h.api.call('objects.subscribe', {})
    const added = await h.api.call('connections.add', { address: m.address, username: m.username, password: m.password, rememberPassword: false })
    expect(added).toMatchObject({ address: m.address, username: m.username })
    expect(JSON.stringify(added)).not.toContain(m.password)

    const waiting = await h.api.waitForEvent('connection.state', (s) => s.id === added.id && s.status === 'awaiting-trust')
    expect(waiting.certificate?.fingerprint256).toBe(m.fingerprint)
    expect(waiting.certificate?.validTo).toMatch(/^\d{4}-/)

    await h.api.call('connections.trust', { id: added.id, fingerprint256: m.fingerprint })
    const connected = await h.api.waitForEvent('connection.state', (s) => s.id === added.id && s.status === 'connected')
    expect(connected.label).toBe(m.name)
    const reset = await h.api.waitForEvent('pool.diff', (d) => d.connectionId === added.id && d.reset)
    const classes = new Set(reset.upserts.map((u) => u.cls))
    for (const cls of ['pool', 'host', 'VM', 'SR', 'network']) expect(classes, cls).toContain(cls)
    // XAPI's own bookkeeping classes never reach the renderer
    for (const cls of ['session', 'event', 'user', 'secret']) expect(classes, cls).not.toContain(cls)

    // a second window subscribing later gets the whole graph as a reset too
    const list = await h.api.call('connections.list', {})
    expect(list.map((c: ConnectionState) => c.status)).toEqual(['connected'])

    // the Certificates tab's source: the master's pin is the user's decision, the members' come from the pool's own report
    const pool = h.sim.pools[0]
    const certs = await h.api.call('connections.certificates', { id: added.id })
    expect(certs[0]).toMatchObject({ master: true, name: pool?.hosts[0]?.name, pin: { fingerprint256: m.fingerprint, source: 'user' } })
    expect(certs).toHaveLength(pool?.hosts.length ?? 0)
    for (const member of pool?.hosts.slice(1) ?? []) {
      expect(certs.find((c) => c.name === member.name)).toMatchObject({ master: false, pin: { fingerprint256: member.fingerprint256, source: 'pool' } })
    }
    await expect(h.api.call('connections.certificates', { id: 'no-such-id' })).rejects.toMatchObject({ code: 'not-found' })
  })

  it('a wrong password ends in auth-failed with a sentence, never connected', async () => {
    h = await startApp({ fleet: 'tiny', trustPools: false, page: false })
    const m = master(h)
    const added = await h.api.call('connections.add', { address: m.address, username: m.username, password: 'not-the-password', rememberPassword: false })
    await h.api.waitForEvent('connection.state', (s) => s.id === added.id && s.status === 'awaiting-trust')
    await h.api.call('connections.trust', { id: added.id, fingerprint256: m.fingerprint }).catch(() => undefined)
    const failed = await h.api.waitForEvent('connection.state', (s) => s.id === added.id && (s.status === 'auth-failed' || s.status === 'connected'))
    expect(failed.status).toBe('auth-failed')
    expect(failed.detail ?? '').not.toBe('')
  })

  it('trusting a fingerprint other than the one presented is refused and stays awaiting trust', async () => {
    h = await startApp({ fleet: 'tiny', page: false })
    const m = master(h)
    const added = await h.api.call('connections.add', { address: m.address, username: m.username, password: m.password, rememberPassword: false })
    await h.api.waitForEvent('connection.state', (s) => s.id === added.id && s.status === 'awaiting-trust')
    const err = await h.api.call('connections.trust', { id: added.id, fingerprint256: 'AA:BB' }).then(
      () => undefined,
      (e: ContractError) => e,
    )
    expect(err?.message).toMatch(/certificate/i)
    expect((await h.api.call('connections.list', {}))[0]?.status).toBe('awaiting-trust')
  })

  it('pre-trusted pools (npm run demo) connect without a prompt; forgetting one removes it for good', async () => {
    h = await startApp({ fleet: 'tiny', trustPools: true, page: false })
    const seeded = await h.api.call('connections.list', {})
    expect(seeded).toHaveLength(h.sim.pools.length)
    const first = seeded[0]
    if (!first) throw new Error('the seeded pool is missing')
    await h.api.waitForEvent('connection.state', (s) => s.id === first.id && s.status === 'connected')
    expect(h.api.events.some((e) => e.event === 'connection.state' && (e.payload as ConnectionState).status === 'awaiting-trust')).toBe(false)

    await h.api.call('connections.forget', { id: first.id })
    await h.api.waitForEvent('connection.removed', (r) => r.id === first.id)
    const after = await h.api.call('connections.list', {})
    expect(after.map((c: ConnectionState) => c.id)).toEqual(seeded.slice(1).map((c: ConnectionState) => c.id))
    const again = await h.api.call('connections.forget', { id: first.id }).then(
      () => undefined,
      (e: ContractError) => e,
    )
    expect(again?.code).toBe('not-found')
  })
})
