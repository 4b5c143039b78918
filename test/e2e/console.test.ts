/**
 * The console end to end: browser mode (real runtime, console bridge and web door) + the XAPI
 * simulator (tiny fleet, its RFB servers) + Debian's Chromium running noVNC. An admin opens a VM's
 * Console tab, sees the VM's screen, types, sends Ctrl+Alt+Del, watches it come back after a
 * reboot, and keeps two consoles open at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { endSimConsole, simScreens, type SimScreen } from '../sim/rfb'
import type { SimPoolHandle } from '../sim/model'
import { startXvnc, xvncAvailable, type XvncHandle } from '../sim/rfb/xvnc'
import { startApp, type AppHarness } from './harness'

let h: AppHarness
let xvnc: XvncHandle | undefined
let pool: SimPoolHandle
let connectionId: string

function vm(name: string): { ref: string; uuid: string } {
  for (const [ref, rec] of h.sim.pool('tiny-current').objects.get('VM') ?? []) if (rec['name_label'] === name) return { ref, uuid: String(rec['uuid']) }
  throw new Error(`no VM ${name}`)
}

async function screenOf(uuid: string): Promise<SimScreen> {
  await expect.poll(() => simScreens.get(uuid), { timeout: 30_000 }).toBeDefined()
  const s = simScreens.get(uuid)
  if (!s) throw new Error('no screen')
  return s
}

async function openConsoleTab(page: Page, name: string): Promise<void> {
  const search = page.getByRole('searchbox', { name: 'Search' })
  await search.fill(name)
  await page.getByRole('tree').getByRole('treeitem', { name, exact: true }).first().click()
  await search.fill('')
  await page.getByRole('tab', { name: 'Console', exact: true }).click()
}

function consoleOf(page: Page, name: string) {
  return page.getByRole('region', { name: `Console of ${name}` })
}

/** share of canvas pixels that are not black (noVNC draws the guest's framebuffer on it) */
function litShare(page: Page, name: string): Promise<number> {
  return consoleOf(page, name)
    .locator('canvas')
    .first()
    .evaluate((el) => {
      if (!(el instanceof HTMLCanvasElement) || el.width === 0) return 0
      const ctx = el.getContext('2d')
      if (!ctx) return 0
      const d = ctx.getImageData(0, 0, el.width, el.height).data
      let lit = 0
      for (let i = 0; i < d.length; i += 4) if ((d[i] ?? 0) + (d[i + 1] ?? 0) + (d[i + 2] ?? 0) > 30) lit++
      return lit / (d.length / 4)
    })
}

async function waitState(page: Page, name: string, state: string): Promise<void> {
  await expect.poll(() => consoleOf(page, name).getAttribute('data-state'), { timeout: 60_000 }).toBe(state)
}

beforeAll(async () => {
  // db-01's console is a real VNC server (Debian's Xvnc) behind the simulator's /console
  xvnc = xvncAvailable() ? await startXvnc({ desktop: 'db-01 (Xvnc)', background: 'weave' }) : undefined
  h = await startApp({ fleet: 'tiny', trustPools: true, ...(xvnc ? { fleetOptions: { externalConsoles: { 'db-01': { host: xvnc.host, port: xvnc.port } } } } : {}) })
  pool = h.sim.pool('tiny-current')
  const total = h.sim.pools.length
  await h.page.getByTestId('pools-connected').filter({ hasText: `${total} of ${total} connected` }).waitFor({ timeout: 90_000 })
  const conns = await h.api.call('connections.list', {})
  const c = conns.find((x) => x.poolUuid === pool.uuid)
  if (!c) throw new Error('tiny-current is not among the connections')
  connectionId = c.id
}, 180_000)

afterAll(async () => {
  await h?.close()
  await xvnc?.stop()
  simScreens.clear()
})

describe('VM console in the browser', () => {
  it("shows the VM's screen in the Console tab", async () => {
    const { page } = h
    const web = vm('web-01')
    await openConsoleTab(page, 'web-01')
    await waitState(page, 'web-01', 'connected')
    const screen = await screenOf(web.uuid)
    await expect.poll(() => screen.attached, { timeout: 30_000 }).toBe(1)
    // the simulated screen is mostly dark blue with white and green text: never all black
    await expect.poll(() => litShare(page, 'web-01'), { timeout: 30_000 }).toBeGreaterThan(0.5)
    expect(h.pageErrors).toEqual([])
  })

  it('keeps its connection while the pool sends changes about the VM (no reconnect on every update)', async () => {
    const { page } = h
    const web = vm('web-01')
    const screen = await screenOf(web.uuid)
    const connections = screen.connections
    await pool.call('VM.set_name_label', [web.ref, 'web-01 (renamed)'])
    await consoleOf(page, 'web-01 (renamed)').waitFor({ timeout: 30_000 })
    await pool.call('VM.set_name_label', [web.ref, 'web-01'])
    await consoleOf(page, 'web-01').waitFor({ timeout: 30_000 })
    await waitState(page, 'web-01', 'connected')
    expect(screen.connections).toBe(connections)
    await expect.poll(() => screen.attached, { timeout: 30_000 }).toBe(1)
  })

  it('sends exactly the keys typed on the focused screen, and says the keyboard is captured', async () => {
    const { page } = h
    const screen = await screenOf(vm('web-01').uuid)
    const before = screen.keysyms.length
    await consoleOf(page, 'web-01').locator('canvas').first().click()
    await expect.poll(() => consoleOf(page, 'web-01').getByText('Keyboard captured — Ctrl+Alt+Shift releases it').isVisible()).toBe(true)
    await page.keyboard.type('root')
    await expect.poll(() => screen.text, { timeout: 30_000 }).toBe('root')
    // the text is complete on the last key-down; its key-up may still be on the way
    await expect.poll(() => screen.keysyms.length - before, { timeout: 10_000 }).toBe(8)
    expect(screen.keysyms.slice(before)).toEqual(
      [...'root'].flatMap((ch) => [
        { keysym: ch.charCodeAt(0), down: true },
        { keysym: ch.charCodeAt(0), down: false },
      ]),
    )
    await consoleOf(page, 'web-01').getByRole('button', { name: 'Release keyboard' }).click()
    await expect.poll(() => consoleOf(page, 'web-01').getByText(/Keyboard captured/).count()).toBe(0)
  })

  it('gives the keyboard back on Ctrl+Alt+Shift without sending Shift to the guest', async () => {
    const { page } = h
    const screen = await screenOf(vm('web-01').uuid)
    const c = consoleOf(page, 'web-01')
    await c.locator('canvas').first().click()
    await c.getByText('Keyboard captured — Ctrl+Alt+Shift releases it').waitFor({ timeout: 30_000 })
    const before = screen.keysyms.length
    await page.keyboard.down('Control')
    await page.keyboard.down('Alt')
    await page.keyboard.down('Shift')
    await page.keyboard.up('Shift')
    await page.keyboard.up('Alt')
    await page.keyboard.up('Control')
    await expect.poll(() => c.getByText(/Keyboard captured/).count(), { timeout: 30_000 }).toBe(0)
    expect(screen.keysyms.slice(before).some((k) => k.keysym === 0xffe1 && k.down)).toBe(false)
    // whatever the guest saw pressed (Ctrl, Alt) was released again: nothing stays stuck
    const held = (): number[] => {
      const down = new Set<number>()
      for (const k of screen.keysyms.slice(before)) {
        if (k.down) down.add(k.keysym)
        else down.delete(k.keysym)
      }
      return [...down]
    }
    await expect.poll(held, { timeout: 30_000 }).toEqual([])
  })

  it('types text as key presses (US QWERTY, Shift for capitals, Return for new lines)', async () => {
    const { page } = h
    const screen = await screenOf(vm('web-01').uuid)
    const c = consoleOf(page, 'web-01')
    await c.getByRole('button', { name: 'Type clipboard…' }).click()
    await c.getByRole('textbox').fill('\nHello, World!\n')
    await c.getByRole('button', { name: 'Type', exact: true }).click()
    await expect.poll(() => screen.text, { timeout: 30_000 }).toBe('root\nHello, World!\n')
    expect(screen.keysyms.some((k) => k.keysym === 0xffe1 && k.down)).toBe(true)
  })

  it("types for the guest's layout: a German HVM guest gets German key positions (QEMU scancodes)", async () => {
    const { page } = h
    const win = vm('win-app-01')
    expect(pool.objects.get('VM')?.get(win.ref)?.['domain_type']).toBe('hvm')
    await openConsoleTab(page, 'win-app-01')
    await waitState(page, 'win-app-01', 'connected')
    const screen = await screenOf(win.uuid)
    expect(screen.lastProtocol).toBe('3.8')
    const c = consoleOf(page, 'win-app-01')
    await c.getByRole('button', { name: 'Type clipboard…' }).click()
    await c.getByRole('combobox', { name: 'Guest keyboard layout' }).selectOption('de')
    await c.getByRole('textbox').fill('zy@')
    const before = screen.scancodes.length
    await c.getByRole('button', { name: 'Type', exact: true }).click()
    await expect.poll(() => screen.text.endsWith('zy@'), { timeout: 30_000 }).toBe(true)
    // QWERTZ: z is the key US keyboards label Y (0x15), y is Z (0x2c), @ is AltGr (0xb8) + Q (0x10)
    expect(screen.scancodes.slice(before).filter((k) => k.down).map((k) => k.scancode)).toEqual([0x15, 0x2c, 0xb8, 0x10])
    await openConsoleTab(page, 'web-01')
    await waitState(page, 'web-01', 'connected')
  })

  it('sends Ctrl+Alt+Del as Control_L, Alt_L, Delete down and up again', async () => {
    const { page } = h
    const screen = await screenOf(vm('web-01').uuid)
    const before = screen.keysyms.length
    await consoleOf(page, 'web-01').getByRole('button', { name: 'Ctrl+Alt+Del' }).click()
    const combo = (): { keysym: number; down: boolean }[] => screen.keysyms.slice(before).filter((k) => [0xffe3, 0xffe9, 0xffff].includes(k.keysym))
    await expect.poll(() => combo().length, { timeout: 30_000 }).toBe(6)
    expect(combo()).toEqual([
      { keysym: 0xffe3, down: true },
      { keysym: 0xffe9, down: true },
      { keysym: 0xffff, down: true },
      { keysym: 0xffff, down: false },
      { keysym: 0xffe9, down: false },
      { keysym: 0xffe3, down: false },
    ])
    // nothing else was pressed (moving focus to the button may release keys noVNC held: ups only)
    expect(screen.keysyms.slice(before).filter((k) => k.down && ![0xffe3, 0xffe9, 0xffff].includes(k.keysym))).toEqual([])
  })

  it('sends a combo from the key palette', async () => {
    const { page } = h
    const screen = await screenOf(vm('web-01').uuid)
    const before = screen.keysyms.length
    const c = consoleOf(page, 'web-01')
    await c.getByRole('button', { name: 'Keys', exact: true }).click()
    await c.getByRole('menuitem', { name: 'Ctrl+Alt+F2' }).click()
    const downs = (): number[] => screen.keysyms.slice(before).filter((k) => k.down).map((k) => k.keysym)
    await expect.poll(() => downs().length, { timeout: 30_000 }).toBe(3)
    expect(downs()).toEqual([0xffe3, 0xffe9, 0xffbf])
    await expect.poll(() => screen.keysyms.slice(before).filter((k) => !k.down && [0xffe3, 0xffe9, 0xffbf].includes(k.keysym)).length, { timeout: 30_000 }).toBe(3)
  })

  it('reconnects by itself when the VM reboots', async () => {
    const { page } = h
    const web = vm('web-01')
    const screen = await screenOf(web.uuid)
    const connectionsBefore = screen.connections
    await pool.call('VM.clean_reboot', [web.ref])
    // what the host does when the guest restarts: its display server goes away with the old domain
    endSimConsole(web.uuid, 'reboot')
    await expect.poll(() => screen.connections, { timeout: 60_000 }).toBeGreaterThan(connectionsBefore)
    await waitState(page, 'web-01', 'connected')
    await expect.poll(() => screen.attached, { timeout: 30_000 }).toBe(1)
    await expect.poll(() => litShare(page, 'web-01'), { timeout: 30_000 }).toBeGreaterThan(0.5)
  })

  it('follows the VM to its new host after a migration', async () => {
    const { page } = h
    const web = vm('web-01')
    const screen = await screenOf(web.uuid)
    const from = String(pool.objects.get('VM')?.get(web.ref)?.['resident_on'])
    const to = pool.hosts.find((x) => x.ref !== from)
    if (!to) throw new Error('need two hosts')
    const connectionsBefore = screen.connections
    await pool.call('VM.pool_migrate', [web.ref, to.ref, {}])
    // the viewer sees resident_on change in the pool's live graph and opens the console there
    await expect.poll(() => screen.connections, { timeout: 60_000 }).toBeGreaterThan(connectionsBefore)
    await waitState(page, 'web-01', 'connected')
    await expect.poll(() => h.app.runtime.consoles.bridge.list().filter((s) => s.vmRef === web.ref).map((s) => s.hostAddress), { timeout: 30_000 }).toEqual([to.address])
    await expect.poll(() => screen.attached, { timeout: 30_000 }).toBe(1)
  })

  it('follows the guest when it changes resolution: still fitted to the window, or 1:1 on request', async () => {
    const { page } = h
    const screen = await screenOf(vm('web-01').uuid)
    const c = consoleOf(page, 'web-01')
    const canvas = c.locator('canvas').first()
    screen.resize(1024, 768)
    await expect.poll(() => canvas.evaluate((el) => (el instanceof HTMLCanvasElement ? `${el.width}x${el.height}` : '')), { timeout: 30_000 }).toBe('1024x768')
    // fitted: as large as the stage allows in one dimension, never larger in either
    const fitted = async (): Promise<boolean> =>
      c.locator('.stage').evaluate((stage) => {
        const cv = stage.querySelector('canvas')
        if (!cv) return false
        const a = stage.getBoundingClientRect()
        const b = cv.getBoundingClientRect()
        return b.width <= a.width + 1 && b.height <= a.height + 1 && (Math.abs(b.width - a.width) < 2 || Math.abs(b.height - a.height) < 2)
      })
    await expect.poll(fitted, { timeout: 30_000 }).toBe(true)
    await c.getByRole('button', { name: 'Fit' }).click()
    await expect.poll(() => canvas.evaluate((el) => Math.round(el.getBoundingClientRect().width)), { timeout: 30_000 }).toBe(1024)
    await c.getByRole('button', { name: '1:1' }).click()
    await expect.poll(fitted, { timeout: 30_000 }).toBe(true)
  })

  it("offers the guest's clipboard text for copying", async () => {
    const { page } = h
    const context = h.context
    if (!context) throw new Error('no browser context')
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(h.url).origin })
    const screen = await screenOf(vm('web-01').uuid)
    const c = consoleOf(page, 'web-01')
    screen.setGuestClipboard('from the guest')
    await c.getByText('The guest copied 14 characters.').waitFor({ timeout: 30_000 })
    await c.getByRole('button', { name: 'Copy to my clipboard' }).click()
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), { timeout: 30_000 }).toBe('from the guest')
  })

  it('says the pool is offline when it is disconnected, and comes back when it reconnects', async () => {
    const { page } = h
    const screen = await screenOf(vm('web-01').uuid)
    await h.api.call('connections.disconnect', { id: connectionId })
    await waitState(page, 'web-01', 'offline')
    // main closed the console with the pool: nothing stays attached to the VM
    await expect.poll(() => screen.attached, { timeout: 30_000 }).toBe(0)
    await h.api.call('connections.connect', { id: connectionId })
    await waitState(page, 'web-01', 'connected')
    await expect.poll(() => screen.attached, { timeout: 30_000 }).toBe(1)
  })

  it('explains a halted VM instead of showing a black screen', async () => {
    const { page } = h
    await openConsoleTab(page, 'build-01')
    await waitState(page, 'build-01', 'halted')
    await expect.poll(() => consoleOf(page, 'build-01').textContent()).toMatch(/is not running\. Start it to see its console\./)
  })

  it('keeps two consoles open at once: one popped out into its own tab, one in the window', async () => {
    const { page } = h
    const context = h.context
    if (!context) throw new Error('no browser context')
    await openConsoleTab(page, 'web-01')
    await waitState(page, 'web-01', 'connected')
    const popupPromise = context.waitForEvent('page')
    await consoleOf(page, 'web-01').getByRole('button', { name: 'Pop out' }).click()
    const popup = await popupPromise
    expect(popup.url()).toContain(`#/console/${encodeURIComponent(connectionId)}/vm/`)
    await waitState(popup, 'web-01', 'connected')
    // the window's title names the VM (issue 15 item 14)
    await expect.poll(() => popup.title(), { timeout: 30_000 }).toBe('web-01 — Console — XenPilot')
    await waitState(page, 'web-01', 'popped-out')
    await openConsoleTab(page, 'pinned-01')
    await waitState(page, 'pinned-01', 'connected')
    const web = await screenOf(vm('web-01').uuid)
    const pinned = await screenOf(vm('pinned-01').uuid)
    await expect.poll(() => web.attached, { timeout: 30_000 }).toBe(1)
    await expect.poll(() => pinned.attached, { timeout: 30_000 }).toBe(1)
    // each console reaches its own VM
    await consoleOf(popup, 'web-01').locator('canvas').first().click()
    await popup.keyboard.type('one')
    await consoleOf(page, 'pinned-01').locator('canvas').first().click()
    await page.keyboard.type('two')
    await expect.poll(() => web.text.endsWith('one'), { timeout: 30_000 }).toBe(true)
    await expect.poll(() => pinned.text, { timeout: 30_000 }).toBe('two')
    await popup.close()
    expect(h.pageErrors).toEqual([])
  })

  it('brings a popped-out console back into the window', async () => {
    const { page } = h
    const context = h.context
    if (!context) throw new Error('no browser context')
    await openConsoleTab(page, 'web-01')
    await waitState(page, 'web-01', 'connected')
    const popupPromise = context.waitForEvent('page')
    await consoleOf(page, 'web-01').getByRole('button', { name: 'Pop out' }).click()
    const popup = await popupPromise
    await waitState(popup, 'web-01', 'connected')
    await waitState(page, 'web-01', 'popped-out')
    const closed = popup.waitForEvent('close')
    await consoleOf(page, 'web-01').getByRole('button', { name: 'Show it here' }).click()
    await closed
    await waitState(page, 'web-01', 'connected')
    await expect.poll(async () => (await screenOf(vm('web-01').uuid)).attached, { timeout: 30_000 }).toBe(1)
  })

  it.runIf(xvncAvailable())("shows a real VNC server's screen (Xvnc) through noVNC", async () => {
    const { page } = h
    await openConsoleTab(page, 'db-01')
    await waitState(page, 'db-01', 'connected')
    // X's root weave lights one pixel in four; a black canvas would be 0
    await expect.poll(() => litShare(page, 'db-01'), { timeout: 30_000 }).toBeGreaterThan(0.2)
    expect(await consoleOf(page, 'db-01').locator('canvas').first().evaluate((el) => (el instanceof HTMLCanvasElement ? `${el.width}x${el.height}` : ''))).toBe('800x600')
  })

  it("opens a host's control domain console from the host", async () => {
    const { page } = h
    const master = pool.hosts[0]
    if (!master) throw new Error('no master')
    await openConsoleTab(page, master.name)
    const region = page.getByRole('region', { name: /^Console of / })
    await expect.poll(() => region.getAttribute('data-state'), { timeout: 60_000 }).toBe('connected')
    expect(await region.getAttribute('aria-label')).toBe(`Console of Control domain of ${master.name}`)
    const dom0 = [...(pool.objects.get('VM')?.values() ?? [])].find((r) => r['is_control_domain'] === true && r['resident_on'] === master.ref)
    const screen = await screenOf(String(dom0?.['uuid']))
    expect(screen.lastProtocol).toBe('3.3')
  })

  it('draws the guest sharply on a HiDPI (2×) screen at 1:1', async () => {
    const browser = h.browser
    if (!browser) throw new Error('no browser')
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 2 })
    try {
      const page = await context.newPage()
      await page.goto(h.url)
      await page.getByTestId('pools-connected').filter({ hasText: /2 of 2 connected/ }).waitFor({ timeout: 90_000 })
      await openConsoleTab(page, 'db-01')
      await waitState(page, 'db-01', 'connected')
      const c = consoleOf(page, 'db-01')
      const canvas = c.locator('canvas').first()
      await c.getByRole('button', { name: 'Fit' }).click()
      // one guest pixel = 2×2 device pixels, drawn without smoothing
      await expect.poll(() => canvas.evaluate((el) => getComputedStyle(el).imageRendering), { timeout: 30_000 }).toBe('pixelated')
      expect(await canvas.evaluate((el) => (el instanceof HTMLCanvasElement ? Math.round((el.getBoundingClientRect().width * devicePixelRatio) / el.width) : 0))).toBe(2)
    } finally {
      await context.close()
    }
  })

  it("shows every running VM of a host as live console tiles, and opens one full size", async () => {
    const { page } = h
    const master = pool.hosts[0]
    if (!master) throw new Error('no master')
    const running = [...(pool.objects.get('VM') ?? [])]
      .filter(([, r]) => r['resident_on'] === master.ref && r['power_state'] === 'Running' && r['is_control_domain'] !== true)
      .map(([, r]) => String(r['name_label']))
      .sort()
    expect(running.length).toBeGreaterThan(1)
    const search = page.getByRole('searchbox', { name: 'Search' })
    await search.fill(master.name)
    await page.getByRole('tree').getByRole('treeitem', { name: master.name, exact: true }).first().click()
    await search.fill('')
    await page.getByRole('tab', { name: 'VM consoles' }).click()
    const grid = page.getByRole('list', { name: 'Consoles of the VMs on this host' })
    await expect.poll(() => grid.getByRole('listitem').count(), { timeout: 30_000 }).toBe(running.length)
    for (const name of running) await waitState(page, name, 'connected')
    // tiles are watch-only: typing on one sends nothing (db-01 is the real Xvnc: take a simulated screen)
    const first = running.find((n) => n !== 'db-01') ?? ''
    const screen = await screenOf(vm(first).uuid)
    const before = screen.keysyms.length
    await consoleOf(page, first).locator('canvas').first().click()
    await page.keyboard.type('x')
    await page.getByRole('button', { name: `Open the console of ${first}` }).click()
    await waitState(page, first, 'connected')
    expect(screen.keysyms.length).toBe(before)
    await consoleOf(page, first).locator('canvas').first().click()
    await page.keyboard.type('y')
    await expect.poll(() => screen.keysyms.length, { timeout: 30_000 }).toBe(before + 2)
    await page.getByRole('button', { name: '← All consoles' }).click()
    await expect.poll(() => grid.getByRole('listitem').count(), { timeout: 30_000 }).toBe(running.length)
  })
})
