/**
 * A real small disk for fault tests: a tmpfs the test mounts (needs root; `skipReason` says why not
 * otherwise), which the test can fill to the last byte (ENOSPC on the next write) and empty again,
 * or remount read-only (EROFS).
 */
import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

/** undefined when a tmpfs can be mounted here; else the reason the test is skipped */
export const smallDiskSkipReason: string | undefined = (() => {
  if (!isRoot) return 'mounting a small tmpfs needs root (run the suite as root to exercise a full disk)'
  const probe = mkdtempSync(join(tmpdir(), 'xp-mount-probe-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' })
    execFileSync('umount', [probe], { stdio: 'ignore' })
    return undefined
  } catch (e) {
    return `this machine refuses to mount a tmpfs (${(e as Error).message.split('\n')[0]})`
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
})()

export interface SmallDisk {
  /** the mount point (empty tmpfs) */
  dir: string
  /** writes a filler file until the disk is full: the next write anywhere on it gets ENOSPC */
  fill(): void
  /** removes the filler */
  unfill(): void
  readOnly(on: boolean): void
  unmount(): void
}

export function mountSmallDisk(sizeBytes = 8 * 1024 * 1024): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'xp-small-disk-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir])
  const filler = join(dir, '.filler')
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a')
      const block = Buffer.alloc(64 * 1024, 0x78)
      try {
        for (;;) writeSync(fd, block)
      } catch {
        // ENOSPC: now byte by byte to the very end
        try {
          for (;;) writeSync(fd, block, 0, 1)
        } catch {
          // full
        }
      } finally {
        closeSync(fd)
      }
    },
    unfill() {
      rmSync(filler, { force: true })
    },
    readOnly(on) {
      execFileSync('mount', ['-o', `remount,${on ? 'ro' : 'rw'}`, dir])
    },
    unmount() {
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' })
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'ignore' })
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** leftover temp files of the small-file store in `dir` */
export function tempFilesIn(dir: string): string[] {
  return execFileSync('find', [dir, '-name', '*.tmp'], { encoding: 'utf8' }).split('\n').filter(Boolean)
}

