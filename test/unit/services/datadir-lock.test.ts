import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { acquireDataDirLock, DataDirInUseError, LOCK_FILE } from '../../../main/services/datadir-lock'

describe('data folder lock', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'xp-lock-'))
    dirs.push(d)
    return d
  }

  it('is held by one runtime at a time; the refusal names the holder; release frees it', () => {
    const dir = tmp()
    const a = acquireDataDirLock(dir, 'browser')
    expect(statSync(join(dir, LOCK_FILE)).mode & 0o777).toBe(0o600)
    let err: unknown
    try {
      acquireDataDirLock(dir, 'electron')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(DataDirInUseError)
    expect((err as Error).message).toMatch(new RegExp(`in use by another XenPilot \\(pid ${process.pid}, browser mode, started \\d{4}-`))
    a.release()
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false)
    const b = acquireDataDirLock(dir, 'electron')
    b.release()
  })

  it('takes over a lock whose process is gone, and an unreadable one', () => {
    const dir = tmp()
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    const deadPid = Number(dead.stdout)
    expect(deadPid).toBeGreaterThan(0)
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid, host: hostname(), mode: 'browser', startedAt: '2026-01-01T00:00:00Z' }))
    const a = acquireDataDirLock(dir, 'browser')
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid })
    a.release()
    writeFileSync(join(dir, LOCK_FILE), '{"pid": "nonsense"')
    acquireDataDirLock(dir, 'browser').release()
  })

  it('does not count a live process that is not a XenPilot (a reused pid) as the holder', () => {
    if (process.platform !== 'linux') return
    const dir = tmp()
    // pid 1 is alive and is no node/electron process in this sandbox… unless it is; then skip
    const cmd = readFileSync('/proc/1/cmdline', 'latin1').toLowerCase()
    if (/node|electron|xenpilot|tsx/.test(cmd)) return
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: hostname(), mode: 'browser', startedAt: 'x' }))
    acquireDataDirLock(dir, 'browser').release()
  })

  it('a release never removes a lock that another runtime took meanwhile', () => {
    const dir = tmp()
    const a = acquireDataDirLock(dir, 'browser')
    // the file is replaced behind a's back (a stale take-over elsewhere)
    const other = { pid: process.pid, host: hostname(), mode: 'electron', startedAt: 'later' }
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(other))
    a.release()
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toEqual(other)
  })
})
