/**
 * Networking where the admin meets it (issue 13), end to end in browser mode with Chromium and the
 * XAPI simulator: a VM's Networking tab (move a NIC to another network, add a NIC to a running VM),
 * a server's NICs tab (link, speed, vendor, PCI path; create and delete a bond; a VLAN tag XAPI
 * would refuse is said before the click), a network's view (its NIC on every server, the per-host
 * mismatch), and the same tabs read-only with "as of" when the pool is offline. Each action shows
 * as one Activity task and one history entry. Screenshots at 1024×700 and 1920×1080, light and dark.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../sim'
import { buildFleet } from '../sim/fleet'
import type { SimControl, SimPoolHandle, SimRecord } from '../sim/model'
import { startApp, type AppHarness } from './harness'
import { screens } from './screens'

const LONG = 60_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })
const activity = (page: Page) => page.getByRole('region', { name: 'Activity' })
/** the details pane's panel of the tab open now (the Activity panel has tabpanels too) */
let shown = ''
const details = (page: Page) => page.getByRole('region', { name: 'Details' })
const panel = (page: Page) => details(page).getByRole('tabpanel', { name: shown, exact: true })

function find(pool: SimPoolHandle, cls: string, pred: (r: SimRecord) => boolean): [string, SimRecord] {
  for (const [ref, r] of pool.objects.get(cls) ?? []) if (pred(r)) return [ref, r]
  throw new Error(`no such ${cls} in ${pool.name}`)
}
const vmNamed = (pool: SimPoolHandle, name: string) => find(pool, 'VM', (r) => r.name_label === name && r.is_a_snapshot !== true && r.is_a_template !== true)
const vifsOf = (pool: SimPoolHandle, vm: string): SimRecord[] => [...(pool.objects.get('VIF')?.values() ?? [])].filter((v) => v.VM === vm)

/** the tree is virtualised: narrow it by search, then select the object and open one of its tabs */
async function open(page: Page, name: string, tab: string): Promise<void> {
  await page.getByRole('searchbox', { name: 'Search' }).fill(name)
  await treeitem(page, name).click()
  await details(page).getByRole('tab', { name: tab, exact: true }).click()
  shown = tab
}

const shots = (page: Page, name: string): Promise<string[]> => screens(page, `network-${name}`, { width: 1400, height: 950 })

describe('networking in the app', { timeout: 240_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-e2e-network-'))
  let sim: SimControl
  let h: AppHarness
  let pool: SimPoolHandle

  beforeAll(async () => {
    sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.99', opDurationMs: 400 }) })
    pool = sim.pool('tiny-current')
    h = await startApp({ sim, trustPools: true, dataDir, env: { XENPILOT_PASSPHRASE: 'network spec' }, viewport: { width: 1400, height: 950 } })
    await h.page.getByTestId('pools-connected').filter({ hasText: '2 of 2 connected' }).waitFor({ timeout: LONG })
  }, 240_000)
  afterAll(async () => {
    await h?.close()
    await sim?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('shows a VM’s NICs with MAC, network, the guest’s addresses, locking, rate limit and state', async () => {
    const { page } = h
    await open(page, 'win-app-01', 'Networking')
    const grid = panel(page).getByRole('grid', { name: 'NICs' })
    const nic1 = grid.getByRole('row', { name: 'NIC 1' })
    await nic1.waitFor({ timeout: LONG })
    const [vm] = vmNamed(pool, 'win-app-01')
    const mac = vifsOf(pool, vm).find((v) => v.device === '1')?.MAC
    await expect.poll(() => nic1.textContent(), { timeout: LONG }).toContain(String(mac))
    const text = await nic1.textContent()
    expect(text).toContain('VLAN 20 (storage)')
    expect(text).toContain('10.1.0.17')
    expect(text).toContain('Connected')
    expect(text).toContain('Default (unlocked)')
    await shots(page, 'vm-tab')
  })

  it('moves a NIC to another network: one Activity task, the VIF on the new network, a history entry', async () => {
    const { page } = h
    await open(page, 'web-01', 'Networking')
    const grid = panel(page).getByRole('grid', { name: 'NICs' })
    await grid.getByRole('row', { name: 'NIC 0' }).click()
    await panel(page).getByRole('button', { name: 'Move…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Move NIC 0 of web-01' })
    await dialog.getByRole('radio', { name: /Pool-wide network associated with eth1/ }).check()
    await shots(page, 'move-dialog')
    await dialog.getByRole('button', { name: 'Move', exact: true }).click()
    await dialog.waitFor({ state: 'detached', timeout: LONG })
    const [vm] = vmNamed(pool, 'web-01')
    const [eth1] = find(pool, 'network', (r) => r.name_label === 'Pool-wide network associated with eth1')
    await expect.poll(() => vifsOf(pool, vm).find((v) => v.device === '0')?.network, { timeout: LONG }).toBe(eth1)
    await expect.poll(() => grid.getByRole('row', { name: 'NIC 0' }).textContent(), { timeout: LONG }).toContain('Pool-wide network associated with eth1')
    const rows = activity(page).getByRole('row', { name: /Move NIC/ })
    await expect.poll(() => rows.count(), { timeout: LONG }).toBe(1)
    await expect.poll(() => rows.first().getAttribute('data-status'), { timeout: LONG }).toBe('success')
    const history = await h.api.call('history.list', { ref: vm })
    expect(history[0]).toMatchObject({ action: 'Move NIC', ok: true, params: { from: 'Pool-wide network associated with eth0', to: 'Pool-wide network associated with eth1' } })
  })

  it('adds a NIC to a running VM: device and MTU from XAPI, plugged at once', async () => {
    const { page } = h
    await open(page, 'web-02', 'Networking')
    const [vm] = vmNamed(pool, 'web-02')
    await panel(page).getByRole('button', { name: 'Add NIC…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Add NIC to web-02' })
    const offered = await dialog.getByRole('combobox').first().locator('option').allTextContents()
    // networks XenCenter hides (the host-internal management network) are not offered
    expect(offered).toContain('Pool-wide network associated with eth2')
    expect(offered).not.toContain('Host internal management network')
    await dialog.getByRole('combobox').first().selectOption({ label: 'Pool-wide network associated with eth2' })
    await expect.poll(() => dialog.textContent()).toContain('web-02 is running: the NIC is connected at once.')
    await dialog.getByRole('button', { name: 'Add', exact: true }).click()
    await dialog.waitFor({ state: 'detached', timeout: LONG })
    await expect.poll(() => vifsOf(pool, vm).find((v) => v.device === '1')?.currently_attached, { timeout: LONG }).toBe(true)
    const row = panel(page).getByRole('grid', { name: 'NICs' }).getByRole('row', { name: 'NIC 1' })
    await expect.poll(() => row.textContent(), { timeout: LONG }).toMatch(/Pool-wide network associated with eth2.*Connected/)
    // create and plug are one action: one Activity row, no stray 'Connect NIC'
    await expect.poll(() => activity(page).getByRole('row', { name: /Add NIC/ }).first().getAttribute('data-status'), { timeout: LONG }).toBe('success')
    expect(await activity(page).getByRole('row', { name: /Add NIC/ }).count()).toBe(1)
    expect(await activity(page).getByRole('row', { name: /Connect NIC/ }).count()).toBe(0)
  })

  it('shows a server’s NICs with link, speed, vendor and PCI path; creates an active-backup bond of NIC 2 and NIC 3, makes it balance-slb and deletes it', async () => {
    const { page } = h
    await open(page, 'tiny-host-1', 'NICs')
    const nics = panel(page).getByRole('grid', { name: 'NICs' })
    const nic0 = nics.getByRole('row', { name: 'NIC 0' })
    // the row comes with the PIF; its speed, vendor and link with PIF_metrics, which may come in a later piece of the sync
    await expect.poll(() => nic0.textContent(), { timeout: LONG }).toMatch(/Management[\s\S]*10 Gbit\/s|10 Gbit\/s[\s\S]*Management/)
    const t = await nic0.textContent()
    expect(t).toContain('10 Gbit/s')
    expect(t).toContain('Intel Corporation')
    expect(t).toContain('0000:3b:00.0')
    expect(t).toContain('Connected')
    await shots(page, 'host-nics')

    await panel(page).getByRole('button', { name: 'Create Bond…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Create bond on tiny-host-1' })
    await dialog.getByRole('checkbox', { name: 'NIC 2' }).check()
    await dialog.getByRole('checkbox', { name: 'NIC 3' }).check()
    await dialog.getByRole('radio', { name: /active-backup/ }).check()
    await shots(page, 'bond-dialog')
    await dialog.getByRole('button', { name: 'Create', exact: true }).click()
    await dialog.waitFor({ state: 'detached', timeout: LONG })
    const bonds = panel(page).getByRole('grid', { name: 'Bonds' })
    const bondRow = bonds.getByRole('row', { name: 'Bond 2+3' })
    await expect.poll(() => bondRow.textContent(), { timeout: LONG }).toContain('active-backup')
    expect(await bondRow.textContent()).toContain('(active)')
    const host1 = pool.hosts[0]?.ref
    expect([...(pool.objects.get('Bond')?.values() ?? [])].some((b) => b.mode === 'active-backup')).toBe(true)
    await expect.poll(() => nics.getByRole('row', { name: 'NIC 2' }).textContent(), { timeout: LONG }).toContain('in Bond 2+3')
    const created = activity(page).getByRole('row', { name: /Create bond/ })
    await expect.poll(() => created.first().getAttribute('data-status'), { timeout: LONG }).toBe('success')
    expect(await created.count()).toBe(1)

    // its mode changes in place (Bond.set_mode)
    await bondRow.click()
    await panel(page).getByRole('button', { name: 'Bond Mode…' }).click()
    const modeDialog = page.getByRole('dialog', { name: 'Mode of Bond 2+3' })
    await modeDialog.getByRole('radio', { name: /balance-slb/ }).check()
    await modeDialog.getByRole('button', { name: 'Change' }).click()
    await modeDialog.waitFor({ state: 'detached', timeout: LONG })
    await expect.poll(() => bondRow.textContent(), { timeout: LONG }).toContain('balance-slb')
    expect([...(pool.objects.get('Bond')?.values() ?? [])].some((b) => b.mode === 'balance-slb')).toBe(true)

    await bondRow.click()
    await panel(page).getByRole('button', { name: 'Delete Bond' }).click()
    const confirm = page.getByRole('dialog', { name: 'Delete bond' })
    await confirm.getByRole('button', { name: 'Delete bond' }).click()
    await expect.poll(() => bonds.getByRole('row', { name: 'Bond 2+3' }).count(), { timeout: LONG }).toBe(0)
    expect([...(pool.objects.get('Bond')?.values() ?? [])].some((b) => pool.objects.get('PIF')?.get(String(b.master))?.host === host1)).toBe(false)
    await expect.poll(async () => (await h.api.call('history.list', { ref: host1 })).slice(0, 3).map((e) => e.action), { timeout: LONG }).toEqual(['Delete bond', 'Change bond mode', 'Create bond'])
  })

  it('says why a VLAN cannot be made before the click (a tag XAPI refuses, a tag the NIC already has)', async () => {
    const { page } = h
    await open(page, 'tiny-host-1', 'NICs')
    await panel(page).getByRole('grid', { name: 'NICs' }).getByRole('row', { name: 'NIC 1' }).click()
    await panel(page).getByRole('button', { name: 'Create VLAN…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Create VLAN from tiny-host-1' })
    const create = dialog.getByRole('button', { name: 'Create', exact: true })
    await dialog.getByRole('spinbutton', { name: 'VLAN tag' }).fill('5000')
    await expect.poll(() => dialog.textContent()).toContain('5000 is not a VLAN tag: it must be between 0 and 4094')
    expect(await create.isDisabled()).toBe(true)
    await dialog.getByRole('spinbutton', { name: 'VLAN tag' }).fill('20')
    await expect.poll(() => dialog.textContent()).toContain('already has VLAN 20')
    expect(await create.isDisabled()).toBe(true)
    await dialog.getByRole('spinbutton', { name: 'VLAN tag' }).fill('30')
    await expect.poll(() => dialog.textContent()).toContain('On tiny-host-1, tiny-host-2')
    expect(await create.isDisabled()).toBe(false)
    await dialog.getByRole('button', { name: 'Cancel' }).click()
  })

  it('rescans a server’s NICs and says what it found', async () => {
    const { page } = h
    await open(page, 'tiny-host-2', 'NICs')
    await panel(page).getByRole('button', { name: 'Rescan' }).click()
    await expect.poll(() => panel(page).getByRole('status').filter({ hasText: 'NIC' }).textContent(), { timeout: LONG }).toContain('No new NICs found.')
  })

  it('keyboard: arrows select a NIC, Delete asks to remove it, Esc closes the question', async () => {
    const { page } = h
    await open(page, 'db-01', 'Networking')
    const grid = panel(page).getByRole('grid', { name: 'NICs' })
    await grid.getByRole('row', { name: 'NIC 0' }).waitFor({ timeout: LONG })
    await grid.focus()
    await page.keyboard.press('ArrowDown')
    expect(await grid.getByRole('row', { name: 'NIC 0' }).getAttribute('aria-selected')).toBe('true')
    await page.keyboard.press('Delete')
    const confirm = page.getByRole('dialog', { name: 'Remove NIC' })
    await confirm.waitFor({ timeout: LONG })
    expect(await confirm.textContent()).toContain('from db-01')
    await page.keyboard.press('Escape')
    await confirm.waitFor({ state: 'detached', timeout: LONG })
    const [vm] = vmNamed(pool, 'db-01')
    expect(vifsOf(pool, vm)).toHaveLength(1)
  })

  it('XAPI’s refusal in words, its code and parameters under Details (a change made behind XenPilot’s back)', async () => {
    const { page } = h
    // another client made a VLAN on tiny-host-2 and its management interface (the last step without an event to XenPilot)
    const net = await pool.call('network.create', [{ name_label: 'Mgmt VLAN 33', name_description: '', MTU: 1500, other_config: {} }])
    const eth2 = find(pool, 'PIF', (r) => r.host === pool.hosts[1]?.ref && r.device === 'eth2' && r.VLAN === -1)[0]
    await pool.call('VLAN.create', [eth2, 33, net])
    const [untagged, rec] = find(pool, 'PIF', (r) => r.host === pool.hosts[1]?.ref && r.VLAN === 33)
    await open(page, 'tiny-host-2', 'NICs')
    await panel(page).getByRole('grid', { name: 'VLANs' }).getByRole('row', { name: 'VLAN 33 on NIC 2' }).click()
    rec.management = true
    try {
      await panel(page).getByRole('button', { name: 'Delete VLAN' }).click()
      await page.getByRole('dialog', { name: 'Delete VLAN' }).getByRole('button', { name: 'Delete VLAN' }).click()
      const alert = panel(page).getByRole('alert')
      await expect.poll(() => alert.textContent(), { timeout: LONG }).toContain("VLAN 33 on NIC 2 on tiny-host-2 is the server's management interface, so XAPI will not take it down.")
      await alert.getByRole('button', { name: 'Details' }).click()
      expect(await alert.getByTestId('error-details').textContent()).toBe(`PIF_IS_MANAGEMENT_INTERFACE${untagged}`)
      await shots(page, 'xapi-refusal')
      await expect.poll(async () => (await h.api.call('history.list', { ref: pool.hosts[1]?.ref }))[0], { timeout: LONG }).toMatchObject({ action: 'Delete VLAN', ok: false, errorCode: 'PIF_IS_MANAGEMENT_INTERFACE' })
    } finally {
      rec.management = false
    }
  })

  it('a network’s view: its NIC on every server, and where one has none (the per-host mismatch)', async () => {
    const { page } = h
    // a network only tiny-host-2 carries, made behind XenPilot's back as another client could
    const net = await pool.call('network.create', [{ name_label: 'Only on host 2', name_description: '', MTU: 1500, other_config: {} }])
    const eth1 = find(pool, 'PIF', (r) => r.host === pool.hosts[1]?.ref && r.device === 'eth1' && r.VLAN === -1)[0]
    await pool.call('VLAN.create', [eth1, 77, net])
    await open(page, 'Only on host 2', 'Network')
    const hosts = panel(page).getByRole('table', { name: 'Servers' })
    await expect.poll(() => hosts.getByRole('row', { name: 'tiny-host-1' }).textContent(), { timeout: LONG }).toContain('No NIC on this network')
    expect(await hosts.getByRole('row', { name: 'tiny-host-2' }).textContent()).toContain('VLAN 77 on NIC 1')
    await expect.poll(() => panel(page).textContent()).toContain('missing on tiny-host-1')
    await shots(page, 'network-view')

    // its MTU is an action: one Activity task, and the network's History tab lists it
    await panel(page).getByRole('button', { name: 'MTU…' }).click()
    const dialog = page.getByRole('dialog', { name: 'MTU of Only on host 2' })
    await dialog.getByRole('spinbutton', { name: 'MTU' }).fill('9000')
    await dialog.getByRole('button', { name: 'Save' }).click()
    await dialog.waitFor({ state: 'detached', timeout: LONG })
    await expect.poll(() => pool.objects.get('network')?.get(String(net))?.MTU, { timeout: LONG }).toBe(9000)
    await expect.poll(() => panel(page).textContent(), { timeout: LONG }).toContain('9000')
    await details(page).getByRole('tab', { name: 'History', exact: true }).click()
    shown = 'History'
    await expect.poll(() => panel(page).textContent(), { timeout: LONG }).toContain('Change MTU')
  })

  it('the Networking and NICs tabs of an offline pool: read-only, "as of" its last sync', async () => {
    const { page, api } = h
    const id = (await api.call('connections.list', {})).find((c) => c.label === 'tiny-current')?.id ?? ''
    await open(page, 'win-app-01', 'Networking')
    await panel(page).getByRole('grid', { name: 'NICs' }).getByRole('row', { name: 'NIC 1' }).waitFor({ timeout: LONG })
    await api.call('connections.disconnect', { id })
    const notice = panel(page).getByRole('status').filter({ hasText: 'Read-only' })
    await expect.poll(() => notice.textContent(), { timeout: LONG }).toMatch(/tiny-current is offline since \d{1,2}[:.]\d{2}\. Reconnect to change its NICs\./)
    // the details pane says as of when the data is (the last update received)
    expect(await details(page).getByRole('status', { name: 'Offline' }).textContent()).toMatch(/Offline — as of \d{1,2}[:.]\d{2}/)
    expect(await panel(page).getByRole('grid', { name: 'NICs' }).getByRole('row', { name: 'NIC 1' }).textContent()).toContain('VLAN 20 (storage)')
    for (const b of ['Add NIC…', 'Remove']) expect(await panel(page).getByRole('button', { name: b }).isDisabled()).toBe(true)
    await shots(page, 'vm-offline')

    await open(page, 'tiny-host-2', 'NICs')
    await expect.poll(() => panel(page).getByRole('grid', { name: 'NICs' }).getByRole('row', { name: 'NIC 0' }).textContent(), { timeout: LONG }).toContain('10 Gbit/s')
    expect(await panel(page).getByRole('status').filter({ hasText: 'Read-only' }).textContent()).toMatch(/Reconnect to change its NICs/)
    for (const b of ['Rescan', 'Create Bond…', 'Create VLAN…']) expect(await panel(page).getByRole('button', { name: b }).isDisabled()).toBe(true)
    await shots(page, 'host-offline')
    await api.call('connections.connect', { id })
  })

  it('had no page errors', () => {
    expect(h.pageErrors).toEqual([])
  })
})
