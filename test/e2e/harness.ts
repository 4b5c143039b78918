/**
 * The shared end-to-end harness: XAPI simulator (real HTTPS) + XenPilot in browser mode (real
 * runtime: PoolManager, cache, console bridge, services, web door) + the BUILT renderer in
 * Debian's Chromium through playwright-core. Everything is started per suite and stopped by close().
 *
 *   import { startApp } from '../e2e/harness'
 *   const h = await startApp({ fleet: 'tiny', trustPools: true })   // pools added + certificates pinned
 *   await h.page.getByRole('tree').waitFor()
 *   await h.api.call('connections.list', {})                          // the contract, from Node, same door as the page
 *   h.sim.pool('Lab').failMaster()
 *   expect(h.pageErrors).toEqual([])
 *   await h.close()
 *
 * API
 *   startApp(opts?)           → AppHarness   (sim, app (runtime + web), browser, page, api, pageErrors, dataDir, close)
 *                               opts: fleet, trustPools, page, dataDir (reuse = restart), sim (reuse), env, poolOptions, log
 *   ensureRendererBuilt()     builds renderer/dist when missing or older than renderer/ or shared/ sources
 *   launchChromium()          Debian's Chromium with the flags this machine needs (CHROMIUM_PATH overrides the path)
 *   connectContract(url)      a Node client for the contract over the page's WebSocket (right token and Origin)
 *   seedFromSimulator(sim)    the simulator's pools as a ConnectionSeed (what `npm run demo` pre-adds)
 *   serversTree(page), detailsPane(page), selectInTree(page, name)   the tree, the details, an object found through the search
 *   CHROMIUM_ARGS             the launch flags
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import WebSocket from 'ws'
import type { ContractError, EventName, EventPayload, MethodArgs, MethodName, MethodResult } from '../../shared/contract'
import { ServerMessage } from '../../shared/contract/wire'
import type { RuntimeOptions } from '../../main/services/runtime'
import { seedFromSimulator } from '../../scripts/demo'
import { ensureRendererBuilt as buildRendererIfStale } from '../../scripts/renderer-build'
import { startBrowserMode, type BrowserMode } from '../../main/web/cli'
import { buildFleet, type BuildFleetOptions } from '../sim/fleet'
import { startSimulator } from '../sim/index'
import type { FleetName, SimControl, SimFleet } from '../sim/model'

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
export const DIST = join(ROOT, 'renderer/dist')

/** Build the renderer when dist is missing or older than its sources, so tests exercise the current code (the build's output on stderr). */
export function ensureRendererBuilt(): void {
  buildRendererIfStale(ROOT, (line) => void process.stderr.write(`${line}\n`))
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
}

/** the simulator's pools as a ConnectionSeed: what `npm run demo` pre-adds and pre-trusts */
export { seedFromSimulator }

export interface ReceivedEvent {
  event: string
  payload: unknown
}

/** The contract from Node, through the same door the page uses. Calls reject with the ContractError. */
export interface ContractClient {
  call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>>
  /** every event received so far */
  events: ReceivedEvent[]
  /** first event (past or future) named `event` whose payload satisfies `pred`; rejects after timeoutMs */
  waitForEvent<E extends EventName>(event: E, pred?: (payload: EventPayload<E>) => boolean, timeoutMs?: number): Promise<EventPayload<E>>
  close(): void
}

export async function connectContract(pageUrl: string): Promise<ContractClient> {
  const u = new URL(pageUrl)
  const token = u.searchParams.get('token') ?? ''
  const ws = new WebSocket(`ws://${u.host}/api?token=${encodeURIComponent(token)}`, { headers: { Origin: u.origin } })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`the contract WebSocket was refused with HTTP ${res.statusCode}`)))
  })
  const events: ReceivedEvent[] = []
  const waiters = new Set<{ event: string; pred: (p: unknown) => boolean; resolve: (p: unknown) => void }>()
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: ContractError) => void }>()
  let nextId = 1
  ws.on('message', (data) => {
    const msg = ServerMessage.parse(JSON.parse(String(data)))
    if (msg.t === 'event') {
      events.push({ event: msg.event, payload: msg.payload })
      for (const w of waiters) if (w.event === msg.event && w.pred(msg.payload)) (waiters.delete(w), w.resolve(msg.payload))
      return
    }
    const p = pending.get(msg.id)
    if (!p) return
    pending.delete(msg.id)
    if (msg.t === 'result') p.resolve(msg.result)
    else p.reject(msg.error)
  })
  return {
    events,
    call(method, args) {
      const id = nextId++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: (v) => resolve(v as MethodResult<typeof method>), reject })
        ws.send(JSON.stringify({ t: 'call', id, method, args }))
      })
    },
    waitForEvent(event, pred, timeoutMs = 30_000) {
      const test = (p: unknown): boolean => (pred ? pred(p as EventPayload<typeof event>) : true)
      const past = events.find((e) => e.event === event && test(e.payload))
      if (past) return Promise.resolve(past.payload as EventPayload<typeof event>)
      return new Promise((resolve, reject) => {
        const w = {
          event,
          pred: test,
          resolve: (p: unknown) => {
            clearTimeout(timer)
            resolve(p as EventPayload<typeof event>)
          },
        }
        const timer = setTimeout(() => {
          waiters.delete(w)
          reject(new Error(`no '${event}' event matching within ${timeoutMs} ms`))
        }, timeoutMs)
        waiters.add(w)
      })
    },
    close: () => ws.close(),
  }
}

export interface StartAppOptions {
  /** a fleet name for buildFleet, or a fleet (default 'tiny') */
  fleet?: FleetName | SimFleet
  fleetOptions?: BuildFleetOptions
  /** add every simulator pool and pin its certificates before the page opens (like `npm run demo`) */
  trustPools?: boolean
  /** open the page in Chromium (default true) */
  page?: boolean
  viewport?: { width: number; height: number }
  colorScheme?: 'light' | 'dark'
  /** how long the page may take to load (default 120 s: the first pools stream in meanwhile) */
  pageTimeoutMs?: number
  /** with trustPools: also wait until the status bar says every pool is connected (a demo fleet on a busy machine) */
  waitForPools?: boolean
  /** reuse a data dir (offline cache tests); default a fresh temp dir removed by close() */
  dataDir?: string
  poolOptions?: RuntimeOptions['poolOptions']
  /** environment the app sees (e.g. XENPILOT_PASSPHRASE for a persistent keychain); default none */
  env?: NodeJS.ProcessEnv
  /** keep the simulator running across app restarts: pass the previous harness's `sim` */
  sim?: SimControl
  /** server log lines (default: dropped) */
  log?: (line: string) => void
}

export interface AppHarness {
  sim: SimControl
  app: BrowserMode
  /** the page URL with its token */
  url: string
  dataDir: string
  api: ContractClient
  /** undefined when opts.page === false */
  browser: Browser | undefined
  context: BrowserContext | undefined
  page: Page
  /** console.error messages and uncaught page errors seen so far */
  pageErrors: string[]
  close(): Promise<void>
}

export async function startApp(opts: StartAppOptions = {}): Promise<AppHarness> {
  const wantPage = opts.page !== false
  if (wantPage) ensureRendererBuilt()
  const ownDir = opts.dataDir === undefined
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'xenpilot-e2e-'))
  const fleet = typeof opts.fleet === 'object' ? opts.fleet : buildFleet(opts.fleet ?? 'tiny', { opDurationMs: 0, ...opts.fleetOptions })
  const cleanups: (() => Promise<unknown>)[] = []
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined)
    if (ownDir) rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    const sim = opts.sim ?? (await startSimulator({ fleet }))
    if (!opts.sim) cleanups.push(() => sim.stop())
    const app = await startBrowserMode({
      dataDir,
      staticDir: DIST,
      log: opts.log ?? (() => undefined),
      env: opts.env ?? {},
      ...(opts.trustPools ? { seed: seedFromSimulator(sim) } : {}),
      ...(opts.poolOptions ? { poolOptions: opts.poolOptions } : {}),
    })
    cleanups.push(() => app.close())
    const api = await connectContract(app.url)
    cleanups.push(async () => api.close())
    const pageErrors: string[] = []
    let browser: Browser | undefined
    let context: BrowserContext | undefined
    let page: Page | undefined
    if (wantPage) {
      const b = await launchChromium()
      browser = b
      cleanups.push(() => b.close())
      context = await b.newContext({ viewport: opts.viewport ?? { width: 1400, height: 900 }, colorScheme: opts.colorScheme ?? 'light' })
      const p = await context.newPage()
      page = p
      p.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(m.text())
      })
      p.on('pageerror', (e) => pageErrors.push(e.message))
      // the page's load waits for the first pools streaming in: on a loaded machine (2 cores, load 20) that took over 30 s
      await p.goto(app.url, { timeout: opts.pageTimeoutMs ?? 120_000 })
      if (opts.waitForPools) {
        const n = sim.pools.length
        await p.getByTestId('pools-connected').filter({ hasText: `${n} of ${n} connected` }).waitFor({ timeout: opts.pageTimeoutMs ?? 120_000 })
      }
    }
    return {
      sim,
      app,
      url: app.url,
      dataDir,
      api,
      browser,
      context,
      // Tests that pass page: false must not touch it: make a mistake loud.
      page: page ?? new Proxy({} as Page, { get: () => { throw new Error('startApp({ page: false }) opened no page') } }),
      pageErrors,
      close: cleanup,
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}

/** the Servers tree and the details pane, by role and name */
export const serversTree = (page: Page) => page.getByRole('tree', { name: 'Servers' })
export const detailsPane = (page: Page) => page.getByRole('region', { name: 'Details' })

/**
 * Selects an object as a user finds it in the virtualised tree (a row may be below the fold): its
 * name typed into the search, its row clicked, the search left with Escape.
 */
export async function selectInTree(page: Page, name: string, timeout = 60_000): Promise<void> {
  const search = page.getByRole('searchbox', { name: 'Search' })
  await search.fill(name, { timeout })
  await serversTree(page).getByRole('treeitem', { name, exact: true }).click({ timeout })
  await search.press('Escape')
}
