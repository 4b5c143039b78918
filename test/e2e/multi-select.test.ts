/**
 * Multi-selection (issue 15, item 10), end to end in browser mode with Chromium: a Ctrl/Shift
 * selection stays visible when the tree is not focused (a selected row does not look like a hovered
 * one, light and dark); several selected objects show a pane with their count, kinds and common
 * actions; a Shift-range that takes in storage still offers the VM actions, which act on the VMs
 * and say what they skip and why — in the pane, the context menu, the toolbar, the confirmation
 * and the results.
 */
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import type { SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'

const LONG = 60_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })
const details = (page: Page) => page.getByRole('region', { name: 'Details' })

function power(pool: SimPoolHandle, name: string): unknown {
  for (const r of pool.objects.get('VM')?.values() ?? []) if (r.name_label === name && r.is_a_snapshot !== true && r.is_a_template !== true) return r.power_state
  throw new Error(`no VM ${name}`)
}

/** background and box-shadow as the page paints them */
async function look(row: Locator): Promise<{ bg: number[]; shadow: string }> {
  return row.evaluate((el) => {
    const cs = getComputedStyle(el)
    return { bg: (cs.backgroundColor.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number), shadow: cs.boxShadow }
  })
}
const distance = (a: number[], b: number[]): number => Math.hypot(...a.map((v, i) => v - (b[i] ?? 0)))

describe('multi-selection', { timeout: 300_000 }, () => {
  let h: AppHarness | undefined
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.76', opDurationMs: 0 }), trustPools: true })
    await treeitem(h.page, 'db-01').waitFor({ timeout: LONG })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it('Ctrl-selected rows in an unfocused tree are marked and do not look hovered, light and dark', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await treeitem(page, 'web-01').click()
    await treeitem(page, 'web-02').click({ modifiers: ['Control'] })
    expect(await servers(page).locator('[aria-selected=true]').count()).toBe(2)
    for (const theme of ['Light', 'Dark']) {
      await page.getByRole('radiogroup', { name: 'Theme' }).getByRole('radio', { name: theme }).click()
      // the tree loses focus; another row is under the mouse
      await page.getByRole('searchbox', { name: 'Search' }).focus()
      await treeitem(page, 'build-01').hover()
      const selected = await look(treeitem(page, 'web-01'))
      const other = await look(treeitem(page, 'web-02'))
      const hovered = await look(treeitem(page, 'build-01'))
      expect(other).toEqual(selected)
      expect(hovered.shadow).toBe('none')
      expect(selected.shadow, `${theme}: a selected row has a bar at its edge`).not.toBe('none')
      expect(distance(selected.bg, hovered.bg), `${theme}: selected ${selected.bg} vs hovered ${hovered.bg}`).toBeGreaterThan(20)
    }
    await page.getByRole('radiogroup', { name: 'Theme' }).getByRole('radio', { name: 'System' }).click()
  })

  it('a Shift-range that takes in storage: a pane with the count and the common actions, which act on the VMs and say what they skip', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const pool = h.sim.pool('tiny-current')
    // db-01 … Local storage under tiny-host-1: three running VMs and two SRs; build-01 (halted) added with Ctrl
    await treeitem(page, 'db-01').click()
    await treeitem(page, 'Local storage').first().click({ modifiers: ['Shift'] })
    await treeitem(page, 'build-01').click({ modifiers: ['Control'] })
    await details(page).getByRole('heading', { name: '6 objects selected' }).waitFor({ timeout: LONG })
    expect(await details(page).textContent()).toContain('4 VMs, 2 storage repositories')
    const table = details(page).getByRole('table', { name: 'Selected objects' })
    expect(await table.getByRole('row').count()).toBe(7)
    expect(await table.getByRole('row', { name: /build-01 VM tiny-current Halted/ }).count()).toBe(1)

    const label = 'Shut Down 3 VMs (1 is already halted and 2 are not VMs, skipped)'
    const actions = details(page).getByRole('group', { name: 'Actions for the selection' })
    const shutDown = actions.getByRole('button', { name: label })
    await expect.poll(() => shutDown.isEnabled(), { timeout: LONG }).toBe(true)
    expect(await details(page).getByText(/^\s*Not possible now:/).textContent()).toContain('Resume')
    // each reason is written out, not only in a tooltip
    const resume = details(page).getByRole('list', { name: 'Not possible now' }).getByRole('listitem', { name: 'Resume', exact: true })
    expect(await resume.textContent()).toMatch(/^\s*Resume: \S.{5,}/)
    expect(await actions.getByRole('button', { name: /^Start 1 VM \(3 are already running and 2 are not VMs, skipped\)$/ }).isEnabled()).toBe(true)
    // the toolbar's Shut Down is enabled and its tooltip says the same
    const tool = page.getByRole('toolbar', { name: 'Main toolbar' }).getByRole('button', { name: 'Shut Down', exact: true })
    expect(await tool.isEnabled()).toBe(true)
    expect(await tool.getAttribute('title')).toBe(`${label} (Ctrl+E)`)
    // so does the context menu
    await treeitem(page, 'web-01').click({ button: 'right' })
    const menu = page.getByRole('menu', { name: 'Actions' })
    const item = menu.getByRole('menuitem', { name: /^Shut Down 3 VMs \(1 is already halted and 2 are not VMs, skipped\)/ })
    expect(await item.getAttribute('aria-disabled')).toBe('false')
    await page.keyboard.press('Escape')
    await menu.waitFor({ state: 'detached' })

    await shutDown.click()
    const confirm = page.getByRole('dialog', { name: 'Shut Down 3 VMs?' })
    await confirm.waitFor()
    expect(await confirm.textContent()).toContain('Skipped: 1 is already halted and 2 are not VMs.')
    await confirm.getByRole('button', { name: 'Shut Down' }).click()
    const results = page.getByRole('dialog', { name: 'Shut Down: 3 of 6 objects done, 3 skipped' })
    await results.waitFor({ timeout: LONG })
    const list = results.getByRole('list', { name: 'Results' })
    expect(await list.getByRole('listitem', { name: 'DVD drives' }).textContent()).toContain('DVD drives is a storage repository, not a VM')
    expect(await list.getByRole('listitem', { name: 'build-01' }).getAttribute('data-outcome')).toBe('skipped')
    await results.getByRole('button', { name: 'Close' }).first().click()
    for (const vm of ['db-01', 'pinned-01', 'web-01']) expect(power(pool, vm)).toBe('Halted')
    await expect.poll(() => table.getByRole('row', { name: /db-01 VM tiny-current Halted/ }).count(), { timeout: LONG }).toBe(1)
    expect(h.pageErrors).toEqual([])
  })
})
