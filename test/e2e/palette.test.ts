/**
 * The command palette (issue 19), end to end in browser mode with Chromium: Ctrl+K finds a VM of
 * another pool by part of its name, Enter opens it, and the palette's Start (the registry's command,
 * same canRun reason as the menus) starts it in the pool; a command that cannot run says why and
 * does not run; Esc closes; a disconnected pool's objects are still found, marked "as of".
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import { startApp, type AppHarness } from './harness'

const LONG = 60_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const palette = (page: Page) => page.getByRole('dialog', { name: 'Command palette' })
const box = (page: Page) => palette(page).getByRole('combobox', { name: 'Find an object or a command' })
const options = (page: Page) => palette(page).getByRole('listbox', { name: 'Results' }).getByRole('option')

async function openPalette(page: Page, keys = 'Control+k'): Promise<void> {
  await page.keyboard.press(keys)
  await box(page).waitFor()
  await expect.poll(() => box(page).evaluate((e) => e === document.activeElement)).toBe(true)
}

describe('command palette', { timeout: 300_000 }, () => {
  let h: AppHarness | undefined
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.58', opDurationMs: 0 }), trustPools: true })
    await servers(h.page).getByRole('treeitem', { name: 'old-web', exact: true }).waitFor({ timeout: LONG })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it('finds a VM of another pool by part of its name, opens it, and starts it with the palette’s Start', async () => {
    if (!h) throw new Error('no app')
    const { page, sim } = h
    // something of the first pool is selected
    await servers(page).getByRole('treeitem', { name: 'web-01', exact: true }).click()
    await openPalette(page)
    await box(page).fill('d-wi')
    const first = options(page).first()
    await expect.poll(() => first.textContent(), { timeout: LONG }).toMatch(/^VM\s*old-win\s*tiny-legacy/)
    expect(await first.getAttribute('aria-selected')).toBe('true')
    await box(page).press('Enter')
    await palette(page).waitFor({ state: 'detached' })
    await expect.poll(() => servers(page).getByRole('treeitem', { name: 'old-win', exact: true }).getAttribute('aria-selected')).toBe('true')

    // the commands offered are the registry's for this selection, with the menus' reasons
    await openPalette(page, 'Control+Shift+P')
    await box(page).fill('shut down')
    const shut = options(page).filter({ hasText: 'Shut Down' }).first()
    await shut.waitFor()
    expect(await shut.getAttribute('aria-disabled')).toBe('true')
    const reason = (await shut.locator('.why').textContent()) ?? ''
    expect(reason.length).toBeGreaterThan(5)
    await box(page).press('Enter')
    await expect.poll(() => palette(page).getByRole('status').textContent()).toContain(reason)
    expect(await palette(page).isVisible()).toBe(true)

    await box(page).fill('start')
    const start = options(page).first()
    await expect.poll(() => start.textContent()).toMatch(/^Command\s*Start/)
    expect(await start.getAttribute('aria-disabled')).toBeNull()
    await box(page).press('Enter')
    await palette(page).waitFor({ state: 'detached' })
    const legacy = sim.pool('tiny-legacy')
    const vm = () => [...(legacy.objects.get('VM')?.values() ?? [])].find((r) => r['name_label'] === 'old-win')
    await expect.poll(() => vm()?.['power_state'], { timeout: LONG }).toBe('Running')
    expect(h.pageErrors).toEqual([])
  })

  it('Esc closes the palette and gives focus back; a disconnected pool’s objects are found, “as of” their cache', async () => {
    if (!h) throw new Error('no app')
    const { page, api } = h
    await servers(page).getByRole('treeitem', { name: 'web-02', exact: true }).click()
    await openPalette(page)
    await page.keyboard.press('Escape')
    await palette(page).waitFor({ state: 'detached' })
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('role') ?? '')).toBe('tree')

    const conns = await api.call('connections.list', {})
    const legacy = conns.find((c) => c.label === 'tiny-legacy')
    if (!legacy) throw new Error(`no tiny-legacy connection in ${JSON.stringify(conns.map((c) => c.label))}`)
    await api.call('connections.disconnect', { id: legacy.id })
    await openPalette(page)
    await box(page).fill('old-d')
    await expect.poll(() => options(page).first().textContent(), { timeout: LONG }).toMatch(/old-db.*cached, as of \d/)
    await page.keyboard.press('Escape')
    await palette(page).waitFor({ state: 'detached' })
    expect(h.pageErrors).toEqual([])
  })
})
