/**
 * VM actions a XenCenter user expects (issue 15, item 9), end to end in browser mode with Chromium:
 * a suspended VM has Resume in the toolbar; Migrate / Start on are not offered in a pool of one
 * server; the server dialogs' button is disabled until a server is chosen; Copy VM names the server of
 * each local SR; the Objects view tells same-named VMs of different pools apart.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import type { SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'

const LONG = 60_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })
const toolbar = (page: Page) => page.getByRole('toolbar', { name: 'Main toolbar' })
const searchbox = (page: Page) => page.getByRole('searchbox', { name: 'Search' })

function vmRef(pool: SimPoolHandle, name: string): string {
  for (const [ref, r] of pool.objects.get('VM') ?? []) if (r.name_label === name && r.is_a_snapshot !== true && r.is_a_template !== true) return ref
  throw new Error(`no VM ${name} in ${pool.name}`)
}

async function select(page: Page, name: string): Promise<void> {
  await searchbox(page).fill(name)
  await treeitem(page, name).first().click()
  await searchbox(page).press('Escape')
}
async function menuLabels(page: Page, name: string): Promise<string[]> {
  await select(page, name)
  await treeitem(page, name).first().click({ button: 'right' })
  const menu = page.getByRole('menu', { name: 'Actions' })
  await menu.waitFor()
  const labels = (await menu.getByRole('menuitem').allTextContents()).map((t) => t.trim())
  await page.keyboard.press('Escape')
  await menu.waitFor({ state: 'detached' })
  return labels
}

describe('VM actions', { timeout: 300_000 }, () => {
  let h: AppHarness | undefined
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.65', opDurationMs: 0 }), trustPools: true })
    await treeitem(h.page, 'old-web').waitFor({ timeout: LONG })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it('a suspended VM has Resume in the toolbar (in place of Suspend)', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await select(page, 'suspended-01')
    const resume = toolbar(page).getByRole('button', { name: 'Resume', exact: true })
    await expect.poll(() => resume.isEnabled(), { timeout: LONG }).toBe(true)
    expect(await toolbar(page).getByRole('button', { name: 'Suspend', exact: true }).count()).toBe(0)
    await select(page, 'web-01')
    await toolbar(page).getByRole('button', { name: 'Suspend', exact: true }).waitFor()
  })

  it('Migrate / Start on are not offered in a pool of one server, and are in a pool of two', async () => {
    if (!h) throw new Error('no app')
    const one = await menuLabels(h.page, 'old-web')
    expect(one.some((l) => l.startsWith('Migrate to Server'))).toBe(false)
    expect(one.some((l) => l.startsWith('Shut Down'))).toBe(true)
    expect((await menuLabels(h.page, 'old-win')).some((l) => l.startsWith('Start on Server'))).toBe(false)
    expect((await menuLabels(h.page, 'web-01')).some((l) => l.startsWith('Migrate to Server'))).toBe(true)
  })

  it('the Migrate button is disabled until a server is chosen', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await select(page, 'web-01')
    await treeitem(page, 'web-01').click({ button: 'right' })
    await page.getByRole('menu', { name: 'Actions' }).getByRole('menuitem').filter({ hasText: 'Migrate to Server…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Migrate to Server: web-01' })
    await dialog.waitFor()
    const migrate = dialog.getByRole('button', { name: 'Migrate', exact: true })
    expect(await migrate.isDisabled()).toBe(true)
    const choice = dialog.getByRole('radiogroup', { name: 'Server' }).getByRole('radio').and(page.locator(':enabled')).first()
    await choice.check()
    await expect.poll(() => migrate.isEnabled()).toBe(true)
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'detached' })
  })

  it('Copy VM names the server of each local SR', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await select(page, 'build-01')
    await treeitem(page, 'build-01').click({ button: 'right' })
    await page.getByRole('menu', { name: 'Actions' }).getByRole('menuitem').filter({ hasText: 'Copy…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Copy VM: build-01' })
    await dialog.waitFor()
    const options = (await dialog.getByLabel('Storage').locator('option').allTextContents()).map((t) => t.replace(/ \(.*free\)$/, '').trim())
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'detached' })
    // no two choices read the same, and local storage says whose it is
    expect(new Set(options).size).toBe(options.length)
    expect(options.filter((o) => /^Local storage on tiny-host-\d$/.test(o))).toHaveLength(2)
  })

  it('the Objects view tells same-named VMs of different pools apart', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const pool = h.sim.pool('tiny-current')
    await pool.call('VM.clone', [vmRef(pool, 'build-01'), 'old-web'])
    await page.getByRole('radiogroup', { name: 'Tree view' }).getByRole('radio', { name: 'Objects' }).click()
    await searchbox(page).fill('old-web')
    await expect.poll(async () => (await servers(page).getByRole('treeitem').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')))).filter((l) => l?.startsWith('old-web')).sort(), { timeout: LONG }).toEqual(['old-web (tiny-current)', 'old-web (tiny-legacy)'])
    await searchbox(page).fill('')
    await page.getByRole('radiogroup', { name: 'Tree view' }).getByRole('radio', { name: 'Infrastructure' }).click()
    expect(h.pageErrors).toEqual([])
  })
})
