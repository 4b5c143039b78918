/**
 * Cross-pool migration end to end (issue 17) in Chromium, browser mode, on the simulator's tiny
 * fleet: tiny-legacy (XenServer 7.2, one server) → tiny-current (XenServer 8, two servers).
 *   - a VM dragged onto a server of the other pool opens the Migrate wizard preset there; a server
 *     XAPI refuses is shown with XAPI's reason; the plan; the VM appears in the destination pool
 *     (tree, simulator) and its console connects there;
 *   - two VMs with one at a time from the source: the second has its Activity row while queued,
 *     is cancelled there and stays; the first arrives;
 *   - Move Storage… (storage motion) moves a disk to another SR of the VM's pool.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { poolStateOf } from '../sim'
import { buildFleet } from '../sim/fleet'
import type { SimPoolHandle, SimRecord } from '../sim/model'
import { startApp, type AppHarness } from './harness'

const LONG = 60_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })
const searchbox = (page: Page) => page.getByRole('searchbox', { name: 'Search' })
const activity = (page: Page) => page.getByRole('region', { name: 'Activity' })

function vmNamed(pool: SimPoolHandle, name: string): [string, SimRecord] | undefined {
  for (const [ref, r] of pool.objects.get('VM') ?? []) if (r['name_label'] === name && r['is_a_snapshot'] !== true && r['is_a_template'] !== true) return [ref, r]
  return undefined
}

async function find(page: Page, name: string): Promise<void> {
  await searchbox(page).fill(name)
  await treeitem(page, name).first().waitFor({ timeout: LONG })
}

describe('Migrate wizard', { timeout: 300_000 }, () => {
  let h: AppHarness
  let legacy: SimPoolHandle
  let current: SimPoolHandle
  const shots: string[] = []
  async function shot(page: Page, name: string): Promise<void> {
    for (const [w, hgt] of [
      [1024, 700],
      [1920, 1080],
    ] as const) {
      for (const scheme of ['light', 'dark'] as const) {
        await page.setViewportSize({ width: w, height: hgt })
        await page.emulateMedia({ colorScheme: scheme })
        const path = `/tmp/xmig-${name}-${w}-${scheme}.png`
        await page.screenshot({ path })
        shots.push(path)
      }
    }
    await page.setViewportSize({ width: 1280, height: 1200 })
    await page.emulateMedia({ colorScheme: 'light' })
  }

  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.71', opDurationMs: 1500 }), trustPools: true, viewport: { width: 1280, height: 1200 } })
    legacy = h.sim.pool('tiny-legacy')
    current = h.sim.pool('tiny-current')
    await treeitem(h.page, 'tiny-host-1').waitFor({ timeout: LONG })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it('drags a VM onto a server of another pool: a refused server says why, the plan, the VM arrives in the destination with its console', async () => {
    const { page } = h
    const host2 = current.hosts.find((x) => x.name === 'tiny-host-2')
    if (!host2) throw new Error('no tiny-host-2')
    // another admin put tiny-host-2 in maintenance: XAPI refuses it as a destination
    await current.call('host.disable', [host2.ref])
    // at 1280x1200 the tiny fleet's tree shows both pools' servers and VMs without scrolling
    await searchbox(page).fill('')
    await page.screenshot({ path: '/tmp/xmig-before-drag.png' })
    await treeitem(page, 'old-web').dragTo(treeitem(page, 'tiny-host-1'))
    const wizard = page.getByRole('dialog', { name: 'Migrate: old-web' })
    await wizard.waitFor({ timeout: LONG })
    expect(await wizard.getByRole('combobox', { name: 'Destination pool' }).inputValue()).toBe(await poolId(h, 'tiny-current'))
    const refused = wizard.getByRole('radio', { name: /tiny-host-2/ })
    await expect.poll(() => refused.isDisabled(), { timeout: LONG }).toBe(true)
    const why = wizard.locator(`[id="why-${host2.ref}"]`)
    await expect.poll(() => why.textContent(), { timeout: LONG }).toMatch(/server is disabled/i)
    expect(await wizard.getByRole('radio', { name: /tiny-host-1/ }).isChecked()).toBe(true)
    await shot(page, 'destination')
    const next = wizard.getByRole('button', { name: 'Next', exact: true })
    await next.click() // storage
    await page.screenshot({ path: '/tmp/xmig-storage-step.png' })
    await expect.poll(() => wizard.locator('select[aria-label^="Storage for"]').count()).toBeGreaterThan(0)
    await next.click() // networking
    await expect.poll(() => wizard.locator('select[aria-label^="Network for interface"]').count()).toBeGreaterThan(0)
    await next.click() // transfer
    await next.click() // plan
    const plan = wizard.getByRole('region', { name: 'Migration plan' })
    await expect.poll(() => plan.locator('.headline').textContent(), { timeout: LONG }).toMatch(/^1 VM, .+ of disks, moved to pool tiny-current$/)
    await expect.poll(() => plan.textContent(), { timeout: LONG }).toMatch(/has room/)
    const go = wizard.getByRole('button', { name: 'Migrate', exact: true })
    await expect.poll(() => go.isDisabled(), { timeout: LONG }).toBe(false)
    await shot(page, 'plan')
    await go.click()
    await wizard.waitFor({ state: 'detached', timeout: LONG })
    await activity(page).getByRole('row', { name: /Migrate VM to tiny-current old-web/ }).and(page.locator('[data-status=success]')).first().waitFor({ timeout: LONG })
    await expect.poll(() => vmNamed(current, 'old-web') !== undefined, { timeout: LONG }).toBe(true)
    expect(vmNamed(legacy, 'old-web')).toBeUndefined()
    // the tree follows: old-web is now under tiny-current's server, and its console connects there
    await find(page, 'old-web')
    await treeitem(page, 'old-web').first().click()
    await page.getByRole('tab', { name: 'Console', exact: true }).click()
    const console = page.getByRole('region', { name: 'Console of old-web' })
    await expect.poll(() => console.getAttribute('data-state'), { timeout: LONG }).toBe('connected')
    await current.call('host.enable', [host2.ref])
  })

  it('two VMs with one at a time from the source: the second is queued with its own Activity row, cancelled there, and stays', async () => {
    const { page } = h
    // long enough mirrors that old-win is still waiting when its Cancel is clicked (a busy machine included)
    const state = poolStateOf(legacy)
    if (state) state.opDurationMs = 8000
    await searchbox(page).fill('old-')
    await treeitem(page, 'old-db').first().click()
    await treeitem(page, 'old-win').first().click({ modifiers: ['Control'] })
    await page.getByRole('toolbar').getByRole('button', { name: /^Migrate VM/ }).first().click()
    const wizard = page.getByRole('dialog', { name: 'Migrate: 2 VMs' })
    await wizard.waitFor({ timeout: LONG })
    await wizard.getByRole('radio', { name: /tiny-host-1/ }).check()
    const next = wizard.getByRole('button', { name: 'Next', exact: true })
    await expect.poll(() => next.isDisabled(), { timeout: LONG }).toBe(false)
    await next.click() // storage
    await next.click() // networking
    await next.click() // transfer
    await wizard.getByRole('spinbutton', { name: 'Migrations at once from the source pool' }).fill('1')
    await next.click() // plan
    await expect.poll(() => wizard.getByRole('region', { name: 'Migration plan' }).locator('.headline').textContent(), { timeout: LONG }).toMatch(/^2 VMs, /)
    const go = wizard.getByRole('button', { name: 'Migrate', exact: true })
    await expect.poll(() => go.isDisabled(), { timeout: LONG }).toBe(false)
    await go.click()
    await wizard.waitFor({ state: 'detached', timeout: LONG })
    // old-win waits for old-db: its row says so, with a Cancel that takes it out of the queue
    const queued = activity(page).getByRole('row', { name: /old-win/ }).first()
    await expect.poll(() => queued.textContent(), { timeout: LONG }).toMatch(/Queued/)
    await queued.getByRole('button', { name: /^Cancel/ }).click()
    await expect.poll(() => queued.getAttribute('data-status'), { timeout: LONG }).toBe('cancelled')
    await shot(page, 'activity')
    if (state) state.opDurationMs = 1500
    await activity(page).getByRole('row', { name: /Migrate VM to tiny-current old-db/ }).and(page.locator('[data-status=success]')).first().waitFor({ timeout: LONG })
    expect(vmNamed(current, 'old-db')).toBeDefined()
    expect(vmNamed(legacy, 'old-win')).toBeDefined()
    expect(vmNamed(current, 'old-win')).toBeUndefined()
  })

  it('Move Storage… moves a disk of a VM to another SR of its pool', async () => {
    const { page } = h
    const found = vmNamed(current, 'build-01')
    if (!found) throw new Error('no build-01')
    const [, rec] = found
    const vbd = (rec['VBDs'] as string[]).map((b) => current.objects.get('VBD')?.get(b)).find((b) => b?.['type'] === 'Disk')
    const vdi = String(vbd?.['VDI'])
    const before = String(current.objects.get('VDI')?.get(vdi)?.['SR'])
    await find(page, 'build-01')
    await treeitem(page, 'build-01').first().click({ button: 'right' })
    await page.getByRole('menu', { name: 'Actions' }).getByRole('menuitem').filter({ has: page.getByText('Move Storage…', { exact: true }) }).click()
    const wizard = page.getByRole('dialog', { name: 'Move Storage: build-01' })
    await wizard.waitFor({ timeout: LONG })
    const select = wizard.locator('select[aria-label^="Storage for"]').first()
    const options = await select.locator('option:not([disabled])').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))
    const other = options.find((o) => o !== before)
    if (!other) throw new Error('no other SR')
    await select.selectOption(other)
    await wizard.getByRole('button', { name: 'Next', exact: true }).click()
    await expect.poll(() => wizard.getByRole('region', { name: 'Migration plan' }).locator('.headline').textContent(), { timeout: LONG }).toMatch(/moved to other storage of this pool/)
    await wizard.getByRole('button', { name: 'Move', exact: true }).click()
    await wizard.waitFor({ state: 'detached', timeout: LONG })
    await expect
      .poll(() => {
        const now = vmNamed(current, 'build-01')?.[1]
        const d = (now?.['VBDs'] as string[] | undefined)?.map((b) => current.objects.get('VBD')?.get(b)).find((b) => b?.['type'] === 'Disk')
        return String(current.objects.get('VDI')?.get(String(d?.['VDI']))?.['SR'])
      }, { timeout: LONG })
      .toBe(other)
    expect(h.pageErrors).toEqual([])
    console.log(`screenshots: ${shots.join(' ')}`)
  })
})

async function poolId(h: AppHarness, label: string): Promise<string> {
  const list = await h.api.call('connections.list', {})
  return list.find((c) => c.label === label)?.id ?? ''
}
