import { describe, expect, it } from 'vitest'
import { JsonParseError, parseJsonSafe } from '../../../main/xapi/json-safe'
import { JsonRpcResponseParser } from '../../../main/xapi/json-stream'
import { streamedNormalisation } from '../../../main/xapi/normalise'
import type { WireValue } from '../../../main/xapi/wire'
import { rng } from './rng'

/** a parser fed `body` split at `cuts` (not ended: the caller ends it, or expects end() to throw) */
function fed(body: Buffer, cuts: number[], hooks?: ConstructorParameters<typeof JsonRpcResponseParser>[0]): JsonRpcResponseParser {
  const p = new JsonRpcResponseParser(hooks)
  let last = 0
  for (const c of cuts) {
    p.write(body.subarray(last, c))
    last = c
  }
  p.write(body.subarray(last))
  return p
}

function feed(body: Buffer, cuts: number[], hooks?: ConstructorParameters<typeof JsonRpcResponseParser>[0]): WireValue {
  return fed(body, cuts, hooks).end()
}

/** cuts every `size` bytes, like a socket's reads */
function every(len: number, size: number): number[] {
  const out: number[] = []
  for (let c = size; c < len; c += size) out.push(c)
  return out
}

function randomCuts(len: number, next: () => number, n: number): number[] {
  const cuts = new Set<number>()
  for (let i = 0; i < n; i++) cuts.add(Math.floor(next() * len))
  return [...cuts].sort((a, b) => a - b)
}

function oneByOne(body: Buffer): number[] {
  return Array.from({ length: body.length - 1 }, (_, i) => i + 1)
}

/** bodies that exercise everything the scanner must get right */
const TRICKY_RECORD = {
  uuid: 'c0ffee00-0000-4000-8000-000000000001',
  name_label: 'héllo wörld — 日本語 🚀 "quoted" \\back\\slash\\ {not: [a, structure]} ,"OpaqueRef:x":{',
  name_description: 'escapes \n\t\r\b\f \u0001 \u2028 and a lone backslash-quote \\"',
  other_config: { 'key with "quotes"': 'v', nested: '{"json":"inside a string"}', emoji: '😀' },
  VCPUs_params: {},
  tags: [],
  blocked_operations: { start: 'reason' },
  memory_static_max: 8589934592,
  negative: -42,
  float: 1.5e-7,
  deep: [[[{ a: [1, 2, { b: 'c' }] }]]],
  yes: true,
  no: false,
  nothing: null,
}

function getAllRecordsBody(n: number, extra = ''): string {
  const members: string[] = []
  for (let i = 0; i < n; i++) members.push(`${JSON.stringify(`OpaqueRef:${i}`)}:${JSON.stringify({ ...TRICKY_RECORD, uuid: `uuid-${i}` })}`)
  return `{"jsonrpc":"2.0","result":{${members.join(',')}}${extra},"id":7}`
}

function eventBody(n: number): string {
  const events: string[] = []
  for (let i = 0; i < n; i++) {
    events.push(JSON.stringify({ id: String(i), timestamp: '1.0', class: 'vm', operation: 'mod', ref: `OpaqueRef:${i}`, snapshot: { ...TRICKY_RECORD, uuid: `u-${i}` } }))
  }
  return `{"jsonrpc":"2.0","result":{"events":[${events.join(',')}],"valid_ref_counts":{"vm":${n},"host":"2"},"token":"00000000000000000042,00000000000000000000"},"id":3}`
}

describe('JsonRpcResponseParser: the same value as parsing the whole body', () => {
  const bodies: Record<string, string> = {
    'get_all_records map': getAllRecordsBody(40),
    'event.from batch': eventBody(30),
    'array result': `{"jsonrpc":"2.0","result":["OpaqueRef:a", "OpaqueRef:b" , {"x":[1,{"y":"]"}]}, 3, true, null],"id":1}`,
    'scalar result': '{"jsonrpc":"2.0","result":"OpaqueRef:session-1","id":2}',
    'empty containers': '{"jsonrpc":"2.0","result":{"a":{},"b":[],"events":[],"c":[[]]},"id":3}',
    'empty map': '{"jsonrpc":"2.0","result":{},"id":4}',
    'empty array': '{ "jsonrpc" : "2.0" , "result" : [ ] , "id" : 4 }',
    'whitespace everywhere': ' \n{ "jsonrpc" :\t"2.0",\r\n "result" : { "OpaqueRef:1" : { "a" : [ 1 , 2 ] } ,\n "OpaqueRef:2" : { } } , "id" : 5 }\n ',
    'v1 success': '{"result":{"k":"v"},"error":null,"id":9}',
    'result last': '{"id":1,"jsonrpc":"2.0","result":{"x":"y"}}',
  }
  for (const [name, text] of Object.entries(bodies)) {
    it(`${name}: whole, random splits and 1-byte chunks`, () => {
      const body = Buffer.from(text, 'utf8')
      const expected = JSON.parse(text) as WireValue
      expect(feed(body, [])).toEqual(expected)
      expect(feed(body, oneByOne(body))).toEqual(expected)
      const next = rng(name.length * 7919)
      for (let k = 0; k < 25; k++) expect(feed(body, randomCuts(body.length, next, 1 + Math.floor(next() * 40)))).toEqual(expected)
    })
  }

  it('splits inside multi-byte UTF-8 characters, escapes and \\" at every position', () => {
    const text = '{"jsonrpc":"2.0","result":{"r":{"s":"a\\\\\\"b\\u00e9é🚀\\\\","t":"日本"}},"id":1}'
    const body = Buffer.from(text, 'utf8')
    const expected = JSON.parse(text) as WireValue
    for (let a = 1; a < body.length; a++) for (const b of [a + 1, a + 2, a + 3]) if (b < body.length) expect(feed(body, [a, b]), `cut at ${a},${b}`).toEqual(expected)
  })

  it('parses a large map in many groups, records intact and in order', () => {
    const text = getAllRecordsBody(3000)
    const body = Buffer.from(text, 'utf8')
    const v = feed(body, randomCuts(body.length, rng(5), 400)) as { result: Record<string, { uuid: string }> }
    const keys = Object.keys(v.result)
    expect(keys.length).toBe(3000)
    expect(keys[0]).toBe('OpaqueRef:0')
    expect(keys[2999]).toBe('OpaqueRef:2999')
    expect(v.result['OpaqueRef:1234']?.uuid).toBe('uuid-1234')
    expect(v).toEqual(JSON.parse(text))
  })

  it('keeps a "__proto__" member as data', () => {
    const v = feed(Buffer.from('{"jsonrpc":"2.0","result":{"__proto__":{"polluted":true},"a":1},"id":1}'), []) as { result: Record<string, unknown> }
    expect(Object.keys(v.result)).toEqual(['__proto__', 'a'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(v.result)).toBe(Object.prototype)
  })
})

describe('JsonRpcResponseParser: 64-bit safety', () => {
  const text =
    '{"jsonrpc":"2.0","result":{"OpaqueRef:a":{"big":18446744073709551615,"neg":-9223372036854775808,"safe16":1234567890123456,"f":NaN,"g":Infinity,"h":-Infinity,"s":"NaN Infinity 12345678901234567890","x":1.2345678901234567890e5},' +
    '"OpaqueRef:b":{"plain":5}},"id":12345678901234567890}'
  const expected = { jsonrpc: '2.0', result: { 'OpaqueRef:a': { big: '18446744073709551615', neg: '-9223372036854775808', safe16: 1234567890123456, f: 'NaN', g: 'Infinity', h: '-Infinity', s: 'NaN Infinity 12345678901234567890', x: 123456.7890123456789 }, 'OpaqueRef:b': { plain: 5 } }, id: '12345678901234567890' }

  it('keeps integers past 2^53 as strings and NaN/Infinity as tokens, like parseJsonSafe, across any split', () => {
    const body = Buffer.from(text)
    expect(parseJsonSafe(text)).toEqual(expected)
    expect(feed(body, [])).toEqual(expected)
    expect(feed(body, oneByOne(body))).toEqual(expected)
    const next = rng(99)
    for (let k = 0; k < 30; k++) expect(feed(body, randomCuts(body.length, next, 8))).toEqual(expected)
  })

  it('rewrites unsafe tokens in event batches too, group by group', () => {
    const events = Array.from({ length: 2000 }, (_, i) => `{"class":"vm","ref":"OpaqueRef:${i}","operation":"mod","snapshot":{"n":${i % 500 === 0 ? 'NaN' : i},"big":${i === 1999 ? '99999999999999999999' : '1'}}}`)
    const body = Buffer.from(`{"jsonrpc":"2.0","result":{"events":[${events.join(',')}],"valid_ref_counts":{},"token":"t"},"id":1}`)
    const v = feed(body, randomCuts(body.length, rng(3), 200)) as { result: { events: { snapshot: { n: unknown; big: unknown } }[] } }
    expect(v.result.events).toHaveLength(2000)
    expect(v.result.events[500]?.snapshot.n).toBe('NaN')
    expect(v.result.events[501]?.snapshot.n).toBe(501)
    expect(v.result.events[1999]?.snapshot.big).toBe('99999999999999999999')
    expect(v.result.events[1998]?.snapshot.big).toBe(1)
  })
})

describe('JsonRpcResponseParser: error envelopes', () => {
  it('returns JSON-RPC v2 error objects, v1 error arrays and XAPI failures as parsed values', () => {
    const v2 = '{"jsonrpc":"2.0","error":{"code":1,"message":"VM_BAD_POWER_STATE","data":["OpaqueRef:v","halted","running"]},"id":4}'
    const v1 = '{"result":null,"error":["SESSION_INVALID","OpaqueRef:s"],"id":5}'
    for (const t of [v2, v1]) {
      const body = Buffer.from(t)
      expect(feed(body, oneByOne(body))).toEqual(JSON.parse(t))
    }
  })
})

describe('JsonRpcResponseParser: broken bodies', () => {
  const bad = (text: string | Buffer, cuts: number[] = []): JsonParseError => {
    const body = typeof text === 'string' ? Buffer.from(text) : text
    try {
      feed(body, cuts)
    } catch (e) {
      expect(e).toBeInstanceOf(JsonParseError)
      return e as JsonParseError
    }
    throw new Error(`accepted: ${body.toString()}`)
  }

  it('names a truncated body and where it stopped', () => {
    const full = getAllRecordsBody(5)
    for (const cut of [1, 30, Math.floor(full.length / 2), full.length - 1]) {
      const e = bad(full.slice(0, cut))
      expect(e.problem, `cut ${cut}`).toBe('truncated')
      expect(e.message).toMatch(/truncated JSON: the body ends after \d+ bytes inside/)
    }
    expect(bad(full.slice(0, full.indexOf('héllo') + 2)).message).toMatch(/inside a string/)
    expect(bad('').message).toMatch(/malformed JSON/)
  })

  it('names malformed entries, separators and brackets', () => {
    expect(bad('{"jsonrpc":"2.0","result":{"a":{"b":1,},"c":2},"id":1}').message).toMatch(/malformed JSON in the result object \(an entry between bytes/)
    expect(bad('{"jsonrpc":"2.0","result":{"a":1,,"b":2},"id":1}').message).toMatch(/an empty entry before ","/)
    expect(bad('{"jsonrpc":"2.0","result":{"a":1,},"id":1}').message).toMatch(/missing value before "}"/)
    expect(bad('{"jsonrpc":"2.0","result":[1,2},"id":1}').message).toMatch(/"}" closes the result array/)
    expect(bad('{"jsonrpc":"2.0","result":{"events":[1] 2,"x":1},"id":1}').message).toMatch(/data after the "events" array/)
    expect(bad('{"jsonrpc":"2.0","result":{"x":1} 3,"id":1}').message).toMatch(/data after the result value/)
    expect(bad('{"jsonrpc":"2.0" "result":1}').message).toMatch(/malformed JSON/)
    expect(bad('{"jsonrpc":"2.0","result":{"a":1},"id":1} trailing').message).toMatch(/data after the end of the response object/)
    expect(bad('{"jsonrpc":"2.0","id":tru}').message).toMatch(/malformed JSON in the "id" member/)
    expect(bad('{"jsonrpc":"2.0",{"a":1}}').message).toMatch(/where a member name was expected/)
    expect(bad('{"jsonrpc":"2.0","result":{"a":{"b":[1,2}]},"id":1}').message).toMatch(/malformed JSON/)
  })

  it('reports invalid UTF-8 as its own problem, also split across chunks', () => {
    const body = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","result":{"OpaqueRef:1":{"s":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}},"id":1}')])
    expect(bad(body).problem).toBe('utf8')
    expect(bad(body, oneByOne(body)).problem).toBe('utf8')
    const scalar = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","result":"'), Buffer.from([0xc3]), Buffer.from('","id":1}')])
    expect(bad(scalar).message).toMatch(/invalid UTF-8 in the "result" member/)
  })

  it('keeps bodies that are not an object (an HTML page, a bare value) whole, as parseJsonSafe does', () => {
    expect(feed(Buffer.from(' [1, 2]'), [1])).toEqual([1, 2])
    expect(feed(Buffer.from('"just a string"'), [])).toBe('just a string')
    expect(bad('<html><title>502 Bad Gateway</title></html>').message).toMatch(/malformed JSON/)
  })
})

describe('normalisation fused with the stream', () => {
  it('normalises each get_all_records record as it is parsed and hands members over one by one', () => {
    const text = '{"jsonrpc":"2.0","result":{"OpaqueRef:v1":{"memory_static_max":"2147483648","resident_on":"OpaqueRef:NULL","snapshot_time":"20250319T04:16:24Z","future":"kept"},"OpaqueRef:v2":{"memory_static_max":18446744073709551615,"resident_on":"OpaqueRef:h"}},"id":1}'
    const got: [string, unknown][] = []
    const sn = streamedNormalisation('VM.get_all_records', (k, v) => got.push([k, v]))
    if (!sn) throw new Error('no streamed normalisation for VM.get_all_records')
    const body = Buffer.from(text)
    const v = feed(body, oneByOne(body), sn.hooks) as { result: WireValue }
    expect(sn.finish(v.result)).toEqual({})
    expect(got).toEqual([
      ['OpaqueRef:v1', { memory_static_max: 2147483648, resident_on: null, snapshot_time: '2025-03-19T04:16:24Z', future: 'kept' }],
      ['OpaqueRef:v2', { memory_static_max: '18446744073709551615', resident_on: 'OpaqueRef:h' }],
    ])
  })

  it('normalises event snapshots by their class and the counts at the end', () => {
    const text = '{"jsonrpc":"2.0","result":{"events":[{"class":"vm","ref":"OpaqueRef:v","operation":"mod","snapshot":{"VCPUs_max":"4","affinity":"OpaqueRef:NULL"}},{"class":"host","ref":"OpaqueRef:h","operation":"del"}],"valid_ref_counts":{"vm":"12"},"token":"t1"},"id":1}'
    const sn = streamedNormalisation('event.from')
    if (!sn) throw new Error('no streamed normalisation for event.from')
    const v = feed(Buffer.from(text), [50, 51, 120], sn.hooks) as { result: WireValue }
    expect(sn.finish(v.result)).toEqual({
      events: [
        { class: 'vm', ref: 'OpaqueRef:v', operation: 'mod', snapshot: { VCPUs_max: 4, affinity: null } },
        { class: 'host', ref: 'OpaqueRef:h', operation: 'del' },
      ],
      valid_ref_counts: { vm: 12 },
      token: 't1',
    })
  })
})

describe('JsonRpcResponseParser: arrays of objects cut at "},{" without a byte scan', () => {
  /** an event whose snapshot holds "},{" where it is not a cut: inside strings and in a nested array of objects */
  const trap = (i: number): string =>
    JSON.stringify({
      id: String(i),
      class: 'vm',
      operation: 'mod',
      ref: `OpaqueRef:${i}`,
      snapshot: { uuid: `u-${i}`, name_label: 'ends with },{', name_description: '},{"x":1},{', other_config: { k: 'a},{b', j: '{"a":{},"b":[{},{}]}' }, nested: [{ a: 1 }, { b: [{ c: 2 }, { d: 3 }] }], memory_target: i },
    })
  const body = (n: number, item = trap): string => `{"jsonrpc":"2.0","result":{"events":[${Array.from({ length: n }, (_, i) => item(i)).join(',')}],"valid_ref_counts":{"vm":${n}},"token":"t,1"},"id":1}`

  it('gives the value of parsing the whole body for any split, candidates inside strings and nested arrays included', () => {
    const text = body(400)
    const buf = Buffer.from(text)
    const expected = JSON.parse(text) as WireValue
    const next = rng(17)
    let cuts = 0
    let rewinds = 0
    for (let k = 0; k < 40; k++) {
      const p = fed(buf, randomCuts(buf.length, next, 10 + Math.floor(next() * 400)))
      expect(p.end()).toEqual(expected)
      cuts += p.cutStats.cuts
      rewinds += p.cutStats.rewinds
    }
    // the fast path ran, and some of its cuts fell on a trap and were redone exactly
    expect(cuts).toBeGreaterThan(100)
    expect(rewinds).toBeGreaterThan(0)
  })

  it('cuts plain events without redoing any, across 16 kB chunks like a TLS stream', () => {
    const text = body(2000, (i) => JSON.stringify({ id: String(i), class: 'vm', operation: 'mod', ref: `OpaqueRef:${i}`, snapshot: { uuid: `u-${i}`, other_config: {}, tags: ['a'] } }))
    const p = fed(Buffer.from(text), every(text.length, 16384))
    expect(p.end()).toEqual(JSON.parse(text))
    expect(p.cutStats.cuts).toBeGreaterThan(0)
    expect(p.cutStats.rewinds).toBe(0)
  })

  it('keeps integers past 2^53 and NaN exact in cut groups (the group is redone by the exact scan)', () => {
    const parse = (bad: (i: number) => string): { v: { result: { events: { snapshot: { x: unknown } }[] } }; rewinds: number } => {
      const text = body(1000, (i) => `{"class":"vm","ref":"OpaqueRef:${i}","snapshot":{"a":[{"x":1},{"y":2}],"x":${bad(i)}}}`)
      const p = fed(Buffer.from(text), every(text.length, 4096))
      return { v: p.end() as { result: { events: { snapshot: { x: unknown } }[] } }, rewinds: p.cutStats.rewinds }
    }
    const big = parse((i) => (i === 700 ? '18446744073709551615' : String(i)))
    expect(big.v.result.events).toHaveLength(1000)
    expect(big.v.result.events[700]?.snapshot.x).toBe('18446744073709551615')
    expect(big.v.result.events[699]?.snapshot.x).toBe(699)
    expect(big.rewinds).toBe(1)
    const nan = parse((i) => (i === 300 ? 'NaN' : '1.5'))
    expect(nan.v.result.events[300]?.snapshot.x).toBe('NaN')
    expect(nan.v.result.events[301]?.snapshot.x).toBe(1.5)
    expect(nan.rewinds).toBe(1)
  })

  it('still names malformed and truncated bodies when the damage is in bytes no scan saw', () => {
    const good = body(300)
    const at = good.indexOf('"memory_target":150')
    const broken = Buffer.from(`${good.slice(0, at)}"memory_target":,${good.slice(at + '"memory_target":150'.length)}`)
    expect(() => feed(broken, every(broken.length, 8192))).toThrow(JsonParseError)
    for (const cut of [Math.floor(good.length / 3), good.length - 200, good.length - 2]) {
      const half = Buffer.from(good.slice(0, cut))
      expect(() => feed(half, every(half.length, 8192)), `cut at ${cut}`).toThrow(expect.objectContaining({ problem: 'truncated' }))
    }
  })
})

describe('JsonRpcResponseParser: get_all_records maps cut at "},\\"OpaqueRef:" without a byte scan', () => {
  const record = (i: number): Record<string, unknown> => ({
    uuid: `u-${i}`,
    name_label: `vm ${i} },"OpaqueRef:not-a-cut"`,
    other_config: { 'OpaqueRef:in-a-map': 'x' },
    // a nested ref-keyed map of objects: "},\"OpaqueRef:" at a deeper level (a cut there never verifies)
    nested: i % 7 === 0 ? { 'OpaqueRef:n1': { a: 1 }, 'OpaqueRef:n2': { b: [1, 2] } } : {},
    memory_target: i,
  })
  const mapBody = (n: number): string => `{"jsonrpc":"2.0","result":{${Array.from({ length: n }, (_, i) => `"OpaqueRef:${i}":${JSON.stringify(record(i))}`).join(',')}},"id":1}`

  it('gives the value of parsing the whole body for any split, and hands every member to the hook once', () => {
    const text = mapBody(300)
    const buf = Buffer.from(text)
    const expected = JSON.parse(text) as { result: Record<string, WireValue> }
    const next = rng(23)
    let cuts = 0
    let rewinds = 0
    for (let k = 0; k < 30; k++) {
      const seen: string[] = []
      const p = fed(buf, randomCuts(buf.length, next, 10 + Math.floor(next() * 300)), { member: (key, v) => (seen.push(key), v) })
      expect(p.end()).toEqual(expected)
      expect(seen).toEqual(Object.keys(expected.result))
      cuts += p.cutStats.cuts
      rewinds += p.cutStats.rewinds
    }
    expect(cuts).toBeGreaterThan(50)
    expect(rewinds).toBeGreaterThan(0)
  })

  it('cuts plain records without redoing any', () => {
    const text = `{"jsonrpc":"2.0","result":{${Array.from({ length: 3000 }, (_, i) => `"OpaqueRef:${i}":{"uuid":"u-${i}","other_config":{"a":"b"},"tags":[]}`).join(',')}},"id":1}`
    const p = fed(Buffer.from(text), every(text.length, 16384))
    expect(p.end()).toEqual(JSON.parse(text))
    expect(p.cutStats.cuts).toBeGreaterThan(0)
    expect(p.cutStats.rewinds).toBe(0)
  })

  it('never swallows an array member of the result into a cut group (the events array keeps its item hook)', () => {
    const events = Array.from({ length: 50 }, (_, i) => `{"class":"vm","ref":"OpaqueRef:${i}","snapshot":{"x":${i}}}`).join(',')
    const text = `{"jsonrpc":"2.0","result":{"events":[${events}],"valid_ref_counts":{"vm":50},"OpaqueRef:z":{"a":1},"token":"t"},"id":1}`
    let items = 0
    // the second chunk starts inside the result object and holds a candidate after the events array
    const p = fed(Buffer.from(text), [text.indexOf('"events"')], { item: (container, v) => (container === 'events' && items++, v) })
    expect(p.end()).toEqual(JSON.parse(text))
    expect(items).toBe(50)
    expect(p.cutStats).toEqual({ cuts: 1, rewinds: 1 })
  })
})
