/**
 * Words that must be true (issue 15, item 14 and the offline banner), end to end in browser mode with
 * Chromium: the certificate prompt gives the README's openssl command, never breaks the fingerprint
 * inside a byte, and says when the certificate is the pool master's (an address of a member was
 * given); a server that never connected does not claim to show cached data; a snapshot row has a
 * context menu, and Revert says a running VM ends up halted.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import { startApp, type AppHarness } from './harness'

const LONG = 60_000
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const treeitem = (page: Page, name: string) => servers(page).getByRole('treeitem', { name, exact: true })

/** every byte (two hex digits) of the fingerprint sits on one line: its two characters have the same top */
async function bytesSplitAcrossLines(fp: Locator): Promise<string[]> {
  return fp.evaluate((el) => {
    const chars: { node: Text; offset: number }[] = []
    const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT)
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (!(n instanceof Text)) continue
      for (let i = 0; i < n.data.length; i++) if (/[0-9A-F]/i.test(n.data.charAt(i))) chars.push({ node: n, offset: i })
    }
    const top = (c: { node: Text; offset: number }): number => {
      const r = document.createRange()
      r.setStart(c.node, c.offset)
      r.setEnd(c.node, c.offset + 1)
      return Math.round(r.getBoundingClientRect().top)
    }
    const bad: string[] = []
    for (let i = 0; i + 1 < chars.length; i += 2) {
      const a = chars[i]
      const b = chars[i + 1]
      if (a && b && top(a) !== top(b)) bad.push(`${a.node.data.charAt(a.offset)}${b.node.data.charAt(b.offset)}`)
    }
    return bad
  })
}

describe('the certificate prompt', { timeout: 300_000 }, () => {
  let h: AppHarness | undefined
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.77', opDurationMs: 0 }), viewport: { width: 1024, height: 700 } })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it("gives the README's openssl command, keeps each byte of the fingerprint on one line, and says when the certificate is the master's", async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    const pool = h.sim.pool('tiny-current')
    const member = pool.hosts.find((x) => x.url !== pool.masterUrl)
    const master = pool.hosts.find((x) => x.url === pool.masterUrl)
    if (!member || !master) throw new Error('tiny-current has a master and a member')
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const command = /`(openssl x509 [^`]+)`/.exec(readme)?.[1]
    expect(command).toBeDefined()

    await h.api.call('connections.add', { address: new URL(member.url).host, username: pool.username, password: pool.password, rememberPassword: false })
    const trust = page.getByRole('dialog', { name: 'Trust this server certificate?' })
    await trust.waitFor({ timeout: LONG })
    // the member's own certificate first
    expect(await trust.getByTestId('fingerprint').textContent()).toBe(member.fingerprint256)
    expect(await trust.getByTestId('fingerprint-command').textContent()).toBe(command)
    expect(await trust.textContent()).not.toContain('host-param-get')
    expect(await bytesSplitAcrossLines(trust.getByTestId('fingerprint'))).toEqual([])
    await trust.getByRole('button', { name: 'Trust' }).click()

    // the member sends XenPilot to its master: the second prompt says whose certificate it is
    await expect.poll(() => trust.getByTestId('fingerprint').textContent().catch(() => ''), { timeout: LONG }).toBe(master.fingerprint256)
    const intro = await trust.getByTestId('trust-intro').textContent()
    expect(intro).toContain(`${new URL(member.url).host} is a member of a pool`)
    expect(intro).toContain(`master's certificate`)
    expect(intro).toContain(new URL(master.url).host)
    expect(await bytesSplitAcrossLines(trust.getByTestId('fingerprint'))).toEqual([])
    await trust.getByRole('button', { name: 'Trust' }).click()
    await treeitem(page, 'tiny-current').waitFor({ timeout: LONG })
    expect(h.pageErrors).toEqual([])
  })
})

describe('words on a connected fleet', { timeout: 300_000 }, () => {
  let h: AppHarness | undefined
  beforeAll(async () => {
    h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.78', opDurationMs: 0 }), trustPools: true })
    await treeitem(h.page, 'web-01').waitFor({ timeout: LONG })
  }, 300_000)
  afterAll(async () => {
    await h?.close()
  })

  it('a server that never connected does not claim to show data from the cache', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await h.api.call('connections.add', { address: '127.78.250.1:1', username: 'root', password: 'x', rememberPassword: false })
    // the tree is virtualised: find the row by search
    await page.getByRole('searchbox', { name: 'Search' }).fill('127.78.250.1')
    await servers(page).getByRole('treeitem').filter({ hasText: '127.78.250.1' }).first().click({ timeout: LONG })
    await page.getByRole('searchbox', { name: 'Search' }).press('Escape')
    const banner = page.getByRole('region', { name: 'Details' }).getByRole('status', { name: 'Offline' })
    await banner.waitFor({ timeout: LONG })
    const text = (await banner.textContent()) ?? ''
    expect(text).not.toContain('last update received')
    expect(text).toContain('received nothing from this server yet')
  })

  it('an HTTP 500 from the server is said as what it is, not as a "client error"', async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    h.sim.pool('tiny-current').injectFault({ kind: 'http-500', method: 'VM.start' }, { once: true })
    await page.getByRole('searchbox', { name: 'Search' }).fill('build-01')
    await treeitem(page, 'build-01').click({ button: 'right' })
    await page.getByRole('menu', { name: 'Actions' }).getByRole('menuitem').filter({ has: page.getByText('Start', { exact: true }) }).click()
    await page.getByRole('searchbox', { name: 'Search' }).press('Escape')
    const results = page.getByRole('dialog', { name: 'Start failed for build-01' })
    await results.waitFor({ timeout: LONG })
    const text = (await results.textContent()) ?? ''
    expect(text).toContain('HTTP 500')
    expect(text.toLowerCase()).not.toContain('client error')
    await results.getByRole('button', { name: 'Close' }).first().click()
  })

  it("a snapshot row has a context menu; Revert says the running VM ends up halted", async () => {
    if (!h) throw new Error('no app')
    const { page } = h
    await page.getByRole('searchbox', { name: 'Search' }).fill('web-01')
    await treeitem(page, 'web-01').click()
    await page.getByRole('searchbox', { name: 'Search' }).press('Escape')
    await page.getByRole('tab', { name: 'Snapshots' }).click()
    const snaps = page.getByRole('tree', { name: 'Snapshots' })
    const row = snaps.getByRole('treeitem').filter({ hasNot: page.getByText('current state') }).first()
    await row.waitFor({ timeout: LONG })
    await row.click({ button: 'right' })
    const menu = page.getByRole('menu', { name: 'Actions' })
    await menu.waitFor()
    const labels = (await menu.getByRole('menuitem').allTextContents()).map((t) => t.trim())
    expect(labels.some((l) => l.startsWith('Revert to Snapshot'))).toBe(true)
    expect(labels.some((l) => l.startsWith('Delete Snapshot'))).toBe(true)
    await menu.getByRole('menuitem').filter({ hasText: 'Revert to Snapshot…' }).click()
    const confirm = page.getByRole('dialog', { name: /^Revert to Snapshot / })
    await confirm.waitFor()
    expect(await confirm.textContent()).toContain('web-01 is running: the revert stops it, and it ends up halted')
    await confirm.getByRole('button', { name: 'Cancel' }).click()
    await confirm.waitFor({ state: 'detached' })
    // Esc closes the snapshot menu too
    await row.click({ button: 'right' })
    await menu.waitFor()
    await page.keyboard.press('Escape')
    await menu.waitFor({ state: 'detached' })
    expect(h.pageErrors).toEqual([])
  })
})
