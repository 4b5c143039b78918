/**
 * A minimal XAPI host for bridge tests that do not need a whole pool: TLS with a self-signed
 * certificate (made by the openssl CLI), CONNECT /console answered like XAPI's console handler
 * (401 bad session, 404 unknown console, 200 + RFB from test/sim/rfb), and a ConsoleSource whose
 * graph the test controls.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls'
import type { Duplex } from 'node:stream'
import { attachConsole, type ConsoleTarget } from '../../sim/rfb'
import type { ConsoleSource, LocatedConsole } from '../../../main/console/bridge'
import { ConsoleError } from '../../../main/console/errors'
import type { ConsoleTargetArgs } from '../../../shared/contract/console'

export interface Cert {
  key: string
  cert: string
  fingerprint256: string
}

export function makeCert(cn: string): Cert {
  const dir = mkdtempSync(join(tmpdir(), 'xp-console-cert-'))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', `/CN=${cn}`], { stdio: 'ignore' })
    const cert = readFileSync(join(dir, 'c.pem'), 'utf8')
    const fp = execFileSync('openssl', ['x509', '-in', join(dir, 'c.pem'), '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' })
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert, fingerprint256: fp.trim().replace(/^.*=/, '') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface FakeHost {
  address: string
  port: number
  server: TlsServer
  /** console ref → what answers behind it */
  consoles: Map<string, ConsoleTarget>
  /** CONNECT requests seen (request lines) */
  requests: string[]
  cert: Cert
  close(): Promise<void>
}

export async function startFakeHost(opts: { address: string; cert: Cert; validSessions: Set<string> }): Promise<FakeHost> {
  const consoles = new Map<string, ConsoleTarget>()
  const requests: string[] = []
  const server = createTlsServer({ key: opts.cert.key, cert: opts.cert.cert }, (sock) => {
    let buf = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk])
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      sock.off('data', onData)
      const head = buf.subarray(0, end).toString('latin1')
      const rest = buf.subarray(end + 4)
      const [line = ''] = head.split('\r\n')
      requests.push(line)
      const m = /^CONNECT (\/console\?\S+) HTTP\/1\.[01]$/.exec(line)
      if (!m || !m[1]) return void sock.end('HTTP/1.1 400 Bad Request\r\n\r\n')
      const url = new URL(m[1], 'https://x')
      const cookie = /session_id=([^;\r\n]+)/.exec(head)?.[1]
      const sid = url.searchParams.get('session_id') ?? cookie ?? ''
      if (!opts.validSessions.has(sid)) return void sock.end('HTTP/1.1 401 Unauthorised\r\n\r\n')
      const target = consoles.get(url.searchParams.get('ref') ?? '')
      if (!target) return void sock.end('HTTP/1.1 404 Not Found\r\n\r\n')
      sock.write('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nCache-Control: no-cache, no-store\r\n\r\n')
      if (rest.length) sock.unshift(rest)
      attachConsole(sock, target)
    }
    sock.on('data', onData)
    sock.on('error', () => sock.destroy())
  })
  await new Promise<void>((r) => server.listen(0, opts.address, r))
  const addr = server.address()
  const port = typeof addr === 'object' && addr ? addr.port : 0
  return {
    address: opts.address,
    port,
    server,
    consoles,
    requests,
    cert: opts.cert,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

/** Pinned TLS like PoolHostAccess.connectHostTls: the fingerprint must equal the pinned one. */
export function pinnedTls(host: string, port: number, pinned: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({
      host,
      port,
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    })
    sock.once('secureConnect', () => {
      const fp = sock.getPeerCertificate().fingerprint256
      if (fp !== pinned) {
        sock.destroy()
        const err = new Error(`certificate of ${host} changed: ${fp} is not the pinned ${pinned}`) as Error & { code: string }
        err.code = 'CERT_CHANGED'
        reject(err)
        return
      }
      sock.setNoDelay(true)
      resolve(sock)
    })
    sock.once('error', reject)
  })
}

/** A ConsoleSource over a graph the test edits. */
export class FakeSource implements ConsoleSource {
  vms = new Map<string, LocatedConsole & { power_state: string }>()
  /** host address → port + pinned fingerprint */
  hosts = new Map<string, { port: number; pinned: string }>()
  sessionId = 'OpaqueRef:session-1'
  /** what refreshSession switches to */
  nextSessionId: string | undefined
  refreshes = 0
  connects: string[] = []

  async locate(target: ConsoleTargetArgs): Promise<LocatedConsole> {
    if (!('vmRef' in target)) {
      const dom0 = [...this.vms.values()].find((v) => v.isControlDomain && v.hostRef === target.hostRef)
      if (!dom0) throw new ConsoleError('not-found', 'no such host')
      return dom0
    }
    const vm = this.vms.get(target.vmRef)
    if (!vm) throw new ConsoleError('not-found', `no VM ${target.vmRef}`)
    if (vm.power_state === 'Halted') throw new ConsoleError('vm-not-running', `VM '${vm.vmName}' is not running (Halted): start it to see its console.`)
    if (vm.power_state === 'Suspended') throw new ConsoleError('vm-suspended', `VM '${vm.vmName}' is suspended: resume it to see its console.`)
    return { ...vm }
  }

  async connectTls(_connectionId: string, hostAddress: string): Promise<{ socket: Duplex; sessionId: string }> {
    this.connects.push(hostAddress)
    const h = this.hosts.get(hostAddress)
    if (!h) throw new Error(`${hostAddress} is not a member of the pool`)
    return { socket: await pinnedTls(hostAddress, h.port, h.pinned), sessionId: this.sessionId }
  }

  async refreshSession(): Promise<void> {
    this.refreshes++
    if (this.nextSessionId) this.sessionId = this.nextSessionId
  }
}
