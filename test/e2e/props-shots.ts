/**
 * Screenshots of every VM Properties page and every New VM wizard step (issue 14) at 1024×700 and
 * 1920×1080, light and dark, to look at: `npx tsx test/e2e/props-shots.ts [OUTDIR]`
 * (default /tmp/xenpilot-props-shots). Properties are shown for a halted VM that has booted UEFI
 * (BIOS is then refused with its reason under the radio) and that has a NIC on a private network
 * (HA's "Restart" is refused with its reason), so the reasons under choices are in the pictures.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Locator, Page } from 'playwright-core'
import { buildFleet } from '../sim/fleet'
import type { SimRecord } from '../sim/model'
import { selectInTree, serversTree, startApp } from './harness'

const out = process.argv[2] ?? '/tmp/xenpilot-props-shots'
mkdirSync(out, { recursive: true })
const LONG = 60_000
const SIZES = [
  [1024, 700],
  [1920, 1080],
] as const

async function shoot(page: Page, name: string): Promise<void> {
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height })
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      await page.waitForTimeout(150)
      const file = join(out, `${name}-${width}x${height}-${scheme}.png`)
      await page.screenshot({ path: file })
      console.log(file)
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 })
  await page.emulateMedia({ colorScheme: 'light' })
}

const h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.71', opDurationMs: 0 }), trustPools: true })
try {
  const { page } = h
  const pool = h.sim.pool('tiny-current')
  const vms = [...(pool.objects.get('VM') ?? new Map<string, SimRecord>())]
  const build = vms.find(([, r]) => r.name_label === 'build-01' && r.is_a_template !== true)?.[0]
  if (!build) throw new Error('no build-01')
  // build-01 has booted UEFI once (XenCenter then keeps its firmware family) and has a NIC on a private network
  await pool.call('VM.set_HVM_boot_params', [build, { order: 'cd', firmware: 'uefi' }])
  await pool.call('VM.start', [build, false, false])
  await pool.call('VM.hard_shutdown', [build])
  const net = String(await pool.call('network.create', [{ name_label: 'lab private', name_description: '', MTU: 1500, other_config: {}, tags: [] }]))
  await pool.call('VIF.create', [{ device: '3', network: net, VM: build, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [] }])
  await page.setViewportSize({ width: 1280, height: 800 })
  await serversTree(page).getByRole('treeitem', { name: 'tiny-host-1', exact: true }).waitFor({ timeout: LONG })

  // VM Properties: every page
  await selectInTree(page, 'build-01')
  await serversTree(page).getByRole('treeitem', { name: 'build-01', exact: true }).first().click({ button: 'right' })
  await page.getByRole('menu', { name: 'Actions' }).getByRole('menuitem').filter({ hasText: 'Properties…' }).click()
  const dialog = page.getByRole('dialog', { name: 'Properties of build-01' })
  await dialog.waitFor({ timeout: LONG })
  const tabs: Locator = dialog.getByRole('tab')
  for (const label of await tabs.allTextContents()) {
    const name = label.trim()
    await dialog.getByRole('tab', { name, exact: true }).click()
    await shoot(page, `props-${name.toLowerCase().replace(/[^a-z]+/g, '-')}`)
  }
  await dialog.getByRole('button', { name: 'Cancel' }).click()

  // the New VM wizard: every step, from Ctrl+N on a server
  await selectInTree(page, 'tiny-host-1')
  await serversTree(page).getByRole('treeitem', { name: 'tiny-host-1', exact: true }).first().click()
  await page.keyboard.press('Control+n')
  const wizard = page.getByRole('dialog', { name: 'New VM' })
  await wizard.waitFor({ timeout: LONG })
  const next = wizard.getByRole('button', { name: 'Next', exact: true })
  await wizard.getByRole('searchbox', { name: 'Search templates' }).fill('alpine')
  await wizard.getByRole('radio', { name: 'Alpine Linux 3.20' }).check()
  await shoot(page, 'wizard-1-template')
  await next.click()
  await wizard.getByRole('textbox', { name: 'Name' }).fill('shots-alpine')
  await shoot(page, 'wizard-2-name')
  await next.click()
  await wizard.getByRole('combobox', { name: 'ISO image' }).selectOption({ label: 'debian-12.7.0-amd64-netinst.iso' })
  await shoot(page, 'wizard-3-install')
  await next.click()
  await wizard.getByRole('radio', { name: /tiny-host-1/ }).check()
  await shoot(page, 'wizard-4-home')
  for (const [i, step] of ['cpu', 'memory', 'storage', 'networking', 'finish'].entries()) {
    await next.click()
    await shoot(page, `wizard-${i + 5}-${step}`)
  }
  await wizard.getByRole('button', { name: 'Cancel' }).click()
  if (h.pageErrors.length > 0) console.log('page errors:', h.pageErrors)
} finally {
  await h.close()
}
