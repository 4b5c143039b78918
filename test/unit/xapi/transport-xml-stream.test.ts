/**
 * XML-RPC over HTTPS with the result streamed (XapiTransport + XmlRpcResponseParser hooks): the
 * records of a get_all_records reach onResultMember while the body is still arriving, normalised
 * as the JSON-RPC path does; Failure envelopes are XapiError; a body cut off or dropped is an error
 * after some members were handed over, and the event loop then keeps its graph as it was (the
 * same for both protocols).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServerResponse } from 'node:http'
import { makeCert, startServer, type TestCert, type TestServer } from './tls-fixture'
import { HostTrust, PinStore, hostKey, pinFromPem } from '../../../main/xapi/trust'
import { XapiTransport, type CallOptions } from '../../../main/xapi/transport'
import { TransportError, XapiError } from '../../../main/xapi/errors'
import { normaliseResult } from '../../../main/xapi/normalise'
import type { WireValue } from '../../../main/xapi/wire'
import { parseXmlRpcResponse } from '../../../main/xapi/xmlrpc'
import { escapeXml } from '../../../main/xapi/xmlrpc-serialize'
import { EventLoop } from '../../../main/pools/eventloop'
import { ObjectGraph } from '../../../main/pools/graph'

let cert: TestCert
let server: TestServer
let trust: HostTrust
/** answers one request; `protocol` from the request path */
let reply: (method: string, protocol: 'xml' | 'json', id: number, res: ServerResponse) => void = () => undefined

beforeAll(async () => {
  cert = makeCert('xml-host')
  server = await startServer(cert, (req, body, res) => {
    if (req.url === '/jsonrpc') {
      const { method, id } = JSON.parse(body) as { method: string; id: number }
      return reply(method, 'json', id, res)
    }
    const method = /<methodName>([^<]*)<\/methodName>/.exec(body)?.[1] ?? ''
    reply(method, 'xml', 0, res)
  })
  const pins = new PinStore()
  await pins.set(hostKey(server.host, server.port), pinFromPem(cert.cert, 'user'))
  trust = new HostTrust(pins)
})
afterAll(async () => {
  trust.destroy()
  await server.close()
})

// ------------------------------------------------------------------------------------------------
// encoding answers both ways

function xmlValue(v: unknown): string {
  if (typeof v === 'string') return `<value>${escapeXml(v)}</value>`
  if (typeof v === 'number') return Number.isInteger(v) ? `<value><int>${v}</int></value>` : `<value><double>${v}</double></value>`
  if (typeof v === 'boolean') return `<value><boolean>${v ? 1 : 0}</boolean></value>`
  if (Array.isArray(v)) return `<value><array><data>${v.map(xmlValue).join('')}</data></array></value>`
  const o = v as Record<string, unknown>
  return `<value><struct>${Object.keys(o)
    .map((k) => `<member><name>${escapeXml(k)}</name>${xmlValue(o[k])}</member>`)
    .join('')}</struct></value>`
}
const xmlOk = (v: unknown): string => `<?xml version="1.0"?><methodResponse><params><param>${xmlValue({ Status: 'Success', Value: v })}</param></params></methodResponse>`
const xmlFail = (d: string[]): string => `<?xml version="1.0"?><methodResponse><params><param>${xmlValue({ Status: 'Failure', ErrorDescription: d })}</param></params></methodResponse>`
const jsonOk = (v: unknown, id: number): string => JSON.stringify({ jsonrpc: '2.0', result: v, id })

/** `v` as the wire carries it (the XML-RPC answer parsed whole, not normalised) */
function wireOf(v: unknown): WireValue {
  const envelope = parseXmlRpcResponse(xmlOk(v)) as { Value?: WireValue }
  return envelope.Value ?? ''
}

function body(protocol: 'xml' | 'json', v: unknown, id: number): Buffer {
  return Buffer.from(protocol === 'xml' ? xmlOk(v) : jsonOk(v, id))
}

/** writes `b` in pieces of `size` bytes, one per event-loop turn; `cut`: stop (and drop or end) there */
function dribble(res: ServerResponse, protocol: 'xml' | 'json', b: Buffer, size: number, opts: { cut?: number; drop?: boolean; done?: () => void } = {}): void {
  const stop = opts.cut ?? b.length
  res.writeHead(200, { 'content-type': protocol === 'xml' ? 'text/xml' : 'application/json', ...(opts.drop ? { 'content-length': String(b.length) } : {}) })
  let o = 0
  const step = (): void => {
    if (o >= stop) {
      opts.done?.()
      if (opts.drop) setTimeout(() => res.socket?.destroy(), 10)
      else res.end()
      return
    }
    res.write(b.subarray(o, Math.min(stop, o + size)))
    o += size
    setImmediate(step)
  }
  step()
}

function vmRecord(i: number): Record<string, unknown> {
  return {
    uuid: `uuid-${i}`,
    name_label: `vm-${i} <«é»> & 中文`,
    memory_static_max: '4294967296',
    VCPUs_max: String(1 + (i % 8)),
    resident_on: i % 2 ? 'OpaqueRef:host' : 'OpaqueRef:NULL',
    snapshot_time: '20250101T00:00:00Z',
    is_a_template: false,
    VCPUs_utilisation: { '0': '0.5' },
    other_config: { note: '"quoted", {braces}' },
    allowed_operations: ['start', 'clone'],
  }
}
function vmMap(n: number): Record<string, unknown> {
  const m: Record<string, unknown> = {}
  for (let i = 0; i < n; i++) m[`OpaqueRef:vm-${i}`] = vmRecord(i)
  return m
}

function transport(mode: 'xml-rpc' | 'json-rpc'): XapiTransport {
  return new XapiTransport({ host: server.host, port: server.port, trust, mode })
}

// ------------------------------------------------------------------------------------------------

describe('XML-RPC over HTTPS, result streamed as it arrives', () => {
  it('hands get_all_records members over while the body is still arriving, normalised as JSON-RPC does', async () => {
    const records = vmMap(2000)
    const got: Record<'xml' | 'json', [string, unknown][]> = { xml: [], json: [] }
    for (const protocol of ['xml', 'json'] as const) {
      let serverDone = false
      let before = 0
      reply = (_m, p, id, res) => dribble(res, p, body(p, records, id), 8192, { done: () => (serverDone = true) })
      const t = transport(protocol === 'xml' ? 'xml-rpc' : 'json-rpc')
      const seen = got[protocol]
      const result = await t.call('VM.get_all_records', ['s'], {
        onResultMember: (k, v) => {
          if (!serverDone) before++
          seen.push([k, v])
        },
      })
      expect(result, protocol).toEqual({})
      expect(seen, protocol).toHaveLength(2000)
      expect(before, `${protocol}: members handed over before the last byte was sent`).toBeGreaterThan(0)
    }
    // the same normalised records from both protocols, and the same as normalising the whole map
    expect(got.json.map(([k]) => k)).toEqual(got.xml.map(([k]) => k))
    reply = (_m, p, id, res) => res.writeHead(200, { 'content-type': p === 'xml' ? 'text/xml' : 'application/json' }).end(body(p, records, id))
    const want = Object.entries(normaliseResult('VM.get_all_records', wireOf(records)) as Record<string, unknown>)
    expect(got.xml).toEqual(want)
    expect(got.json).toEqual(want)
    const first = want[1]?.[1] as Record<string, unknown>
    expect(first).toMatchObject({ memory_static_max: 4294967296, VCPUs_max: 2, resident_on: 'OpaqueRef:host', snapshot_time: '2025-01-01T00:00:00Z', name_label: 'vm-1 <«é»> & 中文' })
    expect((want[0]?.[1] as { resident_on: unknown }).resident_on).toBeNull()
    // without a callback: the whole map, normalised, as before
    expect(await transport('xml-rpc').call('VM.get_all_records', ['s'])).toEqual(Object.fromEntries(want))
  })

  it('streams event.from: the batch equals the normalised whole answer', async () => {
    const events = Array.from({ length: 1500 }, (_, i) => ({ id: String(i), timestamp: '1.0', class: 'vm', operation: i % 10 ? 'mod' : 'add', ref: `OpaqueRef:vm-${i}`, snapshot: vmRecord(i) }))
    const batch = { events, valid_ref_counts: { vm: '1500', host: 2 }, token: 'tok-1' }
    reply = (_m, p, id, res) => dribble(res, p, body(p, batch, id), 16_384)
    const want = normaliseResult('event.from', wireOf(batch))
    const xml = await transport('xml-rpc').call('event.from', ['s', ['*'], '', 1])
    const json = await transport('json-rpc').call('event.from', ['s', ['*'], '', 1])
    expect(xml).toEqual(want)
    expect(json).toEqual(want)
    expect((xml as { valid_ref_counts: unknown }).valid_ref_counts).toEqual({ vm: 1500, host: 2 })
    expect((xml as { events: { snapshot: { memory_static_max: unknown } }[] }).events[3]?.snapshot.memory_static_max).toBe(4294967296)
  })

  it('turns a Failure envelope into XapiError with nothing handed over', async () => {
    reply = (_m, _p, _id, res) => res.writeHead(200, { 'content-type': 'text/xml' }).end(xmlFail(['SESSION_INVALID', 'OpaqueRef:s']))
    let n = 0
    const e = await transport('xml-rpc')
      .call('VM.get_all_records', ['s'], { onResultMember: () => n++ })
      .catch((x: unknown) => x)
    expect(e).toBeInstanceOf(XapiError)
    expect((e as XapiError).code).toBe('SESSION_INVALID')
    expect(n).toBe(0)
    reply = (_m, _p, _id, res) => res.writeHead(200, { 'content-type': 'text/xml' }).end(xmlFail(['EVENTS_LOST']))
    const e2 = await transport('xml-rpc')
      .call('event.from', ['s', ['*'], 't', 1])
      .catch((x: unknown) => x)
    expect((e2 as XapiError).code).toBe('EVENTS_LOST')
    // an unknown Status after streamed members: still an error
    reply = (_m, _p, _id, res) =>
      res.writeHead(200, { 'content-type': 'text/xml' }).end(`<?xml version="1.0"?><methodResponse><params><param>${xmlValue({ Value: vmMap(3), Status: 'Maybe' })}</param></params></methodResponse>`)
    const e3 = await transport('xml-rpc')
      .call('VM.get_all_records', ['s'], { onResultMember: () => n++ })
      .catch((x: unknown) => x)
    expect((e3 as TransportError).kind).toBe('bad-response')
    expect((e3 as TransportError).message).toMatch(/unknown Status "Maybe"/)
  })

  it('fails a body cut off or dropped mid-stream after some members were handed over; the next call works', async () => {
    const b = body('xml', vmMap(1000), 0)
    for (const drop of [false, true]) {
      let n = 0
      reply = (_m, p, _id, res) => dribble(res, p, b, 4096, { cut: b.length >> 1, drop })
      const e = await transport('xml-rpc')
        .call('VM.get_all_records', ['s'], { onResultMember: () => n++ })
        .catch((x: unknown) => x)
      expect(e).toBeInstanceOf(TransportError)
      expect((e as TransportError).kind).toBe(drop ? 'network' : 'bad-response')
      expect((e as TransportError).message).toMatch(drop ? /dropped in the middle of the VM\.get_all_records response/ : /malformed VM\.get_all_records response: XML-RPC response is truncated/)
      expect(n).toBeGreaterThan(0)
      expect(n).toBeLessThan(1000)
    }
    reply = (_m, _p, _id, res) => res.writeHead(200, { 'content-type': 'text/xml' }).end(xmlOk('pong'))
    expect(await transport('xml-rpc').call('system.ping', [])).toBe('pong')
  })
})

describe('the event loop on a streamed initial sync that fails halfway (both protocols alike)', () => {
  for (const protocol of ['xml', 'json'] as const) {
    for (const how of ['cut', 'drop', 'failure'] as const) {
      it(`${protocol}-rpc, ${how}: the graph keeps what it had and no diff is emitted; a later sync is complete`, async () => {
        const t = transport(protocol === 'xml' ? 'xml-rpc' : 'json-rpc')
        const client = { sessionId: 's', call: (m: string, p: readonly unknown[] = [], co?: CallOptions) => t.call(m, ['s', ...p], co) }
        let broken = true
        reply = (method, p, id, res) => {
          const send = (v: unknown): void => void res.writeHead(200, { 'content-type': p === 'xml' ? 'text/xml' : 'application/json' }).end(body(p, v, id))
          if (method === 'pool.get_all') return send(['OpaqueRef:pool'])
          if (method === 'event.inject') return send('tok-9')
          if (method !== 'VM.get_all_records') return send({})
          const b = body(p, vmMap(800), id)
          if (!broken) return dribble(res, p, b, 8192)
          if (how === 'failure') {
            const f = p === 'xml' ? xmlFail(['HOST_IS_SLAVE', '10.0.0.2']) : JSON.stringify({ jsonrpc: '2.0', error: { code: 1, message: 'HOST_IS_SLAVE', data: ['10.0.0.2'] }, id })
            return void res.writeHead(200, { 'content-type': p === 'xml' ? 'text/xml' : 'application/json' }).end(f)
          }
          dribble(res, p, b, 4096, { cut: Math.floor(b.length * 0.6), drop: how === 'drop' })
        }
        const graph = new ObjectGraph()
        graph.upsert('VM', 'OpaqueRef:old', { uuid: 'old', name_label: 'from the cache' })
        const diffs: unknown[] = []
        const loop = new EventLoop({ client, graph, emit: (d) => diffs.push(d) })
        const e = await loop.fullSync().catch((x: unknown) => x)
        expect(e).toBeInstanceOf(how === 'failure' ? XapiError : TransportError)
        expect(graph.count('VM')).toBe(1)
        expect(graph.get('VM', 'OpaqueRef:old')?.name_label).toBe('from the cache')
        expect(diffs).toEqual([])
        expect(loop.token).toBeUndefined()
        broken = false
        await loop.fullSync()
        loop.stop()
        expect(graph.count('VM')).toBe(800)
        expect(graph.get('VM', 'OpaqueRef:old')).toBeUndefined()
        expect(graph.get('VM', 'OpaqueRef:vm-5')?.memory_static_max).toBe(4294967296)
        expect(loop.token).toBe('tok-9')
        expect(diffs).toHaveLength(1)
      })
    }
  }
})
