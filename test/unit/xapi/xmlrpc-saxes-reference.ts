/**
 * Test-only reference: the saxes-based XML-RPC response parser that main/xapi/xmlrpc.ts used before
 * its hand-written scanner. The differential tests check the new parser gives the same values.
 */
import { SaxesParser } from 'saxes'
import type { WireValue } from '../../../main/xapi/wire'

const enum Kind {
  Value = 0,
  Struct = 1,
  Array = 2,
}

interface ValueFrame {
  k: Kind.Value
  /** set once a typed child (scalar tag, struct or array) produced the value */
  v: WireValue | undefined
  has: boolean
}
interface StructFrame {
  k: Kind.Struct
  obj: { [key: string]: WireValue }
  name: string
}
interface ArrayFrame {
  k: Kind.Array
  arr: WireValue[]
}
type Frame = ValueFrame | StructFrame | ArrayFrame

export class XmlRpcParseError extends Error {
  override name = 'XmlRpcParseError'
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER

function parseIntText(t: string, tag: string): WireValue {
  const s = t.trim()
  if (!/^[-+]?\d+$/.test(s)) throw new XmlRpcParseError(`<${tag}> holds "${s.slice(0, 40)}", not an integer`)
  const n = Number(s)
  return Math.abs(n) <= MAX_SAFE ? n : s
}

function parseDoubleText(t: string): number {
  const s = t.trim().toLowerCase()
  if (s === 'nan' || s === '-nan') return NaN
  if (s === 'inf' || s === 'infinity' || s === '+inf') return Infinity
  if (s === '-inf' || s === '-infinity') return -Infinity
  const n = Number(s)
  if (s === '' || Number.isNaN(n)) throw new XmlRpcParseError(`<double> holds "${t.slice(0, 40)}", not a number`)
  return n
}

/**
 * Incremental parser of one methodResponse. `write` each decoded text chunk as it arrives, then
 * `end()` returns the single param value (the Status/Value struct for XAPI calls). A <fault> is
 * returned as { faultCode, faultString } with `isFault` set.
 */
export class SaxesXmlRpcResponseParser {
  /**
   * Text from saxes is a slice of the decoded chunk; V8 keeps such slices (≥ 13 chars) pointing at
   * the whole chunk, so a parsed 10,000-VM answer kept ~4× its own size alive (204 MB vs 48 MB
   * for the same records from JSON). Long values are copied flat once (a de-duplicating Map was
   * tried: 16% of the parse time for little gain), so the result owns only its own characters.
   */
  private readonly sax: SaxesParser
  private readonly stack: Frame[] = []
  private text = ''
  private collecting = false
  private result: WireValue | undefined
  private hasResult = false
  private error: Error | undefined
  isFault = false

  constructor() {
    this.sax = new SaxesParser({ xmlns: false, position: false })
    this.sax.on('error', (e) => {
      this.error ??= new XmlRpcParseError(`malformed XML-RPC response: ${e.message}`)
    })
    this.sax.on('text', (t) => {
      if (this.collecting) this.text += t
    })
    this.sax.on('cdata', (t) => {
      if (this.collecting) this.text += t
    })
    this.sax.on('opentag', (tag) => this.open(tag.name))
    this.sax.on('closetag', (tag) => this.close(tag.name))
  }

  private open(name: string): void {
    switch (name) {
      case 'value':
        this.stack.push({ k: Kind.Value, v: undefined, has: false })
        this.text = ''
        this.collecting = true
        return
      case 'struct':
        this.stack.push({ k: Kind.Struct, obj: {}, name: '' })
        this.collecting = false
        return
      case 'array':
        this.stack.push({ k: Kind.Array, arr: [] })
        this.collecting = false
        return
      case 'name':
      case 'string':
      case 'i4':
      case 'i8':
      case 'int':
      case 'double':
      case 'boolean':
      case 'dateTime.iso8601':
      case 'base64':
        this.text = ''
        this.collecting = true
        return
      case 'nil':
        this.setScalar(null)
        return
      case 'fault':
        this.isFault = true
        return
      default:
        this.collecting = false
    }
  }

  private setScalar(v: WireValue): void {
    const top = this.stack[this.stack.length - 1]
    if (top && top.k === Kind.Value) {
      top.v = v
      top.has = true
    }
    this.collecting = false
  }

  private close(name: string): void {
    switch (name) {
      case 'value': {
        const frame = this.stack.pop()
        if (!frame || frame.k !== Kind.Value) throw new XmlRpcParseError('unbalanced <value>')
        const v: WireValue = frame.has ? (frame.v as WireValue) : this.own(this.text)
        this.collecting = false
        this.attach(v)
        return
      }
      case 'struct':
      case 'array': {
        const frame = this.stack.pop()
        if (!frame || frame.k === Kind.Value) throw new XmlRpcParseError(`unbalanced <${name}>`)
        const top = this.stack[this.stack.length - 1]
        if (top && top.k === Kind.Value) {
          top.v = frame.k === Kind.Struct ? frame.obj : frame.arr
          top.has = true
        }
        return
      }
      case 'name': {
        const top = this.stack[this.stack.length - 1]
        if (top && top.k === Kind.Struct) top.name = this.text
        this.collecting = false
        return
      }
      case 'string':
      case 'dateTime.iso8601':
      case 'base64':
        this.setScalar(this.own(this.text))
        return
      case 'i4':
      case 'i8':
      case 'int':
        this.setScalar(parseIntText(this.text, name))
        return
      case 'double':
        this.setScalar(parseDoubleText(this.text))
        return
      case 'boolean': {
        const s = this.text.trim()
        if (s !== '0' && s !== '1') throw new XmlRpcParseError(`<boolean> holds "${s.slice(0, 20)}", not 0 or 1`)
        this.setScalar(s === '1')
        return
      }
      default:
    }
  }

  private own(s: string): string {
    // concatenation + slice makes V8 copy the characters into a new flat string, so the result
    // no longer pins the decoded chunk it came from
    return s.length < 13 ? s : (' ' + s).slice(1)
  }

  private attach(v: WireValue): void {
    const parent = this.stack[this.stack.length - 1]
    if (!parent) {
      if (!this.hasResult) {
        this.result = v
        this.hasResult = true
      }
    } else if (parent.k === Kind.Struct) {
      parent.obj[parent.name] = v
    } else if (parent.k === Kind.Array) {
      parent.arr.push(v)
    }
  }

  write(chunk: string): void {
    if (this.error) throw this.error
    try {
      this.sax.write(chunk)
    } catch (e) {
      throw this.error ?? (e instanceof XmlRpcParseError ? e : new XmlRpcParseError(`malformed XML-RPC response: ${(e as Error).message}`))
    }
    if (this.error) throw this.error
  }

  end(): WireValue {
    this.write('')
    try {
      this.sax.close()
    } catch (e) {
      throw this.error ?? new XmlRpcParseError(`malformed XML-RPC response: ${(e as Error).message}`)
    }
    if (this.error) throw this.error
    if (!this.hasResult) throw new XmlRpcParseError('XML-RPC response ended without a value (truncated?)')
    return this.result as WireValue
  }
}

export function saxesParseXmlRpcResponse(xml: string): WireValue {
  const p = new SaxesXmlRpcResponseParser()
  p.write(xml)
  return p.end()
}

/**
 * Decodes a task's `result` field: an XML-RPC <value> fragment even over JSON-RPC; '' means void.
 */
export function saxesParseXmlRpcFragment(fragment: string): WireValue {
  const trimmed = fragment.trim()
  if (trimmed === '') return ''
  const p = new SaxesXmlRpcResponseParser()
  p.write(`<methodResponse><params><param>${trimmed}</param></params></methodResponse>`)
  return p.end()
}
