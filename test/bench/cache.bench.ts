/**
 * Offline cache benchmarks (`npm run bench cache`). Prints BENCH lines:
 *  - cache.bench10k.initial-sync.*: writing a bench-10k initial load (one pool, 16 hosts, 10,000 VMs,
 *    ~70,000 objects, VM records ≈ 9 KB of JSON) through write() + flush(), in both writer modes:
 *    wall time, objects/s, MB/s, the longest the main thread was blocked meanwhile (event-loop
 *    delay, 1 ms resolution) and the main thread's total busy time;
 *  - cache.many-pools.load.*: cold start of many-pools (50 pools × 400 VMs) from the file: every
 *    pool loaded with load() in a fresh cache instance;
 *  - cache.many-pools.read-pages.total-ms: the same file read as a cold start streams it to a window
 *    (readPages with the window stream's OFFLINE_OMISSION, pages of PIECE_UPSERTS, text never parsed);
 *  - cache.*.file-size: the cache file for bench-10k and many-pools.
 *
 * Records: the simulator's fleets (test/sim/fleet buildFleet('bench-10k' | 'many-pools')), put in the
 * client's normalised form by the client's own normaliser (main/xapi/normalise.ts), minus the classes
 * the event loop never delivers — i.e. exactly what the pools layer hands the cache. bench-10k is
 * ≈ 82,000 objects / 90 MB of JSON (a VM record ≈ 4.2 KB as JSON, ≈ 9 KB as XML-RPC).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { openInventoryCache } from '../../main/cache'
import { IGNORED_CLASSES } from '../../main/pools/eventloop'
import { OFFLINE_OMISSION } from '../../main/services/outbox'
import { PIECE_UPSERTS } from '../../main/services'
import { recordNormaliser } from '../../main/xapi/normalise'
import type { WireValue } from '../../main/xapi/wire'
import type { ObjectUpsert } from '../../shared/model/diff'
import { NO_EVENT_CLASSES } from '../../shared/xapi/datamodel.generated'
import { buildFleet } from '../sim/fleet'
import type { SimPoolSpec } from '../sim/model'

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** a simulated pool's objects as the pools layer would emit them in its initial reset diff */
function normalisedGraph(pool: SimPoolSpec): ObjectUpsert[] {
  const out: ObjectUpsert[] = []
  for (const [cls, table] of pool.objects) {
    if (NO_EVENT_CLASSES.includes(cls) || IGNORED_CLASSES.has(cls)) continue
    const normalise = recordNormaliser(cls)
    for (const [ref, r] of table) {
      // a copy: the fleet's own records stay in XAPI's value model
      const record = normalise(JSON.parse(JSON.stringify(r)) as WireValue)
      if (isRecord(record)) out.push({ cls, ref, record })
    }
  }
  return out
}

/** the machine is shared: every figure carries the 1-minute load average it was taken under */
function bench(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  const load1 = Math.round((loadavg()[0] ?? 0) * 10) / 10
  console.log(`BENCH ${JSON.stringify({ name, value: Math.round(value * 100) / 100, unit, ...extra, load1 })}`)
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
    const fleet = buildFleet('many-pools')
    for (const [p, pool] of fleet.pools.entries()) {
      const g = normalisedGraph(pool)
      objects += g.length
      writer.write({ connectionId: `pool-${p}`, seq: 1, reset: true, upserts: g, removes: [], token: 'tok' }, { poolName: pool.name, memberAddresses: pool.hosts.map((h) => h.address) })
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
    // fewer than written: messages beyond the retention policy and finished tasks are not kept
    if (loaded > objects || loaded < objects * 0.95) throw new Error(`loaded ${loaded} objects, wrote ${objects}`)
    bench('cache.many-pools.load.total-ms', ms, 'ms', { pools: list.length, objects: loaded, openMs: Math.round(openMs) })
    bench('cache.many-pools.load.per-pool-max-ms', worst, 'ms')
    bench('cache.many-pools.load.objects-per-s', loaded / (ms / 1000), 'objects/s')

    // what a cold start streams to a window: every pool's pages as spliced JSON text, with the
    // fields and classes offline windows leave out (PoolManager.graphPieces), never parsed in main
    globalThis.gc?.()
    const reader = openInventoryCache({ dataDir: dir })
    const r0 = performance.now()
    let pageBytes = 0
    let pageCount = 0
    for (const c of reader.cachedConnections()) {
      for (const page of reader.readPages(c.connectionId, PIECE_UPSERTS, OFFLINE_OMISSION)) {
        if (page === 'changed') throw new Error('the cache changed while nothing wrote')
        pageBytes += page.upsertsJson.length
        pageCount++
      }
    }
    const readMs = performance.now() - r0
    await reader.close()
    bench('cache.many-pools.read-pages.total-ms', readMs, 'ms', { pools: 50, pages: pageCount, textMB: Math.round(pageBytes / 1e5) / 10 })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const benchPool = buildFleet('bench-10k').pools[0]
if (!benchPool) throw new Error('bench-10k has no pool')
const graph = normalisedGraph(benchPool)
let jsonBytes = 0
for (const u of graph) jsonBytes += JSON.stringify(u.record).length
const modes = (process.env.CACHE_BENCH_MODES ?? 'worker,inline').split(',').filter((m): m is 'inline' | 'worker' => m === 'inline' || m === 'worker')
for (const mode of modes) {
  globalThis.gc?.()
  await initialSync(mode, graph, jsonBytes)
}
if (process.env.CACHE_BENCH_SKIP_MANY !== '1') await manyPools()
