/**
 * Offline data looks offline (issue 15, items 1 and 2), end to end in browser mode with Chromium:
 * when a live pool is lost, every one of its objects carries a banner "Offline — as of <time>" whose
 * time is the last update received (a change made after the connect), not the connect; live-only
 * values (power state, uptime, memory) are frozen at that time and marked, and "Running" is no
 * longer shown in the healthy colour.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../sim'
import { buildFleet } from '../sim/fleet'
import type { SimControl, SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'

const LONG = 60_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })

function vmRef(pool: SimPoolHandle, name: string): string {
  for (const [ref, r] of pool.objects.get('VM') ?? []) if (r.name_label === name && r.is_a_snapshot !== true && r.is_a_template !== true) return ref
  throw new Error(`no VM ${name} in ${pool.name}`)
}

/** polls `ok` until it holds (beforeAll has no expect.poll) */
async function until(what: string, ok: () => Promise<boolean>, timeoutMs = LONG): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

async function select(page: Page, name: string): Promise<void> {
  await page.getByRole('searchbox', { name: 'Search' }).fill(name)
  await treeitem(page, name).click({ timeout: LONG })
  await page.getByRole('searchbox', { name: 'Search' }).fill('')
}

describe('a pool lost while live', { timeout: 180_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-e2e-offline-banner-'))
  const env = { XENPILOT_PASSPHRASE: 'offline banner spec' }
  const poolOptions = { reconnect: { initialMs: 500, maxMs: 2000, factor: 2, jitter: 0.1 } }
  let sim: SimControl | undefined
  let h: AppHarness | undefined
  let connectedAt = 0
  let changedAt = 0

  beforeAll(async () => {
    sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.61', opDurationMs: 0 }) })
    // an earlier session fills the cache: the app starts with pools "as of" then
    const first = await startApp({ sim, dataDir, trustPools: true, env, page: false, poolOptions })
    try {
      await until('both pools connected (first session)', async () => (await first.api.call('connections.list', {})).filter((c) => c.status === 'connected').length === 2)
    } finally {
      await first.close()
    }
    await new Promise((r) => setTimeout(r, 1500))
    h = await startApp({ sim, dataDir, env, poolOptions })
    const api = h.api
    await until('both pools connected', async () => (await api.call('connections.list', {})).filter((c) => c.status === 'connected').length === 2)
    connectedAt = Date.now()
    await treeitem(h.page, 'tiny-current').waitFor({ timeout: LONG })
    // a change after the connect: the data shown later is as of this update
    await new Promise((r) => setTimeout(r, 1500))
    const pool = h.sim.pool('tiny-current')
    changedAt = Date.now()
    await pool.call('VM.set_name_description', [vmRef(pool, 'web-01'), 'changed while live'])
    await select(h.page, 'web-01')
    const details = h.page.getByRole('region', { name: 'Details' })
    await until('the change on screen', async () => ((await details.textContent()) ?? '').includes('changed while live'))
  }, 180_000)

  afterAll(async () => {
    await h?.close()
    await sim?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('every object of the pool says "Offline — as of <time of the last update>"; live-only values are frozen and marked', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const details = page.getByRole('region', { name: 'Details' })
    // live: no banner, Running in the healthy colour
    expect(await details.getByRole('status', { name: 'Offline' }).count()).toBe(0)

    const hostName = h.sim.pool('tiny-current').hosts[0]?.name ?? ''
    await h.sim.stop()
    sim = undefined

    const banner = details.getByRole('status', { name: 'Offline' })
    await banner.waitFor({ timeout: LONG })
    expect(await banner.textContent()).toMatch(/^Offline — as of \d{1,2}[:.]\d{2}/)
    const at = Date.parse((await banner.locator('time').getAttribute('datetime')) ?? '')
    // the time of the last update (the description change), not the connect
    expect(at).toBeGreaterThanOrEqual(changedAt - 50)
    expect(at).toBeGreaterThan(connectedAt)
    expect(at).toBeLessThan(Date.now())

    // live-only values: frozen and marked; "Running" not in the healthy colour
    const power = details.getByRole('definition').filter({ hasText: 'Running' }).first()
    expect(await power.textContent()).toContain('(last known)')
    expect(await power.getAttribute('class')).not.toContain('tone-ok')
    const uptime = details.locator('dt:text-is("Uptime") + dd')
    const first = await uptime.textContent()
    expect(first).toContain('(last known)')

    // the host and the pool carry the banner too, with the same time
    for (const name of ['tiny-current', hostName]) {
      await select(page, name)
      await expect.poll(() => details.getByRole('heading', { level: 1 }).textContent(), { timeout: LONG }).toBe(name)
      const b = details.getByRole('status', { name: 'Offline' })
      await b.waitFor({ timeout: LONG })
      expect(Date.parse((await b.locator('time').getAttribute('datetime')) ?? '')).toBe(at)
    }
    expect(h.pageErrors.filter((e) => !/WebSocket|net::/.test(e))).toEqual([])
  })
})
