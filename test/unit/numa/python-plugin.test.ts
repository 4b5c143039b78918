import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = join(__dirname, '../../..')

describe('dom0 plugin (Python) parsers and entry point', () => {
  it('its unittest suite passes under /usr/bin/python3 against the shared fixtures', () => {
    if (!existsSync('/usr/bin/python3')) throw new Error('/usr/bin/python3 is required to test the dom0 plugin')
    const r = spawnSync('/usr/bin/python3', ['-m', 'unittest', 'discover', '-s', 'build/xenpilot_numa/tests', '-v'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 60_000,
    })
    const out = `${r.stdout}${r.stderr}`
    const ran = /Ran (\d+) tests?/.exec(out)
    expect(ran, out).not.toBeNull()
    expect(Number(ran?.[1])).toBeGreaterThanOrEqual(11)
    expect(r.status, out).toBe(0)
    expect(out).toMatch(/\nOK\s*$/)
  })
})
