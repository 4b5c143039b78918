/**
 * The pool drift report (issue 19) end to end in browser mode with Chromium on the demo fleet: Production's
 * "iSCSI path B" network is on eth4 on three hosts and on eth5 on xs-prod-04 — the report flags that row, shows
 * each host's device, and exports it. Its xs-prod-03 runs 4 min 12 s ahead of the master: the tab says so (clocks read
 * live) and adds the row; Production-DR, of the same kind, makes the "Fleet drift" table (its own time zone and NTP);
 * offline, the skew cannot be known from the cache.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detailsPane, selectInTree, startApp, type AppHarness } from './harness'
import { screens } from './screens'

const LONG = 90_000
const details = detailsPane

const VIEW = { width: 1400, height: 1000 }
const shots = (page: Page, name: string): Promise<string[]> => screens(page, `drift-${name}`, VIEW)

let h: AppHarness

beforeAll(async () => {
  h = await startApp({ fleet: 'demo', fleetOptions: { addressBase: '127.76', opDurationMs: 0 }, trustPools: true, viewport: VIEW })
}, 240_000)
afterAll(async () => {
  await h?.close()
})

describe('pool drift report', () => {
  it('flags the PIF device ↔ network mismatch the demo fleet contains, and exports it as CSV', async () => {
    const page = h.page
    await selectInTree(page, 'Production', LONG)
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

  it('says the time skew in words, compares Production with Production-DR, and offline says skew cannot come from the cache', async () => {
    const page = h.page
    // still on Production's Drift tab: the clocks are read live
    const skew = details(page).getByRole('list', { name: 'Clock skew' })
    await expect.poll(() => skew.textContent(), { timeout: LONG }).toMatch(/^xs-prod-03 is 4 min 1[123] s ahead of the master\.$/)
    const clock = details(page).getByRole('table', { name: 'Pool drift' }).getByRole('row', { name: /Clock \(vs the master\)/ })
    const cells = await clock.getByRole('cell').allTextContents()
    expect(cells[0]).toBe('master')
    expect(cells[2]).toMatch(/^4 min 1[123] s ahead$/)
    // Production-DR is XenServer 8 too: the fleet table flags its time zone and NTP servers
    const fleet = details(page).getByRole('table', { name: 'Fleet drift' })
    const tz = fleet.getByRole('row', { name: /Time zone/ })
    await tz.waitFor({ timeout: LONG })
    expect(await tz.getByRole('cell').allTextContents()).toEqual(['UTC', 'UTC', 'UTC', 'UTC', 'Europe/Berlin', 'Europe/Berlin'])
    expect(await fleet.getByRole('row', { name: /^⚠ NTP/ }).count()).toBe(1)
    await shots(page, 'skew')

    // Production-DR offline: its report comes from the cache, the skew cannot
    const dr = (await h.api.call('connections.list', {})).find((c) => c.label === 'Production-DR')
    if (!dr) throw new Error('Production-DR is not saved')
    await h.api.call('connections.disconnect', { id: dr.id })
    await selectInTree(page, 'Production-DR', LONG)
    await details(page).getByRole('tab', { name: 'Drift', exact: true }).click()
    await details(page).getByRole('note').filter({ hasText: 'Time skew cannot be known from the cache' }).waitFor({ timeout: LONG })
    expect(await details(page).getByRole('note').filter({ hasText: /From the offline cache, as of/ }).count()).toBe(1)
    expect(await details(page).getByRole('row', { name: /Clock \(vs the master\)/ }).count()).toBe(0)
    await shots(page, 'offline')
    expect(h.pageErrors).toEqual([])
  }, 300_000)
})
