/**
 * The Certificates tab end to end (issue 18): browser mode + simulator (tiny fleet) + Chromium. The
 * pools are pre-trusted as `npm run demo` does, so every pin says it came from the demo seed — shown
 * as such next to the certificate's subject, issuer, validity and SHA-256 fingerprint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'
import { screens } from './screens'

let h: AppHarness
let pool: SimPoolHandle

beforeAll(async () => {
  h = await startApp({ fleet: 'tiny', trustPools: true, viewport: { width: 1024, height: 700 } })
  const p = h.sim.pools.find((x) => x.hosts.length > 1)
  if (!p) throw new Error('the tiny fleet has a pool with two hosts')
  pool = p
  await h.page.getByRole('tree', { name: 'Servers' }).getByRole('treeitem', { name: pool.name, exact: true }).first().waitFor({ timeout: 120_000 })
}, 180_000)
afterAll(async () => {
  await h?.close()
})

async function select(name: string): Promise<void> {
  const search = h.page.getByRole('searchbox', { name: 'Search' })
  await search.fill(name)
  await h.page.getByRole('tree', { name: 'Servers' }).getByRole('treeitem', { name, exact: true }).first().click()
  await search.fill('')
}

describe('Certificates tab', () => {
  it("a pool's tab shows every server's pinned certificate and that the demo seeded it", async () => {
    const { page } = h
    await select(pool.name)
    await page.getByRole('tab', { name: 'Certificates' }).click()
    const master = pool.hosts[0]
    if (!master) throw new Error('no master')
    const card = page.getByRole('region', { name: `Certificate of ${master.name} (master)` })
    await card.waitFor({ timeout: 60_000 })
    const text = (await card.textContent()) ?? ''
    expect(text.replace(/\s+/g, '')).toContain(master.fingerprint256)
    expect(await card.getByTestId('pin-source').textContent()).toBe('demo')
    expect(text).toMatch(/Seeded by the demo \(npm run demo\)/)
    expect(text).toMatch(/nobody reviewed it/)
    expect(text).toMatch(/Subject.*CN=/)
    expect(text).toMatch(/Issuer/)
    expect(text).toMatch(/Valid.*days left/)
    // every server of the pool has its card, master first
    for (const host of pool.hosts) await page.getByRole('region', { name: new RegExp(`^Certificate of ${host.name}`) }).waitFor()
    const names = await page.getByRole('region', { name: /^Certificate of / }).evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')))
    expect(names[0]).toBe(`Certificate of ${master.name} (master)`)
    expect(names).toHaveLength(pool.hosts.length)
    await screens(page, 'certificates-pool', { width: 1024, height: 700 })
  })

  it("a server's tab shows that server's certificate only", async () => {
    const { page } = h
    const member = pool.hosts[1]
    if (!member) throw new Error('no member')
    await select(member.name)
    await page.getByRole('tab', { name: 'Certificates' }).click()
    const card = page.getByRole('region', { name: `Certificate of ${member.name}` })
    await card.waitFor({ timeout: 60_000 })
    expect(((await card.textContent()) ?? '').replace(/\s+/g, '')).toContain(member.fingerprint256)
    expect(await page.getByRole('region', { name: /^Certificate of / }).count()).toBe(1)
    expect(h.pageErrors).toEqual([])
  })
})
