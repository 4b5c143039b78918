/**
 * The console's menus and the VM consoles grid (issue 15, item 7), end to end in browser mode with
 * Chromium and the simulator's RFB screens: the "Keys ▾" menu closes on Esc and on a click outside
 * and works from the keyboard; a host with 16 running VMs shows them all, 12 to a page; a console
 * left at 1:1 still fits its tile (scrollbars only in the full console, when the screen is larger);
 * a 4:3 screen keeps its shape in a wide tile.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import type { SimPoolHandle } from '../sim/model'
import { simScreens } from '../sim/rfb'
import { startApp, type AppHarness } from './harness'
import { screens } from './screens'

const LONG = 60_000
const HOST = 'tiny-host-1'
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const details = (page: Page) => page.getByRole('region', { name: 'Details' })
const consoleOf = (page: Page, name: string) => page.getByRole('region', { name: `Console of ${name}` })
const grid = (page: Page) => page.getByRole('list', { name: 'Consoles of the VMs on this host' })

function vmRef(pool: SimPoolHandle, name: string): string {
  for (const [ref, r] of pool.objects.get('VM') ?? []) if (r.name_label === name && r.is_a_template !== true && r.is_a_snapshot !== true) return ref
  throw new Error(`no VM ${name} in ${pool.name}`)
}
function uuidOf(pool: SimPoolHandle, name: string): string {
  return String(pool.objects.get('VM')?.get(vmRef(pool, name))?.uuid)
}

async function select(page: Page, name: string, tab: string): Promise<void> {
  await page.getByRole('searchbox', { name: 'Search' }).fill(name)
  await servers(page).getByRole('treeitem', { name, exact: true }).first().click()
  await page.getByRole('searchbox', { name: 'Search' }).press('Escape')
  await details(page).getByRole('tab', { name: tab, exact: true }).click()
}

async function connected(page: Page, name: string): Promise<void> {
  await expect.poll(() => consoleOf(page, name).getAttribute('data-state'), { timeout: LONG }).toBe('connected')
}

const shots = (page: Page, name: string): Promise<string[]> => screens(page, `console-ui-${name}`, { width: 1400, height: 900 })

describe('console menus and the VM consoles grid', { timeout: 400_000 }, () => {
  let h: AppHarness | undefined
  let pool: SimPoolHandle
  const extra: string[] = []
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.72', opDurationMs: 0 }), trustPools: true })
    pool = h.sim.pool('tiny-current')
    // 16 VMs running on tiny-host-1: web-01, db-01, pinned-01 and 13 clones of build-01
    const hostRef = [...(pool.objects.get('host') ?? [])].find(([, r]) => r.name_label === HOST)?.[0] ?? ''
    for (let i = 1; i <= 13; i++) {
      const name = `grid-${String(i).padStart(2, '0')}`
      const ref = await pool.call('VM.clone', [vmRef(pool, 'build-01'), name])
      await pool.call('VM.start_on', [String(ref), hostRef, false, false])
      extra.push(name)
    }
    await servers(h.page).getByRole('treeitem', { name: 'tiny-current' }).first().waitFor({ timeout: LONG })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it('the Keys menu closes on Esc (focus back on Keys) and on a click outside, and works from the keyboard', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await select(page, 'web-01', 'Console')
    await connected(page, 'web-01')
    const con = consoleOf(page, 'web-01')
    const keys = con.getByRole('button', { name: 'Keys' })
    const menu = con.getByRole('menu', { name: 'Send key combination' })
    await keys.click()
    await menu.waitFor()
    expect(await keys.getAttribute('aria-expanded')).toBe('true')
    // the first item has the focus; arrows move it
    const items = menu.getByRole('menuitem')
    await expect.poll(() => items.first().evaluate((el) => el === document.activeElement)).toBe(true)
    await page.keyboard.press('ArrowDown')
    expect(await items.nth(1).evaluate((el) => el === document.activeElement)).toBe(true)
    await page.keyboard.press('End')
    expect(await items.last().evaluate((el) => el === document.activeElement)).toBe(true)
    await shots(page, 'keys-menu')
    await page.keyboard.press('Escape')
    await menu.waitFor({ state: 'detached' })
    expect(await keys.evaluate((el) => el === document.activeElement)).toBe(true)
    expect(await keys.getAttribute('aria-expanded')).toBe('false')

    // a click outside closes it
    await keys.click()
    await menu.waitFor()
    await details(page).getByRole('heading').first().click()
    await menu.waitFor({ state: 'detached' })

    // keyboard only: Enter opens, Enter on an item sends the combination and closes the menu
    const screen = simScreens.get(uuidOf(pool, 'web-01'))
    if (!screen) throw new Error('no simulated screen for web-01')
    const before = screen.keysyms.length
    await keys.focus()
    await page.keyboard.press('Enter')
    await menu.waitFor()
    await page.keyboard.press('Enter')
    await menu.waitFor({ state: 'detached' })
    await expect.poll(() => screen.keysyms.length, { timeout: LONG }).toBeGreaterThan(before)
  })

  it('at 1024×700 the console toolbar is one line and the Keys menu ends above the Activity panel', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await page.setViewportSize({ width: 1024, height: 700 })
    try {
      await select(page, 'web-01', 'Console')
      await connected(page, 'web-01')
      const con = consoleOf(page, 'web-01')
      const bar = con.getByRole('toolbar')
      const keys = con.getByRole('button', { name: 'Keys' })
      const barBox = await bar.boundingBox()
      const keysBox = await keys.boundingBox()
      // one line: no taller than a button and its padding
      expect(barBox?.height ?? 0).toBeLessThan((keysBox?.height ?? 0) * 1.9)
      for (const name of ['Ctrl+Alt+Del', 'Type clipboard…', 'Release keyboard', 'Pop out']) {
        const b = await con.getByRole('button', { name, exact: true }).boundingBox()
        expect(b && b.x + b.width <= 1024 && b.y < (barBox?.y ?? 0) + (barBox?.height ?? 0), `${name} inside the toolbar`).toBe(true)
      }
      await keys.click()
      const menu = con.getByRole('menu', { name: 'Send key combination' })
      await menu.waitFor()
      const m = await menu.boundingBox()
      const activity = await page.getByRole('region', { name: 'Activity' }).boundingBox()
      await page.screenshot({ path: '/tmp/console-ui-keys-1024x700.png' })
      expect((m?.y ?? 0) + (m?.height ?? 0)).toBeLessThanOrEqual(activity?.y ?? 0)
      await page.keyboard.press('Escape')
      await menu.waitFor({ state: 'detached' })
    } finally {
      await page.setViewportSize({ width: 1400, height: 900 })
    }
  })

  it('a host with 16 running VMs shows all of them, 12 to a page', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await select(page, HOST, 'VM consoles')
    await expect.poll(() => grid(page).getByRole('listitem').count(), { timeout: LONG }).toBe(12)
    const status = details(page).getByRole('status').filter({ hasText: 'running' })
    expect(await status.textContent()).toMatch(/VMs 1–12 of 16 running/)
    const names = async (): Promise<string[]> => (await grid(page).getByRole('button', { name: /^Open the console of / }).allTextContents()).map((t) => t.trim())
    const firstPage = await names()
    const previous = page.getByRole('button', { name: 'Previous consoles' })
    const next = page.getByRole('button', { name: 'Next consoles' })
    expect(await previous.isDisabled()).toBe(true)
    await next.click()
    await expect.poll(() => grid(page).getByRole('listitem').count(), { timeout: LONG }).toBe(4)
    expect(await status.textContent()).toMatch(/VMs 13–16 of 16 running/)
    expect(await next.isDisabled()).toBe(true)
    const all = [...firstPage, ...(await names())]
    expect(new Set(all).size).toBe(16)
    for (const n of ['web-01', 'db-01', 'pinned-01', ...extra]) expect(all).toContain(n)
    await previous.click()
    await expect.poll(() => grid(page).getByRole('listitem').count(), { timeout: LONG }).toBe(12)
  })

  it('a console left at 1:1 still fits its tile; the full console at 1:1 scrolls when the screen is larger', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const screen = simScreens.get(uuidOf(pool, 'web-01'))
    if (!screen) throw new Error('no simulated screen for web-01')
    screen.resize(1600, 1200)
    await select(page, 'web-01', 'Console')
    await connected(page, 'web-01')
    const con = consoleOf(page, 'web-01')
    await con.getByRole('button', { name: 'Fit', exact: true }).click()
    await con.getByRole('button', { name: '1:1', exact: true }).waitFor()
    // noVNC's screen element scrolls at 1:1 when the guest screen is larger than the stage
    const scrolls = (name: string) =>
      consoleOf(page, name)
        .locator('.screen > div')
        .first()
        .evaluate((el) => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
    await expect.poll(() => scrolls('web-01'), { timeout: LONG }).toBe(true)
    await select(page, HOST, 'VM consoles')
    // names sort db-01, grid-01…grid-13, pinned-01, web-01: web-01 is on the second page
    await page.getByRole('button', { name: 'Next consoles' }).click()
    await connected(page, 'web-01')
    await expect.poll(() => consoleOf(page, 'web-01').locator('canvas').first().evaluate((c) => (c instanceof HTMLCanvasElement ? c.width : 0)), { timeout: LONG }).toBe(1600)
    expect(await scrolls('web-01')).toBe(false)
    await shots(page, 'grid')
  })

  it('a 4:3 screen keeps its shape and fills a wide tile', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await page.setViewportSize({ width: 1920, height: 1080 })
    const name = 'db-01'
    await page.getByRole('button', { name: 'Previous consoles' }).click()
    await connected(page, name)
    const fb = await consoleOf(page, name).locator('canvas').first().evaluate((c) => (c instanceof HTMLCanvasElement ? { w: c.width, h: c.height } : { w: 0, h: 0 }))
    expect(fb.w / fb.h).toBeCloseTo(4 / 3, 2)
    await expect
      .poll(async () => {
        const tile = await consoleOf(page, name).boundingBox()
        const canvas = await consoleOf(page, name).locator('canvas').first().boundingBox()
        if (!tile || !canvas) return 'not laid out'
        // undistorted, and filling the tile (no wide black bars)
        const shape = Math.abs(canvas.width / canvas.height - fb.w / fb.h) < 0.02
        const fills = canvas.width >= tile.width * 0.97 && canvas.height >= tile.height * 0.97
        return shape && fills ? 'fits' : `canvas ${canvas.width}×${canvas.height} in tile ${tile.width}×${tile.height}`
      }, { timeout: LONG })
      .toBe('fits')
    await page.setViewportSize({ width: 1400, height: 900 })
  })
})
