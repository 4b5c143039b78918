import Database from 'better-sqlite3'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ObjectRecord, ObjectUpsert, PoolDiff } from '../../../shared/model/diff'

export function tempDir(prefix = 'xp-cache-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export function vm(ref: string, name: string, extra: ObjectRecord = {}): ObjectUpsert {
  return { cls: 'VM', ref, record: { uuid: `uuid-${ref}`, name_label: name, power_state: 'Running', ...extra } }
}

export function reset(connectionId: string, seq: number, upserts: ObjectUpsert[], token = `tok-${seq}`): PoolDiff {
  return { connectionId, seq, reset: true, upserts, removes: [], token }
}

export function batch(connectionId: string, seq: number, upserts: ObjectUpsert[], removes: { cls: string; ref: string }[] = [], token = `tok-${seq}`): PoolDiff {
  return { connectionId, seq, reset: false, upserts, removes, token }
}

/** refs → name_label of a loaded graph, for compact equality checks */
export function namesOf(upserts: readonly ObjectUpsert[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const u of upserts) out[`${u.cls} ${u.ref}`] = u.record.name_label
  return out
}

/** every byte the cache has on disk (main file + WAL), as latin1 text for substring search */
export function fileBytes(dir: string): string {
  let s = ''
  for (const f of ['cache.sqlite', 'cache.sqlite-wal']) {
    try {
      s += readFileSync(join(dir, f)).toString('latin1')
    } catch {
      // no WAL
    }
  }
  return s
}

/** a separate read-only connection, as another process would see the file */
export function peek<T>(dir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(dir, 'cache.sqlite'), { readonly: true, fileMustExist: true })
  try {
    return fn(db)
  } finally {
    db.close()
  }
}
