import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import { startApp, type AppHarness } from './harness'
let h: AppHarness
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
async function open(page: Page, name: string, tab: string) {
  await page.getByRole('searchbox', { name: 'Search' }).fill(name)
  await servers(page).getByRole('treeitem', { name, exact: true }).first().click()
  await page.getByRole('tab', { name: tab, exact: true }).click()
  await page.waitForTimeout(1500)
}
describe('demo shots', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('demo', { addressBase: '127.89', opDurationMs: 500 }), trustPools: true, viewport: { width: 1920, height: 1080 } })
    await h.page.getByTestId('pools-connected').filter({ hasText: '3 of 3 connected' }).waitFor({ timeout: 120_000 })
  }, 200_000)
  afterAll(async () => h?.close())
  it('shots', async () => {
    const { page } = h
    await open(page, 'xs-prod-04', 'NICs')
    await page.screenshot({ path: '/tmp/demo-prod04-nics.png' })
    await open(page, 'xs72-02', 'NICs')
    await page.screenshot({ path: '/tmp/demo-xs72-02-nics.png' })
    await open(page, 'iSCSI path B', 'Network')
    await page.screenshot({ path: '/tmp/demo-iscsi-b.png' })
    await open(page, 'Backup (VLAN 40)', 'Network')
    await page.screenshot({ path: '/tmp/demo-backup40.png' })
    await page.setViewportSize({ width: 1024, height: 700 })
    await page.emulateMedia({ colorScheme: 'dark' })
    await open(page, 'k8s-node-01', 'Networking')
    await page.screenshot({ path: '/tmp/demo-k8s-net.png' })
  })
})
