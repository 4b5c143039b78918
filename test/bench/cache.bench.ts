/**
 * Offline cache benchmarks (`npm run bench cache`). Prints BENCH lines:
 *  - cache.bench10k.initial-sync.*: writing a bench-10k initial load (one pool, 16 hosts, 10,000 VMs,
 *    ~70,000 objects, VM records ≈ 9 KB of JSON) through write() + flush(), in both writer modes:
 *    wall time, objects/s, MB/s, the longest the main thread was blocked meanwhile (event-loop
 *    delay, 1 ms resolution) and the main thread's total busy time;
 *  - cache.many-pools.load.*: cold start of many-pools (50 pools × 400 VMs) from the file: every
 *    pool loaded with load() in a fresh cache instance;
 *  - cache.*.file-size: the cache file for bench-10k and many-pools.
 *
 * Records: test/integration/cache/fixtures.ts (datamodel-complete records, VM padded to ≈ 9 KB),
 * used because the simulator's buildFleet() had not landed when this was written.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { openInventoryCache } from '../../main/cache'
import type { ObjectUpsert } from '../../shared/model/diff'
import { poolGraph } from '../integration/cache/fixtures'

function bench(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  console.log(`BENCH ${JSON.stringify({ name, value: Math.round(value * 100) / 100, unit, ...extra })}`)
}

function fileSize(dir: string): number {
  let total = 0
  for (const f of ['cache.sqlite', 'cache.sqlite-wal']) {
    try {
      total += statSync(join(dir, f)).size
    } catch {
      // no WAL after a truncating checkpoint
    }
  }
  return total
}

async function initialSync(mode: 'inline' | 'worker', graph: ObjectUpsert[], jsonBytes: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `xp-cache-bench-${mode}-`))
  try {
    const cache = openInventoryCache({ dataDir: dir, mode })
    await cache.flush()
    const h = monitorEventLoopDelay({ resolution: 1 })
    const elu0 = performance.eventLoopUtilization()
    h.enable()
    const t0 = performance.now()
    cache.write({ connectionId: 'bench-10k', seq: 1, reset: true, upserts: graph, removes: [], token: '1' }, { poolName: 'bench-10k', memberAddresses: ['127.77.0.1'] })
    const writeCallMs = performance.now() - t0
    // Live updates keep coming during the initial write, as they would from the event loop.
    let seq = 2
    const live = setInterval(() => {
      const u = graph[(seq * 97) % graph.length]
      if (u) cache.write({ connectionId: 'bench-10k', seq: seq++, reset: false, upserts: [u], removes: [], token: String(seq) })
    }, 50)
    await cache.flush()
    const ms = performance.now() - t0
    clearInterval(live)
    h.disable()
    const elu = performance.eventLoopUtilization(elu0)
    const status = cache.status()
    if (status.state !== 'ok') throw new Error(`cache went ${status.state}: ${JSON.stringify(status.problems)}`)
    await cache.close()
    const objects = graph.length
    bench(`cache.bench10k.initial-sync.${mode}.ms`, ms, 'ms', { objects })
    bench(`cache.bench10k.initial-sync.${mode}.objects-per-s`, objects / (ms / 1000), 'objects/s')
    bench(`cache.bench10k.initial-sync.${mode}.mb-per-s`, jsonBytes / 1e6 / (ms / 1000), 'MB/s', { jsonMB: Math.round(jsonBytes / 1e6) })
    bench(`cache.bench10k.initial-sync.${mode}.write-call-ms`, writeCallMs, 'ms')
    bench(`cache.bench10k.initial-sync.${mode}.main-max-block`, h.max / 1e6, 'ms', { p99: Math.round((h.percentile(99) / 1e6) * 10) / 10, note: 'event-loop delay while writing' })
    bench(`cache.bench10k.initial-sync.${mode}.main-busy`, elu.active, 'ms', { utilization: Math.round(elu.utilization * 100) / 100 })
    if (mode === 'inline') bench('cache.bench10k.file-size', fileSize(dir) / 1e6, 'MB')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function manyPools(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xp-cache-bench-many-'))
  try {
    const writer = openInventoryCache({ dataDir: dir })
    let objects = 0
    for (let p = 0; p < 50; p++) {
      const g = poolGraph({ poolIndex: p + 1, hosts: 4, vms: 400 })
      objects += g.length
      writer.write({ connectionId: `pool-${p}`, seq: 1, reset: true, upserts: g, removes: [], token: 'tok' }, { poolName: `Pool ${p}`, memberAddresses: [`127.77.${p}.1`] })
      await writer.flush()
    }
    await writer.close()
    bench('cache.many-pools.file-size', fileSize(dir) / 1e6, 'MB', { pools: 50, objects })
    globalThis.gc?.()

    const t0 = performance.now()
    const cache = openInventoryCache({ dataDir: dir })
    const openMs = performance.now() - t0
    const list = cache.cachedConnections()
    let loaded = 0
    let worst = 0
    for (const c of list) {
      const t = performance.now()
      const r = cache.load(c.connectionId)
      worst = Math.max(worst, performance.now() - t)
      loaded += r?.diff.upserts.length ?? 0
    }
    const ms = performance.now() - t0
    await cache.close()
    if (loaded !== objects) throw new Error(`loaded ${loaded} objects, wrote ${objects}`)
    bench('cache.many-pools.load.total-ms', ms, 'ms', { pools: list.length, objects: loaded, openMs: Math.round(openMs) })
    bench('cache.many-pools.load.per-pool-max-ms', worst, 'ms')
    bench('cache.many-pools.load.objects-per-s', loaded / (ms / 1000), 'objects/s')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const graph = poolGraph({ poolIndex: 1, hosts: 16, vms: 10_000 })
let jsonBytes = 0
for (const u of graph) jsonBytes += JSON.stringify(u.record).length
const modes = (process.env.CACHE_BENCH_MODES ?? 'worker,inline').split(',').filter((m): m is 'inline' | 'worker' => m === 'inline' || m === 'worker')
for (const mode of modes) {
  globalThis.gc?.()
  await initialSync(mode, graph, jsonBytes)
}
if (process.env.CACHE_BENCH_SKIP_MANY !== '1') await manyPools()
