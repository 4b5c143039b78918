import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { makeCert, startServer, type TestCert, type TestServer } from './tls-fixture'
import { HostTrust, PinStore, hostKey, pinFromPem } from '../../../main/xapi/trust'
import { hostRequest, httpGet, httpGetStream, type PoolHttpContext } from '../../../main/xapi/http'
import { CertificateTrustError, TransportError } from '../../../main/xapi/errors'

const SESSION = 'OpaqueRef:secret-session-0001'

let certA: TestCert
let certB: TestCert
let master: TestServer
let member: TestServer
let stranger: TestServer
const seen: { host: string; url: string; accept: string | undefined }[] = []
let respond: (path: string, res: ServerResponse) => boolean = () => false

beforeAll(async () => {
  certA = makeCert('master')
  certB = makeCert('member')
  const handler = (name: string) => (req: import('node:http').IncomingMessage, _b: string, res: ServerResponse) => {
    seen.push({ host: name, url: req.url ?? '', accept: req.headers.accept })
    const url = new URL(req.url ?? '/', 'https://x')
    if (respond(`${name}${url.pathname}`, res)) return
    if (url.searchParams.get('session_id') !== SESSION) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorised\n')
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ host: name, q: url.search }))
  }
  master = await startServer(certA, handler('master'), '127.0.0.1')
  member = await startServer(certB, handler('member'), '127.0.0.2')
  stranger = await startServer(certB, handler('stranger'), '127.0.0.3')
})
afterAll(async () => {
  await Promise.all([master.close(), member.close(), stranger.close()])
})

function context(opts: { memberCert?: TestCert } = {}): PoolHttpContext {
  const pins = new PinStore()
  void pins.set(hostKey(master.host, master.port), pinFromPem(certA.cert, 'user'))
  void pins.set(hostKey(member.host, member.port), pinFromPem((opts.memberCert ?? certB).cert, 'pool'))
  const trust = new HostTrust(pins)
  return {
    trust,
    port: master.port,
    label: 'pool “Test”',
    sessionId: () => SESSION,
    memberPort: (a) => (a === master.host ? master.port : a === member.host ? member.port : undefined),
  }
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  if (!(e instanceof Error)) throw new Error('expected a failure')
  return e
}

describe('the HTTP helper on the pinned agent', () => {
  it('GETs with the session in the query and the Accept asked for, and hands back the body', async () => {
    respond = () => false
    const r = await httpGet(context(), `${master.host}:${master.port}`, { path: '/rrd_updates', query: { start: -60, host: true, vm_uuid: ['a', 'b'] }, accept: 'application/json' })
    expect(r.status).toBe(200)
    const body = JSON.parse(r.text()) as { host: string; q: string }
    expect(body.host).toBe('master')
    const q = new URLSearchParams(body.q)
    expect(q.get('session_id')).toBe(SESSION)
    expect(q.getAll('vm_uuid')).toEqual(['a', 'b'])
    expect(q.get('host')).toBe('true')
    expect(seen.at(-1)?.accept).toBe('application/json')
  })

  it('follows a 302 to another host of the pool with that host’s own pin, keeping the session', async () => {
    respond = (p, res) => {
      if (p !== 'master/vm_rrd') return false
      // XAPI's Location names the resident host without a port and copies the query
      res.writeHead(302, { location: `https://${member.host}/vm_rrd?uuid=u1&session_id=${encodeURIComponent(SESSION)}` }).end()
      return true
    }
    const r = await httpGet(context(), `${master.host}:${master.port}`, { path: '/vm_rrd', query: { uuid: 'u1' } })
    expect(JSON.parse(r.text())).toMatchObject({ host: 'member' })
    expect(r.host).toBe(hostKey(member.host, member.port))
  })

  it('refuses a redirect to a host outside the pool, saying so', async () => {
    respond = (p, res) => {
      if (p !== 'master/vm_rrd') return false
      res.writeHead(302, { location: `https://${stranger.host}:${stranger.port}/vm_rrd?uuid=u1` }).end()
      return true
    }
    const e = await failure(httpGet(context(), `${master.host}:${master.port}`, { path: '/vm_rrd', query: { uuid: 'u1' } }))
    expect(e).toBeInstanceOf(TransportError)
    expect(e.message).toMatch(/redirected to https:\/\/127\.0\.0\.3.*not a host of pool “Test”; not followed/)
    expect(seen.some((s) => s.host === 'stranger')).toBe(false)
  })

  it('checks the redirected host against its pin: a different certificate stops the request', async () => {
    respond = (p, res) => {
      if (p !== 'master/vm_rrd') return false
      res.writeHead(302, { location: `https://${member.host}/vm_rrd?uuid=u1` }).end()
      return true
    }
    const e = await failure(httpGet(context({ memberCert: certA }), `${master.host}:${master.port}`, { path: '/vm_rrd', query: { uuid: 'u1' } }))
    expect(e).toBeInstanceOf(CertificateTrustError)
  })

  it('stops after maxRedirects', async () => {
    respond = (p, res) => {
      if (!p.endsWith('/loop')) return false
      res.writeHead(302, { location: `https://${master.host}:${master.port}/loop` }).end()
      return true
    }
    const e = await failure(httpGet(context(), `${master.host}:${master.port}`, { path: '/loop', maxRedirects: 2 }))
    expect(e.message).toMatch(/redirected more than 2 times/)
  })

  it('turns HTTP errors into sentences without the session id', async () => {
    respond = () => false
    const ctx = { ...context(), sessionId: () => 'OpaqueRef:wrong-session' }
    const e = await failure(httpGet(ctx, `${master.host}:${master.port}`, { path: '/rrd_updates', query: { start: 0 } }))
    expect(e).toBeInstanceOf(TransportError)
    expect(e.message).toBe(`GET /rrd_updates on ${hostKey(master.host, master.port)} answered HTTP 401 Unauthorized (the session was refused): unauthorised`)
    expect(e.message).not.toContain('wrong-session')
  })

  it('refuses bodies beyond maxBytes, announced or streamed', async () => {
    respond = (p, res) => {
      if (p === 'master/big') {
        res.writeHead(200, { 'content-length': String(1024 * 1024) }).end(Buffer.alloc(1024 * 1024))
        return true
      }
      if (p === 'master/endless') {
        res.writeHead(200, { 'content-type': 'text/plain' })
        const t = setInterval(() => {
          if (!res.write(Buffer.alloc(64 * 1024))) return
        }, 1)
        res.on('close', () => clearInterval(t))
        return true
      }
      return false
    }
    const a = await failure(httpGet(context(), `${master.host}:${master.port}`, { path: '/big', maxBytes: 1000 }))
    expect(a.message).toMatch(/announced 1 MiB, more than the 1000 bytes accepted; refused/)
    const b = await failure(httpGet(context(), `${master.host}:${master.port}`, { path: '/endless', maxBytes: 512 * 1024 }))
    expect(b.message).toMatch(/sent more than 512 KiB; refused/)
  })

  it('gives up on a body that stops flowing (idle timeout) and on a host that never answers', async () => {
    respond = (p, res) => {
      if (p === 'master/stall') {
        res.writeHead(200, { 'content-length': '100' })
        res.write('x')
        return true
      }
      if (p === 'master/silent') return true
      return false
    }
    const a = await failure(httpGet(context(), `${master.host}:${master.port}`, { path: '/stall', idleTimeoutMs: 200 }))
    expect(a.message).toMatch(/GET \/stall on .* stopped sending for 0 s/)
    const b = await failure(httpGet(context(), `${master.host}:${master.port}`, { path: '/silent', timeoutMs: 200 }))
    expect(b.message).toMatch(/GET \/silent on .* did not answer within 0 s/)
  })

  it('no time limit of its own on a transfer (issue 14, exports and imports dying after 24 h): a download flowing longer than timeoutMs and idleTimeoutMs, and an upload taking longer than timeoutMs to send, both go through; only a stall or a silent host stops them', async () => {
    const chunks = 30
    const gapMs = 20
    let received = 0
    respond = (p, res) => {
      if (p === 'master/trickle') {
        res.writeHead(200, { 'content-length': String(chunks * 1000) })
        let i = 0
        const t = setInterval(() => {
          res.write(Buffer.alloc(1000, 1))
          if (++i === chunks) {
            clearInterval(t)
            res.end()
          }
        }, gapMs)
        return true
      }
      if (p === 'master/upload') {
        res.writeHead(200, { 'content-length': '0' }).end()
        return true
      }
      return false
    }
    // 30 chunks 20 ms apart: 600 ms, three times the 200 ms limits, never 200 ms without a byte
    const s = await httpGetStream(context(), `${master.host}:${master.port}`, { path: '/trickle', timeoutMs: 200, idleTimeoutMs: 200 })
    let n = 0
    for await (const c of s.body) n += (c as Buffer).length
    expect(n).toBe(chunks * 1000)
    // an upload sent over 600 ms; the 200 ms answer timeout starts when its last byte has gone
    let sent = 0
    const body = new Readable({
      read() {
        setTimeout(() => {
          sent++
          this.push(sent > chunks ? null : Buffer.alloc(1000, 2))
        }, gapMs)
      },
    })
    body.on('data', (c: Buffer) => (received += c.length))
    const r = await hostRequest(context(), `${master.host}:${master.port}`, { path: '/upload', method: 'PUT', body, contentLength: chunks * 1000, timeoutMs: 200, idleTimeoutMs: 200, maxRedirects: 0 })
    expect(r.status).toBe(200)
    expect(received).toBe(chunks * 1000)
  })

  it('streams a large body with back-pressure and its Content-Length', async () => {
    const size = 8 * 1024 * 1024
    respond = (p, res) => {
      if (p !== 'master/export') return false
      res.writeHead(200, { 'content-length': String(size), 'content-type': 'application/octet-stream' })
      let sent = 0
      const pump = (): void => {
        while (sent < size) {
          sent += 256 * 1024
          if (!res.write(Buffer.alloc(256 * 1024, 7))) return void res.once('drain', pump)
        }
        res.end()
      }
      pump()
      return true
    }
    const s = await httpGetStream(context(), `${master.host}:${master.port}`, { path: '/export', query: { uuid: 'vm' } })
    expect(s.contentLength).toBe(size)
    let n = 0
    for await (const c of s.body) {
      n += (c as Buffer).length
      if (n % (2 * 1024 * 1024) === 0) await new Promise((r) => setTimeout(r, 5))
    }
    expect(n).toBe(size)
  })
})
