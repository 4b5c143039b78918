/**
 * Record construction for the simulator, driven by the generated datamodel: every field a class has
 * in a given release, filled with the datamodel's default or a type-appropriate empty value, in
 * XAPI's own value model (see model.ts).
 */
import { CLASSES, ENUMS, RELEASES } from '../../shared/xapi/datamodel.generated'
import type { FieldSpec } from '../../shared/xapi/datamodel-types'
import type { SimRecord, SimValue } from './model'

export const NULL_REF = 'OpaqueRef:NULL'
export const NULL_DATE = '19700101T00:00:00Z'

// ---------------------------------------------------------------------------------------------
// Deterministic randomness: one seed gives one fleet, byte for byte.

/** mulberry32: tiny, fast and good enough to make fleets look varied. */
export class Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  /** uniform in [0, 1) */
  next(): number {
    return this.u32() / 4294967296
  }
  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  /** integer in [lo, hi] */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)]
    if (item === undefined) throw new Error('Rng.pick on an empty list')
    return item
  }
  /** 32 random bits */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
  /** 32 random bits as 8 hex digits */
  hex8(): string {
    return hex32(this.u32())
  }
  /** a child generator, so adding draws in one part of a fleet does not reshuffle the others */
  fork(salt: number): Rng {
    return new Rng((this.int(0x7fffffff) ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0)
  }
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const hexByte = (n: number): string => HEX[n & 0xff] ?? '00'
function hex32(n: number): string {
  return hexByte(n >>> 24) + hexByte(n >>> 16) + hexByte(n >>> 8) + hexByte(n)
}

/** Used when a caller does not pass its own generator (objects created at runtime by the server). */
const defaultRng = new Rng(0x5eed)

export function newUuid(rng: Rng = defaultRng): string {
  const b = rng.u32()
  const c = rng.u32()
  return `${hex32(rng.u32())}-${hexByte(b >>> 24)}${hexByte(b >>> 16)}-${hexByte(b >>> 8)}${hexByte(b)}-${hexByte(c >>> 24)}${hexByte(c >>> 16)}-${hexByte(c >>> 8)}${hexByte(c)}${hex32(rng.u32())}`
}

export function newRef(rng: Rng = defaultRng): string {
  return `OpaqueRef:${newUuid(rng)}`
}

/** XAPI's datetime form on the wire: 'YYYYMMDDThh:mm:ssZ' (no hyphens). */
export function xapiDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0')
  return (
    `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}Z`
  )
}

// ---------------------------------------------------------------------------------------------
// Datamodel lookups

export function releaseIndex(release: string): number {
  const i = RELEASES.indexOf(release)
  if (i < 0) throw new Error(`unknown XAPI release '${release}' (expected one of shared/xapi RELEASES)`)
  return i
}

export interface FieldsOfOptions {
  /**
   * Fields the datamodel marks as removed are still stored and sent by XAPI (the real 7.2 records
   * carry VM.is_snapshot_from_vmpp, VM_metrics.VCPUs_utilisation, VBD.metrics; every client reads
   * host_metrics.memory_free, "removed" in tampa). Default true, like the real server.
   */
  includeRemoved?: boolean
}

const fieldsCache = new Map<string, readonly FieldSpec[]>()

/** Fields of `cls` as a host of `release` has them. */
export function fieldsOf(cls: string, release: string, opts: FieldsOfOptions = {}): readonly FieldSpec[] {
  const includeRemoved = opts.includeRemoved ?? true
  const key = `${cls}\u0000${release}\u0000${includeRemoved ? 1 : 0}`
  const cached = fieldsCache.get(key)
  if (cached) return cached
  const spec = CLASSES.find((c) => c.name === cls)
  if (!spec) throw new Error(`unknown XAPI class '${cls}'`)
  const idx = releaseIndex(release)
  const fields = spec.fields.filter((f) => f[4] <= idx && (includeRemoved || f[5] === -1 || f[5] > idx))
  fieldsCache.set(key, fields)
  return fields
}

/** Classes a host of `release` knows. */
export function classesOf(release: string): string[] {
  const idx = releaseIndex(release)
  return CLASSES.filter((c) => c.since <= idx).map((c) => c.name)
}

export function fieldType(cls: string, field: string): string | undefined {
  const spec = CLASSES.find((c) => c.name === cls)
  return spec?.fields.find((f) => f[0] === field)?.[1]
}

// ---------------------------------------------------------------------------------------------
// Default values

function unquote(lit: string): string {
  return lit.length >= 2 && lit.startsWith('"') && lit.endsWith('"') ? lit.slice(1, -1) : lit
}

/** The empty value XAPI stores for a field of this type when nothing set it. */
export function emptyValue(type: string): SimValue {
  if (type === 'int' || type === 'float') return 0
  if (type === 'bool') return false
  if (type === 'datetime') return NULL_DATE
  if (type.endsWith(' ref')) return NULL_REF
  if (type.endsWith(' set')) return []
  if (type.endsWith(' map') || type.endsWith(' record')) return {}
  if (type.startsWith('enum ')) {
    const values = ENUMS[type.slice(5)]
    return values?.[0] ?? ''
  }
  return ''
}

/** Datamodel default literal (OCaml-ish: `{}`, `()`, `{"a" -> "b"}`, `Null`, `1.`) as a value of `type`. */
export function parseDefault(type: string, lit: string): SimValue {
  if (type === 'int') {
    const n = Number(lit)
    return Number.isFinite(n) ? n : 0
  }
  if (type === 'float') {
    const n = parseFloat(lit)
    return Number.isFinite(n) ? n : 0
  }
  if (type === 'bool') return lit === 'true'
  if (type === 'datetime') return lit === '' ? NULL_DATE : lit
  if (type.endsWith(' ref')) return lit.startsWith('OpaqueRef:') ? lit : NULL_REF
  if (type.endsWith(' set')) {
    const inner = lit.replace(/^[{(]|[})]$/g, '').trim()
    if (inner === '') return []
    const elemType = type.slice(0, -4)
    // A ref-set default names one concrete object of the source db (session.roles); it has no meaning here.
    if (elemType.endsWith(' ref')) return []
    return inner.split(/\s*[,;]\s*/).map((s) => (elemType === 'int' ? Number(s) : unquote(s)))
  }
  if (type.endsWith(' map')) {
    const out: Record<string, SimValue> = {}
    const re = /"([^"]*)"\s*->\s*"([^"]*)"/g
    for (let m = re.exec(lit); m; m = re.exec(lit)) out[m[1] ?? ''] = m[2] ?? ''
    return out
  }
  if (type.startsWith('enum ')) return lit
  if (type.endsWith(' record') || type.endsWith(' option')) return emptyValue(type)
  return unquote(lit)
}

function defaultFor(f: FieldSpec): SimValue {
  return f[3] === null ? emptyValue(f[1]) : parseDefault(f[1], f[3])
}

/** Deep copy: records are mutated in place by the server, so no two may share a set or a map. */
export function cloneValue(v: SimValue): SimValue {
  if (Array.isArray(v)) return v.map(cloneValue)
  if (typeof v === 'object') {
    const out: Record<string, SimValue> = {}
    for (const k in v) {
      const x = v[k]
      if (x !== undefined) out[k] = cloneValue(x)
    }
    return out
  }
  return v
}

export function cloneRecord(r: SimRecord): SimRecord {
  const out: SimRecord = {}
  for (const k in r) {
    const x = r[k]
    if (x !== undefined) out[k] = cloneValue(x)
  }
  return out
}

/** A class's default record, precompiled: empty sets and maps are recreated rather than deep-copied. */
interface TemplateField {
  name: string
  /** 0 scalar, 1 empty set, 2 empty map, 3 anything else (copied) */
  kind: 0 | 1 | 2 | 3
  value: SimValue
}
const templateCache = new Map<string, readonly TemplateField[]>()
const knownFields = new Map<string, Set<string>>()

function compileTemplate(cls: string, release: string): readonly TemplateField[] {
  const out: TemplateField[] = []
  for (const f of fieldsOf(cls, release)) {
    const value = defaultFor(f)
    const kind = typeof value !== 'object' ? 0 : Array.isArray(value) ? (value.length === 0 ? 1 : 3) : Object.keys(value).length === 0 ? 2 : 3
    out.push({ name: f[0], kind, value })
  }
  return out
}

/**
 * A complete record of `cls` as a host of `release` stores it: every field of that release (datamodel
 * default or empty value), then `overrides`. Overrides for fields the release does not have are
 * dropped, so one description of a VM serves every release. Sets and maps are copied, never shared.
 */
export function defaultRecord(cls: string, release: string, overrides: SimRecord = {}): SimRecord {
  const key = `${cls}\u0000${release}`
  let template = templateCache.get(key)
  if (!template) {
    template = compileTemplate(cls, release)
    templateCache.set(key, template)
    knownFields.set(cls, new Set((CLASSES.find((c) => c.name === cls)?.fields ?? []).map((f) => f[0])))
  }
  const known = knownFields.get(cls)
  for (const name in overrides) {
    if (!known?.has(name)) throw new Error(`defaultRecord(${cls}): '${name}' is not a field of ${cls} in any release`)
  }
  const rec: SimRecord = {}
  for (const f of template) {
    const o = overrides[f.name]
    if (o !== undefined) rec[f.name] = typeof o === 'object' ? cloneValue(o) : o
    else if (f.kind === 0) rec[f.name] = f.value
    else if (f.kind === 1) rec[f.name] = []
    else if (f.kind === 2) rec[f.name] = {}
    else rec[f.name] = cloneValue(f.value)
  }
  return rec
}
