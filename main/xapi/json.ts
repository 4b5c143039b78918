/**
 * JSON-RPC body parsing, 64-bit safe. XAPI ints are int64 and Yojson writes non-finite floats as
 * the bare tokens NaN / Infinity / -Infinity, neither of which JSON.parse accepts losslessly.
 *
 * Fast path: when the text holds no integer of 16+ digits and no NaN/Infinity anywhere, plain
 * JSON.parse is exact (every integer with ≤ 15 digits is below 2^53). Otherwise one scan outside
 * string literals rewrites integers beyond 2^53 into strings (the normaliser keeps them as strings:
 * exactness over convenience) and NaN/Infinity into the strings "NaN"/"Infinity"/"-Infinity"
 * (the normaliser turns those into numbers for float fields). lossless-json was measured slower on
 * large bodies (see test/bench/client.bench.ts "json-parse" lines).
 */
import type { WireValue } from './wire'

/**
 * An integer token of 16+ digits (a float has '.' or 'e' and never matches). Measured on a 25 MB
 * body: this regex 31 ms; `/\d{16}|NaN|Infinity/` matched inside every 17-digit float and sent
 * each body down the slow path.
 */
const LONG_INTEGER = /[:,[]\s*-?\d{16,}\s*[,}\]]/

export class JsonParseError extends Error {
  override name = 'JsonParseError'
}

export function parseJsonSafe(text: string): WireValue {
  const suspicious = text.includes('NaN') || text.includes('Infinity') || LONG_INTEGER.test(text)
  const src = suspicious ? rewriteUnsafeTokens(text) : text
  try {
    return JSON.parse(src) as WireValue
  } catch (e) {
    throw new JsonParseError(`malformed JSON: ${(e as Error).message}`)
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

function rewriteUnsafeTokens(text: string): string {
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
