/**
 * The Alerts view (issue 15, item 11), end to end in browser mode with Chromium: routine lifecycle
 * notices kept out of the badge and hidden until asked; filters by severity, pool, object and time;
 * sortable columns; an alert's full text beside the list; "Go to" its object in the tree; dismissal
 * of one alert, of the checked ones and of all of one pool — each dismissal of more than one first
 * says how many and of which pool, and touches nothing else (the simulator's tables are checked).
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import type { SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'

const LONG = 60_000
const ROUTINE = new Set(['VM_STARTED', 'VM_SHUTDOWN', 'VM_REBOOTED', 'VM_SUSPENDED', 'VM_RESUMED', 'VM_CLONED', 'VM_SNAPSHOTTED', 'VM_CHECKPOINTED', 'VM_MIGRATED'])
const panel = (page: Page) => page.getByRole('region', { name: 'Activity' })
const table = (page: Page) => panel(page).getByRole('table', { name: 'Alerts' })
const rows = (page: Page) => table(page).locator('tbody tr')
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })

function messages(pool: SimPoolHandle): { ref: string; name: string; priority: number }[] {
  return [...(pool.objects.get('message') ?? new Map())].map(([ref, m]) => ({ ref, name: String(m.name), priority: Number(m.priority) }))
}
const notRoutine = (pool: SimPoolHandle) => messages(pool).filter((m) => !(m.priority >= 5 && ROUTINE.has(m.name)))
function uuidOf(pool: SimPoolHandle, cls: string, name: string): string {
  for (const r of pool.objects.get(cls)?.values() ?? []) if (r.name_label === name) return String(r.uuid)
  throw new Error(`no ${cls} ${name}`)
}

describe('alerts view', { timeout: 300_000 }, () => {
  let h: AppHarness | undefined
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.74', opDurationMs: 0 }), trustPools: true })
    const cur = h.sim.pool('tiny-current')
    const legacy = h.sim.pool('tiny-legacy')
    // several priorities in both pools, one critical about an SR, one multi-line body
    await cur.call('message.create', ['SR_BACKEND_FAILURE_PBD_PLUG', 1, 'VM', uuidOf(cur, 'VM', 'db-01'), 'Error code: SR_BACKEND_FAILURE_73\nNFS mount error [opterr=mount failed with return code 32]'])
    await cur.call('message.create', ['LICENSE_EXPIRES_SOON', 2, 'Host', uuidOf(cur, 'host', 'tiny-host-2'), 'The license for this host expires in 14 days'])
    for (const n of [1, 2, 3]) await legacy.call('message.create', ['HOST_CLOCK_SKEW_DETECTED', 3, 'Host', uuidOf(legacy, 'host', 'tiny-xs72'), `The clock has drifted (${n})`])
    await servers(h.page).getByRole('treeitem', { name: 'db-01', exact: true }).waitFor({ timeout: LONG })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it('the badge counts only alerts that are not routine; the list hides routine notices until asked, filters and sorts', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const cur = h.sim.pool('tiny-current')
    const legacy = h.sim.pool('tiny-legacy')
    const problems = notRoutine(cur).length + notRoutine(legacy).length
    const everything = messages(cur).length + messages(legacy).length
    expect(everything).toBeGreaterThan(problems)
    await expect.poll(() => page.getByTestId('alerts-count').textContent(), { timeout: LONG }).toBe(`Alerts: ${problems}`)
    await page.getByTestId('alerts-count').click()
    await table(page).waitFor()
    await expect.poll(() => rows(page).count()).toBe(problems)
    expect(await panel(page).getByTestId('alerts-shown').textContent()).toBe(`${problems} of ${everything} alerts`)
    const routine = panel(page).getByRole('checkbox', { name: /^Routine notices/ })
    await routine.check()
    await expect.poll(() => rows(page).count()).toBe(everything)
    await routine.uncheck()

    // severity: Critical only → the SR failure alone
    await panel(page).getByRole('combobox', { name: 'Severity' }).selectOption({ label: 'Critical only' })
    await expect.poll(() => rows(page).count()).toBe(1)
    expect(await rows(page).first().getAttribute('aria-label')).toBe('SR backend failure PBD plug db-01')
    await panel(page).getByRole('combobox', { name: 'Severity' }).selectOption({ label: 'Any severity' })
    // pool
    await panel(page).getByRole('combobox', { name: 'Pool' }).selectOption({ label: 'tiny-legacy' })
    await expect.poll(() => rows(page).count()).toBe(notRoutine(legacy).length)
    for (const name of await rows(page).locator('td:nth-child(5)').allTextContents()) expect(name).toBe('tiny-legacy')
    await panel(page).getByRole('combobox', { name: 'Pool' }).selectOption({ label: 'All pools' })
    // object name
    await panel(page).getByRole('searchbox', { name: 'Object name' }).fill('tiny-host-2')
    await expect.poll(() => rows(page).count()).toBeLessThan(problems)
    expect(await rows(page).count()).toBeGreaterThan(0)
    for (const t of await rows(page).locator('td:nth-child(4)').allTextContents()) expect(t).toBe('tiny-host-2')
    await panel(page).getByRole('searchbox', { name: 'Object name' }).fill('')
    // time: the alerts just made are within the last hour, the fleet's older ones are not all
    await panel(page).getByRole('combobox', { name: 'Time' }).selectOption({ label: 'Last hour' })
    await expect.poll(async () => (await rows(page).count()) >= 5 && (await rows(page).count()) <= problems).toBe(true)
    await panel(page).getByRole('combobox', { name: 'Time' }).selectOption({ label: 'Any time' })

    // sort by time, newest first; again, oldest first
    const timeHeader = table(page).getByRole('columnheader', { name: 'Time' })
    await timeHeader.getByRole('button').click()
    expect(await timeHeader.getAttribute('aria-sort')).toBe('descending')
    const times = async (): Promise<number[]> => (await rows(page).locator('time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime') ?? ''))).map((t) => Date.parse(t))
    const desc = await times()
    expect(desc.length).toBe(problems)
    expect(desc).toEqual([...desc].sort((a, b) => b - a))
    await timeHeader.getByRole('button').click()
    expect(await timeHeader.getAttribute('aria-sort')).toBe('ascending')
    expect(await times()).toEqual([...desc].sort((a, b) => a - b))
    const poolHeader = table(page).getByRole('columnheader', { name: 'Pool' })
    await poolHeader.getByRole('button').click()
    expect(await poolHeader.getAttribute('aria-sort')).toBe('ascending')
    expect(await rows(page).first().locator('td:nth-child(5)').textContent()).toBe('tiny-current')
    expect(h.pageErrors).toEqual([])
  })

  it('an alert is read in full beside the list; Go to selects its object in the tree', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await panel(page).getByRole('button', { name: 'Read SR backend failure PBD plug db-01' }).click()
    const detail = panel(page).getByRole('region', { name: 'Alert: SR backend failure PBD plug' })
    await detail.waitFor()
    expect(await detail.getByTestId('alert-body').textContent()).toBe('Error code: SR_BACKEND_FAILURE_73\nNFS mount error [opterr=mount failed with return code 32]')
    expect(await detail.textContent()).toContain('tiny-current')
    // the full text is shown, not cut to one line
    const box = await detail.getByTestId('alert-body').boundingBox()
    expect(box?.height ?? 0).toBeGreaterThan(24)
    // the search hides db-01: Go to clears it and selects db-01
    await page.getByRole('searchbox', { name: 'Search' }).fill('web-02')
    await detail.getByRole('button', { name: 'Go to db-01' }).click()
    const item = servers(page).getByRole('treeitem', { name: 'db-01', exact: true })
    await expect.poll(() => item.getAttribute('aria-selected'), { timeout: LONG }).toBe('true')
    await page.getByRole('region', { name: 'Details' }).getByText('db-01').first().waitFor()
    expect(h.pageErrors).toEqual([])
  })

  it('dismissing: one at once; the checked ones and all of one pool after a confirmation that states the count and the pool — nothing else is touched', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const cur = h.sim.pool('tiny-current')
    const legacy = h.sim.pool('tiny-legacy')
    // one, from the full-text pane: at once
    const before = messages(cur).length
    await panel(page).getByRole('button', { name: 'Read License expires soon tiny-host-2' }).click()
    await panel(page).getByRole('region', { name: 'Alert: License expires soon' }).getByRole('button', { name: 'Dismiss License expires soon tiny-host-2' }).click()
    await expect.poll(() => messages(cur).length, { timeout: LONG }).toBe(before - 1)
    expect(messages(cur).some((m) => m.name === 'LICENSE_EXPIRES_SOON' && m.priority === 2)).toBe(false)

    // two checked rows of tiny-legacy
    const legacyBefore = messages(legacy).map((m) => m.ref).sort()
    const curBefore = messages(cur).map((m) => m.ref).sort()
    const skew = rows(page).filter({ hasText: 'tiny-xs72' })
    await expect.poll(() => skew.count()).toBe(3)
    await skew.nth(0).getByRole('checkbox').check()
    await skew.nth(1).getByRole('checkbox').check()
    await panel(page).getByRole('button', { name: 'Dismiss selected (2)…' }).click()
    let dialog = page.getByRole('dialog', { name: 'Dismiss 2 alerts' })
    await dialog.waitFor()
    expect(await dialog.textContent()).toContain('Dismiss 2 selected alerts of pool tiny-legacy?')
    await dialog.getByRole('button', { name: 'Dismiss 2' }).click()
    await expect.poll(() => messages(legacy).length, { timeout: LONG }).toBe(legacyBefore.length - 2)
    expect(messages(cur).map((m) => m.ref).sort()).toEqual(curBefore)

    // all of tiny-current (routine notices hidden, so kept): Cancel changes nothing, then Dismiss
    await panel(page).getByRole('combobox', { name: 'Pool' }).selectOption({ label: 'tiny-current' })
    const n = notRoutine(cur).length
    await expect.poll(() => rows(page).count()).toBe(n)
    await panel(page).getByRole('button', { name: `Dismiss all ${n} of tiny-current…` }).click()
    dialog = page.getByRole('dialog', { name: `Dismiss ${n} alerts` })
    await dialog.waitFor()
    expect(await dialog.textContent()).toContain(`Dismiss ${n} alerts of pool tiny-current?`)
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'detached' })
    expect(notRoutine(cur)).toHaveLength(n)
    const legacyLeft = messages(legacy).map((m) => m.ref).sort()
    const routineLeft = messages(cur).length - n
    await panel(page).getByRole('button', { name: `Dismiss all ${n} of tiny-current…` }).click()
    await page.getByRole('dialog', { name: `Dismiss ${n} alerts` }).getByRole('button', { name: `Dismiss ${n}` }).click()
    await expect.poll(() => notRoutine(cur).length, { timeout: LONG }).toBe(0)
    expect(messages(cur)).toHaveLength(routineLeft)
    expect(messages(legacy).map((m) => m.ref).sort()).toEqual(legacyLeft)
    await expect.poll(() => panel(page).getByText('No alert matches these filters').count(), { timeout: LONG }).toBe(1)
    expect(h.pageErrors).toEqual([])
  })

  it('screenshots at 1024×700 and 1920×1080, light and dark', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await panel(page).getByRole('combobox', { name: 'Pool' }).selectOption({ label: 'All pools' })
    await panel(page).getByRole('checkbox', { name: /^Routine notices/ }).check()
    await rows(page).first().getByRole('button').click()
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      for (const [w, hgt] of [[1024, 700], [1920, 1080]] as const) {
        await page.setViewportSize({ width: w, height: hgt })
        await page.waitForTimeout(300)
        await page.screenshot({ path: `/tmp/alerts-${w}x${hgt}-${scheme}.png` })
      }
    }
    await page.emulateMedia({ colorScheme: 'light' })
  })

  it('at 1024×700 a state badge does not cut the pool name; its full text is the row’s tooltip and accessible description (item 14)', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await page.setViewportSize({ width: 1024, height: 700 })
    const legacy = h.sim.pool('tiny-legacy')
    const poolRef = [...(legacy.objects.get('pool')?.keys() ?? [])][0] ?? ''
    await legacy.call('pool.set_name_label', [poolRef, 'Legacy production pool 01'])
    // the tree is virtualised and the saved-searches bar takes a row: at 700 px the pool is found by search, as a user would
    const search = page.getByRole('searchbox', { name: 'Search' })
    await search.fill('Legacy production')
    const item = servers(page).getByRole('treeitem', { name: 'Legacy production pool 01', exact: true })
    await item.waitFor({ timeout: LONG })
    const id = (await h.api.call('connections.list', {})).find((c) => c.label === 'tiny-legacy' || c.address.startsWith(legacy.hosts[0]?.address ?? '-'))?.id ?? ''
    await h.api.call('connections.disconnect', { id })
    const badge = item.locator('.badge')
    await badge.waitFor({ timeout: LONG })
    const label = item.locator('.label')
    const fits = await label.evaluate((el) => el.scrollWidth <= el.clientWidth)
    await page.screenshot({ path: '/tmp/alerts-badge-1024x700.png' })
    expect(fits, `the name is cut: ${await label.evaluate((el) => `${el.scrollWidth} > ${el.clientWidth}`)}`).toBe(true)
    const text = (await badge.textContent())?.trim() ?? ''
    expect(text.length).toBeGreaterThan(3)
    expect(await item.getAttribute('aria-description')).toBe(text)
    expect(await item.getAttribute('title')).toBe(`Legacy production pool 01 — ${text}`)
    await search.fill('')
    // the pools table (nothing selected): the State column is not cut, the table stays in the window
    const selected = servers(page).locator('[aria-selected=true]')
    if (await selected.count()) await selected.first().click({ modifiers: ['Control'] })
    const overview = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'State' }) }).first()
    await overview.waitFor({ timeout: LONG })
    const state = overview.getByRole('row', { name: /Legacy production pool 01|tiny-legacy/ }).locator('td.state')
    expect(await state.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true)
    const tb = await overview.boundingBox()
    expect((tb?.x ?? 0) + (tb?.width ?? 0)).toBeLessThanOrEqual(1024)
    await page.screenshot({ path: '/tmp/alerts-pools-table-1024x700.png' })
    await h.api.call('connections.connect', { id })
  })
})
