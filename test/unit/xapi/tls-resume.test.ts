/**
 * The pinned agent resumes TLS sessions (issue 20: per-pool idle cost). A host closes an idle
 * kept-alive socket after a few seconds (Node's server after 5 s, the simulator's), so the 60 s RRD
 * feed and most heartbeats connect again each time: with the agent's cached session that is a
 * resumption, not a full handshake with the certificate exchange. The pin still decides: a pin
 * changed after a session was cached refuses the host as before, and so does a certificate the
 * host changed (new TLS context: no resumption, a full handshake checked against the pin).
 */
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpGet, type PoolHttpContext } from '../../../main/xapi/http'
import { CertificateTrustError } from '../../../main/xapi/errors'
import { HostTrust, PinStore, hostKey, pinFromPem } from '../../../main/xapi/trust'
import { makeCert, type TestCert } from './tls-fixture'

let cert: TestCert
let other: TestCert
let srv: https.Server
let port = 0
/** per TLS connection the server accepted: whether it resumed a session */
const resumed: boolean[] = []

beforeAll(async () => {
  cert = makeCert('resume')
  other = makeCert('other')
  srv = https.createServer({ key: cert.key, cert: cert.cert }, (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'))
  // closes idle kept-alive sockets quickly, as a host does (Node's default is 5 s)
  srv.keepAliveTimeout = 50
  srv.on('secureConnection', (s: TLSSocket) => resumed.push(s.isSessionReused()))
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  port = (srv.address() as AddressInfo).port
})
afterAll(async () => {
  srv.closeAllConnections()
  await new Promise<void>((r) => srv.close(() => r()))
})

function context(pins: PinStore): PoolHttpContext {
  return { trust: new HostTrust(pins), port, label: 'pool “Resume”', sessionId: () => 'OpaqueRef:s', memberPort: () => port }
}

/** until the server has closed the agent's idle socket */
const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 300))

describe('the pinned agent and TLS sessions', () => {
  it('resumes the TLS session when it connects again after the host closed the idle socket', async () => {
    const pins = new PinStore()
    await pins.set(hostKey('127.0.0.1', port), pinFromPem(cert.cert, 'user'))
    const ctx = context(pins)
    resumed.length = 0
    for (let i = 0; i < 3; i++) {
      const r = await httpGet(ctx, '127.0.0.1', { path: '/rrd_updates', purpose: 'rrd' })
      expect(r.text()).toBe('ok')
      await pause()
    }
    // three connections (the host closed each idle one): the first a full handshake, the others resumed
    expect(resumed).toEqual([false, true, true])
    ctx.trust.destroy()
  })

  it('still checks the pin: after the pin changed, a host whose session was cached is refused', async () => {
    const pins = new PinStore()
    const key = hostKey('127.0.0.1', port)
    await pins.set(key, pinFromPem(cert.cert, 'user'))
    const ctx = context(pins)
    await httpGet(ctx, '127.0.0.1', { path: '/rrd_updates', purpose: 'rrd' })
    await pause()
    await pins.set(key, pinFromPem(other.cert, 'user'))
    const e = await httpGet(ctx, '127.0.0.1', { path: '/rrd_updates', purpose: 'rrd' }).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(e).toBeInstanceOf(CertificateTrustError)
    ctx.trust.destroy()
  })

  it('checks a host whose certificate changed in full: the cached session is not resumed, the pin refuses it', async () => {
    const pins = new PinStore()
    await pins.set(hostKey('127.0.0.1', port), pinFromPem(cert.cert, 'user'))
    const ctx = context(pins)
    await httpGet(ctx, '127.0.0.1', { path: '/rrd_updates', purpose: 'rrd' })
    await pause()
    srv.setSecureContext({ key: other.key, cert: other.cert })
    try {
      resumed.length = 0
      const e = await httpGet(ctx, '127.0.0.1', { path: '/rrd_updates', purpose: 'rrd' }).then(
        () => undefined,
        (err: unknown) => err,
      )
      expect(e).toBeInstanceOf(CertificateTrustError)
      // (the server may or may not see the handshake end before the client leaves: none of them resumed)
      expect(resumed.some((r) => r)).toBe(false)
    } finally {
      srv.setSecureContext({ key: cert.key, cert: cert.cert })
      ctx.trust.destroy()
    }
  })
})
