/**
 * The pool database: the fleet's tables plus XAPI's change bookkeeping. Records are replaced,
 * never mutated in place, so encoders can cache fragments by record identity. Every change bumps
 * the DB generation and lands in an ordered change log that event.from reads; deleted objects
 * keep a tombstone so a resume from an older token still sees their `del`.
 */
import { randomUUID } from 'node:crypto'
import { NO_EVENT_CLASSES } from '../../../shared/xapi/datamodel.generated'
import { SimXapiError, type SimRecord, type SimTable, type SimValue } from '../model'
import { defaultValue, type Schema } from './schema'

export interface ObjState {
  cls: string
  ref: string
  /** generation of creation (0 = part of the initial fleet) */
  created: number
  /** generation of the last change (creation, modification or deletion) */
  changed: number
  /** generation of deletion, 0 while live */
  deleted: number
}

const NO_EVENTS = new Set(NO_EVENT_CLASSES)
const MAX_TOMBSTONES = 200_000

export function newRef(): string {
  return `OpaqueRef:${randomUUID()}`
}

export class Db {
  /**
   * DB generation: first component of event tokens. Real XAPI persists it with the database, so a
   * token taken before a restart still orders before every later change; a fresh simulator seeds
   * it from the clock (µs, well inside 2^53) so a client resuming with a token from an earlier run
   * of the same fleet sees the changes made since, instead of waiting for the counter to catch up.
   */
  gen = Date.now() * 1000
  /** message generation: second component of event tokens */
  msgGen = 0
  /** tokens below this generation predate a toolstack restart or pruned tombstones */
  horizon = 0
  readonly states = new Map<string, ObjState>()
  private logKeys: string[] = []
  private logGens: number[] = []
  private tombstones = 0
  private readonly listeners = new Set<() => void>()
  private readonly uuidIndex = new Map<string, Map<string, string>>()

  constructor(
    readonly tables: Map<string, SimTable>,
    readonly schema: Schema,
  ) {
    for (const c of schema.classes.keys()) if (!tables.has(c)) tables.set(c, new Map())
  }

  table(cls: string): SimTable {
    let t = this.tables.get(cls)
    if (!t) {
      t = new Map()
      this.tables.set(cls, t)
    }
    return t
  }

  get(cls: string, ref: string): SimRecord | undefined {
    return this.tables.get(cls)?.get(ref)
  }

  /** the record or HANDLE_INVALID [class, ref] */
  must(cls: string, ref: string): SimRecord {
    const r = this.tables.get(cls)?.get(ref)
    if (!r) throw new SimXapiError(['HANDLE_INVALID', cls, ref])
    return r
  }

  byUuid(cls: string, uuid: string): string | undefined {
    let idx = this.uuidIndex.get(cls)
    if (!idx) {
      idx = new Map()
      for (const [ref, rec] of this.table(cls)) if (typeof rec['uuid'] === 'string') idx.set(rec['uuid'], ref)
      this.uuidIndex.set(cls, idx)
    }
    const ref = idx.get(uuid)
    return ref !== undefined && this.table(cls).has(ref) ? ref : undefined
  }

  /** a complete record of `cls` from datamodel defaults, overridden by `fields` */
  blank(cls: string, fields: SimRecord): SimRecord {
    const c = this.schema.classes.get(cls)
    const rec: SimRecord = {}
    if (c) for (const f of c.fields) rec[f.name] = defaultValue(f.type, f.dflt)
    rec['uuid'] = randomUUID()
    return Object.assign(rec, fields)
  }

  insert(cls: string, ref: string, rec: SimRecord): void {
    this.table(cls).set(ref, rec)
    const uuid = rec['uuid']
    if (typeof uuid === 'string') this.uuidIndex.get(cls)?.set(uuid, ref)
    this.changed(cls, ref, 'add')
  }

  /** replace fields of a record (a new object, so cached encodings of the old one stay valid for it) */
  update(cls: string, ref: string, patch: SimRecord): SimRecord {
    const old = this.must(cls, ref)
    const next = { ...old, ...patch }
    this.table(cls).set(ref, next)
    this.changed(cls, ref, 'mod')
    return next
  }

  updateIfExists(cls: string, ref: string, patch: SimRecord): void {
    if (this.get(cls, ref)) this.update(cls, ref, patch)
  }

  remove(cls: string, ref: string): void {
    const rec = this.table(cls).get(ref)
    if (!rec) return
    this.table(cls).delete(ref)
    const uuid = rec['uuid']
    if (typeof uuid === 'string') this.uuidIndex.get(cls)?.delete(uuid)
    this.changed(cls, ref, 'del')
  }

  /** a `mod` without a change (event.inject) */
  touch(cls: string, ref: string): void {
    this.changed(cls, ref, 'mod')
  }

  setField(cls: string, ref: string, field: string, value: SimValue): void {
    this.update(cls, ref, { [field]: value })
  }

  private changed(cls: string, ref: string, op: 'add' | 'mod' | 'del'): void {
    if (NO_EVENTS.has(cls.toLowerCase())) return
    const gen = ++this.gen
    if (cls === 'message') this.msgGen++
    const key = `${cls}/${ref}`
    let st = this.states.get(key)
    if (!st) {
      st = { cls, ref, created: op === 'add' ? gen : 0, changed: gen, deleted: 0 }
      this.states.set(key, st)
    } else {
      if (op === 'add') {
        if (st.deleted) this.tombstones--
        st.created = gen
        st.deleted = 0
      }
      st.changed = gen
    }
    if (op === 'del') {
      st.deleted = gen
      this.tombstones++
    }
    this.logKeys.push(key)
    this.logGens.push(gen)
    if (this.logKeys.length > 2 * this.states.size + 100_000) this.compact()
    for (const l of this.listeners) l()
  }

  /** keep only the latest log entry per object; drop the oldest tombstones past the cap */
  private compact(): void {
    if (this.tombstones > MAX_TOMBSTONES) {
      const dead = [...this.states.values()].filter((s) => s.deleted).sort((a, b) => a.deleted - b.deleted)
      const drop = dead.slice(0, dead.length - MAX_TOMBSTONES / 2)
      for (const s of drop) {
        this.states.delete(`${s.cls}/${s.ref}`)
        this.horizon = Math.max(this.horizon, s.deleted)
      }
      this.tombstones -= drop.length
    }
    const all = [...this.states.entries()].sort((a, b) => a[1].changed - b[1].changed)
    this.logKeys = all.map(([k]) => k)
    this.logGens = all.map(([, s]) => s.changed)
  }

  /** distinct objects changed after `gen`, oldest change first */
  changedSince(gen: number): ObjState[] {
    let lo = 0
    let hi = this.logGens.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((this.logGens[mid] ?? 0) <= gen) lo = mid + 1
      else hi = mid
    }
    const seen = new Set<string>()
    const out: ObjState[] = []
    for (let i = this.logKeys.length - 1; i >= lo; i--) {
      const key = this.logKeys[i]
      if (key === undefined || seen.has(key)) continue
      seen.add(key)
      const st = this.states.get(key)
      if (st) out.push(st)
    }
    return out.reverse()
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** toolstack restart: every token issued so far stops parsing */
  invalidateTokens(): void {
    this.gen++
    this.horizon = this.gen
  }
}
