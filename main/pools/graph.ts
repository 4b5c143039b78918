/**
 * One pool's live object graph: records by class keyed by ref, lookup by uuid, and the reverse
 * indexes a UI needs, maintained incrementally on every upsert/remove (never rebuilt by scanning).
 *
 * Profiled on bench-10k's initial sync (node --cpu-prof): upsert was the largest cost after the
 * parse, most of it in two graph-wide maps filled for every record — ref → class and uuid → ref
 * (~100k inserts each, ~0.4–0.6 µs apiece). Neither is on a hot read path: a ref's class is found
 * by asking each class table (a few dozen lookups, for error sentences), and the uuid map is built
 * on the first byUuid() and maintained from then on.
 */
import type { ObjectRecord, ObjectUpsert } from '../../shared/model/diff'

/** reverse index: objects of `cls` grouped by the ref in their `field` */
interface IndexSpec {
  name: string
  cls: string
  field: string
}

export const INDEXES: readonly IndexSpec[] = [
  { name: 'VMsByHost', cls: 'VM', field: 'resident_on' },
  { name: 'VBDsByVM', cls: 'VBD', field: 'VM' },
  { name: 'VIFsByVM', cls: 'VIF', field: 'VM' },
  { name: 'VDIsBySR', cls: 'VDI', field: 'SR' },
  { name: 'PBDsBySR', cls: 'PBD', field: 'SR' },
  { name: 'PIFsByHost', cls: 'PIF', field: 'host' },
  { name: 'consolesByVM', cls: 'console', field: 'VM' },
  { name: 'snapshotsByVM', cls: 'VM', field: 'snapshot_of' },
]
export type IndexName = 'VMsByHost' | 'VBDsByVM' | 'VIFsByVM' | 'VDIsBySR' | 'PBDsBySR' | 'PIFsByHost' | 'consolesByVM' | 'snapshotsByVM'

export class ObjectGraph {
  private tables = new Map<string, Map<string, ObjectRecord>>()
  /** uuid → { cls, ref }, built on first use */
  private uuids: Map<string, { cls: string; ref: string }> | undefined
  private indexes = new Map<string, Map<string, Set<string>>>()
  private readonly indexesByClass = new Map<string, IndexSpec[]>()

  constructor() {
    for (const spec of INDEXES) {
      this.indexes.set(spec.name, new Map())
      const l = this.indexesByClass.get(spec.cls) ?? []
      l.push(spec)
      this.indexesByClass.set(spec.cls, l)
    }
  }

  get size(): number {
    let n = 0
    for (const t of this.tables.values()) n += t.size
    return n
  }

  get(cls: string, ref: string): ObjectRecord | undefined {
    return this.tables.get(cls)?.get(ref)
  }

  /** the record of any class by ref */
  getByRef(ref: string): { cls: string; record: ObjectRecord } | undefined {
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
    return this.tables.get(cls) ?? new Map()
  }

  classes(): string[] {
    return [...this.tables.keys()]
  }

  count(cls: string): number {
    return this.tables.get(cls)?.size ?? 0
  }

  /** refs of `index` members pointing at `ref` (e.g. related('VMsByHost', hostRef)) */
  related(index: IndexName, ref: string): string[] {
    const s = this.indexes.get(index)?.get(ref)
    return s ? [...s] : []
  }

  /** hosts of the pool: XAPI has exactly one pool per connection, so every host belongs to it */
  hostsOfPool(): string[] {
    return [...this.all('host').keys()]
  }

  upsert(cls: string, ref: string, record: ObjectRecord): void {
    let table = this.tables.get(cls)
    if (!table) {
      table = new Map()
      this.tables.set(cls, table)
    }
    const old = table.get(ref)
    table.set(ref, record)
    const uuids = this.uuids
    if (uuids) {
      const oldUuid = old?.uuid
      const uuid = record.uuid
      if (typeof oldUuid === 'string' && oldUuid !== uuid) uuids.delete(oldUuid)
      if (typeof uuid === 'string') uuids.set(uuid, { cls, ref })
    }
    const specs = this.indexesByClass.get(cls)
    if (specs) {
      for (const spec of specs) {
        const before = old?.[spec.field]
        const after = record[spec.field]
        if (before === after) continue
        const idx = this.indexes.get(spec.name)
        if (!idx) continue
        if (typeof before === 'string') removeFrom(idx, before, ref)
        if (typeof after === 'string') addTo(idx, after, ref)
      }
    }
  }

  remove(cls: string, ref: string): boolean {
    const table = this.tables.get(cls)
    const old = table?.get(ref)
    if (!table || !old) return false
    table.delete(ref)
    if (typeof old.uuid === 'string' && this.uuids?.get(old.uuid)?.ref === ref) this.uuids?.delete(old.uuid)
    const specs = this.indexesByClass.get(cls)
    if (specs) {
      for (const spec of specs) {
        const v = old[spec.field]
        const idx = this.indexes.get(spec.name)
        if (idx && typeof v === 'string') removeFrom(idx, v, ref)
      }
    }
    return true
  }

  clear(): void {
    this.tables.clear()
    this.uuids = undefined
    for (const idx of this.indexes.values()) idx.clear()
  }

  /** takes over the contents of `other` (a freshly loaded graph) in O(1); `other` is emptied */
  replaceWith(other: ObjectGraph): void {
    this.tables = other.tables
    this.uuids = other.uuids
    this.indexes = other.indexes
    other.tables = new Map()
    other.uuids = undefined
    other.indexes = new Map()
    for (const spec of INDEXES) other.indexes.set(spec.name, new Map())
  }

  /** the whole graph as upserts (a reset diff's body) */
  toUpserts(): ObjectUpsert[] {
    const out: ObjectUpsert[] = []
    for (const [cls, table] of this.tables) for (const [ref, record] of table) out.push({ cls, ref, record })
    return out
  }

  /** "VM “web-01”" for error sentences */
  describeRef(ref: string): string | undefined {
    const o = this.getByRef(ref)
    if (!o) return undefined
    const label = o.record.name_label ?? o.record.name ?? o.record.uuid
    return typeof label === 'string' && label !== '' ? `${o.cls} “${label}”` : o.cls
  }
}

function addTo(idx: Map<string, Set<string>>, key: string, ref: string): void {
  let s = idx.get(key)
  if (!s) {
    s = new Set()
    idx.set(key, s)
  }
  s.add(ref)
}

function removeFrom(idx: Map<string, Set<string>>, key: string, ref: string): void {
  const s = idx.get(key)
  if (!s) return
  s.delete(ref)
  if (s.size === 0) idx.delete(key)
}
