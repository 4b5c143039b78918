/**
 * Issue 12 item 4: what one answer may make the parser hold is bounded in bytes of body since the
 * last complete record it handed on (maxEntryBytes): one huge value is refused as it arrives —
 * long before the body ends — while a large answer of many normal records goes through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServerResponse } from 'node:http'
import { makeCert, startServer, type TestCert } from './tls-fixture'
import { HostTrust, PinStore, hostKey, pinFromPem } from '../../../main/xapi/trust'
import { XapiTransport } from '../../../main/xapi/transport'
import { TransportError } from '../../../main/xapi/errors'

const MiB = 1024 * 1024
let cert: TestCert
beforeAll(() => {
  cert = makeCert('entry-bound')
})
afterAll(() => undefined)

/** writes `parts` one after the other as the socket takes them; resolves with the bytes it got out */
function stream(res: ServerResponse, parts: () => Generator<string>): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0
    const it = parts()
    const pump = (): void => {
      for (let r = it.next(); !r.done; r = it.next()) {
        sent += r.value.length
        if (!res.write(r.value)) return void res.once('drain', pump)
      }
      res.end()
    }
    res.on('close', () => resolve(sent))
    pump()
  })
}

describe('the bound on one value of an answer', () => {
  for (const mode of ['json-rpc', 'xml-rpc'] as const) {
    it(`${mode}: a 200 MiB string is refused after at most the bound and a chunk, naming the call and the limit`, async () => {
      let sentBytes: Promise<number> | undefined
      const server = await startServer(cert, (_req, _body, res) => {
        res.writeHead(200, { 'content-type': mode === 'json-rpc' ? 'application/json' : 'text/xml' })
        const head = mode === 'json-rpc' ? '{"jsonrpc":"2.0","id":1,"result":"' : '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value>'
        const tail = mode === 'json-rpc' ? '"}' : '</value></member></struct></value></param></params></methodResponse>'
        const chunk = 'x'.repeat(MiB)
        sentBytes = stream(res, function* () {
          yield head
          for (let i = 0; i < 200; i++) yield chunk
          yield tail
        })
      })
      const pins = new PinStore()
      await pins.set(hostKey(server.host, server.port), pinFromPem(cert.cert, 'user'))
      const trust = new HostTrust(pins)
      try {
        const t = new XapiTransport({ host: server.host, port: server.port, trust, mode, maxEntryBytes: 8 * MiB })
        const e = await t.call('VM.get_name_label', ['s', 'OpaqueRef:v']).catch((x: unknown) => x)
        expect(e).toBeInstanceOf(TransportError)
        expect((e as TransportError).kind).toBe('too-large')
        expect((e as TransportError).message).toMatch(/more than 8 MiB in one value of its VM\.get_name_label answer/)
        // refused as it arrived: the server could not hand over much more than the bound (socket buffers)
        expect(await sentBytes).toBeLessThan(64 * MiB)
      } finally {
        trust.destroy()
        await server.close()
      }
    })
  }

  it('a 24 MiB get_all_records of 6,000 ordinary records goes through an 8 MiB bound', async () => {
    const record = (i: number) => `"OpaqueRef:${i}":{"uuid":"u${i}","name_label":"vm ${i}","name_description":"${'d'.repeat(4000)}","power_state":"Halted"}`
    const server = await startServer(cert, (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      void stream(res, function* () {
        yield '{"jsonrpc":"2.0","id":1,"result":{'
        for (let i = 0; i < 6000; i++) yield (i ? ',' : '') + record(i)
        yield '}}'
      })
    })
    const pins = new PinStore()
    await pins.set(hostKey(server.host, server.port), pinFromPem(cert.cert, 'user'))
    const trust = new HostTrust(pins)
    try {
      const t = new XapiTransport({ host: server.host, port: server.port, trust, mode: 'json-rpc', maxEntryBytes: 8 * MiB })
      const r = (await t.call('VM.get_all_records', ['s'])) as Record<string, { name_label: string }>
      expect(Object.keys(r)).toHaveLength(6000)
      expect(r['OpaqueRef:5999']?.name_label).toBe('vm 5999')
    } finally {
      trust.destroy()
      await server.close()
    }
  })
})
