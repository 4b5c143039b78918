/**
 * One pool's object graph as main holds it: records by class keyed by ref, plus lookup by uuid.
 * It implements PoolGraph (main/pools/api.ts), the one read-only accessor of pool state in main.
 *
 * No reverse indexes: XAPI records carry both sides of a one-to-many relation (VBD.VM and VM.VBDs,
 * VDI.SR and SR.VDIs, PBD.SR and SR.PBDs…) and keeps them in step, so `linked()` reads the set
 * field of the parent instead of an index that every upsert of the initial sync would have to
 * maintain.
 *
 * In bench-10k's initial sync (the P1 lines of `npm run bench client`) upsert was the largest cost
 * after the parse, most of it in two graph-wide maps filled for every record — ref → class and
 * uuid → ref (~100k inserts each). Neither is on a hot read path: a ref's class is found
 * by asking each class table (a few dozen lookups, for error sentences), and the uuid map is built
 * on the first byUuid() and maintained from then on.
 *
 * Memory: a record is kept as it came (parsed from the wire, owned by the graph), except that each
 * empty map and empty list in it becomes one shared frozen object — bench-10k's records hold
 * ≈320,000 `{}` and ≈250,000 `[]` (≈40 MB of main's heap, of ≈135 MB for the graph). Frozen, a
 * write into one fails loudly instead of writing into every record. And equal strings become one
 * string (a StringPool: the record's string fields, the strings of its lists and the string values
 * of its maps, of the lengths worthSharing says): each parsed answer makes its own copy of every
 * enum value, date and flag string, and most of a record's strings repeat across records — the
 * allowed_operations of every VM, the recommendations XML of every VM of a template, CPU flags,
 * platform and other_config values, dates never set. bench-10k's graph: 99.6 → 76.3 MB.
 */
import type { ObjectRecord, ObjectUpsert } from '../../shared/model/diff'
import type { PoolGraph } from './api'

const EMPTY: ReadonlyMap<string, ObjectRecord> = new Map()
const EMPTY_MAP: Readonly<Record<string, never>> = Object.freeze({})
const EMPTY_LIST: readonly never[] = Object.freeze([])

/**
 * Which strings a pool takes: up to 24 characters (enum values, dates, flags, names) and from 128 to
 * 16,384 (recommendations, CPU flags, descriptions; longer ones cost more to hash than they save).
 * Not 25–127: uuids (36) and refs (46) are most of those, and sharing them cost more CPU than the rest
 * together for less memory — bench-10k's sync (scratch test/.tmp/sync-mem.ts, load 9–11): graph
 * 99.6 MB; every string shared 67.7 MB at +0.3–0.4 s of CPU; these only 76.3 MB at +0.1 s (of 1.2–1.4 s).
 */
function worthSharing(s: string): boolean {
  const n = s.length
  return n <= 24 || (n >= 128 && n <= 16_384)
}

/**
 * One string for equal strings of records (see the header). Bounded: once the strings it holds pass
 * `maxChars` characters in all it starts again empty (what records hold stays shared; later strings
 * are shared among themselves), so a pool never holds much that no record holds any more.
 */
export class StringPool {
  private readonly strings = new Map<string, string>()
  private chars = 0

  constructor(private readonly maxChars: number) {}

  /** distinct strings held */
  get size(): number {
    return this.strings.size
  }

  share(s: string): string {
    if (!worthSharing(s)) return s
    const known = this.strings.get(s)
    if (known !== undefined) return known
    if (this.chars + s.length > this.maxChars) {
      this.strings.clear()
      this.chars = 0
    }
    this.strings.set(s, s)
    this.chars += s.length
    return s
  }
}

/** a whole load's pool: at most this many characters (its strings are the answer's own; it is let go after) */
export const LOAD_POOL_CHARS = 64 << 20

/**
 * The pool of records that arrive one at a time (events, a class re-read): shared by every graph,
 * small. A whole load (a sync, the cache) brings its own pool, let go when it is done.
 */
const LIVE_STRINGS = new StringPool(1 << 20)

/** the record's empty maps and lists replaced, in place, by the shared frozen ones; its strings by the pool's */
function compact(record: ObjectRecord, strings: StringPool): void {
  for (const k in record) {
    const v = record[k]
    if (typeof v === 'string') {
      record[k] = strings.share(v)
      continue
    }
    if (typeof v !== 'object' || v === null || v === EMPTY_MAP || v === EMPTY_LIST) continue
    if (Array.isArray(v)) {
      if (v.length === 0) record[k] = EMPTY_LIST
      else for (let i = 0; i < v.length; i++) if (typeof v[i] === 'string') v[i] = strings.share(v[i] as string)
      continue
    }
    const map = v as Record<string, unknown>
    let empty = true
    for (const mk in map) {
      if (!Object.hasOwn(map, mk)) continue
      empty = false
      const mv = map[mk]
      if (typeof mv === 'string') map[mk] = strings.share(mv)
    }
    if (empty) record[k] = EMPTY_MAP
  }
}

export class ObjectGraph implements PoolGraph {
  private tables = new Map<string, Map<string, ObjectRecord>>()
  /**
   * uuid → ref, built on first use; the class is the table that holds the ref (a few dozen lookups):
   * an object per entry as well cost 3.3 MB more for bench-10k's 82,290 objects
   */
  private uuids: Map<string, string> | undefined

  get size(): number {
    let n = 0
    for (const t of this.tables.values()) n += t.size
    return n
  }

  get(cls: string, ref: string): ObjectRecord | undefined {
    return this.tables.get(cls)?.get(ref)
  }

  byRef(ref: string): { cls: string; record: ObjectRecord } | undefined {
    for (const [cls, table] of this.tables) {
      const record = table.get(ref)
      if (record) return { cls, record }
    }
    return undefined
  }

  byUuid(uuid: string): { cls: string; ref: string; record: ObjectRecord } | undefined {
    const ref = this.uuidIndex().get(uuid)
    if (ref === undefined) return undefined
    const o = this.byRef(ref)
    return o && o.record.uuid === uuid ? { cls: o.cls, ref, record: o.record } : undefined
  }

  private uuidIndex(): Map<string, string> {
    if (this.uuids) return this.uuids
    const m = new Map<string, string>()
    for (const table of this.tables.values()) for (const [ref, r] of table) if (typeof r.uuid === 'string') m.set(r.uuid, ref)
    this.uuids = m
    return m
  }

  all(cls: string): ReadonlyMap<string, ObjectRecord> {
    return this.tables.get(cls) ?? EMPTY
  }

  count(cls: string): number {
    return this.tables.get(cls)?.size ?? 0
  }

  classes(): string[] {
    return [...this.tables.keys()]
  }

  linked(cls: string, ref: string, field: string, target: string): string[] {
    const v = this.get(cls, ref)?.[field]
    const refs = Array.isArray(v) ? v : [v]
    const table = this.tables.get(target)
    const out: string[] = []
    if (!table) return out
    for (const r of refs) if (typeof r === 'string' && table.has(r)) out.push(r)
    return out
  }

  /**
   * keeps `record` (it becomes the graph's: its empty maps and lists are swapped for shared ones, its
   * strings for the pool's; a whole load passes its own pool, see LIVE_STRINGS)
   */
  upsert(cls: string, ref: string, record: ObjectRecord, strings: StringPool = LIVE_STRINGS): void {
    compact(record, strings)
    let table = this.tables.get(cls)
    if (!table) {
      table = new Map()
      this.tables.set(cls, table)
    }
    const uuids = this.uuids
    if (uuids) {
      const oldUuid = table.get(ref)?.uuid
      const uuid = record.uuid
      if (typeof oldUuid === 'string' && oldUuid !== uuid) uuids.delete(oldUuid)
      if (typeof uuid === 'string') uuids.set(uuid, ref)
    }
    table.set(ref, record)
  }

  remove(cls: string, ref: string): boolean {
    const table = this.tables.get(cls)
    const old = table?.get(ref)
    if (!table || !old) return false
    table.delete(ref)
    if (typeof old.uuid === 'string' && this.uuids?.get(old.uuid) === ref) this.uuids?.delete(old.uuid)
    return true
  }

  clear(): void {
    this.tables.clear()
    this.uuids = undefined
  }

  /** takes over the contents of `other` (a freshly loaded graph) in O(1); `other` is emptied */
  replaceWith(other: ObjectGraph): void {
    this.tables = other.tables
    this.uuids = other.uuids
    other.tables = new Map()
    other.uuids = undefined
  }

  /** the whole graph as upserts (a reset diff's body: the pools layer's graph stream, the cache) */
  toUpserts(): ObjectUpsert[] {
    const out: ObjectUpsert[] = []
    for (const [cls, table] of this.tables) for (const [ref, record] of table) out.push({ cls, ref, record })
    return out
  }

  describeRef(ref: string): string | undefined {
    const o = this.byRef(ref)
    if (!o) return undefined
    const label = o.record.name_label ?? o.record.name ?? o.record.uuid
    return typeof label === 'string' && label !== '' ? `${o.cls} “${label}”` : o.cls
  }
}
