/**
 * One XenPilot per data folder. Two processes on one folder (an Electron app and a browser-mode
 * server started on the same folder, or two `npm run web -- --data-dir D`) would each rewrite
 * connections.json, pins.json and settings.json from their own memory and both write the cache:
 * the last writer silently wins. Electron's single-instance lock covers only Electron.
 *
 * <dataDir>/xenpilot.lock is created exclusively (O_EXCL) and holds the owner's pid, host name,
 * mode and start time. A lock whose owner is gone (kill -9, power loss) is stale and taken over;
 * so is one whose pid now belongs to an unrelated program (Linux: /proc/PID/cmdline names neither
 * node nor electron nor xenpilot). Released on close.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'

export const LOCK_FILE = 'xenpilot.lock'

/** the lock file as read from disk: a pid is required, the rest says what it can */
const LockOwner = z.object({
  pid: z.number().int().positive(),
  host: z.string().catch(''),
  mode: z.string().catch('unknown'),
  startedAt: z.string().catch('at an unknown time'),
})
type LockOwner = z.infer<typeof LockOwner>

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError'
  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner,
  ) {
    super(
      `the data folder ${dataDir} is in use by another XenPilot (pid ${owner.pid}, ${owner.mode} mode, started ${owner.startedAt}). ` +
        `Close that one first, or start this one with another data folder (--data-dir).`,
    )
  }
}

export interface DataDirLock {
  readonly path: string
  release(): void
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = LockOwner.safeParse(JSON.parse(text))
    return o.success ? o.data : undefined
  } catch {
    return undefined
  }
}

/** is `owner` a live XenPilot-like process on this machine? */
function ownerAlive(owner: LockOwner): boolean {
  // a lock written on another machine (a data folder on a network share): we cannot check it, so it
  // counts as held — refusing is the safe side, and the message names the machine's owner pid
  if (owner.host !== '' && owner.host !== hostname()) return true
  try {
    process.kill(owner.pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
  if (process.platform !== 'linux') return true
  try {
    const cmd = readFileSync(`/proc/${owner.pid}/cmdline`, 'latin1').toLowerCase()
    return /node|electron|xenpilot|tsx/.test(cmd)
  } catch {
    return true
  }
}

function createExclusive(path: string, owner: LockOwner): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o600)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw e
  }
  try {
    writeSync(fd, JSON.stringify(owner))
  } catch (e) {
    // a full disk takes the name but not the content: leave no empty lock behind
    closeSync(fd)
    try {
      unlinkSync(path)
    } catch {
      // gone already
    }
    throw e
  }
  closeSync(fd)
  return true
}

export function acquireDataDirLock(dataDir: string, mode: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE)
  const me: LockOwner = { pid: process.pid, host: hostname(), mode, startedAt: new Date().toISOString() }
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(path, me)) return lockOf(path, me)
    let text = ''
    try {
      text = readFileSync(path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue // released meanwhile
      throw e
    }
    const owner = parseOwner(text)
    // an unreadable lock (half-written by a process that died, or garbage) is stale
    if (owner && ownerAlive(owner)) throw new DataDirInUseError(dataDir, owner)
    // stale: move it aside atomically, so two processes taking over at once cannot both win
    // (only one rename of this name succeeds; the loser sees ENOENT and tries O_EXCL again)
    const aside = `${path}.stale-${process.pid}`
    try {
      renameSync(path, aside)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw e
    }
    if (readFileSync(aside, 'utf8') !== text) {
      // another process replaced the stale lock with its own between our read and rename: put it
      // back (link fails if a third one already holds the name, which is fine too)
      try {
        linkSync(aside, path)
      } catch {
        // someone holds the name
      }
    }
    unlinkSync(aside)
  }
  throw new Error(`could not take the lock ${path}: other processes keep taking it`)
}

function lockOf(path: string, me: LockOwner): DataDirLock {
  let released = false
  return {
    path,
    release() {
      if (released) return
      released = true
      try {
        // only remove it if it is still ours
        const owner = parseOwner(readFileSync(path, 'utf8'))
        if (owner?.pid === me.pid && owner.startedAt === me.startedAt) unlinkSync(path)
      } catch {
        // already gone
      }
    },
  }
}
