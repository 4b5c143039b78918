/**
 * The host terminal (issue 19) end to end in browser mode with Chromium against the simulator's dom0 sshd: the
 * first connection shows the host key's fingerprint to compare and trust; the shell runs `xl info` and its output
 * appears on the terminal screen; after the host's key changes, the connection is refused with both fingerprints
 * and nothing reaches the screen until the user explicitly confirms the new key. "Open in a new window" opens the
 * terminal on its own page (browser mode: a new tab on the #/terminal route, with the page's token; the page without
 * the token is refused), where it logs in on the port remembered for the host and runs `xl info`.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFleet } from '../sim/fleet'
import type { SimPoolHandle } from '../sim/model'
import { detailsPane, selectInTree, startApp, type AppHarness } from './harness'
import { screens } from './screens'

const LONG = 60_000
const HOST = 'tiny-host-1'
const details = detailsPane
const screen = (page: Page) => details(page).getByRole('region', { name: 'Terminal screen' })

const VIEW = { width: 1400, height: 1000 }
const shots = (page: Page, name: string): Promise<string[]> => screens(page, `terminal-${name}`, VIEW)

let h: AppHarness
let pool: SimPoolHandle

beforeAll(async () => {
  h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.74', opDurationMs: 0 }), trustPools: true, viewport: VIEW })
  pool = h.sim.pool('tiny-current')
}, 180_000)
afterAll(async () => {
  await h?.close()
})

async function openTerminalTab(page: Page): Promise<void> {
  await selectInTree(page, HOST, LONG)
  await details(page).getByRole('tab', { name: 'Terminal', exact: true }).click()
}

async function login(page: Page): Promise<void> {
  const form = details(page).getByRole('form', { name: 'SSH login' })
  await form.getByRole('spinbutton', { name: 'Port' }).fill(String(h.sim.sshPort))
  await form.getByRole('textbox', { name: 'Password' }).fill(pool.password)
  await form.getByRole('button', { name: 'Connect' }).click()
}

describe('host terminal', () => {
  it('trusts the host key shown on first use, runs xl info and shows its output; a changed host key is refused', async () => {
    const page = h.page
    const host = pool.hosts.find((x) => x.name === HOST)
    if (!host) throw new Error(`no ${HOST}`)
    await openTerminalTab(page)
    await expect.poll(() => details(page).getByRole('status').first().textContent(), { timeout: LONG }).toMatch(/SSH is on/)
    await login(page)
    const first = details(page).getByRole('dialog', { name: 'Unknown host key' })
    await first.waitFor({ timeout: LONG })
    expect(await first.textContent()).toContain(host.sshFingerprint)
    await shots(page, 'trust')
    await first.getByRole('button', { name: 'Trust and connect' }).click()
    await expect.poll(() => screen(page).textContent(), { timeout: LONG }).toMatch(/\[root@.*~\]#/)
    await screen(page).click()
    await page.keyboard.type('xl info\r')
    await expect.poll(() => screen(page).textContent(), { timeout: LONG }).toMatch(/xend_config_format\s*:\s*4/)
    expect(await screen(page).textContent()).toMatch(/xen_scheduler\s*:\s*credit/)
    await shots(page, 'xl-info')

    // the host's key changes (reinstalled, or someone in the middle): refused, both fingerprints shown
    await details(page).getByRole('toolbar', { name: 'Terminal' }).getByRole('button', { name: 'Disconnect' }).click()
    const old = host.sshFingerprint
    const now = pool.rotateHostKey(host.address)
    await login(page)
    const changed = details(page).getByRole('dialog', { name: 'Host key changed' })
    await changed.waitFor({ timeout: LONG })
    expect(await changed.getByRole('alert').textContent()).toMatch(/changed — connection refused/)
    const text = (await changed.textContent()) ?? ''
    expect(text).toContain(old)
    expect(text).toContain(now)
    expect(await screen(page).isVisible()).toBe(false)
    const replace = changed.getByRole('button', { name: 'Replace the pinned key and connect' })
    expect(await replace.isDisabled()).toBe(true)
    await shots(page, 'changed')
    await changed.getByRole('checkbox', { name: 'I verified the new key on the host' }).check()
    await replace.click()
    await expect.poll(() => screen(page).textContent(), { timeout: LONG }).toMatch(/\[root@.*~\]#/)
    expect(h.pageErrors).toEqual([])
  }, 240_000)

  it('opens in a new window (browser: a tab on the terminal route, token kept), which logs in on the remembered port and runs xl info', async () => {
    const page = h.page
    const host = pool.hosts.find((x) => x.name === HOST)
    if (!host) throw new Error(`no ${HOST}`)
    const [popup] = await Promise.all([page.context().waitForEvent('page'), details(page).getByRole('toolbar', { name: 'Terminal' }).getByRole('button', { name: 'Open in a new window' }).click()])
    // this tab closed its own session and says where the terminal went
    await details(page).getByRole('status').filter({ hasText: 'This terminal is open in its own window.' }).waitFor({ timeout: LONG })
    const popupErrors: string[] = []
    popup.on('pageerror', (e) => popupErrors.push(e.message))
    await popup.waitForLoadState('domcontentloaded')
    const url = new URL(popup.url())
    expect(url.hash.startsWith('#/terminal/') && url.hash.endsWith(`/${encodeURIComponent(host.ref)}`)).toBe(true)
    expect(url.searchParams.get('token')).toBe(new URL(h.url).searchParams.get('token'))
    // the same page without its token is refused by the web door
    const bare = new URL(popup.url())
    bare.search = ''
    expect((await fetch(bare.toString())).status).toBe(403)
    const region = popup.getByRole('region', { name: `Terminal of ${HOST}` })
    await region.waitFor({ timeout: LONG })
    await expect.poll(() => popup.title(), { timeout: LONG }).toBe(`${HOST} — Terminal — XenPilot`)
    // the port used before is remembered for this host (ssh-logins.json): only the password is typed
    const form = region.getByRole('form', { name: 'SSH login' })
    await expect.poll(() => form.getByRole('spinbutton', { name: 'Port' }).inputValue(), { timeout: LONG }).toBe(String(h.sim.sshPort))
    await form.getByRole('textbox', { name: 'Password' }).fill(pool.password)
    await form.getByRole('button', { name: 'Connect' }).click()
    const popupScreen = region.getByRole('region', { name: 'Terminal screen' })
    await expect.poll(() => popupScreen.textContent(), { timeout: LONG }).toMatch(/\[root@.*~\]#/)
    await popupScreen.click()
    await popup.keyboard.type('xl info\r')
    await expect.poll(() => popupScreen.textContent(), { timeout: LONG }).toMatch(/xend_config_format\s*:\s*4/)
    expect(await region.getByRole('button', { name: 'Open in a new window' }).count()).toBe(0)
    await shots(popup, 'popout')
    await popup.close()
    expect(popupErrors).toEqual([])
    expect(h.pageErrors).toEqual([])
  }, 240_000)
})
