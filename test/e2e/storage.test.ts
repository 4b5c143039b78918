/**
 * Storage where the admin works (issue 13), in Chromium against the simulator: a VM's Storage tab
 * lists its drives and DVD drive; an SR's view shows how full it is, which servers see it, and its
 * disks with the orphans flagged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { startSimulator } from '../sim'
import { buildFleet } from '../sim/fleet'
import type { SimControl, SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'

const LONG = 60_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })
const panel = (page: Page) => page.getByRole('tabpanel')

/** selects the only tree row named `name` (the tree is virtualised: narrow it with the search first) */
async function select(page: Page, name: string): Promise<void> {
  await page.getByRole('searchbox', { name: 'Search' }).fill(name)
  await treeitem(page, name).first().click()
}
async function openTab(page: Page, name: string): Promise<void> {
  await page.getByRole('tablist', { name: 'Views' }).getByRole('tab', { name, exact: true }).click()
}

describe('storage views', { timeout: 180_000 }, () => {
  let sim: SimControl
  let h: AppHarness
  let current: SimPoolHandle
  const shot = (name: string) => h.page.screenshot({ path: `/tmp/storage-${name}.png` })

  beforeAll(async () => {
    sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.86', opDurationMs: 300 }) })
    current = sim.pool('tiny-current')
    h = await startApp({ sim, trustPools: true, viewport: { width: 1400, height: 900 } })
    await h.page.getByTestId('pools-connected').filter({ hasText: '2 of 2 connected' }).waitFor({ timeout: LONG })
  })
  afterAll(async () => {
    await h?.close()
    await sim?.stop()
  })

  it('lists a running VM’s disks (attached, with their SR and device) and its DVD drive', async () => {
    const { page } = h
    await select(page, 'web-01')
    await openTab(page, 'Storage')
    const disks = panel(page).getByRole('grid', { name: 'Disks' })
    const rows = disks.getByRole('row')
    await expect.poll(() => rows.count(), { timeout: LONG }).toBeGreaterThan(1)
    const first = rows.nth(1)
    expect(await first.getAttribute('data-attached')).toBe('true')
    expect(await first.textContent()).toContain('/dev/xvda')
    expect(await panel(page).getByRole('group', { name: /^DVD drive/ }).count()).toBe(1)
    expect(h.pageErrors).toEqual([])
    void current
  })

  it('shows an SR: usage, the servers connected to it, its disks with the orphan flagged', async () => {
    const { page } = h
    await select(page, 'NFS VM storage')
    await openTab(page, 'Storage')
    await expect.poll(() => panel(page).getByTestId('sr-usage').textContent(), { timeout: LONG }).toMatch(/% used/)
    const hosts = panel(page).getByRole('table', { name: 'Servers connected to the SR' })
    expect(await hosts.getByRole('row', { name: 'tiny-host-1' }).textContent()).toContain('Connected')
    const disks = panel(page).getByRole('table', { name: 'Disks on the SR' })
    const orphan = disks.getByRole('row', { name: 'restore-2025-03' })
    await orphan.waitFor({ timeout: LONG })
    expect(await orphan.getAttribute('data-orphan')).toBe('true')
    expect(await disks.getByRole('row', { name: /web-01/ }).first().getAttribute('data-orphan')).toBe('false')
    await shot('sr-view')
    expect(h.pageErrors).toEqual([])
  })
})
