/**
 * JSON-RPC v1/v2 as XAPI writes it: ints as numbers, non-finite floats as the bare tokens
 * NaN/Infinity (Yojson), datetimes as 'YYYYMMDDThh:mm:ssZ' strings, void as "".
 */
import type { SimRecord, SimValue } from '../model'
import { FragmentSlab, Out } from './out'
import { NULL_DATE, NULL_REF, type Schema, type XType } from './schema'

function jsonFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Infinity) return 'Infinity'
  if (n === -Infinity) return '-Infinity'
  return String(n)
}

function jsonInt(v: SimValue | undefined): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(Math.trunc(v)) : '0'
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return v
  if (typeof v === 'boolean') return v ? '1' : '0'
  return '0'
}

/**
 * A record's cached encoding: the bare `{…}`, or, once it has been sent inside a get_all_records,
 * the member form `,"REF":{…}` (the bare form is then a view into it; the map's first member is
 * sent without its comma). Member fragments made one after another lie next to each other in the
 * slab, so a get_all_records of warmed records goes out as ~1 MB slices, uncopied.
 */
interface Cached {
  buf: Buffer
  /** the ref of the member form; undefined for the bare form */
  ref: string | undefined
  /** byte length of `,"REF":` in the member form */
  pre: number
}

export class JsonEncoder {
  private readonly cache = new WeakMap<SimRecord, Cached>()
  private readonly slab = new FragmentSlab()

  constructor(private readonly schema: Schema) {}

  record(cls: string, rec: SimRecord): Buffer {
    const c = this.cache.get(rec)
    if (c) return c.ref === undefined ? c.buf : c.buf.subarray(c.pre)
    const buf = this.slab.from(this.fast(cls, rec) ?? this.recordStr(cls, rec))
    this.cache.set(rec, { buf, ref: undefined, pre: 0 })
    return buf
  }

  /** `,"REF":{…}` of a record stored at `ref`, cached */
  member(cls: string, ref: string, rec: SimRecord): Buffer {
    const c = this.cache.get(rec)
    if (c && c.ref === ref) return c.buf
    const head = `,${JSON.stringify(ref)}:`
    const body = c ? c.buf.subarray(c.pre).toString('utf8') : (this.fast(cls, rec) ?? this.recordStr(cls, rec))
    const buf = this.slab.from(head + body)
    this.cache.set(rec, { buf, ref, pre: Buffer.byteLength(head, 'utf8') })
    return buf
  }

  /**
   * Native JSON.stringify when the record holds exactly the class's fields and no non-finite
   * float (which JSON.stringify would turn into null instead of Yojson's NaN/Infinity tokens).
   */
  private fast(cls: string, rec: SimRecord): string | undefined {
    let plan = this.plans.get(cls)
    if (!plan) {
      const c = this.schema.classes.get(cls)
      if (!c) return undefined
      plan = {
        names: new Set(c.fields.map((f) => f.name)),
        count: c.fields.length,
        floaty: c.fields.filter((f) => containsFloat(f.type)).map((f) => f.name),
      }
      this.plans.set(cls, plan)
    }
    let n = 0
    for (const k in rec) {
      if (!plan.names.has(k)) return undefined
      n++
    }
    if (n !== plan.count) return undefined
    for (const f of plan.floaty) if (!allFinite(rec[f])) return undefined
    return JSON.stringify(rec)
  }

  private readonly plans = new Map<string, { names: Set<string>; count: number; floaty: string[] }>()

  private recordStr(cls: string, rec: SimRecord): string {
    const c = this.schema.classes.get(cls)
    let s = '{'
    if (c) {
      let first = true
      for (const f of c.fields) {
        s += `${first ? '' : ','}"${f.name}":${this.str(f.type, rec[f.name])}`
        first = false
      }
    }
    return s + '}'
  }

  str(t: XType, v: SimValue | undefined): string {
    switch (t.k) {
      case 'string':
      case 'enum':
        return JSON.stringify(typeof v === 'string' ? v : v === undefined ? '' : String(v))
      case 'ref':
        return JSON.stringify(typeof v === 'string' && v ? v : NULL_REF)
      case 'datetime':
        return JSON.stringify(typeof v === 'string' && v ? v : NULL_DATE)
      case 'int':
        return jsonInt(v)
      case 'float':
        return jsonFloat(typeof v === 'number' ? v : Number(v ?? 0))
      case 'bool':
        return v === true || v === 'true' || v === 1 ? 'true' : 'false'
      case 'void':
        return '""'
      case 'option':
        return this.str(t.of, v)
      case 'set': {
        let s = '['
        if (Array.isArray(v)) for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + this.str(t.of, v[i])
        return s + ']'
      }
      case 'map': {
        let s = '{'
        if (v && typeof v === 'object' && !Array.isArray(v)) {
          let first = true
          for (const k in v) {
            s += `${first ? '' : ','}${JSON.stringify(k)}:${this.str(t.val, v[k])}`
            first = false
          }
        }
        return s + '}'
      }
      case 'record':
        return v && typeof v === 'object' && !Array.isArray(v) ? (this.fast(t.cls, v) ?? this.recordStr(t.cls, v)) : '{}'
      case 'batch':
        return '{}'
    }
  }

  value(t: XType, v: SimValue | undefined, o: Out): void {
    if (t.k === 'record') {
      if (v && typeof v === 'object' && !Array.isArray(v)) o.buf(this.record(t.cls, v))
      else o.str('{}')
      return
    }
    if (t.k === 'map' && t.val.k === 'record' && v && typeof v === 'object' && !Array.isArray(v)) {
      o.str('{')
      const cls = t.val.cls
      let first = true
      for (const k in v) {
        const rec = v[k]
        if (rec && typeof rec === 'object' && !Array.isArray(rec)) {
          const m = this.member(cls, k, rec)
          o.buf(first ? m.subarray(1) : m, true)
        } else o.str(`${first ? '' : ','}${JSON.stringify(k)}:{}`)
        first = false
      }
      o.str('}')
      return
    }
    o.str(this.str(t, v))
  }
}

function containsFloat(t: XType): boolean {
  switch (t.k) {
    case 'float':
      return true
    case 'set':
    case 'option':
      return containsFloat(t.of)
    case 'map':
      return containsFloat(t.val)
    default:
      return false
  }
}

function allFinite(v: SimValue | undefined): boolean {
  if (typeof v === 'number') return Number.isFinite(v)
  if (Array.isArray(v)) return v.every(allFinite)
  if (v && typeof v === 'object') {
    for (const k in v) if (!allFinite(v[k])) return false
  }
  return true
}

export type JsonRpcVersion = 1 | 2

export interface JsonRpcRequest {
  version: JsonRpcVersion
  method: string
  params: SimValue[]
  /** already JSON-encoded id, echoed verbatim */
  idJson: string
}

export class JsonRpcParseError extends Error {
  constructor(
    message: string,
    readonly version: JsonRpcVersion = 2,
    readonly idJson = 'null',
  ) {
    super(message)
  }
}

function toSimValue(v: unknown, path: string): SimValue {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v
  if (v === null) return ''
  if (Array.isArray(v)) return v.map((x, i) => toSimValue(x, `${path}[${i}]`))
  if (typeof v === 'object') {
    const out: Record<string, SimValue> = {}
    for (const [k, x] of Object.entries(v)) out[k] = toSimValue(x, `${path}.${k}`)
    return out
  }
  throw new JsonRpcParseError(`unsupported JSON value at ${path}`)
}

export function parseJsonRpc(body: string): JsonRpcRequest {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch (e) {
    throw new JsonRpcParseError(`malformed JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new JsonRpcParseError('JSON-RPC request must be an object')
  const req = parsed as Record<string, unknown>
  const version: JsonRpcVersion = req['jsonrpc'] === '2.0' ? 2 : 1
  const id = req['id']
  const idJson = id === undefined ? 'null' : JSON.stringify(id)
  if (id === undefined || id === null) throw new JsonRpcParseError('JSON-RPC request needs a non-null "id"', version, 'null')
  const method = req['method']
  if (typeof method !== 'string' || !method) throw new JsonRpcParseError('JSON-RPC request needs a "method" string', version, idJson)
  const params = req['params'] ?? []
  if (!Array.isArray(params)) throw new JsonRpcParseError('JSON-RPC "params" must be an array (XAPI params are positional)', version, idJson)
  return { version, method, params: params.map((p, i) => toSimValue(p, `params[${i}]`)), idJson }
}

export function jsonSuccessHead(version: JsonRpcVersion): string {
  return version === 2 ? '{"jsonrpc":"2.0","result":' : '{"result":'
}
export function jsonSuccessTail(version: JsonRpcVersion, idJson: string): string {
  return version === 2 ? `,"id":${idJson}}` : `,"error":null,"id":${idJson}}`
}
export function jsonFailure(version: JsonRpcVersion, idJson: string, description: readonly string[]): string {
  const [code = 'INTERNAL_ERROR', ...data] = description
  return version === 2
    ? `{"jsonrpc":"2.0","error":{"code":1,"message":${JSON.stringify(code)},"data":${JSON.stringify(data)}},"id":${idJson}}`
    : `{"result":null,"error":${JSON.stringify(description)},"id":${idJson}}`
}
