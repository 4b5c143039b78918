/**
 * Slow answers (issue 12 item 5): a pool that trickles its answer. The connection attempt says which
 * call it is in and how many bytes came, gives up on an answer that moves less than the slow-answer
 * rule allows (main/xapi/transport.ts DEFAULT_STALL: 4 KiB in 15 s; shortened here through the
 * `stall` option), and says so in words. `trust` returns at once; the attempt goes on in the background.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConnectionState } from '../../../shared/contract/connection'
import { startSimulator } from '../../sim/index'
import { buildFleet } from '../../sim/fleet'
import type { SimControl } from '../../sim/model'
import { XapiClient } from '../../../main/xapi/client'
import { hostKey, pinFromPem } from '../../../main/xapi/trust'
import { addressOf, makeManager, waitFor } from './helpers'

let sim: SimControl
beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { opDurationMs: 0 }) })
})
afterAll(async () => {
  await sim?.stop()
})

describe('a pool that trickles its answer', () => {
  it('shows the call and the bytes received, then gives up in words; trust returns before the attempt ends', async () => {
    const pool = sim.pools[0]
    if (!pool) throw new Error('no pool')
    const h = makeManager({ stall: { minBytes: 2048, windowMs: 1500 } })
    try {
      pool.injectFault({ kind: 'trickle', bytesPerSecond: 400, method: 'pool.get_all_records' })
      const added = await h.manager.add({ address: addressOf(pool.masterUrl), username: pool.username, password: pool.password, rememberPassword: false })
      const waiting = await waitFor('awaiting-trust', () => {
        const s = h.manager.get(added.id)
        return s?.status === 'awaiting-trust' ? s : undefined
      })
      await h.manager.trust(added.id, waiting.certificate?.fingerprint256 ?? '')
      // trust answered while the pool is still trickling: the attempt goes on in the background
      expect(h.manager.get(added.id)?.status).toBe('connecting')

      const moving = await waitFor('progress with bytes', () => {
        const s = h.manager.get(added.id)
        return s?.progress && s.progress.method === 'pool.get_all_records' && s.progress.bytes > 0 ? s : undefined
      })
      expect(moving.status).toBe('connecting')
      expect(moving.progress?.since).toMatch(/^\d{4}-/)
      // progress is published to subscribers too (the renderer shows it)
      await waitFor('a published state with progress', () => h.states.some((s: ConnectionState) => s.id === added.id && (s.progress?.bytes ?? 0) > 0))

      const ended = await waitFor('the attempt ends', () => {
        const s = h.manager.get(added.id)
        return s && s.status !== 'connecting' && s.status !== 'awaiting-trust' ? s : undefined
      })
      expect(ended.status).toBe('failed')
      expect(ended.detail).toMatch(/sent only .* of its answer to pool\.get_all_records in the last \d+ s/)
      expect(ended.detail).toMatch(/gives up on an answer that moves less than 2 KiB in 2 s/)
      expect(ended.progress).toBeUndefined()
    } finally {
      pool.clearFaults()
      await h.close()
    }
  })

  it('an answer that keeps moving faster than the rule is received in full, however long it takes', async () => {
    const pool = sim.pools[0]
    if (!pool) throw new Error('no pool')
    // 3 s of trickling at 4 KiB/s passes a rule of 1 KiB per 0.5 s, and the call timeout (1 s) does not cut it
    const h = makeManager()
    try {
      const c = new XapiClient({ address: addressOf(pool.masterUrl), username: pool.username, password: pool.password, trust: h.manager.hostTrust, timeoutMs: 1000, stall: { minBytes: 1024, windowMs: 500 } })
      const master = new URL(pool.masterUrl)
      await h.manager.hostTrust.pins.set(hostKey(master.hostname, Number(master.port)), pinFromPem(pool.hosts[0]?.certPem ?? '', 'user'))
      await c.login()
      const size = JSON.stringify(await c.call('VM.get_all_records')).length
      pool.injectFault({ kind: 'trickle', bytesPerSecond: Math.max(4096, Math.ceil(size / 3)), method: 'VM.get_all_records' }, { once: true })
      const seen: number[] = []
      const d = new XapiClient({ address: addressOf(pool.masterUrl), username: pool.username, password: pool.password, trust: h.manager.hostTrust, timeoutMs: 1000, stall: { minBytes: 1024, windowMs: 500 }, onProgress: (p) => seen.push(p.bytes) })
      const vms = (await d.call('VM.get_all_records')) as Record<string, unknown>
      expect(Object.keys(vms).length).toBeGreaterThan(0)
      expect(seen[0]).toBe(0)
      expect(Math.max(...seen)).toBeGreaterThan(0)
      await Promise.all([c.logout(), d.logout()])
    } finally {
      pool.clearFaults()
      await h.close()
    }
  })
})
