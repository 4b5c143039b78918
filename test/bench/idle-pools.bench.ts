/**
 * Scale ×5 (issue 20): every pool of the `huge` fleet connected at once, then left alone
 * (`npm run bench idle-pools`; `-- --scale S` style sizes through XP_IDLE_SCALE, default 1 = 200
 * pools, 100,000 VMs).
 *
 * The simulator runs in THIS process (its certificates cached in a per-scale state folder, so a
 * second run makes no key pairs); XenPilot's browser mode runs in a CHILD process exactly as
 * `npm run web -- --connect-demo SEED` starts it (main/web/cli.ts under tsx, no page open), with
 * every pool pre-added and its certificates pinned from the seed. Lines:
 *   idle_pools.connect_all_ms      from the child's start until every pool says connected (the
 *                                  PoolManager's bounded connect concurrency, initial syncs included)
 *   idle_pools.main_cpu_percent    the child's CPU (user + system, /proc/<pid>/stat) over 60 s windows
 *                                  with every pool connected and nobody looking: heartbeats, event
 *                                  loops, the RRD feed; % of one core, goal ≤ 5 (see XP_IDLE_WINDOWS)
 *   idle_pools.main_rss_mb         the child's resident memory at the end of those 60 s
 * Each with load1: on a loaded machine the connect time is the machine's, not the app's.
 * XP_IDLE_WINDOWS=n measures n windows of 60 s in a row (each printed; the BENCH line is the mean of the last
 * five, or of all when fewer: a host nobody looks at is fed every 5 minutes — main/perf/collector.ts
 * UNWATCHED_FEED_MS —, so one minute holds that feed or not; five in a row hold one of every host).
 * XP_PROF=1 writes the app process's CPU profile to /tmp/prof-idle (node --cpu-prof) to see where
 * the idle CPU goes.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { seedFromSimulator } from '../../scripts/demo'
import { connectContract } from '../e2e/harness'
import { startSimulator } from '../sim'
import { buildFleet } from '../sim/fleet'
import { rssKb, threadCpuDelta, threadCpuMs } from './proc'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
const SCALE = Number(process.env['XP_IDLE_SCALE'] ?? '1')
const IDLE_MS = 60_000
const WINDOWS = Math.max(1, Math.floor(Number(process.env['XP_IDLE_WINDOWS'] ?? '1')))
const CLK_TCK = 100

function bench(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  const load1 = Math.round((loadavg()[0] ?? 0) * 10) / 10
  console.log(`BENCH ${JSON.stringify({ name, value: Math.round(value * 10) / 10, unit, ...extra, load1 })}`)
}

/** user + system CPU of a process so far (ms) */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[11] utime, fields[12] stime (after pid and comm: 14th and 15th of the line)
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK
}

const t0 = performance.now()
const fleet = buildFleet('huge', { scale: SCALE, opDurationMs: 0 })
const pools = fleet.pools.length
const vms = fleet.pools.reduce((n, p) => n + [...(p.objects.get('VM')?.values() ?? [])].filter((v) => v['is_a_template'] === false && v['is_control_domain'] === false && v['is_a_snapshot'] === false).length, 0)
console.log(`# huge at scale ${SCALE}: ${pools} pools, ${vms} VMs built in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
const stateDir = join(tmpdir(), 'xenpilot-sim-state', `huge-${SCALE}`)
mkdirSync(stateDir, { recursive: true })
const sim = await startSimulator({ fleet, stateDir })
const dataDir = mkdtempSync(join(tmpdir(), 'xp-idle-pools-'))
const seedFile = join(dataDir, 'seed.json')
writeFileSync(seedFile, JSON.stringify(seedFromSimulator(sim)))
const child = spawn(process.execPath, [...(process.env['XP_PROF'] ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof-idle'] : []), '--import', 'tsx', join(ROOT, 'main/web/cli.ts'), '--port', '0', '--data-dir', join(dataDir, 'app'), '--connect-demo', seedFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
try {
  const pid = child.pid
  if (pid === undefined) throw new Error('the app did not start')
  const started = performance.now()
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const first = await lines.next()
  if (first.done) throw new Error('the app ended before printing its URL')
  const api = await connectContract(first.value.trim())
  let connected = 0
  for (;;) {
    const list = await api.call('connections.list', {})
    connected = list.filter((c) => c.status === 'connected').length
    if (connected === pools) break
    if (performance.now() - started > 30 * 60_000) throw new Error(`only ${connected} of ${pools} pools connected after 30 min`)
    await new Promise((r) => setTimeout(r, 500))
  }
  bench('idle_pools.connect_all_ms', performance.now() - started, 'ms', { pools, vms })
  // the contract client stays connected, watching nothing; after each window it asks perf.history (which opens no
  // overview: the hosts stay at the cadence of hosts nobody looks at) how many history values wait to be written —
  // their growth per window says the RRD feeds run (first sight adds far more: a window with it is not idle yet)
  // left alone: no page. XP_IDLE_WINDOWS=n: n windows of 60 s one after the other, each printed, the
  // BENCH line the mean of the last five (the first minutes hold the RRD first sight and the cache's
  // write of every pool's first sync, which the later ones no longer do)
  let percent = 0
  const percents: number[] = []
  for (let w = 1; w <= WINDOWS; w++) {
    const c0 = cpuMs(pid)
    const t0 = threadCpuMs(pid)
    const w0 = performance.now()
    await new Promise((r) => setTimeout(r, IDLE_MS))
    const wall = performance.now() - w0
    percent = ((cpuMs(pid) - c0) / wall) * 100
    percents.push(percent)
    // by thread: the JS thread ('main'), the cache's worker, libuv's pool (TLS, zlib), V8's GC helpers
    const threads = Object.entries(threadCpuDelta(t0, threadCpuMs(pid)))
      .sort((a, b) => b[1] - a[1])
      .map(([name, ms]) => `${name} ${((ms / wall) * 100).toFixed(1)}`)
      .join(', ')
    const pending = (await api.call('perf.history', {}).catch(() => undefined))?.pendingValues
    console.log(`# window ${w} of ${WINDOWS} (${w * (IDLE_MS / 1000)} s after every pool connected): ${percent.toFixed(1)} % of a core (by thread, %: ${threads}), load1 ${loadavg()[0]?.toFixed(1)}; history values pending ${pending ?? '?'}`)
  }
  api.close()
  const last = percents.slice(-5)
  const mean = last.reduce((a, b) => a + b, 0) / last.length
  bench('idle_pools.main_cpu_percent', mean, '% of a core', { goal: 5, pools, vms, window_s: (last.length * IDLE_MS) / 1000, after_s: ((WINDOWS - last.length) * IDLE_MS) / 1000, windows: last.map((p) => Math.round(p * 10) / 10) })
  bench('idle_pools.main_rss_mb', rssKb(pid) / 1024, 'MB', { pools, vms })
} finally {
  child.kill('SIGTERM')
  await new Promise((r) => child.once('exit', r))
  await sim.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
