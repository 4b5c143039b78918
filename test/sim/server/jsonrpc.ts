/**
 * JSON-RPC v1/v2 as XAPI writes it: ints as numbers, non-finite floats as the bare tokens
 * NaN/Infinity (Yojson), datetimes as 'YYYYMMDDThh:mm:ssZ' strings, void as "".
 */
import type { SimRecord, SimValue } from '../model'
import { Out } from './out'
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

export class JsonEncoder {
  private readonly cache = new WeakMap<SimRecord, Buffer>()

  constructor(private readonly schema: Schema) {}

  record(cls: string, rec: SimRecord): Buffer {
    let b = this.cache.get(rec)
    if (!b) {
      const o = new Out()
      const c = this.schema.classes.get(cls)
      o.str('{')
      if (c) {
        let first = true
        for (const f of c.fields) {
          o.str(first ? `"${f.name}":` : `,"${f.name}":`)
          first = false
          this.value(f.type, rec[f.name], o)
        }
      }
      o.str('}')
      b = o.toBuffer()
      this.cache.set(rec, b)
    }
    return b
  }

  value(t: XType, v: SimValue | undefined, o: Out): void {
    switch (t.k) {
      case 'string':
      case 'enum':
        o.str(JSON.stringify(typeof v === 'string' ? v : v === undefined ? '' : String(v)))
        return
      case 'ref':
        o.str(JSON.stringify(typeof v === 'string' && v ? v : NULL_REF))
        return
      case 'datetime':
        o.str(JSON.stringify(typeof v === 'string' && v ? v : NULL_DATE))
        return
      case 'int':
        o.str(jsonInt(v))
        return
      case 'float':
        o.str(jsonFloat(typeof v === 'number' ? v : Number(v ?? 0)))
        return
      case 'bool':
        o.str(v === true || v === 'true' || v === 1 ? 'true' : 'false')
        return
      case 'void':
        o.str('""')
        return
      case 'option':
        this.value(t.of, v, o)
        return
      case 'set': {
        o.str('[')
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            if (i) o.str(',')
            this.value(t.of, v[i], o)
          }
        }
        o.str(']')
        return
      }
      case 'map': {
        o.str('{')
        if (v && typeof v === 'object' && !Array.isArray(v)) {
          let first = true
          for (const k of Object.keys(v)) {
            o.str(first ? `${JSON.stringify(k)}:` : `,${JSON.stringify(k)}:`)
            first = false
            this.value(t.val, v[k], o)
          }
        }
        o.str('}')
        return
      }
      case 'record':
        if (v && typeof v === 'object' && !Array.isArray(v)) o.buf(this.record(t.cls, v))
        else o.str('{}')
        return
      case 'batch':
        o.str('{}')
        return
    }
  }
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
