import { describe, expect, it } from 'vitest'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServer } from './tls-fixture'

const ok = '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value>pong</value></member></struct></value></param></params></methodResponse>'

describe('CA-trusted hosts', () => {
  it('connect without a prompt when the certificate chains to a trusted CA and names the host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xp-ca-'))
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
    try {
      run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=XenPilot Test CA'])
      run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'host.key', '-out', 'host.csr', '-subj', '/CN=127.0.0.1'])
      writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n')
      run(['x509', '-req', '-in', 'host.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'host.pem', '-days', '30', '-extfile', 'ext.cnf'])
      const server = await startServer({ key: readFileSync(join(dir, 'host.key'), 'utf8'), cert: readFileSync(join(dir, 'host.pem'), 'utf8') }, (_q, _b, res) => res.writeHead(200, { 'content-type': 'text/xml' }).end(ok))
      try {
        const child = fileURLToPath(new URL('./ca-child.ts', import.meta.url))
        const runChild = (extra: Record<string, string>) =>
          new Promise<string>((resolve) => {
            const c = spawn(process.execPath, ['--import', 'tsx', child, server.host, String(server.port)], { env: { ...process.env, ...extra } })
            let out = ''
            c.stdout.on('data', (d: Buffer) => (out += d.toString()))
            c.on('exit', () => resolve(/RESULT (.*)/.exec(out)?.[1] ?? 'no result'))
          })
        expect(await runChild({ NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') })).toBe('ok pong')
        // the same host without the CA: an unknown certificate, waiting for the user
        expect(await runChild({})).toMatch(/^CertificateTrustError .*not trusted yet/)
      } finally {
        await server.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
