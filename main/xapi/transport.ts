/**
 * One XAPI endpoint (host:port) spoken over HTTPS, XML-RPC or JSON-RPC.
 *
 * - Auto-detection: the first call tries JSON-RPC (POST /jsonrpc); a 404 or an answer that is not
 *   application/json means an older host, and the transport switches to XML-RPC for good (sticky,
 *   as Xen Orchestra does). `mode: 'xml-rpc'` forces XML-RPC.
 * - Bodies are parsed chunk by chunk as they arrive, so a large answer never blocks the main process
 *   in one piece: XML-RPC decoded (strict UTF-8) into the streaming XML parser, JSON-RPC bytes into
 *   JsonRpcResponseParser; in both, each record of a get_all_records map / event of an event batch
 *   is normalised as soon as it is complete, overlapping the rest of the transfer.
 * - Every call has a timeout for the pool to start answering, and an optional AbortSignal; bodies
 *   are capped (maxResponseBytes). Once the answer has started, the slow-answer rule (StallRule,
 *   DEFAULT_STALL: less than 4 KiB in 15 s) replaces the timeout: a large answer may take as long
 *   as it keeps moving, a trickling one is abandoned with a sentence saying how little came.
 * - `onProgress` hears which call is in flight and how many bytes of its answer arrived (the
 *   connection attempt shows it), at most once a second per call and when the answer starts.
 * - Results are normalised type-directed from the datamodel (./normalise).
 */
import https from 'node:https'
import { isUtf8 } from 'node:buffer'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { JsonParseError, parseJsonSafe } from './json-safe'
import { JsonRpcResponseParser, type JsonStreamHooks } from './json-stream'
import { normaliseResult, paramTypes, streamedNormalisation } from './normalise'
import { CertificateTrustError, TransportError, XapiError, type RefDescriber } from './errors'
import type { HostTrust } from './trust'
import { hostKey } from './trust'
import { MAX_NESTING, isTooDeep, type WireValue } from './wire'
import { XmlRpcResponseParser } from './xmlrpc'
import { XmlRpcDateTime, XmlRpcDouble, serializeMethodCall, type XmlRpcParam } from './xmlrpc-serialize'
import { StrictUtf8Stream } from './utf8'
import { readSnippet } from './http'

export type Protocol = 'json-rpc' | 'xml-rpc'

export interface TransportOptions {
  host: string
  port: number
  trust: HostTrust
  /** 'auto' (default) tries JSON-RPC then falls back for good; or force one */
  mode?: 'auto' | Protocol
  /** agent pool: 'rpc' for calls, 'events' for the event loop's long polls */
  purpose?: string
  /** default per-call timeout (ms), 60 s */
  timeoutMs?: number
  /** largest accepted response body (bytes), 512 MiB */
  maxResponseBytes?: number
  /**
   * largest part of an answer the parser may hold at once (bytes of body since the last complete
   * record / event it handed on, or the whole answer when nothing is handed on): one value larger
   * than this is refused as it arrives, not after the whole body. Default MAX_ENTRY_BYTES.
   */
  maxEntryBytes?: number
  describeRef?: RefDescriber
  /** an answer that has started but moves less than this is abandoned (default DEFAULT_STALL) */
  stall?: StallRule
  /** which call is in flight and how much of its answer has arrived */
  onProgress?: (p: CallProgress) => void
}

/**
 * "less than `minBytes` in `windowMs`" (headers and body, as received) ends a call that has started
 * answering: a server sending its HTTP headers slowly is held to the same rule as a slow body.
 */
export interface StallRule {
  minBytes: number
  windowMs: number
}

/**
 * The documented bound on what one answer may make the parser hold: 64 MiB of body for one record,
 * one event, or a whole answer that is not a map or batch (a 512 MiB string in one value held the
 * parser's text, its joined copy and the decoded string at once: ≈2.4 GB of RSS).
 */
export const MAX_ENTRY_BYTES = 64 * 1024 * 1024

/** The documented slow-answer rule: an answer that moves less than 4 KiB in 15 s (≈ 270 bytes/s) is abandoned. */
export const DEFAULT_STALL: StallRule = { minBytes: 4096, windowMs: 15_000 }

export interface CallProgress {
  method: string
  /** bytes of the answer received so far (0: sent, waiting for the pool to start answering) */
  bytes: number
  /** when the call was sent (ms since the epoch) */
  startedAt: number
}

export interface CallOptions {
  timeoutMs?: number
  signal?: AbortSignal
  /**
   * For calls returning a map (get_all_records): called with each normalised member as soon as it
   * is parsed, while the rest is still arriving (both protocols). Members handed over are not
   * kept: the call then resolves to an empty map. A call that fails (XAPI Failure, cut-off or
   * malformed body) may have handed over some members first: the caller drops them.
   */
  onResultMember?: (key: string, value: unknown) => void
}

/** XML-RPC params with floats/dates marked by the method's declared types */
export function encodeXmlParams(method: string, params: readonly unknown[]): XmlRpcParam[] {
  const types = paramTypes(method)
  return params.map((p, i) => {
    const t = types?.[i]?.[1]
    if (t === 'float' && typeof p === 'number') return new XmlRpcDouble(p)
    if (t === 'datetime' && typeof p === 'string') return new XmlRpcDateTime(toXapiDate(p))
    return p as XmlRpcParam
  })
}

/** ISO 8601 → XAPI's YYYYMMDDThh:mm:ssZ (already-XAPI strings pass through) */
export function toXapiDate(s: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s)
  if (!m) return s
  const d = new Date(s)
  if (Number.isNaN(d.getTime())) return s
  const iso = d.toISOString()
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 19)}Z`
}

let nextId = 1

export class XapiTransport {
  readonly host: string
  readonly port: number
  private readonly opts: TransportOptions
  private detected: Protocol | undefined

  constructor(opts: TransportOptions) {
    this.opts = opts
    this.host = opts.host
    this.port = opts.port
    if (opts.mode && opts.mode !== 'auto') this.detected = opts.mode
  }

  /** the protocol in use, once known */
  get protocol(): Protocol | undefined {
    return this.detected
  }

  get key(): string {
    return hostKey(this.host, this.port)
  }

  async call(method: string, params: readonly unknown[], co: CallOptions = {}): Promise<unknown> {
    // get_all_records maps and event batches are normalised entry by entry as they are parsed
    const streamed = streamedNormalisation(method, co.onResultMember)
    const via: { streamed: boolean } = { streamed: false }
    const wire = await this.callWire(method, params, co, streamed?.hooks, via)
    if (via.streamed && streamed) return streamed.finish(wire)
    return normaliseResult(method, wire)
  }

  private async callWire(method: string, params: readonly unknown[], co: CallOptions, hooks: JsonStreamHooks | undefined, via: { streamed: boolean }): Promise<WireValue> {
    if (this.detected === 'xml-rpc') return this.xml(method, params, co, hooks, via)
    if (this.detected === 'json-rpc') return this.json(method, params, co, hooks, via)
    try {
      const v = await this.json(method, params, co, hooks, via)
      this.detected = 'json-rpc'
      return v
    } catch (e) {
      if (e instanceof TransportError && e.kind === 'unsupported') {
        this.detected = 'xml-rpc'
        return this.xml(method, params, co, hooks, via)
      }
      if (e instanceof XapiError) this.detected = 'json-rpc'
      throw e
    }
  }

  private async xml(method: string, params: readonly unknown[], co: CallOptions, hooks: JsonStreamHooks | undefined, via: { streamed: boolean }): Promise<WireValue> {
    const body = serializeMethodCall(method, encodeXmlParams(method, params))
    // hooks: entries of the envelope's Value are handed over as they are parsed (members given
    // away are already gone when a Failure or a cut-off body turns the call into an error)
    const value = await this.post('/', 'text/xml', body, method, co, 'xml', hooks)
    via.streamed = hooks !== undefined
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'Status' in value) {
      if (value.Status === 'Success') return value.Value ?? ''
      if (value.Status === 'Failure') {
        throw XapiError.fromDescription(value.ErrorDescription, { method, ...(this.opts.describeRef ? { describeRef: this.opts.describeRef } : {}) })
      }
      throw new TransportError('bad-response', `${this.key} answered ${method} with an unknown Status "${String(value.Status)}"`, { host: this.key, method })
    }
    return value
  }

  private async json(method: string, params: readonly unknown[], co: CallOptions, hooks: JsonStreamHooks | undefined, via: { streamed: boolean }): Promise<WireValue> {
    const id = nextId++
    const body = JSON.stringify({ jsonrpc: '2.0', method, params, id })
    const v = await this.post('/jsonrpc', 'application/json', body, method, co, 'json', hooks)
    via.streamed = hooks !== undefined
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new TransportError('bad-response', `${this.key} answered ${method} with JSON that is not a JSON-RPC response`, { host: this.key, method })
    }
    const err = v.error
    if (err !== undefined && err !== null) {
      const describeRef = this.opts.describeRef
      if (Array.isArray(err)) throw XapiError.fromDescription(err, { method, ...(describeRef ? { describeRef } : {}) })
      if (typeof err === 'object') {
        const code = typeof err.message === 'string' ? err.message : String(err.code ?? 'UNKNOWN_ERROR')
        const data = Array.isArray(err.data) ? err.data : err.data === undefined || err.data === null ? [] : [err.data]
        throw XapiError.fromDescription([code, ...data], { method, ...(describeRef ? { describeRef } : {}) })
      }
      throw XapiError.fromDescription([String(err)], { method })
    }
    if (!('result' in v)) throw new TransportError('bad-response', `${this.key} answered ${method} without result or error`, { host: this.key, method })
    return v.result ?? ''
  }

  private post(path: string, contentType: string, body: string, method: string, co: CallOptions, kind: 'xml' | 'json', hooks: JsonStreamHooks | undefined, retried = false): Promise<WireValue> {
    const timeoutMs = co.timeoutMs ?? this.opts.timeoutMs ?? 60_000
    const maxBytes = this.opts.maxResponseBytes ?? 512 * 1024 * 1024
    const key = this.key
    const agent = this.opts.trust.agentFor(this.host, this.port, this.opts.purpose ?? 'rpc')
    return new Promise<WireValue>((resolve, reject) => {
      let settled = false
      let socket: Socket | undefined
      let gotResponse = false
      const payload = Buffer.from(body, 'utf8')
      const req = https.request({
        host: this.host.replace(/^\[|\]$/g, ''),
        port: this.port,
        method: 'POST',
        path,
        agent,
        headers: { 'content-type': contentType, 'content-length': payload.length, 'user-agent': 'XenPilot', accept: kind === 'json' ? 'application/json' : 'text/xml' },
      })
      const fail = (e: Error): void => {
        if (settled) return
        settled = true
        cleanup()
        req.destroy()
        reject(e)
      }
      const ok = (v: WireValue): void => {
        if (settled) return
        settled = true
        cleanup()
        resolve(v)
      }
      const timer = setTimeout(() => fail(new TransportError('timeout', `${key} did not answer ${method} within ${Math.round(timeoutMs / 1000)} s`, { host: key, method })), timeoutMs)
      // the slow-answer rule and progress: bytes received on the socket since this request began
      const stall = this.opts.stall ?? DEFAULT_STALL
      const onProgress = this.opts.onProgress
      const startedAt = Date.now()
      let baseline: number | undefined
      let received = 0
      let windowStart = 0
      let windowBytes = 0
      let reported = -1
      const report = (): void => {
        if (onProgress && received !== reported) {
          reported = received
          onProgress({ method, bytes: received, startedAt })
        }
      }
      const tick = setInterval(() => {
        if (settled || !socket || baseline === undefined) return
        const now = Date.now()
        const total = Math.max(0, socket.bytesRead - baseline)
        if (total > 0 && received === 0) {
          // the pool started answering: from now on the slow-answer rule decides, not the timeout
          clearTimeout(timer)
          windowStart = now
          windowBytes = 0
        }
        received = total
        report()
        if (windowStart === 0) return
        if (pump?.paused || pump?.wasPaused) {
          // the parser is behind (we paused the socket): the pool is not the slow one
          if (pump) pump.wasPaused = pump.paused
          windowStart = now
          windowBytes = received
          return
        }
        if (now - windowStart < stall.windowMs) return
        const moved = received - windowBytes
        if (moved < stall.minBytes) {
          const secs = Math.round((now - windowStart) / 1000)
          return fail(
            new TransportError(
              'stalled',
              `${key} sent only ${formatCount(moved)} of its answer to ${method} in the last ${secs} s (${formatCount(received)} in all${gotResponse ? '' : ', its headers not even complete'}); XenPilot gives up on an answer that moves less than ${formatCount(stall.minBytes)} in ${Math.round(stall.windowMs / 1000)} s.`,
              { host: key, method },
            ),
          )
        }
        windowStart = now
        windowBytes = received
      }, Math.max(50, Math.min(1000, Math.floor(stall.windowMs / 4))))
      const onAbort = (): void => fail(new TransportError('aborted', `${method} to ${key} was cancelled`, { host: key, method }))
      let pump: BodyPump | undefined
      const cleanup = (): void => {
        clearTimeout(timer)
        clearInterval(tick)
        co.signal?.removeEventListener('abort', onAbort)
        pump?.stop()
      }
      if (co.signal?.aborted) return onAbort()
      co.signal?.addEventListener('abort', onAbort, { once: true })

      req.on('socket', (s) => {
        socket = s
        // a kept-alive socket has read earlier answers: count from here (TLS handshakes are not counted)
        baseline = s.bytesRead
        report()
      })
      req.on('error', (e) => {
        if (settled) return
        // a kept-alive socket the server had already closed: the request most likely never got
        // there. Retried once, but only for reads (a write might have run: never run it twice).
        if (!gotResponse && !retried && req.reusedSocket && (e as { code?: string }).code === 'ECONNRESET' && isSafeToRetry(method)) {
          settled = true
          cleanup()
          this.post(path, contentType, body, method, co, kind, hooks, true).then(resolve, reject)
          return
        }
        const c = this.opts.trust.classify(e, this.host, this.port, socket)
        fail(c instanceof CertificateTrustError ? c : c instanceof TransportError && c.kind === 'network' && gotResponse ? new TransportError('network', `connection to ${key} dropped in the middle of the ${method} response`, { host: key, method }) : c)
      })
      req.on('response', (res: IncomingMessage) => {
        gotResponse = true
        const status = res.statusCode ?? 0
        const ctype = String(res.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
        if (kind === 'json' && (status === 404 || (status === 200 && ctype !== 'application/json'))) {
          res.resume()
          return fail(new TransportError('unsupported', `${key} does not offer JSON-RPC`, { host: key, status }))
        }
        if (status !== 200) {
          return readSnippet(res, (snippet) =>
            fail(new TransportError('http-status', `${key} answered ${method} with HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${snippet ? `: ${snippet}` : ''}`, { host: key, method, status })),
          )
        }
        if (kind === 'xml' && ctype !== '' && !ctype.includes('xml')) {
          return readSnippet(res, (snippet) => fail(new TransportError('bad-response', `${key} answered ${method} with ${ctype} instead of XML${snippet ? `: ${snippet}` : ''}`, { host: key, method, status })))
        }
        const decoder = new StrictUtf8Stream()
        // a value nested deeper than the parsers take is its own refusal (the connection does not fetch it again at once)
        const malformed = (e: unknown): void =>
          fail(
            isTooDeep(e)
              ? new TransportError('too-deep', `${key} sent a value nested more than ${MAX_NESTING} levels deep in its ${method} answer; refused (XAPI's own records nest 4)`, { host: key, method })
              : new TransportError('bad-response', `${key} sent a malformed ${method} response: ${(e as Error).message}`, { host: key, method }),
          )
        // what the parser holds, in bytes of body: fed since it last handed a complete entry on
        const maxEntry = this.opts.maxEntryBytes ?? MAX_ENTRY_BYTES
        let fed = 0
        let handedAt = 0
        const counted: JsonStreamHooks | undefined = hooks && {
          ...(hooks.member ? { member: (k: string, v: WireValue) => ((handedAt = fed), hooks.member?.(k, v)) } : {}),
          ...(hooks.item ? { item: (c: string, v: WireValue) => ((handedAt = fed), hooks.item ? hooks.item(c, v) : v) } : {}),
        }
        const parser = kind === 'xml' ? new XmlRpcResponseParser(counted) : undefined
        // JSON: bytes go straight into the incremental parser (it decodes each entry itself)
        const jsonParser = kind === 'json' ? new JsonRpcResponseParser(counted) : undefined
        const chunks: Buffer[] = []
        let bytes = 0
        let ended = false
        const jsonFailure = (e: unknown): void => {
          if (e instanceof JsonParseError && e.problem === 'utf8') fail(new TransportError('bad-response', `${key} sent invalid UTF-8 in the ${method} response`, { host: key, method }))
          else malformed(e)
        }
        const feed = (chunk: Buffer): void => {
          if (settled) return
          fed += chunk.length
          if (fed - handedAt > maxEntry) {
            return fail(
              new TransportError('too-large', `${key} sent more than ${formatBytes(maxEntry)} in one value of its ${method} answer; refused (limit ${formatBytes(maxEntry)} per record or value)`, { host: key, method }),
            )
          }
          if (jsonParser) {
            try {
              jsonParser.write(chunk)
            } catch (e) {
              jsonFailure(e)
            }
            return
          }
          if (!parser) {
            chunks.push(chunk)
            return
          }
          let text: string
          try {
            text = decoder.write(chunk)
          } catch {
            return fail(new TransportError('bad-response', `${key} sent invalid UTF-8 in the ${method} response`, { host: key, method }))
          }
          try {
            parser.write(text)
          } catch (e) {
            return malformed(e)
          }
        }
        const bodyPump = new BodyPump(res, feed)
        pump = bodyPump
        res.on('data', (chunk: Buffer) => {
          if (settled) return
          bytes += chunk.length
          if (bytes > maxBytes) {
            return fail(new TransportError('too-large', `${key} sent more than ${formatBytes(maxBytes)} for ${method}; refused (limit maxResponseBytes)`, { host: key, method }))
          }
          bodyPump.push(chunk)
        })
        res.on('end', () => {
          ended = true
          if (settled) return
          bodyPump.end(finish)
        })
        const finish = (): void => {
          if (settled) return
          if (jsonParser) {
            let v: WireValue
            try {
              v = jsonParser.end()
            } catch (e) {
              return jsonFailure(e)
            }
            return ok(v)
          }
          let text: string
          try {
            if (parser) text = decoder.end()
            else {
              const body = Buffer.concat(chunks, bytes)
              chunks.length = 0
              if (!isUtf8(body)) throw new Error('invalid UTF-8')
              text = body.toString('utf8')
            }
          } catch {
            return fail(new TransportError('bad-response', `${key} sent invalid UTF-8 in the ${method} response`, { host: key, method }))
          }
          try {
            if (parser) {
              parser.write(text)
              ok(parser.end())
            } else {
              ok(parseJsonSafe(text))
            }
          } catch (e) {
            malformed(e)
          }
        }
        res.on('aborted', () => fail(new TransportError('network', `connection to ${key} dropped in the middle of the ${method} response`, { host: key, method })))
        res.on('error', () => fail(new TransportError('network', `connection to ${key} dropped in the middle of the ${method} response`, { host: key, method })))
        res.on('close', () => {
          if (!ended) fail(new TransportError('network', `connection to ${key} dropped in the middle of the ${method} response`, { host: key, method }))
        })
      })
      req.end(payload)
    })
  }
}

/** calls that change nothing on the pool (or only add a session), safe to send twice */
export function isSafeToRetry(method: string): boolean {
  return /^[A-Za-z_]+\.get_/.test(method) || method === 'event.from' || method === 'session.login_with_password' || method === 'system.listMethods'
}

/**
 * Parse work of response bodies, decoupled from the socket reads: libuv delivers up to 32 reads
 * per socket per poll (2 MB and more at once with several large answers in flight), and parsing
 * them right in the 'data' handler made 100 ms+ stalls. Chunks are queued here and fed to their
 * parser by one shared runner in slices of SLICE_MS per event-loop turn (timers, other pools'
 * events and the UI get the turns in between); a response whose queue grows past HIGH_WATER is
 * paused until its parser catches up, which bounds the memory held.
 */
const SLICE_MS = 6
const HIGH_WATER = 2 * 1024 * 1024
const LOW_WATER = 512 * 1024
const activePumps = new Set<BodyPump>()
let runnerScheduled = false

function scheduleRunner(): void {
  if (runnerScheduled) return
  runnerScheduled = true
  setImmediate(runPumps)
}

function runPumps(): void {
  runnerScheduled = false
  const deadline = performance.now() + SLICE_MS
  for (const p of [...activePumps]) {
    activePumps.delete(p)
    // still busy: back at the end of the line (round robin between responses)
    if (p.run(deadline)) activePumps.add(p)
    if (performance.now() >= deadline) break
  }
  if (activePumps.size > 0) scheduleRunner()
}

class BodyPump {
  private queue: Buffer[] = []
  private head = 0
  private queued = 0
  /** the socket is paused because the parser is behind (the slow-answer rule does not count that time) */
  paused = false
  /** paused at some point since the slow-answer rule last looked */
  wasPaused = false
  private stopped = false
  private onEnd: (() => void) | undefined

  constructor(
    private readonly res: IncomingMessage,
    private readonly feed: (chunk: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.stopped) return
    this.queue.push(chunk)
    this.queued += chunk.length
    if (!this.paused && this.queued > HIGH_WATER) {
      this.paused = true
      this.wasPaused = true
      this.res.pause()
    }
    this.activate()
  }

  /** `cb` runs once every queued chunk has been fed */
  end(cb: () => void): void {
    if (this.stopped) return
    this.onEnd = cb
    this.activate()
  }

  stop(): void {
    this.stopped = true
    this.queue = []
    this.head = 0
    activePumps.delete(this)
  }

  /** feeds queued chunks until `deadline`; true while work remains */
  run(deadline: number): boolean {
    while (this.head < this.queue.length) {
      if (this.stopped) return false
      const chunk = this.queue[this.head] as Buffer
      this.queue[this.head++] = EMPTY
      this.queued -= chunk.length
      this.feed(chunk)
      if (this.paused && this.queued < LOW_WATER) {
        this.paused = false
        this.res.resume()
      }
      if (performance.now() >= deadline) break
    }
    if (this.head >= this.queue.length) {
      this.queue = []
      this.head = 0
    }
    if (this.stopped) return false
    if (this.head < this.queue.length) return true
    const cb = this.onEnd
    this.onEnd = undefined
    cb?.()
    return false
  }

  private activate(): void {
    activePumps.add(this)
    scheduleRunner()
  }
}

const EMPTY = Buffer.alloc(0)

function formatCount(n: number): string {
  return n < 1024 ? `${n} byte${n === 1 ? '' : 's'}` : formatBytes(n)
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / 1024 / 1024)} MiB` : `${Math.round(n / 1024)} KiB`
}
