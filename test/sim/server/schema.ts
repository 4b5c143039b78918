/**
 * The datamodel as one emulated XAPI release sees it: visible classes, fields and wire methods,
 * with XAPI type strings parsed once into a tree the codecs walk.
 */
import { CLASSES, ENUMS, RELEASES } from '../../../shared/xapi/datamodel.generated'
import type { FieldQualifier } from '../../../shared/xapi/datamodel-types'
import type { SimValue } from '../model'

export type XType =
  | { k: 'string' }
  | { k: 'int' }
  | { k: 'float' }
  | { k: 'bool' }
  | { k: 'datetime' }
  | { k: 'void' }
  | { k: 'ref'; cls: string }
  | { k: 'enum'; name: string }
  | { k: 'set'; of: XType }
  | { k: 'map'; key: XType; val: XType }
  | { k: 'record'; cls: string }
  | { k: 'option'; of: XType }
  | { k: 'batch' }

const typeCache = new Map<string, XType>()

export function parseType(raw: string): XType {
  const cached = typeCache.get(raw)
  if (cached) return cached
  const t = parseTypeUncached(raw.trim())
  typeCache.set(raw, t)
  return t
}

function parseTypeUncached(s: string): XType {
  if (s.startsWith('(') && s.endsWith(') map')) {
    const inner = s.slice(1, -') map'.length)
    let depth = 0
    for (let i = 0; i < inner.length; i++) {
      const ch = inner[i]
      if (ch === '(') depth++
      else if (ch === ')') depth--
      else if (depth === 0 && inner.startsWith(' -> ', i)) {
        return { k: 'map', key: parseType(inner.slice(0, i)), val: parseType(inner.slice(i + 4)) }
      }
    }
    throw new Error(`unparseable XAPI map type ${JSON.stringify(s)}`)
  }
  if (s.endsWith(' set')) return { k: 'set', of: parseType(s.slice(0, -4)) }
  if (s.endsWith(' option')) return { k: 'option', of: parseType(s.slice(0, -7)) }
  if (s.endsWith(' ref')) return { k: 'ref', cls: s.slice(0, -4) }
  if (s.endsWith(' record')) return { k: 'record', cls: s.slice(0, -7) }
  if (s.startsWith('enum ')) return { k: 'enum', name: s.slice(5) }
  switch (s) {
    case 'string':
    case 'int':
    case 'float':
    case 'bool':
    case 'datetime':
    case 'void':
      return { k: s }
    case 'an event batch':
      return { k: 'batch' }
    default:
      // unknown scalar names in the datamodel are carried as strings
      return { k: 'string' }
  }
}

export const NULL_REF = 'OpaqueRef:NULL'
export const NULL_DATE = '19700101T00:00:00Z'

export interface FieldSchema {
  name: string
  type: XType
  qualifier: FieldQualifier
  dflt: string | null
}

export interface ClassSchema {
  name: string
  lower: string
  fields: FieldSchema[]
  fieldMap: Map<string, FieldSchema>
}

export interface MethodSchema {
  /** wire name without Async. prefix, e.g. 'VM.start' */
  wire: string
  cls: string
  name: string
  params: { name: string; type: XType }[]
  result: XType
  async: boolean
  implicit: boolean
  optionalTail: number
  /** param 0 is the session */
  hasSession: boolean
}

export class Schema {
  readonly releaseIndex: number
  readonly classes = new Map<string, ClassSchema>()
  /** lowercase class name → API class name */
  readonly byLower = new Map<string, string>()
  readonly methods = new Map<string, MethodSchema>()
  private methodList: string[] | undefined

  constructor(readonly release: string) {
    const idx = RELEASES.indexOf(release)
    if (idx < 0) throw new Error(`unknown XAPI release ${JSON.stringify(release)}; known: ${RELEASES.join(', ')}`)
    this.releaseIndex = idx
    for (const c of CLASSES) {
      if (c.since > idx) continue
      const fields: FieldSchema[] = []
      // Fields the datamodel marks removed are still stored and sent by real hosts (7.2 records
      // carry VM_metrics.VCPUs_utilisation; every client reads host_metrics.memory_free).
      for (const [name, type, qualifier, dflt, since] of c.fields) {
        if (since > idx) continue
        fields.push({ name, type: parseType(type), qualifier, dflt })
      }
      this.classes.set(c.name, { name: c.name, lower: c.name.toLowerCase(), fields, fieldMap: new Map(fields.map((f) => [f.name, f])) })
      this.byLower.set(c.name.toLowerCase(), c.name)
      for (const [name, params, result, flags, since, optionalTail] of c.messages) {
        if (since > idx) continue
        const wire = `${c.name}.${name}`
        this.methods.set(wire, {
          wire,
          cls: c.name,
          name,
          params: params.map(([n, t]) => ({ name: n, type: parseType(t) })),
          result: parseType(result),
          async: flags.includes('a'),
          implicit: flags.includes('i'),
          optionalTail,
          hasSession: params[0]?.[1] === 'session ref',
        })
      }
      // XAPI generates get_all_records_where for every class with get_all_records, hidden from
      // the docs (and so from xenapi.json)
      const all = this.methods.get(`${c.name}.get_all_records`)
      if (all && !this.methods.has(`${c.name}.get_all_records_where`)) {
        this.methods.set(`${c.name}.get_all_records_where`, {
          ...all,
          wire: `${c.name}.get_all_records_where`,
          name: 'get_all_records_where',
          params: [...all.params, { name: 'expr', type: parseType('string') }],
        })
      }
    }
  }

  cls(name: string): ClassSchema {
    const c = this.classes.get(name)
    if (!c) throw new Error(`class ${name} is not in release ${this.release}`)
    return c
  }

  /** every wire name, Async.* included, as system.listMethods returns them */
  listMethods(): string[] {
    if (!this.methodList) {
      const out: string[] = []
      for (const m of this.methods.values()) {
        out.push(m.wire)
        if (m.async) out.push(`Async.${m.wire}`)
      }
      out.push('system.listMethods')
      this.methodList = out
    }
    return this.methodList
  }
}

const schemas = new Map<string, Schema>()
export function schemaFor(release: string): Schema {
  let s = schemas.get(release)
  if (!s) {
    s = new Schema(release)
    schemas.set(release, s)
  }
  return s
}

/** The value a field takes when nobody set it: the datamodel default, else the type's zero. */
export function defaultValue(type: XType, literal: string | null): SimValue {
  if (literal !== null) {
    const v = parseLiteral(type, literal)
    if (v !== undefined) return v
  }
  return zeroValue(type)
}

export function zeroValue(type: XType): SimValue {
  switch (type.k) {
    case 'string':
    case 'void':
      return ''
    case 'int':
    case 'float':
      return 0
    case 'bool':
      return false
    case 'datetime':
      return NULL_DATE
    case 'ref':
      return NULL_REF
    case 'enum':
      return ENUMS[type.name]?.[0] ?? ''
    case 'set':
      return []
    case 'map':
    case 'record':
    case 'batch':
      return {}
    case 'option':
      return zeroValue(type.of)
  }
}

function parseLiteral(type: XType, lit: string): SimValue | undefined {
  const s = lit.trim()
  switch (type.k) {
    case 'string':
      return s.startsWith('"') ? unquote(s) : s
    case 'int': {
      const n = Number(s)
      return Number.isFinite(n) ? n : undefined
    }
    case 'float': {
      const n = Number(s.endsWith('.') ? s + '0' : s)
      return Number.isFinite(n) ? n : undefined
    }
    case 'bool':
      return s === 'true' ? true : s === 'false' ? false : undefined
    case 'datetime':
      return /^\d{8}T\d\d:\d\d:\d\dZ$/.test(s) ? s : undefined
    case 'ref':
      return s === 'Null' || s === 'null' ? NULL_REF : s.startsWith('OpaqueRef:') ? s : undefined
    case 'enum':
      return s === 'null' || s === '{}' ? undefined : s
    case 'set': {
      if (!/^[{(].*[})]$/.test(s)) return undefined
      const body = s.slice(1, -1).trim()
      if (!body) return []
      const items: SimValue[] = []
      for (const part of body.split(',')) {
        const v = parseLiteral(type.of, part.trim())
        if (v === undefined) return undefined
        items.push(v)
      }
      return items
    }
    case 'map': {
      if (!/^[{(].*[})]$/.test(s)) return undefined
      const out: Record<string, SimValue> = {}
      const re = /"((?:[^"\\]|\\.)*)"\s*->\s*"((?:[^"\\]|\\.)*)"/g
      for (const m of s.matchAll(re)) out[m[1] ?? ''] = m[2] ?? ''
      return out
    }
    default:
      return undefined
  }
}

function unquote(s: string): string {
  try {
    const v: unknown = JSON.parse(s)
    return typeof v === 'string' ? v : s
  } catch {
    return s.slice(1, -1)
  }
}
