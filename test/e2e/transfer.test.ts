/**
 * Export and import in Chromium against the demo fleet (issue 14): a halted VM of the Lab pool is
 * exported through its context menu, with progress shown in the Activity panel's Transfers tab and a
 * checksum file beside the XVA; the file is then imported into the Production pool through its
 * Import… dialog (the file's VM shown, SR and network chosen), and the new VM appears there. The
 * transfers survive a window reload.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { setTransferRate, startSimulator } from '../sim'
import { buildFleet } from '../sim/fleet'
import type { SimControl, SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'

const LONG = 120_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })

describe('export a VM and import it into another pool (demo fleet)', { timeout: 600_000 }, () => {
  let sim: SimControl
  let h: AppHarness
  let page: Page
  let lab: SimPoolHandle
  let production: SimPoolHandle
  let dir = ''
  let vmName = ''

  beforeAll(async () => {
    sim = await startSimulator({ fleet: buildFleet('demo', { addressBase: '127.88', opDurationMs: 300 }) })
    lab = sim.pool('Lab')
    production = sim.pool('Production')
    // slow enough to watch the progress: the demo's pace
    setTransferRate(lab, 8 * 1024 * 1024)
    for (const vm of lab.objects.get('VM')?.values() ?? []) {
      if (vm.power_state === 'Halted' && vm.is_a_template === false && vm.is_a_snapshot === false && vm.is_control_domain === false && (vm.VBDs as string[]).length > 0) {
        vmName = String(vm.name_label)
        break
      }
    }
    dir = mkdtempSync(join(tmpdir(), 'xp-e2e-transfer-'))
    h = await startApp({ sim, trustPools: true, pageTimeoutMs: 180_000, waitForPools: true })
    page = h.page
  }, 400_000)
  afterAll(async () => {
    await h?.close()
    await sim?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('exports a halted VM: the path is checked, progress shows in Transfers, a SHA-256 file lands beside the XVA', async () => {
    expect(vmName).not.toBe('')
    await page.getByRole('searchbox', { name: 'Search' }).fill(vmName)
    await treeitem(page, vmName).first().click({ button: 'right' })
    await page.getByRole('menu', { name: 'Actions' }).getByRole('menuitem', { name: 'Export…' }).click()
    const dialog = page.getByRole('dialog', { name: `Export VM ${vmName}` })
    await dialog.waitFor()
    const path = dialog.getByRole('textbox', { name: 'Save as' })
    // browser mode: the page says where the file goes (not this browser's computer)
    await dialog.getByText(/written on the machine running XenPilot’s services \(browser mode\), not on this browser’s computer/).waitFor({ timeout: LONG })
    await path.fill('/no/such/folder/x.xva')
    await expect.poll(() => dialog.locator('#path-check').textContent(), { timeout: LONG }).toMatch(/does not exist/)
    expect(await dialog.getByRole('button', { name: 'Export' }).isDisabled()).toBe(true)
    const file = join(dir, `${vmName}.xva`)
    await path.fill(file)
    await expect.poll(() => dialog.locator('#path-check').textContent(), { timeout: LONG }).toMatch(/free in/)
    await dialog.getByRole('radio', { name: /^gzip/ }).check()
    await page.screenshot({ path: '/tmp/transfer-export-dialog.png' })
    await dialog.getByRole('button', { name: 'Export' }).click()
    await dialog.waitFor({ state: 'detached' })
    // the Transfers tab opens with the export's progress
    const list = page.getByRole('list', { name: 'Transfers' })
    const row = list.getByRole('listitem', { name: `Export VM ${vmName}` })
    await row.waitFor({ timeout: LONG })
    const bar = row.getByRole('progressbar')
    await expect.poll(async () => Number((await bar.count()) ? await bar.getAttribute('value') : 1), { timeout: LONG }).toBeGreaterThan(0)
    await page.screenshot({ path: '/tmp/transfer-progress.png' })
    await expect.poll(() => row.textContent(), { timeout: LONG }).toMatch(/Saved, SHA-256 in/)
    expect(existsSync(file)).toBe(true)
    expect(readFileSync(`${file}.sha256`, 'utf8')).toBe(`${createHash('sha256').update(readFileSync(file)).digest('hex')}  ${vmName}.xva\n`)
  })

  it('a reload finds the transfers again', async () => {
    await page.reload({ timeout: 180_000 })
    await page.getByTestId('pools-connected').filter({ hasText: `${sim.pools.length} of ${sim.pools.length} connected` }).waitFor({ timeout: 180_000 })
    await page.getByRole('tab', { name: /^Transfers/ }).click()
    await page.getByRole('list', { name: 'Transfers' }).getByRole('listitem', { name: `Export VM ${vmName}` }).waitFor({ timeout: LONG })
  })

  it('imports the file into the Production pool: the file’s VM is shown, the new VM appears there', async () => {
    const before = [...(production.objects.get('VM')?.values() ?? [])].filter((v) => v.name_label === `${vmName} (from Lab)`).length
    await page.getByRole('searchbox', { name: 'Search' }).fill('Production')
    await treeitem(page, 'Production').first().click({ button: 'right' })
    await page.getByRole('menu', { name: 'Actions' }).getByRole('menuitem', { name: 'Import…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Import VM into Production' })
    await dialog.waitFor()
    await dialog.getByText(/read on the machine running XenPilot’s services \(browser mode\)/).waitFor({ timeout: LONG })
    await dialog.getByRole('textbox', { name: /^File to import/ }).fill(join(dir, `${vmName}.xva`))
    await dialog.getByRole('region', { name: 'What the file holds' }).getByText(vmName).waitFor({ timeout: LONG })
    await dialog.getByRole('textbox', { name: 'Name' }).fill(`${vmName} (from Lab)`)
    await page.screenshot({ path: '/tmp/transfer-import-dialog.png' })
    await dialog.getByRole('button', { name: 'Import' }).click()
    await dialog.waitFor({ state: 'detached' })
    const row = page.getByRole('list', { name: 'Transfers' }).getByRole('listitem', { name: `Import VM ${vmName} (from Lab)` })
    await expect.poll(() => row.textContent(), { timeout: LONG }).toMatch(/Imported/)
    await expect.poll(() => [...(production.objects.get('VM')?.values() ?? [])].filter((v) => v.name_label === `${vmName} (from Lab)`).length, { timeout: LONG }).toBe(before + 1)
    await page.getByRole('searchbox', { name: 'Search' }).fill(`${vmName} (from Lab)`)
    await treeitem(page, `${vmName} (from Lab)`).first().waitFor({ timeout: LONG })
    expect(h.pageErrors).toEqual([])
  })
})
