/**
 * One saved pool connection: the state machine behind ConnectionState.
 *
 * connect: log in (following HOST_IS_SLAVE) → read pool/hosts (refuse a pool another connection
 * already holds) → pin members' certificates fetched through the trusted master session → a second
 * session for events → resume from the cached token or full sync → connected; then a heartbeat
 * (host.get_servertime) and the event loop run until something fails.
 *
 * A first attempt at a server that never connected (no pool known yet) that cannot reach it tries
 * FIRST_TRIES times in all, then ends `unreachable` with the reason: it is not "reconnecting".
 * A pool that connected before (start-up with its cached inventory) is offline instead: probed
 * like after a loss (below), "The pool does not answer … trying the master and N other members". No password → `password-needed` (a question, not a
 * failure); a refused password → `auth-failed`, and the password is not used again until the user
 * types one (`passwordRefused`).
 *
 * Loss (heartbeat or event stream fails): every known address (master + members) is probed in
 * parallel, HOST_IS_SLAVE leads to the new master, the event loop resumes from its token; retries
 * back off exponentially with jitter until `failoverGiveUpMs` has passed, then `failed`. A master
 * move seen in the event stream (pool.master changed) or announced by a planned call is followed
 * without raising an alarm (no offlineSince).
 */
import type { CertificateInfo, ConnectionState, ConnectionStatus } from '../../shared/contract/connection'
import { PIECE_UPSERTS, type ObjectRecord, type PoolDiff } from '../../shared/model/diff'
import { XapiClient, formatAddress, parseAddress } from '../xapi/client'
import { CertificateTrustError, TransportError, XapiError, isXapiError } from '../xapi/errors'
import type { PoolHttpContext } from '../xapi/http'
import type { CallProgress, StallRule } from '../xapi/transport'
import { hostKey, pinFromPem, type HostTrust } from '../xapi/trust'
import { EventLoop, type InitialLoad, type PartialDiff } from './eventloop'
import { LOAD_POOL_CHARS, ObjectGraph, StringPool } from './graph'
import { TaskTracker } from './tasks'

/**
 * after an answer refused for what it holds (its size, or a value nested deeper than the parsers
 * take), the first retry waits this long (ms); then ×4 each time, up to SIZE_RETRY_MAX_MS
 */
export const SIZE_RETRY_FIRST_MS = 60_000
export const SIZE_RETRY_MAX_MS = 30 * 60_000

/**
 * An answer XenPilot refused for what it holds (transport 'too-large' or 'too-deep'): asking again
 * at once would get the same answer and the same refusal. A server that never connected ends
 * 'failed' with the reason; a pool that connected before waits SIZE_RETRY_FIRST_MS, then longer.
 */
function isRefusedAnswer(e: unknown): e is TransportError {
  return e instanceof TransportError && (e.kind === 'too-large' || e.kind === 'too-deep')
}

export interface SavedConnection {
  id: string
  address: string
  username: string
  rememberPassword: boolean
  forceXmlRpc: boolean
  doNotCache: boolean
  poolUuid?: string
  poolName?: string
  masterAddress?: string
  /** host[:port] of every pool member as last seen (failover candidates) */
  memberAddresses: string[]
  xapiVersion?: string
  transport?: 'json-rpc' | 'xml-rpc'
}

export interface BackoffOptions {
  /** first retry delay (ms), default 1000 */
  initialMs?: number
  /** cap (ms), default 30000 */
  maxMs?: number
  /** growth per attempt, default 2 */
  factor?: number
  /** ± fraction of random spread, default 0.2 */
  jitter?: number
}

export interface ConnectionRuntime {
  trust: HostTrust
  heartbeatMs: number
  batchMs: number
  failoverGiveUpMs: number
  backoff: Required<BackoffOptions>
  initialLoad?: InitialLoad
  eventTimeoutS: number
  callTimeoutMs: number
  maxResponseBytes?: number
  /** the slow-answer rule (main/xapi/transport.ts DEFAULT_STALL when omitted) */
  stall?: StallRule
  log: (line: string) => void
  /** the pool accepted this connection's password (a login succeeded): the moment to remember it */
  onLoggedIn?: (password: string) => void
  /** returns the id of another connection already holding this pool uuid */
  claimPool: (id: string, poolUuid: string) => string | undefined
  describeConnection: (id: string) => string
  onState: (s: ConnectionState) => void
  /** `cache: false`: the subscribers' only (a restore of what the cache already holds, see EventLoopOptions.emit) */
  onDiff: (d: PoolDiff, opts?: { cache: false }) => void
  save: () => void
}

/** methods that move the master or take it down on purpose: the loss that follows is expected */
const PLANNED_DISRUPTIONS = new Set(['pool.designate_new_master', 'pool.emergency_transition_to_master', 'pool.eject', 'host.reboot', 'host.shutdown', 'host.restart_agent', 'pool.disable_ha', 'pool.enable_ha'])

/** classes whose changes the connection itself reacts to (tasks, master moves, member addresses) */
const WATCHED_CLASSES: ReadonlySet<string> = new Set(['task', 'pool', 'host'])

type Runtime = 'idle' | 'connecting' | 'connected' | 'recovering' | 'closing'

/** tries of a first attempt (not a loss) before it ends `unreachable` */
export const FIRST_TRIES = 3

export class PoolConnection {
  readonly graph = new ObjectGraph()
  readonly tasks: TaskTracker
  seq = 0
  /** token restored from the cache (resume instead of full sync when the pool accepts it) */
  cachedToken: string | undefined
  cachedAt: string | undefined
  private status: ConnectionStatus = 'disconnected'
  private detail: string | undefined
  private certificate: CertificateInfo | undefined
  private attempt = 0
  private nextRetryAt: string | undefined
  private offlineSince: string | undefined
  private lastEventAt: string | undefined
  private lastEventEmit = 0
  /** when the pool last answered event.from (ms): the heartbeat is not needed while it answers */
  private lastActivityMs = 0
  private runtime: Runtime = 'idle'
  private rpc: XapiClient | undefined
  private events: XapiClient | undefined
  private loop: EventLoop | undefined
  private heartbeat: NodeJS.Timeout | undefined
  private retryTimer: NodeJS.Timeout | undefined
  /** answers refused for what they hold since the user last asked to connect (isRefusedAnswer): each retry waits longer */
  private sizeFailures = 0
  private lostAt = 0
  private masterRef: string | undefined
  private expectDisruptionUntil = 0
  private generation = 0
  /** kept in memory only, for reconnects during this app session */
  private password: string | undefined
  /** the call of the connection attempt in flight (published while connecting/reconnecting) */
  private progress: CallProgress | undefined
  private lastProgressEmit = 0
  clockSkewMs: number | undefined

  constructor(
    public saved: SavedConnection,
    private readonly rt: ConnectionRuntime,
  ) {
    this.tasks = new TaskTracker(
      () => (this.rpc && this.runtime === 'connected' ? this.rpc : undefined),
      (ref) => this.graph.get('task', ref),
      (ref) => this.graph.describeRef(ref),
    )
  }

  get id(): string {
    return this.saved.id
  }
  get connected(): boolean {
    return this.runtime === 'connected'
  }
  get sessionId(): string | undefined {
    return this.rpc?.sessionId
  }
  get port(): number {
    return parseAddress(this.saved.masterAddress ?? this.saved.address).port
  }
  get hasPasswordInMemory(): boolean {
    return this.password !== undefined
  }
  /** the password of the live session (the pool accepted it), for remembering it later */
  get passwordInUse(): string | undefined {
    return this.runtime === 'connected' ? this.password : undefined
  }

  /** set by the manager: the keychain holds this connection's password */
  storedPassword = false
  /** the pool refused the password last tried: it is not used again (nor shown as saved) until the user types one */
  passwordRefused = false
  /** a session was opened in this run (a failure after it is a loss, "Connection lost") */
  private liveThisSession = false

  state(): ConnectionState {
    const s = this.saved
    return {
      id: s.id,
      address: s.address,
      username: s.username,
      label: s.poolName || s.address,
      rememberPassword: s.rememberPassword,
      hasPassword: (this.storedPassword && !this.passwordRefused) || this.password !== undefined,
      passwordStored: this.storedPassword && !this.passwordRefused,
      forceXmlRpc: s.forceXmlRpc,
      doNotCache: s.doNotCache,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(s.poolUuid ? { poolUuid: s.poolUuid } : {}),
      ...(s.masterAddress ? { masterAddress: s.masterAddress } : {}),
      ...(this.status === 'connected' && this.rpc?.protocol ? { transport: this.rpc.protocol } : s.transport ? { transport: s.transport } : {}),
      ...(s.xapiVersion ? { xapiVersion: s.xapiVersion } : {}),
      ...(this.lastEventAt ? { lastEventAt: this.lastEventAt } : {}),
      ...(this.status === 'reconnecting' || (this.status === 'connecting' && this.attempt > 0)
        ? { attempt: this.attempt, ...(this.nextRetryAt ? { nextRetryAt: this.nextRetryAt } : {}) }
        : {}),
      ...(this.certificate && (this.status === 'awaiting-trust' || this.status === 'cert-changed') ? { certificate: this.certificate } : {}),
      ...(this.cachedAt && this.status !== 'connected' ? { cachedAt: this.cachedAt } : {}),
      ...(this.offlineSince && this.status !== 'connected' ? { offlineSince: this.offlineSince } : {}),
      ...(this.progress && (this.status === 'connecting' || this.status === 'reconnecting')
        ? { progress: { method: this.progress.method, bytes: this.progress.bytes, since: new Date(this.progress.startedAt).toISOString() } }
        : {}),
    }
  }

  private set(status: ConnectionStatus, extra: { detail?: string; certificate?: CertificateInfo } = {}): void {
    this.status = status
    this.detail = extra.detail
    this.certificate = extra.certificate
    if (status !== 'reconnecting' && status !== 'connecting') this.nextRetryAt = undefined
    if (status !== 'connecting' && status !== 'reconnecting') this.progress = undefined
    this.rt.onState(this.state())
  }

  /**
   * A call of the connection's clients moved (transport.ts onProgress). While an attempt is in
   * flight it is what the user sees ("reading the pool: 3 KiB received"): published when the call
   * changes and at most twice a second while its bytes grow.
   */
  private onCallProgress(p: CallProgress): void {
    if (this.runtime !== 'connecting' && this.runtime !== 'recovering') return
    const changed = this.progress?.method !== p.method || this.progress.startedAt !== p.startedAt
    this.progress = p
    const now = Date.now()
    if (changed || now - this.lastProgressEmit >= 500) {
      this.lastProgressEmit = now
      if (this.status === 'connecting' || this.status === 'reconnecting') this.rt.onState(this.state())
    }
  }

  setPassword(pw: string | undefined): void {
    this.password = pw
    if (pw !== undefined) this.passwordRefused = false
  }

  /** the pending certificate the user is asked about */
  get pendingCertificate(): CertificateInfo | undefined {
    return this.status === 'awaiting-trust' || this.status === 'cert-changed' ? this.certificate : undefined
  }

  // ----------------------------------------------------------------------------------------------

  async connect(password: string | undefined): Promise<void> {
    if (password !== undefined) this.setPassword(password)
    if (this.runtime === 'connected') return
    // connecting: an attempt is in flight, unless it is waiting to try again (then Retry tries now)
    if (this.runtime === 'connecting' && this.retryTimer === undefined) return
    this.clearRetry()
    if (this.password === undefined) {
      // nothing failed: the pool has not been asked yet
      this.runtime = 'idle'
      this.set('password-needed', {
        detail: this.passwordRefused ? 'The pool refused the last password; enter it again to connect.' : 'Enter the password to connect; XenPilot has none for this server in this session.',
      })
      return
    }
    const gen = ++this.generation
    this.runtime = 'connecting'
    this.attempt = 0
    // the user (or a start) asks: an answer refused earlier is fetched again once, without the longer waits
    this.sizeFailures = 0
    this.set('connecting')
    try {
      await this.establish(gen, [this.saved.masterAddress ?? this.saved.address, this.saved.address], false)
    } catch (e) {
      this.handleFailure(gen, e)
    }
  }

  /**
   * A try of a first attempt could not reach the pool: try again (master and known members, with
   * backoff) up to FIRST_TRIES in all, then `unreachable` with the reason. Never "reconnecting":
   * there was no connection to lose.
   */
  private retryFirst(gen: number, cause: Error): void {
    this.attempt++
    const where = this.saved.masterAddress ?? this.saved.address
    if (this.attempt >= FIRST_TRIES) {
      this.runtime = 'idle'
      this.attempt = 0
      this.set('unreachable', { detail: `${where} could not be reached (${FIRST_TRIES} tries${this.otherMembers().length > 0 ? `, with ${this.otherMembers().length} other known member${this.otherMembers().length === 1 ? '' : 's'}` : ''}): ${sentence(cause.message)}` })
      return
    }
    const b = this.rt.backoff
    const wait = Math.round(Math.min(b.maxMs, b.initialMs * b.factor ** (this.attempt - 1)) * (1 - b.jitter + Math.random() * 2 * b.jitter))
    this.runtime = 'connecting'
    this.nextRetryAt = new Date(Date.now() + wait).toISOString()
    this.status = 'connecting'
    this.detail = `Try ${this.attempt} of ${FIRST_TRIES} failed: ${sentence(cause.message)}`
    this.certificate = undefined
    this.progress = undefined
    this.rt.onState(this.state())
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      if (gen !== this.generation || this.runtime !== 'connecting') return
      this.nextRetryAt = undefined
      this.detail = undefined
      this.rt.onState(this.state())
      const candidates = [this.saved.masterAddress ?? this.saved.address, ...this.saved.memberAddresses, this.saved.address]
      this.establish(gen, candidates, true).catch((err: unknown) => this.handleFailure(gen, err))
    }, wait)
  }

  /** known member addresses other than the master's */
  private otherMembers(): string[] {
    const master = this.saved.masterAddress ?? this.saved.address
    return [...new Set(this.saved.memberAddresses)].filter((a) => a !== master)
  }

  /** one full connection attempt over `candidates` (probed in parallel when `probeAll`) */
  private async establish(gen: number, candidates: string[], probeAll: boolean): Promise<void> {
    const rpc = await this.openSession(candidates, probeAll, 'rpc')
    if (gen !== this.generation) {
      void rpc.logout()
      return
    }
    this.rpc = rpc
    this.liveThisSession = true
    this.passwordRefused = false
    if (this.password !== undefined) this.rt.onLoggedIn?.(this.password)
    const pools = (await rpc.call('pool.get_all_records')) as Record<string, ObjectRecord>
    const [poolRef, pool] = Object.entries(pools)[0] ?? []
    if (!poolRef || !pool) throw new TransportError('bad-response', 'the server has no pool object')
    const poolUuid = String(pool.uuid ?? '')
    const other = this.rt.claimPool(this.id, poolUuid)
    if (other) {
      void rpc.logout()
      this.rpc = undefined
      throw new DuplicatePoolError(`This pool is already connected as “${this.rt.describeConnection(other)}”; a second connection to the same pool is refused.`)
    }
    if (this.saved.poolUuid && this.saved.poolUuid !== poolUuid) {
      this.rt.log(`connection ${this.id}: the address now leads to another pool (${poolUuid}); the cached inventory is replaced`)
      this.cachedToken = undefined
    }
    this.masterRef = typeof pool.master === 'string' ? pool.master : undefined
    const hosts = (await rpc.call('host.get_all_records')) as Record<string, ObjectRecord>
    const master = this.masterRef ? hosts[this.masterRef] : undefined
    const sw = (master?.software_version ?? {}) as Record<string, string>
    const port = rpc.port
    const members = Object.values(hosts)
      .map((h) => (typeof h.address === 'string' && h.address ? formatAddress(h.address, port) : undefined))
      .filter((a): a is string => a !== undefined)
    const masterName = typeof master?.name_label === 'string' ? master.name_label : undefined
    this.saved = {
      ...this.saved,
      poolUuid,
      poolName: (typeof pool.name_label === 'string' && pool.name_label) || masterName || this.saved.address,
      masterAddress: rpc.address,
      memberAddresses: members,
      xapiVersion: sw.xapi ?? sw.product_version ?? (master ? `${String(master.API_version_major)}.${String(master.API_version_minor)}` : undefined),
      transport: rpc.protocol,
    }
    this.rt.save()
    // the event session's login and the member pins are independent round trips: overlap them
    const events = new XapiClient(this.clientOptions(rpc.address, 'events', rpc.protocol))
    await Promise.all([this.pinMembers(rpc, hosts), events.login()])
    if (gen !== this.generation) {
      void events.logout()
      return
    }
    this.events = events
    const loop = new EventLoop({
      client: events,
      graph: this.graph,
      batchMs: this.rt.batchMs,
      eventTimeoutS: this.rt.eventTimeoutS,
      ...(this.rt.initialLoad ? { initialLoad: this.rt.initialLoad } : {}),
      // the first sync's records go out in pieces as they arrive (issue 20: the tree fills while the rest is read)
      syncPieceUpserts: PIECE_UPSERTS,
      emit: (d, o) => this.emitDiff(d, o),
      onChange: (cls, ref, rec) => this.onChange(cls, ref, rec),
      changeClasses: WATCHED_CLASSES,
      onActivity: () => this.onActivity(),
      log: (l) => this.rt.log(`connection ${this.id}: ${l}`),
    })
    const token = this.loop?.token ?? this.cachedToken
    this.loop?.stop()
    this.loop = loop
    let resumed = false
    if (token && this.graph.size > 0) resumed = await loop.resume(token)
    if (!resumed) await loop.fullSync()
    this.cachedToken = undefined
    if (gen !== this.generation) return
    this.runtime = 'connected'
    this.attempt = 0
    this.offlineSince = undefined
    this.lostAt = 0
    this.set('connected')
    this.startHeartbeat(gen)
    loop.run().then(
      () => undefined,
      (e: unknown) => this.lost(gen, e),
    )
  }

  private clientOptions(address: string, purpose: string, protocol?: 'json-rpc' | 'xml-rpc'): ConstructorParameters<typeof XapiClient>[0] {
    return {
      address,
      username: this.saved.username,
      password: this.password ?? '',
      trust: this.rt.trust,
      mode: this.saved.forceXmlRpc ? 'xml-rpc' : (protocol ?? 'auto'),
      purpose: `${purpose}:${this.id}`,
      timeoutMs: this.rt.callTimeoutMs,
      ...(this.rt.maxResponseBytes ? { maxResponseBytes: this.rt.maxResponseBytes } : {}),
      ...(this.rt.stall ? { stall: this.rt.stall } : {}),
      onProgress: (p) => this.onCallProgress(p),
      describeRef: (ref) => this.graph.describeRef(ref),
    }
  }

  /**
   * Logs in at the first candidate (probeAll=false) or at all of them in parallel, keeping the first
   * that reaches the master (members answer HOST_IS_SLAVE, which XapiClient follows).
   */
  private async openSession(candidates: string[], probeAll: boolean, purpose: string): Promise<XapiClient> {
    const unique = [...new Set(candidates.filter(Boolean))]
    if (!probeAll || unique.length === 1) {
      const c = new XapiClient(this.clientOptions(unique[0] ?? this.saved.address, purpose, this.saved.transport))
      await c.login({ timeoutMs: Math.min(this.rt.callTimeoutMs, 20_000) })
      return c
    }
    const clients = unique.map((a) => new XapiClient(this.clientOptions(a, purpose, this.saved.transport)))
    const attempts = clients.map((c) => c.login({ timeoutMs: Math.min(this.rt.callTimeoutMs, 20_000) }).then(() => c))
    try {
      const winner = await Promise.any(attempts)
      // the others may have reached the master too: close their sessions
      void Promise.allSettled(attempts).then((rs) => {
        for (const r of rs) if (r.status === 'fulfilled' && r.value !== winner) void r.value.logout()
      })
      return winner
    } catch (e) {
      const errors = e instanceof AggregateError ? (e.errors as unknown[]) : [e]
      // the most telling failure wins: wrong password > certificate > anything else
      const auth = errors.find((x) => isXapiError(x, 'SESSION_AUTHENTICATION_FAILED'))
      const cert = errors.find((x) => x instanceof CertificateTrustError)
      throw auth ?? cert ?? errors[0]
    }
  }

  /**
   * Pins each member's certificate as the pool itself reports it (host.get_server_certificate over
   * the already-trusted master session), so failover to a member is verified, not blindly trusted.
   * A member that already has a pin keeps it (a user decision is never overwritten).
   */
  private async pinMembers(rpc: XapiClient, hosts: Record<string, ObjectRecord>): Promise<void> {
    const port = rpc.port
    await Promise.all(
      Object.entries(hosts).map(async ([ref, h]) => {
        if (typeof h.address !== 'string' || !h.address) return
        const key = hostKey(h.address, port)
        if (this.rt.trust.pins.get(key)) return
        if (h.address === rpc.host) {
          // CA-trusted master without a pin: nothing to add
          return
        }
        try {
          const pem = await rpc.call('host.get_server_certificate', [ref])
          if (typeof pem === 'string' && pem.includes('BEGIN CERTIFICATE')) await this.rt.trust.pins.set(key, pinFromPem(pem, 'pool'))
        } catch (e) {
          this.rt.log(`connection ${this.id}: could not fetch the certificate of member ${key}: ${(e as Error).message}`)
        }
      }),
    )
  }

  private emitDiff(d: PartialDiff, opts?: { restore: true }): void {
    // the pieces of one reset share its seq
    const piece = d.reset && d.part !== undefined
    if (!piece || d.part === 0) this.seq++
    // "as of" is the time of the last update the graph (and the cache) holds, not the last connect
    // (issue 15); a reset in pieces is held once its last piece is
    if (piece ? d.more !== true : d.upserts.length > 0 || d.removes.length > 0) this.cachedAt = new Date().toISOString()
    this.rt.onDiff({ connectionId: this.id, seq: this.seq, ...d }, opts ? { cache: false } : undefined)
  }

  private onActivity(): void {
    const now = Date.now()
    this.lastActivityMs = now
    this.lastEventAt = new Date(now).toISOString()
    // the timestamp is for people: refresh the published state at most every 5 s
    if (this.runtime === 'connected' && now - this.lastEventEmit > 5000) {
      this.lastEventEmit = now
      this.rt.onState(this.state())
    }
  }

  private onChange(cls: string, ref: string, rec: ObjectRecord | undefined): void {
    if (cls === 'task') this.tasks.onTask(ref, rec)
    else if (cls === 'pool' && rec && typeof rec.master === 'string' && this.masterRef && rec.master !== this.masterRef && this.runtime === 'connected') {
      const host = this.graph.get('host', rec.master)
      const address = typeof host?.address === 'string' ? formatAddress(host.address, this.port) : undefined
      this.masterRef = rec.master
      this.rt.log(`connection ${this.id}: pool master moved to ${address ?? rec.master}; following it`)
      this.expectDisruptionUntil = Date.now() + 5 * 60_000
      if (address) {
        this.saved = { ...this.saved, masterAddress: address }
        this.rt.save()
        const gen = this.generation
        // let the event that announced it reach subscribers first
        setTimeout(() => this.lost(gen, new TransportError('network', 'the pool master moved')), 0)
      }
    } else if (cls === 'host' && rec && typeof rec.address === 'string' && rec.address) {
      const a = formatAddress(rec.address, this.port)
      if (!this.saved.memberAddresses.includes(a)) {
        this.saved = { ...this.saved, memberAddresses: [...this.saved.memberAddresses, a] }
        this.rt.save()
      }
    }
  }

  /** a call that may move the master (designate_new_master, reboot…) announces the disruption */
  expectDisruption(method: string): void {
    if (PLANNED_DISRUPTIONS.has(method.replace(/^Async\./, ''))) this.expectDisruptionUntil = Date.now() + 10 * 60_000
  }

  /** the caller knows the master is about to go away on purpose (e.g. a rolling upgrade) */
  expectDisruptionFor(ms: number): void {
    this.expectDisruptionUntil = Date.now() + ms
  }

  private startHeartbeat(gen: number): void {
    this.stopHeartbeat()
    const beat = async (): Promise<void> => {
      const rpc = this.rpc
      if (!rpc || gen !== this.generation || this.runtime !== 'connected') return
      // the pool answered event.from less than a beat ago (at idle every eventTimeoutS): alive, nothing to ask —
      // the next beat is a full interval after that answer (issue 20: per-pool idle cost, 200 pools)
      const quiet = Date.now() - this.lastActivityMs
      if (quiet < this.rt.heartbeatMs) {
        this.heartbeat = setTimeout(() => void beat(), this.rt.heartbeatMs - quiet)
        this.heartbeat.unref?.()
        return
      }
      const t0 = Date.now()
      try {
        const ref = this.masterRef
        const server = await rpc.call('host.get_servertime', [ref], { timeoutMs: Math.max(5000, Math.min(this.rt.heartbeatMs, 20_000)) })
        const t1 = Date.now()
        if (typeof server === 'string') {
          const ts = Date.parse(server)
          if (!Number.isNaN(ts)) this.clockSkewMs = ts - (t0 + t1) / 2
        }
      } catch (e) {
        if (gen !== this.generation) return
        if (e instanceof XapiError && e.code !== 'SESSION_INVALID' && e.code !== 'HOST_IS_SLAVE') {
          // the pool answered: alive, whatever the error
        } else {
          this.lost(gen, e)
          return
        }
      }
      if (gen === this.generation && this.runtime === 'connected') {
        this.heartbeat = setTimeout(() => void beat(), this.rt.heartbeatMs)
        this.heartbeat.unref?.()
      }
    }
    this.heartbeat = setTimeout(() => void beat(), this.rt.heartbeatMs)
    this.heartbeat.unref?.()
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearTimeout(this.heartbeat)
    this.heartbeat = undefined
  }

  /** the live connection failed: tear down and recover */
  private lost(gen: number, e: unknown): void {
    if (gen !== this.generation || this.runtime === 'closing' || this.runtime === 'idle') return
    if (this.runtime === 'recovering') return
    this.rt.log(`connection ${this.id}: lost (${(e as Error)?.message ?? String(e)})`)
    this.teardown(false)
    if (isXapiError(e, 'SESSION_AUTHENTICATION_FAILED') || e instanceof CertificateTrustError) {
      this.runtime = 'idle'
      this.handleFailure(gen, e)
      return
    }
    this.runtime = 'recovering'
    this.lostAt = Date.now()
    this.attempt = 0
    const planned = Date.now() < this.expectDisruptionUntil
    if (!planned) this.offlineSince ??= new Date().toISOString()
    // first probe right away: a planned master move is usually already complete
    this.scheduleRetry(gen, e, 0)
  }

  private scheduleRetry(gen: number, cause: unknown, delayMs?: number): void {
    const b = this.rt.backoff
    if (this.lostAt && Date.now() - this.lostAt > this.rt.failoverGiveUpMs) {
      this.runtime = 'idle'
      const mins = Math.round(this.rt.failoverGiveUpMs / 60_000)
      const others = this.otherMembers().length
      this.set('failed', {
        detail: `Gave up after ${mins >= 1 ? `${mins} min` : `${Math.round(this.rt.failoverGiveUpMs / 1000)} s`}: ${others > 0 ? `neither the master nor any of the ${others} other known member${others === 1 ? '' : 's'} answered` : 'the server did not answer'} (${(cause as Error)?.message ?? String(cause)}).`,
      })
      this.tasks.failAll(new Error('the connection to the pool was lost'))
      return
    }
    this.attempt++
    const base = Math.min(b.maxMs, b.initialMs * b.factor ** Math.max(0, this.attempt - 1))
    // an answer refused for what it holds would be fetched (and refused) again at once: wait longer
    // each time (the count is not reset by a connection that works for a while and then meets the
    // same value again in an event: only the user's Connect resets it)
    const sizeFailure = isRefusedAnswer(cause)
    if (sizeFailure) this.sizeFailures++
    const sizeWait = sizeFailure ? Math.min(SIZE_RETRY_MAX_MS, SIZE_RETRY_FIRST_MS * 4 ** (this.sizeFailures - 1)) : undefined
    const wait = sizeWait ?? delayMs ?? Math.round(base * (1 - b.jitter + Math.random() * 2 * b.jitter))
    this.nextRetryAt = new Date(Date.now() + wait).toISOString()
    const planned = Date.now() < this.expectDisruptionUntil
    this.status = 'reconnecting'
    this.detail = sizeFailure
      ? `${(cause as Error).message}. XenPilot tries again in ${Math.round(wait / 60_000)} min rather than fetch it again at once.`
      : planned
      ? 'The pool master is changing (planned); following it.'
      : `${this.liveThisSession ? 'Connection lost' : 'The pool does not answer'} (${(cause as Error)?.message ?? String(cause)}); ${this.otherMembers().length > 0 ? `trying the master and ${this.otherMembers().length} other member${this.otherMembers().length === 1 ? '' : 's'}` : 'trying the server again'}.`
    this.certificate = undefined
    this.rt.onState(this.state())
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      if (gen !== this.generation || this.runtime !== 'recovering') return
      const candidates = [this.saved.masterAddress ?? this.saved.address, ...this.saved.memberAddresses, this.saved.address]
      this.establish(gen, candidates, true).catch((err: unknown) => {
        if (gen !== this.generation) return
        this.teardown(false)
        if (err instanceof TransportError || (err instanceof XapiError && (err.code === 'HOST_IS_SLAVE' || err.code === 'SESSION_INVALID'))) {
          this.runtime = 'recovering'
          this.scheduleRetry(gen, err)
        } else {
          this.runtime = 'idle'
          this.handleFailure(gen, err)
        }
      })
    }, wait)
  }

  /**
   * the pool connected before: its inventory is known (cached or from earlier in this session). Not
   * saved.poolUuid: that is saved as soon as pool.get_all_records answers, before the rest is read.
   */
  private hasInventory(): boolean {
    return this.cachedAt !== undefined || this.graph.size > 0
  }

  private handleFailure(gen: number, e: unknown): void {
    if (gen !== this.generation) return
    this.teardown(false)
    this.runtime = 'idle'
    if (e instanceof CertificateTrustError) {
      this.set(e.outcome, { certificate: e.certificate, detail: e.message })
    } else if (isXapiError(e, 'SESSION_AUTHENTICATION_FAILED')) {
      this.password = undefined
      this.passwordRefused = true
      this.set('auth-failed', { detail: `The pool refused the user name “${this.saved.username}” or its password; enter the password again to connect.` })
    } else if (e instanceof DuplicatePoolError) {
      this.set('failed', { detail: e.message })
    } else if (isRefusedAnswer(e) && !this.hasInventory()) {
      // a server that never connected and answers what XenPilot refuses (too large, nested too deep):
      // fetching the same answer again would be refused again; say so and let the user decide (Connect)
      this.set('failed', { detail: `${sentence(e.message)} XenPilot does not fetch it again on its own; Connect tries once more.` })
    } else if (e instanceof TransportError && e.kind === 'stalled') {
      // a pool that trickles will trickle again: say so and let the user decide (Retry)
      this.set('failed', { detail: e.message })
    } else if ((e instanceof TransportError || isXapiError(e, 'HOST_IS_SLAVE')) && this.saved.poolUuid !== undefined) {
      // a pool connected before (its inventory is cached) that does not answer now: it is offline;
      // keep probing the master and its members as after a loss, until failoverGiveUpMs
      this.runtime = 'recovering'
      this.lostAt ||= Date.now()
      this.offlineSince ??= new Date().toISOString()
      this.scheduleRetry(gen, e)
    } else if (e instanceof TransportError || isXapiError(e, 'HOST_IS_SLAVE')) {
      // a server that never connected: a few tries, then unreachable
      this.retryFirst(gen, e as Error)
    } else {
      this.set('failed', { detail: (e as Error)?.message ?? String(e) })
    }
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  private teardown(logout: boolean): void {
    this.stopHeartbeat()
    this.loop?.stop()
    const rpc = this.rpc
    const events = this.events
    this.rpc = undefined
    this.events = undefined
    if (logout) {
      void rpc?.logout()
      void events?.logout()
    }
    this.dropSockets()
  }

  /** sockets kept alive for this connection go too: a reconnect must handshake (and verify) again */
  private dropSockets(): void {
    const suffix = `:${this.id}`
    this.rt.trust.dropAgents((p) => p.endsWith(suffix))
  }

  async disconnect(): Promise<void> {
    this.generation++
    this.clearRetry()
    const wasActive = this.runtime !== 'idle'
    this.runtime = 'closing'
    this.stopHeartbeat()
    this.loop?.stop()
    this.loop?.flush()
    const rpc = this.rpc
    const events = this.events
    this.rpc = undefined
    this.events = undefined
    this.loop = undefined
    await Promise.all([rpc?.logout(), events?.logout()])
    this.dropSockets()
    this.tasks.failAll(new Error('disconnected'))
    this.runtime = 'idle'
    this.attempt = 0
    this.offlineSince = undefined
    if (wasActive || this.status !== 'disconnected') {
      // cachedAt stays the time of the last update received (emitDiff), as the cache records it
      this.set('disconnected')
    }
  }

  /** a call on the master with this connection's session */
  async call(method: string, params: readonly unknown[]): Promise<unknown> {
    const rpc = this.rpc
    if (!rpc || this.runtime !== 'connected') throw new Error(`“${this.saved.poolName ?? this.saved.address}” is not connected`)
    this.expectDisruption(method)
    return rpc.call(method, params)
  }

  async callAsync(method: string, params: readonly unknown[], onProgress?: (progress: number, taskRef: string) => void): Promise<unknown> {
    const wire = method.startsWith('Async.') ? method : `Async.${method}`
    const ref = await this.call(wire, params)
    if (typeof ref !== 'string') throw new TransportError('bad-response', `${wire} did not return a task reference`)
    return this.tasks.watch(ref, wire, onProgress)
  }

  async cancelTask(taskRef: string): Promise<void> {
    await this.call('task.cancel', [taskRef])
  }

  /** host address for the console bridge: the pool's port, verified against that host's pin */
  async connectHostTls(hostAddress: string): Promise<{ socket: import('node:tls').TLSSocket; sessionId: string }> {
    const rpc = this.rpc
    if (!rpc?.sessionId || this.runtime !== 'connected') throw new Error(`“${this.saved.poolName ?? this.saved.address}” is not connected`)
    const { host, port } = parseAddress(hostAddress, rpc.port)
    const socket = await this.rt.trust.connectTls(host, port)
    return { socket, sessionId: rpc.sessionId }
  }

  /** what main/xapi/http.ts needs to reach this pool's hosts (session, pins, who is a member) */
  httpContext(): PoolHttpContext {
    const label = `“${this.saved.poolName ?? this.saved.address}”`
    return {
      trust: this.rt.trust,
      port: this.rpc?.port ?? this.port,
      label,
      sessionId: () => (this.runtime === 'connected' ? this.rpc?.sessionId : undefined),
      memberPort: (address) => {
        const port = this.rpc?.port ?? this.port
        for (const h of this.graph.all('host').values()) if (h.address === address) return port
        for (const m of this.saved.memberAddresses) {
          const a = parseAddress(m, port)
          if (a.host === address) return a.port
        }
        return undefined
      },
    }
  }

  /** restores the last-known graph (offline cache) */
  /** the cached inventory this pool was shown from is gone (the cache file was damaged and set aside): it no longer says "as of" */
  cacheLost(): void {
    if (this.cachedAt === undefined || this.graph.size > 0) return
    this.cachedAt = undefined
    this.rt.onState(this.state())
  }

  loadCached(upserts: readonly { cls: string; ref: string; record: ObjectRecord }[], token: string | undefined, cachedAt: string | undefined): void {
    this.graph.clear()
    const strings = new StringPool(LOAD_POOL_CHARS)
    for (const u of upserts) this.graph.upsert(u.cls, u.ref, u.record, strings)
    this.cachedToken = token
    this.cachedAt = cachedAt
  }

  snapshot(): PoolDiff {
    return { connectionId: this.id, seq: this.seq, reset: true, upserts: this.graph.toUpserts(), removes: [], ...((this.loop?.token ?? this.cachedToken) ? { token: this.loop?.token ?? this.cachedToken } : {}) }
  }

  /** token of the live event loop (for the cache) */
  get token(): string | undefined {
    return this.loop?.token
  }
}

/** a message as the end of a sentence: a capital letter is kept, a final period added */
function sentence(message: string): string {
  const m = message.trim()
  return /[.!?…]$/.test(m) ? m : `${m}.`
}

export class DuplicatePoolError extends Error {
  override name = 'DuplicatePoolError'
}
