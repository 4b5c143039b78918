/**
 * Shared check of the two bundles that carry the cache's writer thread (Electron's out/main and
 * browser mode's out/web): a cache opened with the bundled worker.js writes through that thread
 * (mode 'worker', no problem), and a reopened cache reads the pool back.
 */
import { expect } from 'vitest'
import { openInventoryCache } from '../../../main/cache'
import type { PoolDiff } from '../../../shared/model/diff'

export async function expectBundledWorkerWrites(workerUrl: URL, dataDir: string): Promise<void> {
  const cache = openInventoryCache({ dataDir, workerUrl })
  const diff: PoolDiff = {
    connectionId: 'c1',
    seq: 1,
    reset: true,
    upserts: [{ cls: 'VM', ref: 'OpaqueRef:vm1', record: { uuid: 'u1', name_label: 'web-01', power_state: 'Running' } }],
    removes: [],
    token: '1,0',
  }
  cache.write(diff, { poolName: 'bundle pool', lastSyncAt: new Date().toISOString() })
  await cache.flush()
  expect(cache.status()).toMatchObject({ state: 'ok', mode: 'worker', problems: [] })
  await cache.close()
  const again = openInventoryCache({ dataDir, mode: 'inline' })
  const loaded = again.load('c1')
  expect(loaded?.meta.poolName).toBe('bundle pool')
  expect(loaded?.diff.upserts.map((u) => u.record.name_label)).toEqual(['web-01'])
  await again.close()
}
