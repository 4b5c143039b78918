/**
 * Browser mode as a user meets it: open the printed URL in Chromium → the app loads under its
 * strict CSP, shows the pre-trusted pools connected, and logs no console error. Without the
 * token the page is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppHarness } from './harness'

describe('browser mode in Chromium', () => {
  let h: AppHarness
  beforeAll(async () => {
    h = await startApp({ fleet: 'tiny', trustPools: true })
  })
  afterAll(async () => {
    await h?.close()
  })

  it('loads the app under the strict CSP and shows every pre-trusted pool in the tree', async () => {
    const response = await h.page.reload()
    expect(response?.status()).toBe(200)
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'")
    expect(await h.page.title()).toBe('XenPilot')
    const tree = h.page.getByRole('tree').first()
    await tree.waitFor({ timeout: 30_000 })
    for (const pool of h.sim.pools) await expect.poll(async () => tree.getByText(pool.name, { exact: true }).count(), { timeout: 30_000 }).toBeGreaterThan(0)
  })

  it('follows the OS colour scheme on System, live, and a forced Light/Dark choice over it', async () => {
    const { page } = h
    const theme = () => page.evaluate(() => document.documentElement.dataset.theme)
    const pick = (label: string) => page.getByRole('radio', { name: label, exact: true }).click()
    await pick('System')
    await page.emulateMedia({ colorScheme: 'dark' })
    await expect.poll(theme).toBe('dark')
    await page.emulateMedia({ colorScheme: 'light' })
    await expect.poll(theme).toBe('light')
    await pick('Dark')
    await expect.poll(theme).toBe('dark')
    // the dark palette really applies (one stylesheet block, chosen by the resolved attribute)
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg-app').trim())).toBe('#15191e')
    await pick('System')
    await expect.poll(theme).toBe('light')
  })

  it('logged no console error and no uncaught exception', () => {
    expect(h.pageErrors).toEqual([])
  })

  it('refuses the page without its token', async () => {
    const page = await h.context?.newPage()
    if (!page) throw new Error('no browser context')
    const r = await page.goto(h.url.replace(/\?token=.*/, ''))
    expect(r?.status()).toBe(403)
    await page.close()
  })
})
