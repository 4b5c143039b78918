import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServerResponse } from 'node:http'
import { makeCert, startServer, type TestCert, type TestServer } from './tls-fixture'
import { HostTrust, PinStore, hostKey, pinFromPem } from '../../../main/xapi/trust'
import { XapiTransport } from '../../../main/xapi/transport'
import { TransportError, XapiError } from '../../../main/xapi/errors'

let cert: TestCert
let server: TestServer
let trust: HostTrust
let reply: (method: string, id: number, res: ServerResponse) => void = () => undefined

beforeAll(async () => {
  cert = makeCert('json-host')
  server = await startServer(cert, (_req, body, res) => {
    const { method, id } = JSON.parse(body) as { method: string; id: number }
    reply(method, id, res)
  })
  const pins = new PinStore()
  await pins.set(hostKey(server.host, server.port), pinFromPem(cert.cert, 'user'))
  trust = new HostTrust(pins)
})
afterAll(async () => {
  trust.destroy()
  await server.close()
})

/** writes `body` in pieces of `size` bytes, one per timer tick (many small socket reads) */
function dribble(res: ServerResponse, body: Buffer, size: number, then?: () => void): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) })
  let o = 0
  const step = (): void => {
    if (o >= body.length) {
      if (then) then()
      else res.end()
      return
    }
    res.write(body.subarray(o, o + size))
    o += size
    setImmediate(step)
  }
  step()
}

function vmRecord(i: number): Record<string, unknown> {
  return { uuid: `uuid-${i}`, name_label: `vm-${i} «é»`, memory_static_max: '4294967296', resident_on: i % 2 ? 'OpaqueRef:host' : 'OpaqueRef:NULL', snapshot_time: '20250101T00:00:00Z', VCPUs_utilisation: { '0': 'NaN' }, other_config: { note: '"quoted", {braces}' } }
}

describe('JSON-RPC over HTTPS, parsed as it arrives', () => {
  it('streams a large get_all_records: records normalised and handed over one by one', async () => {
    const records: Record<string, unknown> = {}
    for (let i = 0; i < 3000; i++) records[`OpaqueRef:vm-${i}`] = vmRecord(i)
    reply = (_m, id, res) => dribble(res, Buffer.from(`{"jsonrpc":"2.0","result":${JSON.stringify(records)},"id":${id}}`), 7777)
    const t = new XapiTransport({ host: server.host, port: server.port, trust, mode: 'json-rpc' })
    const seen = new Map<string, unknown>()
    const empty = await t.call('VM.get_all_records', ['s'], { onResultMember: (k, v) => seen.set(k, v) })
    expect(empty).toEqual({})
    expect(seen.size).toBe(3000)
    expect(seen.get('OpaqueRef:vm-7')).toEqual({ uuid: 'uuid-7', name_label: 'vm-7 «é»', memory_static_max: 4294967296, resident_on: 'OpaqueRef:host', snapshot_time: '2025-01-01T00:00:00Z', VCPUs_utilisation: { '0': 'NaN' }, other_config: { note: '"quoted", {braces}' } })
    expect((seen.get('OpaqueRef:vm-8') as { resident_on: unknown }).resident_on).toBeNull()

    // without a member callback: the whole map, normalised (the wire has memory_static_max as a string)
    const all = (await t.call('VM.get_all_records', ['s'])) as Record<string, { memory_static_max: unknown }>
    expect(Object.keys(all)).toHaveLength(3000)
    expect(all['OpaqueRef:vm-1']?.memory_static_max).toBe(4294967296)
    expect(all['OpaqueRef:vm-7']).toEqual(seen.get('OpaqueRef:vm-7'))
  })

  it('turns XAPI failures (v2 error objects, v1 error arrays) into XapiError', async () => {
    const t = new XapiTransport({ host: server.host, port: server.port, trust, mode: 'json-rpc' })
    reply = (_m, id, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"jsonrpc":"2.0","error":{"code":1,"message":"VM_BAD_POWER_STATE","data":["OpaqueRef:v","halted","running"]},"id":${id}}`)
    const e = await t.call('VM.start', ['s', 'OpaqueRef:v', false, false]).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(XapiError)
    expect((e as XapiError).code).toBe('VM_BAD_POWER_STATE')
    expect((e as XapiError).params).toEqual(['OpaqueRef:v', 'halted', 'running'])
    reply = (_m, id, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"result":null,"error":["SESSION_INVALID","OpaqueRef:s"],"id":${id}}`)
    const e1 = await t.call('pool.get_all', ['s']).catch((x: unknown) => x)
    expect((e1 as XapiError).code).toBe('SESSION_INVALID')
  })

  it('names truncated, malformed and non-UTF-8 bodies, and treats HTML on /jsonrpc as "no JSON-RPC"', async () => {
    const t = new XapiTransport({ host: server.host, port: server.port, trust, mode: 'json-rpc' })
    const expectKind = async (kind: string, re: RegExp) => {
      const e = await t.call('VM.get_all_records', ['s']).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(TransportError)
      expect((e as TransportError).kind).toBe(kind)
      expect((e as TransportError).message).toMatch(re)
    }
    const full = Buffer.from(`{"jsonrpc":"2.0","result":{"OpaqueRef:a":${JSON.stringify(vmRecord(1))},"OpaqueRef:b":${JSON.stringify(vmRecord(2))}},"id":1}`)
    reply = (_m, _id, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(full.subarray(0, 150))
    await expectKind('bad-response', /malformed VM\.get_all_records response: truncated JSON: the body ends after 150 bytes/)
    reply = (_m, _id, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","result":{"OpaqueRef:a":{"x":1,}},"id":1}')
    await expectKind('bad-response', /malformed VM\.get_all_records response: malformed JSON in the result object/)
    reply = (_m, _id, res) => dribble(res, Buffer.concat([full.subarray(0, 100), Buffer.from([0xe2, 0x28, 0xa1]), full.subarray(100)]), 1)
    await expectKind('bad-response', /invalid UTF-8 in the VM\.get_all_records response/)
    reply = (_m, _id, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>login</body></html>')
    await expectKind('unsupported', /does not offer JSON-RPC/)
    reply = (_m, _id, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html><head><title>502 Bad Gateway</title></head></html>')
    await expectKind('http-status', /HTTP 502.*502 Bad Gateway/)
  })

  it('fails a response dropped halfway with a network error, and a later call still works', async () => {
    const t = new XapiTransport({ host: server.host, port: server.port, trust, mode: 'json-rpc' })
    const body = Buffer.from(`{"jsonrpc":"2.0","result":{${Array.from({ length: 500 }, (_, i) => `"OpaqueRef:${i}":${JSON.stringify(vmRecord(i))}`).join(',')}},"id":1}`)
    reply = (_m, _id, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) })
      res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.socket?.destroy(), 10))
    }
    const e = await t.call('VM.get_all_records', ['s'], { onResultMember: () => undefined }).catch((x: unknown) => x)
    expect((e as TransportError).kind).toBe('network')
    reply = (_m, id, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"jsonrpc":"2.0","result":"pong","id":${id}}`)
    expect(await t.call('system.ping', [])).toBe('pong')
  })
})

describe('large XML-RPC answers (streamed too)', () => {
  it('normalises a big event batch and hands get_all_records members over one by one', async () => {
    const v = (s: string) => `<value>${s}</value>`
    const member = (n: string, val: string) => `<member><name>${n}</name>${val}</member>`
    const struct = (...ms: string[]) => `<value><struct>${ms.join('')}</struct></value>`
    const ok = (val: string) => `<?xml version="1.0"?><methodResponse><params><param>${struct(member('Status', v('Success')), member('Value', val))}</param></params></methodResponse>`
    const snapshot = (i: number) => struct(member('uuid', v(`u-${i}`)), member('VCPUs_max', v('4')), member('affinity', v('OpaqueRef:NULL')))
    const events = Array.from({ length: 1500 }, (_, i) => struct(member('class', v('vm')), member('operation', v('mod')), member('ref', v(`OpaqueRef:${i}`)), member('snapshot', snapshot(i)))).join('')
    reply = () => undefined
    const xmlServer = await startServer(cert, (_req, body, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' })
      if (body.includes('event.from')) return res.end(ok(struct(member('events', `<value><array><data>${events}</data></array></value>`), member('valid_ref_counts', struct(member('vm', v('1500')))), member('token', v('t')))))
      res.end(ok(struct(...Array.from({ length: 1500 }, (_, i) => member(`OpaqueRef:${i}`, snapshot(i))))))
    })
    const pins = new PinStore()
    await pins.set(hostKey(xmlServer.host, xmlServer.port), pinFromPem(cert.cert, 'user'))
    const xmlTrust = new HostTrust(pins)
    try {
      const t = new XapiTransport({ host: xmlServer.host, port: xmlServer.port, trust: xmlTrust, mode: 'xml-rpc' })
      const batch = (await t.call('event.from', ['s', ['*'], '', 1])) as { events: { snapshot: { VCPUs_max: unknown; affinity: unknown } }[]; valid_ref_counts: { vm: unknown } }
      expect(batch.events).toHaveLength(1500)
      expect(batch.events[1499]?.snapshot).toEqual({ uuid: 'u-1499', VCPUs_max: 4, affinity: null })
      expect(batch.valid_ref_counts.vm).toBe(1500)
      const seen = new Map<string, unknown>()
      expect(await t.call('VM.get_all_records', ['s'], { onResultMember: (k, r) => seen.set(k, r) })).toEqual({})
      expect(seen.size).toBe(1500)
      expect(seen.get('OpaqueRef:7')).toEqual({ uuid: 'u-7', VCPUs_max: 4, affinity: null })
    } finally {
      xmlTrust.destroy()
      await xmlServer.close()
    }
  })
})
