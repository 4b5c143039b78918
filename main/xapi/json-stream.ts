/**
 * Incremental parsing of a JSON-RPC response as its bytes arrive (the one-shot parse and its
 * 64-bit-safe helpers are in ./json-safe.ts).
 */
import { isUtf8 } from 'node:buffer'
import { JsonParseError, TOO_DEEP, UNSAFE_NUMBER, inspect, parseJsonSafe, parseText, rewriteUnsafeTokens } from './json-safe'
import { MAX_NESTING, tooDeepMessage, type WireValue } from './wire'

/**
 * Called for each entry of the streamed containers as soon as it is parsed; returns the value to
 * keep (normalisation fused with the transfer). `container` is '' for the members/elements of
 * `result` itself and the member name for the elements of an array inside an object `result`
 * (event.from's 'events').
 */
export interface JsonStreamHooks {
  /** a member of an object `result` (get_all_records: ref → record); undefined: not kept */
  member?: (key: string, value: WireValue) => WireValue | undefined
  /** an element of an array `result`, or of an array member of an object `result` */
  item?: (container: string, value: WireValue) => WireValue
}

/** completed entries are parsed together once this many bytes of them are waiting */
const GROUP_BYTES = 60 * 1024

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const LBRACE = 0x7b
const RBRACE = 0x7d
const LBRACKET = 0x5b
const RBRACKET = 0x5d

/**
 * One level the scanner keeps apart: the envelope object (members parsed one by one), `result` if
 * it is an object or an array, and an array member of an object `result`. Entries of the latter
 * three are parsed in groups: every complete entry between `segStart` and `segEnd` in one
 * JSON.parse of `{…}` / `[…]` (a few hundred kB at a time: fewer, cheaper calls than one per record).
 */
interface Frame {
  kind: 'envelope' | 'object' | 'array'
  /** nesting depth inside this frame (number of open brackets, this frame's own included) */
  depth: number
  /** member name for an array member of `result`; '' for `result` itself */
  name: string
  target: Record<string, WireValue> | WireValue[]
  /** absolute offset where the not yet parsed entries start; -1: the next separator opens a group */
  segStart: number
  /** absolute offset of the separator after the last complete entry; -1: none complete */
  segEnd: number
  /** object frames: the current member's key (absolute offsets), and where its value starts */
  keyStart: number
  keyEnd: number
  valueStart: number
  /** the member being read was split off into a child frame (not part of any group) */
  childDone: boolean
  /** the current group was delimited by cut candidates, not by the exact scan */
  unverified: boolean
  /** offset right after the frame's opening bracket (every later group starts after a ",") */
  first: number
}

/**
 * Between two objects of an array, and nowhere else outside a string at the array's own level.
 * Inside a string it can only appear as the string's end ('"…},{"'), and in a nested array of
 * objects at a deeper level — a group cut at such a place is unbalanced or ends inside a string,
 * which JSON.parse always rejects. So a group cut at candidates needs no byte scan: its own
 * JSON.parse verifies the cut.
 */
const ENTRY_SEPARATOR = Buffer.from('},{')
/**
 * Between two records of a get_all_records map (ref → record). Elsewhere outside strings only
 * inside a nested ref-keyed map of objects (a cut there is unbalanced, as above); never inside a
 * string: there its '"' would have to be escaped.
 */
const MEMBER_SEPARATOR = Buffer.from('},"OpaqueRef:')

/** a candidate cut did not verify: parse the group again from its start with the exact scan */
class Rewind {
  constructor(readonly frame: Frame) {}
}

/**
 * Parses a JSON-RPC response fed chunk by chunk (`write`), returning the envelope from `end()` —
 * the same value parseJsonSafe gives for the whole text. Structure is found by a byte scanner
 * (strings, escapes and nesting tracked across chunk boundaries; UTF-8 continuation bytes never
 * look like ASCII, so bytes are scanned undecoded) and each complete entry of `result` (a record of
 * a get_all_records map, an event of event.from's events) is decoded and JSON.parse'd while the
 * rest is still on the wire. A body that is not an object is kept whole and parsed at the end.
 * Most entries are not even scanned: inside an array of objects or a get_all_records map the
 * entries up to the last separator candidate of each chunk are cut there and verified by their own
 * JSON.parse (step(), ENTRY_SEPARATOR); the scanner runs only where no candidate is, or to redo a
 * cut that did not verify. A cut group holds at most 60 kB plus one chunk (≤ 64 kB from a socket),
 * still below the large-object size.
 *
 * Measured (before the cuts) on bench-10k's VM.get_all_records body (45 MB, 64 KB chunks, 2-core machine, min CPU
 * of 8 runs): one-shot parseJsonSafe 230 ms, all in one block; this parser 295 ms in all (+25 %: the
 * byte scan, near the ~50 ms a bare JS loop over 45 MB needs), as 691 write()s of median 0.5 ms,
 * p99 12 ms (the few longer ones are GC scavenges copying the records just parsed). event.from('')
 * (104 MB): 675 vs 780–850 ms. Group size (60/120/192/512 kB) made no difference to the parse
 * itself; 60 kB keeps each decoded group below V8's large-object size (128 kB), so it dies young
 * instead of waiting for a full GC: GC samples 1000 → 770 in a profiled bench-10k sync.
 * A worker thread was the alternative: the parse there is free for the main thread, but the result
 * has to come back by structured clone, and deserialising the 45 MB VM map on the main thread took
 * 500–560 ms (v8.deserialize, same machine) — twice the JSON.parse, again in one block. So no.
 */
export class JsonRpcResponseParser {
  private readonly hooks: JsonStreamHooks
  /** buffered bytes still needed, with the absolute offset each starts at */
  private chunks: Buffer[] = []
  private starts: number[] = []
  private total = 0
  private mode: 'start' | 'stream' | 'whole' | 'done' = 'start'
  private frames: Frame[] = []
  private envelope: Record<string, WireValue> = {}
  private depth = 0
  private inString = false
  private escaped = false
  /** the last byte outside strings that is not whitespace (a string's end counts as '"') */
  private lastSig = 0
  /** run of digits of the current number token; negative inside a fraction/exponent */
  private digits = 0
  /** offset of the last NaN/Infinity/16+ digit integer token: groups from before it are rewritten */
  private unsafeAt = -1
  /** name of the last array member of `result` split off (error messages) */
  private closedChild = ''
  /** array entries may be cut at "},{" candidates (off for the rest of the body once one failed) */
  private fast = true
  /**
   * ≥ 0: the bytes from here on were not scanned; the state here is known — right after a ","
   * between two entries of the innermost frame, cut at a candidate (ENTRY_SEPARATOR, MEMBER_SEPARATOR)
   */
  private lazyFrom = -1
  private cutCount = 0
  private rewindCount = 0

  constructor(hooks: JsonStreamHooks = {}) {
    this.hooks = hooks
  }

  /** bytes received so far */
  get bytes(): number {
    return this.total
  }

  /** how often entries were cut at a "},{" candidate, and how often such a cut had to be redone */
  get cutStats(): { cuts: number; rewinds: number } {
    return { cuts: this.cutCount, rewinds: this.rewindCount }
  }

  write(chunk: Buffer): void {
    if (chunk.length === 0) return
    if (this.mode === 'done') return this.trailing(chunk, this.total, 0)
    const base = this.total
    this.total += chunk.length
    this.chunks.push(chunk)
    this.starts.push(base)
    if (this.mode === 'whole') return
    let i = 0
    if (this.mode === 'start') {
      while (i < chunk.length && isSpace(chunk[i] as number)) i++
      if (i === chunk.length) return
      if (chunk[i] !== LBRACE) {
        this.mode = 'whole'
        return
      }
      this.mode = 'stream'
      this.depth = 1
      this.lastSig = LBRACE
      this.frames.push(newFrame('envelope', 1, '', this.envelope, -1))
      i++
    }
    try {
      this.step(chunk, base, i)
    } catch (e) {
      if (!(e instanceof Rewind)) throw e
      this.rewind(e.frame)
    }
    this.release()
  }

  /**
   * Inside an array of objects (event.from's events, a set of records), a chunk holding a "},{"
   * is not scanned byte by byte: the entries up to its last candidate are cut there and verified
   * by their own JSON.parse (the byte scan was a third of the parse's cost on an event.from
   * backlog). Without a candidate, or at the end, the exact scan takes over from the last cut.
   * `npm run bench -- parse` (an event.from answer with a mod event for each of bench-10k's 10,000
   * VMs, 45 MB in 64 kB chunks, min CPU of 6, load 1.1–1.7): with cuts 310–362 ms, the exact scan
   * over the same events 423–442 ms, one-shot parseJsonSafe 313–319 ms.
   */
  private step(chunk: Buffer, base: number, from: number): void {
    const frame = this.frames[this.frames.length - 1]
    const level = this.frames.length
    if (this.fast && frame && ((frame.kind === 'array' && level >= 2) || (frame.kind === 'object' && level === 2))) {
      // whatever the scan's state inside the entries was, the cut replaces it
      const p = chunk.lastIndexOf(frame.kind === 'array' ? ENTRY_SEPARATOR : MEMBER_SEPARATOR)
      if (p >= from) {
        this.cut(frame, base + p)
        return
      }
    }
    if (this.lazyFrom >= 0) this.leaveLazy(frame as Frame)
    else this.scan(chunk, base, from)
  }

  /** the entries of `frame` end with the "}" at `at` (a candidate): the state right after its "," */
  private cut(frame: Frame, at: number): void {
    this.cutCount++
    this.depth = frame.depth
    this.inString = false
    this.escaped = false
    this.digits = 0
    this.lastSig = COMMA
    this.lazyFrom = at + 2
    frame.keyStart = -1
    frame.keyEnd = -1
    frame.unverified = true
    this.endEntry(frame, at + 1, false, RBRACE)
  }

  /** back to the exact scan from the last cut, once the entries before it are verified */
  private leaveLazy(frame: Frame): void {
    const from = this.lazyFrom
    this.lazyFrom = -1
    if (frame.unverified) this.flush(frame)
    this.rescan(from)
  }

  /** a cut did not verify: the exact scan from the start of the group, cuts off for this body */
  private rewind(frame: Frame): void {
    this.rewindCount++
    this.fast = false
    this.lazyFrom = -1
    const from = frame.segStart
    frame.unverified = false
    frame.segEnd = -1
    frame.keyStart = -1
    frame.keyEnd = -1
    this.depth = frame.depth
    this.lastSig = from === frame.first ? (frame.kind === 'array' ? LBRACKET : LBRACE) : COMMA
    this.inString = false
    this.escaped = false
    this.digits = 0
    this.unsafeAt = -1
    this.rescan(from)
  }

  /** the exact scan over the buffered bytes from `from` to the end */
  private rescan(from: number): void {
    for (let j = this.chunkAt(from); j < this.chunks.length; j++) {
      const c = this.chunks[j] as Buffer
      const s = this.starts[j] as number
      const at = Math.max(0, from - s)
      if (at >= c.length) continue
      if (this.mode === 'done') this.trailing(c, s, at)
      else this.scan(c, s, at)
    }
  }


  end(): WireValue {
    if (this.lazyFrom >= 0) {
      const frame = this.frames[this.frames.length - 1] as Frame
      try {
        this.leaveLazy(frame)
      } catch (e) {
        if (!(e instanceof Rewind)) throw e
        this.rewind(e.frame)
      }
    }
    if (this.mode === 'whole' || this.mode === 'start') {
      const text = this.total === 0 ? '' : this.decode(0, this.total, 'the body')
      this.chunks = []
      return parseJsonSafe(text)
    }
    if (this.mode !== 'done') {
      const where = this.inString ? 'inside a string' : this.frames.length > 0 ? `inside ${describeFrame(this.frames[this.frames.length - 1] as Frame)}` : 'inside a value'
      throw new JsonParseError(`truncated JSON: the body ends after ${this.total} bytes ${where}`, 'truncated')
    }
    return this.envelope
  }

  private scan(b: Buffer, base: number, from: number): void {
    const n = b.length
    let i = from
    let depth = this.depth
    let lastSig = this.lastSig
    let digits = this.digits
    let unsafeAt = this.unsafeAt
    let frame = this.frames[this.frames.length - 1] as Frame
    let fd = frame.depth
    if (this.inString) {
      // a string continued from the previous chunk
      if (this.escaped) {
        this.escaped = false
        i++
      }
      i = this.skipString(b, i)
      if (i < 0) return
      this.inString = false
      lastSig = QUOTE
      if (depth === fd && frame.keyStart >= 0 && frame.keyEnd < 0) frame.keyEnd = base + i
    }
    let open = false
    while (i < n) {
      let c = b[i] as number
      if (c === QUOTE) {
        // most bytes of a XAPI body are inside strings: skip to the closing quote right here
        const start = i
        i++
        for (;;) {
          while (i < n) {
            c = b[i] as number
            if (c === QUOTE || c === BACKSLASH) break
            i++
          }
          if (i >= n) {
            open = true
            break
          }
          if (c === BACKSLASH) {
            if (i + 1 >= n) {
              open = true
              this.escaped = true
              i = n
              break
            }
            i += 2
            continue
          }
          i++
          break
        }
        digits = 0
        if (depth === fd && frame.kind !== 'array') {
          if (lastSig === COMMA || lastSig === LBRACE) {
            frame.keyStart = base + start
            frame.keyEnd = open ? -1 : base + i
          } else if (frame.keyStart >= 0 && frame.keyEnd < 0 && !open) frame.keyEnd = base + i
        }
        if (open) {
          this.inString = true
          break
        }
        lastSig = QUOTE
        continue
      }
      if (depth !== fd) {
        // inside an entry: only nesting matters (the entry's own JSON.parse checks the rest), and
        // tokens JSON.parse cannot take exactly (NaN/Infinity, integers of 16+ digits)
        if (c >= 0x30 && c <= 0x39) {
          if (++digits >= 16) unsafeAt = base + i
        } else {
          if (c === LBRACE || c === LBRACKET) {
            if (++depth > MAX_NESTING) throw this.tooDeep(base + i)
          } else if (c === RBRACE || c === RBRACKET) depth--
          else if (c === 0x4e /* N */ || c === 0x49 /* I */) unsafeAt = base + i
          else if (c === 0x2e || c === 0x65 || c === 0x45) {
            digits = -1e9
            lastSig = c
            i++
            continue
          } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
            digits = 0
            i++
            continue
          }
          digits = 0
        }
        lastSig = c
        i++
        continue
      }
      // at the level of a frame: separators, the frame's end, a nested frame's start
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        digits = 0
        i++
        continue
      }
      if (c >= 0x30 && c <= 0x39) {
        if (++digits >= 16) unsafeAt = base + i
        lastSig = c
        i++
        continue
      }
      digits = 0
      const at = base + i
      if (c === COMMA) {
        if (lastSig === COMMA || lastSig === COLON || lastSig === LBRACE || lastSig === LBRACKET) throw this.syntax(`an empty entry before "," in ${describeFrame(frame)}`, at)
        this.unsafeAt = unsafeAt
        this.endEntry(frame, at, false, lastSig)
        lastSig = c
        i++
        continue
      }
      if (c === RBRACE || c === RBRACKET) {
        if ((c === RBRACE) !== (frame.kind !== 'array')) throw this.syntax(`"${String.fromCharCode(c)}" closes ${describeFrame(frame)}`, at)
        if (lastSig === COMMA || lastSig === COLON) throw this.syntax(`a missing value before "${String.fromCharCode(c)}" in ${describeFrame(frame)}`, at)
        const empty = lastSig === LBRACE || lastSig === LBRACKET
        this.unsafeAt = unsafeAt
        if (!empty) this.endEntry(frame, at, true, lastSig)
        this.frames.pop()
        depth--
        lastSig = c
        i++
        const parent = this.frames[this.frames.length - 1]
        if (!parent) {
          this.mode = 'done'
          this.trailing(b, base, i)
          return
        }
        parent.childDone = true
        this.closedChild = frame.name
        frame = parent
        fd = parent.depth
        continue
      }
      if (c === COLON) {
        if (frame.kind === 'envelope') {
          if (lastSig !== QUOTE || frame.keyEnd < 0 || frame.valueStart >= 0) throw this.syntax('":" without a member name before it in the response object', at)
          frame.valueStart = at + 1
        }
        lastSig = c
        i++
        continue
      }
      if (c === LBRACE || c === LBRACKET) {
        if (lastSig === COLON) {
          this.unsafeAt = unsafeAt
          const child = this.childFrame(frame, c, at)
          if (child) {
            this.frames.push(child)
            frame = child
          }
        } else if (frame.kind !== 'array') throw this.syntax(`"${String.fromCharCode(c)}" where a member name was expected in ${describeFrame(frame)}`, at)
        if (++depth > MAX_NESTING) throw this.tooDeep(at)
        if (frame.depth === depth) fd = depth
        lastSig = c
        i++
        continue
      }
      if (c === 0x4e /* N */ || c === 0x49 /* I */) unsafeAt = at
      else if (c === 0x2e || c === 0x65 || c === 0x45) digits = -1e9
      lastSig = c
      i++
    }
    this.depth = depth
    this.lastSig = lastSig
    this.digits = digits
    this.unsafeAt = unsafeAt
  }

  /** from inside a string: the offset after its closing quote, or -1 (the chunk ends first) */
  private skipString(b: Buffer, from: number): number {
    const n = b.length
    let i = from
    for (;;) {
      let c = 0
      while (i < n) {
        c = b[i] as number
        if (c === QUOTE || c === BACKSLASH) break
        i++
      }
      if (i >= n) return -1
      if (c === BACKSLASH) {
        if (i + 1 >= n) {
          this.escaped = true
          return -1
        }
        i += 2
        continue
      }
      return i + 1
    }
  }

  /** after the response object: whitespace only */
  private trailing(b: Buffer, base: number, from: number): void {
    for (let i = from; i < b.length; i++) if (!isSpace(b[i] as number)) throw this.syntax('data after the end of the response object', base + i)
  }

  /** `{` or `[` as a member value at a frame's level: a new frame, or undefined (an entry) */
  private childFrame(frame: Frame, c: number, at: number): Frame | undefined {
    if (frame.kind === 'envelope') {
      if (this.keyOf(frame) !== 'result') return undefined
      frame.childDone = false
      frame.keyStart = -1
      frame.keyEnd = -1
      frame.valueStart = -1
      const target: Frame['target'] = c === LBRACE ? {} : []
      setMember(this.envelope, 'result', target)
      return newFrame(c === LBRACE ? 'object' : 'array', frame.depth + 1, '', target, at + 1)
    }
    if (frame.kind === 'object' && c === LBRACKET && this.frames.length === 2) {
      // an array member of an object result (event.from's events): parse what came before, then
      // split the array itself entry by entry
      const name = this.keyOf(frame)
      if (frame.segEnd >= 0) this.flush(frame)
      frame.segStart = -1
      frame.keyStart = -1
      frame.keyEnd = -1
      frame.childDone = false
      const arr: WireValue[] = []
      setMember(frame.target as Record<string, WireValue>, name, arr)
      return newFrame('array', frame.depth + 1, name, arr, at + 1)
    }
    return undefined
  }

  private keyOf(frame: Frame): string {
    if (frame.keyStart < 0 || frame.keyEnd < 0) throw this.syntax(`a value without a member name in ${describeFrame(frame)}`, this.total)
    const key = parseText(this.decode(frame.keyStart, frame.keyEnd, 'a member name'), ` in a member name at byte ${frame.keyStart}`)
    if (typeof key !== 'string') throw this.syntax('a member name that is not a string', frame.keyStart)
    return key
  }

  /** an entry of `frame` ended at `at` (a "," or the frame's closing bracket) */
  private endEntry(frame: Frame, at: number, closing: boolean, lastSig: number): void {
    if (frame.kind === 'envelope') {
      if (frame.childDone) {
        frame.childDone = false
        if (lastSig !== RBRACE && lastSig !== RBRACKET) throw this.syntax('data after the result value', at)
      } else {
        if (frame.valueStart < 0) throw this.syntax('a member without ":" and a value in the response object', at)
        const key = this.keyOf(frame)
        const text = this.decode(frame.valueStart, at, `the "${key}" member`)
        setMember(this.envelope, key, this.unsafeAt >= frame.valueStart ? parseText(rewriteUnsafeTokens(text), ` in the "${key}" member`) : parseText(text, ` in the "${key}" member`))
      }
      frame.keyStart = -1
      frame.keyEnd = -1
      frame.valueStart = -1
      return
    }
    if (frame.childDone) {
      // the member just finished was a child frame: the next group starts after this separator
      frame.childDone = false
      if (lastSig !== RBRACKET) throw this.syntax(`data after the "${this.closedChild}" array`, at)
      frame.segStart = at + 1
      frame.segEnd = -1
      return
    }
    frame.segEnd = at
    if (closing || at - frame.segStart >= GROUP_BYTES) this.flush(frame)
  }

  /** parses the complete entries of a frame's current group into its target */
  private flush(frame: Frame): void {
    const { segStart, segEnd } = frame
    if (segEnd < 0 || segEnd <= segStart) return
    const isObject = frame.kind === 'object'
    const wrapped = this.decode(segStart, segEnd, `the entries at bytes ${segStart}–${segEnd}`, isObject ? LBRACE : LBRACKET, isObject ? RBRACE : RBRACKET)
    frame.segStart = segEnd + 1
    frame.segEnd = -1
    const where = ` in ${describeFrame(frame)} (an entry between bytes ${segStart} and ${segEnd})`
    let parsed: WireValue
    if (frame.unverified) {
      // cut at candidates: no scan saw these bytes, so this parse is the check — a failure or a
      // number beyond 2^53 (the scan would have had it rewritten exactly) sends the group back
      frame.unverified = false
      try {
        parsed = JSON.parse(wrapped) as WireValue
      } catch {
        frame.segStart = segStart
        frame.segEnd = segEnd
        throw new Rewind(frame)
      }
      // an array member of the result object is split off by the exact scan (event.from's events
      // get the item hook): a cut group holding one is redone
      const found = inspect(parsed, frame.depth - 1)
      if (found === TOO_DEEP) throw this.tooDeep(segStart)
      if (found === UNSAFE_NUMBER || (frame.kind === 'object' && hasArrayMember(parsed))) {
        frame.segStart = segStart
        frame.segEnd = segEnd
        throw new Rewind(frame)
      }
    } else parsed = this.unsafeAt >= segStart ? parseText(rewriteUnsafeTokens(wrapped), where) : parseText(wrapped, where)
    if (isObject) {
      const target = frame.target as Record<string, WireValue>
      const src = parsed as Record<string, WireValue>
      const hook = this.hooks.member
      if (hook) {
        for (const k in src) {
          const v = hook(k, src[k] as WireValue)
          if (v !== undefined) setMember(target, k, v)
        }
      } else for (const k in src) setMember(target, k, src[k] as WireValue)
    } else {
      const target = frame.target as WireValue[]
      const src = parsed as WireValue[]
      const hook = this.hooks.item
      const name = frame.name
      if (hook) for (let j = 0; j < src.length; j++) target.push(hook(name, src[j] as WireValue))
      else for (let j = 0; j < src.length; j++) target.push(src[j] as WireValue)
    }
  }

  /**
   * bytes [a, b) as a string (strict UTF-8); with `open`/`close`, between those two bytes — copied
   * together into a scratch buffer, so the JS heap sees one flat string (wrapping the decoded text
   * in brackets made a second copy of every body: measurably more GC)
   */
  private decode(a: number, b: number, what: string, open = -1, close = -1): string {
    let buf: Buffer
    const k = this.chunkAt(a)
    const first = this.chunks[k] as Buffer
    const s0 = this.starts[k] as number
    if (open < 0 && b <= s0 + first.length) buf = first.subarray(a - s0, b - s0)
    else {
      const extra = open < 0 ? 0 : 2
      const len = b - a + extra
      buf = len <= SCRATCH_MAX ? scratch(len) : Buffer.allocUnsafe(len)
      let w = 0
      if (extra) buf[w++] = open
      for (let j = k; j < this.chunks.length; j++) {
        const c = this.chunks[j] as Buffer
        const s = this.starts[j] as number
        if (s >= b) break
        w += c.copy(buf, w, Math.max(0, a - s), Math.min(c.length, b - s))
      }
      if (extra) buf[w++] = close
      buf = buf.subarray(0, w)
    }
    if (!isUtf8(buf)) throw new JsonParseError(`invalid UTF-8 in ${what}`, 'utf8')
    return buf.toString('utf8')
  }

  private chunkAt(pos: number): number {
    const starts = this.starts
    for (let j = starts.length - 1; j >= 0; j--) if ((starts[j] as number) <= pos) return j
    return 0
  }

  /** drops buffered chunks no frame needs any more */
  private release(): void {
    if (this.mode === 'done') {
      this.chunks = []
      this.starts = []
      return
    }
    let low = this.total
    for (const f of this.frames) {
      if (f.kind === 'envelope') {
        if (f.keyStart >= 0) low = Math.min(low, f.keyStart)
        if (f.valueStart >= 0) low = Math.min(low, f.valueStart)
      } else {
        if (f.segStart >= 0) low = Math.min(low, f.segStart)
        if (f.keyStart >= 0) low = Math.min(low, f.keyStart)
      }
    }
    let drop = 0
    while (drop < this.chunks.length - 1 && (this.starts[drop + 1] as number) <= low) drop++
    if (drop > 0) {
      this.chunks.splice(0, drop)
      this.starts.splice(0, drop)
    }
  }

  private tooDeep(at: number): JsonParseError {
    return new JsonParseError(`malformed JSON: ${tooDeepMessage()} at byte ${at}`, 'depth')
  }

  private syntax(what: string, at: number): JsonParseError {
    return new JsonParseError(`malformed JSON: ${what} at byte ${at}`)
  }
}

/** one reused copy buffer for groups (single-threaded: never in use twice at once) */
const SCRATCH_MAX = 4 * 1024 * 1024
let scratchBuf = Buffer.allocUnsafe(0)
function scratch(len: number): Buffer {
  if (scratchBuf.length < len) scratchBuf = Buffer.allocUnsafe(Math.max(len, 512 * 1024))
  return scratchBuf
}

function newFrame(kind: Frame['kind'], depth: number, name: string, target: Frame['target'], start: number): Frame {
  return { kind, depth, name, target, segStart: start, segEnd: -1, keyStart: -1, keyEnd: -1, valueStart: -1, childDone: false, unverified: false, first: start }
}

function hasArrayMember(v: WireValue): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  for (const k in v) if (Array.isArray(v[k])) return true
  return false
}

function describeFrame(f: Frame): string {
  if (f.kind === 'envelope') return 'the response object'
  if (f.name) return `the result's "${f.name}" array`
  return f.kind === 'object' ? 'the result object' : 'the result array'
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

/** obj[key] = v, also for "__proto__" (an own property, as JSON.parse makes it) */
function setMember(obj: Record<string, WireValue>, key: string, v: WireValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value: v, writable: true, enumerable: true, configurable: true })
  else obj[key] = v
}
