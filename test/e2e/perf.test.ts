/**
 * Performance graphs where the admin works (issue 16), in Chromium against the simulator: a VM's
 * Performance tab draws CPU, memory, network and disk for the last 10 minutes (live, 5 s) and for
 * 24 h (history); the cursor in step across graphs, legend toggles (mouse and keyboard), zoom by drag;
 * a custom graph saved in pool.gui_config with XenCenter's keys is seen again after a restart, edited,
 * deleted; a pool's hosts side by side; an offline pool's graphs still draw from the local history
 * ("as of"); the fleet overview sorts the busiest VM to the top, and an offline pool's rows there say
 * "as of" and come after the current ones. Screenshots at 1024×700 and 1920×1080, light and dark.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { Page } from 'playwright-core'
import { startSimulator } from '../sim'
import { buildFleet } from '../sim/fleet'
import type { SimControl, SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'
import { screens } from './screens'

const LONG = 90_000
/** a keychain that survives the restart */
const ENV = { XENPILOT_PASSPHRASE: 'perf spec passphrase' }
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })

async function select(page: Page, name: string): Promise<void> {
  await page.getByRole('searchbox', { name: 'Search' }).fill(name)
  await treeitem(page, name).first().click()
}
async function openTab(page: Page, name: string): Promise<void> {
  await page.getByRole('tablist', { name: 'Views' }).getByRole('tab', { name, exact: true }).click()
}
/** points drawn by the graph named `title` */
async function points(page: Page, title: string): Promise<number> {
  const fig = page.getByRole('figure', { name: title, exact: true })
  return Number((await fig.locator('.plot').getAttribute('data-points')) ?? '0')
}

/**
 * the fleet table fits the details pane: no column hidden behind a horizontal scroll (the table no wider
 * than its section, and ending inside what the scrolling pane shows), every figure whole in its cell
 */
async function fleetTableFits(table: ReturnType<Page['getByRole']>): Promise<string> {
  return table.evaluate((el) => {
    let pane = el.parentElement
    while (pane && getComputedStyle(pane).overflowX === 'visible') pane = pane.parentElement
    const section = el.parentElement
    const cut = [...el.querySelectorAll('td.num')].filter((td) => td.scrollWidth > td.clientWidth).length
    const problems = [
      section && el.getBoundingClientRect().width > section.clientWidth ? `table ${Math.round(el.getBoundingClientRect().width)} px in a ${section.clientWidth} px section` : '',
      pane && el.getBoundingClientRect().right > pane.getBoundingClientRect().left + pane.clientWidth ? `table ends past the pane's ${pane.clientWidth} px` : '',
      cut ? `${cut} figure cells cut` : '',
    ]
    return problems.filter(Boolean).join('; ') || 'fits'
  })
}

describe('performance graphs', { timeout: 300_000 }, () => {
  let sim: SimControl
  let h: AppHarness
  let current: SimPoolHandle
  let dataDir: string

  beforeAll(async () => {
    sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.87', opDurationMs: 0 }) })
    current = sim.pool('tiny-current')
    dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-perf-e2e-'))
    h = await startApp({ sim, dataDir, trustPools: true, env: ENV, viewport: { width: 1024, height: 700 } })
    await h.page.getByTestId('pools-connected').filter({ hasText: '2 of 2 connected' }).waitFor({ timeout: LONG })
  }, LONG * 2)
  afterAll(async () => {
    await h?.close()
    await sim?.stop()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('the fleet overview sorts the busiest VM to the top, with sparklines, and exports CSV', async () => {
    const { page } = h
    const table = page.getByRole('table', { name: 'Fleet performance' })
    await table.waitFor({ timeout: LONG })
    await page.getByRole('combobox', { name: 'Show' }).selectOption('vm')
    await expect.poll(() => table.getByRole('row').count(), { timeout: LONG }).toBeGreaterThan(6)
    // the figures hold still while the table is compared with them: each feed answer (every minute, the hosts' a few
    // seconds apart) brings new ones, and two VMs near the top swap places (old-db 46 % and a control domain 47 %)
    await page.getByRole('button', { name: 'Pause updates' }).click()
    await page.getByRole('status').filter({ hasText: 'Paused' }).waitFor({ timeout: LONG })
    onTestFinished(async () => {
      if ((await h.api.call('perf.overview', {})).paused) await h.api.call('perf.pause', { paused: false })
    })
    const ov = await h.api.call('perf.overview', {})
    const busiest = ov.rows.filter((r) => r.kind === 'vm').sort((a, b) => (b.cpu ?? 0) - (a.cpu ?? 0))[0]
    const name = sim.pools.flatMap((p) => [...(p.objects.get('VM')?.values() ?? [])]).find((v) => v['uuid'] === busiest?.uuid)?.['name_label']
    expect(typeof name).toBe('string')
    const header = table.getByRole('columnheader', { name: 'CPU' })
    expect(await header.getAttribute('aria-sort')).toBe('descending')
    await expect.poll(() => table.getByRole('row').nth(1).getAttribute('aria-label'), { timeout: LONG }).toBe(name)
    // ascending puts it last; descending again first
    await header.getByRole('button').click()
    expect(await header.getAttribute('aria-sort')).toBe('ascending')
    await expect.poll(() => table.getByRole('row').last().getAttribute('aria-label')).toBe(name)
    await header.getByRole('button').click()
    await expect.poll(() => table.getByRole('row').nth(1).getAttribute('aria-label')).toBe(name)
    // every figure that has a value has its sparkline drawn: the first feed answer's minutes are its points (one point
    // per answer drew nothing for the first minute); a figure without one ('—', a control domain's memory) has none
    const sparks = await table.locator('td.num').evaluateAll((tds) =>
      tds.map((td) => ({ text: (td.textContent ?? '').trim(), drawn: /L/.test(td.querySelector('svg.spark path')?.getAttribute('d') ?? '') })),
    )
    expect(sparks.filter((s) => s.text !== '—' && !s.drawn)).toEqual([])
    expect(sparks.filter((s) => s.drawn).length).toBeGreaterThanOrEqual(4 * 4)
    // at 1024×700 every column shows without scrolling sideways (narrower sparklines, long names end in …)
    expect(page.viewportSize()?.width).toBe(1024)
    expect(await fleetTableFits(table)).toBe('fits')
    // and so does the storage overview under it (long SR and pool names end in …, the usage bar narrows)
    const storage = page.getByRole('table', { name: 'Storage repositories' })
    await storage.scrollIntoViewIfNeeded()
    expect(await fleetTableFits(storage)).toBe('fits')
    await screens(page, 'perf-fleet-storage', { width: 1024, height: 700 })
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Export CSV' }).click()
    const csv = await (await download).createReadStream()
    let text = ''
    for await (const c of csv) text += String(c)
    expect(text.split('\n')[0]).toBe('name,pool,kind,uuid,time,cpu_percent,memory_used_bytes,memory_total_bytes,network_bytes_per_s,disk_bytes_per_s')
    expect(text.split('\n')[1]?.startsWith(`${String(name)},`)).toBe(true)
    await page.getByRole('button', { name: 'Resume updates' }).click()
    // how far back the history goes, and its size limit as a setting
    await expect.poll(() => page.getByTestId('fleet-history').textContent(), { timeout: LONG }).toMatch(/^History: 1-minute detail since .+, hourly since .+, daily before · (.+ of 2(\.0)? GiB on disk(, [\d,]+ new values not written yet)?|Nothing on disk yet: [\d,]+ values wait in memory, written at .+ · limit 2(\.0)? GiB)$/)
    await page.getByRole('button', { name: 'History settings…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Performance history' })
    await expect.poll(() => dialog.getByTestId('history-depth').textContent(), { timeout: LONG }).toMatch(/^1-minute detail since /)
    // never "0 B" before the first write: what waits in memory is said
    expect(await dialog.getByTestId('history-stored').textContent()).not.toMatch(/^0 B/)
    await page.screenshot({ path: '/tmp/perf-history-dialog-1024-light.png' })
    await dialog.getByRole('combobox', { name: 'Size limit' }).selectOption({ label: '4 GiB' })
    await dialog.getByRole('button', { name: 'Save' }).click()
    await expect.poll(async () => (await h.api.call('perf.history', {})).maxBytes, { timeout: LONG }).toBe(4 * 1024 ** 3)
    expect((await h.api.call('settings.get', {})).perfHistoryMiB).toBe(4096)
    await expect.poll(() => page.getByTestId('fleet-history').textContent(), { timeout: LONG }).toMatch(/(of|limit) 4(\.0)? GiB/)
    // ranked by yesterday: averages from the history, every VM that has them
    await page.getByRole('combobox', { name: 'Figures' }).selectOption('yesterday')
    await page.getByRole('status').filter({ hasText: /objects · averages of .+ from the history, hourly/ }).waitFor({ timeout: LONG })
    await expect.poll(() => table.getByRole('row').count(), { timeout: LONG }).toBeGreaterThan(6)
    expect(await header.getAttribute('aria-sort')).toBe('descending')
    await page.screenshot({ path: '/tmp/perf-fleet-yesterday-1024-light.png' })
    await page.getByRole('combobox', { name: 'Figures' }).selectOption('now')
    await page.getByRole('status').filter({ hasText: /newest 60 s row/ }).waitFor({ timeout: LONG })
    await page.screenshot({ path: '/tmp/perf-fleet-1024-light.png' })
    await page.setViewportSize({ width: 1920, height: 1080 })
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.waitForTimeout(300)
    await page.screenshot({ path: '/tmp/perf-fleet-1920-dark.png' })
    await page.emulateMedia({ colorScheme: 'light' })
    await page.setViewportSize({ width: 1024, height: 700 })
  })

  it("draws a VM's CPU, memory, network and disk for the last 10 minutes, live", async () => {
    const { page } = h
    await select(page, 'web-01')
    await openTab(page, 'Performance')
    for (const g of ['CPU performance', 'Memory performance', 'Network performance', 'Disk performance']) await page.getByRole('figure', { name: g, exact: true }).waitFor({ timeout: LONG })
    // live: the host's 5 s rows for the last 10 minutes
    await page.getByRole('status').filter({ hasText: 'Live, every 5 s' }).waitFor({ timeout: LONG })
    for (const g of ['CPU performance', 'Memory performance', 'Network performance', 'Disk performance']) await expect.poll(() => points(page, g), { timeout: LONG }).toBeGreaterThan(90)
    expect(await page.getByRole('figure', { name: 'CPU performance' }).locator('canvas').count()).toBe(1)
    await page.screenshot({ path: '/tmp/perf-vm-10m-1024-light.png' })
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.waitForTimeout(300)
    await page.screenshot({ path: '/tmp/perf-vm-10m-1024-dark.png' })
    await page.emulateMedia({ colorScheme: 'light' })
  })

  it('draws the last 24 h from the history', async () => {
    const { page } = h
    await page.getByRole('radiogroup', { name: 'Time range' }).getByRole('radio', { name: 'Last 24 hours' }).click()
    await page.getByRole('status').filter({ hasText: /min points|h points/ }).waitFor({ timeout: LONG })
    // how far back this VM's stored history goes, in words
    await page.getByRole('status').filter({ hasText: /1-minute detail since .+, hourly since .+, daily before/ }).waitFor({ timeout: LONG })
    for (const g of ['CPU performance', 'Memory performance', 'Network performance', 'Disk performance']) await expect.poll(() => points(page, g), { timeout: LONG }).toBeGreaterThan(40)
    await page.setViewportSize({ width: 1920, height: 1080 })
    await page.waitForTimeout(300)
    await page.screenshot({ path: '/tmp/perf-vm-24h-1920-light.png' })
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.waitForTimeout(300)
    await page.screenshot({ path: '/tmp/perf-vm-24h-1920-dark.png' })
    await page.emulateMedia({ colorScheme: 'light' })
    await page.setViewportSize({ width: 1024, height: 700 })
  })

  it('keeps the cursor in step across the graphs, toggles a series from its legend (mouse and keyboard) and zooms by dragging', async () => {
    const { page } = h
    const cpu = page.getByRole('figure', { name: 'CPU performance', exact: true })
    const mem = page.getByRole('figure', { name: 'Memory performance', exact: true })
    await expect.poll(() => points(page, 'CPU performance'), { timeout: LONG }).toBeGreaterThan(40)
    // synced cursor: pointing at a time on the CPU graph shows that same time in the memory graph's legend
    const over = await cpu.locator('.u-over').boundingBox()
    if (!over) throw new Error('no plot area')
    const legendTime = (fig: typeof cpu) => fig.locator('.u-legend .u-series').first().locator('.u-value').textContent()
    await page.mouse.move(over.x + over.width * 0.4, over.y + over.height / 2)
    await expect.poll(() => legendTime(cpu)).not.toBe('—')
    const at = await legendTime(cpu)
    await expect.poll(() => legendTime(mem)).toBe(at)
    await page.mouse.move(over.x + over.width * 0.7, over.y + over.height / 2)
    await expect.poll(() => legendTime(mem)).not.toBe(at)
    expect(await legendTime(mem)).toBe(await legendTime(cpu))
    // legend toggles: each entry is a switch; a click hides its series, Enter / Space from the keyboard too
    const entry = cpu.getByRole('switch').first()
    const row = cpu.locator('.u-legend .u-series').nth(1)
    expect(await entry.getAttribute('aria-checked')).toBe('true')
    await entry.click()
    expect(await entry.getAttribute('aria-checked')).toBe('false')
    expect(await row.getAttribute('class')).toMatch(/u-off/)
    await entry.focus()
    await page.keyboard.press('Enter')
    expect(await entry.getAttribute('aria-checked')).toBe('true')
    expect(await row.getAttribute('class')).not.toMatch(/u-off/)
    await page.keyboard.press(' ')
    expect(await entry.getAttribute('aria-checked')).toBe('false')
    await page.keyboard.press(' ')
    // zoom: dragging over the last fifth of the day asks for just that stretch again (its own, finer points): the
    // graph's left edge is hours later than the day's, and Reset zoom brings the day back
    const leftEdge = async (): Promise<number> => {
      await page.mouse.move(over.x + 3, over.y + over.height / 2)
      await expect.poll(() => legendTime(cpu)).not.toBe('—')
      return Date.parse((await legendTime(cpu)) ?? '')
    }
    const dayStart = await leftEdge()
    expect(dayStart).toBeGreaterThan(0)
    const before = await points(page, 'Memory performance')
    await page.mouse.move(over.x + over.width * 0.8, over.y + over.height / 2)
    await page.mouse.down()
    await page.mouse.move(over.x + over.width * 0.9, over.y + over.height / 2, { steps: 5 })
    await page.mouse.move(over.x + over.width * 0.99, over.y + over.height / 2, { steps: 5 })
    await page.mouse.up()
    const reset = page.getByRole('button', { name: 'Reset zoom' })
    await reset.waitFor({ timeout: LONG })
    await expect.poll(() => points(page, 'Memory performance'), { timeout: LONG }).not.toBe(before)
    expect((await leftEdge()) - dayStart).toBeGreaterThan(12 * 3600_000)
    await page.screenshot({ path: '/tmp/perf-vm-zoomed-1024-light.png' })
    await reset.click()
    await expect.poll(() => reset.count()).toBe(0)
    await expect.poll(() => points(page, 'Memory performance'), { timeout: LONG }).toBe(before)
    expect(Math.abs((await leftEdge()) - dayStart)).toBeLessThan(3600_000)
  })

  it('saves a custom graph in gui_config with XenCenter’s keys and shows it again after a restart', async () => {
    const { page } = h
    await page.getByRole('button', { name: 'New graph…' }).click()
    const dialog = page.getByRole('dialog', { name: 'New graph' })
    await dialog.getByLabel('Name').fill('Busy vCPUs')
    await dialog.getByRole('searchbox', { name: 'Find a data source' }).fill('cpu')
    await dialog.getByRole('checkbox').first().waitFor({ timeout: LONG })
    await dialog.getByRole('listitem').filter({ hasText: /^cpu0/ }).getByRole('checkbox').check()
    await dialog.getByRole('listitem').filter({ hasText: /^cpu1/ }).getByRole('checkbox').check()
    await dialog.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('figure', { name: 'Busy vCPUs', exact: true }).waitFor({ timeout: LONG })
    const vmUuid = String([...(current.objects.get('VM')?.values() ?? [])].find((v) => v['name_label'] === 'web-01')?.['uuid'])
    const gui = [...(current.objects.get('pool')?.values() ?? [])][0]?.['gui_config'] as Record<string, string>
    // every default graph is kept as a custom one and the new graph comes last
    const keys = Object.keys(gui).filter((k) => k.endsWith(`.vm.${vmUuid}`) && k.startsWith('XenCenter.GraphLayout.'))
    const last = `XenCenter.GraphLayout.${keys.length - 1}.vm.${vmUuid}`
    expect(gui[last]).toBe('cpu0,cpu1')
    expect(gui[`XenCenter.GraphName.${keys.length - 1}.vm.${vmUuid}`]).toBe('Busy vCPUs')
    expect(Number(gui[`XenCenter.DataSource.vm.${vmUuid}.cpu0`])).toBeLessThan(0)

    await h.close()
    h = await startApp({ sim, dataDir, env: ENV, viewport: { width: 1024, height: 700 } })
    await h.page.getByTestId('pools-connected').filter({ hasText: '2 of 2 connected' }).waitFor({ timeout: LONG })
    await select(h.page, 'web-01')
    await openTab(h.page, 'Performance')
    await h.page.getByRole('figure', { name: 'Busy vCPUs', exact: true }).waitFor({ timeout: LONG })
    await expect.poll(() => points(h.page, 'Busy vCPUs'), { timeout: LONG }).toBeGreaterThan(20)
  })

  it('edits a custom graph (name, sources) and deletes it, in gui_config', async () => {
    const { page } = h
    const vmUuid = String([...(current.objects.get('VM')?.values() ?? [])].find((v) => v['name_label'] === 'web-01')?.['uuid'])
    const gui = () => ([...(current.objects.get('pool')?.values() ?? [])][0]?.['gui_config'] ?? {}) as Record<string, string>
    const nameKey = (title: string) => Object.keys(gui()).find((k) => k.startsWith('XenCenter.GraphName.') && k.endsWith(`.vm.${vmUuid}`) && gui()[k] === title)
    await page.getByRole('combobox', { name: 'Graph to edit' }).selectOption({ label: 'Busy vCPUs' })
    await page.getByRole('button', { name: 'Edit graph…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Edit graph' })
    await dialog.getByLabel('Name').fill('vCPU 0')
    await dialog.getByRole('searchbox', { name: 'Find a data source' }).fill('cpu')
    await dialog.getByRole('listitem').filter({ hasText: /^cpu1/ }).getByRole('checkbox').uncheck()
    await dialog.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('figure', { name: 'vCPU 0', exact: true }).waitFor({ timeout: LONG })
    expect(await page.getByRole('figure', { name: 'Busy vCPUs', exact: true }).count()).toBe(0)
    const layouts = () => Object.keys(gui()).filter((k) => k.startsWith('XenCenter.GraphLayout.') && k.endsWith(`.vm.${vmUuid}`)).length
    await expect.poll(() => gui()[String(nameKey('vCPU 0')).replace('XenCenter.GraphName.', 'XenCenter.GraphLayout.')], { timeout: LONG }).toBe('cpu0')
    const graphs = layouts()
    await page.getByRole('combobox', { name: 'Graph to edit' }).selectOption({ label: 'vCPU 0' })
    await page.getByRole('button', { name: 'Delete graph' }).click()
    await expect.poll(() => page.getByRole('figure', { name: 'vCPU 0', exact: true }).count(), { timeout: LONG }).toBe(0)
    // saved as the other graphs alone (the layout is written again: its keys removed, then added)
    await expect.poll(() => layouts(), { timeout: LONG }).toBe(graphs - 1)
    expect(nameKey('vCPU 0')).toBeUndefined()
    // the other graphs are still custom ones (Restore default graphs is offered)
    await expect.poll(() => page.getByRole('button', { name: 'Restore default graphs' }).isEnabled(), { timeout: LONG }).toBe(true)
  })

  it('restores the default graphs', async () => {
    const { page } = h
    await page.getByRole('button', { name: 'Restore default graphs' }).click()
    await expect.poll(() => page.getByRole('figure', { name: 'Busy vCPUs', exact: true }).count(), { timeout: LONG }).toBe(0)
    await page.getByRole('figure', { name: 'Disk IOPS', exact: true }).waitFor({ timeout: LONG })
  })

  it("shows a pool's hosts side by side on its Performance tab, each with its CPU and memory", async () => {
    const { page } = h
    await page.setViewportSize({ width: 1920, height: 1080 })
    await select(page, 'tiny-current')
    await openTab(page, 'Performance')
    const hosts = ['tiny-host-1', 'tiny-host-2'].map((n) => page.getByRole('region', { name: `Performance of ${n}`, exact: true }))
    for (const host of hosts) {
      await host.waitFor({ timeout: LONG })
      for (const g of ['CPU performance', 'Memory performance']) {
        const fig = host.getByRole('figure', { name: g, exact: true })
        await fig.waitFor({ timeout: LONG })
        await expect.poll(async () => Number((await fig.locator('.plot').getAttribute('data-points')) ?? '0'), { timeout: LONG }).toBeGreaterThan(20)
      }
      // no legend of every core side by side: the average and the three busiest
      const cpu = host.getByRole('figure', { name: 'CPU performance', exact: true })
      const cores = await cpu.locator('.u-legend .u-series').count()
      const note = (await cpu.locator('figcaption').textContent()) ?? ''
      if (/busiest/.test(note)) {
        expect(note).toMatch(/Average and the 3 busiest of \d+ CPUs over this range/)
        expect(cores).toBe(1 + 3 + 1) // time, three cores, the average
      } else expect(cores).toBeLessThanOrEqual(1 + 4 + 1)
    }
    // side by side: the second host's graphs start on the first one's row, to its right
    const [a, b] = await Promise.all(hosts.map((x) => x.boundingBox()))
    expect(a && b && Math.abs(a.y - b.y) < 2 && b.x > a.x + a.width - 1).toBe(true)
    await page.screenshot({ path: '/tmp/perf-pool-1920-light.png' })
    await page.setViewportSize({ width: 1024, height: 700 })
    await select(page, 'web-01')
    await openTab(page, 'Performance')
  })

  it("draws an offline pool's graph from the history, marked as of", async () => {
    const { page } = h
    const id = (await h.api.call('connections.list', {})).find((c) => c.address.startsWith('127.87.1.'))?.id ?? ''
    expect(id).not.toBe('')
    await h.api.call('connections.disconnect', { id })
    await page.getByRole('radiogroup', { name: 'Time range' }).getByRole('radio', { name: 'Last 24 hours' }).click()
    await page.getByRole('status').filter({ hasText: /Offline — as of/ }).first().waitFor({ timeout: LONG })
    await expect.poll(() => points(page, 'CPU performance'), { timeout: LONG }).toBeGreaterThan(20)
    await page.screenshot({ path: '/tmp/perf-vm-offline-1024-light.png' })
    // the fleet overview (nothing selected): the offline pool's rows are not current, and say as of when
    await page.getByRole('searchbox', { name: 'Search' }).fill('')
    const selected = servers(page).locator('[aria-selected=true]')
    if (await selected.count()) await selected.first().click({ modifiers: ['Control'] })
    const table = page.getByRole('table', { name: 'Fleet performance' })
    await table.waitFor({ timeout: LONG })
    await expect.poll(() => table.getByRole('row').filter({ hasText: /as of / }).count(), { timeout: LONG }).toBeGreaterThan(0)
    await page.getByRole('status').filter({ hasText: /\d+ not current \(as of an earlier time\)/ }).waitFor({ timeout: LONG })
    // sorted by CPU, every current row comes before the first one that is not
    const stale = await table.getByRole('row').evaluateAll((rows) => rows.slice(1).map((r) => r.classList.contains('stale')))
    expect(stale.indexOf(true)).toBeGreaterThan(0)
    expect(stale.slice(stale.indexOf(true)).every(Boolean)).toBe(true)
    await table.getByRole('row').filter({ hasText: /as of / }).first().scrollIntoViewIfNeeded()
    // and with the "as of" of the rows not current (never cut: on a second line when the name column is narrow)
    expect(await fleetTableFits(table)).toBe('fits')
    await screens(page, 'perf-fleet-stale', { width: 1024, height: 700 })
    await h.api.call('connections.connect', { id })
  })
})
