/**
 * objects.scope / objects.unscope / objects.record on the whole main process (runtime: PoolManager,
 * SQLite cache, services) against the HTTPS simulator, two windows as sessions whose pool.diff
 * events feed the renderer's model:
 *  - connected pool: a scoped class's records equal the pool's, follow its changes, survive a full
 *    resync (toolstack restart: a reset of the whole pool), and go with unscope; the other window
 *    never gets them;
 *  - offline pool (a cold start from the cache): the VBDs and VDIs of a VM come from the cache
 *    without main loading the pool's graph, and go with unscope;
 *  - objects.record: the whole record (fields the renderer is never sent included), live or from
 *    the cache "as of" its last sync.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { SqliteInventoryCache } from '../../../main/cache'
import { MemoryKeychain } from '../../../main/pools/keychain'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { startRuntime, type ConnectionSeed, type Runtime } from '../../../main/services/runtime'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { openWindow } from '../contract/stream-pools'
import { waitFor } from '../pools/helpers'

let sim: SimControl
let pool: SimPoolHandle
let dataDir: string
let seed: ConnectionSeed

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.91', opDurationMs: 0 }) })
  pool = sim.pool('tiny-current')
  dataDir = mkdtempSync(join(tmpdir(), 'xp-scope-'))
  seed = {
    pools: [
      {
        address: new URL(pool.masterUrl).host,
        username: pool.username,
        password: pool.password,
        hosts: pool.hosts.map((h) => ({ host: new URL(h.url).hostname, port: Number(new URL(h.url).port), certPem: h.certPem })),
      },
    ],
  }
}, 120_000)
afterAll(async () => {
  await sim?.stop()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

function start(connectOnStart: boolean): Promise<Runtime> {
  return startRuntime({
    dataDir,
    mode: 'browser',
    keychain: new MemoryKeychain(),
    keychainStatus: memoryKeychainStatus(),
    appVersion: '0.0.0-test',
    versions: {},
    log: () => undefined,
    connectOnStart,
    ...(connectOnStart ? { seed } : {}),
  })
}

const simRefs = (cls: string): string[] => [...(pool.objects.get(cls)?.keys() ?? [])].sort()
const vmRef = (name: string): string => {
  for (const [ref, r] of pool.objects.get('VM') ?? []) if (r.name_label === name) return ref
  throw new Error(`no VM ${name}`)
}

describe('objects.scope on the real main process', () => {
  let connectionId = ''

  it('a connected pool: scoped VIFs equal the pool’s, follow its changes and a full resync, go with unscope; the other window never has them', async () => {
    const runtime = await start(true)
    try {
      connectionId = await waitFor('connected', () => runtime.pools.list().find((c) => c.status === 'connected')?.id, 60_000)
      const w1 = openWindow(runtime.services, 8)
      const w2 = openWindow(runtime.services, 8)
      await w1.session.call('objects.subscribe', { window: 8 })
      await w2.session.call('objects.subscribe', { window: 8 })
      await waitFor('both graphs', () => w1.refs(connectionId, 'VM').length > 0 && w2.refs(connectionId, 'VM').length > 0)
      expect(w1.refs(connectionId, 'VIF')).toEqual([])

      await w1.scope(connectionId, ['VIF', 'PIF_metrics'])
      await waitFor('VIFs in window 1', () => w1.refs(connectionId, 'VIF').length === simRefs('VIF').length || undefined)
      expect(w1.refs(connectionId, 'VIF')).toEqual(simRefs('VIF'))
      expect(w1.refs(connectionId, 'PIF_metrics')).toEqual(simRefs('PIF_metrics'))
      const web01 = vmRef('web-01')
      const vifs = w1.graph.pool(connectionId)?.referencing('VIF', 'VM', web01) ?? []
      expect(vifs.length).toBeGreaterThan(0)

      // a change of a VIF reaches the scoped window
      const [vif] = vifs[0] ?? []
      if (!vif) throw new Error('no VIF')
      await pool.call('VIF.add_to_other_config', [vif, 'scoped-test', 'yes'])
      await waitFor('the VIF change', () => (w1.graph.pool(connectionId)?.get('VIF', vif)?.other_config as Record<string, string> | undefined)?.['scoped-test'] === 'yes' || undefined)

      // a full resync (the toolstack restart voids the event token): the whole pool again as a reset, VIFs still there
      const resets = w1.diffs.filter((d) => d.reset).length
      await pool.restartToolstack()
      await waitFor('a reset after the resync', () => w1.diffs.filter((d) => d.reset && !d.more).length > resets || undefined, 60_000)
      await waitFor('connected again', () => runtime.pools.get(connectionId)?.status === 'connected' || undefined, 60_000)
      await waitFor('window 1 settled', () => !w1.graph.staging(connectionId) || undefined)
      expect(w1.refs(connectionId, 'VIF')).toEqual(simRefs('VIF'))

      // window 2 never had one
      expect(w2.refs(connectionId, 'VIF')).toEqual([])
      expect(w2.diffs.some((d) => d.upserts.some((u) => u.cls === 'VIF' || u.cls === 'PIF_metrics'))).toBe(false)

      await w1.unscope(connectionId, ['VIF'])
      await waitFor('VIFs gone', () => w1.refs(connectionId, 'VIF').length === 0 || undefined)
      const sent = w1.diffs.length
      await pool.call('VIF.add_to_other_config', [vif, 'after-unscope', 'yes'])
      await pool.call('VM.set_name_description', [web01, 'after unscope'])
      await waitFor('the VM change', () => w1.graph.pool(connectionId)?.get('VM', web01)?.name_description === 'after unscope' || undefined)
      expect(w1.diffs.slice(sent).some((d) => d.upserts.some((u) => u.cls === 'VIF'))).toBe(false)
      expect(w1.refs(connectionId, 'PIF_metrics')).toEqual(simRefs('PIF_metrics'))

      // the whole record, with what the renderer is never sent (VM.recommendations)
      const rec = (await w1.session.call('objects.record', { connectionId, cls: 'VM', ref: web01 })) as { record: Record<string, unknown>; source: string }
      expect(rec.source).toBe('live')
      expect(rec.record.recommendations).toBe(pool.objects.get('VM')?.get(web01)?.recommendations)
      await expect(w1.session.call('objects.record', { connectionId, cls: 'VM', ref: 'OpaqueRef:00000000-0000-0000-0000-000000000000' })).rejects.toMatchObject({ code: 'not-found' })
      await runtime.cache?.flush()
    } finally {
      await runtime.close()
    }
  }, 180_000)

  it('an offline pool: VBDs and VDIs come from the cache without loading the pool into main, go with unscope; records “as of” the cache', async () => {
    const wholeLoads = vi.spyOn(SqliteInventoryCache.prototype, 'load')
    const runtime = await start(false)
    try {
      expect(runtime.pools.get(connectionId)?.status).not.toBe('connected')
      const w = openWindow(runtime.services, 8)
      await w.session.call('objects.subscribe', { window: 8 })
      await waitFor('the cached graph', () => w.refs(connectionId, 'VM').length > 0 || undefined)
      expect(w.refs(connectionId, 'VBD')).toEqual([])
      expect(w.refs(connectionId, 'VDI')).toEqual([])

      await w.scope(connectionId, ['VBD', 'VDI'])
      await waitFor('VBDs from the cache', () => (w.refs(connectionId, 'VBD').length > 0 && w.refs(connectionId, 'VDI').length > 0) || undefined)
      expect(w.refs(connectionId, 'VBD')).toEqual(simRefs('VBD'))
      expect(w.refs(connectionId, 'VDI')).toEqual(simRefs('VDI'))
      const web01 = vmRef('web-01')
      const disks = (w.graph.pool(connectionId)?.referencing('VBD', 'VM', web01) ?? []).map(([, vbd]) => vbd.VDI)
      const simVbds = pool.objects.get('VM')?.get(web01)?.VBDs
      expect(disks).toHaveLength(Array.isArray(simVbds) ? simVbds.length : -1)
      // main still does not hold the pool's graph: it was read from the cache, class by class, never loaded whole
      expect(wholeLoads).not.toHaveBeenCalled()

      const rec = (await w.session.call('objects.record', { connectionId, cls: 'VM', ref: web01 })) as { record: Record<string, unknown>; source: string; asOf?: string }
      expect(rec.source).toBe('cache')
      expect(typeof rec.asOf).toBe('string')
      expect(rec.record.recommendations).toBe(pool.objects.get('VM')?.get(web01)?.recommendations)
      expect(wholeLoads).not.toHaveBeenCalled()

      await w.unscope(connectionId, ['VBD', 'VDI'])
      await waitFor('VBDs gone', () => (w.refs(connectionId, 'VBD').length === 0 && w.refs(connectionId, 'VDI').length === 0) || undefined)
    } finally {
      wholeLoads.mockRestore()
      await runtime.close()
    }
  }, 120_000)
})
