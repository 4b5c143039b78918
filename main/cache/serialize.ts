/**
 * What of an object graph may go to disk, and in which form.
 *
 * Privacy rules (the cache holds inventory, never credentials):
 *  - classes that carry credentials or session identities are never stored: session (its refs ARE
 *    session ids), secret (its `value` is a password), user, auth, event;
 *  - inside any record, a map entry whose key names a credential (password, secret, chap…, token,
 *    session) has its value replaced by REDACTED — e.g. PBD.device_config of old CIFS/iSCSI SRs,
 *    where XAPI versions before secrets kept the password in clear;
 *  - tasks are stored only while pending (a finished task is removed), which also bounds the size.
 */
import type { ObjectRecord, ObjectUpsert } from '../../shared/model/diff'
import { OFFLINE_STREAM_UNUSED_FIELDS } from '../../shared/model/slim'

export const NEVER_CACHED_CLASSES: ReadonlySet<string> = new Set(['session', 'secret', 'user', 'auth', 'event'])

export const REDACTED = '<redacted>'

/** Map keys whose values are credentials. Matched case-insensitively anywhere in the key. */
const SECRET_KEY = /passw|passphrase|^pass$|_pass$|^pwd$|secret|chap|credential|session_id|auth_token|api_key|private_key/i

/** A row as the store writes it (JSON already made, so it can cross to a worker as plain strings). */
export interface ObjectRow {
  cls: string
  ref: string
  uuid: string | null
  name: string | null
  /** sortable time used for pruning (message.timestamp), else null */
  at: string | null
  /** the record's JSON text without the fields of SPLIT_FIELDS (all of it for the other classes) */
  json: string
  /**
   * a class with SPLIT_FIELDS: those of its fields the record has, as a JSON object's text ('{}'
   * when none); null for the other classes. The whole record is `json` and `extra` spliced.
   */
  extra: string | null
}

/**
 * The fields each record is stored apart from the rest of it: what a window's stream of an offline
 * pool leaves out. A page for a window is then the stored text as is (main/cache/store.ts), no JSON
 * parsed or rewritten per record. A row whose `extra` is NULL holds its whole record (a class
 * without split fields, or a row written before the split: pages remove the fields from it).
 * Changing the list changes which fields the rows written from then on keep apart: rows already
 * written keep theirs, so a field taken OFF the list must also be merged back into the stored rows
 * (a migration setting record to the whole text and extra to NULL; test/unit/cache/serialize.test.ts
 * holds the list the current schema was written with).
 */
export const SPLIT_FIELDS: Readonly<Record<string, readonly string[]>> = OFFLINE_STREAM_UNUSED_FIELDS
const SPLIT_SETS = new Map(Object.entries(SPLIT_FIELDS).map(([cls, fields]) => [cls, new Set(fields)]))

/** the record's text and, for a class with SPLIT_FIELDS, the text of those fields apart */
function splitJson(cls: string, r: ObjectRecord): { json: string; extra: string | null } {
  const split = SPLIT_SETS.get(cls)
  if (!split) return { json: JSON.stringify(r), extra: null }
  const rest: ObjectRecord = {}
  const apart: ObjectRecord = {}
  for (const k in r) {
    if (split.has(k)) apart[k] = r[k]
    else rest[k] = r[k]
  }
  return { json: JSON.stringify(rest), extra: JSON.stringify(apart) }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function scrubMap(m: Record<string, unknown>): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined
  for (const k in m) {
    const v = m[k]
    let nv: unknown = v
    if (SECRET_KEY.test(k)) nv = REDACTED
    else if (isPlainObject(v)) nv = scrubMap(v) ?? v
    if (nv !== v) {
      out ??= { ...m }
      out[k] = nv
    }
  }
  return out
}

/**
 * The record with every credential-named map entry redacted. Returns the same object when there
 * is nothing to redact (the common case), so the hot path allocates nothing.
 */
export function scrubRecord(record: ObjectRecord): ObjectRecord {
  let out: ObjectRecord | undefined
  for (const field in record) {
    const v = record[field]
    if (!isPlainObject(v)) continue
    const scrubbed = scrubMap(v)
    if (scrubbed) {
      out ??= { ...record }
      out[field] = scrubbed
    }
  }
  return out ?? record
}

/** false when this object must not be (or no longer be) in the cache */
export function isCacheable(u: ObjectUpsert): boolean {
  if (NEVER_CACHED_CLASSES.has(u.cls)) return false
  if (u.cls === 'task' && u.record.status !== 'pending' && u.record.status !== 'cancelling') return false
  return true
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null
}

/**
 * Anything in a JSON text that could be a credential-named key. A record whose JSON does not match
 * cannot contain one, so the common case costs one native regex scan instead of a walk over
 * every map key; a match (also possible from a value) takes the exact path.
 */
const MAYBE_SECRET = /passw|passphrase|"pass"|_pass"|"pwd"|secret|chap|credential|session_id|auth_token|api_key|private_key/i

/**
 * A record that cannot become a row (JSON.stringify and the scrubber recurse: a value nested
 * thousands of levels deep overflows the stack). The parsers refuse such answers
 * (main/xapi/wire.ts MAX_NESTING); this is the cache's own guard, so a record that got past them
 * costs its row, never the process.
 */
export class UnstorableRecordError extends Error {
  override name = 'UnstorableRecordError'
  constructor(
    readonly cls: string,
    readonly ref: string,
    reason: string,
  ) {
    super(`the ${cls} ${ref} cannot be stored in the offline cache (${reason})`)
  }
}

/** the row of an object; throws UnstorableRecordError (only) when it cannot be made */
export function toRow(u: ObjectUpsert): ObjectRow {
  let r = u.record
  let text: { json: string; extra: string | null }
  try {
    text = splitJson(u.cls, r)
    if (MAYBE_SECRET.test(text.json) || (text.extra !== null && MAYBE_SECRET.test(text.extra))) {
      r = scrubRecord(r)
      text = splitJson(u.cls, r)
    }
  } catch (e) {
    const reason = e instanceof RangeError ? 'it is nested too deeply to be written' : e instanceof Error ? e.message : String(e)
    throw new UnstorableRecordError(u.cls, u.ref, reason)
  }
  return {
    cls: u.cls,
    ref: u.ref,
    uuid: str(r.uuid),
    name: str(r.name_label) ?? str(r.name),
    at: u.cls === 'message' ? str(r.timestamp) : null,
    json: text.json,
    extra: text.extra,
  }
}
