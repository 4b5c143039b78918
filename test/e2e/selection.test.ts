/**
 * The selection survives any tree change (issue 15, item 3), end to end in browser mode with
 * Chromium: an object found by search stays selected (and is revealed: ancestors expanded, row in
 * view) when the search is cleared with Esc or emptied, even under a collapsed host; a VM that
 * starts on or migrates to a collapsed host stays selected and is revealed there.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import type { SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'

const LONG = 60_000
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })
const searchbox = (page: Page) => page.getByRole('searchbox', { name: 'Search' })
const heading = (page: Page) => page.getByRole('region', { name: 'Details' }).getByRole('heading', { level: 1 })

function vmRef(pool: SimPoolHandle, name: string): string {
  for (const [ref, r] of pool.objects.get('VM') ?? []) if (r.name_label === name && r.is_a_snapshot !== true && r.is_a_template !== true) return ref
  throw new Error(`no VM ${name} in ${pool.name}`)
}
function hostNameOf(pool: SimPoolHandle, ref: unknown): string {
  return String(pool.objects.get('host')?.get(String(ref))?.name_label)
}

/** collapses a row with the keyboard (select it, ArrowLeft) */
async function collapse(page: Page, name: string): Promise<void> {
  await treeitem(page, name).click()
  await page.keyboard.press('ArrowLeft')
  await expect.poll(() => treeitem(page, name).getAttribute('aria-expanded')).toBe('false')
}

/** selected and on screen, and the details pane shows it */
async function expectSelected(page: Page, name: string): Promise<void> {
  await expect.poll(() => treeitem(page, name).getAttribute('aria-selected'), { timeout: LONG }).toBe('true')
  expect(await treeitem(page, name).isVisible()).toBe(true)
  await expect.poll(() => heading(page).textContent(), { timeout: LONG }).toBe(name)
}

describe('the selection survives tree changes', { timeout: 180_000 }, () => {
  let h: AppHarness | undefined
  let pool: SimPoolHandle
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.62', opDurationMs: 0 }), trustPools: true })
    pool = h.sim.pool('tiny-current')
    await treeitem(h.page, 'web-01').waitFor({ timeout: LONG })
  }, 180_000)
  afterAll(async () => {
    await h?.close()
  })

  it('search → click → Esc (or emptying the search) keeps the object selected and reveals it under a collapsed host', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const host = hostNameOf(pool, pool.objects.get('VM')?.get(vmRef(pool, 'web-01'))?.resident_on)
    await collapse(page, host)
    expect(await treeitem(page, 'web-01').count()).toBe(0)

    await searchbox(page).fill('web-01')
    await treeitem(page, 'web-01').click()
    await expectSelected(page, 'web-01')
    await searchbox(page).press('Escape')
    expect(await searchbox(page).inputValue()).toBe('')
    await expectSelected(page, 'web-01')
    expect(await treeitem(page, host).getAttribute('aria-expanded')).toBe('true')

    // the same with the search emptied (the ✕ of the search box)
    await collapse(page, host)
    await searchbox(page).fill('web-01')
    await treeitem(page, 'web-01').click()
    await searchbox(page).fill('')
    await expectSelected(page, 'web-01')
  })

  it('a VM migrated to a collapsed host, or started on one, stays selected and is revealed there', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const web01 = vmRef(pool, 'web-01')
    const from = String(pool.objects.get('VM')?.get(web01)?.resident_on)
    const to = [...(pool.objects.get('host')?.keys() ?? [])].find((r) => r !== from)
    if (!to) throw new Error('tiny-current has one host')
    await collapse(page, hostNameOf(pool, to))
    await searchbox(page).fill('web-01')
    await treeitem(page, 'web-01').click()
    await searchbox(page).press('Escape')
    await expectSelected(page, 'web-01')

    await pool.call('VM.pool_migrate', [web01, to, {}])
    await expect.poll(() => treeitem(page, hostNameOf(pool, to)).getAttribute('aria-expanded'), { timeout: LONG }).toBe('true')
    await expectSelected(page, 'web-01')

    // Start on a collapsed host: build-01 is halted (under the pool), it starts on `from`
    await collapse(page, hostNameOf(pool, from))
    await searchbox(page).fill('build-01')
    await treeitem(page, 'build-01').click()
    await searchbox(page).press('Escape')
    await expectSelected(page, 'build-01')
    await pool.call('VM.start_on', [vmRef(pool, 'build-01'), from, false, false])
    await expect.poll(() => treeitem(page, hostNameOf(pool, from)).getAttribute('aria-expanded'), { timeout: LONG }).toBe('true')
    await expectSelected(page, 'build-01')
    expect(h.pageErrors).toEqual([])
  })
})
