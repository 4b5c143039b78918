/**
 * The offline cache where it meets the user (issue 2), end to end in browser mode with Chromium:
 * a pool synced once is still browsable after a restart with the pool unreachable — tree, search,
 * details — clearly marked offline with the time, and commands that need the pool are disabled
 * with that reason. When the pool comes back with changes made while XenPilot was away (a VM
 * added, one deleted, one moved to another host), the tree follows: no duplicate, no ghost.
 * A damaged cache file is moved aside, rebuilt, and the user is told what happened.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../sim'
import { buildFleet } from '../sim/fleet'
import type { SimControl, SimFleet, SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness, type ReceivedEvent } from './harness'
import type { PoolDiff } from '../../shared/model/diff'
import { OFFLINE_UNUSED_CLASSES, RENDERER_UNUSED_CLASSES } from '../../shared/model/slim'

const LONG = 60_000
/** a persistent keychain, so the restarted app can log in again by itself */
const ENV = { XENPILOT_PASSPHRASE: 'offline spec passphrase' }
/** fast retries: the pool comes back within a test */
const POOL_OPTIONS = { reconnect: { initialMs: 300, maxMs: 1500, factor: 2, jitter: 0.1 } }
/** what the UI writes for a time of today: 'HH:MM' (locale-dependent separators) */
const CLOCK = /\d{1,2}[:.]\d{2}/

const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })

function vmRef(pool: SimPoolHandle, name: string): string {
  for (const [ref, r] of pool.objects.get('VM') ?? []) if (r.name_label === name && r.is_a_snapshot !== true && r.is_a_template !== true) return ref
  throw new Error(`no VM ${name} in ${pool.name}`)
}
function hostName(pool: SimPoolHandle, ref: string): string {
  const n = pool.objects.get('host')?.get(ref)?.name_label
  if (typeof n !== 'string') throw new Error(`no host ${ref} in ${pool.name}`)
  return n
}

/** the classes of every object in the `pool.diff` events a window received for `connectionId` */
function diffClasses(events: readonly ReceivedEvent[], connectionId: string): Set<string> {
  const out = new Set<string>()
  for (const e of events) {
    if (e.event !== 'pool.diff') continue
    const d = e.payload as PoolDiff
    if (d.connectionId !== connectionId) continue
    for (const u of d.upserts) out.add(u.cls)
    for (const r of d.removes) out.add(r.cls)
  }
  return out
}

/** polls `ok` until it holds (beforeAll has no expect.poll) */
async function until(what: string, ok: () => Promise<boolean>, timeoutMs = LONG): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** every visible row as [label, level, parent label] (the parent is the nearest row one level up) */
async function rows(page: Page): Promise<{ label: string; level: number; parent: string | undefined }[]> {
  const raw = await servers(page)
    .getByRole('treeitem')
    .evaluateAll((els) => els.map((e) => [e.getAttribute('aria-label') ?? '', Number(e.getAttribute('aria-level'))] as const))
  const out: { label: string; level: number; parent: string | undefined }[] = []
  const stack: string[] = []
  for (const [label, level] of raw) {
    stack.length = Math.max(0, level - 1)
    out.push({ label, level, parent: stack[level - 2] })
    stack[level - 1] = label
  }
  return out
}

/** narrows the tree to `text` and answers the rows that match it exactly, with their parents */
async function search(page: Page, text: string): Promise<{ label: string; parent: string | undefined }[]> {
  await page.getByRole('searchbox', { name: 'Search' }).fill(text)
  return (await rows(page)).filter((r) => r.label === text).map((r) => ({ label: r.label, parent: r.parent }))
}

describe('offline cache in the app', { timeout: 240_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-e2e-offline-'))
  const stateDir = mkdtempSync(join(tmpdir(), 'xenpilot-e2e-offline-sim-'))
  let fleet: SimFleet
  let sim: SimControl | undefined
  /** the first simulator, stopped: the harness holds it but asks nothing of it */
  let gone: SimControl | undefined
  let port = 0
  let h: AppHarness | undefined
  /** what the first session saw of tiny-current */
  let web01Host = ''

  beforeAll(async () => {
    fleet = buildFleet('tiny', { addressBase: '127.97', opDurationMs: 0 })
    sim = await startSimulator({ fleet, stateDir })
    const pool = sim.pool('tiny-current')
    port = pool.port
    web01Host = hostName(pool, String(pool.objects.get('VM')?.get(vmRef(pool, 'web-01'))?.resident_on))
    // a first session: add and trust both pools, let them sync into the cache, quit
    const first = await startApp({ sim, dataDir, trustPools: true, env: ENV, page: false, poolOptions: POOL_OPTIONS })
    try {
      await until('both pools connected', async () => (await first.api.call('connections.list', {})).filter((c) => c.status === 'connected').length === 2)
    } finally {
      await first.close() // closing the runtime flushes the cache to its file
    }
    await sim.stop()
    gone = sim
    sim = undefined
  }, 180_000)

  afterAll(async () => {
    await h?.close()
    await sim?.stop()
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(stateDir, { recursive: true, force: true })
  })

  it('with every pool unreachable, a restart shows the cached tree marked offline with the time; search and details work; VM commands say why they are disabled', async () => {
    // the simulator is stopped: nothing answers on the pools' addresses
    if (!gone) throw new Error('the first session did not run')
    h = await startApp({ sim: gone, dataDir, env: ENV, poolOptions: POOL_OPTIONS })
    const { page } = h

    // both pools and their objects, from the cache
    for (const name of ['tiny-current', 'tiny-legacy']) {
      const row = treeitem(page, name)
      await row.waitFor({ timeout: LONG })
      await expect.poll(() => row.getAttribute('title'), { timeout: LONG }).toMatch(new RegExp(`^${name} — Offline, as of ${CLOCK.source}`))
    }
    expect(await page.getByTestId('pools-connected').textContent()).toBe('Pools: 0 of 2 connected')
    await treeitem(page, web01Host).waitFor({ timeout: LONG })

    // what a window is sent of an offline pool (the contract client subscribes like the page): the
    // cached graph without the classes the renderer never reads (and, when streamed from the file
    // rather than from main's memory, without those only a connected pool needs: test/integration/cache/pieces)
    await h.api.call('objects.subscribe', {})
    const ids = (await h.api.call('connections.list', {})).map((c) => c.id)
    for (const id of ids) await h.api.waitForEvent('pool.diff', (d) => d.connectionId === id && d.reset && d.more !== true, LONG)
    for (const id of ids) {
      const sent = diffClasses(h.api.events, id)
      expect(sent.has('VM')).toBe(true)
      expect([...sent].filter((c) => RENDERER_UNUSED_CLASSES.has(c))).toEqual([])
    }

    // search runs on the cached graph
    const found = await search(page, 'build-01')
    expect(found).toEqual([{ label: 'build-01', parent: expect.any(String) }])

    // details of a cached VM, and of the pool: when the cache is from
    await treeitem(page, 'build-01').click()
    const details = page.getByRole('region', { name: 'Details' })
    await expect.poll(() => details.textContent(), { timeout: LONG }).toContain('build-01')
    await page.getByRole('searchbox', { name: 'Search' }).fill('')
    await treeitem(page, 'tiny-current').click()
    await expect.poll(() => details.textContent(), { timeout: LONG }).toMatch(new RegExp(`Showing cache from.*${CLOCK.source}`))

    // an action that needs the pool: disabled, with the reason and the time
    await search(page, 'web-01')
    await treeitem(page, 'web-01').click({ button: 'right' })
    const menu = page.getByRole('menu', { name: 'Actions' })
    const shutDown = menu.getByRole('menuitem').filter({ has: page.getByText('Shut Down', { exact: true }) })
    await shutDown.waitFor({ timeout: LONG })
    expect(await shutDown.getAttribute('aria-disabled')).toBe('true')
    expect(await shutDown.getAttribute('title')).toMatch(new RegExp(`^tiny-current is (reconnecting|connecting|offline) .*since ${CLOCK.source}`))
    await page.keyboard.press('Escape')
    await page.getByRole('searchbox', { name: 'Search' }).fill('')
    expect(h.pageErrors.filter((e) => !/WebSocket|net::/.test(e))).toEqual([])
  })

  it('when the pool comes back with changes made while away, the tree reconciles: the new VM once, the deleted one gone, the moved one under its new host', async () => {
    if (!h) throw new Error('the previous spec did not start the app')
    const { page } = h
    // the same pools again (same certificates, same addresses), then changed by another tool
    sim = await startSimulator({ fleet, stateDir, port })
    const pool = sim.pool('tiny-current')
    const added = String(await pool.call('VM.clone', [vmRef(pool, 'build-01'), 'build-01-while-away']))
    const deleted = vmRef(pool, 'suspended-01')
    await pool.call('VM.hard_shutdown', [deleted])
    await pool.call('VM.destroy', [deleted])
    const moved = vmRef(pool, 'web-01')
    const from = String(pool.objects.get('VM')?.get(moved)?.resident_on)
    const to = [...(pool.objects.get('host')?.keys() ?? [])].find((r) => r !== from)
    if (!to) throw new Error('tiny-current has one host only')
    await pool.call('VM.pool_migrate', [moved, to, {}])
    expect(added).toMatch(/^OpaqueRef:/)

    await page
      .getByTestId('pools-connected')
      .filter({ hasText: '2 of 2 connected' })
      .waitFor({ timeout: 2 * LONG })
      .catch(async (e: unknown) => {
        const states = (await h?.api.call('connections.list', {}))?.map((c) => `${c.label}: ${c.status} ${c.detail ?? ''}`) ?? []
        throw new Error(`pools did not reconnect (${states.join('; ')}): ${String(e)}`)
      })
    // connected again: the offline marking is gone
    await expect.poll(() => treeitem(page, 'tiny-current').getAttribute('title'), { timeout: LONG }).toBe('tiny-current')
    // the window holds what the delete plan reads (VBDs, VDIs) now, still without the classes it never reads
    const current = (await h.api.call('connections.list', {})).find((c) => c.label === 'tiny-current')
    if (!current) throw new Error('tiny-current is not listed')
    await expect.poll(() => [...diffClasses(h?.api.events ?? [], current.id)].filter((c) => OFFLINE_UNUSED_CLASSES.has(c)).sort(), { timeout: LONG }).toEqual([...OFFLINE_UNUSED_CLASSES].sort())
    expect([...diffClasses(h.api.events, current.id)].filter((c) => RENDERER_UNUSED_CLASSES.has(c))).toEqual([])

    await expect.poll(() => search(page, 'build-01-while-away'), { timeout: LONG }).toHaveLength(1)
    // no ghost: the search for the deleted VM finds nothing at all
    await page.getByRole('searchbox', { name: 'Search' }).fill('suspended-01')
    await page.getByText('Nothing matches “suspended-01”.').waitFor({ timeout: LONG })
    expect(await search(page, 'suspended-01')).toEqual([])
    await expect.poll(() => search(page, 'web-01'), { timeout: LONG }).toEqual([{ label: 'web-01', parent: hostName(pool, to) }])
    expect(hostName(pool, to)).not.toBe(web01Host)
    // nothing else doubled: every VM of the pool appears once
    await page.getByRole('searchbox', { name: 'Search' }).fill('build-01')
    await expect.poll(async () => (await rows(page)).filter((r) => r.label.startsWith('build-01')).map((r) => r.label).sort(), { timeout: LONG }).toEqual(['build-01', 'build-01-while-away'])
    await page.getByRole('searchbox', { name: 'Search' }).fill('')
  })

  it('Clear Offline Cache of All Servers: a disconnected pool’s copy is gone, a connected pool’s is rebuilt from its live graph', async () => {
    if (!h || !sim) throw new Error('the previous specs did not run')
    const { page, api } = h
    const cache = h.app.runtime.cache
    if (!cache) throw new Error('the app runs without its cache')
    const list = await api.call('connections.list', {})
    const current = list.find((c) => c.label === 'tiny-current')
    const legacy = list.find((c) => c.label === 'tiny-legacy')
    if (!current || !legacy) throw new Error(`unexpected connections: ${list.map((c) => c.label).join(', ')}`)
    await api.call('connections.disconnect', { id: legacy.id })
    await cache.flush()
    expect(cache.load(legacy.id)).toBeDefined()

    await treeitem(page, 'tiny-current').click({ button: 'right' })
    const item = page.getByRole('menu', { name: 'Actions' }).getByRole('menuitem').filter({ has: page.getByText('Clear Offline Cache of All Servers…', { exact: true }) })
    await expect.poll(() => item.getAttribute('aria-disabled'), { timeout: LONG }).toBe('false')
    await item.click()
    const confirm = page.getByRole('dialog', { name: 'Clear all offline caches' })
    await confirm.getByRole('button', { name: 'Clear all' }).click()
    await confirm.waitFor({ state: 'detached', timeout: LONG })

    await expect.poll(async () => (await cache.flush(), cache.load(legacy.id)), { timeout: LONG }).toBeUndefined()
    const pool = sim.pool('tiny-current')
    const rebuilt = cache.load(current.id)?.diff.upserts.filter((u) => u.cls === 'VM').map((u) => u.ref).sort()
    expect(rebuilt).toEqual([...(pool.objects.get('VM')?.keys() ?? [])].sort())
    expect((await api.call('cache.status', {})).state).toBe('ok')
  })
})

describe('a damaged cache file', { timeout: 180_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-e2e-offline-corrupt-'))
  let h: AppHarness | undefined
  afterAll(async () => {
    await h?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('is moved aside and rebuilt, and the user is told under which name it was kept', async () => {
    writeFileSync(join(dataDir, 'cache.sqlite'), Buffer.alloc(64 * 1024, 'not a database '))
    h = await startApp({ dataDir, fleet: buildFleet('tiny', { addressBase: '127.95', opDurationMs: 0 }) })
    const notice = h.page.getByRole('alert', { name: 'Offline cache' })
    await notice.waitFor({ timeout: LONG })
    expect(await notice.textContent()).toMatch(/The offline cache was damaged; it was moved aside as cache\.corrupt-\d{8}-\d{6}\.sqlite and rebuilt\./)
    const status = await h.api.call('cache.status', {})
    expect(status.state).toBe('ok')
    expect(status.problems.map((p) => p.kind)).toEqual(['corrupt-recovered'])
    await notice.getByRole('button', { name: 'Dismiss offline cache notice' }).click()
    await expect.poll(() => notice.count()).toBe(0)
  })
})
