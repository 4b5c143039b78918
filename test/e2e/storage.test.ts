/**
 * Storage where the admin works (issue 13), in Chromium against the simulator: a VM's Storage tab
 * lists its drives and DVD drive; an SR's view shows how full it is, which servers see it, and its
 * disks with the orphans flagged; disks and discs change through dialogs that say why not before
 * the click; SRs are scanned and repaired; the fleet overview finds the fullest SR; an offline pool's
 * tabs are read-only from the cache.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { startSimulator } from '../sim'
import { buildFleet } from '../sim/fleet'
import type { SimControl, SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'
import { screens } from './screens'

const LONG = 60_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })
const panel = (page: Page) => page.getByRole('tabpanel')

/** selects the only tree row named `name` (the tree is virtualised: narrow it with the search first) */
async function select(page: Page, name: string): Promise<void> {
  await page.getByRole('searchbox', { name: 'Search' }).fill(name)
  await treeitem(page, name).first().click()
}
async function openTab(page: Page, name: string): Promise<void> {
  await page.getByRole('tablist', { name: 'Views' }).getByRole('tab', { name, exact: true }).click()
}

describe('storage views', { timeout: 180_000 }, () => {
  let sim: SimControl
  let h: AppHarness
  let current: SimPoolHandle
  const shot = (name: string) => h.page.screenshot({ path: `/tmp/storage-${name}.png` })

  beforeAll(async () => {
    sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.86', opDurationMs: 300 }) })
    current = sim.pool('tiny-current')
    h = await startApp({ sim, trustPools: true, viewport: { width: 1400, height: 900 } })
    await h.page.getByTestId('pools-connected').filter({ hasText: '2 of 2 connected' }).waitFor({ timeout: LONG })
  })
  afterAll(async () => {
    await h?.close()
    await sim?.stop()
  })

  it('lists a running VM’s disks (attached, with their SR and device) and its DVD drive', async () => {
    const { page } = h
    await select(page, 'web-01')
    await openTab(page, 'Storage')
    const disks = panel(page).getByRole('grid', { name: 'Disks' })
    const rows = disks.getByRole('row')
    await expect.poll(() => rows.count(), { timeout: LONG }).toBeGreaterThan(1)
    const first = rows.nth(1)
    expect(await first.getAttribute('data-attached')).toBe('true')
    expect(await first.textContent()).toContain('/dev/xvda')
    expect(await panel(page).getByRole('group', { name: /^DVD drive/ }).count()).toBe(1)
    // at 1024×700 every column is inside the pane (the Device column was cut off: names and SRs wrap now)
    const size = page.viewportSize() ?? { width: 1280, height: 800 }
    await page.setViewportSize({ width: 1024, height: 700 })
    const past = await disks.evaluate((el) => {
      let pane = el.parentElement
      while (pane && getComputedStyle(pane).overflowX === 'visible') pane = pane.parentElement
      const right = pane ? pane.getBoundingClientRect().left + pane.clientWidth : Infinity
      return Math.round(el.getBoundingClientRect().right - right)
    })
    expect(past, 'px of the Disks table past its pane at 1024×700').toBeLessThanOrEqual(0)
    await screens(page, 'storage-vm-disks', size)
    expect(h.pageErrors).toEqual([])
  })

  it('shows an SR: usage, the servers connected to it, its disks with the orphan flagged', async () => {
    const { page } = h
    await select(page, 'NFS VM storage')
    await openTab(page, 'Storage')
    await expect.poll(() => panel(page).getByTestId('sr-usage').textContent(), { timeout: LONG }).toMatch(/% used/)
    const hosts = panel(page).getByRole('table', { name: 'Servers connected to the SR' })
    expect(await hosts.getByRole('row', { name: 'tiny-host-1' }).textContent()).toContain('Connected')
    const disks = panel(page).getByRole('table', { name: 'Disks on the SR' })
    const orphan = disks.getByRole('row', { name: 'restore-2025-03' })
    await orphan.waitFor({ timeout: LONG })
    expect(await orphan.getAttribute('data-orphan')).toBe('true')
    expect(await disks.getByRole('row', { name: /web-01/ }).first().getAttribute('data-orphan')).toBe('false')
    await shot('sr-view')
    expect(h.pageErrors).toEqual([])
  })

  it('adds a 10 GiB disk to a running VM: it appears attached, and XAPI has it plugged', async () => {
    const { page } = h
    await select(page, 'web-01')
    await openTab(page, 'Storage')
    await panel(page).getByRole('button', { name: 'Add Disk…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Add Disk to web-01' })
    await dialog.getByRole('textbox', { name: 'Name' }).fill('scratch')
    await dialog.getByRole('spinbutton', { name: 'Size (GiB)' }).fill('10')
    // the default SR is chosen, its free space shown
    expect(await dialog.getByRole('radio', { name: /NFS VM storage/ }).isChecked()).toBe(true)
    expect(await dialog.getByRole('group', { name: 'SR' }).textContent()).toMatch(/TiB free of 8\.00 TiB/)
    await shot('add-disk-dialog')
    await dialog.getByRole('button', { name: 'Add', exact: true }).click()
    await dialog.waitFor({ state: 'detached', timeout: LONG })
    const row = panel(page).getByRole('grid', { name: 'Disks' }).getByRole('row', { name: 'scratch' })
    await expect.poll(() => row.getAttribute('data-attached'), { timeout: LONG }).toBe('true')
    expect(await row.getByTestId('disk-size').textContent()).toBe('10.0 GiB')
    const vdi = [...(current.objects.get('VDI') ?? new Map()).values()].find((v) => v.name_label === 'scratch')
    expect(vdi?.virtual_size).toBe(10 * 1024 ** 3)
    const vbd = current.objects.get('VBD')?.get(String((vdi?.VBDs as string[])[0]))
    expect(vbd?.currently_attached).toBe(true)
    // the Activity panel shows the action as one task
    await page.getByRole('region', { name: 'Activity' }).getByRole('row', { name: /^Add disk/ }).and(page.locator('[data-status=success]')).first().waitFor({ timeout: LONG })
    expect(h.pageErrors).toEqual([])
  })

  it('grows a disk of a halted VM (never shrinks: a smaller size is refused before the click)', async () => {
    const { page } = h
    await select(page, 'build-01')
    await openTab(page, 'Storage')
    const row = panel(page).getByRole('grid', { name: 'Disks' }).getByRole('row', { name: 'build-01 0' })
    await row.click()
    await panel(page).getByRole('button', { name: 'Resize…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Resize build-01 0' })
    const input = dialog.getByRole('spinbutton', { name: 'New size (GiB)' })
    // the disk's size as the fleet made it (whole GiB); smaller is refused before the click
    const before = [...(current.objects.get('VDI') ?? new Map()).values()].find((v) => v.name_label === 'build-01 0')
    const gib = Number(before?.virtual_size) / 1024 ** 3
    expect(Number.isInteger(gib) && gib > 1).toBe(true)
    await input.fill(String(gib - 1))
    const ok = dialog.getByRole('button', { name: 'Resize', exact: true })
    expect(await ok.isDisabled()).toBe(true)
    expect(await dialog.textContent()).toContain(`A disk can only grow: enter more than ${gib} GiB`)
    await input.fill(String(gib + 20))
    await ok.click()
    await dialog.waitFor({ state: 'detached', timeout: LONG })
    await expect.poll(() => row.getByTestId('disk-size').textContent(), { timeout: LONG }).toBe(`${gib + 20}.0 GiB`)
    const vdi = [...(current.objects.get('VDI') ?? new Map()).values()].find((v) => v.name_label === 'build-01 0')
    expect(vdi?.virtual_size).toBe((gib + 20) * 1024 ** 3)
    expect(h.pageErrors).toEqual([])
  })

  it('says before the click why a disk of a running VM on NFS cannot grow', async () => {
    const { page } = h
    await select(page, 'web-01')
    await openTab(page, 'Storage')
    await panel(page).getByRole('grid', { name: 'Disks' }).getByRole('row', { name: 'scratch' }).click()
    const resize = panel(page).getByRole('button', { name: 'Resize…' })
    expect(await resize.isDisabled()).toBe(true)
    expect(await resize.getAttribute('title')).toContain('cannot resize a disk in use; shut the VM down first')
  })

  it('inserts an ISO from the library into the DVD drive and ejects it', async () => {
    const { page } = h
    const drive = panel(page).getByRole('group', { name: /^DVD drive/ })
    await drive.getByRole('button', { name: 'Insert ISO…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Insert ISO into web-01' })
    const value = await dialog.locator('option', { hasText: 'debian-12.7.0-amd64-netinst.iso' }).getAttribute('value')
    await dialog.getByRole('combobox', { name: 'ISO image' }).selectOption(String(value))
    await shot('insert-iso-dialog')
    await dialog.getByRole('button', { name: 'Insert', exact: true }).click()
    await dialog.waitFor({ state: 'detached', timeout: LONG })
    await expect.poll(() => drive.getByTestId('cd-disc').textContent(), { timeout: LONG }).toBe('debian-12.7.0-amd64-netinst.iso')
    await shot('vm-storage')
    await drive.getByRole('button', { name: 'Eject' }).click()
    await expect.poll(() => drive.getByTestId('cd-disc').textContent(), { timeout: LONG }).toBe('No disc')
    expect(await drive.getByRole('button', { name: 'Eject' }).getAttribute('title')).toBe('The drive is empty')
    expect(h.pageErrors).toEqual([])
  })

  it('scans an SR and repairs the ISO library a server lost (its PBD is plugged again)', async () => {
    const { page } = h
    // another client unplugs the ISO library on tiny-host-2
    const iso = [...(current.objects.get('SR') ?? new Map()).entries()].find(([, r]) => r.name_label === 'ISO library')
    const host2 = [...(current.objects.get('host') ?? new Map()).entries()].find(([, r]) => r.name_label === 'tiny-host-2')?.[0]
    const pbd = [...(current.objects.get('PBD') ?? new Map()).entries()].find(([, r]) => r.SR === iso?.[0] && r.host === host2)?.[0]
    await current.call('PBD.unplug', [String(pbd)])
    await select(page, 'ISO library')
    await openTab(page, 'Storage')
    const servers = panel(page).getByRole('table', { name: 'Servers connected to the SR' })
    await expect.poll(() => servers.getByRole('row', { name: 'tiny-host-2' }).textContent(), { timeout: LONG }).toContain('Disconnected')
    const toolbar = panel(page).getByRole('toolbar', { name: 'SR actions' })
    // the library is not an SR for VM disks: set-default says why; destroy too
    expect(await toolbar.getByRole('button', { name: 'Set as Default' }).getAttribute('title')).toBe('An ISO or device SR cannot hold VM disks')
    const repair = toolbar.getByRole('button', { name: 'Repair' })
    expect(await repair.getAttribute('title')).toBe('Repair: reconnect tiny-host-2')
    await repair.click()
    await expect.poll(() => servers.getByRole('row', { name: 'tiny-host-2' }).textContent(), { timeout: LONG }).toContain('Connected')
    expect(current.objects.get('PBD')?.get(String(pbd))?.currently_attached).toBe(true)
    await expect.poll(() => repair.getAttribute('title'), { timeout: LONG }).toBe("SR 'ISO library' is connected to every server it should be")
    await toolbar.getByRole('button', { name: 'Scan' }).click()
    await page.getByRole('region', { name: 'Activity' }).getByRole('row', { name: /^Scan/ }).and(page.locator('[data-status=success]')).first().waitFor({ timeout: LONG })
    // the same commands are in the tree's context menu
    await treeitem(page, 'ISO library').click({ button: 'right' })
    const menu = page.getByRole('menu', { name: 'Actions' })
    await expect.poll(() => menu.getByRole('menuitem').filter({ has: page.getByText('Scan', { exact: true }) }).getAttribute('aria-disabled'), { timeout: LONG }).toBe('false')
    await page.keyboard.press('Escape')
    await menu.waitFor({ state: 'detached' })
    // forget shows its plan before anything happens; cancel leaves all as it was
    await toolbar.getByRole('button', { name: 'Forget…' }).click()
    const forget = page.getByRole('dialog', { name: 'Forget ISO library?' })
    expect(await forget.getByRole('region', { name: 'Plan' }).textContent()).toMatch(/Disconnected from tiny-host-1, tiny-host-2\.[\s\S]*5 disks \([^)]+\) leave the pool/)
    await shot('sr-forget-plan')
    await page.keyboard.press('Escape')
    await forget.waitFor({ state: 'detached' })
    expect(h.pageErrors).toEqual([])
  })

  it('screenshots: light and dark at 1024×700 and 1920×1080', async () => {
    const { page } = h
    for (const [w, hgt] of [[1024, 700], [1920, 1080]] as const) {
      await page.setViewportSize({ width: w, height: hgt })
      for (const scheme of ['light', 'dark'] as const) {
        // the theme follows the system's (the default 'System' setting)
        await page.emulateMedia({ colorScheme: scheme })
        await select(page, 'web-01')
        await openTab(page, 'Storage')
        await shot(`vm-${w}-${scheme}`)
        await select(page, 'NFS VM storage')
        await openTab(page, 'Storage')
        await shot(`sr-${w}-${scheme}`)
      }
    }
    await page.emulateMedia({ colorScheme: 'light' })
    await page.setViewportSize({ width: 1400, height: 900 })
  })
})

describe('the fleet storage overview (demo fleet)', { timeout: 400_000 }, () => {
  let sim: SimControl
  let h: AppHarness
  let page: Page

  beforeAll(async () => {
    sim = await startSimulator({ fleet: buildFleet('demo', { addressBase: '127.87', opDurationMs: 300 }) })
    // more time than the harness's default: the demo fleet's three pools stream in while the page
    // loads, and a busy machine then needs more than 30 s
    h = await startApp({ sim, trustPools: true, pageTimeoutMs: 180_000, waitForPools: true })
    page = h.page
  }, 400_000)
  afterAll(async () => {
    await h?.close()
    await sim?.stop()
  })

  it('finds the fullest SR across every pool, warns in colour, and opens it', async () => {
    // what the pools say: the SR with the highest share used
    let best = { name: '', pool: '', share: -1 }
    for (const name of ['Lab', 'Production', 'Legacy']) {
      for (const r of sim.pool(name).objects.get('SR')?.values() ?? []) {
        const size = Number(r.physical_size)
        if (!(size > 0) || r.is_tools_sr === true) continue
        const share = Number(r.physical_utilisation) / size
        if (share > best.share) best = { name: String(r.name_label), pool: name, share }
      }
    }
    const overview = page.getByRole('region', { name: 'Storage' })
    const table = overview.getByRole('table', { name: 'Storage repositories' })
    await table.waitFor({ timeout: LONG })
    await overview.getByRole('button', { name: 'Fullest first' }).click()
    const first = table.getByRole('row').nth(1)
    expect(await first.getAttribute('aria-label')).toBe(`${best.name} (${best.pool})`)
    expect(await first.getAttribute('data-tone')).toBe(best.share >= 0.9 ? 'critical' : best.share >= 0.8 ? 'warning' : 'ok')
    expect(await overview.getByTestId('fullest-sr').textContent()).toContain(`Fullest: ${best.name} (${best.pool}), ${Math.round(best.share * 100)}% used`)
    // least free first is the default order: free space never decreases down the list
    await overview.getByRole('button', { name: 'Least free first' }).click()
    await page.screenshot({ path: '/tmp/storage-fleet-overview.png' })
    await first.getByRole('button').first().click()
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent(), { timeout: LONG }).toBe(best.name)
    expect(h.pageErrors).toEqual([])
  })
})

describe('storage tabs of an offline pool', { timeout: 240_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-e2e-storage-offline-'))
  const env = { XENPILOT_PASSPHRASE: 'storage offline spec' }
  let sim: SimControl
  let h: AppHarness | undefined

  beforeAll(async () => {
    sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.88', opDurationMs: 0 }) })
    const first = await startApp({ sim, dataDir, trustPools: true, env, page: false })
    try {
      const end = Date.now() + LONG
      while ((await first.api.call('connections.list', {})).filter((c) => c.status === 'connected').length < 2) {
        if (Date.now() > end) throw new Error('the pools did not connect')
        await new Promise((r) => setTimeout(r, 200))
      }
    } finally {
      await first.close()
    }
    await sim.stop()
  }, 180_000)
  afterAll(async () => {
    await h?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('shows a VM’s disks and an SR from the cache, read-only: every action says the pool is offline', async () => {
    h = await startApp({ sim, dataDir, env })
    const { page } = h
    await treeitem(page, 'tiny-current').waitFor({ timeout: LONG })
    await select(page, 'web-01')
    await openTab(page, 'Storage')
    await expect.poll(() => page.getByRole('status', { name: 'Offline' }).textContent(), { timeout: LONG }).toMatch(/Offline — as of \d{1,2}[:.]\d{2}/)
    const disks = panel(page).getByRole('grid', { name: 'Disks' })
    await disks.getByRole('row', { name: 'web-01 0' }).waitFor({ timeout: LONG })
    const toolbar = panel(page).getByRole('toolbar', { name: 'Disk actions' })
    await disks.getByRole('row', { name: 'web-01 0' }).click()
    for (const name of ['Add Disk…', 'Attach Disk…', 'Detach…', 'Delete…', 'Resize…', 'Rename…', 'Move…']) {
      const b = toolbar.getByRole('button', { name })
      expect(await b.isDisabled()).toBe(true)
      expect(await b.getAttribute('title')).toMatch(/^tiny-current is (offline|connecting|reconnecting)/)
    }
    await shot2(page, 'offline-vm')
    await select(page, 'NFS VM storage')
    await openTab(page, 'Storage')
    await panel(page).getByRole('table', { name: 'Disks on the SR' }).getByRole('row', { name: 'restore-2025-03' }).waitFor({ timeout: LONG })
    expect(await panel(page).getByRole('toolbar', { name: 'SR actions' }).getByRole('button', { name: 'Scan' }).isDisabled()).toBe(true)
    expect(h.pageErrors).toEqual([])
  })
})

const shot2 = (page: Page, name: string) => page.screenshot({ path: `/tmp/storage-${name}.png` })

