/**
 * Streaming of the XAPI result by the XML-RPC parser (XmlRpcResponseParser with hooks), as
 * JsonRpcResponseParser streams JSON-RPC's `result`: each member of a struct Value
 * (get_all_records) and each element of an array Value / of an array member of a struct Value
 * (event.from's events) handed over as soon as it is complete. Checked on simulator answers in
 * random chunk splits against the same answers parsed whole, with and without the type-directed
 * normalisation the transport fuses with it; Failure envelopes and faults get no hooks; a body cut
 * anywhere is an error and what was handed over before is whole records only.
 */
import { describe, expect, it } from 'vitest'
import { XmlRpcParseError, XmlRpcResponseParser, parseXmlRpcResponse } from '../../../main/xapi/xmlrpc'
import { normaliseResult, streamedNormalisation } from '../../../main/xapi/normalise'
import type { JsonStreamHooks } from '../../../main/xapi/json-stream'
import type { WireValue } from '../../../main/xapi/wire'
import { simXmlRpcResponses } from './sim-xmlrpc-responses'
import { rng } from './rng'

function split(text: string, r: () => number, max: number): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(r() * max)
    out.push(text.slice(i, i + n))
    i += n
  }
  return out
}

type Struct = { [k: string]: WireValue }
const isStruct = (v: unknown): v is Struct => typeof v === 'object' && v !== null && !Array.isArray(v)

/** what the hooks saw, in order */
interface Seen {
  members: [string, WireValue][]
  items: [string, WireValue][]
}

function recordingHooks(seen: Seen, keep: boolean): JsonStreamHooks {
  return {
    member: (k, v) => {
      seen.members.push([k, v])
      return keep ? v : undefined
    },
    item: (c, v) => {
      seen.items.push([c, v])
      return v
    },
  }
}

function parseStreamed(chunks: readonly string[], hooks: JsonStreamHooks): WireValue {
  const p = new XmlRpcResponseParser(hooks)
  for (const c of chunks) p.write(c)
  return p.end()
}

/** the simulator answers these tests stream: event.from first, records, sets, a failure */
async function simResponses(): Promise<{ method: string; xml: string }[]> {
  const streamed = new Set(['event.from', 'VM.get_all_records', 'host.get_all_records', 'network.get_all_records', 'VM.get_all', 'VM.get_record'])
  return (await simXmlRpcResponses()).filter((x) => streamed.has(x.method))
}

describe('XML-RPC parser streaming the XAPI result', () => {
  it('hands over the same members and items as the whole parse, in random chunk splits', async () => {
    const r = rng(11)
    const responses = await simResponses()
    expect(responses.filter((x) => x.xml.includes('<name>Status</name><value>Success</value>'))).toHaveLength(7)
    for (const { method, xml } of responses) {
      const whole = parseXmlRpcResponse(xml) as Struct
      const value = whole.Value
      for (const max of [0, 1, 7, 300, 70_000]) {
        const chunks = max === 0 ? [xml] : split(xml, r, max)
        const what = `${method} in ${chunks.length} chunks`
        for (const keep of [false, true]) {
          const seen: Seen = { members: [], items: [] }
          const env = parseStreamed(chunks, recordingHooks(seen, keep)) as Struct
          expect(Object.keys(env), what).toEqual(Object.keys(whole))
          expect(env.Status, what).toBe(whole.Status)
          if (whole.Status !== 'Success') {
            // a Failure: nothing streamed, the envelope as usual
            expect(seen.members.length + seen.items.length, what).toBe(0)
            expect(env, what).toEqual(whole)
            continue
          }
          if (Array.isArray(value)) {
            expect(seen.members, what).toEqual([])
            expect(seen.items, what).toEqual(value.map((v) => ['', v]))
            expect(env.Value, what).toEqual(value)
          } else if (isStruct(value)) {
            // array members are split item by item and kept; every other member streamed
            const arrays = Object.entries(value).filter(([, v]) => Array.isArray(v))
            expect(seen.members, what).toEqual(Object.entries(value).filter(([, v]) => !Array.isArray(v)))
            expect(seen.items, what).toEqual(arrays.flatMap(([k, v]) => (v as WireValue[]).map((x) => [k, x])))
            expect(env.Value, what).toEqual(keep ? value : Object.fromEntries(arrays))
          } else {
            expect(seen.members.length + seen.items.length, what).toBe(0)
            expect(env.Value, what).toEqual(value)
          }
        }
      }
    }
  })

  it('with the transport normalisation: streamed members equal the normalised whole result', async () => {
    const r = rng(5)
    for (const { method, xml } of await simResponses()) {
      const whole = parseXmlRpcResponse(xml) as Struct
      if (whole.Status !== 'Success') continue
      const want = normaliseResult(method, whole.Value ?? '')
      for (const max of [0, 3, 500]) {
        const chunks = max === 0 ? [xml] : split(xml, r, max)
        const what = `${method} in ${chunks.length} chunks`
        // members handed to an entry callback (get_all_records as the event loop calls it)
        const entries: [string, unknown][] = []
        const sn = streamedNormalisation(method, (k, v) => entries.push([k, v]))
        if (!sn) {
          expect(normaliseResult(method, (parseStreamed(chunks, {}) as Struct).Value ?? ''), what).toEqual(want)
          continue
        }
        const got = sn.finish((parseStreamed(chunks, sn.hooks) as Struct).Value ?? '')
        if (method.endsWith('.get_all_records')) {
          expect(entries, what).toEqual(Object.entries(want as Struct))
          expect(got, what).toEqual({})
        } else expect(got, what).toEqual(want)
        // without a callback: the whole result, normalised while parsed
        const plain = streamedNormalisation(method)
        const got2 = plain ? plain.finish((parseStreamed(chunks, plain.hooks) as Struct).Value ?? '') : normaliseResult(method, whole.Value ?? '')
        expect(got2, what).toEqual(want)
      }
    }
  })

  it('gives no hooks to a fault, a Failure, or a struct that is not the envelope Value', () => {
    const seen: Seen = { members: [], items: [] }
    const hooks = recordingHooks(seen, false)
    const fault = '<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>'
    const p = new XmlRpcResponseParser(hooks)
    p.write(fault)
    expect(p.end()).toEqual({ faultCode: 1, faultString: 'x' })
    expect(p.isFault).toBe(true)
    const failure = '<methodResponse><params><param><value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name><value><array><data><value>SESSION_INVALID</value><value>OpaqueRef:s</value></data></array></value></member></struct></value></param></params></methodResponse>'
    expect(parseStreamed([failure], hooks)).toEqual({ Status: 'Failure', ErrorDescription: ['SESSION_INVALID', 'OpaqueRef:s'] })
    // a member named Value deeper down, or a plain struct answer, is not the result
    const nested = '<methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value><struct><member><name>r</name><value><struct><member><name>Value</name><value><struct><member><name>x</name><value>1</value></member></struct></value></member></struct></value></member></struct></value></member></struct></value></param></params></methodResponse>'
    expect(parseStreamed([nested], hooks)).toEqual({ Status: 'Success', Value: {} })
    expect(seen.members).toEqual([['r', { Value: { x: '1' } }]])
    seen.members.length = 0
    expect(parseStreamed(['<methodResponse><params><param><value><struct><member><name>Value</name><value>v</value></member></struct></value></param></params></methodResponse>'], hooks)).toEqual({ Value: 'v' })
    expect(seen.members.length + seen.items.length).toBe(0)
  })

  it('a body cut anywhere is an XmlRpcParseError; what was handed over before is complete records, in order', async () => {
    const xml = (await simResponses()).find((x) => x.method === 'VM.get_all_records')?.xml ?? ''
    const all = Object.entries((parseXmlRpcResponse(xml) as Struct).Value as Struct)
    expect(all.length).toBeGreaterThan(3)
    const r = rng(9)
    let partial = 0
    for (let cut = 0; cut < xml.length; cut += 1 + Math.floor(r() * 97)) {
      const got: [string, WireValue][] = []
      const p = new XmlRpcResponseParser({ member: (k, v) => void got.push([k, v]) })
      let err: unknown
      try {
        for (const c of split(xml.slice(0, cut), r, 200)) p.write(c)
        p.end()
      } catch (e) {
        err = e
      }
      expect(err, `cut at ${cut}`).toBeInstanceOf(XmlRpcParseError)
      expect(got, `cut at ${cut}`).toEqual(all.slice(0, got.length))
      if (got.length > 0 && got.length < all.length) partial++
    }
    // the cuts did land in the middle of the stream
    expect(partial).toBeGreaterThan(10)
  })

  it('streams event.from: each event handed over (container "events") as it completes, token and counts kept', async () => {
    const xml = (await simResponses())[0]?.xml ?? ''
    const whole = (parseXmlRpcResponse(xml) as Struct).Value as Struct
    const events = whole.events as WireValue[]
    expect(events.length).toBeGreaterThan(20)
    const order: string[] = []
    const p = new XmlRpcResponseParser({
      item: (c, v) => {
        order.push(c)
        return v
      },
    })
    // the first events are handed over before the body is complete
    const half = xml.length >> 1
    p.write(xml.slice(0, half))
    const early = order.length
    expect(early).toBeGreaterThan(0)
    expect(early).toBeLessThan(events.length)
    p.write(xml.slice(half))
    const got = (p.end() as Struct).Value as Struct
    expect(order).toEqual(events.map(() => 'events'))
    expect(got).toEqual(whole)
  })
})
