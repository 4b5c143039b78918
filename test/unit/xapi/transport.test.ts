import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { makeCert, startServer, type TestCert, type TestServer } from './tls-fixture'
import { HostTrust, PinStore, hostKey, pinFromPem } from '../../../main/xapi/trust'
import { XapiTransport } from '../../../main/xapi/transport'
import { CertificateTrustError, TransportError, XapiError } from '../../../main/xapi/errors'
import { XapiClient } from '../../../main/xapi/client'

const ok = (v: string) => `<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name>${v}</member></struct></value></param></params></methodResponse>`
const failure = (desc: string[]) => `<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name><value><array><data>${desc.map((d) => `<value>${d}</value>`).join('')}</data></array></value></member></struct></value></param></params></methodResponse>`

let certA: TestCert
let certB: TestCert
let dir: string
beforeAll(() => {
  certA = makeCert('host-a')
  certB = makeCert('host-b')
  dir = mkdtempSync(join(tmpdir(), 'xp-trust-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function trustWithPin(server: TestServer, cert: TestCert): HostTrust {
  const pins = new PinStore()
  void pins.set(hostKey(server.host, server.port), pinFromPem(cert.cert, 'user'))
  return new HostTrust(pins)
}

describe('certificate trust', () => {
  it('stops at awaiting-trust with the presented certificate, then connects once pinned, and reports a changed certificate', async () => {
    const server = await startServer(certA, (_req, _b, res) => res.writeHead(200, { 'content-type': 'text/xml' }).end(ok('<value>pong</value>')))
    const pinFile = join(dir, 'pins.json')
    const pins = new PinStore(pinFile)
    const trust = new HostTrust(pins)
    try {
      const t = new XapiTransport({ host: server.host, port: server.port, trust, mode: 'xml-rpc' })
      const err = await t.call('system.ping', []).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CertificateTrustError)
      const te = err as CertificateTrustError
      expect(te.outcome).toBe('awaiting-trust')
      const fp = new X509Certificate(certA.cert).fingerprint256
      expect(te.certificate.fingerprint256).toBe(fp)
      expect(te.certificate.subject).toContain('CN=host-a')
      expect(te.certificate.issuer).toContain('CN=host-a')
      expect(te.certificate.validTo).toMatch(/^\d{4}-\d{2}-\d{2}T/)

      await pins.set(hostKey(server.host, server.port), pinFromPem(certA.cert, 'user'))
      expect(await t.call('system.ping', [])).toBe('pong')
      expect(statSync(pinFile).mode & 0o777).toBe(0o600)
      expect(JSON.parse(readFileSync(pinFile, 'utf8')).pins[hostKey(server.host, server.port)].fingerprint256).toBe(fp)
      // a reloaded store has the pin
      expect(new PinStore(pinFile).get(hostKey(server.host, server.port))?.fingerprint256).toBe(fp)

      server.setCert(certB)
      trust.destroy() // drop kept-alive sockets made with the old certificate
      const changed = await t.call('system.ping', []).catch((e: unknown) => e)
      expect(changed).toBeInstanceOf(CertificateTrustError)
      expect((changed as CertificateTrustError).outcome).toBe('cert-changed')
      expect((changed as CertificateTrustError).certificate.previousFingerprint256).toBe(fp)
      expect((changed as CertificateTrustError).certificate.fingerprint256).toBe(new X509Certificate(certB.cert).fingerprint256)
    } finally {
      trust.destroy()
      await server.close()
    }
  })
})

describe('transport', () => {
  it('auto-detects JSON-RPC when /jsonrpc answers application/json', async () => {
    const paths: string[] = []
    const server = await startServer(certA, (req, body, res) => {
      paths.push(req.url ?? '')
      const { id } = JSON.parse(body) as { id: number }
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"jsonrpc":"2.0","id":${id},"result":{"memory_overhead":12345678901234567890,"VCPUs_utilisation":{"0":NaN}}}`)
    })
    const trust = trustWithPin(server, certA)
    try {
      const t = new XapiTransport({ host: server.host, port: server.port, trust })
      const r = (await t.call('VM_metrics.get_record', ['s', 'OpaqueRef:x'])) as Record<string, unknown>
      expect(t.protocol).toBe('json-rpc')
      expect(paths).toEqual(['/jsonrpc'])
      expect(r.VCPUs_utilisation).toEqual({ '0': NaN })
    } finally {
      trust.destroy()
      await server.close()
    }
  })

  it('falls back to XML-RPC for good when /jsonrpc is missing, and maps failures to XapiError', async () => {
    const paths: string[] = []
    const server = await startServer(certA, (req, body, res) => {
      paths.push(req.url ?? '')
      if (req.url === '/jsonrpc') return res.writeHead(404, { 'content-type': 'text/html' }).end('<html>not found</html>')
      if (body.includes('VM.start')) return res.writeHead(200, { 'content-type': 'text/xml' }).end(failure(['VM_BAD_POWER_STATE', 'OpaqueRef:v', 'halted', 'running']))
      res.writeHead(200, { 'content-type': 'text/xml' }).end(ok('<value>x</value>'))
    })
    const trust = trustWithPin(server, certA)
    try {
      const t = new XapiTransport({ host: server.host, port: server.port, trust })
      expect(await t.call('pool.get_all', ['s'])).toBe('x')
      expect(t.protocol).toBe('xml-rpc')
      const e = await t.call('VM.start', ['s', 'OpaqueRef:v', false, false]).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(XapiError)
      expect((e as XapiError).code).toBe('VM_BAD_POWER_STATE')
      expect(paths).toEqual(['/jsonrpc', '/', '/'])
    } finally {
      trust.destroy()
      await server.close()
    }
  })

  it('turns each broken answer into a TransportError naming the problem', async () => {
    let mode = ''
    const server = await startServer(certA, (_req, _body, res) => {
      const full = ok('<value>' + 'y'.repeat(2000) + '</value>')
      switch (mode) {
        case 'html-502':
          return res.writeHead(502, { 'content-type': 'text/html' }).end('<html><head><title>502 Bad Gateway</title></head></html>')
        case 'http-500':
          return res.writeHead(500).end('Internal error')
        case 'truncated':
          return res.writeHead(200, { 'content-type': 'text/xml' }).end(full.slice(0, 200))
        case 'drop':
          res.writeHead(200, { 'content-type': 'text/xml', 'content-length': String(full.length) })
          res.write(full.slice(0, 100))
          setTimeout(() => res.socket?.destroy(), 20)
          return
        case 'utf8':
          res.writeHead(200, { 'content-type': 'text/xml' })
          return res.end(Buffer.concat([Buffer.from(ok('<value>')), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('</value>' + '</member></struct></value></param></params></methodResponse>')]))
        case 'huge':
          return res.writeHead(200, { 'content-type': 'text/xml' }).end(ok('<value>' + 'z'.repeat(200_000) + '</value>'))
        case 'slow':
          return setTimeout(() => res.writeHead(200, { 'content-type': 'text/xml' }).end(full), 1500)
      }
    })
    const trust = trustWithPin(server, certA)
    try {
      const t = new XapiTransport({ host: server.host, port: server.port, trust, mode: 'xml-rpc', maxResponseBytes: 100_000 })
      const expectKind = async (m: string, kind: string, re: RegExp, timeoutMs?: number) => {
        mode = m
        const e = await t.call('host.get_servertime', ['s', 'h'], timeoutMs ? { timeoutMs } : {}).catch((x: unknown) => x)
        expect(e, m).toBeInstanceOf(TransportError)
        expect((e as TransportError).kind, m).toBe(kind)
        expect((e as TransportError).message, m).toMatch(re)
      }
      await expectKind('html-502', 'http-status', /HTTP 502.*502 Bad Gateway/)
      await expectKind('http-500', 'http-status', /HTTP 500/)
      await expectKind('truncated', 'bad-response', /malformed|truncated/)
      await expectKind('drop', 'network', /dropped in the middle/)
      await expectKind('utf8', 'bad-response', /invalid UTF-8/)
      await expectKind('huge', 'too-large', /more than .* refused/)
      await expectKind('slow', 'timeout', /did not answer/, 300)
    } finally {
      trust.destroy()
      await server.close()
    }
  })
})

describe('sessions', () => {
  it('follows HOST_IS_SLAVE to the master and silently re-logs in once on SESSION_INVALID', async () => {
    let logins = 0
    let invalidate = 0
    const masterHost = '127.0.0.2'
    const master = await startServer(certA, (_req, body, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' })
      if (body.includes('session.login_with_password')) {
        logins++
        expect(body).toContain('<string>XenPilot</string>')
        return res.end(ok(`<value>OpaqueRef:session-${logins}</value>`))
      }
      if (body.includes('pool.get_all') && invalidate > 0) {
        invalidate--
        return res.end(failure(['SESSION_INVALID', 'OpaqueRef:x']))
      }
      res.end(ok('<value><array><data><value>OpaqueRef:pool</value></data></array></value>'))
    }, masterHost)
    const member = await startServer(certA, (_req, _body, res) => res.writeHead(200, { 'content-type': 'text/xml' }).end(failure(['HOST_IS_SLAVE', masterHost])))
    // members run on the same port in XAPI; here the master is on its own port, so point the member's redirect there
    const pins = new PinStore()
    await pins.set(hostKey(member.host, member.port), pinFromPem(certA.cert, 'user'))
    await pins.set(hostKey(masterHost, member.port), pinFromPem(certA.cert, 'user'))
    await pins.set(hostKey(masterHost, master.port), pinFromPem(certA.cert, 'user'))
    const trust = new HostTrust(pins)
    try {
      const c = new XapiClient({ address: `${master.host}:${master.port}`, username: 'root', password: 'secret', trust, mode: 'xml-rpc' })
      await c.login()
      expect(c.sessionId).toBe('OpaqueRef:session-1')
      invalidate = 1
      expect(await c.call('pool.get_all')).toEqual(['OpaqueRef:pool'])
      expect(c.sessionId).toBe('OpaqueRef:session-2')
      invalidate = 2
      const e = await c.call('pool.get_all').catch((x: unknown) => x)
      expect((e as XapiError).code).toBe('SESSION_INVALID')

      const viaMember = new XapiClient({ address: `${member.host}:${member.port}`, username: 'root', password: 'secret', trust, mode: 'xml-rpc', timeoutMs: 3000 })
      const e2 = await viaMember.login().catch((x: unknown) => x)
      // redirected to masterHost on the member's port, where nothing listens here: the redirect was followed
      expect(e2).toBeInstanceOf(TransportError)
      expect(viaMember.host).toBe(masterHost)
      expect(viaMember.port).toBe(member.port)
    } finally {
      trust.destroy()
      await master.close()
      await member.close()
    }
  })
})
