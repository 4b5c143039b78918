/**
 * What the tree's end-to-end specs run against: the XAPI simulator (real HTTPS), the real runtime
 * (PoolManager, services) in browser mode with its web server serving the BUILT renderer, and
 * Debian's Chromium through playwright-core. Everything is started per suite and stopped by close().
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { MemoryKeychain } from '../../main/pools/keychain'
import { memoryKeychainStatus } from '../../main/services/keychain-status'
import { startRuntime, type ConnectionSeed, type Runtime } from '../../main/services/runtime'
import { startWebServer, type WebServer } from '../../main/web/server'
import { buildFleet } from '../sim/fleet'
import { startSimulator } from '../sim/index'
import type { FleetName, SimControl } from '../sim/model'

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const ROOT = join(import.meta.dirname, '../..')
const DIST = join(ROOT, 'renderer/dist')

/** Build the renderer when dist is missing or older than its sources (so tests exercise the current code). */
export function ensureRendererBuilt(): void {
  const newest = (dir: string): number => {
    let t = 0
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
    }
    return t
  }
  const index = join(DIST, 'index.html')
  const src = Math.max(newest(join(ROOT, 'renderer/src')), statSync(join(ROOT, 'renderer/index.html')).mtimeMs)
  if (existsSync(index) && statSync(index).mtimeMs >= src) return
  const r = spawnSync('npx', ['vite', 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'error'], { cwd: ROOT, stdio: 'inherit' })
  if (r.status !== 0) throw new Error('renderer build failed')
}

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
  const seed: ConnectionSeed | undefined = opts.seed
    ? {
        pools: sim.pools.map((p) => ({
          address: new URL(p.masterUrl).host,
          username: p.username,
          password: p.password,
          hosts: p.hosts.map((h) => ({ host: new URL(h.url).hostname, port: Number(new URL(h.url).port), certPem: h.certPem })),
        })),
      }
    : undefined
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
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
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
