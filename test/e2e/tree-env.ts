/**
 * What the tree's end-to-end specs run against: the XAPI simulator (real HTTPS), the real runtime
 * (PoolManager, services) in browser mode with its web server serving the BUILT renderer, and
 * Debian's Chromium through playwright-core. Everything is started per suite and stopped by close().
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { MemoryKeychain } from '../../main/pools/keychain'
import { memoryKeychainStatus } from '../../main/services/keychain-status'
import { startRuntime, type Runtime } from '../../main/services/runtime'
import { startWebServer, type WebServer } from '../../main/web/server'
import { buildFleet } from '../sim/fleet'
import { startSimulator } from '../sim/index'
import type { FleetName, SimControl } from '../sim/model'
import { DIST, ensureRendererBuilt, launchChromium, seedFromSimulator } from './harness'

export interface TreeEnvOptions {
  fleet: FleetName
  /** add and trust every pool before the page opens (like `npm run demo`) */
  seed?: boolean
  viewport?: { width: number; height: number }
  colorScheme?: 'light' | 'dark'
  opDurationMs?: number
  /** connect the seeded pools as soon as the runtime starts (default true) */
  connectOnStart?: boolean
  /** forwarded to the simulator and runtime (benchmarks want to see them) */
  log?: (line: string) => void
}

export interface TreeEnv {
  sim: SimControl
  runtime: Runtime
  web: WebServer
  browser: Browser
  context: BrowserContext
  page: Page
  /** console errors and page errors seen so far */
  pageErrors: string[]
  dataDir: string
  close(): Promise<void>
}

export async function startTreeEnv(opts: TreeEnvOptions): Promise<TreeEnv> {
  ensureRendererBuilt()
  const dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-e2e-tree-'))
  const sim = await startSimulator({ fleet: buildFleet(opts.fleet, { opDurationMs: opts.opDurationMs ?? 0 }) })
  const seed = opts.seed ? seedFromSimulator(sim) : undefined
  const log = opts.log ?? ((): void => undefined)
  const runtime = await startRuntime({
    dataDir,
    mode: 'browser',
    keychain: new MemoryKeychain(),
    keychainStatus: memoryKeychainStatus(),
    appVersion: '0.0.0-test',
    versions: { node: process.versions.node },
    log,
    cache: false,
    connectOnStart: opts.connectOnStart ?? true,
    ...(seed ? { seed } : {}),
  })
  const web = await startWebServer({ services: runtime.services, staticDir: DIST, extraConnectSrc: [runtime.consoles.wsOrigin], log })
  const browser = await launchChromium()
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 }, colorScheme: opts.colorScheme ?? 'light', permissions: ['clipboard-read', 'clipboard-write'] })
  const page = await context.newPage()
  const pageErrors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text())
  })
  page.on('pageerror', (e) => pageErrors.push(e.message))
  // a runtime busy connecting many pools can be slow to serve the first page
  await page.goto(web.url, { timeout: 300_000 })
  return {
    sim,
    runtime,
    web,
    browser,
    context,
    page,
    pageErrors,
    dataDir,
    async close() {
      await browser.close().catch(() => undefined)
      await web.close().catch(() => undefined)
      await runtime.close().catch(() => undefined)
      await sim.stop().catch(() => undefined)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
