/** browser mode's last net: an exception nobody caught is logged with its stack, and the process lives on */
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..')

describe('installCrashNet', () => {
  it('logs an uncaught exception and an unhandled rejection with their stacks; the process goes on', () => {
    const script = `
      import { installCrashNet } from './main/web/crash-net.ts'
      installCrashNet((l) => process.stderr.write(l + '\\n'))
      setTimeout(() => { throw new Error('boom in a timer') }, 1)
      setTimeout(() => { void Promise.reject(new Error('lost promise')) }, 5)
      setTimeout(() => { process.stdout.write('still alive') }, 50)
    `
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 30_000 })
    expect(r.stdout).toBe('still alive')
    expect(r.status).toBe(0)
    expect(r.stderr).toMatch(/uncaught exception and keeps running: Error: boom in a timer\n\s+at /)
    expect(r.stderr).toMatch(/unhandled rejection and keeps running: Error: lost promise/)
  })
})
