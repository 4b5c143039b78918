/**
 * The tree end to end: browser mode + simulator + Debian's Chromium. What an admin does on day one
 * (add a server, trust it, see the pool), what they do every day (search, keyboard, watch a VM
 * start) and the way out (forget a server).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { SimPoolHandle, SimRecord } from '../sim/model'
import { startTreeEnv, type TreeEnv } from './tree-env'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')

function plainVms(pool: SimPoolHandle): [string, SimRecord][] {
  return [...(pool.objects.get('VM') ?? new Map<string, SimRecord>()).entries()].filter(
    ([, r]) => r.is_a_template !== true && r.is_a_snapshot !== true && r.is_control_domain !== true,
  )
}

/** what the tree calls a pool: its name, or its only host's name for a stand-alone host */
function rootLabelOf(pool: SimPoolHandle): string {
  const rec = [...(pool.objects.get('pool')?.values() ?? [])][0]
  const name = str(rec?.name_label)
  return name || (pool.hosts.length === 1 ? (pool.hosts[0]?.name ?? '') : '')
}

/** labels of the top-level rows on screen (pools, or stand-alone hosts), in order */
async function rootLabels(page: Page): Promise<string[]> {
  return page.locator('[role=treeitem][aria-level="1"]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''))
}

const treeitem = (page: Page, name: string) => page.getByRole('tree').getByRole('treeitem', { name, exact: true })

describe('adding a server', () => {
  let env: TreeEnv
  beforeAll(async () => {
    env = await startTreeEnv({ fleet: 'demo' })
  })
  afterAll(async () => {
    await env?.close()
  })

  it('Add Server → trust the certificate → the tree shows the pool, its hosts and VMs', async () => {
    const { page, sim } = env
    const pool = sim.pools[0]
    if (!pool) throw new Error('demo fleet has no pool')
    await page.getByRole('button', { name: 'Add Server…' }).first().click()
    const dialog = page.getByRole('dialog', { name: 'Add Server' })
    await dialog.getByRole('button', { name: 'Connect' }).click()
    await expect.poll(() => dialog.getByRole('alert').first().textContent()).toBe('Server is required.')

    await dialog.getByLabel('Server', { exact: true }).fill(new URL(pool.masterUrl).host)
    await dialog.getByLabel('User name').fill(pool.username)
    await dialog.getByLabel('Password', { exact: true }).fill(pool.password)
    await dialog.getByRole('button', { name: 'Connect' }).click()

    const trust = page.getByRole('dialog', { name: 'Trust this server certificate?' })
    await trust.waitFor({ timeout: 30_000 })
    const master = pool.hosts.find((h) => h.url === pool.masterUrl)
    expect(await trust.getByTestId('fingerprint').textContent()).toBe(master?.fingerprint256)
    await trust.getByRole('button', { name: 'Trust' }).click()

    await treeitem(page, pool.name).waitFor({ timeout: 30_000 })
    for (const h of pool.hosts) await treeitem(page, h.name).waitFor({ timeout: 30_000 })
    const running = plainVms(pool).find(([, r]) => r.power_state === 'Running')
    await treeitem(page, str(running?.[1].name_label)).first().waitFor()
    expect(await page.getByTestId('pools-connected').textContent()).toBe('Pools: 1 of 1 connected')
    expect(env.pageErrors).toEqual([])
  })

  it('Cancel on the certificate leaves the server disconnected; Connect asks again', async () => {
    const { page, sim } = env
    const pool = sim.pools[1]
    if (!pool) throw new Error('demo fleet has a second pool')
    const address = new URL(pool.masterUrl).host
    await page.getByRole('button', { name: 'Add Server…' }).first().click()
    const dialog = page.getByRole('dialog', { name: 'Add Server' })
    await dialog.getByLabel('Server', { exact: true }).fill(address)
    await dialog.getByLabel('Password', { exact: true }).fill(pool.password)
    await dialog.getByRole('button', { name: 'Connect' }).click()
    const trust = page.getByRole('dialog', { name: 'Trust this server certificate?' })
    await trust.waitFor({ timeout: 30_000 })
    await trust.getByRole('button', { name: 'Cancel' }).click()
    const row = treeitem(page, address)
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 30_000 }).toBe('Disconnected')
    await row.click()
    await page.getByRole('toolbar').getByRole('button', { name: 'Connect', exact: true }).click()
    await trust.waitFor({ timeout: 30_000 })
    await trust.getByRole('button', { name: 'Trust' }).click()
    await treeitem(page, pool.name).waitFor({ timeout: 30_000 })
    await page.getByTestId('pools-connected').filter({ hasText: 'Pools: 2 of 2 connected' }).waitFor({ timeout: 30_000 })
    expect(env.pageErrors).toEqual([])
  })
})

describe('a fleet of several pools (demo)', () => {
  let env: TreeEnv
  beforeAll(async () => {
    env = await startTreeEnv({ fleet: 'demo', seed: true })
    await env.page.getByTestId('pools-connected').filter({ hasText: `${env.sim.pools.length} of ${env.sim.pools.length} connected` }).waitFor({ timeout: 60_000 })
  })
  afterAll(async () => {
    await env?.close()
  })

  it('search finds one VM across all pools and keeps its ancestors', async () => {
    const { page, sim } = env
    expect(sim.pools.length).toBe(4)
    const counts = new Map<string, number>()
    for (const p of sim.pools) for (const [, r] of plainVms(p)) counts.set(str(r.name_label), (counts.get(str(r.name_label)) ?? 0) + 1)
    const names = [...counts.keys()]
    let owner: SimPoolHandle | undefined
    let unique: string | undefined
    for (const p of [...sim.pools].reverse()) {
      unique = plainVms(p)
        .map(([, r]) => str(r.name_label))
        .find((n) => counts.get(n) === 1 && names.filter((k) => k.toLowerCase().includes(n.toLowerCase())).length === 1)
      if (unique) {
        owner = p
        break
      }
    }
    if (!owner || !unique) throw new Error('no VM with a unique name in the demo fleet')
    const ownerLabel = rootLabelOf(owner)

    await page.getByRole('searchbox', { name: 'Search' }).fill(unique)
    await expect.poll(() => page.locator('[role=treeitem] mark').count()).toBe(1)
    const labels = await page.getByRole('treeitem').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')))
    expect(labels[0]).toBe(ownerLabel) // the pool is kept as the ancestor
    expect(labels.at(-1)).toBe(unique)
    expect(await rootLabels(page)).toEqual([ownerLabel])
    expect(await page.getByText('1 match', { exact: true }).count()).toBe(1)

    // by IP address (guest metrics)
    await page.getByRole('searchbox', { name: 'Search' }).fill('')
    await expect.poll(() => page.locator('[role=treeitem] mark').count()).toBe(0)
  })

  it('a VM started through the simulator turns running and moves under its host, keeping the selection', async () => {
    const { page, sim } = env
    const pool = sim.pools[0]
    if (!pool) throw new Error('no pool')
    const halted = plainVms(pool).find(([, r]) => r.power_state === 'Halted')
    if (!halted) throw new Error('no halted VM in the first demo pool')
    const [ref, rec] = halted
    const name = str(rec.name_label)
    const row = treeitem(page, name).first()
    await row.scrollIntoViewIfNeeded()
    await row.click()
    expect(await row.getAttribute('aria-selected')).toBe('true')
    expect(await row.getAttribute('data-state')).toBe('halted')
    expect(await row.getAttribute('aria-level')).toBe('2')

    const started = Date.now()
    await pool.call('VM.start', [ref, false, false])
    await expect.poll(() => treeitem(page, name).first().getAttribute('data-state'), { timeout: 10_000, interval: 20 }).toBe('running')
    const elapsed = Date.now() - started
    console.log(`VM ${name} shown running ${elapsed} ms after VM.start returned`)
    const moved = treeitem(page, name).first()
    expect(await moved.getAttribute('aria-level')).toBe('3')
    expect(await moved.getAttribute('aria-selected')).toBe('true')
    // the details pane follows the same object
    await expect.poll(() => page.getByRole('tabpanel', { name: 'General' }).getByText('Running', { exact: true }).count()).toBeGreaterThan(0)
  })

  it('live updates above the viewport do not move what the user is looking at', async () => {
    const { page, sim } = env
    const pool = sim.pools.reduce((a, b) => (plainVms(b).length > plainVms(a).length ? b : a))
    const firstHost = pool.hosts[0]
    // the halted VM whose name sorts first: started on the first host, its row lands above the viewport
    const halted = plainVms(pool)
      .filter(([, r]) => r.power_state === 'Halted')
      .sort(([, a], [, b]) => str(a.name_label).localeCompare(str(b.name_label)))
    const target = halted[0]
    if (!firstHost || !target) throw new Error('the demo fleet has a large pool with halted VMs')
    const [ref, rec] = target
    const name = str(rec.name_label)
    // select the VM (it stays selected while we scroll away), then look at rows between the hosts and it
    await page.getByRole('searchbox', { name: 'Search' }).fill(name)
    await treeitem(page, name).first().click()
    await page.getByRole('searchbox', { name: 'Search' }).fill('')
    const hostRow = treeitem(page, pool.name)
    await hostRow.scrollIntoViewIfNeeded()
    const topRow = `(() => {
      const tree = document.querySelector('[role=tree]')
      const top = tree.getBoundingClientRect().top
      const rows = [...tree.querySelectorAll('[role=treeitem]')].filter((e) => e.getBoundingClientRect().top >= top - 1)
      rows.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
      return rows[0] ? rows[0].getAttribute('aria-label') + '@' + Math.round(rows[0].getBoundingClientRect().top - top) : ''
    })()`
    await page.evaluate(`(() => { const t = document.querySelector('[role=tree]'); t.scrollTop = t.scrollTop + 22 * 40 })()`)
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)))')
    const before = (await page.evaluate(topRow)) as string
    expect(before).not.toBe('')
    await pool.call('VM.start_on', [ref, firstHost.ref, false, false])
    await expect.poll(() => page.getByRole('tabpanel', { name: 'General' }).getByText('Running', { exact: true }).count(), { timeout: 10_000 }).toBeGreaterThan(0)
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)))')
    expect(await page.evaluate(topRow)).toBe(before)
    expect(await page.locator('[role=treeitem][aria-selected=true]').count()).toBeLessThanOrEqual(1)
  })

  it('keyboard: arrows move the selection, Left/Right collapse and expand, type-ahead jumps', async () => {
    const { page } = env
    await page.getByRole('searchbox', { name: 'Search' }).fill('')
    const roots = env.sim.pools.map(rootLabelOf)
    const firstRoot = roots[0] ?? ''
    const tree = page.getByRole('tree')
    await tree.focus()
    await page.keyboard.press('Home')
    const selected = async (): Promise<string | null> => page.locator('[role=treeitem][aria-selected=true]').first().getAttribute('aria-label')
    expect(await selected()).toBe(firstRoot)
    await page.keyboard.press('ArrowDown') // first host
    const host = (await selected()) ?? ''
    expect(host).not.toBe(firstRoot)
    expect(await treeitem(page, host).getAttribute('aria-level')).toBe('2')
    await page.keyboard.press('ArrowRight') // an expanded node: Right goes to its first child
    const vm = (await selected()) ?? ''
    expect(await treeitem(page, vm).first().getAttribute('aria-level')).toBe('3')
    await page.keyboard.press('ArrowLeft') // a leaf: Left goes to the parent
    expect(await selected()).toBe(host)
    await page.keyboard.press('ArrowLeft') // an expanded node: Left collapses it
    await expect.poll(() => treeitem(page, host).getAttribute('aria-expanded')).toBe('false')
    expect(await tree.getByRole('treeitem', { name: vm, exact: true }).count()).toBe(0)
    await page.keyboard.press('ArrowRight') // and Right expands it again
    await expect.poll(() => treeitem(page, host).getAttribute('aria-expanded')).toBe('true')
    await page.keyboard.press('Shift+ArrowDown')
    expect(await page.locator('[role=treeitem][aria-selected=true]').count()).toBe(2)
    const target = roots[1] ?? ''
    await page.keyboard.press('Home')
    await page.keyboard.type(target.slice(0, 3).toLowerCase())
    await expect.poll(selected).toBe(target)
    // ARIA: a virtualised row still says where it is in the tree
    const aria = await treeitem(page, target).evaluate((e) => [e.getAttribute('aria-level'), e.getAttribute('aria-posinset'), e.getAttribute('aria-setsize')])
    expect(aria).toEqual(['1', '2', String(roots.length)])
    expect(await tree.getAttribute('aria-activedescendant')).toBe(await treeitem(page, target).getAttribute('id'))
  })

  it('edit connection: labelled fields, a validation message, Esc closes and focus returns to the tree', async () => {
    const { page, sim } = env
    const first = sim.pools[0]
    if (!first) throw new Error('no pool')
    const tree = page.getByRole('tree')
    await tree.focus()
    await page.keyboard.press('Home')
    await page.keyboard.press('ContextMenu')
    await page.getByRole('menu', { name: 'Actions' }).getByRole('menuitem', { name: 'Edit connection…' }).click()
    const dialog = page.getByRole('dialog', { name: /^Edit connection/ })
    await dialog.waitFor()
    expect(await dialog.getByLabel('Server', { exact: true }).inputValue()).toBe(new URL(first.masterUrl).host)
    expect(await dialog.getByLabel('User name').inputValue()).toBe(first.username)
    await dialog.getByLabel('User name').fill('')
    await dialog.getByRole('button', { name: 'Save' }).click()
    expect(await dialog.getByRole('alert').first().textContent()).toBe('User name is required')
    // focus stays inside the dialog (trap) and Escape closes it without saving
    for (let i = 0; i < 8; i++) await page.keyboard.press('Tab')
    expect(await dialog.evaluate((d) => d.contains(d.ownerDocument.activeElement))).toBe(true)
    await page.keyboard.press('Escape')
    await expect.poll(() => dialog.count()).toBe(0)
    await expect.poll(() => tree.evaluate((t) => t === t.ownerDocument.activeElement)).toBe(true)
  })

  it('the context menu key opens the commands for the selection; forget removes the server', async () => {
    const { page, sim } = env
    const last = sim.pools[sim.pools.length - 1]
    if (!last) throw new Error('the demo fleet has pools')
    const victim = rootLabelOf(last)
    // the last pool may be below the fold: reach it with the keyboard (End, then Left up to the root)
    await page.getByRole('tree').focus()
    await page.keyboard.press('End')
    for (let i = 0; i < 8; i++) {
      if ((await page.locator('[role=treeitem][aria-selected=true]').first().getAttribute('aria-level')) === '1') break
      await page.keyboard.press('ArrowLeft')
    }
    expect(await page.locator('[role=treeitem][aria-selected=true]').first().getAttribute('aria-label')).toBe(victim)
    await page.keyboard.press('Shift+F10')
    const menu = page.getByRole('menu', { name: 'Actions' })
    await menu.waitFor()
    expect(await menu.getByRole('menuitem', { name: 'Connect', exact: true }).getAttribute('aria-disabled')).toBe('true')
    await menu.getByRole('menuitem', { name: /Forget server/ }).click()
    const confirm = page.getByRole('dialog', { name: `Forget ${victim}?` })
    await confirm.getByRole('button', { name: 'Forget' }).click()
    await expect.poll(() => treeitem(page, victim).count(), { timeout: 20_000 }).toBe(0)
    await page.getByRole('tree').focus()
    await page.keyboard.press('Home')
    expect(await page.locator('[role=treeitem][aria-level="1"]').first().getAttribute('aria-setsize')).toBe(String(sim.pools.length - 1))
    await expect.poll(() => page.getByTestId('pools-connected').textContent()).toBe(`Pools: ${sim.pools.length - 1} of ${sim.pools.length - 1} connected`)
    expect(env.pageErrors).toEqual([])
  })
})
