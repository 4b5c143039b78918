/**
 * What the user must know about a start is said at the top of the window: here the previous start
 * never finished, so automatic connection is paused, and keychain.enc was damaged and set aside —
 * each banner says so (the time as a local time, not an ISO string), and can be dismissed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { clock } from '../../renderer/src/model/connection'
import { startApp, type AppHarness } from './harness'

describe('start-up notices', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-notices-'))
  let h: AppHarness | undefined
  afterAll(async () => {
    await h?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('an interrupted last start and a damaged keychain: each banner says it, the time as the window writes times, and Dismiss closes it', async () => {
    const since = new Date(Date.now() - 5 * 60_000).toISOString()
    writeFileSync(join(dataDir, 'startup.json'), JSON.stringify({ version: 1, startingSince: since, pid: 4242 }))
    writeFileSync(join(dataDir, 'keychain.enc'), 'not the keychain XenPilot wrote')
    h = await startApp({ dataDir, viewport: { width: 1024, height: 700 }, env: { XENPILOT_PASSPHRASE: 'notices spec' } })
    const banner = h.page.getByRole('alert', { name: 'Automatic connection is paused.' })
    await banner.waitFor({ timeout: 30_000 })
    const text = (await banner.textContent()) ?? ''
    // the browser and this test share the machine's time zone: the window's clock (HH:MM today)
    expect(text).toContain(`The previous run of XenPilot stopped during start-up (it started at ${clock(since)} and never finished starting)`)
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T|\{at\}/)
    const keychain = h.page.getByRole('alert', { name: 'A file in XenPilot’s data folder could not be read.' })
    await keychain.waitFor({ timeout: 30_000 })
    expect(await keychain.textContent()).toMatch(/The remembered passwords \(.*keychain\.enc\) could not be read: .*kept as keychain\.enc\.damaged-.*Remembered passwords must be entered again\./)
    for (const scheme of ['light', 'dark'] as const) {
      await h.page.emulateMedia({ colorScheme: scheme })
      await h.page.screenshot({ path: join(tmpdir(), `xenpilot-startup-notice-${scheme}.png`) })
    }
    await h.page.getByRole('button', { name: 'Dismiss: Automatic connection is paused.' }).click()
    await banner.waitFor({ state: 'detached', timeout: 10_000 })
    await h.page.getByRole('button', { name: 'Dismiss: A file in XenPilot’s data folder could not be read.' }).click()
    await keychain.waitFor({ state: 'detached', timeout: 10_000 })
    expect(h.pageErrors.filter((e) => !/WebSocket|net::/.test(e))).toEqual([])
  })
})
