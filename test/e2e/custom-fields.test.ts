/**
 * Custom fields and saved searches (issue 19), end to end in browser mode with Chromium: a custom
 * field added and set in the app lands in the pool as XenCenter keeps it (the definition in
 * pool.gui_config["XenCenter.CustomFields"], the value in other_config["XenCenter.CustomFields.<name>"])
 * and is found by the search box; a search saved in XenPilot survives a restart; one saved into the
 * pool is written in XenCenter's format and runs from the list. The overview's object grid takes the field as an
 * optional column (kept in the settings), sorts by it, follows the search, and says "as of" for pools shown from the
 * offline cache.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readCustomFieldDefinitions } from '../../shared/xencenter/custom-fields'
import { readPoolSearches } from '../../shared/xencenter/search'
import { buildFleet } from '../sim/fleet'
import { startSimulator } from '../sim/index'
import type { SimControl, SimRecord } from '../sim/model'
import { startApp, type AppHarness } from './harness'
import { screens } from './screens'

const LONG = 60_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })
const searchbox = (page: Page) => page.getByRole('searchbox', { name: 'Search' })
const savedPanel = (page: Page) => page.getByRole('group', { name: 'Saved searches' })

describe('custom fields and saved searches', { timeout: 400_000 }, () => {
  let sim: SimControl | undefined
  let h: AppHarness | undefined
  const dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-cf-e2e-'))
  const vm = (name: string): SimRecord | undefined => [...(sim?.pool('tiny-current').objects.get('VM')?.values() ?? [])].find((r) => r['name_label'] === name && r['is_a_snapshot'] !== true)
  const pool = (): SimRecord | undefined => [...(sim?.pool('tiny-current').objects.get('pool')?.values() ?? [])][0]

  beforeAll(async () => {
    sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.59', opDurationMs: 0 }) })
    h = await startApp({ sim, dataDir, trustPools: true })
    await treeitem(h.page, 'web-01').waitFor({ timeout: LONG })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
    await sim?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('a field added and set in the app is in other_config under XenCenter’s key, and the search box finds it', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await searchbox(page).fill('web-01')
    await treeitem(page, 'web-01').click()
    await searchbox(page).fill('')
    await page.getByRole('tab', { name: 'Custom Fields' }).click()
    const add = page.getByRole('form', { name: 'Add a custom field' })
    await add.getByRole('textbox', { name: 'Name' }).fill('ticket')
    await add.getByRole('button', { name: 'Add field' }).click()
    await expect.poll(() => readCustomFieldDefinitions(pool()?.['gui_config']).fields.some((f) => f.name === 'ticket' && f.type === 'String'), { timeout: LONG }).toBe(true)
    await page.getByRole('button', { name: 'Edit ticket' }).click()
    await page.getByRole('textbox', { name: 'Value of ticket' }).fill('INC-4711')
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await expect.poll(() => (vm('web-01')?.['other_config'] as Record<string, string> | undefined)?.['XenCenter.CustomFields.ticket'], { timeout: LONG }).toBe('INC-4711')
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'ticket' }).textContent(), { timeout: LONG }).toContain('INC-4711')
    // the field names its row (a row header), its buttons are under a column named for screen readers only
    expect(await page.getByRole('rowheader', { name: /^ticket/ }).count()).toBe(1)
    expect(await page.getByRole('columnheader', { name: 'Actions' }).count()).toBe(1)
    await screens(page, 'custom-fields-tab', page.viewportSize() ?? { width: 1400, height: 900 })

    await searchbox(page).fill('inc-4711')
    await treeitem(page, 'web-01').waitFor({ timeout: LONG })
    await expect.poll(() => page.getByText(/^\s*1 match\s*$/).count()).toBe(1)
    expect(await treeitem(page, 'web-02').count()).toBe(0)

    // the search result exported with the columns shown, the custom field among them
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export the search result as CSV' }).click()])
    const path = await download.path()
    const csv = readFileSync(path, 'utf8').split('\r\n')
    expect(csv[0]).toMatch(/^Name,Type,Pool,State,UUID,.*ticket/)
    expect(csv[1]).toMatch(/^web-01,VM,tiny-current,Running,[0-9a-f-]{36},.*INC-4711/)
    expect(csv.filter((l) => l !== '').length).toBe(2)
    const [json] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export the search result as JSON' }).click()])
    const rows = JSON.parse(readFileSync(await json.path(), 'utf8')) as Record<string, string>[]
    expect(rows).toEqual([expect.objectContaining({ Name: 'web-01', Type: 'VM', Pool: 'tiny-current', ticket: 'INC-4711' })])
    expect(h.pageErrors).toEqual([])
  })

  it('a search saved in XenPilot survives a restart; one saved into the pool is in XenCenter’s format and runs', async () => {
    if (!h || !sim) throw new Error('no app')
    let page = h.page
    await searchbox(page).fill('inc-4711')
    await page.getByRole('button', { name: 'Saved searches ▾' }).click()
    const form = savedPanel(page).getByRole('form', { name: 'Save the current search' })
    await form.getByRole('textbox', { name: 'Name' }).fill('Ticket 4711')
    await form.getByRole('button', { name: 'Save in XenPilot' }).click()
    await savedPanel(page).getByRole('button', { name: 'Ticket 4711', exact: true }).waitFor()

    // into the pool, as XenCenter writes it
    await form.getByRole('textbox', { name: 'Name' }).fill('Ticket in pool')
    await form.getByRole('combobox', { name: 'Pool to save the search in' }).selectOption({ label: 'tiny-current' })
    await form.getByRole('button', { name: 'Save in pool (XenCenter)' }).click()
    await expect.poll(() => readPoolSearches(pool()?.['gui_config']).filter((s) => s.parsed.ok && s.parsed.search.name === 'Ticket in pool').length, { timeout: LONG }).toBe(1)
    const inPool = readPoolSearches(pool()?.['gui_config']).find((s) => s.parsed.ok && s.parsed.search.name === 'Ticket in pool')
    expect(inPool?.key).toMatch(/^XenSearch\.Search-[0-9a-f-]{36}$/)

    // restart: a new runtime and page on the same data folder
    await h.close()
    h = await startApp({ sim, dataDir })
    page = h.page
    await servers(page).waitFor({ timeout: LONG })
    await page.getByRole('button', { name: 'Saved searches ▾' }).click()
    await savedPanel(page).getByRole('button', { name: 'Ticket 4711', exact: true }).click()
    await expect.poll(() => searchbox(page).inputValue()).toBe('inc-4711')
    expect(h.pageErrors).toEqual([])
  })

  it('the overview grid shows the field as an optional column, sorts by it, follows the search; an offline pool says as of when', async () => {
    if (!h) throw new Error('no app')
    const page = h.page
    // nothing is selected after the restart: the details pane is the fleet overview. The pools wait for their
    // passwords (this keychain is memory only), so the grid shows them from the offline cache, saying as of when.
    await searchbox(page).fill('')
    // the grid is built only while on screen (below the fold it costs a streaming fleet nothing): scroll to it
    await page.getByRole('region', { name: 'Objects' }).scrollIntoViewIfNeeded()
    const objects = page.getByRole('table', { name: 'Objects' })
    await objects.waitFor({ timeout: LONG })
    expect(await objects.getByRole('columnheader', { name: /ticket/ }).count()).toBe(0)
    await page.getByRole('button', { name: 'Columns ▾' }).click()
    await page.getByRole('group', { name: 'Custom field columns' }).getByRole('checkbox', { name: 'ticket' }).check()
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByRole('group', { name: 'Custom field columns' }).count()).toBe(0)
    const ticket = objects.getByRole('columnheader', { name: /ticket/ })
    await ticket.waitFor({ timeout: LONG })
    // sorted by the field: the one VM that has a value first (empty values last, both ways)
    await ticket.getByRole('button').click()
    expect(await ticket.getAttribute('aria-sort')).toBe('ascending')
    const cells = async (row: ReturnType<typeof objects.getByRole>): Promise<string[]> => (await row.getByRole('cell').allTextContents()).map((t) => t.trim())
    await expect.poll(async () => (await cells(objects.getByRole('row').nth(1))).join(' | '), { timeout: LONG }).toMatch(/^web-01 \| VM \| tiny-current\s*· as of \d\d:\d\d \| Running \| INC-4711$/)
    await ticket.getByRole('button').click()
    expect(await ticket.getAttribute('aria-sort')).toBe('descending')
    expect((await cells(objects.getByRole('row').nth(1)))[0]).toBe('web-01')
    // by name, descending
    const name = objects.getByRole('columnheader', { name: /Name/ })
    await name.getByRole('button').click()
    await name.getByRole('button').click()
    expect(await name.getAttribute('aria-sort')).toBe('descending')
    const names = (await objects.getByRole('row').allTextContents()).slice(1)
    expect(names.length).toBeGreaterThan(3)
    // the search narrows the grid as it narrows the tree
    await searchbox(page).fill('inc-4711')
    await expect.poll(() => page.getByTestId('objects-summary').textContent(), { timeout: LONG }).toBe('1 object matches the search')
    expect(await objects.getByRole('row').count()).toBe(2)
    // every pool's rows come from the cache here, and say so
    await searchbox(page).fill('old-web')
    await expect.poll(async () => (await cells(objects.getByRole('row', { name: 'old-web' })))[2], { timeout: LONG }).toMatch(/^tiny-legacy\s*· as of \d\d:\d\d$/)
    // the column chosen is a setting main keeps
    expect((await h.api.call('settings.get', {})).overviewColumns).toEqual(['ticket'])
    await searchbox(page).fill('')
    await objects.scrollIntoViewIfNeeded()
    for (const [w, hgt] of [
      [1024, 700],
      [1920, 1080],
    ] as const) {
      await page.setViewportSize({ width: w, height: hgt })
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme })
        await objects.scrollIntoViewIfNeeded()
        await page.screenshot({ path: `/tmp/overview-objects-${w}x${hgt}-${scheme}.png` })
      }
    }
    expect(h.pageErrors).toEqual([])
  })
})
