/**
 * Templates end to end (issue 14) in browser mode with Chromium: Convert to Template… (refused
 * with the reason on a running VM, confirmed on a halted one), Convert to VM… back, a built-in
 * template that can be neither deleted nor converted (the menu says why), New VM from Snapshot…
 * (the New VM wizard on the snapshot, to a running VM), New Template from Snapshot…, and deleting
 * the custom template made — each checked on the simulator.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import type { SimPoolHandle, SimRecord } from '../sim/model'
import { startApp, type AppHarness } from './harness'
import { screens } from './screens'

const LONG = 60_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })
const searchbox = (page: Page) => page.getByRole('searchbox', { name: 'Search' })
const menuitem = (page: Page, label: string) => page.getByRole('menu', { name: 'Actions' }).getByRole('menuitem').filter({ hasText: label })

async function contextMenu(page: Page, name: string): Promise<void> {
  await searchbox(page).fill(name)
  await treeitem(page, name).first().click()
  await treeitem(page, name).first().click({ button: 'right' })
  await page.getByRole('menu', { name: 'Actions' }).waitFor({ timeout: LONG })
}
async function closeMenu(page: Page): Promise<void> {
  await page.keyboard.press('Escape')
  await page.getByRole('menu', { name: 'Actions' }).waitFor({ state: 'detached' })
  await searchbox(page).fill('')
}
function vmRec(pool: SimPoolHandle, name: string): SimRecord | undefined {
  for (const r of pool.objects.get('VM')?.values() ?? []) if (r.name_label === name && r.is_a_snapshot !== true) return r
  return undefined
}
async function viewOption(page: Page, label: string): Promise<void> {
  await page.getByRole('button', { name: 'View ▾' }).click()
  await page.getByRole('group', { name: 'View options' }).getByRole('checkbox', { name: label }).check()
  await page.getByRole('button', { name: 'View ▾' }).click()
}

describe('templates', { timeout: 300_000 }, () => {
  let h: AppHarness | undefined
  let pool: SimPoolHandle
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.66', opDurationMs: 0 }), trustPools: true })
    pool = h.sim.pool('tiny-current')
    await treeitem(h.page, 'tiny-host-1').waitFor({ timeout: LONG })
    await viewOption(h.page, 'Show templates')
    await viewOption(h.page, 'Show snapshots')
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it('Convert to Template… is refused on a running VM with the reason, confirmed on a halted one, and Convert to VM… turns it back', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await contextMenu(page, 'web-02')
    const refused = menuitem(page, 'Convert to Template…')
    expect(await refused.getAttribute('aria-disabled')).toBe('true')
    expect(await refused.getAttribute('title')).toBe('web-02 is running; shut it down before converting it to a template')
    await closeMenu(page)

    await contextMenu(page, 'build-01')
    await menuitem(page, 'Convert to Template…').click()
    const confirm = page.getByRole('dialog', { name: 'Convert build-01 to a template?' })
    await confirm.getByRole('button', { name: 'Convert to Template' }).click()
    await expect.poll(() => vmRec(pool, 'build-01')?.is_a_template, { timeout: LONG }).toBe(true)
    await searchbox(page).fill('')

    await contextMenu(page, 'build-01')
    await expect.poll(() => menuitem(page, 'Convert to VM…').getAttribute('aria-disabled')).toBe('false')
    await menuitem(page, 'Convert to VM…').click()
    await page.getByRole('dialog', { name: 'Convert template build-01 to a VM?' }).getByRole('button', { name: 'Convert to VM' }).click()
    await expect.poll(() => vmRec(pool, 'build-01')?.is_a_template, { timeout: LONG }).toBe(false)
    await searchbox(page).fill('')
    expect(h.pageErrors).toEqual([])
  })

  it('a built-in template can be neither deleted nor converted: the menu says why', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await contextMenu(page, 'AlmaLinux 9')
    const del = menuitem(page, 'Delete…')
    expect(await del.getAttribute('aria-disabled')).toBe('true')
    expect(await del.getAttribute('title')).toBe('AlmaLinux 9 is a default template and cannot be deleted')
    const conv = menuitem(page, 'Convert to VM…')
    expect(await conv.getAttribute('aria-disabled')).toBe('true')
    expect(await conv.getAttribute('title')).toBe('AlmaLinux 9 is a built-in template: make a new VM from it instead')
    await closeMenu(page)
  })

  it('New VM from Snapshot… opens the New VM wizard on the snapshot (XenCenter’s command), and Create Now makes a running VM of it', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const snap = [...(pool.objects.get('VM')?.values() ?? [])].find((r) => r.is_a_snapshot === true && r.name_label === 'web-01 before upgrade')
    const snapName = String(snap?.name_label)
    await contextMenu(page, snapName)
    await menuitem(page, 'New VM from Snapshot…').click()
    const wizard = page.getByRole('dialog', { name: 'New VM' })
    await wizard.waitFor({ timeout: LONG })
    expect(await wizard.getByRole('radio', { name: new RegExp(`^${snapName} snapshot of web-01`) }).isChecked()).toBe(true)
    const next = wizard.getByRole('button', { name: 'Next', exact: true })
    await expect.poll(() => next.isDisabled(), { timeout: LONG }).toBe(false)
    await screens(page, 'props2-new-vm-from-snapshot', { width: 1280, height: 800 })
    await next.click()
    expect(await wizard.getByRole('textbox', { name: 'Name' }).inputValue()).toBe(`web-01 from ${snapName}`)
    await next.click() // installation media: the snapshot holds its OS
    expect(await wizard.getByRole('radio', { name: /Nothing to install/ }).isChecked()).toBe(true)
    // it booted UEFI: BIOS is not offered (XenCenter's rule)
    expect(await wizard.getByRole('radiogroup', { name: 'Boot mode' }).getByRole('radio').count()).toBe(1)
    for (let i = 0; i < 6; i++) await next.click() // home server, CPU, memory, storage, networking → finish
    const lines = (await wizard.getByRole('list', { name: 'What will be created' }).getByRole('listitem').allTextContents()).map((t) => t.trim())
    expect(lines[0]).toBe(`VM 'web-01 from ${snapName}' from snapshot '${snapName}' (fast clone)`)
    expect(lines[1]).toBe('Installs nothing to install: the template holds the OS; boots UEFI')
    expect(lines.some((l) => l.startsWith('Network interface 0: '))).toBe(true)
    await wizard.getByRole('button', { name: 'Create Now' }).click()
    await wizard.waitFor({ state: 'detached', timeout: LONG })
    await expect.poll(() => vmRec(pool, `web-01 from ${snapName}`)?.power_state, { timeout: LONG }).toBe('Running')
    expect(vmRec(pool, `web-01 from ${snapName}`)).toMatchObject({ is_a_template: false, is_a_snapshot: false })
    expect(snap).toMatchObject({ is_a_snapshot: true, is_a_template: true })
    await searchbox(page).fill('')
    expect(h.pageErrors).toEqual([])
  })

  it('New Template from Snapshot… makes a custom template, which Delete… removes', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const snap = [...(pool.objects.get('VM')?.values() ?? [])].find((r) => r.is_a_snapshot === true)
    const snapName = String(snap?.name_label)
    await contextMenu(page, snapName)
    await menuitem(page, 'New Template from Snapshot…').click()
    const dialog = page.getByRole('dialog', { name: 'New Template from Snapshot' })
    await dialog.getByRole('textbox', { name: 'Template name' }).fill('web golden')
    await screens(page, 'props-template-from-snapshot', { width: 1280, height: 800 })
    await dialog.getByRole('button', { name: 'Create Template' }).click()
    await dialog.waitFor({ state: 'detached', timeout: LONG })
    await expect.poll(() => vmRec(pool, 'web golden')?.is_a_template, { timeout: LONG }).toBe(true)
    await searchbox(page).fill('')

    await contextMenu(page, 'web golden')
    await menuitem(page, 'Delete…').click()
    const del = page.getByRole('dialog', { name: 'Delete web golden?' })
    await del.getByRole('button', { name: 'Delete', exact: true }).click()
    await expect.poll(() => vmRec(pool, 'web golden'), { timeout: LONG }).toBeUndefined()
    expect(h.pageErrors).toEqual([])
  })
})
