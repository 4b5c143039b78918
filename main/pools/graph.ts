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
 * write into one fails loudly instead of writing into every record.
 */
import type { ObjectRecord, ObjectUpsert } from '../../shared/model/diff'
import type { PoolGraph } from './api'

const EMPTY: ReadonlyMap<string, ObjectRecord> = new Map()
const EMPTY_MAP: Readonly<Record<string, never>> = Object.freeze({})
const EMPTY_LIST: readonly never[] = Object.freeze([])

/** the record's empty maps and lists replaced, in place, by the shared frozen ones */
function shareEmpties(record: ObjectRecord): void {
  for (const k in record) {
    const v = record[k]
    if (typeof v !== 'object' || v === null || v === EMPTY_MAP || v === EMPTY_LIST) continue
    if (Array.isArray(v)) {
      if (v.length === 0) record[k] = EMPTY_LIST
    } else if (isEmpty(v)) record[k] = EMPTY_MAP
  }
}

function isEmpty(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return false
  return true
}

export class ObjectGraph implements PoolGraph {
  private tables = new Map<string, Map<string, ObjectRecord>>()
  /** uuid → { cls, ref }, built on first use */
  private uuids: Map<string, { cls: string; ref: string }> | undefined

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
    const e = this.uuidIndex().get(uuid)
    if (!e) return undefined
    const record = this.get(e.cls, e.ref)
    return record ? { ...e, record } : undefined
  }

  private uuidIndex(): Map<string, { cls: string; ref: string }> {
    if (this.uuids) return this.uuids
    const m = new Map<string, { cls: string; ref: string }>()
    for (const [cls, table] of this.tables) for (const [ref, r] of table) if (typeof r.uuid === 'string') m.set(r.uuid, { cls, ref })
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

  /** keeps `record` (it becomes the graph's: its empty maps and lists are swapped for shared ones) */
  upsert(cls: string, ref: string, record: ObjectRecord): void {
    shareEmpties(record)
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
      if (typeof uuid === 'string') uuids.set(uuid, { cls, ref })
    }
    table.set(ref, record)
  }

  remove(cls: string, ref: string): boolean {
    const table = this.tables.get(cls)
    const old = table?.get(ref)
    if (!table || !old) return false
    table.delete(ref)
    if (typeof old.uuid === 'string' && this.uuids?.get(old.uuid)?.ref === ref) this.uuids?.delete(old.uuid)
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
