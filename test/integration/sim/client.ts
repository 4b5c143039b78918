/** Minimal HTTPS helpers for talking to the simulator in its own tests (trusting its certificate). */
import { request } from 'node:https'
import { connect, type TLSSocket } from 'node:tls'
import type { SimHostHandle } from '../../sim/model'

export interface HttpReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  peerFingerprint256: string
}

export function httpsRequest(
  host: Pick<SimHostHandle, 'url' | 'certPem'>,
  opts: { method?: string; path?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<HttpReply> {
  const u = new URL(host.url)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: Number(u.port),
        method: opts.method ?? 'POST',
        path: opts.path ?? '/',
        ca: host.certPem,
        headers: opts.headers ?? {},
        agent: false,
      },
      (res) => {
        // read while the connection is open (after a long streamed body the socket may be gone)
        const peerFingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), peerFingerprint256 }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    const body = Buffer.from(opts.body ?? '')
    // a chunked upload goes in two writes, so that it really is sent in chunks
    if (opts.headers?.['transfer-encoding'] === 'chunked') {
      req.write(body.subarray(0, 1000))
      req.end(body.subarray(1000))
    } else req.end(body)
  })
}

/** a transfer's request: `body` is what an upload sends (with `transfer-encoding: chunked`, in two writes) */
export function send(host: Pick<SimHostHandle, 'url' | 'certPem'>, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<HttpReply> {
  return httpsRequest(host, { method, path, body, headers })
}

/** an upload: a PUT of `body` with its length */
export function upload(host: Pick<SimHostHandle, 'url' | 'certPem'>, path: string, body: Buffer): Promise<HttpReply> {
  return send(host, 'PUT', path, body, { 'content-length': String(body.length) })
}

export function xmlCall(method: string, params: string[]): string {
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param><value>${p}</value></param>`).join('')}</params></methodCall>`
}

export async function jsonCall(host: Pick<SimHostHandle, 'url' | 'certPem'>, method: string, params: unknown[]): Promise<{ result?: unknown; error?: { code: number; message: string; data: unknown[] } }> {
  const r = await httpsRequest(host, { path: '/jsonrpc', body: JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }), headers: { 'content-type': 'application/json' } })
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.toString()}`)
  return JSON.parse(r.body.toString()) as { result?: unknown; error?: { code: number; message: string; data: unknown[] } }
}

export async function jsonResult(host: Pick<SimHostHandle, 'url' | 'certPem'>, method: string, params: unknown[]): Promise<unknown> {
  const r = await jsonCall(host, method, params)
  if (r.error) throw new Error(`${method}: ${r.error.message} ${JSON.stringify(r.error.data)}`)
  return r.result
}

/** open TLS to a host and send a raw request head; resolves with the socket once connected */
export function rawTls(host: Pick<SimHostHandle, 'url' | 'certPem'>): Promise<TLSSocket> {
  const u = new URL(host.url)
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), ca: host.certPem }, () => resolve(s))
    s.once('error', reject)
  })
}

/** read from a socket until `pred(buffer)` holds or it ends */
export function readUntil(s: TLSSocket, pred: (b: Buffer) => boolean, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`timed out; got ${JSON.stringify(buf.toString('latin1'))}`))
    }, timeoutMs)
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c])
      if (pred(buf)) {
        cleanup()
        resolve(buf)
      }
    }
    const onEnd = (): void => {
      cleanup()
      resolve(buf)
    }
    const cleanup = (): void => {
      clearTimeout(timer)
      s.off('data', onData)
      s.off('end', onEnd)
      s.off('close', onEnd)
    }
    s.on('data', onData)
    s.on('end', onEnd)
    s.on('close', onEnd)
  })
}
