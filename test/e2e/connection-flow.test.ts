/**
 * The connection flow as a user meets it in Chromium (issues 12 and 15): Add Server refuses bad
 * addresses with a sentence and keeps focus, a wrong password keeps the dialog open and asks again,
 * an unreachable server says so and stops, a slow server shows its progress and gives up in words,
 * and the keychain's state (wrong passphrase, no passphrase) reads as what it is.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { PassphraseFileKeychain } from '../../main/pools/keychain'
import { startApp, type AppHarness } from './harness'

async function openAddServer(page: Page) {
  await page.getByRole('button', { name: 'Add Server…' }).first().click()
  const dialog = page.getByRole('dialog', { name: 'Add Server' })
  await dialog.waitFor()
  return dialog
}

const treeRow = (page: Page, text: string) => page.getByRole('tree').getByRole('treeitem').filter({ hasText: text })
const field = (page: Page, label: string) => page.locator(`dt:text-is("${label}") + dd`)
/** nothing on screen shows a status code */
const noCodes = async (page: Page) => expect(await page.locator('body').innerText()).not.toMatch(/auth-failed|password-needed|\bunreachable\b(?!:)|reconnecting/)

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

describe('a wrong password (issue 15 item 4)', () => {
  let h: AppHarness
  beforeAll(async () => {
    h = await startApp({ fleet: 'tiny' })
  })
  afterAll(async () => {
    await h?.close()
  })

  it('Add Server keeps the dialog open with the reason, does not save the password, and a corrected one connects', async () => {
    const { page } = h
    const p = h.sim.pools[0]
    if (!p) throw new Error('no pool')
    const address = new URL(p.masterUrl).host
    const dialog = await openAddServer(page)
    await dialog.getByLabel('Server', { exact: true }).fill(address)
    await dialog.getByLabel('User name').fill(p.username)
    await dialog.getByLabel('Password', { exact: true }).fill('not-the-password')
    await dialog.getByRole('button', { name: 'Connect' }).click()
    const trust = page.getByRole('dialog', { name: 'Trust this server certificate?' })
    await trust.getByRole('button', { name: 'Trust' }).click()
    const alert = dialog.getByRole('alert').filter({ hasText: 'refused' })
    await alert.waitFor({ timeout: 30_000 })
    expect(await alert.textContent()).toBe(`The pool refused the user name “${p.username}” or its password; enter the password again to connect.`)
    // still open, asking: the password field is emptied and has the focus
    expect(await dialog.isVisible()).toBe(true)
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('add-password')
    expect(await dialog.getByLabel('Password', { exact: true }).inputValue()).toBe('')
    // the tree says it in words; nothing shows a code
    await expect.poll(() => treeRow(page, address).textContent()).toContain('Login failed: The pool refused')
    await noCodes(page)
    const [state] = await h.api.call('connections.list', {})
    expect(state?.hasPassword).toBe(false)

    // the right password, in the same dialog: the same server connects (no second copy) and the dialog closes
    await dialog.getByLabel('Password', { exact: true }).fill(p.password)
    await dialog.getByRole('button', { name: 'Connect' }).click()
    await expect.poll(() => dialog.count(), { timeout: 30_000 }).toBe(0)
    const list = await h.api.call('connections.list', {})
    expect(list.map((c) => c.status)).toEqual(['connected'])
    await expect.poll(async () => (await h.api.call('connections.list', {}))[0]?.hasPassword).toBe(true)
  })

  it('Connect on a server whose login failed asks for the password again; Edit connection → Save with the right one reconnects', async () => {
    const { page } = h
    const p = h.sim.pools[1]
    if (!p) throw new Error('no second pool')
    const added = await h.api.call('connections.add', { address: new URL(p.masterUrl).host, username: p.username, password: 'wrong', rememberPassword: true })
    const waiting = await h.api.waitForEvent('connection.state', (s) => s.id === added.id && s.status === 'awaiting-trust')
    // the global prompt opens for it: trust from there
    const trust = page.getByRole('dialog', { name: 'Trust this server certificate?' })
    await trust.getByRole('button', { name: 'Trust' }).click()
    expect(waiting.certificate).toBeDefined()
    await h.api.waitForEvent('connection.state', (s) => s.id === added.id && s.status === 'auth-failed')
    const row = treeRow(page, new URL(p.masterUrl).host)
    await row.click()
    await expect.poll(() => field(page, 'Password saved').textContent()).toBe('No')
    await expect.poll(() => field(page, 'Status').textContent()).toMatch(/^Login failed: The pool refused/)
    await noCodes(page)

    // Connect asks (the refused password is not tried again)
    await page.getByRole('toolbar').getByRole('button', { name: 'Connect', exact: true }).click()
    const ask = page.getByRole('dialog', { name: /^Connect to / })
    await ask.waitFor()
    expect(await ask.getByRole('alert').first().textContent()).toMatch(/^The pool refused the user name/)
    // another wrong one: the dialog stays, says why and asks again
    await ask.getByLabel('Password', { exact: true }).fill('still-wrong')
    await ask.getByRole('button', { name: 'Connect' }).click()
    await h.api.waitForEvent('connection.state', (s) => s.id === added.id && s.status === 'connecting')
    await expect.poll(async () => (await ask.getByRole('alert').allTextContents()).join(' ')).toMatch(/The pool refused the user name/)
    expect(await ask.isVisible()).toBe(true)
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('edit-password')
    await page.keyboard.press('Escape')
    await expect.poll(() => ask.count()).toBe(0)

    // Edit connection → Save with the right password: it reconnects by itself
    await row.click({ button: 'right' })
    await page.getByRole('menu', { name: 'Actions' }).getByRole('menuitem', { name: 'Edit connection…' }).click()
    const edit = page.getByRole('dialog', { name: /^Edit connection/ })
    await edit.getByLabel('Password', { exact: true }).fill(p.password)
    await edit.getByRole('button', { name: 'Save' }).click()
    await h.api.waitForEvent('connection.state', (s) => s.id === added.id && s.status === 'connected')
    await expect.poll(() => field(page, 'Password saved').textContent()).toBe('Yes')
  })

  it('logged no page error', () => {
    expect(h.pageErrors).toEqual([])
  })
})

describe('an unreachable server (issue 15 item 5)', () => {
  let h: AppHarness
  beforeAll(async () => {
    h = await startApp({ fleet: 'tiny', poolOptions: { reconnect: { initialMs: 200, maxMs: 1000, factor: 2, jitter: 0 } } })
  })
  afterAll(async () => {
    await h?.close()
  })

  it('says unreachable with the reason after a few tries and stops; never reconnecting, no member count', async () => {
    const { page } = h
    const dialog = await openAddServer(page)
    await dialog.getByLabel('Server', { exact: true }).fill('127.77.1.1:1')
    await dialog.getByLabel('Password', { exact: true }).fill('secret')
    await dialog.getByRole('button', { name: 'Connect' }).click()
    const alert = dialog.getByRole('alert').filter({ hasText: 'could not be reached' })
    await alert.waitFor({ timeout: 30_000 })
    expect(await alert.textContent()).toMatch(/^127\.77\.1\.1:1 could not be reached \(3 tries\): /)
    expect(await focusInside(page, 'Add Server')).toBe(true)
    await page.keyboard.press('Escape')
    await expect.poll(() => page.getByRole('dialog', { name: 'Add Server' }).count()).toBe(0)
    const row = treeRow(page, '127.77.1.1:1')
    await expect.poll(() => row.textContent()).toContain('Unreachable: 127.77.1.1:1 could not be reached (3 tries)')
    await row.click()
    const details = await page.locator('dl.props').first().innerText()
    expect(details).not.toMatch(/Connection lost|members/)
    // the typed password was never accepted by a pool: not shown as saved
    expect(await field(page, 'Password saved').textContent()).toBe('No (kept for this session only)')
    await noCodes(page)
    const states = h.api.events.filter((e) => e.event === 'connection.state').map((e) => (e.payload as { status: string }).status)
    expect(states).not.toContain('reconnecting')
    expect(states[states.length - 1]).toBe('unreachable')
  })

  it('logged no page error', () => {
    expect(h.pageErrors).toEqual([])
  })
})

describe('the keychain (issue 12 item 6, issue 15 item 12)', () => {
  it('a wrong XENPILOT_PASSPHRASE is “locked”; Add Server with Remember refuses in the dialog, keeps focus, saves nothing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'xp-e2e-locked-'))
    await new PassphraseFileKeychain(join(dataDir, 'keychain.enc'), 'the right one').set('x', 'y')
    const h = await startApp({ fleet: 'tiny', dataDir, env: { XENPILOT_PASSPHRASE: 'a wrong one' } })
    try {
      const { page } = h
      await expect.poll(async () => (await h.api.call('keychain.state', {})).status).toBe('locked')
      const p = h.sim.pools[0]
      if (!p) throw new Error('no pool')
      const dialog = await openAddServer(page)
      await expect.poll(() => dialog.innerText()).toContain('Locked: the passphrase does not open keychain.enc')
      await dialog.getByLabel('Server', { exact: true }).fill(new URL(p.masterUrl).host)
      await dialog.getByLabel('Password', { exact: true }).fill(p.password)
      for (let i = 0; i < 2; i++) {
        await dialog.getByRole('button', { name: 'Connect' }).click()
        await dialog.getByRole('alert').filter({ hasText: 'The server was not added' }).waitFor()
        expect(await focusInside(page, 'Add Server')).toBe(true)
      }
      expect(await h.api.call('connections.list', {})).toEqual([])
      await page.keyboard.press('Escape')
      await expect.poll(() => page.getByRole('dialog', { name: 'Add Server' }).count()).toBe(0)
      expect(h.pageErrors).toEqual([])
    } finally {
      await h.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('without XENPILOT_PASSPHRASE, after a restart the pools ask for a password in a neutral state, never “Login failed”', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'xp-e2e-nopass-'))
    const first = await startApp({ fleet: 'tiny', trustPools: true, page: false, dataDir })
    try {
      for (const c of await first.api.call('connections.list', {})) await first.api.waitForEvent('connection.state', (s) => s.id === c.id && s.status === 'connected')
      await first.app.close()
      const second = await startApp({ sim: first.sim, dataDir })
      try {
        const { page } = second
        for (const p of second.sim.pools) {
          await expect.poll(() => treeRow(page, p.name).first().textContent(), { timeout: 30_000 }).toContain('Password needed')
        }
        expect(await page.locator('body').innerText()).not.toContain('Login failed')
        await noCodes(page)
        // Connect asks for it
        await treeRow(page, second.sim.pools[0]?.name ?? '').first().click()
        await page.getByRole('toolbar').getByRole('button', { name: 'Connect', exact: true }).click()
        await page.getByRole('dialog', { name: /^Connect to / }).waitFor()
        expect(second.pageErrors).toEqual([])
      } finally {
        await second.close()
      }
    } finally {
      await first.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
