/**
 * The one way XenPilot keeps a small file on disk (everything that is not the SQLite cache):
 * connections.json, pins.json, settings.json, window-state.json, startup.json and both keychains
 * (browser mode's keychain.enc, Electron's safeStorage keychain.json).
 *
 * - Versioned: every file is a JSON object with a `version` number; an older version is migrated on
 *   read, a newer one (written by a newer XenPilot) is left untouched and writes are refused.
 * - A zod schema on every read: anything else (bad JSON, wrong shape, an unreadable file) is moved
 *   aside as `<name>.damaged-<time>` and said in a sentence; the document starts empty.
 * - Writes: to `<name>.<pid>.<random>.tmp` in the same folder (mode 0600), fsync of the file, rename
 *   over the target, fsync of the folder — a reader (or a restart after a power cut) sees the old or
 *   the new content, never half. A failed write removes its temp file and rejects with a
 *   SmallFileWriteError whose message is a sentence naming the file and the reason ("the disk
 *   holding /d is full"). Writes of one file are serialised.
 * - StoredDocument: the in-memory copy changes only after its write succeeded (`update`), so a
 *   change the disk refused is never shown or acted on.
 *
 * Capability-neutral (pools, services, app and the keychains all use it), hence its own folder.
 */
import { readFileSync, renameSync } from 'node:fs'
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import type { z } from 'zod'

export type SmallFileProblemKind = 'damaged' | 'too-new' | 'unreadable' | 'disk-full' | 'read-only' | 'io-error'

export interface SmallFileProblem {
  kind: SmallFileProblemKind
  file: string
  /** a sentence for people: what happened to which file and what XenPilot did */
  message: string
}

export class SmallFileWriteError extends Error {
  override name = 'SmallFileWriteError'
  constructor(
    readonly kind: SmallFileProblemKind,
    readonly file: string,
    message: string,
    readonly code: string | undefined,
  ) {
    super(message)
  }
}

export interface SmallFileSpec<T> {
  /** absolute path of the file */
  file: string
  /** what it holds, for sentences: "the saved servers", "the certificate pins" */
  what: string
  /** the version written now */
  version: number
  /** the current document, `version` field included (z.literal(version)) */
  schema: z.ZodType<T>
  /**
   * documents of an older version (or without a `version` field: 0) into the current shape,
   * before the schema checks them; without it only the current version is read
   */
  migrate?: (fromVersion: number, doc: Record<string, unknown>) => unknown
  /** the document when the file does not exist (or was damaged) */
  empty: () => T
  /** file mode (default 0600: these files hold pins, servers, secrets) */
  mode?: number
}

export interface SmallFileRead<T> {
  value: T
  /** where the value came from: the file, or empty() because there was none / it was set aside */
  from: 'file' | 'missing' | 'damaged' | 'too-new'
  problem?: SmallFileProblem
}

/** a file's errno code, if it has one */
function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined
}

/** why a write failed, as the end of a sentence, and its kind */
export function describeWriteFailure(e: unknown, folder: string): { kind: SmallFileProblemKind; reason: string } {
  const code = codeOf(e)
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return { kind: 'disk-full', reason: `the disk holding ${folder} is full` }
    case 'EROFS':
      return { kind: 'read-only', reason: `${folder} is on a read-only file system` }
    case 'EACCES':
    case 'EPERM':
      return { kind: 'read-only', reason: `XenPilot may not write in ${folder} (permission denied)` }
    case 'EIO':
      return { kind: 'io-error', reason: `the disk holding ${folder} reported an input/output error` }
    case 'ENOENT':
    case 'ENOTDIR':
      return { kind: 'io-error', reason: `the folder ${folder} does not exist any more` }
    default:
      return { kind: 'io-error', reason: e instanceof Error ? e.message : String(e) }
  }
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
}

function issues(e: z.ZodError): string {
  return e.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'the document'}: ${i.message}`)
    .join('; ')
}

export class SmallFile<T> {
  private chain: Promise<void> = Promise.resolve()
  /** set when the file must not be written (too new, or damaged and not set aside) */
  private refused: SmallFileProblem | undefined

  constructor(readonly spec: SmallFileSpec<T>) {}

  get file(): string {
    return this.spec.file
  }

  /** reads and checks the file; never throws (trouble is in `problem`, and the value is empty()) */
  read(): SmallFileRead<T> {
    const { file, what } = this.spec
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (e) {
      if (codeOf(e) === 'ENOENT') return { value: this.spec.empty(), from: 'missing' }
      const problem: SmallFileProblem = { kind: 'unreadable', file, message: `XenPilot could not read ${what} (${file}): ${e instanceof Error ? e.message : String(e)}. It starts without them and will not overwrite the file.` }
      this.refused = problem
      return { value: this.spec.empty(), from: 'damaged', problem }
    }
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch (e) {
      return this.damaged(text.trim() === '' ? 'the file is empty' : `it is not valid JSON (${e instanceof Error ? e.message : String(e)})`)
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return this.damaged('it does not hold a JSON object')
    const doc = data as Record<string, unknown>
    const version = doc['version'] === undefined ? 0 : doc['version']
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) return this.damaged(`its version ${JSON.stringify(version)} is not a number`)
    if (version > this.spec.version) {
      const problem: SmallFileProblem = {
        kind: 'too-new',
        file,
        message: `${cap(what)} (${file}) were written by a newer XenPilot (file version ${version}, this one reads up to ${this.spec.version}); the file is left untouched and changes are not saved in this session.`,
      }
      this.refused = problem
      return { value: this.spec.empty(), from: 'too-new', problem }
    }
    let candidate: unknown = doc
    if (version < this.spec.version) {
      if (!this.spec.migrate) return this.damaged(`its version ${version} is not one this XenPilot reads`)
      try {
        candidate = this.spec.migrate(version, doc)
      } catch (e) {
        return this.damaged(`it could not be brought from version ${version} to ${this.spec.version} (${e instanceof Error ? e.message : String(e)})`)
      }
    }
    const parsed = this.spec.schema.safeParse(candidate)
    if (!parsed.success) return this.damaged(`its content is not what XenPilot expects — ${issues(parsed.error)}`)
    return { value: parsed.data, from: 'file' }
  }

  /** the file is moved aside (kept for the user) and the document starts empty */
  private damaged(why: string): SmallFileRead<T> {
    const { file, what } = this.spec
    const aside = `${file}.damaged-${stamp(new Date())}`
    try {
      renameSync(file, aside)
    } catch (e) {
      const problem: SmallFileProblem = {
        kind: 'damaged',
        file,
        message: `${cap(what)} (${file}) could not be read: ${why}. It could not be set aside either (${e instanceof Error ? e.message : String(e)}), so XenPilot starts without them and will not overwrite it; move the file away to start over.`,
      }
      this.refused = problem
      return { value: this.spec.empty(), from: 'damaged', problem }
    }
    return {
      value: this.spec.empty(),
      from: 'damaged',
      problem: { kind: 'damaged', file, message: `${cap(what)} (${file}) could not be read: ${why}. The file was kept as ${basename(aside)} and XenPilot started without them.` },
    }
  }

  /**
   * Writes `value` (whose `version` is the spec's): resolves once it is on disk, rejects with a
   * SmallFileWriteError (a sentence) — then the old content is still there and no temp file is left.
   */
  write(value: T): Promise<void> {
    const next = this.chain.then(() => this.writeNow(value))
    this.chain = next.catch(() => undefined)
    return next
  }

  /** resolves when every write queued so far has landed (or failed) */
  idle(): Promise<void> {
    return this.chain
  }

  private async writeNow(value: T): Promise<void> {
    const { file, what } = this.spec
    const folder = dirname(file)
    if (this.refused) throw new SmallFileWriteError(this.refused.kind, file, `XenPilot did not save ${what}: ${this.refused.message}`, undefined)
    const text = JSON.stringify(value, null, 1) + '\n'
    const tmp = join(folder, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
    try {
      await mkdir(folder, { recursive: true, mode: 0o700 })
      const fh = await open(tmp, 'wx', this.spec.mode ?? 0o600)
      try {
        await fh.writeFile(text, 'utf8')
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, file)
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined)
      const { kind, reason } = describeWriteFailure(e, folder)
      throw new SmallFileWriteError(kind, file, `XenPilot could not save ${what} (${file}): ${reason}. Nothing was changed.`, codeOf(e))
    }
    await syncFolder(folder)
  }
}

/** the rename itself reaches the disk (Linux, macOS); Windows cannot open a folder for that: skipped */
async function syncFolder(folder: string): Promise<void> {
  let fh: FileHandle
  try {
    fh = await open(folder, 'r')
  } catch {
    return
  }
  try {
    await fh.sync()
  } catch {
    // EINVAL/EPERM on file systems without directory fsync: the rename is still atomic
  } finally {
    await fh.close()
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}

/**
 * A document kept in memory and on disk, the memory copy changed only after the disk took the
 * change. `update` calls are serialised: each one sees the value the previous one committed.
 */
export class StoredDocument<T> {
  private current: T
  private queue: Promise<unknown> = Promise.resolve()
  readonly store: SmallFile<T>
  /** what reading the file at open found wrong, if anything (said once by the owner) */
  readonly problem: SmallFileProblem | undefined
  readonly loadedFrom: SmallFileRead<T>['from']

  constructor(spec: SmallFileSpec<T>) {
    this.store = new SmallFile(spec)
    const r = this.store.read()
    this.current = r.value
    this.problem = r.problem
    this.loadedFrom = r.from
  }

  get value(): T {
    return this.current
  }

  get file(): string {
    return this.store.file
  }

  /**
   * `change` gets the committed value and returns the next one; it is written, and only then does
   * `value` become it. Rejects (SmallFileWriteError, or whatever `change` threw) with `value` untouched.
   */
  update(change: (current: T) => T): Promise<T> {
    const run = async (): Promise<T> => {
      const next = change(this.current)
      if (next === this.current) return next
      await this.store.write(next)
      this.current = next
      return next
    }
    const p = this.queue.then(run, run)
    this.queue = p.catch(() => undefined)
    return p
  }

  /** resolves when every update queued so far has landed (or failed) */
  idle(): Promise<void> {
    return this.queue.then(() => this.store.idle())
  }
}
