/**
 * The desktop app itself, driven by Playwright's Electron support: the window opens, the preload
 * exposes exactly `window.xenpilot = { call, on }`, nothing of Node leaks into the page, and a
 * contract call answers through the IPC door.
 *
 * Needs the Electron binary, which cannot be installed offline: here the test SKIPS and prints
 * why; the release workflow installs the binary and sets XENPILOT_REQUIRE_ELECTRON=1 so that a
 * missing binary fails instead.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { _electron, type ElectronApplication } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { findElectronBinary } from '../../scripts/electron-binary'

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
const binary = findElectronBinary()
const required = process.env['XENPILOT_REQUIRE_ELECTRON'] === '1'
if (!binary.ok) {
  const line = `electron-smoke: SKIPPED — ${binary.reason}: ${binary.checked}`
  if (required) throw new Error(`${line} (XENPILOT_REQUIRE_ELECTRON=1)`)
  console.log(line)
}

describe.skipIf(!binary.ok)('the Electron app', () => {
  let app: ElectronApplication | undefined
  const userData = mkdtempSync(join(tmpdir(), 'xenpilot-electron-'))
  afterAll(async () => {
    await app?.close()
    rmSync(userData, { recursive: true, force: true })
  })

  it('opens its window with the preload API and nothing else', async () => {
    if (!binary.ok) return
    if (!existsSync(join(root, 'out/main/index.js')) || !existsSync(join(root, 'out/preload/preload.cjs'))) {
      const build = spawnSync('npx', ['electron-vite', 'build'], { cwd: root, stdio: 'inherit' })
      expect(build.status, 'electron-vite build').toBe(0)
    }
    app = await _electron.launch({
      executablePath: binary.path,
      args: [root],
      cwd: root,
      env: { ...process.env, XENPILOT_USER_DATA: userData, NODE_ENV: 'production' },
      timeout: 60_000,
    })
    const page = await app.firstWindow({ timeout: 60_000 })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.waitForLoadState('domcontentloaded')
    expect(await page.title()).toBe('XenPilot')
    const surface = await page.evaluate(() => {
      const api: unknown = Reflect.get(globalThis, 'xenpilot')
      return {
        keys: typeof api === 'object' && api !== null ? Object.keys(api).sort() : [],
        require: typeof Reflect.get(globalThis, 'require'),
        process: typeof Reflect.get(globalThis, 'process'),
      }
    })
    expect(surface).toEqual({ keys: ['call', 'on'], require: 'undefined', process: 'undefined' })
    const info = await page.evaluate(async () => {
      const api = Reflect.get(globalThis, 'xenpilot') as { call(m: string, a: unknown): Promise<{ mode: string; name: string }> }
      return api.call('app.info', {})
    })
    expect(info).toMatchObject({ name: 'XenPilot', mode: 'electron' })
    const refused = await page.evaluate(async () => {
      const api = Reflect.get(globalThis, 'xenpilot') as { call(m: string, a: unknown): Promise<unknown> }
      return api.call('connections.add', { address: '' }).then(
        () => 'accepted',
        (e: unknown) => (e as { code?: string }).code,
      )
    })
    expect(refused).toBe('invalid-args')
    expect(errors).toEqual([])
  })
})
