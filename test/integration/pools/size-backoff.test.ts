/**
 * Issue 12 item 4: a pool whose answer is refused for its size is not asked again at once (each
 * retry of a 64 MiB+ answer cost its whole transfer and parse): the next attempt waits a minute,
 * then longer, and the state says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { addressOf, makeManager, waitFor, type Harness } from './helpers'

let sim: SimControl
let pool: SimPoolHandle
let h: Harness

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.94', opDurationMs: 0 }) })
  pool = sim.pool('tiny-current')
  h = makeManager()
}, 120_000)
afterAll(async () => {
  await h?.close()
  await sim?.stop()
})

describe('retries after an answer refused for its size', () => {
  it('a server that never connected: failed at once with the reason, not fetched again on its own', async () => {
    // every login answers 70 MiB in one value (above the 64 MiB bound on one value)
    pool.injectFault({ kind: 'huge-response', bytes: 70 * 1024 * 1024, method: 'session.login_with_password' })
    const st = await h.manager.add({ address: addressOf(pool.masterUrl), username: pool.username, password: pool.password, rememberPassword: false })
    const waiting = await waitFor('awaiting-trust', () => (h.manager.get(st.id)?.status === 'awaiting-trust' ? h.manager.get(st.id) : undefined))
    await h.manager.trust(st.id, waiting.certificate?.fingerprint256 ?? '')
    const failed = await waitFor('failed for its size', () => (h.manager.get(st.id)?.status === 'failed' ? h.manager.get(st.id) : undefined))
    expect(failed.detail).toMatch(/more than 64 MiB in one value of its session\.login_with_password answer.*does not fetch it again on its own/)
    const before = h.states.filter((s) => s.id === st.id && /in one value/.test(s.detail ?? '')).length
    await new Promise((r) => setTimeout(r, 3000))
    expect(h.states.filter((s) => s.id === st.id && /in one value/.test(s.detail ?? '')).length).toBe(before)
    pool.clearFaults()
    await h.manager.forget(st.id)
  }, 120_000)

  it('a pool that connected before: waits a minute instead of fetching the same answer again at once, and says so', async () => {
    const st = await h.manager.add({ address: addressOf(pool.masterUrl), username: pool.username, password: pool.password, rememberPassword: true })
    const waiting = await waitFor('awaiting-trust', () => (h.manager.get(st.id)?.status === 'awaiting-trust' ? h.manager.get(st.id) : undefined))
    await h.manager.trust(st.id, waiting.certificate?.fingerprint256 ?? '')
    await waitFor('connected', () => h.manager.get(st.id)?.status === 'connected')
    await h.manager.disconnect(st.id)
    pool.injectFault({ kind: 'huge-response', bytes: 70 * 1024 * 1024, method: 'session.login_with_password' })
    void h.manager.connect(st.id)
    const refused = await waitFor('refused for its size', () => {
      const s = h.manager.get(st.id)
      return s?.status === 'reconnecting' && /in one value/.test(s.detail ?? '') ? s : undefined
    })
    expect(refused.detail).toMatch(/more than 64 MiB in one value of its session\.login_with_password answer.*tries again in 1 min/)
    expect(Date.parse(refused.nextRetryAt ?? '') - Date.now()).toBeGreaterThan(50_000)
    // the reconnect backoff of this manager is 100 ms–1 s: without the size rule it would have tried again many times by now
    const before = h.states.filter((s) => s.id === st.id && /in one value/.test(s.detail ?? '')).length
    await new Promise((r) => setTimeout(r, 3000))
    expect(h.states.filter((s) => s.id === st.id && /in one value/.test(s.detail ?? '')).length).toBe(before)
    pool.clearFaults()
  }, 120_000)
})
