/**
 * Issue 12 item 5 (headers): a server that sends its HTTP status line and headers slowly is held to
 * the slow-answer rule (StallRule) as soon as its first byte arrives, not only to the call timeout
 * (which bounds the wait for that first byte). A real TLS server on loopback writes the headers one
 * byte at a time and never finishes them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import { makeCert, type TestCert } from './tls-fixture'
import { HostTrust, PinStore, hostKey, pinFromPem } from '../../../main/xapi/trust'
import { XapiTransport, type CallProgress } from '../../../main/xapi/transport'
import { TransportError } from '../../../main/xapi/errors'

let cert: TestCert
beforeAll(() => {
  cert = makeCert('slow-headers')
})

interface SlowServer {
  port: number
  close(): Promise<void>
}

/** answers every request with a status line, then one header byte every `everyMs`, forever */
async function slowHeaderServer(everyMs: number): Promise<SlowServer> {
  const timers = new Set<NodeJS.Timeout>()
  const srv = tls.createServer({ key: cert.key, cert: cert.cert }, (s) => {
    s.on('error', () => undefined)
    s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\nx-slow: ')
      const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write('a')), everyMs)
      timers.add(t)
      s.on('close', () => clearInterval(t))
    })
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  return {
    port: (srv.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearInterval(t)
        srv.close(() => r())
      }),
  }
}

const servers: SlowServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

describe('a server that sends its headers slowly', () => {
  it('is abandoned by the slow-answer rule, long before the call timeout, with a sentence saying the headers never completed', async () => {
    const server = await slowHeaderServer(100)
    servers.push(server)
    const pins = new PinStore()
    await pins.set(hostKey('127.0.0.1', server.port), pinFromPem(cert.cert, 'user'))
    const trust = new HostTrust(pins)
    const seen: CallProgress[] = []
    try {
      // the call timeout (30 s) would end it much later: the rule (1 KiB in 1 s) must end it first
      const t = new XapiTransport({ host: '127.0.0.1', port: server.port, trust, mode: 'xml-rpc', timeoutMs: 30_000, stall: { minBytes: 1024, windowMs: 1000 }, onProgress: (p) => seen.push(p) })
      const started = Date.now()
      const err = await t.call('pool.get_all_records', []).catch((e: unknown) => e)
      const took = Date.now() - started
      expect(err).toBeInstanceOf(TransportError)
      const te = err as TransportError
      expect(te.kind).toBe('stalled')
      expect(te.message).toMatch(/^127\.0\.0\.1:\d+ sent only \d+ bytes of its answer to pool\.get_all_records in the last \d+ s \(\d+ bytes in all, its headers not even complete\); XenPilot gives up on an answer that moves less than 1 KiB in 1 s\.$/)
      // the rule's window is 1 s; the timeout is 30 s. Generous for a loaded machine, far below the timeout.
      expect(took).toBeLessThan(20_000)
      // the bytes of the headers were counted as the answer moving
      expect(Math.max(...seen.map((p) => p.bytes))).toBeGreaterThan(0)
    } finally {
      trust.destroy()
    }
  })
})
