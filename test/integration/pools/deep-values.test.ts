/**
 * Issue 12 item 2 (the connection's side): a hostile pool that sends a value nested 12,000 levels
 * deep (the simulator's `deep-value` fault: in a VM's other_config) is refused by the parsers, and
 * the connection does not ask again in a loop. A server that never connected ends 'failed' with a
 * sentence naming what was wrong; a pool that connected before waits a minute (then longer) and
 * says why — as for an answer refused for its size (size-backoff.test.ts). Never a crash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { XapiClient } from '../../../main/xapi/client'
import { TransportError } from '../../../main/xapi/errors'
import { hostKey, pinFromPem } from '../../../main/xapi/trust'
import { MemoryKeychain } from '../../../main/pools/keychain'
import { openInventoryCache } from '../../../main/cache/cache'
import { addressOf, connectTrusted, makeManager, waitFor, type Harness } from './helpers'

let sim: SimControl
let legacy: SimPoolHandle
let current: SimPoolHandle
const harnesses: Harness[] = []
const closers: (() => Promise<void>)[] = []

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.143', opDurationMs: 0 }) })
  legacy = sim.pool('tiny-legacy')
  current = sim.pool('tiny-current')
}, 120_000)
afterAll(async () => {
  for (const h of harnesses) await h.close()
  for (const c of closers) await c()
  await sim?.stop()
})

const DEEP = /sent a value nested more than 256 levels deep in its (\S+) answer; refused \(XAPI's own records nest 4\)/

function someVm(pool: SimPoolHandle): string {
  const vm = [...(pool.objects.get('VM')?.entries() ?? [])].find(([, r]) => r['is_a_template'] === false && r['is_control_domain'] === false)
  if (!vm) throw new Error('no VM')
  return vm[0]
}

/** states of `id` whose detail names the deep value, so far */
const refusals = (h: Harness, id: string): number => h.states.filter((s) => s.id === id && DEEP.test(s.detail ?? '')).length

describe('a value nested 12,000 levels deep', () => {
  it('is refused by the transport in words, XML-RPC get_all_records and JSON-RPC event.from alike (kind too-deep)', async () => {
    const h = makeManager()
    harnesses.push(h)
    for (const [pool, method] of [
      [legacy, 'VM.get_all_records'],
      [current, 'event.from'],
    ] as const) {
      const master = new URL(pool.masterUrl)
      await h.manager.hostTrust.pins.set(hostKey(master.hostname, Number(master.port)), pinFromPem(pool.hosts[0]?.certPem ?? '', 'user'))
      const c = new XapiClient({ address: addressOf(pool.masterUrl), username: pool.username, password: pool.password, trust: h.manager.hostTrust })
      await c.login()
      let token = ''
      if (method === 'event.from') token = ((await c.call('event.from', [['vm'], '', 0])) as { token: string }).token
      pool.injectFault({ kind: 'deep-value', levels: 12_000, method }, { once: true })
      if (method === 'event.from') await pool.call('VM.add_to_other_config', [someVm(pool), 'touched', 'yes'])
      const err = await c.call(method, method === 'event.from' ? [['vm'], token, 5] : []).catch((e: unknown) => e)
      expect(err, method).toBeInstanceOf(TransportError)
      expect((err as TransportError).kind).toBe('too-deep')
      expect((err as TransportError).message).toMatch(new RegExp(`^${master.host.replace(/\./g, '\\.')} ${DEEP.source.replace('(\\S+)', method.replace('.', '\\.'))}$`))
      await c.logout()
    }
  })

  it('in XML-RPC VM.get_all_records from a server that never connected: failed at once with the reason, not fetched again on its own', async () => {
    const h = makeManager()
    harnesses.push(h)
    legacy.injectFault({ kind: 'deep-value', levels: 12_000, method: 'VM.get_all_records' })
    try {
      const st = await h.manager.add({ address: addressOf(legacy.masterUrl), username: legacy.username, password: legacy.password, rememberPassword: true })
      const waiting = await waitFor('awaiting-trust', () => (h.manager.get(st.id)?.status === 'awaiting-trust' ? h.manager.get(st.id) : undefined))
      await h.manager.trust(st.id, waiting.certificate?.fingerprint256 ?? '')
      const failed = await waitFor('failed', () => {
        const s = h.manager.get(st.id)
        return s && s.status !== 'connecting' && s.status !== 'awaiting-trust' ? s : undefined
      })
      expect(failed.status).toBe('failed')
      expect(failed.detail).toMatch(DEEP)
      expect(failed.detail).toMatch(/in its VM\.get_all_records answer; refused \(XAPI's own records nest 4\)\. XenPilot does not fetch it again on its own; Connect tries once more\.$/)
      // nothing of the refused answer is kept
      expect(h.manager.graph(st.id)?.all('VM').size ?? 0).toBe(0)
      const before = refusals(h, st.id)
      await new Promise((r) => setTimeout(r, 3000))
      expect(refusals(h, st.id)).toBe(before)
      expect(h.manager.get(st.id)?.status).toBe('failed')
    } finally {
      legacy.clearFaults()
    }
  }, 120_000)

  it('in JSON-RPC event.from of a pool that connected before: waits a minute instead of asking again at once, and says so — also after a restart with the remembered password', async () => {
    const keychain = new MemoryKeychain()
    const dataDir = mkdtempSync(join(tmpdir(), 'xp-deep-'))
    const cache1 = openInventoryCache({ dataDir, mode: 'inline' })
    const h = makeManager({ keychain, cache: cache1 }, dataDir)
    const id = await connectTrusted(h, current, { rememberPassword: true })
    current.injectFault({ kind: 'deep-value', levels: 12_000, method: 'event.from' })
    try {
      await current.call('VM.add_to_other_config', [someVm(current), 'hostile', 'soon'])
      const waiting = await waitFor('refused and waiting', () => {
        const s = h.manager.get(id)
        return s?.status === 'reconnecting' && DEEP.test(s.detail ?? '') ? s : undefined
      })
      expect(waiting.detail).toMatch(/in its event\.from answer; refused \(XAPI's own records nest 4\)\. XenPilot tries again in 1 min rather than fetch it again at once\.$/)
      expect(Date.parse(waiting.nextRetryAt ?? '') - Date.now()).toBeGreaterThan(50_000)
      // this manager's reconnect backoff is 100 ms–1 s: without the rule it would have asked many times by now
      const before = refusals(h, id)
      await new Promise((r) => setTimeout(r, 3000))
      expect(refusals(h, id)).toBe(before)

      // a restart with the remembered password: the resumed event stream meets the same value; the
      // pool waits again with the reason (no loop), its cached inventory still there
      await h.close()
      await cache1.flush()
      await cache1.close()
      const cache2 = openInventoryCache({ dataDir, mode: 'inline' })
      const again = makeManager({ keychain, cache: cache2 }, dataDir)
      closers.push(async () => (await again.close(), await cache2.close()))
      await again.manager.connectAll()
      const restarted = await waitFor('refused again after the restart', () => {
        const s = again.manager.get(id)
        return s?.status === 'reconnecting' && DEEP.test(s.detail ?? '') ? s : undefined
      })
      expect(restarted.detail).toMatch(/tries again in 1 min/)
      expect(again.manager.graph(id)?.all('VM').size ?? 0).toBeGreaterThan(0)
      const later = refusals(again, id)
      await new Promise((r) => setTimeout(r, 3000))
      expect(refusals(again, id)).toBe(later)
    } finally {
      current.clearFaults()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 120_000)
})
