/**
 * A XAPI session on one pool: login (following HOST_IS_SLAVE to the master), calls with the
 * session added as param 0, one silent re-login on SESSION_INVALID, logout.
 *
 * The password is held only in this object's closure (needed for the silent re-login); it is never
 * logged and never part of an error message.
 */
import { TransportError, XapiError, isXapiError } from './errors'
import type { HostTrust } from './trust'
import { XapiTransport, type CallOptions, type CallProgress, type Protocol, type StallRule } from './transport'
import { parseXmlRpcFragment } from './xmlrpc'
import { normaliseResult, resultType, typeNormaliser } from './normalise'
import type { RefDescriber } from './errors'
import { checkServerAddress, isIPv6 } from '../../shared/contract/address'

export interface HostAddress {
  host: string
  port: number
}

/**
 * 'h', 'h:port', '[v6]', '[v6]:port', bare 'v6' → host (no brackets) + port (443).
 * host[:port] → host and port. A leading http(s):// and a trailing path are dropped (saved files of
 * older versions); everything else goes through the one address check (shared/contract/address.ts),
 * whose sentence is thrown for an address that must never be dialled (`[` used to reach 127.0.0.1).
 */
export function parseAddress(address: string, defaultPort = 443): HostAddress {
  const a = address.trim().replace(/^https?:\/\//, '').replace(/\/.*$/, '')
  // a pool member's address as XAPI reports it (host.address) may be a bare IPv6 address
  if (isIPv6(a)) return { host: a, port: defaultPort }
  const r = checkServerAddress(a)
  if (!r.ok) throw new Error(r.reason)
  const explicitPort = a.startsWith('[') ? /\]:\d+$/.test(a) : a.includes(':')
  return { host: r.host, port: explicitPort ? r.port : defaultPort }
}

export function formatAddress(host: string, port: number, defaultPort = 443): string {
  const h = host.includes(':') ? `[${host}]` : host
  return port === defaultPort ? h : `${h}:${port}`
}

export interface XapiClientOptions {
  /** host[:port] to start from (a member is fine: HOST_IS_SLAVE is followed) */
  address: string
  username: string
  password: string
  trust: HostTrust
  /** 'auto' tries JSON-RPC first; 'xml-rpc' forces XML-RPC */
  mode?: 'auto' | Protocol
  /** agent pool name: the event loop uses its own ('events') */
  purpose?: string
  timeoutMs?: number
  maxResponseBytes?: number
  originator?: string
  describeRef?: RefDescriber
  /** how many HOST_IS_SLAVE redirects to follow during login */
  maxRedirects?: number
  /** the slow-answer rule (transport.ts DEFAULT_STALL when omitted) */
  stall?: StallRule
  /** which call is in flight and how much of its answer arrived (transport.ts) */
  onProgress?: (p: CallProgress) => void
}

export class XapiClient {
  private transport: XapiTransport
  private session: string | undefined
  private readonly opts: XapiClientOptions
  private readonly password: string
  private loggingIn: Promise<void> | undefined
  private closed = false

  constructor(opts: XapiClientOptions) {
    const { password, ...rest } = opts
    this.password = password
    this.opts = { ...rest, password: '' }
    const { host, port } = parseAddress(opts.address)
    this.transport = this.makeTransport(host, port)
  }

  private makeTransport(host: string, port: number): XapiTransport {
    return new XapiTransport({ ...this.transportOpts(host, port), mode: this.opts.mode ?? 'auto' })
  }

  get host(): string {
    return this.transport.host
  }
  get port(): number {
    return this.transport.port
  }
  /** the master's address as host[:port] */
  get address(): string {
    return formatAddress(this.transport.host, this.transport.port)
  }
  get protocol(): Protocol | undefined {
    return this.transport.protocol
  }
  get sessionId(): string | undefined {
    return this.session
  }
  get loggedIn(): boolean {
    return this.session !== undefined
  }

  /** log in, following HOST_IS_SLAVE to the master on the same port */
  login(co: CallOptions = {}): Promise<void> {
    if (this.loggingIn) return this.loggingIn
    this.closed = false
    this.loggingIn = this.doLogin(co).finally(() => {
      this.loggingIn = undefined
    })
    return this.loggingIn
  }

  private async doLogin(co: CallOptions): Promise<void> {
    const max = this.opts.maxRedirects ?? 3
    for (let hop = 0; ; hop++) {
      try {
        const ref = await this.transport.call('session.login_with_password', [this.opts.username, this.password, '1.0', this.opts.originator ?? 'XenPilot'], co)
        if (typeof ref !== 'string' || !ref.startsWith('OpaqueRef:')) {
          throw new TransportError('bad-response', `${this.transport.key} answered the login with something that is not a session reference`, { host: this.transport.key })
        }
        this.session = ref
        return
      } catch (e) {
        if (isXapiError(e, 'HOST_IS_SLAVE') && hop < max && e.params[0]) {
          const master = e.params[0].replace(/^\[|\]$/g, '')
          const protocol = this.transport.protocol
          // the member already told us which protocol works; keep it for the master
          this.transport = new XapiTransport({ ...this.transportOpts(master), mode: protocol ?? this.opts.mode ?? 'auto' })
          continue
        }
        throw e
      }
    }
  }

  private transportOpts(host: string, port = this.transport.port): ConstructorParameters<typeof XapiTransport>[0] {
    return {
      host,
      port,
      trust: this.opts.trust,
      purpose: this.opts.purpose ?? 'rpc',
      ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
      ...(this.opts.maxResponseBytes ? { maxResponseBytes: this.opts.maxResponseBytes } : {}),
      ...(this.opts.describeRef ? { describeRef: this.opts.describeRef } : {}),
      ...(this.opts.stall ? { stall: this.opts.stall } : {}),
      ...(this.opts.onProgress ? { onProgress: this.opts.onProgress } : {}),
    }
  }

  /** point at another host (failover) keeping credentials; the session must be re-established */
  retarget(address: string): void {
    const { host, port } = parseAddress(address, this.transport.port)
    const protocol = this.transport.protocol
    this.transport = new XapiTransport({ ...this.transportOpts(host), port, mode: (this.opts.mode ?? 'auto') === 'auto' ? (protocol ?? 'auto') : (this.opts.mode ?? 'auto') })
    this.session = undefined
  }

  /**
   * A call with the session as param 0. SESSION_INVALID → one silent re-login and retry; if that
   * fails too the error is thrown (the caller shows it).
   */
  async call(method: string, params: readonly unknown[] = [], co: CallOptions = {}): Promise<unknown> {
    if (!this.session) await this.login(co)
    const s = this.session
    try {
      return await this.transport.call(method, [s, ...params], co)
    } catch (e) {
      if (isXapiError(e, 'SESSION_INVALID') && !this.closed) {
        if (this.session === s) this.session = undefined
        await this.login(co)
        return this.transport.call(method, [this.session, ...params], co)
      }
      throw e
    }
  }

  /** a call without session param (e.g. login variants, system.listMethods) */
  callNoSession(method: string, params: readonly unknown[] = [], co: CallOptions = {}): Promise<unknown> {
    return this.transport.call(method, params, co)
  }

  async logout(): Promise<void> {
    this.closed = true
    const s = this.session
    this.session = undefined
    if (!s) return
    try {
      await this.transport.call('session.logout', [s], { timeoutMs: 5000 })
    } catch {
      // the pool may already be gone; the session expires on its own
    }
  }
}

/** decodes a finished task's `result` (an XML-RPC fragment even over JSON-RPC) by the method's type */
export function decodeTaskResult(method: string, result: string): unknown {
  const wire = parseXmlRpcFragment(result)
  const sync = method.startsWith('Async.') ? method.slice(6) : method
  const t = resultType(sync)
  if (t === 'void') return undefined
  return t ? typeNormaliser(t)(wire) : normaliseResult(sync, wire)
}

export { XapiError }
