/**
 * XML-RPC as XAPI (ocaml-rpc, non-strict) writes it: untyped <value> for strings, refs, enums and
 * int64; <double>, <boolean>1|0, <dateTime.iso8601> without hyphens; Status/Value envelopes.
 * Record fragments are encoded once per record object and cached until the record is replaced.
 */
import { SaxesParser } from 'saxes'
import type { SimRecord, SimValue } from '../model'
import { FragmentSlab, Out, formatG16 } from './out'
import { NULL_DATE, NULL_REF, type Schema, type XType } from './schema'

const ESC_RE = /[<>&"]/
export function escapeXml(s: string): string {
  if (!ESC_RE.test(s)) return s
  // chained literal replaces: much cheaper in V8 than one replace with a callback
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function asString(v: SimValue | undefined): string {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return ''
}

function intText(v: SimValue | undefined): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(Math.trunc(v)) : '0'
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return v
  if (typeof v === 'boolean') return v ? '1' : '0'
  return '0'
}

const MEMBER_END = '</member>'

/**
 * A record's cached encoding: the bare `<value><struct>…</struct></value>`, or, once it has been
 * sent inside a get_all_records, the whole `<member><name>REF</name>…</member>` around it (the
 * bare form is then a view into it). Member fragments made one after another lie next to each
 * other in the slab, so a get_all_records of warmed records goes out as ~1 MB slices, uncopied.
 */
interface Cached {
  buf: Buffer
  /** the ref of the member form; undefined for the bare form */
  ref: string | undefined
  /** byte length of `<member><name>REF</name>` in the member form */
  pre: number
}

export class XmlEncoder {
  private readonly cache = new WeakMap<SimRecord, Cached>()
  private readonly slab = new FragmentSlab()

  constructor(private readonly schema: Schema) {}

  /** `<value><struct>…</struct></value>` of one record, cached by record identity */
  record(cls: string, rec: SimRecord): Buffer {
    const c = this.cache.get(rec)
    if (c) return c.ref === undefined ? c.buf : c.buf.subarray(c.pre, c.buf.length - MEMBER_END.length)
    const buf = this.slab.from(this.recordStr(cls, rec))
    this.cache.set(rec, { buf, ref: undefined, pre: 0 })
    return buf
  }

  /** `<member><name>REF</name><value><struct>…</struct></value></member>` of a record stored at `ref`, cached */
  member(cls: string, ref: string, rec: SimRecord): Buffer {
    const c = this.cache.get(rec)
    if (c && c.ref === ref) return c.buf
    const head = `<member><name>${escapeXml(ref)}</name>`
    // the bare form, if cached, is reused as text; either way the member form replaces it
    const body = c ? c.buf.subarray(c.pre, c.ref === undefined ? c.buf.length : c.buf.length - MEMBER_END.length).toString('utf8') : this.recordStr(cls, rec)
    const buf = this.slab.from(head + body + MEMBER_END)
    this.cache.set(rec, { buf, ref, pre: Buffer.byteLength(head, 'utf8') })
    return buf
  }

  private recordStr(cls: string, rec: SimRecord): string {
    let enc = this.compiled.get(cls)
    if (!enc) {
      enc = this.compile(cls)
      this.compiled.set(cls, enc)
    }
    return enc(rec)
  }

  private readonly compiled = new Map<string, (rec: SimRecord) => string>()

  /**
   * One straight-line function per class: scalar fields inline (the common string and
   * string→string map cases included), anything else through the generic `str`.
   */
  private compile(cls: string): (rec: SimRecord) => string {
    const c = this.schema.classes.get(cls)
    if (!c) return () => '<value><struct></struct></value>'
    const types: XType[] = []
    const lines: string[] = ["let s = '<value><struct>'", 'let v']
    for (const f of c.fields) {
      const name = JSON.stringify(f.name)
      const open = JSON.stringify(`<member><name>${f.name}</name>`)
      lines.push(`v = r[${name}]`)
      switch (f.type.k) {
        case 'string':
        case 'enum':
          lines.push(`s += ${open} + '<value>' + (typeof v === 'string' ? (RE.test(v) ? esc(v) : v) : esc(asString(v))) + '</value></member>'`)
          break
        case 'ref':
          lines.push(`s += ${open} + '<value>' + (typeof v === 'string' && v ? (RE.test(v) ? esc(v) : v) : NULL_REF) + '</value></member>'`)
          break
        case 'int':
          lines.push(`s += ${open} + '<value>' + (typeof v === 'number' && Number.isInteger(v) ? v : intText(v)) + '</value></member>'`)
          break
        case 'bool':
          lines.push(`s += ${open} + (v === true ? '<value><boolean>1</boolean></value>' : v === false ? '<value><boolean>0</boolean></value>' : gen(${types.length}, v)) + '</member>'`)
          types.push(f.type)
          break
        case 'datetime':
          lines.push(`s += ${open} + '<value><dateTime.iso8601>' + (typeof v === 'string' && v ? esc(v) : NULL_DATE) + '</dateTime.iso8601></value></member>'`)
          break
        case 'set':
          if (f.type.of.k === 'string' || f.type.of.k === 'enum' || f.type.of.k === 'ref') {
            lines.push(`s += ${open} + '<value><array><data>'`)
            lines.push(`if (Array.isArray(v)) for (const x of v) s += '<value>' + (typeof x === 'string' ? (RE.test(x) ? esc(x) : x) : esc(asString(x))) + '</value>'`)
            lines.push(`s += '</data></array></value></member>'`)
            break
          }
          lines.push(`s += ${open} + gen(${types.length}, v) + '</member>'`)
          types.push(f.type)
          break
        case 'map':
          if ((f.type.key.k === 'string' || f.type.key.k === 'enum' || f.type.key.k === 'ref') && (f.type.val.k === 'string' || f.type.val.k === 'enum' || f.type.val.k === 'ref')) {
            lines.push(`s += ${open} + '<value><struct>'`)
            lines.push(`if (v && typeof v === 'object' && !Array.isArray(v)) for (const k in v) { const x = v[k]; s += '<member><name>' + (RE.test(k) ? esc(k) : k) + '</name><value>' + (typeof x === 'string' ? (RE.test(x) ? esc(x) : x) : esc(asString(x))) + '</value></member>' }`)
            lines.push(`s += '</struct></value></member>'`)
            break
          }
          lines.push(`s += ${open} + gen(${types.length}, v) + '</member>'`)
          types.push(f.type)
          break
        default:
          lines.push(`s += ${open} + gen(${types.length}, v) + '</member>'`)
          types.push(f.type)
      }
    }
    lines.push("return s + '</struct></value>'")
    const gen = (i: number, v: SimValue | undefined): string => {
      const t = types[i]
      return t ? this.str(t, v) : '<value></value>'
    }
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated once per class from the datamodel
    const make = new Function('RE', 'esc', 'asString', 'intText', 'NULL_REF', 'NULL_DATE', 'gen', `return (r) => { ${lines.join('\n')} }`) as (
      ...deps: unknown[]
    ) => (rec: SimRecord) => string
    return make(ESC_RE, escapeXml, asString, intText, NULL_REF, NULL_DATE, gen)
  }

  /** one value as XML text; records inside (rare outside get_record) are encoded uncached */
  str(t: XType, v: SimValue | undefined): string {
    switch (t.k) {
      case 'string':
      case 'enum':
        return typeof v === 'string' ? `<value>${ESC_RE.test(v) ? escapeXml(v) : v}</value>` : `<value>${escapeXml(asString(v))}</value>`
      case 'ref':
        return `<value>${typeof v === 'string' && v ? escapeXml(v) : NULL_REF}</value>`
      case 'int':
        return `<value>${intText(v)}</value>`
      case 'float':
        return `<value><double>${formatG16(typeof v === 'number' ? v : Number(v ?? 0))}</double></value>`
      case 'bool':
        return v === true || v === 'true' || v === 1 ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>'
      case 'datetime':
        return `<value><dateTime.iso8601>${typeof v === 'string' && v ? escapeXml(v) : NULL_DATE}</dateTime.iso8601></value>`
      case 'void':
        return '<value></value>'
      case 'option':
        return this.str(t.of, v)
      case 'set': {
        let s = '<value><array><data>'
        if (Array.isArray(v)) for (const item of v) s += this.str(t.of, item)
        return s + '</data></array></value>'
      }
      case 'map': {
        let s = '<value><struct>'
        if (v && typeof v === 'object' && !Array.isArray(v)) {
          for (const k in v) s += `<member><name>${ESC_RE.test(k) ? escapeXml(k) : k}</name>${this.str(t.val, v[k])}</member>`
        }
        return s + '</struct></value>'
      }
      case 'record':
        return v && typeof v === 'object' && !Array.isArray(v) ? this.recordStr(t.cls, v) : '<value><struct></struct></value>'
      case 'batch':
        return '<value><struct></struct></value>'
    }
  }

  value(t: XType, v: SimValue | undefined, o: Out): void {
    if (t.k === 'record') {
      if (v && typeof v === 'object' && !Array.isArray(v)) o.buf(this.record(t.cls, v))
      else o.str('<value><struct></struct></value>')
      return
    }
    if (t.k === 'map' && t.val.k === 'record' && v && typeof v === 'object' && !Array.isArray(v)) {
      // get_all_records: cached record fragments between small pieces of glue
      o.str('<value><struct>')
      const cls = t.val.cls
      for (const k in v) {
        const rec = v[k]
        if (rec && typeof rec === 'object' && !Array.isArray(rec)) o.buf(this.member(cls, k, rec), true)
        else o.str(`<member><name>${escapeXml(k)}</name><value><struct></struct></value></member>`)
      }
      o.str('</struct></value>')
      return
    }
    o.str(this.str(t, v))
  }

  /** a value as a standalone XML-RPC fragment (task.result) */
  fragment(t: XType, v: SimValue): string {
    const o = new Out()
    this.value(t, v, o)
    return o.toString()
  }
}

export const XML_HEAD = '<?xml version="1.0"?><methodResponse><params><param>'
export const XML_TAIL = '</param></params></methodResponse>'

export function xmlSuccessHead(): string {
  return `${XML_HEAD}<value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name>`
}
export const XML_SUCCESS_TAIL = `</member></struct></value>${XML_TAIL}`

export function xmlFailure(description: readonly string[]): string {
  const items = description.map((d) => `<value>${escapeXml(d)}</value>`).join('')
  return `${XML_HEAD}<value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name><value><array><data>${items}</data></array></value></member></struct></value>${XML_TAIL}`
}

export function xmlBareStringArray(items: readonly string[]): string {
  return `${XML_HEAD}<value><array><data>${items.map((i) => `<value>${escapeXml(i)}</value>`).join('')}</data></array></value>${XML_TAIL}`
}

// ---------------------------------------------------------------------------------------------
// Request parsing

export class XmlRpcParseError extends Error {}

interface El {
  name: string
  children: El[]
  text: string
}

function parseDom(xml: string): El {
  const parser = new SaxesParser({ xmlns: false })
  const root: El = { name: '#root', children: [], text: '' }
  const stack: El[] = [root]
  let failure: Error | undefined
  parser.on('error', (e) => {
    failure ??= e
  })
  parser.on('opentag', (node) => {
    const el: El = { name: node.name, children: [], text: '' }
    stack[stack.length - 1]?.children.push(el)
    stack.push(el)
  })
  parser.on('closetag', () => {
    stack.pop()
  })
  const onText = (t: string): void => {
    const top = stack[stack.length - 1]
    if (top) top.text += t
  }
  parser.on('text', onText)
  parser.on('cdata', onText)
  try {
    parser.write(xml).close()
  } catch (e) {
    failure ??= e instanceof Error ? e : new Error(String(e))
  }
  if (failure) throw new XmlRpcParseError(`malformed XML: ${failure.message}`)
  return root
}

function child(el: El, name: string): El | undefined {
  return el.children.find((c) => c.name === name)
}

function decodeValue(v: El): SimValue {
  const typed = v.children[0]
  if (!typed) return v.text
  switch (typed.name) {
    case 'string':
    case 'dateTime.iso8601':
      return typed.text
    case 'base64':
      return Buffer.from(typed.text.trim(), 'base64').toString('utf8')
    case 'i4':
    case 'i8':
    case 'int': {
      const n = Number(typed.text.trim())
      if (!Number.isFinite(n) || !/^[-+]?\d+$/.test(typed.text.trim())) throw new XmlRpcParseError(`bad <${typed.name}> value ${JSON.stringify(typed.text)}`)
      return n
    }
    case 'double': {
      const t = typed.text.trim().toLowerCase()
      const n = t === 'nan' ? NaN : t === 'inf' || t === 'infinity' ? Infinity : t === '-inf' || t === '-infinity' ? -Infinity : Number(t)
      if (Number.isNaN(n) && t !== 'nan') throw new XmlRpcParseError(`bad <double> value ${JSON.stringify(typed.text)}`)
      return n
    }
    case 'boolean': {
      const t = typed.text.trim()
      if (t !== '0' && t !== '1') throw new XmlRpcParseError(`bad <boolean> value ${JSON.stringify(typed.text)}`)
      return t === '1'
    }
    case 'nil':
      return ''
    case 'array': {
      const data = child(typed, 'data')
      if (!data) throw new XmlRpcParseError('<array> without <data>')
      return data.children.filter((c) => c.name === 'value').map(decodeValue)
    }
    case 'struct': {
      const out: Record<string, SimValue> = {}
      for (const m of typed.children) {
        if (m.name !== 'member') continue
        const name = child(m, 'name')
        const value = child(m, 'value')
        if (!name || !value) throw new XmlRpcParseError('<member> needs <name> and <value>')
        out[name.text] = decodeValue(value)
      }
      return out
    }
    default:
      throw new XmlRpcParseError(`unknown XML-RPC type <${typed.name}>`)
  }
}

export function parseMethodCall(xml: string): { method: string; params: SimValue[] } {
  const root = parseDom(xml)
  const call = child(root, 'methodCall')
  if (!call) throw new XmlRpcParseError('no <methodCall> element')
  const name = child(call, 'methodName')
  if (!name || !name.text.trim()) throw new XmlRpcParseError('no <methodName>')
  const params = child(call, 'params')
  const values: SimValue[] = []
  if (params) {
    for (const p of params.children) {
      if (p.name !== 'param') continue
      const v = child(p, 'value')
      if (!v) throw new XmlRpcParseError('<param> without <value>')
      values.push(decodeValue(v))
    }
  }
  return { method: name.text.trim(), params: values }
}


/** a document holding one XML-RPC `<value>` (an XVA's ova.xml) */
export function parseXmlValue(xml: string): SimValue {
  const root = parseDom(xml)
  const v = child(root, 'value')
  if (!v) throw new XmlRpcParseError('no <value> element at the top')
  return decodeValue(v)
}
