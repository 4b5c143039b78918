/**
 * The pool drift report (issue 19) end to end in browser mode with Chromium on the demo fleet: Production's
 * "iSCSI path B" network is on eth4 on three hosts and on eth5 on xs-prod-04 — the report flags that row, shows
 * each host's device, and exports it.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppHarness } from './harness'

const LONG = 90_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const details = (page: Page) => page.getByRole('region', { name: 'Details' })

async function shots(page: Page, name: string): Promise<void> {
  for (const [w, hgt] of [
    [1024, 700],
    [1920, 1080],
  ] as const) {
    await page.setViewportSize({ width: w, height: hgt })
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      await page.screenshot({ path: `/tmp/drift-${name}-${w}x${hgt}-${scheme}.png` })
    }
  }
  await page.setViewportSize({ width: 1400, height: 1000 })
  await page.emulateMedia({ colorScheme: 'light' })
}

let h: AppHarness

beforeAll(async () => {
  h = await startApp({ fleet: 'demo', fleetOptions: { addressBase: '127.76', opDurationMs: 0 }, trustPools: true, viewport: { width: 1400, height: 1000 } })
}, 240_000)
afterAll(async () => {
  await h?.close()
})

describe('pool drift report', () => {
  it('flags the PIF device ↔ network mismatch the demo fleet contains, and exports it as CSV', async () => {
    const page = h.page
    await page.getByRole('searchbox', { name: 'Search' }).fill('Production')
    await servers(page).getByRole('treeitem', { name: 'Production', exact: true }).click({ timeout: LONG })
    await page.getByRole('searchbox', { name: 'Search' }).press('Escape')
    await details(page).getByRole('tab', { name: 'Drift', exact: true }).click()
    const table = details(page).getByRole('table', { name: 'Pool drift' })
    const row = table.getByRole('row', { name: /iSCSI path B.*: PIF/ })
    await row.waitFor({ timeout: LONG })
    const cells = await row.getByRole('cell').allTextContents()
    expect(cells).toEqual(['eth4', 'eth4', 'eth4', 'eth5'])
    expect(await row.getByRole('rowheader').textContent()).toMatch(/^⚠ /)
    expect(await details(page).getByRole('status').first().textContent()).toMatch(/settings? differ between these hosts/)
    await shots(page, 'production')
    const [download] = await Promise.all([page.waitForEvent('download'), details(page).getByRole('button', { name: 'Export CSV' }).click()])
    const path = await download.path()
    const { readFileSync } = await import('node:fs')
    const csv = readFileSync(path, 'utf8')
    expect(csv).toContain('Networking,Network “iSCSI path B”: PIF,yes,eth4,eth4,eth4,eth5')
    expect(h.pageErrors).toEqual([])
  }, 300_000)
})
