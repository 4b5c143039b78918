/**
 * `npm run demo` without an Electron binary: browser mode on the simulator's demo fleet, every
 * pool already added and trusted (connected without any prompt), the URL first on stdout, and
 * Ctrl-C stops the app and the simulator and removes the demo's data folder. (The page itself is
 * the e2e tests' business: this spec never rebuilds renderer/dist under them.)
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import type { ConnectionState } from '../../../shared/contract'
import { connectContract } from '../../e2e/harness'

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..')

describe('npm run demo (browser mode)', () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/demo.ts'), '--no-renderer-build'], { cwd: root, env: { ...process.env, DISPLAY: '', WAYLAND_DISPLAY: '' } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })

  it('prints the URL first and serves the demo pools, connected without a trust prompt', async () => {
    await expect.poll(() => stdout.includes('\n') || child.exitCode !== null, { timeout: 120_000, interval: 200 }).toBe(true)
    const url = stdout.split('\n')[0] ?? ''
    expect(url, stderr).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/)
    const api = await connectContract(url)
    try {
      await expect
        .poll(async () => (await api.call('connections.list', {})).map((c: ConnectionState) => `${c.label}: ${c.status}`).sort(), { timeout: 60_000, interval: 250 })
        .toEqual(['Lab: connected', 'Legacy: connected', 'Production-DR: connected', 'Production: connected'])
      expect(api.events.some((e) => e.event === 'connection.state' && (e.payload as ConnectionState).status === 'awaiting-trust')).toBe(false)
      // a Lab VM's disk tracks changes: Migrate VM… offers to turn CBT off (issue 17)
      await expect.poll(() => stderr, { timeout: 30_000, interval: 250 }).toMatch(/changed block tracking is on for the disk of \S+ in Lab/)
    } finally {
      api.close()
    }
    // its own waits (up to 120 s for the URL, 60 s for the pools, 30 s for the CBT line) are longer than the 60 s default test timeout
  }, 240_000)

  it('stops everything on Ctrl-C and removes its data folder', async () => {
    const dataDir = /demo data in ([^;\n]+);/.exec(stderr)?.[1]
    expect(dataDir && existsSync(dataDir), stderr).toBe(true)
    child.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(existsSync(dataDir ?? '')).toBe(false)
  })
})
