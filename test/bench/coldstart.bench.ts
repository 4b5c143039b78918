/**
 * P3 — cold start from the offline cache (`npm run bench -- coldstart`), issue 2. Goals: an
 * interactive tree ≤ 1 s, main + renderer resident memory ≤ 400 MB.
 *
 * 1. (this process) a data dir is filled with many-pools (50 pools × 2 hosts × 400 VMs, 20,000
 *    VMs): connections.json with 50 saved servers, and cache.sqlite holding each pool's graph as
 *    the pools layer writes it (the simulator fleet in the client's normalised form).
 * 2. (a fresh driver process) Chromium is launched first (the Electron window's own start-up is
 *    not the cache's business) and the app process is started with its modules imported; then
 *    the clock starts: runtime (cache, PoolManager, services) + browser-mode web door started in
 *    the app process, page loaded, until
 *      coldstart.tree_50_pools_ms      the tree lists all 50 saved pools (root aria-setsize = 50)
 *      coldstart.interactive_ms        … and a click answers (the View menu opens)
 *      coldstart.click_during_stream_ms  the same click later, once ≥ 2,000 (and < 80 %) of the VMs
 *                                      are in the page: from the click to the menu, mid-stream
 *      coldstart.all_vms_loaded_ms     every pool's cached graph is in the renderer (20,000 VMs)
 *    and memory once everything is loaded:
 *      coldstart.main_rss_mb           the app process (runtime + web door only; playwright drives
 *                                      Chromium from the driver process); before_runtime_mb: the
 *                                      same process before the runtime starts (Node + tsx + modules)
 *      coldstart.renderer_rss_mb       the page's renderer process, from /proc; after_gc_mb: the same
 *                                      half a second after the forced GC below (the stream's garbage gone)
 *      coldstart.main_plus_renderer_rss_mb
 *      coldstart.all_renderers_rss_mb  every `--type=renderer` process of Chromium (for comparison)
 *      coldstart.chromium_total_rss_mb every Chromium process (browser, GPU, network, renderer)
 *      coldstart.renderer_js_heap_mb   the page's JS heap (performance.memory); after_gc_mb: what it
 *                                      retains once a GC (forced through DevTools) took the garbage
 *    RSS counts shared pages in every process, so the sums overstate a little.
 *    Which renderer is the page's: headless Chromium runs three `--type=renderer` processes for one
 *    page — the page's, a `--top-chrome-webui` one (Chromium's own WebUI, ≈120 MB) and a spare
 *    renderer it keeps warm for the next navigation (≈76 MB, no CPU). Measured (2026-11-25): a page
 *    allocating 240 MB grew only one of them (110 → 350 MB); closing the page ended that one and the
 *    WebUI one, the spare stayed. Neither of the other two holds anything of XenPilot, so the page's
 *    process is found the same way here: after the readings the page is closed, and the renderer
 *    that exits with it (not the WebUI one) is the page's.
 * The pools are not connected (connectOnStart: false): the figure is the cache path alone.
 */
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { WireValue } from '../../main/xapi/wire'
import { descendants, rssKb } from './proc'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
const POOLS = 50
const VMS = 20_000

function bench(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  const load1 = Math.round((loadavg()[0] ?? 0) * 10) / 10
  console.log(`BENCH ${JSON.stringify({ name, value: Math.round(value * 10) / 10, unit, ...extra, load1 })}`)
}

// ------------------------------------------------------------------------------------------------
// 1. fill

async function fill(dataDir: string): Promise<void> {
  const { openInventoryCache } = await import('../../main/cache')
  const { IGNORED_CLASSES } = await import('../../main/pools/eventloop')
  const { recordNormaliser } = await import('../../main/xapi/normalise')
  const { NO_EVENT_CLASSES } = await import('../../shared/xapi/datamodel.generated')
  const { buildFleet } = await import('../sim/fleet')
  type Upsert = { cls: string; ref: string; record: Record<string, unknown> }

  const t0 = performance.now()
  const fleet = buildFleet('many-pools', { opDurationMs: 0 })
  const cache = openInventoryCache({ dataDir })
  const saved: Record<string, unknown>[] = []
  let vms = 0
  for (const [i, pool] of fleet.pools.entries()) {
    const id = randomUUID()
    const upserts: Upsert[] = []
    let poolUuid: string | undefined
    for (const [cls, table] of pool.objects) {
      if (NO_EVENT_CLASSES.includes(cls) || IGNORED_CLASSES.has(cls)) continue
      const normalise = recordNormaliser(cls)
      for (const [ref, r] of table) {
        const record: unknown = normalise(JSON.parse(JSON.stringify(r)) as WireValue)
        if (typeof record !== 'object' || record === null || Array.isArray(record)) continue
        upserts.push({ cls, ref, record: record as Record<string, unknown> })
        if (cls === 'pool' && typeof r.uuid === 'string') poolUuid = r.uuid
        if (cls === 'VM' && r.is_a_template !== true && r.is_a_snapshot !== true && r.is_control_domain !== true) vms++
      }
    }
    // addresses nobody answers on: nothing connects during the measurement anyway
    const address = `127.66.${Math.floor(i / 200)}.${(i % 200) + 1}`
    saved.push({ id, address, username: 'root', rememberPassword: false, forceXmlRpc: false, doNotCache: false, memberAddresses: [address], masterAddress: address, poolName: pool.name, ...(poolUuid ? { poolUuid } : {}) })
    cache.write(
      { connectionId: id, seq: 1, reset: true, upserts, removes: [], token: `${i + 1},0` },
      { poolName: pool.name, ...(poolUuid ? { poolUuid } : {}), memberAddresses: [address], masterAddress: address, transport: 'json-rpc', lastSyncAt: new Date().toISOString() },
    )
    // bounded memory: let the writer take each pool before the next is built into rows
    await cache.flush()
  }
  await cache.close()
  writeFileSync(join(dataDir, 'connections.json'), JSON.stringify({ version: 1, connections: saved }), { mode: 0o600 })
  if (vms !== VMS || saved.length !== POOLS) throw new Error(`many-pools gave ${saved.length} pools / ${vms} VMs, expected ${POOLS} / ${VMS}`)
  let size = 0
  for (const f of readdirSync(dataDir)) if (f.startsWith('cache.sqlite')) size += statSync(join(dataDir, f)).size
  bench('coldstart.fill_many_pools_cache_s', (performance.now() - t0) / 1000, 's', { pools: POOLS, vms })
  bench('coldstart.cache_file_mb', size / 1024 / 1024, 'MB')
}

// ------------------------------------------------------------------------------------------------
// 2. measure: a driver process (playwright + Chromium) and the app in a process of its own

/**
 * The app process (`--app <dataDir>`): imports first, then on 'go' starts the runtime and the web
 * door and answers `url <url> <runtime ms>`; on 'mem' answers its heap; on 'exit' closes. Nothing
 * else runs in it, so its RSS and its event loop are the app's alone (the driver's playwright
 * client used to share both: every playwright round trip waited for the app's event loop).
 */
async function app(dataDir: string): Promise<void> {
  const { MemoryKeychain } = await import('../../main/pools/keychain')
  const { memoryKeychainStatus } = await import('../../main/services/keychain-status')
  const { startRuntime } = await import('../../main/services/runtime')
  const { startWebServer } = await import('../../main/web/server')
  const { createInterface } = await import('node:readline')
  let close: (() => Promise<void>) | undefined
  const say = (line: string): void => void process.stdout.write(`${line}\n`)
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'go') {
      const t0 = performance.now()
      const runtime = await startRuntime({
        dataDir,
        mode: 'browser',
        keychain: new MemoryKeychain(),
        keychainStatus: memoryKeychainStatus(),
        appVersion: '0.0.0-bench',
        versions: { node: process.versions.node },
        log: () => undefined,
        connectOnStart: false,
      })
      const runtimeMs = performance.now() - t0
      const web = await startWebServer({ services: runtime.services, staticDir: join(ROOT, 'renderer/dist'), extraConnectSrc: [runtime.consoles.wsOrigin], log: () => undefined })
      close = async () => {
        await web.close().catch(() => undefined)
        await runtime.close().catch(() => undefined)
      }
      say(`url ${web.url} ${runtimeMs}`)
    } else if (line === 'mem') say(`mem ${JSON.stringify(process.memoryUsage())}`)
    else if (line === 'exit') break
  }
  await close?.()
  process.exit(0)
}

async function measure(dataDir: string): Promise<void> {
  const { ensureRendererBuilt, launchChromium } = await import('../e2e/harness')
  const { createInterface } = await import('node:readline')
  const { spawn } = await import('node:child_process')
  ensureRendererBuilt()
  const browser = await launchChromium()
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } })
  const page = await context.newPage()

  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--app', dataDir], { stdio: ['pipe', 'pipe', 'inherit'], cwd: ROOT })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const next = async (prefix: string): Promise<string> => {
    for (;;) {
      const r = await lines.next()
      if (r.done) throw new Error(`the app process ended before it said '${prefix}'`)
      if (r.value.startsWith(`${prefix} `) || r.value === prefix) return r.value.slice(prefix.length + 1)
    }
  }
  const tell = (line: string): void => void child.stdin.write(`${line}\n`)
  const appPid = child.pid
  if (appPid === undefined) throw new Error('the app process did not start')
  // the app process with its modules imported, before the runtime starts (Node + tsx + modules)
  tell('mem')
  await next('mem')
  const mainBeforeMb = rssKb(appPid) / 1024

  const t0 = performance.now()
  tell('go')
  const [url = '', runtimeText = '0'] = (await next('url')).split(' ')
  const runtimeMs = Number(runtimeText)
  try {
    // 'commit': the page's own progress is what is measured, not its load event
    await page.goto(url, { timeout: 120_000, waitUntil: 'commit' })
    await page.locator(`[role=treeitem][aria-level="1"][aria-setsize="${POOLS}"]`).first().waitFor({ timeout: 120_000 })
    const treeMs = performance.now() - t0
    bench('coldstart.runtime_start_ms', runtimeMs, 'ms')
    bench('coldstart.tree_50_pools_ms', treeMs, 'ms', { goal: 1000 })
    // interactive: a click answers (the View menu opens) while the graphs stream in, without
    // selecting anything — the fleet overview below counts the VMs only while nothing is selected
    const viewButton = page.getByRole('button', { name: 'View ▾' })
    await viewButton.click()
    await page.getByRole('group', { name: 'View options' }).waitFor({ timeout: 120_000 })
    const interactiveMs = performance.now() - t0
    await viewButton.click()
    await page.getByRole('group', { name: 'View options' }).waitFor({ state: 'hidden', timeout: 120_000 })
    // the same click again while the graphs are streaming in (some VMs in the page, not all yet)
    let midClickMs: number | undefined
    let midVms = 0
    const overview = page.locator('[data-testid="overview-vms"]')
    for (let i = 0; i < 400; i++) {
      midVms = Number((await overview.textContent({ timeout: 120_000 }).catch(() => '')) ?? '')
      if (midVms >= 2000 || !Number.isFinite(midVms)) break
      await new Promise((r) => setTimeout(r, 20))
    }
    if (Number.isFinite(midVms) && midVms >= 2000 && midVms < VMS * 0.8) {
      const c0 = performance.now()
      await viewButton.click()
      await page.getByRole('group', { name: 'View options' }).waitFor({ timeout: 120_000 })
      midClickMs = performance.now() - c0
      await viewButton.click()
    }
    await page.locator('[data-testid="overview-vms"]', { hasText: new RegExp(`^${VMS}$`) }).waitFor({ timeout: 180_000 })
    const allMs = performance.now() - t0
    bench('coldstart.interactive_ms', interactiveMs, 'ms', { goal: 1000, baseline: null, note: 'before this change the PoolManager loaded every pool synchronously at construction: ≈5.0 s (main/cache/README.md, many-pools cold load) before the runtime answered at all' })
    bench('coldstart.all_vms_loaded_ms', allMs, 'ms', { vms: VMS })
    if (midClickMs !== undefined) bench('coldstart.click_during_stream_ms', midClickMs, 'ms', { vms_in_page_at_click: midVms })
    else console.log(`# coldstart.click_during_stream_ms: not measured (${midVms} VMs in the page when looked at)`)

    // memory once everything is loaded (a second for the write-behind and GC to settle)
    await new Promise((r) => setTimeout(r, 1000))
    tell('mem')
    const appMem = JSON.parse(await next('mem')) as NodeJS.MemoryUsage
    const mainMb = rssKb(appPid) / 1024
    const chromium = descendants(process.pid).filter((p) => /chrom/i.test(p.cmd))
    const renderers = chromium.filter((p) => p.cmd.includes('--type=renderer'))
    const rss = new Map(renderers.map((p) => [p.pid, rssKb(p.pid)]))
    const allRenderersMb = [...rss.values()].reduce((s, kb) => s + kb, 0) / 1024
    const chromiumMb = chromium.reduce((s, p) => s + rssKb(p.pid), 0) / 1024
    const heap = Number(await page.evaluate('performance.memory ? performance.memory.usedJSHeapSize : 0'))
    // what the page retains (garbage of the stream collected): forced GC through the DevTools protocol
    const cdp = await context.newCDPSession(page)
    await cdp.send('HeapProfiler.collectGarbage')
    const heapAfterGc = (await cdp.send('Runtime.getHeapUsage')).usedSize
    await new Promise((r) => setTimeout(r, 500))
    const rssAfterGc = new Map(renderers.map((p) => [p.pid, rssKb(p.pid)]))
    // the page's renderer: the one (not Chromium's WebUI renderer) that exits when the page closes
    await page.close()
    let pageRenderers: number[] = []
    for (let i = 0; i < 50 && pageRenderers.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100))
      const alive = new Set(descendants(process.pid).map((p) => p.pid))
      pageRenderers = renderers.filter((p) => !alive.has(p.pid) && !p.cmd.includes('--top-chrome-webui')).map((p) => p.pid)
    }
    if (pageRenderers.length === 0) throw new Error("no renderer process exited with the page: cannot tell which one was the page's")
    const rendererMb = pageRenderers.reduce((s, pid) => s + (rss.get(pid) ?? 0), 0) / 1024
    bench('coldstart.main_rss_mb', mainMb, 'MB', { before_runtime_mb: Math.round(mainBeforeMb), heap_used_mb: Math.round(appMem.heapUsed / 1024 / 1024) })
    const rendererAfterGcMb = pageRenderers.reduce((s, pid) => s + (rssAfterGc.get(pid) ?? 0), 0) / 1024
    bench('coldstart.renderer_rss_mb', rendererMb, 'MB', { processes: pageRenderers.length, after_gc_mb: Math.round(rendererAfterGcMb), note: "the page's renderer process (see the header)" })
    bench('coldstart.main_plus_renderer_rss_mb', mainMb + rendererMb, 'MB', { goal: 400 })
    bench('coldstart.all_renderers_rss_mb', allRenderersMb, 'MB', { processes: renderers.length, note: "includes Chromium's WebUI renderer and its spare renderer" })
    bench('coldstart.chromium_total_rss_mb', chromiumMb, 'MB', { processes: chromium.length })
    bench('coldstart.renderer_js_heap_mb', heap / 1024 / 1024, 'MB', { after_gc_mb: Math.round(heapAfterGc / 1024 / 1024) })
  } finally {
    await browser.close().catch(() => undefined)
    tell('exit')
    await new Promise((r) => child.once('exit', r))
  }
}

// ------------------------------------------------------------------------------------------------

const measureDir = process.argv[2] === '--measure' ? process.argv[3] : undefined
const appDir = process.argv[2] === '--app' ? process.argv[3] : undefined
if (appDir) {
  await app(appDir)
} else if (measureDir) {
  await measure(measureDir)
} else {
  const dataDir = mkdtempSync(join(tmpdir(), 'xp-coldstart-'))
  try {
    await fill(dataDir)
    // two runs: the first also warms the OS page cache for the file, as every later start would
    for (let run = 1; run <= 2; run++) {
      console.log(`# cold start run ${run}`)
      // the view settings the previous run left behind (tree mode) must not change this one
      rmSync(join(dataDir, 'settings.json'), { force: true })
      const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--measure', dataDir], { stdio: 'inherit', cwd: ROOT })
      if (r.status !== 0) throw new Error(`the measuring process exited with ${r.status ?? r.signal}`)
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}
