/**
 * The first connect on the whole main process (runtime: PoolManager, SQLite cache, RRD collector,
 * services; issue 20): while a window is still catching up with a pool's reset (CatchUp says so —
 * test/unit/app/services-stream.test.ts shows when it does), the offline cache writes nothing and RRD
 * first sight asks nothing; the 60 s feed goes on. Once the window caught up both start.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { MemoryKeychain } from '../../../main/pools/keychain'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { CatchUp } from '../../../main/services/outbox'
import { startRuntime } from '../../../main/services/runtime'
import { seedFromSimulator } from '../../../scripts/demo'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl } from '../../sim/model'
import { openWindow } from '../contract/stream-pools'
import { waitFor } from '../pools/helpers'

let sim: SimControl
let dataDir: string
beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.93', opDurationMs: 0 }) })
  dataDir = mkdtempSync(join(tmpdir(), 'xp-catch-up-'))
}, 120_000)
afterAll(async () => {
  await sim?.stop()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

const objectRows = (): number => {
  const db = new Database(join(dataDir, 'cache.sqlite'), { readonly: true })
  try {
    return (db.prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n
  } finally {
    db.close()
  }
}

describe('first connect: background work waits for the windows', () => {
  it('writes nothing to the cache and asks no RRD first sight while a window catches up; both start once it has', async () => {
    let behind = true
    const waiting = vi.spyOn(CatchUp.prototype, 'waiting').mockImplementation(() => behind)
    const seed = { pools: seedFromSimulator(sim).pools.slice(0, 1) }
    const runtime = await startRuntime({ dataDir, mode: 'browser', keychain: new MemoryKeychain(), keychainStatus: memoryKeychainStatus(), appVersion: '0.0.0-test', versions: {}, log: () => undefined, seed })
    try {
      const w = openWindow(runtime.services, 8)
      await w.session.call('objects.subscribe', { window: 8 })
      const id = await waitFor('connected', () => runtime.pools.list().find((c) => c.status === 'connected')?.id, 60_000)
      await waitFor('the pool in the window', () => w.refs(id, 'VM').length > 0 || undefined)
      // the host's 60 s feed comes within its first 5 s; its first sight would follow at once
      await waitFor('the first 60 s feed', () => runtime.perf.counters.feeds > 0 || undefined, 30_000)
      await new Promise((r) => setTimeout(r, 3000))
      expect(objectRows()).toBe(0)
      expect(runtime.cache?.status().workerStarted).toBe(false)
      expect(runtime.perf.firstSightStatus()).toMatchObject({ running: 0, done: 0 })
      expect(runtime.perf.counters.dumps).toBe(0)
      // caught up
      behind = false
      await waitFor('the pool in the cache', () => objectRows() > 0 || undefined, 30_000)
      await waitFor('first sight', () => runtime.perf.counters.dumps > 0 || undefined, 30_000)
    } finally {
      waiting.mockRestore()
      await runtime.close()
    }
  }, 120_000)
})
