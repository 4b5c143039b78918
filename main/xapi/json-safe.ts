/**
 * JSON-RPC body parsing, 64-bit safe. XAPI ints are int64 and Yojson writes non-finite floats as
 * the bare tokens NaN / Infinity / -Infinity, neither of which JSON.parse accepts losslessly.
 *
 * Fast path: when the text holds no integer of 16+ digits and no NaN/Infinity anywhere, plain
 * JSON.parse is exact (every integer with ≤ 15 digits is below 2^53). Otherwise one scan outside
 * string literals rewrites integers beyond 2^53 into strings (the normaliser keeps them as strings:
 * exactness over convenience) and NaN/Infinity into the strings "NaN"/"Infinity"/"-Infinity"
 * (the normaliser turns those into numbers for float fields). lossless-json is several times slower
 * on large bodies (`npm run bench codecs`, line codecs.json.get-all-records: bench-10k's 45 MB
 * VM.get_all_records 885 ms CPU here against 5,871 ms, measured at load 28).
 *
 * Large answers are parsed incrementally as their bytes arrive (JsonRpcResponseParser in
 * ./json-stream.ts, which uses the helpers exported here), so a 45 MB VM.get_all_records never
 * blocks the main process in one JSON.parse.
 */
import { MAX_NESTING, tooDeepMessage, type WireValue } from './wire'

/**
 * An integer token of 16+ digits (a float has '.' or 'e' and never matches). Measured on a 25 MB
 * body: this regex 31 ms; `/\d{16}|NaN|Infinity/` matched inside every 17-digit float and sent
 * each body down the slow path.
 */
const LONG_INTEGER = /[:,[]\s*-?\d{16,}\s*[,}\]]/

export type JsonParseProblem = 'syntax' | 'truncated' | 'utf8' | 'depth'

export class JsonParseError extends Error {
  override name = 'JsonParseError'
  readonly problem: JsonParseProblem
  constructor(message: string, problem: JsonParseProblem = 'syntax') {
    super(message)
    this.problem = problem
  }
}

export function parseJsonSafe(text: string): WireValue {
  const suspicious = text.includes('NaN') || text.includes('Infinity') || LONG_INTEGER.test(text)
  const v = parseText(suspicious ? rewriteUnsafeTokens(text) : text, '')
  // V8's JSON.parse does not recurse, so it takes any depth: the limit is checked on the result
  if (inspect(v, 0) === TOO_DEEP) throw new JsonParseError(`malformed JSON: ${tooDeepMessage()}`, 'depth')
  return v
}

export function parseText(src: string, where: string): WireValue {
  try {
    return JSON.parse(src) as WireValue
  } catch (e) {
    throw new JsonParseError(`malformed JSON${where}: ${(e as Error).message}`)
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

export function rewriteUnsafeTokens(text: string): string {
  const out: string[] = []
  let last = 0
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      // skip the string literal; jump between quotes with indexOf, checking escapes
      let j = i + 1
      for (;;) {
        const q = text.indexOf('"', j)
        if (q < 0) return text // unterminated: let JSON.parse report it
        let bs = 0
        for (let k = q - 1; k > i && text.charCodeAt(k) === 92; k--) bs++
        j = q + 1
        if (bs % 2 === 0) break
      }
      i = j
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i
      i++
      while (i < n) {
        const d = text.charCodeAt(i)
        if ((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) i++
        else break
      }
      const tok = text.slice(start, i)
      if (tok === '-' && text.startsWith('Infinity', i)) {
        out.push(text.slice(last, start), '"-Infinity"')
        i += 8
        last = i
      } else if (tok.length >= 16 && /^-?\d+$/.test(tok)) {
        const b = BigInt(tok)
        if (b > MAX_SAFE || b < -MAX_SAFE) {
          out.push(text.slice(last, start), '"', tok, '"')
          last = i
        }
      }
    } else if (c === 78 /* N */ && text.startsWith('NaN', i)) {
      out.push(text.slice(last, i), '"NaN"')
      i += 3
      last = i
    } else if (c === 73 /* I */ && text.startsWith('Infinity', i)) {
      out.push(text.slice(last, i), '"Infinity"')
      i += 8
      last = i
    } else {
      i++
    }
  }
  if (last === 0) return text
  out.push(text.slice(last))
  return out.join('')
}

const MAX_SAFE_NUMBER = Number.MAX_SAFE_INTEGER

const FINE = 0
export const UNSAFE_NUMBER = 1
export const TOO_DEEP = 2

/**
 * One walk over a value JSON.parse made, `level` containers deep already: TOO_DEEP when a
 * container lies deeper than MAX_NESTING (the walk goes no deeper, so its own recursion is
 * bounded), UNSAFE_NUMBER when a number may have been rounded (an integer token beyond 2^53).
 */
export function inspect(v: WireValue, level: number): number {
  if (typeof v === 'number') return v > MAX_SAFE_NUMBER || v < -MAX_SAFE_NUMBER ? UNSAFE_NUMBER : FINE
  if (typeof v !== 'object' || v === null) return FINE
  if (level >= MAX_NESTING) return TOO_DEEP
  const next = level + 1
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const f = inspect(v[i] as WireValue, next)
      if (f !== FINE) return f
    }
    return FINE
  }
  for (const k in v) {
    const f = inspect(v[k] as WireValue, next)
    if (f !== FINE) return f
  }
  return FINE
}
