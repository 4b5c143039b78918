/**
 * ConsoleBridge: loopback WebSocket ⇄ TLS CONNECT /console.
 *
 *   renderer ──console.open──▶ bridge.open(target)
 *                                ├─ source.locate: the VM's rfb console and resident host
 *                                ├─ source.connectTls: pinned TLS to that host + the pool's session
 *                                ├─ CONNECT /console?ref=…&session_id=… → must be 200
 *                                └─ a single-use token for that console, valid for a few seconds
 *   noVNC ──ws://127.0.0.1:PORT/console/TOKEN──▶ raw RFB bytes both ways, binary frames
 *
 * The renderer can only name a VM or host of a connected pool; the bridge decides where to
 * connect. The WebSocket accepts loopback peers, a loopback Host header (no DNS rebinding), an
 * allowed Origin and an unused, unexpired token — nothing else. Either side closing closes the
 * other; each direction pauses its source while the other side's buffer is full.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import type { ConsoleOpenResult, ConsoleTargetArgs } from '../../shared/contract/console'
import { ConsoleConnectFailure, sendConsoleConnect, type ConsoleConnectReply } from './connect'
import { ConsoleError, describe } from './errors'
import { MALFORMED_TARGET, parseRequestTarget } from '../web/request-target'

/** Where a console lives, as found in the pool's object graph. */
export interface LocatedConsole {
  connectionId: string
  vmRef: string
  vmUuid: string
  vmName: string
  consoleRef: string
  hostRef: string
  hostName: string
  hostAddress: string
  isControlDomain: boolean
}

/** What the bridge needs from the pools layer (adapted from PoolManagerApi + PoolHostAccess). */
export interface ConsoleSource {
  /** the VM's (or host's dom0) rfb console and resident host; throws ConsoleError with a clear code */
  locate(target: ConsoleTargetArgs): Promise<LocatedConsole>
  /** TLS to a member of the pool, verified against its pinned certificate, plus the pool's session */
  connectTls(connectionId: string, hostAddress: string): Promise<{ socket: Duplex; sessionId: string }>
  /** the host rejected the session: log in again so the next connectTls carries a fresh one */
  refreshSession(connectionId: string): Promise<void>
}

export interface ConsoleBridgeOptions {
  source: ConsoleSource
  /** Origins whose pages may open console WebSockets (browser mode: the page's own origin). */
  allowedOrigins?: string[]
  /** how long a token stays valid after console.open (default 30 s) */
  tokenTtlMs?: number
  /** console sessions open at once (default 64) */
  maxSessions?: number
  /** CONNECT reply timeout (default 15 s) */
  connectTimeoutMs?: number
  /** a console session ended by itself (VM rebooted, host closed, token unused) */
  onEnded?: (consoleId: string, reason: string) => void
  log?: (line: string) => void
}

interface ConsoleSession {
  consoleId: string
  token: string
  located: LocatedConsole
  tls: Duplex
  leftover: Buffer
  expiresAt: number
  timer: NodeJS.Timeout | undefined
  ws: WebSocket | undefined
  closed: boolean
  /** removes the listener that ends the session if the host closes before the viewer attaches */
  offEarlyEnd: () => void
  /** bytes handed to the WebSocket and not yet flushed to its socket */
  queuedToViewer: number
  /** reading from the host is paused because the viewer is slow */
  hostPaused: boolean
  /** reading from the viewer is paused because the host is slow */
  viewerPaused: boolean
}

/** Bytes queued towards the WebSocket before the TLS side is paused, and resumed below. */
const HIGH_WATER = 4 * 1024 * 1024
const LOW_WATER = 1024 * 1024
const TOKEN_PATH = /^\/console\/([A-Za-z0-9_-]{43})$/

export class ConsoleBridge {
  private readonly sessions = new Map<string, ConsoleSession>()
  private readonly byToken = new Map<string, ConsoleSession>()
  private readonly origins: Set<string>
  private readonly wss: WebSocketServer
  private server: Server | undefined
  private port = 0
  private readonly log: (line: string) => void

  constructor(private readonly opts: ConsoleBridgeOptions) {
    this.origins = new Set(opts.allowedOrigins ?? [])
    this.log = opts.log ?? (() => undefined)
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: 32 * 1024 * 1024,
      // noVNC (and XO) ask for 'binary'; a client that asks for nothing gets no subprotocol
      handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
    })
  }

  /** Start the bridge's own WebSocket server on 127.0.0.1 (port 0 = a free one). */
  async listen(port = 0): Promise<{ port: number; origin: string }> {
    if (this.server) return { port: this.port, origin: this.wsOrigin }
    const server = createServer((_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('XenPilot console bridge: WebSocket only\n')
    })
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    this.server = server
    this.port = (server.address() as AddressInfo).port
    return { port: this.port, origin: this.wsOrigin }
  }

  /** ws://127.0.0.1:PORT — for the page's CSP connect-src */
  get wsOrigin(): string {
    return `ws://127.0.0.1:${this.port}`
  }

  /** allow pages of this origin (e.g. browser mode's http://127.0.0.1:PORT) to open consoles */
  allowOrigin(origin: string): void {
    this.origins.add(origin)
  }

  /** console sessions currently held, with their flow-control state (tests, diagnostics) */
  list(): { consoleId: string; vmRef: string; hostAddress: string; attached: boolean; queuedToViewer: number; hostPaused: boolean; viewerPaused: boolean }[] {
    return [...this.sessions.values()].map((s) => ({
      consoleId: s.consoleId,
      vmRef: s.located.vmRef,
      hostAddress: s.located.hostAddress,
      attached: s.ws !== undefined,
      queuedToViewer: s.queuedToViewer,
      hostPaused: s.hostPaused,
      viewerPaused: s.viewerPaused,
    }))
  }

  async open(target: ConsoleTargetArgs): Promise<ConsoleOpenResult> {
    if (!this.server) throw new Error('ConsoleBridge.open before listen()')
    const max = this.opts.maxSessions ?? 64
    if (this.sessions.size >= max) throw new ConsoleError('too-many-consoles', `${max} consoles are open already; close one to open another.`)
    let located = await this.opts.source.locate(target)
    let refreshed = false
    let relocated = false
    for (;;) {
      const { socket, reply } = await this.connect(located)
      if (reply.status === 200) return this.issue(located, socket, reply.leftover)
      socket.destroy()
      if ((reply.status === 401 || reply.status === 403) && !refreshed) {
        // an expired session: XAPI answers 401 before looking at the console
        refreshed = true
        await this.opts.source.refreshSession(located.connectionId)
        continue
      }
      if (!relocated && reply.status !== 401 && reply.status !== 403 && reply.status !== 503) {
        // a stale graph (migrated, rebooted): look again once and retry if the answer changed
        relocated = true
        const again = await this.opts.source.locate(target)
        if (again.hostAddress !== located.hostAddress || again.consoleRef !== located.consoleRef) {
          located = again
          continue
        }
      }
      throw refusal(reply, located)
    }
  }

  private async connect(located: LocatedConsole): Promise<{ socket: Duplex; reply: ConsoleConnectReply }> {
    let socket: Duplex
    let sessionId: string
    try {
      ;({ socket, sessionId } = await this.opts.source.connectTls(located.connectionId, located.hostAddress))
    } catch (err) {
      throw tlsFailure(err, located)
    }
    try {
      const reply = await sendConsoleConnect(socket, { hostAddress: located.hostAddress, consoleRef: located.consoleRef, sessionId }, this.opts.connectTimeoutMs)
      return { socket, reply }
    } catch (err) {
      socket.destroy()
      const why = err instanceof ConsoleConnectFailure ? err.message : describe(err)
      throw new ConsoleError('host-unreachable', `The console of ${label(located)} could not be opened: ${why}.`)
    }
  }

  private issue(located: LocatedConsole, tls: Duplex, leftover: Buffer): ConsoleOpenResult {
    const consoleId = randomUUID()
    const token = randomBytes(32).toString('base64url')
    const ttl = this.opts.tokenTtlMs ?? 30_000
    const onEarlyEnd = (): void => this.end(session, 'the host closed the console before the viewer attached')
    const session: ConsoleSession = {
      consoleId,
      token,
      located,
      tls,
      leftover,
      expiresAt: Date.now() + ttl,
      timer: undefined,
      ws: undefined,
      closed: false,
      offEarlyEnd: () => tls.off('close', onEarlyEnd),
      queuedToViewer: 0,
      hostPaused: false,
      viewerPaused: false,
    }
    // until the viewer attaches, the RFB greeting waits in the paused socket
    tls.pause()
    tls.once('close', onEarlyEnd)
    tls.on('error', (err: Error) => this.end(session, `connection error: ${err.message}`))
    session.timer = setTimeout(() => this.end(session, 'the console token expired unused'), ttl)
    session.timer.unref()
    this.sessions.set(consoleId, session)
    this.byToken.set(token, session)
    this.log(`console: ${label(located)} on ${located.hostAddress} ready (${consoleId})`)
    return {
      consoleId,
      wsUrl: `${this.wsOrigin}/console/${token}`,
      expiresAt: new Date(session.expiresAt).toISOString(),
      vmRef: located.vmRef,
      vmUuid: located.vmUuid,
      vmName: located.vmName,
      consoleRef: located.consoleRef,
      hostRef: located.hostRef,
      hostName: located.hostName,
      isControlDomain: located.isControlDomain,
      protocol: 'rfb',
    }
  }

  /** close every console of a pool connection (it was disconnected or forgotten) */
  closeConnection(connectionId: string, reason: string): void {
    for (const s of [...this.sessions.values()]) if (s.located.connectionId === connectionId) this.end(s, reason)
  }

  /** close one console session (both sides) */
  close(consoleId: string): void {
    const s = this.sessions.get(consoleId)
    if (s) this.end(s, 'closed by the viewer', false)
  }

  private end(s: ConsoleSession, reason: string, notify = true): void {
    if (s.closed) return
    s.closed = true
    if (s.timer) clearTimeout(s.timer)
    this.sessions.delete(s.consoleId)
    this.byToken.delete(s.token)
    s.tls.destroy()
    if (s.ws && (s.ws.readyState === s.ws.OPEN || s.ws.readyState === s.ws.CONNECTING)) s.ws.close(1000, reason.slice(0, 120))
    this.log(`console: ${s.consoleId} ended: ${reason}`)
    if (notify) this.opts.onEnded?.(s.consoleId, reason)
  }

  /**
   * An HTTP upgrade for /console/TOKEN. Public so another loopback server (e.g. browser mode's)
   * can mount the bridge; every check is made here regardless of who routed the request.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    const remote = req.socket.remoteAddress ?? ''
    if (!isLoopback(remote)) return refuse(socket, 403, `console connections are accepted from this computer only (not from ${remote})`)
    if (!isLoopbackHost(req.headers.host)) return refuse(socket, 403, `wrong Host header ${JSON.stringify(req.headers.host ?? null)}`)
    const origin = req.headers.origin
    if (origin === undefined || !this.origins.has(origin)) return refuse(socket, 403, `Origin ${JSON.stringify(origin ?? null)} may not open consoles`)
    const target = parseRequestTarget(req.url)
    if (!target) return refuse(socket, 400, MALFORMED_TARGET)
    const m = TOKEN_PATH.exec(target.pathname)
    const session = m && m[1] ? this.byToken.get(m[1]) : undefined
    if (!session || session.closed || session.ws || Date.now() > session.expiresAt) {
      return refuse(socket, 403, 'unknown, expired or already used console token')
    }
    // single use: the token is gone before the handshake completes
    this.byToken.delete(session.token)
    this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(session, ws))
  }

  private attach(s: ConsoleSession, ws: WebSocket): void {
    if (s.closed) {
      ws.close(1011, 'console closed')
      return
    }
    s.ws = ws
    if (s.timer) clearTimeout(s.timer)
    s.timer = undefined
    s.offEarlyEnd()
    const tls = s.tls
    // TLS → WebSocket: count bytes handed to ws but not yet flushed to the socket
    const sendToViewer = (chunk: Buffer): void => {
      s.queuedToViewer += chunk.length
      ws.send(chunk, { binary: true }, () => {
        s.queuedToViewer -= chunk.length
        if (s.hostPaused && s.queuedToViewer <= LOW_WATER) {
          s.hostPaused = false
          tls.resume()
        }
      })
      if (!s.hostPaused && s.queuedToViewer > HIGH_WATER) {
        s.hostPaused = true
        tls.pause()
      }
    }
    if (s.leftover.length > 0) sendToViewer(s.leftover)
    tls.on('data', sendToViewer)
    tls.on('end', () => this.end(s, 'the host closed the console'))
    tls.on('close', () => this.end(s, 'the host closed the console'))
    tls.resume()
    // WebSocket → TLS: stop reading frames while the TLS socket's buffer is full
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        ws.close(1003, 'RFB travels in binary frames')
        return
      }
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
      if (!tls.write(buf) && !s.viewerPaused) {
        s.viewerPaused = true
        ws.pause()
        tls.once('drain', () => {
          s.viewerPaused = false
          ws.resume()
        })
      }
    })
    ws.on('close', () => this.end(s, 'the viewer closed the console', false))
    ws.on('error', (err) => this.end(s, `viewer connection error: ${err.message}`, false))
    this.log(`console: ${s.consoleId} attached`)
  }

  async stop(): Promise<void> {
    for (const s of [...this.sessions.values()]) this.end(s, 'XenPilot is closing', false)
    for (const ws of this.wss.clients) ws.terminate()
    this.wss.close()
    const server = this.server
    this.server = undefined
    if (server) {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

function label(l: LocatedConsole): string {
  return l.isControlDomain ? `the control domain of host '${l.hostName}'` : `VM '${l.vmName}'`
}

function refusal(reply: ConsoleConnectReply, located: LocatedConsole): ConsoleError {
  const status = `HTTP ${reply.status}${reply.reason ? ` ${reply.reason}` : ''}`
  // the host's own words (XAPI and the simulator put a line of text in the body), kept short
  const said = reply.leftover.toString('utf8', 0, Math.min(reply.leftover.length, 300)).replace(/\s+/g, ' ').trim()
  const detail = said && /^[\x20-\x7e\u00a0-\uffff]+$/.test(said) ? ` — the host said: “${said}”` : ''
  const who = label(located)
  const host = `Host '${located.hostName}'`
  if (reply.status === 401 || (reply.status === 403 && /SESSION_INVALID|session/i.test(said))) {
    return new ConsoleError('session-expired', `${host} rejected the pool's session for the console of ${who} (${status}), even after logging in again${detail}. Reconnect the pool.`)
  }
  switch (reply.status) {
    case 403:
      return new ConsoleError(
        'console-refused',
        `${host} refused the console of ${who} (${status})${detail}. The user's role may not open it (VM consoles need vm-operator, the control domain needs pool-admin).`,
      )
    case 503:
      return new ConsoleError('console-limit', `${host} refused the console of ${who} (${status})${detail}. The pool's console session limit is reached: close another console and retry.`)
    case 404:
      return new ConsoleError('console-refused', `${host} has no console for ${who} (${status})${detail}. The VM may have stopped or moved; retry in a moment.`)
    default:
      return new ConsoleError('console-refused', `${host} refused the console of ${who} (${status})${detail}.`)
  }
}

function tlsFailure(err: unknown, located: LocatedConsole): ConsoleError {
  if (err instanceof ConsoleError) return err
  const rec = typeof err === 'object' && err !== null ? (err as Record<string, unknown>) : {}
  const code = typeof rec['code'] === 'string' ? rec['code'] : ''
  const text = describe(err)
  if (rec['outcome'] === 'awaiting-trust') {
    return new ConsoleError(
      'certificate-changed',
      `The certificate of host '${located.hostName}' (${located.hostAddress}) has not been trusted yet, so its console was not opened: ${text}`,
    )
  }
  if (/cert/i.test(code) || /certificate|fingerprint/i.test(text)) {
    return new ConsoleError(
      'certificate-changed',
      `The certificate of host '${located.hostName}' (${located.hostAddress}) is not the one pinned for this pool, so its console was not opened: ${text}. Check the host and trust the new certificate from the pool's connection first.`,
    )
  }
  if (/^(ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET|ENOTFOUND|EAI_AGAIN)$/.test(code)) {
    return new ConsoleError('host-unreachable', `Host '${located.hostName}' (${located.hostAddress}) did not accept a connection for the console of ${label(located)}: ${text}.`)
  }
  if (/not connected|offline|disconnected/i.test(text)) return new ConsoleError('pool-offline', `The pool is not connected, so the console of ${label(located)} cannot be opened: ${text}.`)
  return new ConsoleError('host-unreachable', `The console of ${label(located)} could not be opened on host '${located.hostName}': ${text}.`)
}

function isLoopback(addr: string): boolean {
  return /^127\./.test(addr) || addr === '::1' || /^::ffff:127\./.test(addr)
}

function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d{1,5})?$/.exec(host)
  const name = m?.[1]?.toLowerCase()
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]'
}

function refuse(socket: Duplex, status: number, reason: string): void {
  const text = status === 404 ? 'Not Found' : status === 400 ? 'Bad Request' : 'Forbidden'
  const body = `${reason}\n`
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}
