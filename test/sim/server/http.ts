/**
 * One host's HTTPS listener: XML-RPC on POST to any path, JSON-RPC on POST /jsonrpc (absent on
 * legacy releases), CONNECT /console for VNC, GET /rrd_updates, /host_rrd, /vm_rrd (rrd-http.ts),
 * GET /export, PUT /import, GET /export_raw_vdi, PUT /import_raw_vdi (transfer-http.ts).
 * Built on node:https directly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { Duplex } from 'node:stream'
import type { SimHostSpec, SimRecord } from '../model'
import { attachConsole, type ConsoleTarget } from '../rfb'
import { createWebSocketStream, WebSocketServer } from 'ws'
import type { HostCert } from './certs'
import { sendWithFault, type FaultSet } from './faults'
import type { PoolState } from './pool'
import { RRD_PATHS, serveRrd } from './rrd-http'
import { handleJsonRpc, handleXmlRpc, type RpcReply } from './rpc'
import { serveTransfer, TRANSFER_PATHS } from './transfer-http'

const MAX_BODY = 32 * 1024 * 1024

export class HostServer {
  readonly server: Server
  private readonly sockets = new Set<Duplex>()
  private listening = false

  constructor(
    readonly pool: PoolState,
    readonly host: SimHostSpec,
    cert: HostCert,
    private readonly faults: FaultSet,
  ) {
    // requestTimeout 0: a request may take as long as its body takes to arrive, as on a host (XAPI
    // streams an import for as long as it lasts). Node's default (300 s) cut every upload slower
    // than 5 min: the 4 GiB import of `npm run bench transfer` failed with the task saying "aborted"
    this.server = createServer({ key: cert.keyPem, cert: cert.certPem, keepAliveTimeout: 30_000, requestTimeout: 0 })
    this.server.on('secureConnection', (s) => this.track(s))
    this.server.on('request', (req, res) => {
      this.onRequest(req, res).catch((e: unknown) => {
        this.pool.log(`${this.host.address}: request failed: ${e instanceof Error ? e.stack : String(e)}`)
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' })
          res.end('internal simulator error\n')
        } else res.destroy()
      })
    })
    this.server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onConnect(req, socket, head))
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head))
    this.server.on('clientError', (_e, socket) => socket.destroy())
  }

  private track(s: Duplex): void {
    this.sockets.add(s)
    s.on('close', () => this.sockets.delete(s))
  }

  setCertificate(cert: HostCert): void {
    this.server.setSecureContext({ key: cert.keyPem, cert: cert.certPem })
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e)
      this.server.once('error', onError)
      this.server.listen(port, this.host.address, () => {
        this.server.off('error', onError)
        this.listening = true
        this.pool.serving(1)
        const addr = this.server.address()
        resolve(typeof addr === 'object' && addr ? addr.port : port)
      })
    })
  }

  get isListening(): boolean {
    return this.listening
  }

  /** stop answering entirely: listener closed and every open connection cut */
  close(): Promise<void> {
    if (this.listening) this.pool.serving(-1)
    this.listening = false
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }

  /** cut open connections but keep listening (toolstack restart) */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
  }

  private async readBody(req: IncomingMessage): Promise<string | undefined> {
    const chunks: Buffer[] = []
    let size = 0
    for await (const c of req) {
      const b = c as Buffer
      size += b.length
      if (size > MAX_BODY) return undefined
      chunks.push(b)
    }
    return Buffer.concat(chunks).toString('utf8')
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `https://${this.host.address}`)
    if (req.method === 'POST') {
      // Legacy hosts have no /jsonrpc handler: XAPI matches paths by longest prefix, so the
      // request lands on the XML-RPC handler of POST / and the answer is text/xml (which is how
      // Xen Orchestra detects an old host and falls back to XML-RPC).
      const isJson = url.pathname === '/jsonrpc' && this.pool.spec.jsonRpc
      const body = await this.readBody(req)
      if (body === undefined) {
        res.writeHead(413, { 'content-type': 'text/plain' })
        res.end('request body too large\n')
        return
      }
      const site = { hostRef: this.host.ref }
      const reply = isJson ? await handleJsonRpc(this.pool, site, body) : await handleXmlRpc(this.pool, site, body)
      await this.sendRpc(res, reply, isJson)
      return
    }
    if (req.method === 'GET' && RRD_PATHS.has(url.pathname)) {
      serveRrd(this.pool, this.host, req, res, url, this.sessionOf(req, url) !== undefined)
      return
    }
    if (TRANSFER_PATHS.has(url.pathname)) {
      await serveTransfer(this.pool, this.host, req, res, url, this.sessionOf(req, url))
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end(`no handler for ${req.method ?? '?'} ${url.pathname}\n`)
  }

  private async sendRpc(res: ServerResponse, reply: RpcReply, isJson: boolean): Promise<void> {
    const contentType = isJson ? 'application/json' : 'text/xml'
    const sendNormally = (): void => {
      const headers: Record<string, string> = { 'content-type': contentType, 'content-length': String(reply.length) }
      if (isJson) headers['access-control-allow-origin'] = '*'
      res.writeHead(200, headers)
      // 'finish' comes once the last byte has been handed to the socket (TLS has encrypted it:
      // the plaintext is not read again); a response cut short keeps its memory (GC frees it)
      const release = reply.release
      if (release) res.once('finish', release)
      if (reply.body.length === 1 && reply.body[0]) {
        res.end(reply.body[0])
        return
      }
      // one part at a time, each when the socket has taken the previous one: TLS encrypts a lone
      // write straight from our buffer, while several queued writes are first copied into one
      // allocation of their total size (112 MB of fresh memory for a bench-10k get_all_records)
      const parts = reply.body
      let i = 0
      const pump = (): void => {
        while (i < parts.length) {
          const b = parts[i++]
          if (b && !res.write(b)) {
            res.once('drain', pump)
            return
          }
        }
        res.end()
      }
      pump()
    }
    const fault = this.faults.take(this.host.address, reply.method)
    if (!fault) {
      sendNormally()
      return
    }
    const fr: Parameters<typeof sendWithFault>[2] = { contentType, body: reply.body, length: reply.length, json: isJson }
    if (reply.idJson !== undefined) fr.idJson = reply.idJson
    await sendWithFault(res, fault, fr, sendNormally)
  }

  private sessionOf(req: IncomingMessage, url: URL): string | undefined {
    const cookie = req.headers.cookie ?? ''
    const m = /(?:^|;\s*)session_id=([^;]+)/.exec(cookie)
    const fromCookie = m?.[1] ? decodeURIComponent(m[1]) : undefined
    const candidate = fromCookie ?? url.searchParams.get('session_id') ?? undefined
    if (candidate && this.pool.sessions.has(candidate)) return candidate
    const auth = req.headers.authorization
    if (auth?.startsWith('Basic ')) {
      const [user, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')
      if (user === this.pool.spec.username && rest.join(':') === this.pool.spec.password) return this.pool.adminSession
    }
    return undefined
  }

  /** the console's VM if this request may open it here, else the refusal (status line and reason) */
  private consoleCheck(req: IncomingMessage, url: URL): SimRecord | [status: string, why: string] {
    if (url.pathname !== '/console') return ['404 Not Found', `no handler for ${url.pathname}`]
    if (!this.sessionOf(req, url)) return ['403 Forbidden', 'SESSION_INVALID: a valid session_id cookie or query parameter is required']
    const resolved = this.resolveConsoleVm(url)
    if (typeof resolved === 'string') return ['404 Not Found', resolved]
    const vm = resolved[1]
    if (vm['power_state'] !== 'Running') {
      return ['404 Not Found', `VM ${String(vm['uuid'])} is ${String(vm['power_state']).toLowerCase()}, not running: it has no console`]
    }
    if (vm['resident_on'] !== this.host.ref) {
      const where = this.pool.hostAddress(String(vm['resident_on']))
      return ['404 Not Found', `VM ${String(vm['uuid'])} is not resident on this host (${this.host.address}); its console is on ${where}`]
    }
    return vm
  }

  private refuse(socket: Duplex, status: string, why: string): void {
    const body = `${why}\n`
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }

  private onConnect(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', `https://${this.host.address}`)
    const vm = this.consoleCheck(req, url)
    if (Array.isArray(vm)) {
      this.refuse(socket, vm[0], vm[1])
      return
    }
    socket.write('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nCache-Control: no-cache, no-store\r\n\r\n')
    if (head.length) socket.unshift(head)
    attachConsole(socket, this.consoleTarget(vm))
  }

  /** GET /console with a WebSocket upgrade (XAPI's wsproxy; XO and XO Lite use it): binary frames carry RFB */
  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', `https://${this.host.address}`)
    const vm = this.consoleCheck(req, url)
    if (Array.isArray(vm)) {
      this.refuse(socket, vm[0], vm[1])
      return
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws)
      stream.on('error', () => stream.destroy())
      attachConsole(stream, this.consoleTarget(vm))
    })
  }

  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  })

  private resolveConsoleVm(url: URL): [string, SimRecord] | string {
    const db = this.pool.db
    const ref = url.searchParams.get('ref')
    const uuid = url.searchParams.get('uuid')
    let vmRef: string | undefined
    if (ref) {
      if (db.get('VM', ref)) vmRef = ref
      else {
        const c = db.get('console', ref)
        if (c) vmRef = String(c['VM'])
      }
    } else if (uuid) {
      vmRef = db.byUuid('VM', uuid)
      if (!vmRef) {
        const cref = db.byUuid('console', uuid)
        const c = cref ? db.get('console', cref) : undefined
        if (c) vmRef = String(c['VM'])
      }
    } else return 'console needs ref= or uuid='
    const vm = vmRef ? db.get('VM', vmRef) : undefined
    if (!vmRef || !vm) return `no VM or console for ${ref ? `ref=${ref}` : `uuid=${uuid ?? ''}`}`
    return [vmRef, vm]
  }

  private consoleTarget(vm: SimRecord): ConsoleTarget {
    const oc = vm['other_config']
    const ext = oc && typeof oc === 'object' && !Array.isArray(oc) ? oc['xenpilot_sim_vnc'] : undefined
    if (typeof ext === 'string') {
      const i = ext.lastIndexOf(':')
      const port = Number(ext.slice(i + 1))
      if (i > 0 && Number.isInteger(port)) return { kind: 'tcp', host: ext.slice(0, i), port }
    }
    const textConsole = vm['is_control_domain'] === true || vm['domain_type'] === 'pv' || vm['domain_type'] === 'pvh'
    return { kind: 'sim', vmUuid: String(vm['uuid']), name: String(vm['name_label']), protocol: textConsole ? '3.3' : '3.8' }
  }
}

