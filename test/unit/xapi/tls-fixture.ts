/** Self-signed certificates made with the openssl CLI, and a tiny HTTPS server for transport tests. */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TestCert {
  key: string
  cert: string
}

export function makeCert(cn = 'xenpilot-test'): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'xp-cert-'))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '30', '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:FALSE'], { stdio: 'ignore' })
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void

export interface TestServer {
  port: number
  host: string
  setCert(c: TestCert): void
  close(): Promise<void>
}

export async function startServer(cert: TestCert, handler: Handler, host = '127.0.0.1'): Promise<TestServer> {
  const srv = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => handler(req, Buffer.concat(parts).toString('utf8'), res))
  })
  await new Promise<void>((r) => srv.listen(0, host, r))
  return {
    port: (srv.address() as AddressInfo).port,
    host,
    setCert: (c) => srv.setSecureContext({ key: c.key, cert: c.cert }),
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections()
        srv.close(() => r())
      }),
  }
}
