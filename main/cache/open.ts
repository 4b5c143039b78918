/**
 * Opening the cache file: permissions, pragmas, migrations, and recovery from a corrupt file.
 *
 * better-sqlite3 is a native module. It is built here for Node 20; the Electron app needs it
 * rebuilt against Electron's headers (`npx electron-builder install-app-deps`, run by
 * postinstall/CI on a machine with internet access — not possible on the offline dev box).
 * Nothing in main/cache imports Electron, so this code runs unchanged in Node, in browser mode
 * and in a worker thread.
 */
import Database from 'better-sqlite3'
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { migrate, SCHEMA_VERSION, SchemaTooNewError } from './schema'

export const CACHE_FILE_NAME = 'cache.sqlite'

/** Kinds of trouble the cache can run into; every one leaves the app running. */
export type CacheProblemKind = 'corrupt-recovered' | 'disk-full' | 'read-only' | 'unavailable' | 'schema-too-new' | 'io-error' | 'record-skipped'

export class CacheOpenError extends Error {
  constructor(
    readonly kind: CacheProblemKind,
    message: string,
    readonly code: string | undefined,
  ) {
    super(message)
    this.name = 'CacheOpenError'
  }
}

/** the `code` of a Node or SQLite error, if it has one */
export function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** Which problem a SQLite or file-system error is, for the user and for the recovery decision. */
export function classifyError(e: unknown): CacheProblemKind {
  if (e instanceof SchemaTooNewError) return 'schema-too-new'
  const code = errorCode(e) ?? ''
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'corrupt-recovered'
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return 'disk-full'
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return 'read-only'
  if (code.startsWith('SQLITE_CANTOPEN') || code === 'ENOTDIR' || code === 'ENOENT' || code === 'EISDIR') return 'unavailable'
  return 'io-error'
}

export function describeProblem(kind: CacheProblemKind, path: string, e: unknown): string {
  const detail = errorMessage(e)
  switch (kind) {
    case 'corrupt-recovered':
      return `The offline cache ${path} was damaged (${detail}); it was set aside and a new one started.`
    case 'disk-full':
      return `The disk holding the offline cache ${path} is full (${detail}); XenPilot keeps working from memory and will not save the inventory until there is space.`
    case 'read-only':
      return `The offline cache ${path} cannot be written (${detail}); XenPilot keeps working from memory.`
    case 'unavailable':
      return `The offline cache ${path} cannot be opened (${detail}); XenPilot keeps working from memory.`
    case 'schema-too-new':
      return `The offline cache ${path} was written by a newer XenPilot (${detail}); it is left untouched and this session works from memory.`
    case 'io-error':
      return `The offline cache ${path} failed (${detail}); XenPilot keeps working from memory.`
    case 'record-skipped':
      return `The offline cache ${path} left out a record it cannot store (${detail}).`
  }
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** cache.corrupt-YYYYMMDD-HHMMSS.sqlite (local time, as the user reads it), never overwriting one. */
export function corruptName(path: string, at: Date): string {
  const stamp = `${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}-${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`
  const stem = basename(path).replace(/\.sqlite$/, '')
  for (let i = 0; ; i++) {
    const name = join(dirname(path), `${stem}.corrupt-${stamp}${i ? `-${i}` : ''}.sqlite`)
    if (!existsSync(name)) return name
  }
}

/**
 * Sets the damaged file (and its WAL, which belongs to it) aside under a dated name. Only the
 * cache's own files are touched: saved connections and everything else in the folder stay as they are.
 */
export function moveAside(path: string, at: Date): string {
  const target = corruptName(path, at)
  renameSync(path, target)
  if (existsSync(`${path}-wal`)) renameSync(`${path}-wal`, `${target}-wal`)
  // The shared-memory index is derived data of the WAL; a stale one must not meet the new file.
  rmSync(`${path}-shm`, { force: true })
  return target
}

function tighten(path: string): void {
  for (const p of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(p, 0o600)
    } catch {
      // not there (yet): SQLite creates -wal/-shm with the main file's mode
    }
  }
}

export interface OpenOptions {
  /** open without write access (reader connections of the worker mode) */
  readonly?: boolean
  /** highest schema version to migrate to (tests build old files with it) */
  targetVersion?: number
  now?: () => Date
}

export interface OpenedDatabase {
  db: Database.Database
  path: string
  /** schema version the file had before this open (0 = new file) */
  migratedFrom: number
  /** set when a damaged file was set aside */
  recovered?: { movedTo: string; reason: string }
}

function configure(db: Database.Database, readonly: boolean): void {
  db.pragma('busy_timeout = 5000')
  if (readonly) return
  // Before journal_mode: a new file only gets incremental auto-vacuum if it is set first.
  db.pragma('auto_vacuum = INCREMENTAL')
  const mode = db.pragma('journal_mode = WAL', { simple: true })
  if (mode !== 'wal') throw new Error(`could not switch the cache to WAL (journal_mode=${String(mode)})`)
  // WAL + NORMAL: a committed batch survives a process crash (kill -9); only an OS crash or
  // power loss may lose the last batches, never consistency.
  db.pragma('synchronous = NORMAL')
  // Keep the WAL from staying at the size of the largest transaction forever.
  db.pragma('journal_size_limit = 16777216')
  db.pragma('temp_store = MEMORY')
  // Deleted inventory is zeroed in place where that costs no extra I/O; freed pages are then
  // returned by the incremental vacuum and the WAL truncated, so "Clear cache" leaves no trace.
  db.pragma('secure_delete = FAST')
}

/** Caps the file at about `bytes` (writes beyond fail with SQLITE_FULL, like a full disk). */
export function limitSize(db: Database.Database, bytes: number): void {
  const pageSize = Number(db.pragma('page_size', { simple: true })) || 4096
  db.pragma(`max_page_count = ${Math.max(1, Math.floor(bytes / pageSize))}`)
}

function openOnce(path: string, opts: OpenOptions): { db: Database.Database; migratedFrom: number } {
  const db = new Database(path, { fileMustExist: true, readonly: opts.readonly === true })
  try {
    // A file from a newer XenPilot is left exactly as it is: not even switched to WAL.
    const version = Number(db.pragma('user_version', { simple: true }))
    if (version > SCHEMA_VERSION) throw new SchemaTooNewError(version)
    configure(db, opts.readonly === true)
    // Reading the schema touches page 1 and the schema table: a damaged header fails here.
    db.prepare('SELECT count(*) FROM sqlite_schema').get()
    const migratedFrom = opts.readonly ? Number(db.pragma('user_version', { simple: true })) : migrate(db, opts.targetVersion)
    return { db, migratedFrom }
  } catch (e) {
    db.close()
    throw e
  }
}

/** an existing cache file of 0 bytes with no write-ahead log holding its content */
function emptyCacheFile(path: string): boolean {
  try {
    if (statSync(path).size !== 0) return false
  } catch {
    return false
  }
  try {
    return statSync(`${path}-wal`).size === 0
  } catch {
    return true
  }
}

/**
 * Opens (creating if needed) `<dataDir>/cache.sqlite`, mode 0600, WAL, current schema. A damaged
 * file is moved aside and a new one created (reported in `recovered`). Any other failure throws a
 * CacheOpenError saying what kind of trouble it is; the caller decides to run from memory.
 */
export function openCacheDatabase(dataDir: string, opts: OpenOptions = {}): OpenedDatabase {
  const path = join(dataDir, CACHE_FILE_NAME)
  const now = opts.now ?? (() => new Date())
  try {
    if (!opts.readonly) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 })
      // A file cut to 0 bytes (a full disk, a power cut) would open as a new, empty cache and the
      // offline inventory would be gone without a word: kept aside and said instead.
      const lost = emptyCacheFile(path) ? { movedTo: moveAside(path, now()), reason: 'the file was empty (0 bytes): the offline inventory it held was lost, most likely because the disk was full or the computer stopped while it was being written' } : undefined
      // Create the file ourselves so it is 0600 from its first byte (umask cannot widen it).
      if (!existsSync(path)) closeSync(openSync(path, 'wx', 0o600))
      tighten(path)
      if (lost) {
        const { db, migratedFrom } = openOnce(path, opts)
        tighten(path)
        return { db, path, migratedFrom, recovered: lost }
      }
    }
    try {
      const { db, migratedFrom } = openOnce(path, opts)
      if (!opts.readonly) tighten(path)
      return { db, path, migratedFrom }
    } catch (e) {
      if (opts.readonly || classifyError(e) !== 'corrupt-recovered') throw e
      const movedTo = moveAside(path, now())
      closeSync(openSync(path, 'wx', 0o600))
      const { db, migratedFrom } = openOnce(path, opts)
      tighten(path)
      return { db, path, migratedFrom, recovered: { movedTo, reason: errorMessage(e) } }
    }
  } catch (e) {
    if (e instanceof CacheOpenError) throw e
    const kind = classifyError(e)
    throw new CacheOpenError(kind === 'corrupt-recovered' ? 'io-error' : kind, describeProblem(kind === 'corrupt-recovered' ? 'io-error' : kind, path, e), errorCode(e))
  }
}
