/**
 * Connect All (a start with saved servers, the menu's Connect All; issue 20: 200 pools without
 * freezing the UI): the saved pools connect a few at a time — at most 4 are connecting at once
 * (their initial syncs included), the next starting as one finishes — and every one of them ends
 * connected; so do the servers a start is seeded with (`--connect-demo`, the idle-pools bench). The
 * status bar's "N connecting…" counts exactly those (renderer StatusBar.vue), so
 * it shows the progress of a bounded queue, not all 200 at once. An attempt that never settles gives its
 * slot to the next pool after connectSlotMs (the queue is never held for good).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { ConnectionStatus } from '../../../shared/contract/connection'
import { PoolConnection } from '../../../main/pools/connection'
import { MemoryKeychain } from '../../../main/pools/keychain'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { startRuntime } from '../../../main/services/runtime'
import { seedFromSimulator } from '../../../scripts/demo'
import { buildFleet } from '../../sim/fleet'
import { startSimulator } from '../../sim/index'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { addressOf, makeManager, waitFor } from './helpers'

const LIMIT = 4

/** three tiny fleets, each of its own seed and addresses: six distinct pools (a pool is connected once) */
const sims: SimControl[] = []
let pools: SimPoolHandle[] = []
beforeAll(async () => {
  for (const [i, addressBase] of ['127.77', '127.78', '127.79'].entries()) sims.push(await startSimulator({ fleet: buildFleet('tiny', { opDurationMs: 0, seed: 7100 + i, addressBase }) }))
  pools = sims.flatMap((s) => s.pools)
}, 120_000)
afterAll(async () => {
  for (const s of sims) await s.stop()
})

describe('Connect All', () => {
  it(`connects the saved pools at most ${LIMIT} at a time, each one's sync included, until every one is connected`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xp-connect-all-'))
    const keychain = new MemoryKeychain()
    try {
      // saved servers with remembered passwords and a pinned certificate (as after earlier sessions)
      const first = makeManager({ keychain }, dir)
      try {
        for (const pool of pools) {
          const st = await first.manager.add({ address: addressOf(pool.masterUrl), username: pool.username, password: pool.password, rememberPassword: true })
          const s = await waitFor('awaiting trust or connected', () => {
            const now = first.manager.get(st.id)
            return now?.status === 'awaiting-trust' || now?.status === 'connected' ? now : undefined
          }).catch((e: Error) => { throw new Error(`${e.message} ${JSON.stringify(first.manager.get(st.id))} ${first.logs.join(' / ')}`) })
          if (s.status === 'awaiting-trust') await first.manager.trust(st.id, s.certificate?.fingerprint256 ?? '')
          await waitFor('connected', () => first.manager.get(st.id)?.status === 'connected')
        }
      } finally {
        await first.close()
      }

      // the next start: nothing connected, then Connect All
      const h = makeManager({ keychain }, dir)
      try {
        expect(h.manager.list()).toHaveLength(pools.length)
        const status = new Map<string, ConnectionStatus>(h.manager.list().map((s) => [s.id, s.status]))
        let most = 0
        const connectingNow = (): number => [...status.values()].filter((s) => s === 'connecting').length
        h.manager.onState((s) => {
          status.set(s.id, s.status)
          most = Math.max(most, connectingNow())
        })
        await h.manager.connectAll()
        // connectAll resolves once every pool's attempt is over: each one connected, synced
        expect([...status.values()]).toEqual(Array.from({ length: pools.length }, () => 'connected'))
        for (const s of h.manager.list()) expect(h.manager.graph(s.id)?.all('VM').size ?? 0).toBeGreaterThan(0)
        // bounded, and not one at a time either
        expect(most).toBe(LIMIT)
      } finally {
        await h.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)

  it(`connects the servers a start is seeded with the same way: at most ${LIMIT} at a time, every one connected`, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'xp-connect-seed-'))
    const seed = { pools: sims.flatMap((s) => seedFromSimulator(s).pools) }
    // from the runtime's first connection on (it starts connecting before it returns): connections being opened at once
    const connect = PoolConnection.prototype.connect
    let opening = 0
    let most = 0
    const spy = vi.spyOn(PoolConnection.prototype, 'connect').mockImplementation(async function (this: PoolConnection, password: string | undefined) {
      most = Math.max(most, ++opening)
      try {
        // each opening takes a while (a big pool's sync): what would overlap does
        await new Promise((r) => setTimeout(r, 150))
        await connect.call(this, password)
      } finally {
        opening--
      }
    })
    const runtime = await startRuntime({ dataDir, mode: 'browser', keychain: new MemoryKeychain(), keychainStatus: memoryKeychainStatus(), appVersion: '0.0.0-test', versions: {}, log: () => undefined, cache: false, seed })
    try {
      await waitFor('every seeded pool connected', () => runtime.pools.list().length === pools.length && runtime.pools.list().every((s) => s.status === 'connected'), 60_000)
      expect(most).toBe(LIMIT)
    } finally {
      spy.mockRestore()
      await runtime.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 120_000)

  it(`does not wait for good on a connect that never settles: its slot goes to the next pool after connectSlotMs`, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'xp-connect-slot-'))
    const seed = { pools: sims.flatMap((s) => seedFromSimulator(s).pools) }
    const connect = PoolConnection.prototype.connect
    const hung = new Set<string>()
    // the first LIMIT attempts never end (whatever would make an attempt hang); the rest are real
    const spy = vi.spyOn(PoolConnection.prototype, 'connect').mockImplementation(function (this: PoolConnection, password: string | undefined) {
      if (hung.size < LIMIT) {
        hung.add(this.id)
        return new Promise<void>(() => undefined)
      }
      return connect.call(this, password)
    })
    const runtime = await startRuntime({ dataDir, mode: 'browser', keychain: new MemoryKeychain(), keychainStatus: memoryKeychainStatus(), appVersion: '0.0.0-test', versions: {}, log: () => undefined, cache: false, seed, poolOptions: { connectSlotMs: 300 } })
    try {
      await waitFor('every other seeded pool connected', () => runtime.pools.list().length === pools.length && runtime.pools.list().filter((s) => !hung.has(s.id)).every((s) => s.status === 'connected'), 60_000)
      expect(hung.size).toBe(LIMIT)
    } finally {
      spy.mockRestore()
      await runtime.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 120_000)
})
