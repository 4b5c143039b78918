/**
 * Cross-pool migration end to end (issue 17) in Chromium, browser mode, on the simulator's tiny
 * fleet: tiny-legacy (XenServer 7.2, one server) → tiny-current (XenServer 8, two servers).
 *   - a VM dragged onto a server of the other pool opens the Migrate wizard preset there; a server
 *     XAPI refuses is shown with XAPI's reason; the plan; the VM appears in the destination pool
 *     (its tree row under the destination pool and no longer under the source, its History with
 *     what was done to it in the source pool) and its console connects there;
 *   - three VMs of two pools in one wizard run, one at a time from each pool, a server chosen for
 *     one VM in the plan: the queued one has its Activity row, is cancelled there and stays; the
 *     others arrive (one across pools, one to another server of its own pool);
 *   - Move Storage… (storage motion) with CBT on the disk: XAPI's refusal and the offer to turn CBT
 *     off; an SR without room stops the plan; then the disk moves to another SR of the VM's pool.
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

/** the pool rows (tree level 1) above each row named `name` — the tree shows a search's matches under their pool */
async function poolsOf(page: Page, name: string): Promise<string[]> {
  return servers(page).evaluate((tree, wanted) => {
    const rows = [...tree.querySelectorAll('[role=treeitem]')].sort((a, b) => Number(a.id.replace('tree-row-', '')) - Number(b.id.replace('tree-row-', '')))
    const out: string[] = []
    let pool = ''
    for (const r of rows) {
      if (r.getAttribute('aria-level') === '1') pool = r.getAttribute('aria-label') ?? ''
      if (r.getAttribute('aria-label') === wanted) out.push(pool)
    }
    return out
  }, name)
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
    const host2 = current.hosts.find((x) => x.name === 'tiny-host-2')
    if (!host2) throw new Error('no tiny-host-2')
    // another admin put tiny-host-2 in maintenance: XAPI refuses it as a destination
    await current.call('host.disable', [host2.ref])
    try {
      await dragAndArrive(host2.ref)
    } finally {
      await current.call('host.enable', [host2.ref])
    }
  })

  async function dragAndArrive(host2: string): Promise<void> {
    const { page } = h
    // at 1280x1200 the tiny fleet's tree shows both pools' servers and VMs without scrolling
    await searchbox(page).fill('')
    await page.screenshot({ path: '/tmp/xmig-before-drag.png' })
    await treeitem(page, 'old-web').dragTo(treeitem(page, 'tiny-host-1'))
    const wizard = page.getByRole('dialog', { name: 'Migrate: old-web' })
    await wizard.waitFor({ timeout: LONG })
    expect(await wizard.getByRole('combobox', { name: 'Destination pool' }).inputValue()).toBe(await poolId(h, 'tiny-current'))
    const refused = wizard.getByRole('radio', { name: /tiny-host-2/ })
    await expect.poll(() => refused.isDisabled(), { timeout: LONG }).toBe(true)
    const why = wizard.locator(`[id="why-${host2}"]`)
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
    // the tree follows: old-web's row is under tiny-current, none is left under tiny-legacy
    await find(page, 'old-web')
    await expect.poll(() => poolsOf(page, 'old-web'), { timeout: LONG }).toEqual(['tiny-current'])
    await treeitem(page, 'old-web').first().click()
    // its History: the arrival, and what XenPilot did to it in tiny-legacy before
    await page.getByRole('region', { name: 'Details' }).getByRole('tab', { name: 'History', exact: true }).click()
    const history = page.getByRole('region', { name: 'Details' }).getByRole('tabpanel')
    await history.getByRole('row', { name: 'Migrated here from tiny-legacy old-web' }).waitFor({ timeout: LONG })
    await history.getByRole('region', { name: 'Before it moved, in tiny-legacy' }).getByRole('row', { name: 'Migrate VM to tiny-current old-web' }).waitFor({ timeout: LONG })
    // and its console connects there
    await page.getByRole('tab', { name: 'Console', exact: true }).click()
    const console = page.getByRole('region', { name: 'Console of old-web' })
    await expect.poll(() => console.getAttribute('data-state'), { timeout: LONG }).toBe('connected')
  }

  it('three VMs of two pools in one run, one at a time from each pool, one server chosen in the plan: the queued one is cancelled from its Activity row and stays, the others arrive', async () => {
    const { page } = h
    const host1 = current.hosts.find((x) => x.name === 'tiny-host-1')
    const host2 = current.hosts.find((x) => x.name === 'tiny-host-2')
    const web02 = vmNamed(current, 'web-02')
    if (!host1 || !host2 || !web02) throw new Error('no tiny-host-1/2 or web-02')
    expect(web02[1]['resident_on']).toBe(host2.ref)
    // long enough mirrors that old-win is still waiting when its Cancel is clicked (a busy machine included)
    const state = poolStateOf(legacy)
    if (state) state.opDurationMs = 8000
    // the tiny fleet's rows all fit at 1280x1200: a selection across both pools
    await searchbox(page).fill('')
    await treeitem(page, 'old-db').first().click()
    await treeitem(page, 'old-win').first().click({ modifiers: ['Control'] })
    await treeitem(page, 'web-02').first().click({ modifiers: ['Control'] })
    await page.getByRole('toolbar').getByRole('button', { name: /^Migrate VM/ }).first().click()
    const wizard = page.getByRole('dialog', { name: 'Migrate: 3 VMs' })
    await wizard.waitFor({ timeout: LONG })
    expect(await wizard.getByRole('combobox', { name: 'Destination pool' }).inputValue()).toBe(await poolId(h, 'tiny-current'))
    await expect.poll(() => wizard.textContent()).toContain('From tiny-current (1 VM) and tiny-legacy (2 VMs).')
    await wizard.getByRole('radio', { name: /tiny-host-1/ }).check()
    const next = wizard.getByRole('button', { name: 'Next', exact: true })
    await expect.poll(() => next.isDisabled(), { timeout: LONG }).toBe(false)
    await next.click() // storage
    await next.click() // networking: only the NICs that leave their pool
    await expect.poll(() => wizard.locator('select[aria-label^="Network for interface"]').count()).toBeGreaterThan(0)
    expect(await wizard.locator('select[aria-label$="of web-02"]').count()).toBe(0)
    await next.click() // transfer
    await wizard.getByRole('spinbutton', { name: 'Migrations at once from the source pool' }).fill('1')
    await next.click() // plan
    const plan = wizard.getByRole('region', { name: 'Migration plan' })
    await expect.poll(() => plan.locator('.headline').textContent(), { timeout: LONG }).toMatch(/^3 VMs, /)
    // each VM's server: the common choice, changed for old-db in the plan
    const oldDbServer = plan.getByRole('combobox', { name: 'Server for old-db' })
    expect(await oldDbServer.inputValue()).toBe(host1.ref)
    await oldDbServer.selectOption(host2.ref)
    expect(await plan.getByRole('combobox', { name: 'Server for web-02' }).inputValue()).toBe(host1.ref)
    const go = wizard.getByRole('button', { name: 'Migrate', exact: true })
    await expect.poll(() => go.isDisabled(), { timeout: LONG }).toBe(false)
    await shot(page, 'plan-two-pools')
    await go.click()
    await wizard.waitFor({ state: 'detached', timeout: LONG })
    // old-win waits for old-db (one at a time from tiny-legacy): its row says so, with a Cancel that takes it out of the queue
    const queued = activity(page).getByRole('row', { name: /old-win/ }).first()
    await expect.poll(() => queued.textContent(), { timeout: LONG }).toMatch(/Queued/)
    await queued.getByRole('button', { name: /^Cancel/ }).click()
    await expect.poll(() => queued.getAttribute('data-status'), { timeout: LONG }).toBe('cancelled')
    await shot(page, 'activity')
    if (state) state.opDurationMs = 1500
    await activity(page).getByRole('row', { name: /Migrate VM to tiny-current old-db/ }).and(page.locator('[data-status=success]')).first().waitFor({ timeout: LONG })
    // web-02 moved with its own pool's session, to the server the common choice gave it
    await expect.poll(() => vmNamed(current, 'web-02')?.[1]['resident_on'], { timeout: LONG }).toBe(host1.ref)
    expect(vmNamed(current, 'old-db')?.[1]['resident_on']).toBe(host2.ref)
    expect(vmNamed(legacy, 'old-win')).toBeDefined()
    expect(vmNamed(current, 'old-win')).toBeUndefined()
  })

  it('Move Storage… with CBT on the disk: XAPI refuses and CBT is offered off; an SR without room stops the plan; then the disk moves', async () => {
    const { page } = h
    const found = vmNamed(current, 'build-01')
    if (!found) throw new Error('no build-01')
    const [, rec] = found
    const vbd = (rec['VBDs'] as string[]).map((b) => current.objects.get('VBD')?.get(b)).find((b) => b?.['type'] === 'Disk')
    const vdi = String(vbd?.['VDI'])
    const before = String(current.objects.get('VDI')?.get(vdi)?.['SR'])
    // a backup tool turned changed block tracking on for build-01's disk
    await current.call('VDI.enable_cbt', [vdi])
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
    const plan = wizard.getByRole('region', { name: 'Migration plan' })
    await expect.poll(() => plan.locator('.headline').textContent(), { timeout: LONG }).toMatch(/moved to other storage of this pool/)
    // XAPI's refusal in words, and the offer
    const go = wizard.getByRole('button', { name: 'Move', exact: true })
    await expect.poll(() => plan.textContent(), { timeout: LONG }).toMatch(/Changed block tracking \(CBT\) is on for .+Disable CBT on the disk/)
    expect(await go.isDisabled()).toBe(true)
    const cbt = wizard.getByRole('group', { name: 'Changed block tracking' })
    await shot(page, 'cbt')
    await cbt.getByRole('button', { name: 'Disable changed block tracking on 1 disk' }).click()
    await expect.poll(() => current.objects.get('VDI')?.get(vdi)?.['cbt_enabled'], { timeout: LONG }).toBe(false)
    await expect.poll(() => go.isDisabled(), { timeout: LONG }).toBe(false)
    await expect.poll(() => wizard.getByRole('group', { name: 'Changed block tracking' }).count(), { timeout: LONG }).toBe(0)
    // another client fills the chosen SR: the plan says so and Move waits
    const state = poolStateOf(current)
    const sr = current.objects.get('SR')?.get(other)
    const saved = sr?.['physical_utilisation'] ?? 0
    state?.db.update('SR', other, { physical_utilisation: Number(sr?.['physical_size']) - 1024 })
    await expect.poll(() => plan.textContent(), { timeout: LONG }).toMatch(/does not have room: .+ needed, 1 KiB free/)
    expect(await go.isDisabled()).toBe(true)
    expect(await wizard.getByRole('alert').last().textContent()).toMatch(/does not have room/)
    await shot(page, 'no-room')
    state?.db.update('SR', other, { physical_utilisation: saved })
    await expect.poll(() => go.isDisabled(), { timeout: LONG }).toBe(false)
    await go.click()
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
