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
