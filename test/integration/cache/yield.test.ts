/**
 * The write-behind yields to the windows (issue 20, first connect): while `yieldTo` says a window is
 * still catching up with a reset (main/services/outbox.ts CatchUp), no write step starts — no record is
 * serialised for the file, no writer thread is started — and what arrives meanwhile is kept in memory;
 * once the windows caught up, everything is written as usual.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { openInventoryCache } from '../../../main/cache'
import { batch, namesOf, peek, reset, tempDir, vm } from './helpers'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const objectRows = (dataDir: string): number => peek(dataDir, (db) => (db.prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n)

describe('cache write-behind and the windows', () => {
  it('starts no write while a window is catching up, then writes everything', async () => {
    const t = tempDir()
    cleanups.push(t.remove)
    let windowBehind = true
    let asked = 0
    const c = openInventoryCache({
      dataDir: t.dir,
      yieldTo: () => {
        asked++
        return windowBehind
      },
    })
    cleanups.push(() => c.close())
    c.write(reset('c1', 1, [vm('OpaqueRef:1', 'alpha'), vm('OpaqueRef:2', 'beta')]), { poolName: 'Lab', lastSyncAt: new Date().toISOString() })
    c.write(batch('c1', 2, [vm('OpaqueRef:3', 'gamma')]))
    // a few of its retries (every 50 ms) later: still nothing written, no writer thread
    await new Promise((r) => setTimeout(r, 400))
    expect(objectRows(t.dir)).toBe(0)
    expect(c.status().workerStarted).toBe(false)
    expect(asked).toBeGreaterThan(2)
    // what it holds is still read from it (the in-memory mirror)
    expect(namesOf(c.load('c1')?.diff.upserts ?? [])).toEqual({ 'VM OpaqueRef:1': 'alpha', 'VM OpaqueRef:2': 'beta', 'VM OpaqueRef:3': 'gamma' })
    windowBehind = false
    await c.flush()
    expect(objectRows(t.dir)).toBe(3)
  }, 30_000)
})
