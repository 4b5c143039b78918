import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { randomBytes } from 'node:crypto'

/**
 * Writes a whole file so readers see either the old or the new content, never half of it:
 * temp file in the same directory (mode 0600: these files hold pins, connection lists, secrets),
 * fsync, rename over the target.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const fh = await open(tmp, 'w', mode)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
}

/** serialises writers of one file so a slow write never lands after a newer one */
export class SerialWriter {
  private chain: Promise<void> = Promise.resolve()
  constructor(private readonly path: string) {}
  write(data: () => string): Promise<void> {
    const next = this.chain.then(() => writeFileAtomic(this.path, data()))
    this.chain = next.catch(() => undefined)
    return next
  }
  /** resolves when every write queued so far has landed (or failed) */
  idle(): Promise<void> {
    return this.chain
  }
}
