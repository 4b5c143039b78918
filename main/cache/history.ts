/**
 * The action history (issue 5): every command XenPilot ran, persisted in the cache database so it
 * survives restarts. Entries are small and rare, so they are written synchronously.
 *
 * Parameters are stored after redaction: every key naming a credential (password, secret, session…)
 * is replaced, at any depth. Callers should not pass secrets at all; this is the safety net.
 * Bounded: entries older than `maxAgeDays` or beyond the newest `maxEntries` are pruned at open.
 */
import type Database from 'better-sqlite3'
import type { HistoryEntry } from '../../shared/contract/operations'
import { REDACTED } from './serialize'

export interface HistoryQuery {
  connectionId?: string
  /** one object's history (with connectionId: exact; without: that ref in any pool) */
  ref?: string
  /** all entries about an object with this uuid, across pools */
  uuid?: string
  /** page size, default 200, at most 1000 */
  limit?: number
  /** keyset paging: entries with id < beforeId (pass the last id of the previous page) */
  beforeId?: number
}

export interface HistoryLimits {
  maxEntries: number
  maxAgeDays: number
}

export const DEFAULT_HISTORY_LIMITS: HistoryLimits = { maxEntries: 100_000, maxAgeDays: 365 }

const SECRET_PARAM = /passw|^pwd$|secret|session|token|credential|private_key|api_key/i

export function redactParams(v: unknown, depth = 0): unknown {
  if (depth > 8) return '<nested too deep>'
  if (Array.isArray(v)) return v.map((x) => redactParams(x, depth + 1))
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) out[k] = SECRET_PARAM.test(k) ? REDACTED : redactParams(x, depth + 1)
    return out
  }
  return v
}

type HistoryRow = {
  id: number
  at: string
  connection_id: string
  cls: string
  ref: string
  object_name: string
  action: string
  params: string
  ok: number
  error_code: string | null
  error_message: string | null
  duration_ms: number
  user: string
}

function toEntry(r: HistoryRow): HistoryEntry {
  let params: Record<string, unknown> = {}
  try {
    const p: unknown = JSON.parse(r.params)
    if (typeof p === 'object' && p !== null && !Array.isArray(p)) params = p as Record<string, unknown>
  } catch {
    // a damaged params cell must not hide the entry
  }
  const e: HistoryEntry = {
    id: r.id,
    at: r.at,
    connectionId: r.connection_id,
    cls: r.cls,
    ref: r.ref,
    objectName: r.object_name,
    action: r.action,
    params,
    ok: r.ok !== 0,
    durationMs: r.duration_ms,
    user: r.user,
  }
  if (r.error_code !== null) e.errorCode = r.error_code
  if (r.error_message !== null) e.errorMessage = r.error_message
  return e
}

export class HistoryLog {
  private readonly insert
  private readonly uuidOf

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare<[string, string, string, string, string | null, string, string, string, number, string | null, string | null, number, string]>(
      `INSERT INTO history (at, connection_id, cls, ref, obj_uuid, object_name, action, params, ok, error_code, error_message, duration_ms, user)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    this.uuidOf = db.prepare<[string, string, string], { uuid: string | null }>(
      'SELECT o.uuid FROM objects o JOIN pools p ON p.connection_id = o.connection_id AND p.gen = o.gen WHERE o.connection_id = ? AND o.cls = ? AND o.ref = ?',
    )
  }

  /** Stores an entry; throws on a database failure (the cache wraps this and reports it). */
  append(entry: Omit<HistoryEntry, 'id'>): HistoryEntry {
    const params = redactParams(entry.params)
    const safeParams = typeof params === 'object' && params !== null && !Array.isArray(params) ? (params as Record<string, unknown>) : {}
    // The uuid survives the object being deleted on the pool, so "what happened to VM X" still finds it.
    const uuid = this.uuidOf.get(entry.connectionId, entry.cls, entry.ref)?.uuid ?? null
    const r = this.insert.run(
      entry.at,
      entry.connectionId,
      entry.cls,
      entry.ref,
      uuid,
      entry.objectName,
      entry.action,
      JSON.stringify(safeParams),
      entry.ok ? 1 : 0,
      entry.errorCode ?? null,
      entry.errorMessage ?? null,
      Math.max(0, Math.round(entry.durationMs)),
      entry.user,
    )
    return { ...entry, params: safeParams, id: Number(r.lastInsertRowid) }
  }

  /** Newest first. */
  list(q: HistoryQuery = {}): HistoryEntry[] {
    const where: string[] = []
    const args: (string | number)[] = []
    if (q.connectionId !== undefined) {
      where.push('connection_id = ?')
      args.push(q.connectionId)
    }
    if (q.ref !== undefined) {
      where.push('ref = ?')
      args.push(q.ref)
    }
    if (q.uuid !== undefined) {
      where.push('obj_uuid = ?')
      args.push(q.uuid)
    }
    if (q.beforeId !== undefined) {
      where.push('id < ?')
      args.push(q.beforeId)
    }
    const limit = Math.min(1000, Math.max(1, Math.floor(q.limit ?? 200)))
    const sql = `SELECT * FROM history ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`
    return this.db
      .prepare<(string | number)[], HistoryRow>(sql)
      .all(...args, limit)
      .map(toEntry)
  }

  prune(limits: HistoryLimits = DEFAULT_HISTORY_LIMITS, now: Date = new Date()): number {
    const cutoff = new Date(now.getTime() - limits.maxAgeDays * 86_400_000).toISOString()
    const a = this.db.prepare('DELETE FROM history WHERE at < ?').run(cutoff).changes
    const b = this.db.prepare('DELETE FROM history WHERE id <= (SELECT id FROM history ORDER BY id DESC LIMIT 1 OFFSET ?)').run(limits.maxEntries).changes
    return a + b
  }
}
