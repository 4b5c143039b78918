/**
 * Storage where the admin works (issue 13), in Chromium against the simulator: a VM's Storage tab
 * lists its drives and DVD drive; an SR's view shows how full it is, which servers see it, and its
 * disks with the orphans flagged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { startSimulator } from '../sim'
import { buildFleet } from '../sim/fleet'
import type { SimControl, SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'

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
    await input.fill('20')
    const ok = dialog.getByRole('button', { name: 'Resize', exact: true })
    expect(await ok.isDisabled()).toBe(true)
    expect(await dialog.textContent()).toContain('A disk can only grow: enter more than 36 GiB')
    await input.fill('40')
    await ok.click()
    await dialog.waitFor({ state: 'detached', timeout: LONG })
    await expect.poll(() => row.getByTestId('disk-size').textContent(), { timeout: LONG }).toBe('40.0 GiB')
    const vdi = [...(current.objects.get('VDI') ?? new Map()).values()].find((v) => v.name_label === 'build-01 0')
    expect(vdi?.virtual_size).toBe(40 * 1024 ** 3)
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
})
