/**
 * Issue 8 — connect-to-tree time and memory with the bench-10k fleet (one pool, 16 hosts, 10,000
 * VMs) loaded (`npx tsx test/bench/run.ts app-memory`; not part of `npm test`).
 *
 * The simulator runs in a CHILD process (`test/sim/cli.ts --fleet bench-10k`), so this process's
 * RSS is XenPilot's own: runtime (PoolManager, cache, services) + browser-mode web door, plus the
 * playwright client that drives Chromium (small, but it is in there). The user's path is followed
 * in the page: Add Server → Connect → the trust prompt, whose fingerprint must be the one the
 * simulator printed; the clock starts when Trust is clicked.
 *
 *   app_memory.connect_to_main_connected_ms   PoolManager reports 'connected'
 *   app_memory.connect_to_main_synced_ms      main's object graph holds every VM
 *   app_memory.connect_to_first_diff_in_page_ms  the first pool.diff frame reaches the page's WebSocket
 *   app_memory.connect_to_renderer_stores_full_ms  every VM in the renderer's stores (overview count)
 *   app_memory.connect_to_tree_rendered_ms    … and the pool's row in the tree, one frame painted
 *   app_memory.trust_to_vm_findable_ms        a VM typed into the search right after Trust shows in
 *                                             the tree; ratio against main synced (issue 20: ≤ 1.5)
 *   app_memory.main_rss_mb / renderer_rss_mb / main_plus_renderer_rss_mb / renderer_js_heap_mb /
 *   chromium_total_rss_mb                     with bench-10k loaded, after a settle and a GC;
 *                                             renderer_rss_mb is the page's renderer process (the
 *                                             largest; until issue 20 it summed every renderer
 *                                             process, Chromium's blank first page and spare too:
 *                                             all_renderers_mb is that sum)
 * RSS counts shared pages in every process, so the sums overstate a little.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { startBrowserMode } from '../../main/web/cli'
import { ensureRendererBuilt, launchChromium } from '../e2e/harness'
import { descendants, rssKb } from './proc'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
const VMS = 10_000
const HOSTS = 16
/** a VM of bench-10k known by name (≈2,100 web VMs are numbered web-00001…) */
const FIND_VM = 'web-01900'

function bench(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  const load = Math.round((loadavg()[0] ?? 0) * 100) / 100
  console.log(`BENCH ${JSON.stringify({ name, value: Math.round(value * 10) / 10, unit, baseline: null, ratio: null, ...extra, load })}`)
}


const SimDescription = z.object({
  pools: z
    .array(
      z.object({
        name: z.string(),
        masterUrl: z.string(),
        username: z.string(),
        password: z.string(),
        hosts: z.array(z.object({ name: z.string(), address: z.string(), fingerprint256: z.string() })),
      }),
    )
    .min(1),
})
type SimDescription = z.infer<typeof SimDescription>

/** the simulator in its own process; resolves with the fleet description it prints first */
function startSimChild(): Promise<{ child: ChildProcess; fleet: SimDescription }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/sim/cli.ts'), '--fleet', 'bench-10k'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the simulator printed no fleet description within 180 s')), 180_000)
    child.once('exit', (code, signal) => reject(new Error(`the simulator exited early with ${code ?? signal}`)))
    const rl = createInterface({ input: child.stdout ?? process.stdin })
    rl.once('line', (line) => {
      clearTimeout(timer)
      try {
        resolve({ child, fleet: SimDescription.parse(JSON.parse(line)) })
      } catch (e) {
        reject(new Error(`the simulator's first line is not its fleet description: ${(e as Error).message}`))
      }
      // keep draining its log so it never blocks on a full pipe
      rl.on('line', () => undefined)
    })
  })
}

async function stopSimChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.stdin?.write('quit\n')
  const t = setTimeout(() => child.kill('SIGTERM'), 10_000)
  await exited
  clearTimeout(t)
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function main(): Promise<void> {
  ensureRendererBuilt()
  const { child, fleet } = await startSimChild()
  const dataDir = mkdtempSync(join(tmpdir(), 'xp-app-memory-'))
  const cleanups: (() => Promise<unknown>)[] = [() => stopSimChild(child)]
  try {
    const pool = fleet.pools[0]
    if (!pool) throw new Error('bench-10k has no pool')
    // the simulator warms its encodings in the background after it starts: let it finish
    await sleep(8000)

    const app = await startBrowserMode({ dataDir, staticDir: join(ROOT, 'renderer/dist'), log: () => undefined, env: {} })
    cleanups.push(() => app.close())
    const browser = await launchChromium()
    cleanups.push(() => browser.close())
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } })
    const page = await context.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(app.url, { timeout: 120_000 })

    // main-side milestones, stamped against the same clock
    let t0 = 0
    let connectedAt = 0
    let syncedAt = 0
    let firstDiffAt = 0
    const pools = app.runtime.pools
    const vmCount = (id: string): number => {
      let n = 0
      for (const r of pools.graph(id)?.all('VM').values() ?? []) if (r.is_a_template !== true && r.is_a_snapshot !== true && r.is_control_domain !== true) n++
      return n
    }
    const offState = pools.onState((s) => {
      if (t0 > 0 && connectedAt === 0 && s.status === 'connected') connectedAt = performance.now()
    })
    page.on('websocket', (ws) => {
      const onFrame = (f: { payload: string | Buffer }): void => {
        if (t0 === 0 || firstDiffAt !== 0) return
        const head = typeof f.payload === 'string' ? f.payload.slice(0, 200) : f.payload.subarray(0, 200).toString('utf8')
        if (head.includes('"pool.diff"')) {
          firstDiffAt = performance.now()
          ws.off('framereceived', onFrame)
        }
      }
      ws.on('framereceived', onFrame)
    })

    // the user's path: Add Server → Connect → trust prompt
    await page.getByRole('button', { name: 'Add Server…' }).first().click()
    const dialog = page.getByRole('dialog', { name: 'Add Server' })
    await dialog.getByLabel('Server').fill(new URL(pool.masterUrl).host)
    await dialog.getByLabel('User name').fill(pool.username)
    await dialog.getByLabel('Password', { exact: true }).fill(pool.password)
    await dialog.getByRole('button', { name: 'Connect' }).click()
    const trust = page.getByRole('dialog', { name: 'Trust this server certificate?' }).getByRole('button', { name: 'Trust' })
    await trust.waitFor({ timeout: 120_000 })
    const state = pools.list().find((s) => s.status === 'awaiting-trust')
    if (!state) throw new Error('the page asks to trust a certificate but no connection is awaiting trust')
    const presented = state.certificate?.fingerprint256 ?? ''
    const printed = pool.hosts.map((h) => h.fingerprint256)
    if (!printed.includes(presented)) throw new Error(`the certificate presented (${presented}) is none the simulator printed (${printed.join(', ')})`)

    // XP_PROF=<dir>: the page's CPU profile from Trust until every VM is in its stores (Chromium's
    // profiler through CDP; main's own with `node --cpu-prof --import tsx test/bench/app-memory.bench.ts`)
    const profDir = process.env['XP_PROF']
    const cdp = profDir ? await context.newCDPSession(page) : undefined
    if (cdp) {
      await cdp.send('Profiler.enable')
      await cdp.send('Profiler.setSamplingInterval', { interval: 500 })
      await cdp.send('Profiler.start')
    }
    t0 = performance.now()
    await trust.click()
    // issue 20: what the user waits for — a VM they know by name, typed into the search at once,
    // shows in the tree (then the search is cleared again so the figures below are unchanged)
    const findable = (async (): Promise<number> => {
      const search = page.getByRole('searchbox', { name: 'Search' })
      await search.fill(FIND_VM)
      await page.getByRole('tree', { name: 'Servers' }).getByRole('treeitem', { name: FIND_VM, exact: true }).first().waitFor({ timeout: 600_000 })
      const at = performance.now()
      await search.fill('')
      return at
    })()
    // main: full graph (polled: the graph fills before the diffs are batched out)
    const mainDeadline = Date.now() + 600_000
    while (vmCount(state.id) < VMS) {
      if (Date.now() > mainDeadline) throw new Error(`main's graph has ${vmCount(state.id)} of ${VMS} VMs after 600 s`)
      await sleep(20)
    }
    syncedAt = performance.now()
    // page: every VM counted by the overview, the pool's hosts in the tree, one painted frame
    await page.locator('[data-testid="overview-vms"]', { hasText: new RegExp(`^${VMS}$`) }).waitFor({ timeout: 600_000 })
    const storesFullAt = performance.now()
    if (cdp && profDir) {
      const { profile } = await cdp.send('Profiler.stop')
      mkdirSync(profDir, { recursive: true })
      writeFileSync(join(profDir, 'page.cpuprofile'), JSON.stringify(profile))
    }
    const poolRow = page.locator('[role=treeitem][aria-level="1"]', { hasText: pool.name }).first()
    await poolRow.waitFor({ timeout: 60_000 })
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))')
    const renderedAt = performance.now()
    offState()
    // informative only: whether the pool row opens on its hosts depends on the saved tree state
    const poolExpanded = await poolRow.getAttribute('aria-expanded')
    const hostRows = await page.locator('[role=treeitem][aria-level="2"]').count()

    const findableAt = await findable
    const graphSize = pools.graph(state.id)?.size ?? 0
    if (connectedAt > 0) bench('app_memory.connect_to_main_connected_ms', connectedAt - t0, 'ms')
    bench('app_memory.connect_to_main_synced_ms', syncedAt - t0, 'ms', { vms: vmCount(state.id), graphObjects: graphSize, note: 'polled every 20 ms' })
    const ratio = Math.round(((findableAt - t0) / (syncedAt - t0)) * 100) / 100
    bench('app_memory.trust_to_vm_findable_ms', findableAt - t0, 'ms', { vm: FIND_VM, baseline: 'connect_to_main_synced_ms (the client’s own sync, this run)', baseline_ms: Math.round(syncedAt - t0), ratio, goal_ratio: 1.5 })
    if (firstDiffAt > 0) bench('app_memory.connect_to_first_diff_in_page_ms', firstDiffAt - t0, 'ms')
    bench('app_memory.connect_to_renderer_stores_full_ms', storesFullAt - t0, 'ms', { vms: VMS, note: 'overview VM count shows every VM' })
    bench('app_memory.connect_to_tree_rendered_ms', renderedAt - t0, 'ms', { vms: VMS, poolRowExpanded: poolExpanded, level2RowsInTree: hostRows, hostsInPool: HOSTS })

    // memory with bench-10k loaded: let the cache's write-behind finish, then collect garbage
    await sleep(5000)
    const gc = (globalThis as { gc?: () => void }).gc
    if (gc) gc()
    await sleep(1000)
    const mainMb = rssKb(process.pid) / 1024
    const heapMb = process.memoryUsage().heapUsed / 1024 / 1024
    const chromium = descendants(process.pid).filter((p) => /chrom/i.test(p.cmd))
    // the page's renderer is the largest renderer process by far (it holds bench-10k); Chromium's
    // others are its blank first page and a spare it keeps ready (≈70–120 MB each, mostly the same
    // shared pages counted again): issue 20 asks for main + the PAGE's renderer
    const renderers = chromium.filter((p) => p.cmd.includes('--type=renderer')).map((p) => ({ pid: p.pid, kb: rssKb(p.pid) }))
    renderers.sort((a, b) => b.kb - a.kb)
    const rendererMb = (renderers[0]?.kb ?? 0) / 1024
    const allRenderersMb = renderers.reduce((s, p) => s + p.kb, 0) / 1024
    const chromiumMb = chromium.reduce((s, p) => s + rssKb(p.pid), 0) / 1024
    const jsHeap = Number(await page.evaluate('performance.memory ? performance.memory.usedJSHeapSize : 0'))
    bench('app_memory.main_rss_mb', mainMb, 'MB', { jsHeapUsedMb: Math.round(heapMb), gc: Boolean(gc) })
    bench('app_memory.renderer_rss_mb', rendererMb, 'MB', { note: 'the page’s renderer process (the largest)', all_renderers_mb: Math.round(allRenderersMb), other_renderers_mb: renderers.slice(1).map((p) => Math.round(p.kb / 1024)) })
    bench('app_memory.renderer_js_heap_mb', jsHeap / 1024 / 1024, 'MB')
    bench('app_memory.main_plus_renderer_rss_mb', mainMb + rendererMb, 'MB')
    bench('app_memory.chromium_total_rss_mb', chromiumMb, 'MB', { processes: chromium.length })
    if (pageErrors.length > 0) console.log(`# page errors: ${pageErrors.join(' | ')}`)
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
