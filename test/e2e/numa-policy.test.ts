/**
 * Changing a host's NUMA policy (issue 15, item 6), end to end in browser mode with Chromium: the
 * dropdown asks first (what changes, when it applies), Cancel changes nothing; confirmed, it runs as
 * one task in the Activity panel and leaves a History entry. After 'any', each node's vCPU count
 * agrees with the VMs it lists, and a VM started afterwards is shown as not placed on a node.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import type { SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'
import { screens } from './screens'

const LONG = 60_000
const HOST = 'tiny-host-1'
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const details = (page: Page) => page.getByRole('region', { name: 'Details' })
const activity = (page: Page) => page.getByRole('region', { name: 'Activity' })
const policy = (page: Page) => page.getByRole('combobox', { name: 'NUMA policy' })
const layout = (page: Page) => page.getByRole('group', { name: 'NUMA layout' })

const shots = (page: Page, name: string): Promise<string[]> => screens(page, `numa-policy-${name}`, { width: 1400, height: 1000 })

function refOf(pool: SimPoolHandle, cls: string, name: string): string {
  for (const [ref, r] of pool.objects.get(cls) ?? []) if (r.name_label === name && r.is_a_template !== true && r.is_a_snapshot !== true) return ref
  throw new Error(`no ${cls} ${name} in ${pool.name}`)
}

async function openNuma(page: Page): Promise<void> {
  await page.getByRole('searchbox', { name: 'Search' }).fill(HOST)
  await servers(page).getByRole('treeitem', { name: HOST, exact: true }).click()
  await page.getByRole('searchbox', { name: 'Search' }).press('Escape')
  await details(page).getByRole('tab', { name: 'NUMA', exact: true }).click()
  await layout(page).waitFor({ timeout: LONG })
}

/** per node: the vCPUs its header says are kept there / free, and the vCPUs of the VMs it lists */
async function nodeCounts(page: Page): Promise<{ kept: number; free: number; listed: number; vms: number }[]> {
  const out = []
  const nodes = layout(page).getByRole('region', { name: /^Node \d+$/ })
  for (let i = 0; i < (await nodes.count()); i++) {
    const node = nodes.nth(i)
    const head = (await node.locator('header').textContent()) ?? ''
    const kept = /(\d+) vCPUs? kept here/.exec(head)
    if (!kept) throw new Error(`node header without a 'kept here' count: ${head}`)
    const free = /(\d+) vCPUs? of these VMs free to run on any node/.exec(head)
    const buttons = node.getByRole('list', { name: /^VMs on node/ }).getByRole('button')
    let listed = 0
    // each VM's line starts with its vCPU count ('4 vCPU · 8 GiB …'; the name is a separate span)
    for (const t of await buttons.locator('.vm-meta').allTextContents()) listed += Number(/^(\d+) vCPU ·/.exec(t.trim())?.[1] ?? NaN)
    out.push({ kept: Number(kept[1]), free: Number(free?.[1] ?? 0), listed, vms: await buttons.count() })
  }
  return out
}

describe('NUMA policy change', { timeout: 300_000 }, () => {
  let h: AppHarness | undefined
  let pool: SimPoolHandle
  let hostRef = ''
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.71', opDurationMs: 0 }), trustPools: true, viewport: { width: 1400, height: 1000 } })
    pool = h.sim.pool('tiny-current')
    hostRef = refOf(pool, 'host', HOST)
    await servers(h.page).getByRole('treeitem', { name: 'tiny-current' }).first().waitFor({ timeout: LONG })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it('asks before changing; Cancel leaves the host as it was', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await openNuma(page)
    expect(await policy(page).inputValue()).toBe('best_effort')
    await policy(page).selectOption('any')
    const dialog = page.getByRole('dialog', { name: `Change the NUMA policy of ${HOST}?` })
    await dialog.waitFor({ timeout: LONG })
    const text = (await dialog.textContent()) ?? ''
    expect(text).toContain('From best_effort to any')
    expect(text).toMatch(/applies to VMs started on or migrated to tiny-host-1 from now on/)
    expect(text).toMatch(/\d+ VMs? running there now keeps? (its|their) placement/)
    await shots(page, 'confirm')
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'detached' })
    expect(pool.objects.get('host')?.get(hostRef)?.numa_affinity_policy).toBe('best_effort')
    expect(await policy(page).inputValue()).toBe('best_effort')
    expect(await activity(page).getByRole('row', { name: /Change NUMA policy/ }).count()).toBe(0)
  })

  it('confirmed, it runs as an Activity task, leaves a History entry and keeps the nodes truthful', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const before = await nodeCounts(page)
    expect(before.reduce((a, n) => a + n.vms, 0)).toBeGreaterThan(0)
    await policy(page).selectOption('any')
    const dialog = page.getByRole('dialog', { name: `Change the NUMA policy of ${HOST}?` })
    await dialog.getByRole('button', { name: 'Change policy' }).click()
    await dialog.waitFor({ state: 'detached' })
    await expect.poll(() => pool.objects.get('host')?.get(hostRef)?.numa_affinity_policy, { timeout: LONG }).toBe('any')
    const row = activity(page).getByRole('row', { name: /Change NUMA policy/ })
    await expect.poll(() => row.first().getAttribute('data-status'), { timeout: LONG }).toBe('success')
    expect(await row.count()).toBe(1)
    await expect.poll(() => policy(page).inputValue(), { timeout: LONG }).toBe('any')
    await expect.poll(async () => (await page.getByRole('group', { name: 'Host CPU and memory summary' }).getByRole('status').textContent()) ?? '').toMatch(/running VMs keep their placement/)
    const history = await h.api.call('history.list', { ref: hostRef })
    expect(history[0]).toMatchObject({ action: 'Change NUMA policy', ok: true, objectName: HOST, params: { from: 'best_effort', to: 'any' } })

    // running VMs keep their placement: every node's count agrees with the VMs it lists
    await expect.poll(async () => JSON.stringify(await nodeCounts(page)), { timeout: LONG }).toBe(JSON.stringify(before))
    for (const n of await nodeCounts(page)) {
      expect(n.kept + n.free).toBe(n.listed)
      if (n.vms > 0) expect(n.kept + n.free).toBeGreaterThan(0)
    }

    // a VM started now is not placed on a node: its memory is spread, and it is listed as such
    await pool.call('VM.start_on', [refOf(pool, 'VM', 'build-01'), hostRef, false, false])
    const apart = page.getByRole('region', { name: 'VMs not on a single node' })
    await expect.poll(async () => (await apart.count()) > 0 && ((await apart.textContent()) ?? ''), { timeout: LONG }).toMatch(/build-01.*Interleaved/)
    for (const n of await nodeCounts(page)) expect(n.kept + n.free).toBe(n.listed)
    await shots(page, 'after-any')

    await details(page).getByRole('tab', { name: 'History', exact: true }).click()
    await expect.poll(() => details(page).getByRole('table', { name: 'Object history' }).textContent(), { timeout: LONG }).toContain('Change NUMA policy')
  })
})
