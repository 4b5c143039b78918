/**
 * Certificate trust per host, without ever turning verification off.
 *
 * Each host (address:port) gets https.Agents whose trust store is the system roots plus that
 * host's pinned certificate (so a pinned self-signed certificate verifies as its own anchor), and
 * whose checkServerIdentity accepts a pinned host only when cert.fingerprint256 equals the pin
 * (XAPI certificates rarely name the address used; the pin is the identity). Hosts without a pin
 * get Node's normal verification: a CA-trusted certificate with a matching name connects without
 * a prompt. A refused handshake is classified with the certificate the host presented (captured on
 * the socket's internal 'secure' event, before Node's own check destroys it): unknown →
 * "awaiting-trust", different from the pin → "cert-changed" with both fingerprints.
 *
 * Pool members: a member's certificate is not known until seen, but the already-trusted master
 * session can fetch each member's certificate (host.get_server_certificate, PEM) — the pools layer
 * pins those ahead of time with source "pool", so failover to a member never prompts and never
 * trusts blindly.
 */
import https from 'node:https'
import tls from 'node:tls'
import { isIP, type Socket } from 'node:net'
import { X509Certificate } from 'node:crypto'
import { z } from 'zod'
import { PinSummary, type CertificateInfo, type PinSource } from '../../shared/contract/connection'
import { StoredDocument, type SmallFileProblem } from '../storage/small-file'
import { CertificateTrustError, TransportError } from './errors'

export interface PinnedCertificate {
  fingerprint256: string
  pem: string
  subject: string
  issuer: string
  validFrom: string
  validTo: string
  pinnedAt: string
  /**
   * 'user' confirmed it; 'pool' fetched through an already-trusted master session; 'demo' seeded
   * by `npm run demo` / `--connect-demo` from the simulator's own report (nobody confirmed it).
   * Shown as such in the Certificates tab (connections.certificates).
   */
  source: PinSource
}

export function hostKey(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`
}

/** a pin on disk: what the Certificates tab shows (PinSummary), a checked fingerprint, and the PEM */
export const PinnedCertificateSchema = PinSummary.extend({
  fingerprint256: z.string().regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'must be a SHA-256 fingerprint (AA:BB:…)'),
  pem: z.string().includes('BEGIN CERTIFICATE'),
}) satisfies z.ZodType<PinnedCertificate>

const PinsFile = z.object({ version: z.literal(1), pins: z.record(z.string(), PinnedCertificateSchema) })
type PinsFile = z.infer<typeof PinsFile>

/**
 * Pinned certificates per host, in one file through the small-file store (main/storage/small-file.ts):
 * every pin is checked on read — a file with a bad pin is set aside whole and said (`problem`), never
 * half-trusted with the bad pins silently dropped; a pin is trusted (in memory) only after the disk
 * took it, and a refused write is a sentence.
 */
export class PinStore {
  private readonly doc: StoredDocument<PinsFile> | undefined
  /** memory-only store (tests, no file) */
  private memory: PinsFile = { version: 1, pins: {} }
  private readonly listeners = new Set<(key: string) => void>()
  /** what reading the file found wrong, if anything */
  readonly problem: SmallFileProblem | undefined

  /** `file` undefined = memory only (tests) */
  constructor(file?: string) {
    this.doc = file ? new StoredDocument({ file, what: 'the certificate pins', version: 1, schema: PinsFile, empty: () => ({ version: 1, pins: {} }) }) : undefined
    this.problem = this.doc?.problem
  }

  private get current(): PinsFile {
    return this.doc ? this.doc.value : this.memory
  }

  /** memory only: applied at once (undefined); with a file: a promise settled once the disk took it */
  private commit(change: (pins: Record<string, PinnedCertificate>) => Record<string, PinnedCertificate>): Promise<unknown> | undefined {
    if (!this.doc) {
      this.memory = { version: 1, pins: change(this.memory.pins) }
      return undefined
    }
    return this.doc.update((d) => {
      const pins = change(d.pins)
      return pins === d.pins ? d : { ...d, pins }
    })
  }

  get(key: string): PinnedCertificate | undefined {
    return Object.prototype.hasOwnProperty.call(this.current.pins, key) ? this.current.pins[key] : undefined
  }

  onChange(cb: (key: string) => void): () => void {
    this.listeners.add(cb)
    return () => this.listeners.delete(cb)
  }

  private notify(keys: Iterable<string>): void {
    for (const k of keys) for (const l of this.listeners) l(k)
  }

  async set(key: string, pin: PinnedCertificate): Promise<void> {
    const old = this.get(key)
    if (old && old.fingerprint256 === pin.fingerprint256 && old.source === pin.source) return
    const written = this.commit((pins) => ({ ...pins, [key]: pin }))
    if (written) await written
    this.notify([key])
  }

  async delete(keys: Iterable<string>): Promise<void> {
    const gone = [...new Set(keys)].filter((k) => this.get(k) !== undefined)
    if (gone.length === 0) return
    const written = this.commit((pins) => {
      const next = { ...pins }
      for (const k of gone) delete next[k]
      return next
    })
    if (written) await written
    this.notify(gone)
  }

  keys(): string[] {
    return Object.keys(this.current.pins)
  }

  /** resolves when every write queued so far has landed (or failed) */
  idle(): Promise<void> {
    return this.doc?.idle() ?? Promise.resolve()
  }
}

function dnString(dn: unknown): string {
  if (typeof dn === 'string') return dn.split('\n').filter(Boolean).join(', ')
  if (typeof dn !== 'object' || dn === null) return ''
  return Object.entries(dn as Record<string, unknown>)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(', ')
}

function isoDate(s: string): string {
  const d = new Date(s)
  return Number.isNaN(d.getTime()) ? s : d.toISOString()
}

export function certificateInfoFromPeer(cert: tls.PeerCertificate, host: string, previous?: string): CertificateInfo {
  return {
    fingerprint256: cert.fingerprint256,
    subject: dnString(cert.subject),
    issuer: dnString(cert.issuer),
    validFrom: isoDate(cert.valid_from),
    validTo: isoDate(cert.valid_to),
    host,
    ...(previous ? { previousFingerprint256: previous } : {}),
  }
}

export function pinFromPem(pem: string, source: PinnedCertificate['source']): PinnedCertificate {
  const x = new X509Certificate(pem)
  return {
    fingerprint256: x.fingerprint256,
    pem: x.toString(),
    subject: dnString(x.subject),
    issuer: dnString(x.issuer),
    validFrom: isoDate(x.validFrom),
    validTo: isoDate(x.validTo),
    pinnedAt: new Date().toISOString(),
    source,
  }
}

export function pemFromPeer(cert: tls.DetailedPeerCertificate | tls.PeerCertificate): string {
  const b64 = cert.raw.toString('base64').replace(/(.{64})/g, '$1\n')
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`
}

/** certificate each TLS socket presented, captured before Node's verification can destroy it */
const presented = new WeakMap<Socket, tls.PeerCertificate>()

export function presentedCertificate(socket: Socket | null | undefined): tls.PeerCertificate | undefined {
  return socket ? presented.get(socket) : undefined
}

function capture(socket: tls.TLSSocket): void {
  // 'secure' is emitted when the handshake completes and before the client-side verification
  // listener (registered by tls.connect) runs, so the peer certificate is still readable here.
  socket.prependOnceListener('secure', () => {
    const c = socket.getPeerCertificate(false)
    if (c && c.fingerprint256) presented.set(socket, c)
  })
}

const PIN_MISMATCH = 'ERR_XENPILOT_PIN_MISMATCH'

/**
 * The certificate authorities a HostTrust believes in: 'system' = Node's default trust (bundled
 * roots + NODE_EXTRA_CA_CERTS / system store when configured), so a host with a certificate from
 * the organisation's CA needs no prompt; or a list of PEM roots (a test presents its own CA).
 */
export type TrustRoots = 'system' | readonly string[]

/**
 * One SecureContext per pin (and one for "roots only"), shared by every agent and socket of a
 * HostTrust: building a context parses the whole root store, which per handshake cost more CPU
 * than the rest of an idle connection's life (50 idle pools: see test/bench/client.bench.ts P6).
 * A self-signed pinned certificate (XAPI's own, the usual case) is its own trust anchor: its
 * context holds it alone — the roots could not vouch for it anyway, and parsing them once per host
 * cost ≈ 0.1–0.3 s of main's CPU per host on a first connect (400 hosts in the `huge` fleet). A
 * pinned certificate a CA issued still gets the roots (its chain ends there). Either way the
 * fingerprint comparison below decides.
 */
class SecureContexts {
  private readonly contexts = new Map<string, tls.SecureContext>()
  constructor(private readonly roots: TrustRoots) {}

  for(pin: PinnedCertificate | undefined): tls.SecureContext {
    const key = pin?.fingerprint256 ?? ''
    let ctx = this.contexts.get(key)
    if (!ctx) {
      const roots = this.roots === 'system' ? (pin ? tls.rootCertificates : undefined) : this.roots
      const ca = pin ? (isSelfSigned(pin.pem) ? [pin.pem] : [...(roots ?? []), pin.pem]) : roots
      ctx = tls.createSecureContext({ ...(ca ? { ca: [...ca] } : {}), minVersion: 'TLSv1.2' })
      if (this.contexts.size > 1000) this.contexts.clear()
      this.contexts.set(key, ctx)
    }
    return ctx
  }
}

/** the certificate signs itself (subject = issuer, its own key verifies it); false when it cannot be read */
function isSelfSigned(pem: string): boolean {
  try {
    const x = new X509Certificate(pem)
    return x.subject === x.issuer && x.verify(x.publicKey)
  } catch {
    return false
  }
}

/**
 * TLS options for one host: roots + its pin; identity = the pin when pinned (this comparison is the
 * only defence against a certificate a trusted CA issued for the host's name — test/unit/xapi/
 * trust-pinned-ca.test.ts), else normal checks
 */
function tlsOptionsFor(contexts: SecureContexts, pin: PinnedCertificate | undefined): Pick<tls.ConnectionOptions, 'secureContext' | 'checkServerIdentity' | 'minVersion'> {
  return {
    secureContext: contexts.for(pin),
    minVersion: 'TLSv1.2',
    checkServerIdentity: (hostname, cert) => {
      if (pin) {
        if (cert.fingerprint256 === pin.fingerprint256) return undefined
        const e = new Error(`certificate fingerprint ${cert.fingerprint256} differs from the pinned ${pin.fingerprint256}`) as Error & { code: string }
        e.code = PIN_MISMATCH
        return e
      }
      return tls.checkServerIdentity(hostname, cert)
    },
  }
}

/**
 * https.Agent's own connection (it resumes the TLS session the agent cached for the host: a
 * reconnect after the host closed an idle kept-alive socket — every RRD feed, most heartbeats —
 * skips the certificate exchange), with the presented certificate captured. Node does not call
 * checkServerIdentity (the pin comparison) on a resumed session: resuming proves the host holds the
 * secret of a session whose full handshake passed the pin — the trust a kept-alive socket already
 * has. A handshake that failed leaves no session (the agent drops it when the socket closes with an
 * error), a pin change makes a new agent (no session), and a host with a new certificate (a new TLS
 * context: new ticket keys) is checked again in full. `tls.connect` here instead dropped the agent's
 * session cache: every reconnect was a full handshake.
 */
class CapturingAgent extends https.Agent {
  override createConnection(options: tls.ConnectionOptions, cb?: (err: Error | null, socket: Socket) => void): Socket {
    // Agent passes a callback only in some Node versions; returning the socket is the contract
    void cb
    const socket = super.createConnection(options as https.RequestOptions)
    if (!(socket instanceof tls.TLSSocket)) throw new TransportError('tls', 'the HTTPS agent made no TLS connection')
    capture(socket)
    return socket
  }
}

/**
 * Agents per host and purpose ('rpc', 'events': the event loop has its own connections, so a
 * long-poll never queues an interactive call), rebuilt when the host's pin changes.
 */
export class HostTrust {
  private readonly agents = new Map<string, { fp: string; agent: https.Agent }>()
  private readonly contexts: SecureContexts

  /** `roots`: the CAs believed besides the pins (default: the system's) */
  constructor(
    readonly pins: PinStore,
    opts: { roots?: TrustRoots } = {},
  ) {
    this.contexts = new SecureContexts(opts.roots ?? 'system')
    pins.onChange((key) => {
      for (const [k, a] of this.agents) {
        if (k.endsWith(`|${key}`)) {
          a.agent.destroy()
          this.agents.delete(k)
        }
      }
    })
  }

  agentFor(host: string, port: number, purpose: string): https.Agent {
    const key = hostKey(host, port)
    const pin = this.pins.get(key)
    const fp = pin?.fingerprint256 ?? ''
    const id = `${purpose}|${key}`
    const cur = this.agents.get(id)
    if (cur && cur.fp === fp) return cur.agent
    cur?.agent.destroy()
    const agent = new CapturingAgent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: 8, maxFreeSockets: 4, scheduling: 'lifo', ...tlsOptionsFor(this.contexts, pin) })
    this.agents.set(id, { fp, agent })
    return agent
  }

  /** a verified raw TLS socket (consoles), same rules as the agents */
  connectTls(host: string, port: number): Promise<tls.TLSSocket> {
    const key = hostKey(host, port)
    const pin = this.pins.get(key)
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: host.replace(/^\[|\]$/g, ''), port, ...(isIP(host.replace(/^\[|\]$/g, '')) ? {} : { servername: host }), ...tlsOptionsFor(this.contexts, pin) })
      capture(socket)
      socket.once('secureConnect', () => resolve(socket))
      socket.once('error', (e) => reject(this.classify(e, host, port, socket)))
    })
  }

  /**
   * Turns a request error into the trust outcome when TLS refused the certificate, else a
   * TransportError. `socket` is the request's socket (to read the certificate it presented).
   */
  classify(err: unknown, host: string, port: number, socket: Socket | null | undefined): Error {
    const code = (err as { code?: unknown })?.code
    const msg = err instanceof Error ? err.message : String(err)
    const seen = presentedCertificate(socket)
    const key = hostKey(host, port)
    const pin = this.pins.get(key)
    if (seen && typeof code === 'string' && isCertificateRefusal(code)) {
      this.lastRefused.set(key, seen)
      if (pin && pin.fingerprint256 !== seen.fingerprint256) {
        return new CertificateTrustError('cert-changed', certificateInfoFromPeer(seen, key, pin.fingerprint256))
      }
      if (!pin) return new CertificateTrustError('awaiting-trust', certificateInfoFromPeer(seen, key))
      return new TransportError('tls', `TLS to ${key} failed: the pinned certificate is no longer valid (${msg})`, { code, host: key })
    }
    if (typeof code === 'string' && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /CERT|SSL/.test(code))) {
      return new TransportError('tls', `TLS to ${key} failed: ${msg}`, { code, host: key })
    }
    return new TransportError('network', `cannot reach ${key}: ${networkWords(typeof code === 'string' ? code : undefined, port) ?? msg}`, { ...(typeof code === 'string' ? { code } : {}), host: key })
  }

  /** the last certificate each host presented when TLS refused it (what the user is shown) */
  readonly lastRefused = new Map<string, tls.PeerCertificate>()

  /** closes the kept-alive sockets of every agent whose purpose matches (a connection going away) */
  dropAgents(purpose: (p: string) => boolean): void {
    for (const [k, a] of this.agents) {
      if (purpose(k.slice(0, k.indexOf('|')))) {
        a.agent.destroy()
        this.agents.delete(k)
      }
    }
  }

  destroy(): void {
    for (const a of this.agents.values()) a.agent.destroy()
    this.agents.clear()
  }
}

const REFUSALS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
  PIN_MISMATCH,
])
export function isCertificateRefusal(code: string): boolean {
  return REFUSALS.has(code)
}

/** the usual socket failures in words (the code stays in TransportError.details.code) */
function networkWords(code: string | undefined, port: number): string | undefined {
  switch (code) {
    case 'ECONNREFUSED':
      return `the connection was refused (nothing answers on port ${port})`
    case 'ETIMEDOUT':
      return 'no answer: the connection timed out'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to that address (host or network unreachable)'
    case 'ENOTFOUND':
      return 'that host name is not known to DNS'
    case 'EAI_AGAIN':
      return 'the host name could not be looked up (DNS did not answer)'
    case 'ECONNRESET':
      return 'the connection was reset'
    default:
      return undefined
  }
}
