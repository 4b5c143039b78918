/**
 * The one HTTP helper for a pool's hosts outside the RPC endpoints: GET /rrd_updates, /host_rrd,
 * /vm_rrd, the NUMA tab's RRD read, and later XVA export/import (issue 14). Every request goes to
 * one host of a connected pool over that host's pinned agent (HostTrust.agentFor: the pin is the
 * identity, verification is never off), with the pool's session id in the query (XAPI copies the
 * query into its redirects; a cookie would be lost on the way).
 *
 *   const ctx = pools.hostHttp(connectionId)                      // PoolHostAccess (PoolManager)
 *   const r = await httpGet(ctx, hostAddress, { path: '/rrd_updates', query: { start: 0, host: true } })
 *   r.status, r.headers, r.body (Buffer, ≤ maxBytes), r.text(), r.host (after redirects)
 *   const s = await httpGetStream(ctx, hostAddress, { path: '/export', query: { uuid } })
 *   for await (const chunk of s.body) …                           // s.contentLength, s.abort()
 *
 * - Redirects (XAPI answers 302 for /vm_rrd of a VM resident elsewhere, /export of a VM on another
 *   host…) are followed only to a host of the same pool (PoolHttpContext.memberPort), with that
 *   host's own pin; a Location without a port means the pool's port. At most `maxRedirects`.
 * - Limits: `timeoutMs` until the response headers, `idleTimeoutMs` between two chunks of the body
 *   (a multi-GB export is slow but never silent for long), `maxBytes` for the body (buffered: the
 *   whole answer; streamed: counted as it flows, the stream fails past it).
 * - Every failure is a TransportError (or CertificateTrustError) whose message is a sentence
 *   naming the host and the path (never the session id).
 *
 * Extending for issue 14 (PUT /import with Content-Length): `hostRequest` takes the method, extra
 * headers and a body (Buffer or Readable with `contentLength`); GET/HEAD follow redirects, a
 * request with a streamed body does not (it cannot be replayed) and reports the Location instead.
 */
import https from 'node:https'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { Readable } from 'node:stream'
import { parseAddress } from './client'
import { CertificateTrustError, TransportError } from './errors'
import { hostKey, type HostTrust } from './trust'

/** What a connected pool lends the helper (PoolConnection.httpContext). */
export interface PoolHttpContext {
  trust: HostTrust
  /** the pool's port (every host of a pool answers on the same one) */
  port: number
  /** the pool's current session id, or undefined when it is not connected */
  sessionId(): string | undefined
  /** the port of `address` when it is a host of this pool (redirects go nowhere else), else undefined */
  memberPort(address: string): number | undefined
  /** who the pool is, for sentences ("pool “Lab”") */
  label: string
}

export type QueryValue = string | number | boolean
export interface HttpRequestOptions {
  path: string
  /** query parameters (session_id is added); an array repeats the key (vm_uuid=a&vm_uuid=b) */
  query?: Record<string, QueryValue | readonly QueryValue[] | undefined>
  /** default GET */
  method?: 'GET' | 'HEAD' | 'PUT'
  headers?: Record<string, string>
  /** PUT: the body, and for a stream its length (XAPI's /import wants Content-Length) */
  body?: Buffer | Readable
  contentLength?: number
  accept?: string
  /** until the response headers arrive, default 30 s */
  timeoutMs?: number
  /** longest pause between two body chunks, default 30 s */
  idleTimeoutMs?: number
  /** largest body accepted, default 64 MiB (buffered); streamed: unlimited unless given */
  maxBytes?: number
  /** default 3 */
  maxRedirects?: number
  signal?: AbortSignal
  /** agent pool of HostTrust, default 'http' (never queues behind RPC calls or the event loop) */
  purpose?: string
  /**
   * sees each chunk of the response body as it arrives (a transfer's byte count and checksum),
   * without a stream stage of its own: a multi-GB body is hundreds of thousands of TLS-record-sized
   * chunks, and each stage costs per chunk
   */
  onChunk?: (chunk: Buffer) => void
}

export interface HttpResponseHead {
  status: number
  statusMessage: string
  headers: IncomingHttpHeaders
  /** host[:port] that answered (after redirects) */
  host: string
  /** Content-Length when the host sent one */
  contentLength: number | undefined
}

export interface HttpResponse extends HttpResponseHead {
  body: Buffer
  /** the body as UTF-8 (malformed sequences replaced) */
  text(): string
}

export interface HttpStream extends HttpResponseHead {
  /** the body; fails (error event / rejected iteration) on a cut connection, idle timeout or maxBytes */
  body: Readable
  /** stop reading and close the connection */
  abort(): void
}

const DEFAULT_TIMEOUT_MS = 30_000
const DEFAULT_IDLE_MS = 30_000
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024
/**
 * How much of a response body is read ahead of its consumer. Node's default (16 KiB, one TLS
 * record) paused and resumed the socket for nearly every chunk of a transfer.
 */
const BODY_READ_AHEAD = 1024 * 1024

/** GET (or HEAD) with the whole body buffered (≤ maxBytes). Status codes other than 2xx fail. */
export async function httpGet(ctx: PoolHttpContext, hostAddress: string, opts: HttpRequestOptions): Promise<HttpResponse> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES
  const s = await hostRequest(ctx, hostAddress, { ...opts, maxBytes })
  const chunks: Buffer[] = []
  let n = 0
  try {
    for await (const c of s.body) {
      const b = c as Buffer
      chunks.push(b)
      n += b.length
    }
  } catch (e) {
    s.abort()
    throw e
  }
  const body = Buffer.concat(chunks, n)
  return { ...headOf(s), body, text: () => body.toString('utf8') }
}

/** GET with the body as a stream (multi-GB exports): only the headers are awaited. */
export function httpGetStream(ctx: PoolHttpContext, hostAddress: string, opts: HttpRequestOptions): Promise<HttpStream> {
  return hostRequest(ctx, hostAddress, opts)
}

function headOf(s: HttpStream): HttpResponseHead {
  return { status: s.status, statusMessage: s.statusMessage, headers: s.headers, host: s.host, contentLength: s.contentLength }
}

/** the request line as people read it: path without the query (which holds the session id) */
function what(method: string, path: string, key: string): string {
  return `${method} ${path} on ${key}`
}

export function buildQuery(query: HttpRequestOptions['query'], sessionId: string): string {
  const q = new URLSearchParams()
  q.set('session_id', sessionId)
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || k === 'session_id') continue
    if (Array.isArray(v)) for (const x of v as readonly QueryValue[]) q.append(k, String(x))
    else q.append(k, String(v as QueryValue))
  }
  return q.toString()
}

/**
 * The core: one request, redirects followed within the pool, the response head checked (2xx), the
 * body handed back as a guarded stream (idle timeout, byte limit, abort signal).
 */
export async function hostRequest(ctx: PoolHttpContext, hostAddress: string, opts: HttpRequestOptions): Promise<HttpStream> {
  const method = opts.method ?? 'GET'
  const maxRedirects = opts.maxRedirects ?? 3
  const first = parseAddress(hostAddress, ctx.port)
  let target = { host: first.host, port: first.port }
  let path = opts.path
  let search: string | undefined
  for (let hop = 0; ; hop++) {
    const sessionId = ctx.sessionId()
    if (!sessionId) throw new TransportError('network', `${ctx.label} is not connected: cannot ${what(method, opts.path, hostKey(target.host, target.port))}`)
    const query = search ?? buildQuery(opts.query, sessionId)
    const res = await once(ctx, target, method, path, query, opts)
    if (res.kind === 'redirect') {
      const key = hostKey(target.host, target.port)
      if (hop >= maxRedirects) throw new TransportError('bad-response', `${what(method, opts.path, key)} was redirected more than ${maxRedirects} times; stopped`, { host: key, status: res.status })
      if (opts.body instanceof Readable) {
        throw new TransportError('bad-response', `${what(method, opts.path, key)} was redirected to ${res.location}; a streamed body cannot be sent twice, send it there instead`, { host: key, status: res.status })
      }
      let next: URL
      try {
        next = new URL(res.location, `https://${key}`)
      } catch {
        throw new TransportError('bad-response', `${what(method, opts.path, key)} was redirected to an unreadable location`, { host: key, status: res.status })
      }
      const nextHost = next.hostname.replace(/^\[|\]$/g, '')
      const memberPort = ctx.memberPort(nextHost)
      if (next.protocol !== 'https:' || memberPort === undefined) {
        throw new TransportError('bad-response', `${what(method, opts.path, key)} was redirected to ${next.protocol}//${next.host}, which is not a host of ${ctx.label}; not followed`, {
          host: key,
          status: res.status,
        })
      }
      target = { host: nextHost, port: next.port ? Number(next.port) : memberPort }
      path = next.pathname
      const q = new URLSearchParams(next.search)
      // XAPI copies the query (session_id included); make sure the session rides along
      if (!q.has('session_id')) q.set('session_id', sessionId)
      search = q.toString()
      continue
    }
    return res.stream
  }
}

type Once = { kind: 'redirect'; location: string; status: number } | { kind: 'response'; stream: HttpStream }

function once(ctx: PoolHttpContext, target: { host: string; port: number }, method: string, path: string, query: string, opts: HttpRequestOptions): Promise<Once> {
  const key = hostKey(target.host, target.port)
  const label = what(method, opts.path, key)
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_MS
  const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY
  const agent = ctx.trust.agentFor(target.host, target.port, opts.purpose ?? 'http')
  return new Promise<Once>((resolve, reject) => {
    let settled = false
    let socket: Socket | undefined
    const headers: Record<string, string | number> = { 'user-agent': 'XenPilot', ...(opts.accept ? { accept: opts.accept } : {}), ...opts.headers }
    if (opts.body !== undefined) headers['content-length'] = opts.body instanceof Buffer ? opts.body.length : (opts.contentLength ?? 0)
    if (opts.body instanceof Readable && opts.contentLength === undefined) {
      reject(new TransportError('bad-response', `${label}: a streamed body needs its contentLength`))
      return
    }
    const req = https.request({ host: target.host, port: target.port, method, path: `${path}?${query}`, agent, headers })
    const fail = (e: Error): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      req.destroy()
      reject(e)
    }
    // a streamed upload (PUT /import of a multi-GB file) is answered only once it is all sent: the
    // wait for the answer starts when the last byte has gone, however long sending took
    const answerTimer = (): NodeJS.Timeout => setTimeout(() => fail(new TransportError('timeout', `${label} did not answer within ${Math.round(timeoutMs / 1000)} s`, { host: key })), timeoutMs)
    let timer: NodeJS.Timeout | undefined = opts.body instanceof Readable ? undefined : answerTimer()
    if (opts.body instanceof Readable) req.on('finish', () => {
      if (!settled) timer = answerTimer()
    })
    const onAbort = (): void => fail(new TransportError('aborted', `${label} was cancelled`, { host: key }))
    if (opts.signal?.aborted) return onAbort()
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    req.on('socket', (s) => {
      socket = s
    })
    req.on('error', (e) => {
      const c = ctx.trust.classify(e, target.host, target.port, socket)
      fail(c instanceof CertificateTrustError ? c : c instanceof TransportError ? new TransportError(c.kind, `${label} failed: ${c.message}`, c.details) : c)
    })
    req.on('response', (res: IncomingMessage) => {
      if (settled) {
        res.resume()
        return
      }
      clearTimeout(timer)
      const status = res.statusCode ?? 0
      if (status >= 300 && status < 400 && typeof res.headers.location === 'string' && (method === 'GET' || method === 'HEAD' || !(opts.body instanceof Readable))) {
        res.resume()
        settled = true
        opts.signal?.removeEventListener('abort', onAbort)
        resolve({ kind: 'redirect', location: res.headers.location, status })
        return
      }
      if (status < 200 || status >= 300) {
        readSnippet(res, (snippet) => {
          const why = status === 401 || status === 403 ? ' (the session was refused)' : ''
          fail(new TransportError('http-status', `${label} answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${why}${snippet ? `: ${snippet}` : ''}`, { host: key, status }))
        })
        return
      }
      const lengthHeader = res.headers['content-length']
      const contentLength = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined
      if (contentLength !== undefined && contentLength > maxBytes) {
        res.resume()
        fail(new TransportError('too-large', `${label} announced ${formatBytes(contentLength)}, more than the ${formatBytes(maxBytes)} accepted; refused`, { host: key, status }))
        return
      }
      settled = true
      opts.signal?.removeEventListener('abort', onAbort)
      resolve({ kind: 'response', stream: guardedBody(res, req, { label, key, status, idleMs, maxBytes, contentLength, ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onChunk ? { onChunk: opts.onChunk } : {}) }) })
    })
    if (opts.body instanceof Readable) {
      opts.body.on('error', (e) => fail(new TransportError('aborted', `${label}: reading the body to send failed (${e.message})`, { host: key })))
      opts.body.pipe(req)
    } else req.end(opts.body)
  })
}

interface Guard {
  label: string
  key: string
  status: number
  idleMs: number
  maxBytes: number
  contentLength: number | undefined
  signal?: AbortSignal
  onChunk?: (chunk: Buffer) => void
}

function guardedBody(res: IncomingMessage, req: ReturnType<typeof https.request>, g: Guard): HttpStream {
  let bytes = 0
  let done = false
  const out = new Readable({
    highWaterMark: BODY_READ_AHEAD,
    read() {
      res.resume()
    },
  })
  const finish = (e?: Error): void => {
    if (done) return
    done = true
    clearTimeout(idle)
    g.signal?.removeEventListener('abort', onAbort)
    if (e) {
      req.destroy()
      out.destroy(e)
    } else out.push(null)
  }
  const idle = setTimeout(() => finish(new TransportError('timeout', `${g.label} stopped sending for ${Math.round(g.idleMs / 1000)} s`, { host: g.key })), g.idleMs)
  const onAbort = (): void => finish(new TransportError('aborted', `${g.label} was cancelled`, { host: g.key }))
  g.signal?.addEventListener('abort', onAbort, { once: true })
  res.on('data', (c: Buffer) => {
    if (done) return
    bytes += c.length
    if (bytes > g.maxBytes) {
      finish(new TransportError('too-large', `${g.label} sent more than ${formatBytes(g.maxBytes)}; refused`, { host: g.key, status: g.status }))
      return
    }
    // one timer re-armed per chunk (a multi-GB transfer is hundreds of thousands of chunks)
    idle.refresh()
    g.onChunk?.(c)
    if (!out.push(c)) res.pause()
  })
  res.on('end', () => {
    if (g.contentLength !== undefined && bytes < g.contentLength) finish(new TransportError('network', `${g.label} ended after ${bytes} of ${g.contentLength} bytes`, { host: g.key }))
    else finish()
  })
  res.on('aborted', () => finish(new TransportError('network', `the connection to ${g.key} dropped in the middle of ${g.label}`, { host: g.key })))
  res.on('error', () => finish(new TransportError('network', `the connection to ${g.key} dropped in the middle of ${g.label}`, { host: g.key })))
  res.on('close', () => {
    if (!res.complete) finish(new TransportError('network', `the connection to ${g.key} dropped in the middle of ${g.label}`, { host: g.key }))
  })
  return {
    status: g.status,
    statusMessage: res.statusMessage ?? '',
    headers: res.headers,
    host: g.key,
    contentLength: g.contentLength,
    body: out,
    abort: () => finish(new TransportError('aborted', `${g.label} was cancelled`, { host: g.key })),
  }
}

/** the first few KB of an error body as one line (an HTML page's title when it has one) */
export function readSnippet(res: IncomingMessage, done: (s: string) => void): void {
  const parts: Buffer[] = []
  let n = 0
  let finished = false
  const finish = (): void => {
    if (finished) return
    finished = true
    const text = Buffer.concat(parts).toString('utf8')
    const title = /<title>([^<]*)<\/title>/i.exec(text)?.[1]
    done((title ?? text.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim().slice(0, 160))
  }
  res.on('data', (c: Buffer) => {
    if (n < 4096) parts.push(c)
    n += c.length
  })
  res.on('end', finish)
  res.on('close', finish)
  res.on('error', finish)
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`
  if (n >= 1024 * 1024) return `${Math.round(n / 1024 / 1024)} MiB`
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`
  return `${n} bytes`
}
