/**
 * Safety rule (issue 12 item 8): for a pinned host the fingerprint comparison is the only defence
 * against a certificate a trusted CA issued for the right name. Here the CA is a test CA given to
 * HostTrust as its roots; the host then presents another certificate from that CA, for the same
 * address — valid by every other check — and must be refused as a changed certificate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer, type TestCert } from './tls-fixture'
import { HostTrust, PinStore, hostKey, pinFromPem } from '../../../main/xapi/trust'
import { XapiTransport } from '../../../main/xapi/transport'
import { CertificateTrustError } from '../../../main/xapi/errors'

const ok = '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value>pong</value></member></struct></value></param></params></methodResponse>'

let dir: string
let ca: string
let first: TestCert
let second: TestCert

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xp-pinned-ca-'))
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=XenPilot Test CA'])
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n')
  const issue = (name: string): TestCert => {
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=127.0.0.1'])
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '30', '-extfile', 'ext.cnf'])
    return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.pem`), 'utf8') }
  }
  ca = readFileSync(join(dir, 'ca.pem'), 'utf8')
  first = issue('first')
  second = issue('second')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('a pinned host presenting a CA-valid certificate for its name with another fingerprint', () => {
  it('is refused as a changed certificate, naming both fingerprints; the same certificate on an unpinned host is trusted through the CA', async () => {
    const server = await startServer(first, (_q, _b, res) => res.writeHead(200, { 'content-type': 'text/xml' }).end(ok))
    const pins = new PinStore()
    const trust = new HostTrust(pins, { roots: [ca] })
    const fpFirst = new X509Certificate(first.cert).fingerprint256
    const fpSecond = new X509Certificate(second.cert).fingerprint256
    expect(fpSecond).not.toBe(fpFirst)
    try {
      const t = new XapiTransport({ host: server.host, port: server.port, trust, mode: 'xml-rpc' })
      // unpinned: the CA vouches for it, no prompt (shows the CA really is trusted here)
      expect(await t.call('system.ping', [])).toBe('pong')
      await pins.set(hostKey(server.host, server.port), pinFromPem(first.cert, 'user'))
      expect(await t.call('system.ping', [])).toBe('pong')

      server.setCert(second)
      trust.destroy() // drop kept-alive sockets made with the first certificate
      const refused = await t.call('system.ping', []).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(CertificateTrustError)
      expect((refused as CertificateTrustError).outcome).toBe('cert-changed')
      expect((refused as CertificateTrustError).certificate.fingerprint256).toBe(fpSecond)
      expect((refused as CertificateTrustError).certificate.previousFingerprint256).toBe(fpFirst)

      // the control: without the pin the second certificate is accepted (CA-valid, right name)
      await pins.delete([hostKey(server.host, server.port)])
      expect(await t.call('system.ping', [])).toBe('pong')
    } finally {
      trust.destroy()
      await server.close()
    }
  })
})
