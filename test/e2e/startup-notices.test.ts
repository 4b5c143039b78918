/**
 * What the user must know about a start is said at the top of the window: here the previous start
 * never finished, so automatic connection is paused — the banner says so, and can be dismissed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startApp, type AppHarness } from './harness'

describe('start-up notices', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-notices-'))
  let h: AppHarness | undefined
  afterAll(async () => {
    await h?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('an interrupted last start: the banner says automatic connection is paused, and Dismiss closes it', async () => {
    writeFileSync(join(dataDir, 'startup.json'), JSON.stringify({ version: 1, startingSince: '2026-12-07T10:00:00.000Z', pid: 4242 }))
    h = await startApp({ dataDir, viewport: { width: 1024, height: 700 } })
    const banner = h.page.getByRole('alert', { name: 'Automatic connection is paused.' })
    await banner.waitFor({ timeout: 30_000 })
    expect(await banner.textContent()).toMatch(/The previous run of XenPilot stopped during start-up \(it started at 2026-12-07T10:00:00\.000Z/)
    await h.page.screenshot({ path: join(tmpdir(), 'xenpilot-startup-notice.png') })
    await h.page.getByRole('button', { name: 'Dismiss: Automatic connection is paused.' }).click()
    await banner.waitFor({ state: 'detached', timeout: 10_000 })
    expect(h.pageErrors.filter((e) => !/WebSocket|net::/.test(e))).toEqual([])
  })
})
