/**
 * VM Properties end to end (issue 14) in browser mode with Chromium: the dialog from a VM's context
 * menu; on a halted VM the CPU and memory pages change the VM on the simulator (exactly the changed
 * settings); on a running VM the static settings are disabled and say why, the dynamic range still
 * applies, and memory out of XAPI’s order is refused in words before OK; HA’s “Restart” is refused
 * under the choice for a VM not every server can run. Screenshots at 1024×700
 * and 1920×1080, light and dark.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import type { SimPoolHandle, SimRecord } from '../sim/model'
import { startApp, type AppHarness } from './harness'
import { screens } from './screens'

const LONG = 60_000
const MiB = 1024 ** 2
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })
const searchbox = (page: Page) => page.getByRole('searchbox', { name: 'Search' })

async function select(page: Page, name: string): Promise<void> {
  await searchbox(page).fill(name)
  await treeitem(page, name).first().click()
  await searchbox(page).press('Escape')
}
async function properties(page: Page, name: string) {
  await select(page, name)
  await treeitem(page, name).first().click({ button: 'right' })
  await page.getByRole('menu', { name: 'Actions' }).getByRole('menuitem').filter({ hasText: 'Properties…' }).click()
  const dialog = page.getByRole('dialog', { name: `Properties of ${name}` })
  await dialog.waitFor({ timeout: LONG })
  return dialog
}
function vm(pool: SimPoolHandle, name: string): SimRecord {
  for (const r of pool.objects.get('VM')?.values() ?? []) if (r.name_label === name && r.is_a_template !== true && r.is_a_snapshot !== true) return r
  throw new Error(`no VM ${name}`)
}

describe('VM Properties', { timeout: 300_000 }, () => {
  let h: AppHarness | undefined
  let pool: SimPoolHandle
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.64', opDurationMs: 0 }), trustPools: true })
    pool = h.sim.pool('tiny-current')
    await treeitem(h.page, 'tiny-host-1').waitFor({ timeout: LONG })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it('a halted VM: vCPUs, cores per socket and memory change on the pool; only what changed is counted', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const dialog = await properties(page, 'build-01')
    await expect.poll(() => dialog.getByText('No changes').count()).toBe(1)
    await dialog.getByRole('tab', { name: 'CPU' }).click()
    await dialog.getByRole('spinbutton', { name: 'Maximum vCPUs' }).fill('4')
    await dialog.getByRole('spinbutton', { name: 'vCPUs at startup' }).fill('3')
    // the topology list offers only what fits 4 vCPUs and the servers (tiny's hosts have 16 and 32 logical CPUs per socket)
    const topology = dialog.getByRole('combobox', { name: 'Topology (cores per socket)' })
    expect(await topology.locator('option').allTextContents()).toEqual(['4 sockets with 1 core each', '2 sockets with 2 cores each', '1 socket with 4 cores'])
    await topology.selectOption('2')
    await dialog.getByRole('tab', { name: 'Memory' }).click()
    await dialog.getByRole('spinbutton', { name: 'Static maximum (MiB)' }).fill('4096')
    await dialog.getByRole('spinbutton', { name: 'Dynamic maximum (MiB)' }).fill('4096')
    await dialog.getByRole('spinbutton', { name: 'Dynamic minimum (MiB)' }).fill('3072')
    await expect.poll(() => dialog.getByText('4 settings changed').count()).toBe(1)
    await dialog.getByRole('button', { name: 'OK', exact: true }).click()
    await dialog.waitFor({ state: 'detached', timeout: LONG })
    const r = vm(pool, 'build-01')
    expect(r).toMatchObject({ VCPUs_max: 4, VCPUs_at_startup: 3, memory_static_max: 4096 * MiB, memory_dynamic_min: 3072 * MiB, memory_dynamic_max: 4096 * MiB })
    expect((r.platform as Record<string, string>)['cores-per-socket']).toBe('2')
    expect(h.pageErrors).toEqual([])
  })

  it('High Availability and Start Options: “Restart” is refused under the choice for a VM not every server can run; “Restart if possible” and the start order apply, each saying when', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const ref = [...(pool.objects.get('VM') ?? [])].find(([, r]) => r.name_label === 'legacy-app' && r.is_a_template !== true)?.[0] ?? ''
    // a NIC on a private network (no PIF on any server): the VM is not agile
    const net = String(await pool.call('network.create', [{ name_label: 'lab private', name_description: '', MTU: 1500, other_config: {}, tags: [] }]))
    await pool.call('VIF.create', [{ device: '3', network: net, VM: ref, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [] }])
    const id = (await h.api.call('connections.list', {})).find((c) => c.label === 'tiny-current')?.id ?? ''
    await expect.poll(async () => (await h?.api.call('vm.settings', { connectionId: id, ref }))?.agility, { timeout: LONG }).not.toBe(true)
    const dialog = await properties(page, 'legacy-app')
    await dialog.getByRole('tab', { name: 'High Availability' }).click()
    const restart = dialog.getByRole('radio', { name: /^Restart \(protected/ })
    expect(await restart.isDisabled()).toBe(true)
    const why = "HA guarantees a restart only to a VM every server can run; legacy-app is on the network 'lab private', which not every server has. Choose “Restart if possible” instead."
    expect(await dialog.getByText(why).count()).toBe(1)
    // the reason is the radio's description (a screen reader says it with the choice)
    expect(await page.locator(`#${await restart.getAttribute('aria-describedby')}`).textContent()).toBe(why)
    await dialog.getByRole('radio', { name: 'Restart if possible' }).check()
    expect(await dialog.getByText('Applies now, but HA is off in this pool: XAPI keeps the priority and uses it once HA is turned on.').count()).toBe(1)
    await dialog.getByRole('tab', { name: 'Start Options' }).click()
    await dialog.getByRole('spinbutton', { name: 'Start order' }).fill('2')
    await dialog.getByRole('spinbutton', { name: 'Delay before starting the next VM (seconds)' }).fill('15')
    expect(await dialog.getByText(/^Applies now: XAPI uses them the next time it starts VMs in order/).count()).toBe(1)
    await expect.poll(() => dialog.getByText('3 settings changed').count()).toBe(1)
    await dialog.getByRole('button', { name: 'OK', exact: true }).click()
    await dialog.waitFor({ state: 'detached', timeout: LONG })
    expect(vm(pool, 'legacy-app')).toMatchObject({ ha_restart_priority: 'best-effort', order: 2, start_delay: 15 })
    expect(h.pageErrors).toEqual([])
  })

  it('Boot Options at 1024 px: a refused boot mode’s reason sits under its name, inside the dialog', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const ref = [...(pool.objects.get('VM') ?? [])].find(([, r]) => r.name_label === 'suspended-01' && r.is_a_template !== true)?.[0] ?? ''
    // started once with UEFI (XenCenter then keeps its firmware family: BIOS is refused with a reason)
    await pool.call('VM.hard_shutdown', [ref])
    await pool.call('VM.set_HVM_boot_params', [ref, { order: 'cd', firmware: 'uefi' }])
    await pool.call('VM.start', [ref, false, false])
    await pool.call('VM.hard_shutdown', [ref])
    await page.setViewportSize({ width: 1024, height: 700 })
    const dialog = await properties(page, 'suspended-01')
    await dialog.getByRole('tab', { name: 'Boot Options' }).click()
    const bios = dialog.getByRole('radio', { name: 'BIOS' })
    await expect.poll(() => bios.isDisabled(), { timeout: LONG }).toBe(true)
    const why = page.locator(`#${await bios.getAttribute('aria-describedby')}`)
    expect(await why.textContent()).toBe('suspended-01 has already started with UEFI: the OS installed on it would not boot with BIOS.')
    const label = await dialog.locator('label', { has: page.getByRole('radio', { name: 'BIOS' }) }).boundingBox()
    const note = await why.boundingBox()
    const box = await dialog.boundingBox()
    if (!label || !note || !box) throw new Error('not laid out')
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    // under the radio's line (not squeezed beside its name, as it was), and not wider than the dialog
    expect(note.y).toBeGreaterThanOrEqual(label.y + label.height - 1)
    expect(note.x).toBeGreaterThanOrEqual(label.x)
    expect(note.x + note.width).toBeLessThanOrEqual(box.x + box.width)
    await page.setViewportSize({ width: 1280, height: 800 })
    expect(h.pageErrors).toEqual([])
  })

  it('a running VM: static settings disabled with the reason, the dynamic range applies live, out-of-order memory refused in words', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const dialog = await properties(page, 'web-01')
    await dialog.getByRole('tab', { name: 'CPU' }).click()
    // the values are the VM's own, also those the slim records leave out (platform)
    const cps = (vm(pool, 'web-01').platform as Record<string, string>)['cores-per-socket'] ?? '1'
    expect(await dialog.getByRole('combobox', { name: 'Topology (cores per socket)' }).inputValue()).toBe(cps)
    expect(await dialog.getByRole('spinbutton', { name: 'Maximum vCPUs' }).isDisabled()).toBe(true)
    expect(await dialog.getByText('The maximum number of vCPUs can change only while web-01 is shut down (it is running).').count()).toBe(1)
    await dialog.getByRole('tab', { name: 'Memory' }).click()
    expect(await dialog.getByRole('spinbutton', { name: 'Static maximum (MiB)' }).isDisabled()).toBe(true)
    expect(await dialog.getByText('The static memory limits can change only while web-01 is shut down (it is running).').count()).toBe(1)
    const smax = Number(vm(pool, 'web-01').memory_static_max) / MiB
    // out of order: the dynamic minimum above the maximum
    await dialog.getByRole('spinbutton', { name: 'Dynamic maximum (MiB)' }).fill(String(smax / 2))
    await dialog.getByRole('spinbutton', { name: 'Dynamic minimum (MiB)' }).fill(String(smax))
    await expect.poll(() => dialog.getByRole('alert').first().textContent()).toMatch(/These memory limits are out of order\. Memory must satisfy: static minimum ≤ dynamic minimum ≤ dynamic maximum ≤ static maximum\./)
    expect(await dialog.getByRole('button', { name: 'OK', exact: true }).isDisabled()).toBe(true)
    await dialog.getByRole('spinbutton', { name: 'Dynamic minimum (MiB)' }).fill(String(smax / 4))
    await expect.poll(() => dialog.getByRole('button', { name: 'OK', exact: true }).isDisabled()).toBe(false)
    await dialog.getByRole('tab', { name: 'Boot Options' }).click()
    expect(await dialog.getByText('The boot mode can change only while web-01 is shut down (it is running).').count()).toBe(1)
    // the Memory tab's picture stays at 1024×700 (screens() leaves the page at that size)
    await screens(page, 'props-vm-properties', { width: 1024, height: 700 })
    await dialog.getByRole('tab', { name: 'Memory' }).click()
    await page.screenshot({ path: '/tmp/props-vm-properties-memory-1024.png' })
    await page.setViewportSize({ width: 1280, height: 800 })
    await dialog.getByRole('button', { name: 'OK', exact: true }).click()
    await dialog.waitFor({ state: 'detached', timeout: LONG })
    expect(vm(pool, 'web-01')).toMatchObject({ memory_dynamic_min: (smax / 4) * MiB, memory_dynamic_max: (smax / 2) * MiB, power_state: 'Running' })
    expect(h.pageErrors).toEqual([])
  })
})
