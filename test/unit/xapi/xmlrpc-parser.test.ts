/**
 * The hand-written streaming XML-RPC response parser (main/xapi/xmlrpc.ts) against the saxes-based
 * parser it replaced (kept here as xmlrpc-saxes-reference.ts): simulator responses and randomly
 * generated documents, each fed whole and in random chunk splits down to 1-char chunks, must give
 * the same values (same key order, NaN and -0 included); malformed input must throw
 * XmlRpcParseError naming the problem, whatever the splits.
 */
import { describe, expect, it } from 'vitest'
import { XmlRpcParseError, XmlRpcResponseParser, parseXmlRpcFragment, parseXmlRpcResponse } from '../../../main/xapi/xmlrpc'
import type { WireValue } from '../../../main/xapi/wire'
import { simXmlRpcResponses } from './sim-xmlrpc-responses'
import { SaxesXmlRpcResponseParser } from './xmlrpc-saxes-reference'
import { rng } from './rng'

// ------------------------------------------------------------------------------------------------
// helpers

type Rand = () => number
const int = (r: Rand, n: number): number => Math.floor(r() * n)
function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[int(r, xs.length)] as T
}

/** the text cut into chunks: all 1-char, small, medium or large random sizes */
function split(text: string, r: Rand, style: 'one' | 'small' | 'medium' | 'large'): string[] {
  if (style === 'one') return Array.from({ length: text.length }, (_, i) => text.charAt(i))
  const max = style === 'small' ? 8 : style === 'medium' ? 300 : 70_000
  const out: string[] = []
  for (let i = 0; i < text.length; ) {
    const n = 1 + int(r, max)
    out.push(text.slice(i, i + n))
    i += n
  }
  return out
}

interface Parsed {
  value?: WireValue
  isFault?: boolean
  error?: unknown
}

function parseNew(chunks: readonly string[]): Parsed {
  const p = new XmlRpcResponseParser()
  try {
    for (const c of chunks) p.write(c)
    return { value: p.end(), isFault: p.isFault }
  } catch (e) {
    return { error: e }
  }
}

function parseRef(chunks: readonly string[]): Parsed {
  const p = new SaxesXmlRpcResponseParser()
  try {
    for (const c of chunks) p.write(c)
    return { value: p.end(), isFault: p.isFault }
  } catch (e) {
    return { error: e }
  }
}

/** deep equality that also checks key order and tells NaN, 0 and -0 apart; returns the first difference */
function diff(a: unknown, b: unknown, path = '$'): string | undefined {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return `${path}: array vs ${typeof (Array.isArray(a) ? b : a)}`
    if (a.length !== b.length) return `${path}: length ${a.length} vs ${b.length}`
    for (let i = 0; i < a.length; i++) {
      const d = diff(a[i], b[i], `${path}[${i}]`)
      if (d) return d
    }
    return undefined
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    if (Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) return `${path}: prototype differs`
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    if (ka.join('\u0000') !== kb.join('\u0000')) return `${path}: keys ${JSON.stringify(ka)} vs ${JSON.stringify(kb)}`
    for (const k of ka) {
      const d = diff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`)
      if (d) return d
    }
    return undefined
  }
  return Object.is(a, b) ? undefined : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`
}

function expectSame(got: Parsed, want: Parsed, what: string): void {
  if (want.error) throw new Error(`${what}: the reference parser failed: ${String(want.error)}`)
  if (got.error) throw new Error(`${what}: ${String(got.error)}`)
  const d = diff(got.value, want.value)
  if (d) throw new Error(`${what}: ${d}`)
  expect(got.isFault, what).toBe(want.isFault)
}

function expectParseError(xml: string | readonly string[], re: RegExp): void {
  const chunkings: (readonly string[])[] = typeof xml === 'string' ? [[xml], split(xml, rng(xml.length), 'one'), split(xml, rng(7), 'small')] : [xml]
  for (const chunks of chunkings) {
    const r = parseNew(chunks)
    expect(r.error, `${JSON.stringify(chunks.join('').slice(0, 120))} in ${chunks.length} chunk(s) should fail`).toBeInstanceOf(XmlRpcParseError)
    expect((r.error as Error).message).toMatch(re)
  }
}

/**
 * A value holding a character XML 1.0 does not allow: reachable here through character references
 * (XAPI writes control characters so) or a corruption that cut a surrogate pair in two (a decoded
 * HTTP body never holds a lone surrogate). Saxes refuses those; this parser takes them as text.
 */
function hasControl(v: unknown): boolean {
  if (typeof v === 'string') return /[\u0001-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v)
  if (Array.isArray(v)) return v.some(hasControl)
  if (typeof v === 'object' && v !== null) return Object.entries(v).some(([k, x]) => hasControl(k) || hasControl(x))
  return false
}

const doc = (value: string): string => `<?xml version="1.0"?><methodResponse><params><param>${value}</param></params></methodResponse>`

// ------------------------------------------------------------------------------------------------
// random documents with their expected values

interface Gen {
  xml: string
  value: WireValue
}

const TEXT_CHARS = ['a', 'b', 'Z', '0', '9', ' ', '-', ':', '.', '_', '<', '>', '&', '"', "'", ';', '#', '\t', '\n', 'é', 'ß', '中', '文', '😀', '\u2028', ']', ']]>', 'OpaqueRef:', 'amp', '&amp;']

function randomText(r: Rand, max: number): string {
  const n = int(r, max + 1)
  let s = ''
  for (let i = 0; i < n; i++) s += pick(r, TEXT_CHARS)
  return s
}

/** XML character data for s, escaped in a random style (named or numeric references, CDATA, comments between pieces) */
function encodeText(r: Rand, s: string): string {
  let out = ''
  let i = 0
  while (i < s.length) {
    const style = r()
    if (style < 0.05 && !s.includes(']]>', i)) {
      // the rest as CDATA
      let n = 1 + int(r, s.length - i)
      // never between the two halves of a surrogate pair
      if (/[\ud800-\udbff]/.test(s.charAt(i + n - 1))) n++
      const piece = s.slice(i, i + n)
      if (!piece.includes(']]>') && !piece.endsWith(']') && !piece.endsWith(']]')) {
        out += `<![CDATA[${piece}]]>`
        i += n
        continue
      }
    }
    if (style > 0.97) out += pick(r, ['<!-- a comment -->', '<!---->', '<?pi data?>'])
    const cp = s.codePointAt(i) ?? 0
    const ch = String.fromCodePoint(cp)
    i += ch.length
    const numeric = r() < 0.1
    if (numeric) out += r() < 0.5 ? `&#${cp};` : `&#x${cp.toString(16)};`
    else if (ch === '<') out += pick(r, ['&lt;', '&#60;'])
    else if (ch === '&') out += pick(r, ['&amp;', '&#x26;'])
    else if (ch === '>') out += pick(r, ['&gt;', '>'])
    else if (ch === '"') out += pick(r, ['&quot;', '"'])
    else if (ch === "'") out += pick(r, ['&apos;', "'"])
    else if (ch === ']' && s.startsWith(']>', i - 1)) out += '&#93;'
    else out += ch
  }
  return out
}

const WS = ['', '', '', ' ', '\n', '\n  ', '\t', '\r\n', ' \r\n\t ']
const ws = (r: Rand): string => pick(r, WS)
/** an opening tag, sometimes with (ignored) attributes */
function open(r: Rand, name: string): string {
  const x = r()
  return x < 0.05 ? `<${name} a="1">` : x < 0.08 ? `<${name}\n x='y>z' b="/">` : x < 0.1 ? `<${name} >` : `<${name}>`
}
const close = (r: Rand, name: string): string => (r() < 0.05 ? `</${name} >` : `</${name}>`)

const DOUBLES: readonly [string, number][] = [
  ['0', 0],
  ['1', 1],
  ['-1.5', -1.5],
  ['1.0', 1],
  ['3.14159', 3.14159],
  ['1e21', 1e21],
  ['5e-7', 5e-7],
  ['-0.0', -0],
  ['.5', 0.5],
  ['+2.5E3', 2500],
  ['nan', NaN],
  ['NaN', NaN],
  ['inf', Infinity],
  ['-inf', -Infinity],
  ['Infinity', Infinity],
  ['1.7976931348623157e308', 1.7976931348623157e308],
]

function genScalar(r: Rand): Gen {
  switch (int(r, 12)) {
    case 0:
    case 1:
    case 2: {
      const s = randomText(r, 12)
      return { xml: `${open(r, 'value')}${encodeText(r, s)}${close(r, 'value')}`, value: s }
    }
    case 3: {
      const s = randomText(r, 8)
      return { xml: `${open(r, 'value')}${ws(r)}${open(r, 'string')}${encodeText(r, s)}${close(r, 'string')}${ws(r)}${close(r, 'value')}`, value: s }
    }
    case 4:
      return { xml: pick(r, ['<value/>', '<value></value>', '<value><string/></value>', '<value><string></string></value>', '<value> <string/> </value>', '<value />']), value: '' }
    case 5: {
      const tag = pick(r, ['i4', 'i8', 'int'])
      const n = pick(r, [0, 1, -1, 42, 2147483647, -2147483648, 8589934592, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER])
      const text = `${pick(r, ['', ' ', '\n'])}${n > 0 && r() < 0.2 ? '+' : ''}${n}${pick(r, ['', ' '])}`
      return { xml: `<value>${ws(r)}${open(r, tag)}${text}${close(r, tag)}${ws(r)}</value>`, value: n }
    }
    case 6: {
      const big = pick(r, ['9007199254740993', '-9223372036854775808', '18446744073709551615'])
      return { xml: `<value><i8>${big}</i8></value>`, value: big }
    }
    case 7: {
      const [text, n] = pick(r, DOUBLES)
      return { xml: `<value>${ws(r)}${open(r, 'double')}${text}${close(r, 'double')}</value>`, value: n }
    }
    case 8: {
      const b = r() < 0.5
      return { xml: `<value>${open(r, 'boolean')}${pick(r, ['', ' '])}${b ? 1 : 0}${close(r, 'boolean')}${ws(r)}</value>`, value: b }
    }
    case 9: {
      const d = pick(r, ['20250319T04:16:24Z', '19700101T00:00:00Z', '2025-03-19T04:16:24Z'])
      return { xml: `<value>${open(r, 'dateTime.iso8601')}${d}${close(r, 'dateTime.iso8601')}</value>`, value: d }
    }
    case 10: {
      const b = pick(r, ['aGVsbG8=', '', 'AAEC\nAwQ=\n'])
      return { xml: `<value>${open(r, 'base64')}${b}${close(r, 'base64')}</value>`, value: b }
    }
    default:
      return { xml: `<value>${ws(r)}${pick(r, ['<nil/>', '<nil></nil>', '<nil />'])}${ws(r)}</value>`, value: null }
  }
}

function genKey(r: Rand, taken: Set<string>): string {
  for (;;) {
    const k = r() < 0.7 ? pick(r, ['uuid', 'name_label', 'power_state', 'other_config', 'VCPUs_max', '0', '12', 'a b', 'x<y', 'é', '😀', 'memory_static_max_long_name']) + (r() < 0.5 ? String(int(r, 50)) : '') : randomText(r, 6)
    if (!taken.has(k) && k !== '__proto__') {
      taken.add(k)
      return k
    }
  }
}

function genStruct(r: Rand, depth: number, keys?: readonly string[]): Gen {
  const taken = new Set<string>()
  const names = keys ?? Array.from({ length: int(r, 6) }, () => genKey(r, taken))
  const value: { [k: string]: WireValue } = {}
  let xml = `${open(r, 'value')}${ws(r)}`
  if (names.length === 0 && r() < 0.5) return { xml: `<value>${ws(r)}<struct/>${ws(r)}</value>`, value }
  xml += `${open(r, 'struct')}${ws(r)}`
  for (const k of names) {
    const v = genValue(r, depth + 1)
    value[k] = v.value
    xml += `${open(r, 'member')}${ws(r)}${open(r, 'name')}${encodeText(r, k)}${close(r, 'name')}${ws(r)}${v.xml}${ws(r)}${close(r, 'member')}${ws(r)}`
  }
  return { xml: `${xml}${close(r, 'struct')}${ws(r)}${close(r, 'value')}`, value }
}

function genArray(r: Rand, depth: number, items?: readonly Gen[]): Gen {
  const xs = items ?? Array.from({ length: int(r, 5) }, () => genValue(r, depth + 1))
  if (xs.length === 0 && r() < 0.5) return { xml: pick(r, ['<value><array><data/></array></value>', '<value><array></array></value>', '<value><array/></value>']), value: [] }
  return {
    xml: `${open(r, 'value')}${ws(r)}${open(r, 'array')}${ws(r)}${open(r, 'data')}${xs.map((x) => ws(r) + x.xml).join('')}${ws(r)}${close(r, 'data')}${ws(r)}${close(r, 'array')}${ws(r)}${close(r, 'value')}`,
    value: xs.map((x) => x.value),
  }
}

function genValue(r: Rand, depth: number): Gen {
  const x = r()
  if (depth >= 4 || x < 0.6) return genScalar(r)
  if (x < 0.75) return genStruct(r, depth)
  if (x < 0.9) return genArray(r, depth)
  // records: several structs of one shape, wide enough for the shape templates
  const taken = new Set<string>()
  const keys = Array.from({ length: 18 + int(r, 12) }, () => genKey(r, taken))
  const recs = Array.from({ length: 2 + int(r, 4) }, () => genStruct(r, depth + 1, keys))
  // and one of the same size with another last key, to try the template lookup
  const other = [...keys.slice(0, -1), genKey(r, taken)]
  recs.splice(int(r, recs.length), 0, genStruct(r, depth + 1, other))
  return genArray(r, depth, recs)
}

function genDoc(r: Rand): Gen & { fault: boolean } {
  const head = pick(r, ['', '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-8"?>\n', '<?xml version="1.0"?><!-- generated -->\n', '\n'])
  if (r() < 0.1) {
    const code = int(r, 1000)
    const msg = randomText(r, 20)
    const xml = `${head}<methodResponse>${ws(r)}<fault>${ws(r)}<value><struct><member><name>faultCode</name><value><int>${code}</int></value></member><member><name>faultString</name><value>${encodeText(r, msg)}</value></member></struct></value>${ws(r)}</fault>${ws(r)}</methodResponse>${ws(r)}`
    return { xml, value: { faultCode: code, faultString: msg }, fault: true }
  }
  const v = genValue(r, 0)
  return { xml: `${head}${open(r, 'methodResponse')}${ws(r)}<params>${ws(r)}<param>${ws(r)}${v.xml}${ws(r)}</param>${ws(r)}</params>${ws(r)}</methodResponse>${ws(r)}`, value: v.value, fault: false }
}

// ------------------------------------------------------------------------------------------------
// simulator responses


// ------------------------------------------------------------------------------------------------

describe('XML-RPC response parser: same values as the saxes-based reference', () => {
  it('on simulator responses, whole and in random chunk splits down to 1 char', async () => {
    const r = rng(1)
    const responses = await simXmlRpcResponses()
    expect(responses.find((x) => x.what === 'VM.get_all_records')?.xml).toContain('中文 😀')
    for (const { what, xml } of responses) {
      const want = parseRef([xml])
      expectSame(parseNew([xml]), want, `${what} whole`)
      for (const style of ['one', 'small', 'medium', 'large'] as const) {
        const chunks = split(xml, r, style)
        expectSame(parseNew(chunks), want, `${what} in ${chunks.length} ${style} chunks`)
      }
    }
  })

  it('on random documents (every value kind, escapes, CDATA, comments, attributes, whitespace), in random splits', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(seed)
      const g = genDoc(r)
      const want = parseRef([g.xml])
      // the generator's own expectation, then the reference parser's
      expectSame(want, { value: g.value, isFault: g.fault }, `seed ${seed}: reference vs generator`)
      for (const style of ['one', 'small', 'medium', 'large'] as const) {
        const chunks = style === 'large' ? [g.xml] : split(g.xml, r, style)
        expectSame(parseNew(chunks), want, `seed ${seed} in ${chunks.length} ${style} chunks: ${g.xml.slice(0, 200)}`)
      }
    }
    // a fixed amount of work (400 documents × 4 splits, some down to 1 char): ~10 s on a quiet 2-core machine,
    // 79 s was seen with both cores shared by other test runs, so the limit is generous; the test checks values, not time
  }, 300_000)

  it('normalises CR LF and lone CR in text to LF, also when a chunk ends between them', () => {
    const xml = doc('<value>a\r\nb\rc\r\r\nd<![CDATA[e\r\nf]]>&#13;</value>')
    const want = parseRef([xml])
    expect(want.value).toBe('a\nb\nc\n\nde\nf\r')
    for (const style of ['one', 'small'] as const) expectSame(parseNew(split(xml, rng(3), style)), want, style)
  })

  it('builds many-member structs of a repeated shape as ordinary objects (same keys, order, values)', () => {
    const keys = Array.from({ length: 40 }, (_, i) => `field_${i}`)
    const rec = (n: number): string => `<value><struct>${keys.map((k, i) => `<member><name>${k}</name><value>${n}-${i}</value></member>`).join('')}</struct></value>`
    const xml = doc(`<value><array><data>${[1, 2, 3, 4].map(rec).join('')}</data></array></value>`)
    const got = parseXmlRpcResponse(xml) as { [k: string]: WireValue }[]
    expectSame({ value: got, isFault: false }, parseRef([xml]), 'records')
    for (const [n, o] of got.entries()) {
      expect(Object.keys(o)).toEqual(keys)
      expect(o['field_39']).toBe(`${n + 1}-39`)
      expect(Object.getPrototypeOf(o)).toBe(Object.prototype)
    }
    // a changed value in one record does not leak into another (each is its own object)
    got[0] && (got[0]['field_0'] = 'changed')
    expect(got[1]?.['field_0']).toBe('2-0')
  })
})

describe('XML-RPC response parser: many shapes', () => {
  it('stays right past the shape cache bounds (thousands of distinct wide structs, each seen twice)', () => {
    const rec = (shape: number, n: number): string => `<value><struct>${Array.from({ length: 20 + (shape % 7) }, (_, i) => `<member><name>s${shape}_k${i}</name><value>${n}.${i}</value></member>`).join('')}</struct></value>`
    for (let round = 0; round < 2; round++) {
      const shapesInDoc = Array.from({ length: 1500 }, (_, i) => i)
      const xml = doc(`<value><array><data>${shapesInDoc.map((sh) => rec(sh, round)).join('')}</data></array></value>`)
      const got = parseXmlRpcResponse(xml) as Record<string, string>[]
      expect(got).toHaveLength(1500)
      for (const [sh, o] of got.entries()) {
        const keys = Object.keys(o)
        expect(keys).toHaveLength(20 + (sh % 7))
        expect(keys[3]).toBe(`s${sh}_k3`)
        expect(o[`s${sh}_k3`]).toBe(`${round}.3`)
      }
    }
  })
})

describe('XML-RPC response parser: what it accepts', () => {
  it('keeps a member named __proto__ as an own property, never as the prototype', () => {
    const small = parseXmlRpcResponse(doc('<value><struct><member><name>__proto__</name><value><struct><member><name>polluted</name><value>yes</value></member></struct></value></member></struct></value>')) as Record<string, unknown>
    expect(Object.getPrototypeOf(small)).toBe(Object.prototype)
    expect(Object.keys(small)).toEqual(['__proto__'])
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    const wide = Array.from({ length: 30 }, (_, i) => `<member><name>${i === 7 ? '__proto__' : `k${i}`}</name><value>v</value></member>`).join('')
    for (let i = 0; i < 3; i++) {
      const o = parseXmlRpcResponse(doc(`<value><struct>${wide}</struct></value>`)) as Record<string, unknown>
      expect(Object.getPrototypeOf(o)).toBe(Object.prototype)
      expect(Object.keys(o)).toHaveLength(30)
    }
  })

  it('decodes all five named entities and decimal and hex character references', () => {
    expect(parseXmlRpcResponse(doc('<value>&lt;&gt;&amp;&quot;&apos; &#65;&#x42;&#x00043;&#233;&#x1F600;&#128512;</value>'))).toBe(`<>&"' ABCé😀😀`)
  })

  it('accepts control characters written as character references (XAPI escapes them so)', () => {
    expect(parseXmlRpcResponse(doc('<value>a&#1;b&#x1f;c&#9;</value>'))).toBe('a\u0001b\u001fc\t')
  })

  it('returns a <fault> struct with isFault set', () => {
    const p = new XmlRpcResponseParser()
    p.write('<?xml version="1.0"?>\n<methodResponse>\n  <fault>\n    <value><struct><member><name>faultCode</name><value><int>4</int></value></member><member><name>faultString</name><value><string>Too many parameters.</string></value></member></struct></value>\n  </fault>\n</methodResponse>\n')
    expect(p.end()).toEqual({ faultCode: 4, faultString: 'Too many parameters.' })
    expect(p.isFault).toBe(true)
  })

  it('skips a byte-order mark, a DOCTYPE, processing instructions and comments anywhere', () => {
    expect(parseXmlRpcResponse('\ufeff<?xml version="1.0"?><!DOCTYPE methodResponse><!-- x --><methodResponse><?pi x?><params><!-- y --><param><value>a<!-- z -->b</value></param></params></methodResponse><!-- end -->\n')).toBe('ab')
  })

  it('decodes task result fragments', () => {
    expect(parseXmlRpcFragment('  <value>OpaqueRef:abc</value>\n')).toBe('OpaqueRef:abc')
    expect(parseXmlRpcFragment('')).toBe('')
    expect(parseXmlRpcFragment('<value><array><data><value>a</value><value><i4>1</i4></value></data></array></value>')).toEqual(['a', 1])
    expect(() => parseXmlRpcFragment('<value>a</value><value>b</value>')).toThrow(XmlRpcParseError)
  })
})

describe('XML-RPC response parser: malformed input throws XmlRpcParseError naming the problem', () => {
  const valid = doc('<value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value><array><data><value>x &amp; y</value><value><int>7</int></value><value><boolean>1</boolean></value></data></array></value></member></struct></value>')

  it('a response cut anywhere (every prefix), written whole or a char at a time', () => {
    expect(parseXmlRpcResponse(valid)).toEqual({ Status: 'Success', Value: ['x & y', 7, true] })
    for (let n = 0; n < valid.length; n++) {
      const cut = valid.slice(0, n)
      for (const chunks of [[cut], split(cut, rng(n), 'one')]) {
        const r = parseNew(chunks)
        expect(r.error, `prefix of ${n} chars`).toBeInstanceOf(XmlRpcParseError)
        expect((r.error as Error).message, `prefix of ${n} chars`).toMatch(n === 0 ? /empty/ : /truncated|ended without a value/)
      }
    }
  })

  it('unbalanced and misplaced tags', () => {
    expectParseError(doc('<value><struct><member><name>a</name><value>x</value></struct></value>'), /<\/struct> where <\/member> was expected/)
    expectParseError('<methodResponse><params><param><value>x</value></param></params></methodResponse></methodResponse>', /closing tag <\/methodResponse> outside any element/)
    expectParseError(doc('<value><array><value>x</value></array></value>'), /<value> inside <array>/)
    expectParseError(doc('<value><member><name>a</name></member></value>'), /<member> inside <value>/)
    expectParseError(doc('<value><struct><member><value>x</value><name>a</name></member></struct></value>'), /<member> does not start with <name>/)
    expectParseError(doc('<value><struct><member><name>a</name></member></struct></value>'), /<member> "a" without a <value>/)
    expectParseError(doc('<value><struct><member><name>a</name><value>1</value><value>2</value></member></struct></value>'), /holds more than one <name> and one <value>/)
    expectParseError(doc('<value>x</value><value>y</value>'), /<param> holds more than one element/)
    expectParseError(doc(''), /<param> without a <value>/)
    expectParseError(doc('<value><i4>1</i4><string>x</string></value>'), /<value> holds more than one element/)
    expectParseError(doc('<value>abc<string>x</string></value>'), /<value> mixes text "abc" with <string>/)
    expectParseError(doc('<value><string>x</string>abc</value>'), /text "a[^"]*" inside <value> after its <string>/)
    expectParseError(doc('<value><foo>x</foo></value>'), /unknown element <foo> inside <value>/)
    expectParseError(doc('<value><string><i4>1</i4></string></value>'), /<i4> inside <string>/)
    expectParseError(doc('<value><nil>x</nil></value>'), /text "x" inside <nil>/)
    expectParseError('<methodResponse><params><param><value>a</value></param></params></methodResponse><methodResponse>', /<methodResponse> after <\/methodResponse>/)
    expectParseError('<methodResponse></methodResponse>', /holds neither <params> nor <fault>/)
    expectParseError('<methodResponse><params></params></methodResponse>', /ended without a value/)
    expectParseError(doc('<value><struct><member><name>a</name><value>1</value></member>text</struct></value>'), /text "t[^"]*" inside <struct>/)
    expectParseError(doc('<value><array><data><value>1</value></data><data></data></array></value>'), /<array> holds more than one element/)
    expectParseError(doc('<value>a</value  x>'), /junk "x" in <\/value>/)
    expectParseError(doc('<value>a]]>b</value>'), /"]]>" in text/)
    expectParseError(doc('<value a;b="1">x</value>'), /a malformed attribute in <value>/)
    expectParseError(doc('<value a="&bad;">x</value>'), /bad entity reference "&bad;"/)
    expectParseError(doc('<value>a< b</value>'), /'<' not followed by a tag name/)
    expectParseError(doc('<value>a</value/>'), /<\/value\/> where <\/value> was expected/)
    expectParseError(doc('<value><nil/ ></value>'), /'\/' not followed by '>' in <nil>/)
  })

  it('an HTML error page, plain text, garbage, an empty body', () => {
    expectParseError('<html><head><title>502 Bad Gateway</title></head><body>Bad gateway</body></html>', /expected <methodResponse>, found <html>/)
    expectParseError('<!DOCTYPE html>\n<html lang="en"></html>', /expected <methodResponse>, found <html>/)
    expectParseError('Internal Server Error', /text "I[^"]*" where <methodResponse> was expected/)
    expectParseError('{"result": "not xml"}', /where <methodResponse> was expected/)
    expectParseError('\u0000\u0001\u0002garbage\uffff', /where <methodResponse> was expected/)
    expectParseError('<<<>>>', /'<' not followed by a tag name/)
    expectParseError('<methodResponse><params><param><value><![CDATA[x]]></value></param></params></methodResponse><![CDATA[y]]>', /CDATA section outside <methodResponse>/)
    expectParseError('<!DOCTYPE x [<!ENTITY e "boom">]><methodResponse/>', /DOCTYPE with an internal subset/)
    expectParseError('<!ELEMENT x>', /unexpected "<!E/)
    expectParseError([''], /empty/)
    expectParseError(' \n\t', /no <methodResponse> element/)
    expectParseError('<methodResponse><params><param><value>a</value></param></params></methodResponse> trailing', /text "t[^"]*" after <\/methodResponse>/)
  })

  it('bad entity and character references', () => {
    expectParseError(doc('<value>&foo;</value>'), /bad entity reference "&foo;"/)
    expectParseError(doc('<value>a & b</value>'), /bad entity reference "& b"/)
    expectParseError(doc('<value>&amp</value>'), /bad entity reference "&amp"/)
    expectParseError(doc('<value>&#xZZ;</value>'), /bad entity reference "&#xZZ;"/)
    expectParseError(doc('<value>&#;</value>'), /bad entity reference "&#;"/)
    expectParseError(doc('<value>&#X43;</value>'), /bad entity reference "&#X43;"/)
    expectParseError(doc('<value>&#0;</value>'), /bad entity reference "&#0;"/)
    expectParseError(doc('<value>&#55296;</value>'), /bad entity reference "&#55296;"/)
    expectParseError(doc('<value>&#x110000;</value>'), /bad entity reference "&#x110000;"/)
    expectParseError(doc('<value><name>&lt</name></value>'), /bad entity reference|<name> inside <value>/)
    expectParseError(doc('<value><struct><member><name>a&b</name><value>1</value></member></struct></value>'), /bad entity reference "&b"/)
    expectParseError(doc('<value>&verylongentityname;</value>'), /bad entity reference "&verylonge/)
    // the end of the response in the middle of a reference
    expectParseError(['<methodResponse><params><param><value>a &am'], /truncated|bad entity/)
  })

  it('scalars that do not parse', () => {
    for (const t of ['i4', 'i8', 'int']) {
      expectParseError(doc(`<value><${t}>abc</${t}></value>`), new RegExp(`<${t}> holds "abc", not an integer`))
      expectParseError(doc(`<value><${t}>1.5</${t}></value>`), new RegExp(`<${t}> holds "1.5", not an integer`))
      expectParseError(doc(`<value><${t}></${t}></value>`), new RegExp(`<${t}> holds "", not an integer`))
      expectParseError(doc(`<value><${t}>1 2</${t}></value>`), /not an integer/)
    }
    for (const b of ['yes', '2', '', 'true', '01']) expectParseError(doc(`<value><boolean>${b}</boolean></value>`), new RegExp(`<boolean> holds "${b}", not 0 or 1`))
    for (const d of ['abc', '', '0x10', '1.2.3', '1e', '--1']) expectParseError(doc(`<value><double>${d}</double></value>`), /<double> holds ".*", not a number/)
  })

  it('unterminated comments, CDATA, processing instructions and tags', () => {
    expectParseError('<methodResponse><params><param><value>a<!-- never closed', /ends inside a comment/)
    expectParseError('<methodResponse><params><param><value><![CDATA[never closed', /ends inside a CDATA section/)
    expectParseError('<?xml version="1.0"', /ends inside the tag "<\?xml/)
    expectParseError('<methodResponse><params><param><value>a<?pi never closed', /ends inside a processing instruction/)
    expectParseError('<methodResponse><params><param><value a="1', /ends inside the tag/)
    expectParseError('<methodResponse><params><param><value a="1" b>', /attribute b without a value in <value>/)
    expectParseError('<methodResponse><params><param><value a=1>', /an unquoted attribute value in <value>/)
    expectParseError('<methodResponse><params><param><value a="1"b="2">', /a malformed attribute in <value>/)
    expectParseError('<methodResponse><params><param><value a="<">', /'<' in an attribute value of <value>/)
    expectParseError('<methodResponse><params><param><value>a<!-- x -- y --></value></param></params></methodResponse>', /'--' inside a comment/)
    expectParseError('<methodResponse><?xml version="1.0"?><params/></methodResponse>', /an XML declaration after the start/)
    expectParseError('<methodResponse><? x?><params/></methodResponse>', /'<\?' not followed by a name/)
    expectParseError('<?xml version="1.0" en>coding="UTF-8"?><methodResponse/>', /a malformed XML declaration/)
    expectParseError('<?xml encoding="UTF-8"?><methodResponse/>', /a malformed XML declaration/)
    expectParseError('<methodResponse><?a=b?><params/></methodResponse>', /a processing instruction with a bad name "a=b"/)
    // an unterminated '<' is refused once it grows past any real tag, without waiting for the end
    const p = new XmlRpcResponseParser()
    p.write('<methodResponse a="')
    let err: unknown
    try {
      for (let i = 0; i < 100; i++) p.write('x'.repeat(1000))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(XmlRpcParseError)
    expect((err as Error).message).toMatch(/a tag longer than 65536 characters/)
  })

  it('stays failed: later writes and end() throw the same error', () => {
    const p = new XmlRpcResponseParser()
    expect(() => p.write('<html>')).toThrow(/found <html>/)
    expect(() => p.write('<methodResponse>')).toThrow(/found <html>/)
    expect(() => p.end()).toThrow(/found <html>/)
  })

  it('names the position of the problem', () => {
    expect(() => parseXmlRpcResponse(doc('<value><boolean>2</boolean></value>'))).toThrow(/at character \d+/)
  })

  it('random corruptions of valid documents either fail with XmlRpcParseError or parse as the reference does', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(1000 + seed)
      let xml = genDoc(r).xml
      for (let k = 1 + int(r, 3); k > 0; k--) {
        const at = int(r, xml.length + 1)
        switch (int(r, 5)) {
          case 0:
            xml = xml.slice(0, at) + xml.slice(at + 1 + int(r, 10))
            break
          case 1:
            xml = xml.slice(0, at) + pick(r, ['<', '>', '&', '</value>', '<value>', '<struct>', '<!--', '-->', '"', '/', '=', '<data>', '</member>', '&#', '\r']) + xml.slice(at)
            break
          case 2:
            xml = xml.slice(0, at)
            break
          case 3: {
            const n = int(r, 30)
            xml = xml.slice(0, at) + xml.slice(at, at + n) + xml.slice(at)
            break
          }
          default:
            xml = xml.slice(0, at) + String.fromCharCode(32 + int(r, 95)) + xml.slice(at + 1)
        }
      }
      for (const style of ['one', 'medium'] as const) {
        const got = parseNew(split(xml, r, style))
        if (got.error) {
          expect(got.error, `seed ${seed}: ${xml}`).toBeInstanceOf(XmlRpcParseError)
          continue
        }
        // accepted: the reference must accept it too, with the same value (unless a character
        // reference made a control character, which saxes refuses and this parser takes)
        const want = parseRef([xml])
        if (want.error && hasControl(got.value)) continue
        expectSame(got, want, `seed ${seed} (${style}): ${xml}`)
      }
    }
  })
})
