import { describe, expect, it } from 'vitest'
import { StrictUtf8Stream } from '../../../main/xapi/utf8'
import { rng } from './rng'

/** what TextDecoder({ fatal: true }) in stream mode gives for these chunks: the text, or 'error' */
function reference(chunks: Buffer[]): string {
  const d = new TextDecoder('utf-8', { fatal: true })
  try {
    return chunks.map((c) => d.decode(c, { stream: true })).join('') + d.decode()
  } catch {
    return 'error'
  }
}

function ours(chunks: Buffer[]): string {
  const d = new StrictUtf8Stream()
  try {
    return chunks.map((c) => d.write(c)).join('') + d.end()
  } catch {
    return 'error'
  }
}

function split(b: Buffer, next: () => number): Buffer[] {
  const out: Buffer[] = []
  let i = 0
  while (i < b.length) {
    const n = 1 + Math.floor(next() * 7)
    out.push(b.subarray(i, i + n))
    i += n
  }
  return out
}

const GOOD = Buffer.from('\ufeff<value>héllo wörld — 日本語 🚀 ok</value>', 'utf8')
const BAD: Record<string, Buffer> = {
  'overlong': Buffer.from([0x41, 0xc0, 0x80, 0x42]),
  'lone continuation': Buffer.from([0x41, 0x80, 0x42]),
  'surrogate': Buffer.from([0x41, 0xed, 0xa0, 0x80, 0x42]),
  'beyond U+10FFFF': Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  'invalid lead': Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
  'truncated at the end': Buffer.from([0x41, 0xe6, 0x97]),
  'lead followed by ASCII': Buffer.from([0xe6, 0x41, 0x42]),
  'four-byte lead cut short by ASCII': Buffer.from([0xf0, 0x9f, 0x41]),
}

describe('StrictUtf8Stream: TextDecoder({ fatal: true }) in stream mode, faster', () => {
  it('gives the same text for every split of valid UTF-8, a leading byte-order mark dropped', () => {
    const next = rng(7)
    expect(ours([GOOD])).toBe(reference([GOOD]))
    expect(ours([GOOD]).startsWith('<value>')).toBe(true)
    for (let a = 1; a < GOOD.length; a++) expect(ours([GOOD.subarray(0, a), GOOD.subarray(a)]), `split at ${a}`).toBe(reference([GOOD]))
    for (let k = 0; k < 200; k++) expect(ours(split(GOOD, next))).toBe(reference([GOOD]))
    // a BOM later in the text is text
    const mid = Buffer.from('a\ufeffb', 'utf8')
    expect(ours(split(mid, next))).toBe('a\ufeffb')
  })

  for (const [name, bytes] of Object.entries(BAD)) {
    it(`refuses ${name}, whole and split anywhere`, () => {
      const body = Buffer.concat([Buffer.from('<x>'), bytes, Buffer.from('</x>')])
      const tail = Buffer.concat([Buffer.from('<x>'), bytes])
      for (const b of [body, tail]) {
        expect(ours([b])).toBe(reference([b]))
        for (let a = 1; a < b.length; a++) expect(ours([b.subarray(0, a), b.subarray(a)]), `${name} split at ${a}`).toBe(reference([b]))
        const next = rng(b.length)
        for (let k = 0; k < 50; k++) expect(ours(split(b, next))).toBe(reference([b]))
      }
      expect(ours([body])).toBe('error')
      expect(ours([tail])).toBe('error')
    })
  }
})
