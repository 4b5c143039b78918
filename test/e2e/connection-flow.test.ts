/**
 * The connection flow as a user meets it in Chromium (issues 12 and 15): Add Server refuses bad
 * addresses with a sentence and keeps focus, a wrong password keeps the dialog open and asks again,
 * an unreachable server says so and stops, a slow server shows its progress and gives up in words,
 * and the keychain's state (wrong passphrase, no passphrase) reads as what it is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { startApp, type AppHarness } from './harness'

async function openAddServer(page: Page) {
  await page.getByRole('button', { name: 'Add Server…' }).first().click()
  const dialog = page.getByRole('dialog', { name: 'Add Server' })
  await dialog.waitFor()
  return dialog
}

const focusInside = (page: Page, name: string) =>
  page.evaluate((title) => {
    const d = [...document.querySelectorAll('[role=dialog]')].find((e) => e.getAttribute('aria-labelledby') && document.getElementById(e.getAttribute('aria-labelledby') ?? '')?.textContent === title)
    return !!d && d.contains(document.activeElement)
  }, name)

describe('Add Server: addresses and focus', () => {
  let h: AppHarness
  beforeAll(async () => {
    h = await startApp({ fleet: 'tiny' })
  })
  afterAll(async () => {
    await h?.close()
  })

  it('refuses “[” and “::::” with a sentence, saves nothing, keeps focus in the dialog, and Esc still closes it', async () => {
    const { page } = h
    for (const bad of ['[', '::::', 'host:70000']) {
      const dialog = await openAddServer(page)
      await dialog.getByLabel('Server', { exact: true }).fill(bad)
      await dialog.getByLabel('Password', { exact: true }).fill('secret')
      await dialog.getByRole('button', { name: 'Connect' }).click()
      const alert = dialog.getByRole('alert').first()
      await alert.waitFor()
      expect(await alert.textContent()).toMatch(/IPv6|port/)
      expect(await alert.textContent()).toMatch(/\.$/)
      expect(await focusInside(page, 'Add Server'), `focus after refusing ${bad}`).toBe(true)
      await page.keyboard.press('Escape')
      await expect.poll(() => page.getByRole('dialog', { name: 'Add Server' }).count()).toBe(0)
    }
    expect(await h.api.call('connections.list', {})).toEqual([])
  })

  it('logged no page error', () => {
    expect(h.pageErrors).toEqual([])
  })
})

describe('a pool that trickles its answer', () => {
  let h: AppHarness
  beforeAll(async () => {
    // the rule shortened to 2 KiB in 2 s so the test is quick (the product's is 4 KiB in 15 s)
    h = await startApp({ fleet: 'tiny', poolOptions: { stall: { minBytes: 2048, windowMs: 2000 } } })
  })
  afterAll(async () => {
    await h?.close()
  })

  it('the tree shows which call is running and the bytes received, then why it gave up; Trust closes at once', async () => {
    const { page } = h
    const p = h.sim.pools[0]
    if (!p) throw new Error('no pool')
    p.injectFault({ kind: 'trickle', bytesPerSecond: 300, method: 'pool.get_all_records' })
    const address = new URL(p.masterUrl).host
    const dialog = await openAddServer(page)
    await dialog.getByLabel('Server', { exact: true }).fill(address)
    await dialog.getByLabel('User name').fill(p.username)
    await dialog.getByLabel('Password', { exact: true }).fill(p.password)
    await dialog.getByRole('button', { name: 'Connect' }).click()
    const trust = page.getByRole('dialog', { name: 'Trust this server certificate?' })
    await trust.getByRole('button', { name: 'Trust' }).click()
    // Trust answers at once: the dialog is gone while the pool is still trickling
    await expect.poll(() => trust.count()).toBe(0)
    const row = page.getByRole('tree').getByRole('treeitem').filter({ hasText: address })
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toMatch(/reading the pool \(pool\.get_all_records\): [\d.]+ (B|KiB) received/)
    await expect.poll(() => row.textContent(), { timeout: 20_000 }).toMatch(/gives up on an answer that moves less than 2 KiB in 2 s/)
    p.clearFaults()
  })

  it('logged no page error', () => {
    expect(h.pageErrors).toEqual([])
  })
})
