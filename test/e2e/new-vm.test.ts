/**
 * The New VM wizard end to end (issue 14) in browser mode with Chromium: Ctrl+N on a selected
 * server opens the wizard; each step checks before Next; Finish says what will be created; Create
 * Now makes the VM on the simulator, starts it on that server, and its console shows a screen.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import { startApp, type AppHarness } from './harness'

const LONG = 60_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })
const searchbox = (page: Page) => page.getByRole('searchbox', { name: 'Search' })

async function select(page: Page, name: string): Promise<void> {
  await searchbox(page).fill(name)
  await treeitem(page, name).first().click()
  await searchbox(page).press('Escape')
}

describe('New VM wizard', { timeout: 300_000 }, () => {
  let h: AppHarness | undefined
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.63', opDurationMs: 0 }), trustPools: true })
    await treeitem(h.page, 'tiny-host-1').waitFor({ timeout: LONG })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it('from Ctrl+N on a server to a running VM whose console shows', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await select(page, 'tiny-host-1')
    await treeitem(page, 'tiny-host-1').first().click()
    await page.keyboard.press('Control+n')
    const wizard = page.getByRole('dialog', { name: 'New VM' })
    await wizard.waitFor({ timeout: LONG })
    const next = wizard.getByRole('button', { name: 'Next', exact: true })
    // nothing chosen: Next is disabled and says why
    expect(await next.isDisabled()).toBe(true)
    await expect.poll(() => wizard.getByRole('alert').textContent()).toBe('Choose a template')
    await wizard.getByRole('searchbox', { name: 'Search templates' }).fill('alpine')
    await wizard.getByRole('radio', { name: 'Alpine Linux 3.20' }).check()
    await next.click()
    const name = wizard.getByRole('textbox', { name: 'Name' })
    await name.fill('')
    await expect.poll(() => wizard.getByRole('alert').textContent()).toBe('A name is required')
    await name.fill('e2e-alpine')
    await next.click()
    await wizard.getByRole('combobox', { name: 'ISO image' }).selectOption({ label: 'debian-12.7.0-amd64-netinst.iso' })
    await next.click()
    await wizard.getByRole('radio', { name: /tiny-host-1/ }).check()
    await next.click() // CPU
    // the topology list fits the vCPUs and the home server chosen (tiny-host-1: 16 logical CPUs per socket)
    await wizard.getByRole('spinbutton', { name: 'Maximum vCPUs' }).fill('4')
    const topology = wizard.getByRole('combobox', { name: 'Topology (cores per socket)' })
    expect(await topology.locator('option').allTextContents()).toEqual(['4 sockets with 1 core each', '2 sockets with 2 cores each', '1 socket with 4 cores'])
    await topology.selectOption('2')
    await next.click() // memory
    await next.click() // storage
    // the template's provision XML disk is proposed; a full copy of the template's disks can be chosen
    expect(await wizard.getByRole('textbox', { name: 'Disk 1 name' }).inputValue()).toBe('e2e-alpine 0')
    await wizard.getByRole('radio', { name: /Full copy of the template's disks to/ }).check()
    const target = wizard.getByRole('combobox', { name: 'Full copy to storage' })
    const nfs = (await target.getByRole('option').allTextContents()).find((t) => t.startsWith('NFS VM storage'))
    await target.selectOption({ label: nfs ?? '' })
    await next.click() // networking
    await next.click() // finish
    const summary = wizard.getByRole('list', { name: 'What will be created' })
    const lines = (await summary.getByRole('listitem').allTextContents()).map((t) => t.trim())
    expect(lines[0]).toBe("VM 'e2e-alpine' from template 'Alpine Linux 3.20' (full copy of its disks to NFS VM storage)")
    expect(lines.some((l) => /^Disk 1: 'e2e-alpine 0', .+ on .+/.test(l))).toBe(true)
    expect(lines.some((l) => l.includes('(at most 4: 2 sockets with 2 cores each)'))).toBe(true)
    expect(lines).toContain('Starts when created on tiny-host-1')
    expect(lines.some((l) => l.startsWith('Network interface 0: '))).toBe(true)
    await wizard.getByRole('button', { name: 'Create Now' }).click()
    await wizard.waitFor({ state: 'detached', timeout: LONG })
    await treeitem(page, 'e2e-alpine').waitFor({ timeout: LONG })
    await select(page, 'e2e-alpine')
    await page.getByRole('tab', { name: 'Console', exact: true }).click()
    const console = page.getByRole('region', { name: 'Console of e2e-alpine' })
    await expect.poll(() => console.getAttribute('data-state'), { timeout: LONG }).toBe('connected')
    await page.screenshot({ path: '/tmp/prov-new-vm-console.png' })
    expect(h.pageErrors).toEqual([])
  })
})
