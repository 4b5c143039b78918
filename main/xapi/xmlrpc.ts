/**
 * XML-RPC responses for XAPI (method calls are serialized by ./xmlrpc-serialize.ts; wide structs are
 * built through the shape cache of ./struct-shapes.ts).
 *
 * A streaming parser written for XML-RPC (XmlRpcResponseParser below), fed chunk by
 * chunk as bytes arrive, so a large answer is parsed across many small I/O turns instead of one
 * long block of the main thread. Measured against the saxes-based parser it replaced (kept as a
 * test reference, test/unit/xapi/xmlrpc-saxes-reference.ts) by `npm run bench codecs`, line
 * codecs.xmlrpc.parse.
 * Scalars stay close to the wire: untyped <value> and <string> → string, <int>/<i4>/<i8> → number
 * (or string past 2^53), <double> → number, <boolean> → boolean, <dateTime.iso8601> → its text.
 * Type-directed normalisation (int64 strings, dates, null refs) happens later in ./normalise.
 */
import type { JsonStreamHooks } from './json-stream'
import { buildStruct, own } from './struct-shapes'
import { MAX_NESTING, tooDeepMessage, type WireValue } from './wire'

export class XmlRpcParseError extends Error {
  override name = 'XmlRpcParseError'
}

/** the elements of an XML-RPC response; Doc (0) stands for "outside any element" and "unknown" */
const enum Tag {
  Doc = 0,
  MethodResponse = 1,
  Params = 2,
  Param = 3,
  Fault = 4,
  Value = 5,
  Struct = 6,
  Member = 7,
  Name = 8,
  Array = 9,
  Data = 10,
  String = 11,
  I4 = 12,
  I8 = 13,
  Int = 14,
  Double = 15,
  Boolean = 16,
  DateTime = 17,
  Base64 = 18,
  Nil = 19,
}

const TAG_NAME: readonly string[] = ['', 'methodResponse', 'params', 'param', 'fault', 'value', 'struct', 'member', 'name', 'array', 'data', 'string', 'i4', 'i8', 'int', 'double', 'boolean', 'dateTime.iso8601', 'base64', 'nil']

const bit = (t: Tag): number => 1 << t
const TYPED =
  bit(Tag.Struct) | bit(Tag.Array) | bit(Tag.String) | bit(Tag.I4) | bit(Tag.I8) | bit(Tag.Int) | bit(Tag.Double) | bit(Tag.Boolean) | bit(Tag.DateTime) | bit(Tag.Base64) | bit(Tag.Nil)
/** which elements each element may hold (bit masks indexed by Tag) */
const CHILDREN: readonly number[] = (() => {
  const c = new Array<number>(TAG_NAME.length).fill(0)
  c[Tag.Doc] = bit(Tag.MethodResponse)
  c[Tag.MethodResponse] = bit(Tag.Params) | bit(Tag.Fault)
  c[Tag.Params] = bit(Tag.Param)
  c[Tag.Param] = bit(Tag.Value)
  c[Tag.Fault] = bit(Tag.Value)
  c[Tag.Value] = TYPED
  c[Tag.Struct] = bit(Tag.Member)
  c[Tag.Member] = bit(Tag.Name) | bit(Tag.Value)
  c[Tag.Array] = bit(Tag.Data)
  c[Tag.Data] = bit(Tag.Value)
  return c
})()
/** elements that may hold one child at most */
const SINGLE = bit(Tag.Doc) | bit(Tag.MethodResponse) | bit(Tag.Param) | bit(Tag.Fault) | bit(Tag.Value) | bit(Tag.Array)

/** which element an open-tag name is (Tag.Doc: none of XML-RPC's) */
function tagAt(s: string, start: number, end: number): Tag {
  const n = end - start
  switch (s.charCodeAt(start)) {
    case 0x76: // v
      return n === 5 && s.startsWith('value', start) ? Tag.Value : Tag.Doc
    case 0x6d: // m
      return n === 6 && s.startsWith('member', start) ? Tag.Member : n === 14 && s.startsWith('methodResponse', start) ? Tag.MethodResponse : Tag.Doc
    case 0x6e: // n
      return n === 4 && s.startsWith('name', start) ? Tag.Name : n === 3 && s.startsWith('nil', start) ? Tag.Nil : Tag.Doc
    case 0x73: // s
      return n !== 6 ? Tag.Doc : s.startsWith('struct', start) ? Tag.Struct : s.startsWith('string', start) ? Tag.String : Tag.Doc
    case 0x61: // a
      return n === 5 && s.startsWith('array', start) ? Tag.Array : Tag.Doc
    case 0x64: // d
      return n === 4 && s.startsWith('data', start) ? Tag.Data : n === 6 && s.startsWith('double', start) ? Tag.Double : n === 16 && s.startsWith('dateTime.iso8601', start) ? Tag.DateTime : Tag.Doc
    case 0x62: // b
      return n === 7 && s.startsWith('boolean', start) ? Tag.Boolean : n === 6 && s.startsWith('base64', start) ? Tag.Base64 : Tag.Doc
    case 0x69: // i
      if (n === 2) {
        const c = s.charCodeAt(start + 1)
        return c === 0x34 ? Tag.I4 : c === 0x38 ? Tag.I8 : Tag.Doc
      }
      return n === 3 && s.startsWith('int', start) ? Tag.Int : Tag.Doc
    case 0x70: // p
      return n === 6 && s.startsWith('params', start) ? Tag.Params : n === 5 && s.startsWith('param', start) ? Tag.Param : Tag.Doc
    case 0x66: // f
      return n === 5 && s.startsWith('fault', start) ? Tag.Fault : Tag.Doc
    default:
      return Tag.Doc
  }
}

/**
 * Fast path for an opening tag: the XML-RPC element whose name buf holds at i, judged by its first
 * letter and one startsWith per candidate (most frequent first); the caller checks what follows
 * the name. Tag.Doc when none matches (the general path then reads the name).
 */
function nameAt(s: string, i: number): Tag {
  switch (s.charCodeAt(i)) {
    case 0x76: // v
      return s.startsWith('value', i) ? Tag.Value : Tag.Doc
    case 0x6d: // m
      return s.startsWith('member', i) ? Tag.Member : s.startsWith('methodResponse', i) ? Tag.MethodResponse : Tag.Doc
    case 0x6e: // n
      return s.startsWith('name', i) ? Tag.Name : s.startsWith('nil', i) ? Tag.Nil : Tag.Doc
    case 0x73: // s
      return s.startsWith('struct', i) ? Tag.Struct : s.startsWith('string', i) ? Tag.String : Tag.Doc
    case 0x61: // a
      return s.startsWith('array', i) ? Tag.Array : Tag.Doc
    case 0x64: // d
      return s.startsWith('data', i) ? Tag.Data : s.startsWith('double', i) ? Tag.Double : s.startsWith('dateTime.iso8601', i) ? Tag.DateTime : Tag.Doc
    case 0x62: // b
      return s.startsWith('boolean', i) ? Tag.Boolean : s.startsWith('base64', i) ? Tag.Base64 : Tag.Doc
    case 0x69: // i
      return s.startsWith('i4', i) ? Tag.I4 : s.startsWith('int', i) ? Tag.Int : s.startsWith('i8', i) ? Tag.I8 : Tag.Doc
    case 0x70: // p
      return s.startsWith('param', i) ? (s.charCodeAt(i + 5) === 0x73 ? Tag.Params : Tag.Param) : Tag.Doc
    case 0x66: // f
      return s.startsWith('fault', i) ? Tag.Fault : Tag.Doc
    default:
      return Tag.Doc
  }
}

/** an XML name (ASCII letters, digits, . - _ : and anything past ASCII) */
const NAME = /^[A-Za-z_:\u0080-\uffff][-A-Za-z0-9._:\u0080-\uffff]*$/

const XML_DECL = /^<\?xml\s+version\s*=\s*(["'])1\.\d+\1(?:\s+encoding\s*=\s*(["'])[A-Za-z][-\w.]*\2)?(?:\s+standalone\s*=\s*(["'])(?:yes|no)\3)?\s*\?>$/

/**
 * The fast paths (XmlRpcResponseParser.fastMember, fastItem): a member with its name and, if plain
 * text, its value; a plain array item. The text may not hold '<', '&', CR or ']' (entities, line
 * ends and a "]]>" are the general path's business). Struct and data children are not counted
 * on these paths (nothing checks their number).
 */
const MEMBER_RE = /<member><name>([^<&\r\]]*)<\/name><value>(?:([^<&\r\]]*)<\/value><\/member>)?/y
const ITEM_RE = /<value>([^<&\r\]]*)<\/value>/y

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d

function isBlank(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isSpace(s.charCodeAt(i))) return false
  return true
}

/** a short, printable excerpt of bad input for an error message */
function excerpt(s: string, max = 40): string {
  const t = s.replace(/\s+/g, ' ').trim()
  return JSON.stringify(t.length > max ? `${t.slice(0, max)}…` : t)
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }
/** longest entity reference, `&` and `;` included: &#x10FFFF; */
const MAX_ENTITY = 10
/** no tag of an XML-RPC response comes near this; an unterminated '<' is refused past it */
const MAX_TAG = 64 * 1024

const MAX_SAFE = Number.MAX_SAFE_INTEGER
const INT_RE = /^[-+]?\d+$/
const DOUBLE_RE = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/

function parseIntText(t: string): WireValue | undefined {
  const s = t.trim()
  if (!INT_RE.test(s)) return undefined
  const n = Number(s)
  return Math.abs(n) <= MAX_SAFE ? n : own(s)
}

function parseDoubleText(t: string): number | undefined {
  const s = t.trim().toLowerCase()
  if (s === 'nan' || s === '-nan') return NaN
  if (s === 'inf' || s === 'infinity' || s === '+inf') return Infinity
  if (s === '-inf' || s === '-infinity') return -Infinity
  return DOUBLE_RE.test(s) ? Number(s) : undefined
}


const enum Mode {
  Text = 0,
  Comment = 1,
  CData = 2,
  PI = 3,
}
const MODE_NAME = ['', 'a comment', 'a CDATA section', 'a processing instruction']

/**
 * Incremental parser of one methodResponse. `write` each decoded text chunk as it arrives, then
 * `end()` returns the single param value (the Status/Value struct for XAPI calls). A <fault> is
 * returned as { faultCode, faultString } with `isFault` set.
 *
 * Hand-written for XML-RPC rather than a generic XML parser: it finds tags with indexOf, knows the
 * closing tag it expects, and checks the response grammar as it goes (methodResponse → params →
 * param → value; value → text or one typed element; struct → member → name, value; array → data →
 * value). Each write() does work in proportion to its chunk: an unfinished tag, entity or CR at the
 * end of a chunk is carried over (tags at most 64 KiB), comments and CDATA are consumed as they
 * stream. Attributes, comments, processing instructions and a DOCTYPE without internal subset are
 * skipped; text gets XML's CR/LF normalisation, the five named entities and character references.
 * Anything else — bad nesting, unknown elements, text where none belongs, a bad entity, an
 * unparsable <int>, <double> or <boolean>, a body that stops early — throws XmlRpcParseError
 * naming it, and the parser stays failed.
 */
export class XmlRpcResponseParser {
  /** open elements: tags[1..depth]; tags[0] is the document */
  private readonly tags: Tag[] = [Tag.Doc]
  /** child elements seen so far in each open element */
  private readonly kids: number[] = [0]
  private depth = 0
  /** arrays being filled, conts[1..cd] (undefined for a struct) */
  private readonly conts: (WireValue[] | undefined)[] = []
  /** for each open struct, where its members start in skeys/svals */
  private readonly starts: number[] = []
  private cd = 0
  /** members of the open structs, innermost last: names and values, sp in use */
  private readonly skeys: string[] = []
  private readonly svals: WireValue[] = []
  private sp = 0
  /** next '&' and CR in the current buffer at or after the last text checked (buffer length: none) */
  private amp = -1
  private cr = -1
  private cdEnd = -1
  /** the open element's text is content (value, name, scalars), not whitespace between children */
  private collecting = false
  private text = ''
  /** the typed element just closed inside the open <value> */
  private pending: WireValue = null
  private hasPending = false
  private result: WireValue = null
  private hasResult = false
  private mode = Mode.Text
  /** the unconsumed end of the previous chunk: an unfinished tag, entity, CR or terminator */
  private carry = ''
  /** characters received, and the position of the current buffer in them (for error messages) */
  private seen = 0
  private base = 0
  private error: XmlRpcParseError | undefined
  /** entry hooks on the XAPI result (see the constructor) */
  private readonly hooks: JsonStreamHooks | undefined
  /** cd of the result struct whose members are streamed, -1: none open */
  private streamCd = -1
  /** cd of the array whose items go through hooks.item, -1: none open; and its container name */
  private itemCd = -1
  private itemName = ''
  /** the streamed struct's current member holds an array split off item by item (kept, no member hook) */
  private memberSplit = false
  isFault = false

  /**
   * `hooks`: entries of the XAPI result — the Value member of the methodResponse's
   * {Status, Value} struct — are handed over as soon as each is complete, as JsonRpcResponseParser
   * does for JSON-RPC's `result`: `member` for each member of a struct result (get_all_records:
   * ref → record; undefined = not kept), `item` for each element of an array result (container '')
   * and of an array member of a struct result (container = its name: event.from's 'events'). Such
   * array members are kept and not given to `member`. A <fault> or any other shape gets no hooks.
   */
  constructor(hooks?: JsonStreamHooks) {
    this.hooks = hooks
  }

  write(chunk: string): void {
    if (this.error) throw this.error
    if (this.seen === 0 && chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1)
    const seen = this.seen
    this.seen += chunk.length
    try {
      const carry = this.carry
      if (carry === '') {
        this.base = seen
        this.run(chunk, 0, false)
        return
      }
      // The end of the last chunk is unfinished (mostly a tag cut in two): finish it with the
      // head of this chunk up to its first '>', then go on in this chunk itself, so the chunk is
      // not copied into one joined string; if even that did not finish it, join after all.
      this.carry = ''
      const gt = chunk.indexOf('>')
      const k = gt < 0 ? chunk.length : gt + 1
      this.base = seen - carry.length
      this.run(carry + chunk.slice(0, k), 0, false)
      const rest = this.carry
      if (rest === '') {
        this.base = seen
        this.run(chunk, k, false)
      } else if (k < chunk.length) {
        this.carry = ''
        this.base = seen + k - rest.length
        this.run(rest + chunk.slice(k), 0, false)
      }
    } catch (e) {
      throw this.failed(e)
    }
  }

  end(): WireValue {
    if (this.error) throw this.error
    try {
      const rest = this.carry
      this.carry = ''
      this.base = this.seen - rest.length
      if (rest !== '') this.run(rest, 0, true)
      if (this.mode !== Mode.Text) throw new XmlRpcParseError(`XML-RPC response is truncated: it ends inside ${MODE_NAME[this.mode]}`)
      if (this.depth > 0) throw new XmlRpcParseError(`XML-RPC response is truncated: it ends inside <${TAG_NAME[this.tags[this.depth] ?? 0]}>`)
      if (this.kids[0] === 0) throw new XmlRpcParseError(this.seen === 0 ? 'XML-RPC response is empty' : 'XML-RPC response holds no <methodResponse> element (truncated, or not XML-RPC)')
      if (!this.hasResult) throw new XmlRpcParseError('XML-RPC response ended without a value (truncated?)')
    } catch (e) {
      throw this.failed(e)
    }
    return this.result
  }

  private failed(e: unknown): XmlRpcParseError {
    this.error = e instanceof XmlRpcParseError ? e : new XmlRpcParseError(`malformed XML-RPC response: ${e instanceof Error ? e.message : String(e)}`)
    return this.error
  }

  private bad(what: string, at: number): XmlRpcParseError {
    return new XmlRpcParseError(`malformed XML-RPC response: ${what} (at character ${this.base + at})`)
  }

  /** parses buf from start; what is left unfinished at its end goes to this.carry (final: nothing may be) */
  private run(buf: string, start: number, final: boolean): void {
    const len = buf.length
    let pos = start
    this.amp = -1
    this.cr = -1
    this.cdEnd = -1
    while (pos < len) {
      if (this.mode !== Mode.Text) {
        pos = this.special(buf, pos, final)
        if (pos < 0) return
        continue
      }
      const lt = buf.indexOf('<', pos)
      const end = lt < 0 ? len : lt
      if (end > pos) {
        if (final && lt < 0 && this.depth > 0) throw new XmlRpcParseError(`XML-RPC response is truncated: it ends inside <${TAG_NAME[this.tags[this.depth] ?? 0]}>`)
        if (this.collecting) {
          // text up to the end of the buffer keeps back what the next chunk may complete
          const stop = lt < 0 && !final ? holdBack(buf, pos, end) : end
          let piece: string
          if (this.clean(buf, pos, stop)) piece = buf.slice(pos, stop)
          else {
            const raw = buf.slice(pos, stop)
            if (raw.includes(']]>')) throw this.bad(`"]]>" in text`, pos + raw.indexOf(']]>'))
            piece = this.decode(raw, pos)
          }
          this.text = this.text === '' ? piece : this.text + piece
          if (stop < end) {
            this.carry = buf.slice(stop)
            return
          }
        } else if (!isBlank(buf, pos, end)) {
          const top = this.tags[this.depth] ?? Tag.Doc
          const where = top === Tag.Doc ? (this.kids[0] === 0 ? 'where <methodResponse> was expected' : 'after </methodResponse>') : `inside <${TAG_NAME[top]}>${top === Tag.Value ? ` after its <${TAG_NAME[this.tags[this.depth + 1] ?? 0]}>` : ''}`
          throw this.bad(`text ${excerpt(buf.slice(pos, end))} ${where}`, pos)
        }
      }
      if (lt < 0) return
      // fast paths for the commonest shapes (see fastMember, fastItem); -1: take the general way
      const top = this.tags[this.depth]
      const fast = top === Tag.Struct ? this.fastMember(buf, lt) : top === Tag.Data ? this.fastItem(buf, lt) : -1
      if (fast >= 0) {
        pos = fast
        continue
      }
      pos = this.tag(buf, lt)
      if (pos < 0) {
        if (final) throw new XmlRpcParseError(`XML-RPC response is truncated: it ends inside the tag ${excerpt(buf.slice(lt), 20)}`)
        if (len - lt > MAX_TAG) throw this.bad(`a tag longer than ${MAX_TAG} characters (${excerpt(buf.slice(lt, lt + 20))})`, lt)
        this.carry = buf.slice(lt)
        return
      }
    }
  }

  /**
   * `<member><name>K</name><value>` at lt in an open struct, then a plain `V</value></member>`
   * consumed at once (else left inside <value>, as the general path would be). Only when whole in
   * this buffer and the text holds no '&', CR or ']' (those take the general way); -1 otherwise
   * (nothing changed). A sticky regular expression: about half the cost of startsWith/indexOf.
   */
  private fastMember(buf: string, lt: number): number {
    // test() and positions rather than exec(): no match array to allocate
    MEMBER_RE.lastIndex = lt
    if (!MEMBER_RE.test(buf)) return -1
    const e = MEMBER_RE.lastIndex
    const k1 = buf.indexOf('<', lt + 14)
    const key = buf.slice(lt + 14, k1)
    const v0 = k1 + 14
    if (e !== v0) {
      // ends with the value: V</value></member>
      const v = own(buf.slice(v0, e - 17))
      const hook = this.cd === this.streamCd ? this.hooks?.member : undefined
      if (hook) {
        const kept = hook(own(key), v)
        if (kept === undefined) return e
        this.skeys[this.sp] = key
        this.svals[this.sp++] = kept
        return e
      }
      this.skeys[this.sp] = key
      this.svals[this.sp++] = v
      return e
    }
    // a typed value (or text the expression does not take) follows: now inside <member><value>
    const d = this.depth
    this.kids[d] = (this.kids[d] ?? 0) + 1
    this.tags[d + 1] = Tag.Member
    this.kids[d + 1] = 2
    this.tags[d + 2] = Tag.Value
    this.kids[d + 2] = 0
    this.depth = d + 2
    this.skeys[this.sp] = key
    this.svals[this.sp++] = null
    this.text = ''
    this.collecting = true
    this.hasPending = false
    return e
  }

  /** a plain `<value>V</value>` at lt in an open array's <data>, on the terms of fastMember */
  private fastItem(buf: string, lt: number): number {
    ITEM_RE.lastIndex = lt
    if (!ITEM_RE.test(buf)) return -1
    const e = ITEM_RE.lastIndex
    const v = own(buf.slice(lt + 7, e - 8))
    const hook = this.cd === this.itemCd ? this.hooks?.item : undefined
    ;(this.conts[this.cd] as WireValue[]).push(hook ? hook(this.itemName, v) : v)
    return e
  }

  /** buf[start, end) holds no '&' and no CR (the next of each is found lazily, once per buffer pass) */
  private clean(buf: string, start: number, end: number): boolean {
    let a = this.amp
    if (a < start) this.amp = a = (a = buf.indexOf('&', start)) < 0 ? buf.length : a
    let c = this.cr
    if (c < start) this.cr = c = (c = buf.indexOf('\r', start)) < 0 ? buf.length : c
    let x = this.cdEnd
    if (x < start) this.cdEnd = x = (x = buf.indexOf(']]>', start)) < 0 ? buf.length : x
    return a >= end && c >= end && x >= end
  }

  /** inside a comment, CDATA section or processing instruction: returns where text resumes, or -1 (carried over) */
  private special(buf: string, pos: number, final: boolean): number {
    const len = buf.length
    // a comment ends at the first '--', which must be followed by '>'
    const term = this.mode === Mode.Comment ? '--' : this.mode === Mode.CData ? ']]>' : '?>'
    const e = buf.indexOf(term, pos)
    if (e >= 0 && this.mode === Mode.Comment) {
      if (e + 2 >= len) {
        if (final) throw new XmlRpcParseError(`XML-RPC response is truncated: it ends inside ${MODE_NAME[this.mode]}`)
        this.carry = buf.slice(e)
        return -1
      }
      if (buf.charCodeAt(e + 2) !== 0x3e) throw this.bad(`'--' inside a comment`, e)
      this.mode = Mode.Text
      return e + 3
    }
    if (e < 0) {
      if (final) throw new XmlRpcParseError(`XML-RPC response is truncated: it ends inside ${MODE_NAME[this.mode]}`)
      // keep what could be the start of the terminator (and a CR that an LF may follow)
      let keep = Math.max(pos, len - term.length + 1)
      if (this.mode === Mode.CData) {
        if (keep > pos && buf.charCodeAt(keep - 1) === 0x0d) keep--
        this.cdata(buf, pos, keep)
      }
      this.carry = buf.slice(keep)
      return -1
    }
    if (this.mode === Mode.CData) this.cdata(buf, pos, e)
    this.mode = Mode.Text
    return e + term.length
  }

  private cdata(buf: string, start: number, end: number): void {
    if (end <= start) return
    if (this.collecting) {
      let s = buf.slice(start, end)
      if (s.includes('\r')) s = s.replace(/\r\n?/g, '\n')
      this.text += s
    } else if (!isBlank(buf, start, end)) {
      throw this.bad(`CDATA ${excerpt(buf.slice(start, end))} inside <${TAG_NAME[this.tags[this.depth] ?? 0]}>`, start)
    }
  }

  /** raw text with entities and/or CRs → its characters */
  private decode(raw: string, at: number): string {
    const s = raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw
    let i = s.indexOf('&')
    if (i < 0) return s
    let out = ''
    let from = 0
    while (i >= 0) {
      if (i > from) out += s.slice(from, i)
      // the five named entities by their letters (no slice, no lookup), anything else the long way
      let ch: string | undefined
      let next = 0
      const c1 = s.charCodeAt(i + 1)
      if (c1 === 0x6c || c1 === 0x67) {
        // &lt; &gt;
        if (s.charCodeAt(i + 2) === 0x74 && s.charCodeAt(i + 3) === 0x3b) {
          ch = c1 === 0x6c ? '<' : '>'
          next = i + 4
        }
      } else if (c1 === 0x61) {
        if (s.startsWith('amp;', i + 1)) {
          ch = '&'
          next = i + 5
        } else if (s.startsWith('apos;', i + 1)) {
          ch = "'"
          next = i + 6
        }
      } else if (c1 === 0x71 && s.startsWith('quot;', i + 1)) {
        ch = '"'
        next = i + 6
      }
      if (ch === undefined) {
        const semi = s.indexOf(';', i + 1)
        const ref = semi < 0 || semi - i >= MAX_ENTITY ? undefined : s.slice(i + 1, semi)
        ch = ref === undefined ? undefined : entity(ref)
        if (ch === undefined) throw this.bad(`bad entity reference ${excerpt(s.slice(i, semi < 0 || semi - i >= MAX_ENTITY ? i + MAX_ENTITY : semi + 1), 12)}`, at)
        next = semi + 1
      }
      out += ch
      from = next
      i = s.indexOf('&', from)
    }
    return from < s.length ? out + s.slice(from) : out
  }


  /** the tag starting at buf[lt] === '<': returns the position after it, or -1 if the buffer ends first */
  private tag(buf: string, lt: number): number {
    const len = buf.length
    if (lt + 1 >= len) return -1
    const c1 = buf.charCodeAt(lt + 1)
    if (c1 === 0x2f) {
      // a closing tag: only the innermost open element may close
      const top = this.tags[this.depth] ?? Tag.Doc
      const name = TAG_NAME[top] ?? ''
      const s = lt + 2
      let e = s
      if (top !== Tag.Doc && buf.startsWith(name, s)) {
        e = s + name.length
        if (e >= len) return -1
        let c = buf.charCodeAt(e)
        if (c === 0x3e) {
          this.close(top, lt)
          return e + 1
        }
        if (isSpace(c)) {
          while (isSpace(c)) {
            if (++e >= len) return -1
            c = buf.charCodeAt(e)
          }
          if (c === 0x3e) {
            this.close(top, lt)
            return e + 1
          }
          throw this.bad(`junk ${excerpt(buf.slice(e, Math.min(len, e + 20)).split('>')[0] ?? '')} in </${name}>`, lt)
        }
      }
      while (e < len && !isSpace(buf.charCodeAt(e)) && buf.charCodeAt(e) !== 0x3e) e++
      if (e >= len && len - lt < 64) return -1
      const got = buf.slice(s, e)
      throw this.bad(top === Tag.Doc ? `closing tag </${got}> outside any element` : `</${got}> where </${name}> was expected`, lt)
    }
    if (c1 === 0x21) return this.bang(buf, lt)
    if (c1 === 0x3f) {
      // a processing instruction: a target name (<?xml …?> only at the very start), then anything up to ?>
      let e = lt + 2
      while (e < len && !isSpace(buf.charCodeAt(e)) && buf.charCodeAt(e) !== 0x3f) e++
      if (e >= len) return -1
      const target = buf.slice(lt + 2, e)
      if (!NAME.test(target)) throw this.bad(target === '' ? `'<?' not followed by a name` : `a processing instruction with a bad name ${excerpt(target, 20)}`, lt)
      if (/^xml$/i.test(target)) {
        if (this.base + lt !== 0) throw this.bad('an XML declaration after the start', lt)
        const end = buf.indexOf('?>', e)
        if (end < 0) return -1
        const decl = buf.slice(lt, end + 2)
        if (!XML_DECL.test(decl)) throw this.bad(`a malformed XML declaration ${excerpt(decl, 60)}`, lt)
        return end + 2
      }
      this.mode = Mode.PI
      return e
    }
    // an opening tag; the usual case first: a known name right followed by '>'
    const fast = nameAt(buf, lt + 1)
    if (fast !== Tag.Doc) {
      const gt = lt + 1 + (TAG_NAME[fast] ?? '').length
      if (buf.charCodeAt(gt) === 0x3e) {
        this.open(fast, lt)
        return gt + 1
      }
    }
    let e = lt + 1
    let c = c1
    while (c !== 0x3e && c !== 0x2f && c !== 0x3c && !isSpace(c)) {
      if (++e >= len) return -1
      c = buf.charCodeAt(e)
    }
    if (e === lt + 1) throw this.bad(`'<' not followed by a tag name`, lt)
    const id = tagAt(buf, lt + 1, e)
    if (id === Tag.Doc) {
      const top = this.tags[this.depth] ?? Tag.Doc
      const got = buf.slice(lt + 1, e)
      throw this.bad(top === Tag.Doc && this.kids[0] === 0 ? `expected <methodResponse>, found <${got}>` : `unknown element <${got}> inside <${TAG_NAME[top] ?? ''}>`, lt)
    }
    if (c !== 0x3e && c !== 0x2f) {
      e = this.attributes(buf, e, id, lt)
      if (e < 0) return -1
      c = buf.charCodeAt(e)
    }
    if (c === 0x3e) {
      this.open(id, lt)
      return e + 1
    }
    if (e + 1 >= len) return -1
    if (buf.charCodeAt(e + 1) !== 0x3e) throw this.bad(`'/' not followed by '>' in <${TAG_NAME[id]}>`, lt)
    this.open(id, lt)
    this.close(id, lt)
    return e + 2
  }

  /**
   * Attributes (ignored, but checked to be `name="value"` or `name='value'`, whitespace-separated)
   * from e, the whitespace after the tag name: returns the position of the closing '>' or '/', or
   * -1 if the buffer ends first.
   */
  private attributes(buf: string, e: number, id: Tag, lt: number): number {
    const len = buf.length
    for (;;) {
      let c = buf.charCodeAt(e)
      const spaced = isSpace(c)
      while (isSpace(c)) {
        if (++e >= len) return -1
        c = buf.charCodeAt(e)
      }
      if (c === 0x3e || c === 0x2f) return e
      const n0 = e
      while (c !== 0x3d && c !== 0x3e && c !== 0x2f && c !== 0x3c && c !== 0x22 && c !== 0x27 && !isSpace(c)) {
        if (++e >= len) return -1
        c = buf.charCodeAt(e)
      }
      if (!spaced || !NAME.test(buf.slice(n0, e))) throw this.bad(`a malformed attribute in <${TAG_NAME[id]}>`, lt)
      while (isSpace(c)) {
        if (++e >= len) return -1
        c = buf.charCodeAt(e)
      }
      if (c !== 0x3d) throw this.bad(`attribute ${buf.slice(n0, e).trim()} without a value in <${TAG_NAME[id]}>`, lt)
      do {
        if (++e >= len) return -1
        c = buf.charCodeAt(e)
      } while (isSpace(c))
      if (c !== 0x22 && c !== 0x27) throw this.bad(`an unquoted attribute value in <${TAG_NAME[id]}>`, lt)
      const q = buf.indexOf(c === 0x22 ? '"' : "'", e + 1)
      if (q < 0) return -1
      const bad = buf.indexOf('<', e + 1)
      if (bad >= 0 && bad < q) throw this.bad(`'<' in an attribute value of <${TAG_NAME[id]}>`, lt)
      // entity references in the value must be good, even though the value is not used
      const amp = buf.indexOf('&', e + 1)
      if (amp >= 0 && amp < q) this.decode(buf.slice(e + 1, q), e + 1)
      e = q + 1
      if (e >= len) return -1
    }
  }

  /** `<!`: a comment, CDATA section or DOCTYPE */
  private bang(buf: string, lt: number): number {
    if (buf.startsWith('!--', lt + 1)) {
      this.mode = Mode.Comment
      return lt + 4
    }
    if (buf.startsWith('![CDATA[', lt + 1)) {
      if (this.depth === 0) throw this.bad('a CDATA section outside <methodResponse>', lt)
      this.mode = Mode.CData
      return lt + 9
    }
    if (buf.startsWith('!DOCTYPE', lt + 1)) {
      if (this.depth > 0 || (this.kids[0] ?? 0) > 0) throw this.bad('a DOCTYPE inside the document', lt)
      const gt = buf.indexOf('>', lt)
      const sub = buf.indexOf('[', lt)
      if (sub >= 0 && (gt < 0 || sub < gt)) throw this.bad('a DOCTYPE with an internal subset (not supported)', lt)
      return gt < 0 ? -1 : gt + 1
    }
    const head = buf.slice(lt + 1, lt + 9)
    if (head.length < 8 && ('![CDATA['.startsWith(head) || '!DOCTYPE'.startsWith(head) || '!--'.startsWith(head))) return -1
    throw this.bad(`unexpected ${excerpt(`<${head}`, 12)}`, lt)
  }

  private open(id: Tag, at: number): void {
    const d = this.depth
    const parent = this.tags[d] ?? Tag.Doc
    const k = this.kids[d] ?? 0
    if (((CHILDREN[parent] ?? 0) & bit(id)) === 0) {
      throw this.bad(parent === Tag.Doc ? (this.kids[0] === 0 ? `expected <methodResponse>, found <${TAG_NAME[id]}>` : `<${TAG_NAME[id]}> after </methodResponse>`) : `<${TAG_NAME[id]}> inside <${TAG_NAME[parent]}>`, at)
    }
    if (parent === Tag.Member) {
      if (k === 0 ? id !== Tag.Name : k !== 1 || id !== Tag.Value) throw this.bad(k === 0 ? '<member> does not start with <name>' : `<member> "${this.skeys[this.sp - 1]}" holds more than one <name> and one <value>`, at)
    } else if (k !== 0 && (SINGLE & bit(parent)) !== 0) {
      throw this.bad(parent === Tag.Doc ? `<${TAG_NAME[id]}> after </methodResponse>` : `<${TAG_NAME[parent]}> holds more than one element (a second <${TAG_NAME[id]}>)`, at)
    }
    if (parent === Tag.Value && this.text !== '' && !isBlank(this.text, 0, this.text.length)) throw this.bad(`<value> mixes text ${excerpt(this.text)} with <${TAG_NAME[id]}>`, at)
    this.kids[d] = k + 1
    const nd = d + 1
    this.depth = nd
    this.tags[nd] = id
    this.kids[nd] = 0
    switch (id) {
      case Tag.Value:
        this.text = ''
        this.collecting = true
        this.hasPending = false
        return
      case Tag.Struct:
        if (this.cd >= MAX_NESTING) throw this.bad(tooDeepMessage(), at)
        this.conts[++this.cd] = undefined
        this.starts[this.cd] = this.sp
        this.collecting = false
        if (this.hooks && this.isResultSlot(nd)) this.streamCd = this.cd
        return
      case Tag.Array:
        if (this.cd >= MAX_NESTING) throw this.bad(tooDeepMessage(), at)
        this.conts[++this.cd] = []
        this.collecting = false
        if (this.hooks) {
          if (this.cd - 1 === this.streamCd) {
            // an array member of the streamed struct (event.from's events)
            this.memberSplit = true
            if (this.hooks.item) {
              this.itemCd = this.cd
              this.itemName = own(this.skeys[this.sp - 1] ?? '')
            }
          } else if (this.hooks.item && this.isResultSlot(nd)) {
            this.itemCd = this.cd
            this.itemName = ''
          }
        }
        return
      case Tag.Fault:
        this.isFault = true
        this.collecting = false
        return
      case Tag.MethodResponse:
      case Tag.Params:
      case Tag.Param:
      case Tag.Member:
      case Tag.Data:
      case Tag.Nil:
        this.collecting = false
        return
      default:
        // name and the scalars
        this.text = ''
        this.collecting = true
    }
  }

  /**
   * The XAPI result's place: the <value> of the member named Value in the struct that is the
   * response's param (methodResponse › params › param › value › struct › member › value), a
   * container about to open at depth nd inside it.
   */
  private isResultSlot(nd: number): boolean {
    const t = this.tags
    return nd === 8 && t[3] === Tag.Param && t[5] === Tag.Struct && t[6] === Tag.Member && t[7] === Tag.Value && this.skeys[this.sp - 1] === 'Value'
  }

  /** a member of the streamed struct is complete: handed to hooks.member (dropped when not kept) */
  private streamMember(): void {
    if (this.memberSplit) {
      this.memberSplit = false
      return
    }
    const hook = this.hooks?.member
    if (!hook) return
    const i = this.sp - 1
    const kept = hook(own(this.skeys[i] ?? ''), this.svals[i] ?? null)
    if (kept !== undefined) {
      this.svals[i] = kept
      return
    }
    this.sp = i
    this.skeys[i] = ''
    this.svals[i] = null
  }

  private close(id: Tag, at: number): void {
    const d = this.depth
    const k = this.kids[d] ?? 0
    this.depth = d - 1
    this.collecting = false
    switch (id) {
      case Tag.Value: {
        const v = this.hasPending ? this.pending : own(this.text)
        this.hasPending = false
        this.pending = null
        const parent = this.tags[d - 1]
        if (parent === Tag.Member) this.svals[this.sp - 1] = v
        else if (parent === Tag.Data) {
          const hook = this.cd === this.itemCd ? this.hooks?.item : undefined
          ;(this.conts[this.cd] as WireValue[]).push(hook ? hook(this.itemName, v) : v)
        }
        else if (!this.hasResult) {
          this.result = v
          this.hasResult = true
        }
        return
      }
      case Tag.Struct: {
        const start = this.starts[this.cd] ?? 0
        this.pending = buildStruct(this.skeys, this.svals, start, this.sp)
        this.sp = start
        if (this.cd === this.streamCd) this.streamCd = -1
        this.cd--
        this.hasPending = true
        return
      }
      case Tag.Array:
        this.pending = this.conts[this.cd] ?? null
        if (this.cd === this.itemCd) this.itemCd = -1
        this.conts[this.cd--] = undefined
        this.hasPending = true
        return
      case Tag.Name:
        this.skeys[this.sp] = this.text
        this.svals[this.sp++] = null
        return
      case Tag.String:
      case Tag.DateTime:
      case Tag.Base64:
        this.pending = own(this.text)
        this.hasPending = true
        return
      case Tag.I4:
      case Tag.I8:
      case Tag.Int: {
        const v = parseIntText(this.text)
        if (v === undefined) throw this.bad(`<${TAG_NAME[id]}> holds ${excerpt(this.text)}, not an integer`, at)
        this.pending = v
        this.hasPending = true
        return
      }
      case Tag.Double: {
        const v = parseDoubleText(this.text)
        if (v === undefined) throw this.bad(`<double> holds ${excerpt(this.text)}, not a number`, at)
        this.pending = v
        this.hasPending = true
        return
      }
      case Tag.Boolean: {
        const s = this.text.trim()
        if (s !== '0' && s !== '1') throw this.bad(`<boolean> holds ${excerpt(s)}, not 0 or 1`, at)
        this.pending = s === '1'
        this.hasPending = true
        return
      }
      case Tag.Nil:
        this.pending = null
        this.hasPending = true
        return
      case Tag.Member:
        if (k !== 2) throw this.bad(k === 0 ? 'an empty <member>' : `<member> "${this.skeys[this.sp - 1]}" without a <value>`, at)
        if (this.cd === this.streamCd) this.streamMember()
        return
      case Tag.Param:
      case Tag.Fault:
        if (k === 0) throw this.bad(`<${TAG_NAME[id]}> without a <value>`, at)
        return
      case Tag.MethodResponse:
        if (k === 0) throw this.bad('<methodResponse> holds neither <params> nor <fault>', at)
        return
      default:
    }
  }
}

/** text up to the end of the buffer: where to stop so an unfinished entity, a CR (LF may follow) or a ']' waits for the next chunk */
function holdBack(buf: string, start: number, end: number): number {
  const a = buf.lastIndexOf('&', end - 1)
  if (a >= start && end - a < MAX_ENTITY && buf.indexOf(';', a) < 0) return a
  const last = buf.charCodeAt(end - 1)
  if (end > start && last === 0x0d) return end - 1
  // ']' or ']]' that a '>' may follow ("]]>" is not allowed in text)
  if (end > start && last === 0x5d) return end - 2 >= start && buf.charCodeAt(end - 2) === 0x5d ? end - 2 : end - 1
  return end
}

/** the character an entity reference (between & and ;) stands for, undefined if it is not one */
function entity(ref: string): string | undefined {
  if (ref.charCodeAt(0) !== 0x23) return ENTITIES[ref]
  const hex = ref.charCodeAt(1) === 0x78
  const digits = ref.slice(hex ? 2 : 1)
  if (digits === '' || !(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) return undefined
  const cp = parseInt(digits, hex ? 16 : 10)
  // any Unicode scalar value but NUL (XAPI writes control characters as references)
  if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined
  return String.fromCodePoint(cp)
}

export function parseXmlRpcResponse(xml: string): WireValue {
  const p = new XmlRpcResponseParser()
  p.write(xml)
  return p.end()
}

/**
 * Decodes a task's `result` field: an XML-RPC <value> fragment even over JSON-RPC; '' means void.
 */
export function parseXmlRpcFragment(fragment: string): WireValue {
  const trimmed = fragment.trim()
  if (trimmed === '') return ''
  const p = new XmlRpcResponseParser()
  p.write(`<methodResponse><params><param>${trimmed}</param></params></methodResponse>`)
  return p.end()
}
