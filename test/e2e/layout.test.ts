/**
 * The layout at 1024×700 (issue 15, items 8 and 12), end to end in browser mode with Chromium:
 * no toolbar button wraps or is clipped (the ones that do not fit are in the "More ▾" menu, which
 * closes on Esc and outside click); the bottom panel and the navigation pane are resizable and the
 * sizes are remembered (main's settings: they survive a reload); browser mode reaches Connect All /
 * Disconnect All, and its empty screen does not send the user to a File menu it does not have.
 */
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import { startApp, type AppHarness } from './harness'

const LONG = 60_000
const toolbar = (page: Page) => page.getByRole('toolbar', { name: 'Main toolbar' })
const treeitem = (page: Page, name: string) => page.getByRole('tree', { name: 'Servers' }).getByRole('treeitem', { name, exact: true })

/** every visible button/radio of the toolbar: inside the toolbar and the window, one line, text not cut */
async function clipped(page: Page): Promise<string[]> {
  const bar = await toolbar(page).boundingBox()
  if (!bar) throw new Error('no toolbar')
  const out: string[] = []
  const controls: Locator[] = [...(await toolbar(page).getByRole('button').all()), ...(await toolbar(page).getByRole('radio').all())]
  for (const b of controls) {
    if (!(await b.isVisible())) continue
    const name = (await b.textContent())?.trim() ?? ''
    const box = await b.boundingBox()
    if (!box) continue
    const fits = await b.evaluate((el) => el.scrollWidth <= el.clientWidth + 1 && el.scrollHeight <= el.clientHeight + 1)
    const inside = box.x >= bar.x - 0.5 && box.x + box.width <= Math.min(bar.x + bar.width, page.viewportSize()?.width ?? 0) + 0.5
    if (!fits || !inside || box.height > 30) out.push(`${name} (${Math.round(box.x)}+${Math.round(box.width)}, h ${Math.round(box.height)}${fits ? '' : ', text cut'})`)
  }
  return out
}

describe('at 1024×700', { timeout: 300_000 }, () => {
  let h: AppHarness | undefined
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.63', opDurationMs: 0 }), trustPools: true, viewport: { width: 1024, height: 700 } })
    await treeitem(h.page, 'web-01').waitFor({ timeout: LONG })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it('no toolbar button wraps or is clipped; what does not fit is in More ▾, which closes on Esc and outside click', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    // a VM selected: the VM buttons are enabled, the widest labels on show
    await treeitem(page, 'web-01').click()
    for (const size of [
      { width: 1024, height: 700 },
      { width: 1400, height: 900 },
    ]) {
      await page.setViewportSize(size)
      await expect.poll(() => clipped(page)).toEqual([])
    }
    await page.setViewportSize({ width: 1024, height: 700 })
    await expect.poll(() => clipped(page)).toEqual([])

    const visible = (await toolbar(page).getByRole('button').allTextContents()).map((t) => t.trim())
    const more = toolbar(page).getByRole('button', { name: 'More commands' })
    await more.click()
    const menu = page.getByRole('menu', { name: 'More commands' })
    await menu.waitFor()
    const inMenu = (await menu.getByRole('menuitem').allTextContents()).map((t) => t.trim())
    // every toolbar command is reachable, once
    for (const label of ['Add Server…', 'Start', 'Shut Down', 'Reboot', 'Suspend', 'Connect All', 'Disconnect All']) {
      const n = visible.filter((v) => v === label).length + inMenu.filter((v) => v.startsWith(label)).length
      expect(n, label).toBe(1)
    }
    await page.keyboard.press('Escape')
    await menu.waitFor({ state: 'detached' })
    expect(await more.evaluate((el) => el === document.activeElement)).toBe(true)
    await more.click()
    await menu.waitFor()
    await page.getByRole('region', { name: 'Details' }).click({ position: { x: 300, y: 300 } })
    await menu.waitFor({ state: 'detached' })
  })

  it('the bottom panel and the navigation pane are resizable, and keep their size after a reload', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const activity = page.getByRole('region', { name: 'Activity' })
    const before = (await activity.boundingBox())?.height ?? 0
    const grip = page.getByRole('separator', { name: 'Resize activity panel' })
    const g = await grip.boundingBox()
    if (!g) throw new Error('no grip')
    await page.mouse.move(g.x + 200, g.y + g.height / 2)
    await page.mouse.down()
    await page.mouse.move(g.x + 200, g.y + g.height / 2 + 80, { steps: 4 })
    await page.mouse.up()
    await expect.poll(async () => Math.round((await activity.boundingBox())?.height ?? 0)).toBe(Math.round(before - 80))
    // the keyboard too
    await grip.focus()
    await page.keyboard.press('ArrowUp')
    await expect.poll(async () => Math.round((await activity.boundingBox())?.height ?? 0)).toBe(Math.round(before - 64))

    const nav = page.getByRole('navigation', { name: 'Navigation' })
    const navBefore = (await nav.boundingBox())?.width ?? 0
    const split = page.getByRole('separator', { name: 'Resize navigation' })
    const s = await split.boundingBox()
    if (!s) throw new Error('no splitter')
    await page.mouse.move(s.x + 2, s.y + 200)
    await page.mouse.down()
    await page.mouse.move(s.x + 2 - 60, s.y + 200, { steps: 4 })
    await page.mouse.up()
    await expect.poll(async () => Math.round((await nav.boundingBox())?.width ?? 0)).toBe(Math.round(navBefore - 60))

    // remembered by main: a reload (a new window) shows the same sizes
    await new Promise((r) => setTimeout(r, 1200))
    await page.reload()
    await page.getByRole('tree', { name: 'Servers' }).waitFor({ timeout: LONG })
    await expect.poll(async () => Math.round((await page.getByRole('region', { name: 'Activity' }).boundingBox())?.height ?? 0), { timeout: LONG }).toBe(Math.round(before - 64))
    await expect.poll(async () => Math.round((await page.getByRole('navigation', { name: 'Navigation' }).boundingBox())?.width ?? 0), { timeout: LONG }).toBe(Math.round(navBefore - 60))
  })

  it('browser mode reaches Disconnect All and Connect All', async () => {
    if (!h) throw new Error('no app')
    const { page, api } = h
    const more = toolbar(page).getByRole('button', { name: 'More commands' })
    await more.click()
    await page.getByRole('menu', { name: 'More commands' }).getByRole('menuitem', { name: 'Disconnect All', exact: true }).click()
    await expect.poll(async () => (await api.call('connections.list', {})).map((c) => c.status), { timeout: LONG }).toEqual(['disconnected', 'disconnected'])
    await more.click()
    await page.getByRole('menu', { name: 'More commands' }).getByRole('menuitem', { name: 'Connect All', exact: true }).click()
    await expect.poll(async () => (await api.call('connections.list', {})).map((c) => c.status), { timeout: LONG }).toEqual(['connected', 'connected'])
    expect(h.pageErrors.filter((e) => !/WebSocket|net::/.test(e))).toEqual([])
  })
})

describe('browser mode with no server yet', { timeout: 120_000 }, () => {
  let h: AppHarness | undefined
  afterAll(async () => {
    await h?.close()
  })
  it('the empty screen does not mention a File menu; it points to the Add Server… button', async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.64', opDurationMs: 0 }), viewport: { width: 1024, height: 700 } })
    const { page } = h
    await page.getByText('No servers yet.').waitFor({ timeout: LONG })
    const text = (await page.locator('body').textContent()) ?? ''
    expect(text).not.toMatch(/File\s*(→|>|menu)/)
    expect(text).toContain('Add Server…')
  })
})
