/**
 * Browser mode's door: a plain Node http server on 127.0.0.1 that serves the built renderer and
 * speaks the contract over a WebSocket.
 *
 *   GET /?token=T            the page (index.html) — 403 without the right token
 *   GET /assets/…            the renderer's static files (public code, no token needed)
 *   WS  /api?token=T         the contract (shared/contract/wire.ts) — token AND Origin checked
 *
 * Every request must name us as Host (127.0.0.1:PORT) so a DNS-rebinding page cannot reach the
 * server under another name; every WebSocket must come from our own page's Origin, so a page on
 * another origin that learnt the token still cannot connect.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { resolve, sep } from 'node:path'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { ClientMessage, type ServerMessage } from '../../shared/contract/wire'
import { describeIssues, toContractError } from '../services/errors'
import type { EventSink, RawDiffSink, Services } from '../services'
import { UnreadBudget, type UnreadSink } from '../services/outbox'
import { browserModeCsp } from './csp'
import { contentTypeFor } from './mime'
import { MALFORMED_TARGET, parseRequestTarget } from './request-target'

export interface WebServerOptions {
  services: Services
  /** the built renderer (renderer/dist) */
  staticDir: string
  /** 0 (default) picks a free port */
  port?: number
  /** default: 32 random bytes, hex */
  token?: string
  /** more connect-src sources for the CSP (e.g. a console bridge on another loopback port) */
  extraConnectSrc?: string[]
  /**
   * More WebSocket endpoints on this server (path → handler), e.g. a console bridge. They get the
   * same Host, Origin and token checks as /api before the handler sees the request.
   */
  upgradeRoutes?: Record<string, (req: IncomingMessage, socket: Duplex, head: Buffer) => void>
  /** largest accepted WebSocket message (default 1 MiB: calls are small) */
  maxMessageBytes?: number
  /**
   * A client that stops reading (a frozen tab) would make main buffer every diff for it forever:
   * past this many queued bytes its socket is closed (1013) and the page reconnects and resubscribes,
   * getting one fresh reset instead of the backlog. Default 512 MiB (above one bench-10k reset).
   */
  maxBufferedBytes?: number
  /**
   * What all clients may hold unread together (bytes: their sockets' unread bytes plus the live
   * diffs queued for them; main/services/outbox.ts UnreadBudget). Over it, the client holding most
   * is disconnected (1013) with the reason. Default 256 MiB.
   */
  maxUnreadBytes?: number
  log?: (line: string) => void
}

export interface WebServer {
  /** http://127.0.0.1:PORT/?token=T — what the CLI prints first */
  url: string
  origin: string
  port: number
  token: string
  /** open WebSocket clients */
  clientCount(): number
  /** bytes all clients hold unread now, and the bound */
  unread(): { bytes: number; limitBytes: number }
  close(): Promise<void>
}

const API_PATH = '/api'

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const log = opts.log ?? (() => {})
  const token = opts.token ?? randomBytes(32).toString('hex')
  const root = resolve(opts.staticDir)
  const indexFile = resolve(root, 'index.html')
  const clients = new Set<WebSocket>()
  let port = 0
  let origin = ''
  let csp = ''

  const tokenBytes = Buffer.from(token, 'utf8')
  const tokenMatches = (candidate: string | null): boolean => {
    if (candidate === null) return false
    const c = Buffer.from(candidate, 'utf8')
    return c.length === tokenBytes.length && timingSafeEqual(c, tokenBytes)
  }
  const hostMatches = (req: IncomingMessage): boolean => req.headers.host === `127.0.0.1:${port}`

  const server = createServer((req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      // the path only: the query carries the access token, which never goes to a log
      log(`web: ${req.method ?? '?'} ${(req.url ?? '?').split('?')[0] ?? '?'} failed: ${(err as Error).message}`)
      if (!res.headersSent) plain(res, 500, 'XenPilot could not serve this file; see the log.')
      else res.destroy()
    })
  })

  function securityHeaders(res: ServerResponse): void {
    res.setHeader('Content-Security-Policy', csp)
    res.setHeader('X-Content-Type-Options', 'nosniff')
    // The page URL carries the token: never let it leak through a Referer header.
    res.setHeader('Referrer-Policy', 'no-referrer')
    res.setHeader('X-Frame-Options', 'DENY')
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin')
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin')
  }

  function plain(res: ServerResponse, status: number, text: string): void {
    securityHeaders(res)
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
    res.end(text + '\n')
  }

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostMatches(req)) return plain(res, 403, `XenPilot answers only as http://127.0.0.1:${port}/ (the Host header named something else).`)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD')
      return plain(res, 405, 'XenPilot’s browser mode serves files with GET only.')
    }
    const url = parseRequestTarget(req.url)
    if (!url) return plain(res, 400, MALFORMED_TARGET)
    let pathname: string
    try {
      pathname = decodeURIComponent(url.pathname)
    } catch {
      return plain(res, 400, 'The request path is not valid URL encoding.')
    }
    if (pathname.includes('\0')) return plain(res, 400, 'The request path is not valid.')
    const isPage = pathname === '/' || pathname === '/index.html'
    if (isPage && !tokenMatches(url.searchParams.get('token'))) {
      return plain(res, 403, 'This XenPilot page needs its access token: open the exact URL printed on the first line by `npm run web`.')
    }
    if (pathname === API_PATH) return plain(res, 426, 'The XenPilot API is a WebSocket endpoint.')
    const file = resolve(root, '.' + (isPage ? '/index.html' : pathname))
    if (file !== root && !file.startsWith(root + sep)) return plain(res, 404, 'Not found.')
    // the page is served at '/' and '/index.html' only (with the token); every other spelling that
    // lands on the same file ('/index.html/', '//index.html', '/INDEX.HTML' on a case-insensitive
    // disk) is not found, so no path serves it without the token
    if (!isPage && (pathname.endsWith('/') || file.toLowerCase() === indexFile.toLowerCase())) return plain(res, 404, 'Not found.')
    let size: number
    try {
      const st = await stat(file)
      if (!st.isFile()) return plain(res, 404, 'Not found.')
      size = st.size
    } catch {
      if (isPage) return plain(res, 503, `The renderer is not built (no ${file}): run \`npm run build:renderer\`.`)
      return plain(res, 404, 'Not found.')
    }
    securityHeaders(res)
    res.writeHead(200, {
      'Content-Type': contentTypeFor(file),
      'Content-Length': String(size),
      // The page is tied to this run's token; assets have content hashes but stay revalidated.
      'Cache-Control': isPage ? 'no-store' : 'no-cache',
    })
    if (req.method === 'HEAD') return void res.end()
    await new Promise<void>((ok, fail) => {
      const stream = createReadStream(file)
      stream.on('error', fail)
      stream.on('end', ok)
      stream.pipe(res)
    })
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes ?? 1024 * 1024 })

  function refuseUpgrade(socket: Duplex, status: 400 | 403 | 404, reason: string): void {
    log(`web: refused WebSocket: ${reason}`)
    const body = reason + '\n'
    socket.end(
      `HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request'}\r\n` +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    )
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const url = parseRequestTarget(req.url)
    if (!url) return refuseUpgrade(socket, 400, MALFORMED_TARGET)
    const route = url.pathname === API_PATH ? undefined : opts.upgradeRoutes?.[url.pathname]
    if (url.pathname !== API_PATH && !route) return refuseUpgrade(socket, 404, `no WebSocket endpoint at ${url.pathname}`)
    if (!hostMatches(req)) return refuseUpgrade(socket, 403, 'wrong Host header')
    if (req.headers.origin !== origin) return refuseUpgrade(socket, 403, `Origin ${JSON.stringify(req.headers.origin ?? null)} is not ${origin}`)
    if (!tokenMatches(url.searchParams.get('token'))) return refuseUpgrade(socket, 403, 'missing or wrong token')
    if (route) return route(req, socket, head)
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws))
  })

  const budget = new UnreadBudget(opts.maxUnreadBytes ?? 256 * 1024 * 1024, log)

  function attach(ws: WebSocket): void {
    clients.add(ws)
    const maxBuffered = opts.maxBufferedBytes ?? 512 * 1024 * 1024
    /** one text message; given in parts, it goes out as fragments of one message (no part is copied into a joined string) */
    const sendText = (text: () => string | readonly string[]): void => {
      if (ws.readyState !== ws.OPEN) return
      if (ws.bufferedAmount > maxBuffered) {
        log(`web: a client has ${ws.bufferedAmount} bytes unread; closing it so it resubscribes`)
        ws.close(1013, 'too far behind; reconnect')
        return
      }
      const t = text()
      if (typeof t === 'string') return ws.send(t)
      // fragments of one message leave back to back: nothing else is sent between them
      t.forEach((part, i) => ws.send(part, { fin: i === t.length - 1 }))
    }
    const send = (msg: ServerMessage): void => sendText(() => JSON.stringify(msg))
    const emit: EventSink = (event, payload) => send({ t: 'event', event, payload })
    // a reset piece from the cache: its upserts' JSON text goes into the message as is, as a
    // fragment of its own (a joined frame would copy the ≈0.5 MB page once more in main's heap)
    const emitRawDiff: RawDiffSink = (envelope, upsertsJson) =>
      sendText(() => {
        const head = JSON.stringify({ t: 'event', event: 'pool.diff', payload: envelope })
        // head ends with the payload's and the message's closing braces: '…}}'
        return [`${head.slice(0, -2)},"upserts":`, upsertsJson, '}}']
      })
    const unread: UnreadSink = {
      backlog: () => ws.bufferedAmount,
      // the close frame waits behind what the client has not read (≤ HIGH_WATER_BYTES: nothing more
      // is sent to it); a client that never reads again is dropped by ws's close timeout (30 s)
      disconnect: (reason) => ws.close(1013, Buffer.byteLength(reason) <= 123 ? reason : reason.slice(0, 120)),
    }
    const session = opts.services.openSession(emit, { emitRawDiff, unread: { sink: unread, budget } })
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return send({ t: 'error', id: -1, error: { code: 'bad-message', message: 'XenPilot’s API takes JSON text messages, not binary ones.' } })
      let raw: unknown
      try {
        raw = JSON.parse(rawToString(data))
      } catch {
        return send({ t: 'error', id: -1, error: { code: 'bad-message', message: 'The message was not valid JSON.' } })
      }
      const msg = ClientMessage.safeParse(raw)
      if (!msg.success) {
        const id = typeof raw === 'object' && raw !== null && Number.isInteger((raw as { id?: unknown }).id) ? Number((raw as { id: number }).id) : -1
        return send({ t: 'error', id, error: { code: 'bad-message', message: `The message is not a contract call — ${describeIssues(msg.error)}.` } })
      }
      const { id, method, args } = msg.data
      session.call(method, args).then(
        (result) => send({ t: 'result', id, result }),
        (err: unknown) => send({ t: 'error', id, error: toContractError(err) }),
      )
    })
    ws.on('error', (err) => log(`web: WebSocket error: ${err.message}`))
    ws.on('close', () => {
      clients.delete(ws)
      session.close()
    })
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', fail)
      ok()
    })
  })
  port = (server.address() as AddressInfo).port
  origin = `http://127.0.0.1:${port}`
  csp = browserModeCsp(port, opts.extraConnectSrc)

  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    clientCount: () => clients.size,
    unread: () => ({ bytes: budget.total(), limitBytes: budget.limitBytes }),
    async close() {
      for (const ws of clients) ws.terminate()
      clients.clear()
      await new Promise<void>((ok) => wss.close(() => ok()))
      await new Promise<void>((ok) => {
        server.close(() => ok())
        server.closeAllConnections()
      })
    },
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}
