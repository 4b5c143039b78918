/**
 * PoolManager: every saved pool connection of the app (PoolManagerApi + PoolHostAccess).
 *
 * Files in `dataDir`, through the one small-file store (main/storage/small-file.ts): connections.json
 * (saved connections with their remembered member addresses — never a password; ./connections-file.ts),
 * pins.json (certificate pins per host, main/xapi/trust.ts). Add, edit and forget change the list in
 * memory only after the disk took the change; a refused write is a sentence and nothing is applied.
 * Passwords live in the Keychain only (when remembered) or in memory for the app session.
 * With an InventoryCache, saved pools appear at construction as offline with `cachedAt` (from the
 * cache's metadata only, no records). An offline pool's last-known graph is not parsed into main:
 * a subscriber gets it through graphPieces(), read from the cache page by page as the subscriber's
 * queue pulls it, and nothing of it stays in main. Main loads a cached graph only for a pool that
 * needs it here: connect (the cached token and graph let the connection resume), graph() (the
 * read-only accessor: NUMA, console lookups, cache reseed, action planning). What a window's stream
 * leaves out of cached pages is the caller's to say (graphPieces `omit`). Every live diff is written to the cache after subscribers got
 * it, off the hot path.
 */
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { PinSummary, type ConnectionState, type HostCertificate } from '../../shared/contract/connection'
import { resetPieces, type ObjectRecord, type ObjectUpsert, type PoolDiff } from '../../shared/model/diff'
import { parseAddress } from '../xapi/client'
import { StoredDocument, type SmallFileProblem } from '../storage/small-file'
import type { StallRule } from '../xapi/transport'
import { HostTrust, PinStore, hostKey, pemFromPeer, pinFromPem } from '../xapi/trust'
import type { AddConnectionInput, CachedPage, EditConnectionInput, InventoryCache, PageSelection, PoolGraph, RawPoolDiff, PoolHostAccess, PoolManagerApi, Unsubscribe } from './api'
import { PoolConnection, type BackoffOptions, type SavedConnection } from './connection'
import type { InitialLoad } from './eventloop'
import type { Keychain } from './keychain'
import { connectionsFileSpec, type ConnectionsFile } from './connections-file'

/** the records of `scope` in main's graph of the pool, as pieces of a class reset (PoolDiff.scope) */
function* classPieces(conn: PoolConnection, scope: string[], maxUpserts: number): Generator<PoolDiff> {
  const size = Math.max(1, Math.floor(maxUpserts))
  const upserts: ObjectUpsert[] = []
  for (const cls of scope) for (const [ref, record] of conn.graph.all(cls)) upserts.push({ cls, ref, record })
  const count = Math.max(1, Math.ceil(upserts.length / size))
  for (let part = 0; part < count; part++) {
    const piece: PoolDiff = { connectionId: conn.id, seq: conn.seq, reset: false, scope, upserts: upserts.slice(part * size, (part + 1) * size), removes: [] }
    if (count > 1) piece.part = part
    if (part < count - 1) piece.more = true
    yield piece
  }
}

export interface PoolManagerOptions {
  /** directory for connections.json and pins.json (created, mode 0700) */
  dataDir: string
  keychain: Keychain
  /** offline inventory (main/cache); omitted = no cache */
  cache?: InventoryCache
  /** log sink (never receives passwords or session ids) */
  log?: (line: string) => void
  /** liveness/clock-skew probe period (ms), default 15000 */
  heartbeatMs?: number
  /** diff batching window (ms), default 50 */
  batchMs?: number
  /** how long to keep probing master + members after a loss before `failed` (ms), default 6 min */
  failoverGiveUpMs?: number
  /** reconnect backoff: initialMs 1000, maxMs 30000, factor 2, jitter 0.2 */
  reconnect?: BackoffOptions
  /** connections opened in parallel by connectAll(), default 4 */
  connectConcurrency?: number
  /** a connect that has not settled after this long gives its connectAll() slot to the next pool (ms), default 2 min */
  connectSlotMs?: number
  /** initial load strategy (default: the faster one measured, see eventloop.ts) */
  initialLoad?: InitialLoad
  /** server-side event.from timeout (s), default 30 */
  eventTimeoutS?: number
  /** per-call timeout (ms), default 60000 */
  callTimeoutMs?: number
  /** largest accepted response body (bytes), default 512 MiB */
  maxResponseBytes?: number
  /** the slow-answer rule: an answer that moves less than minBytes in windowMs is abandoned (default transport.ts DEFAULT_STALL, 4 KiB in 15 s) */
  stall?: StallRule
}

/** Connect All: a connect still unsettled after this long frees its slot (a big pool's sync takes seconds, not minutes) */
const CONNECT_SLOT_MS = 120_000

export class PoolManager implements PoolManagerApi, PoolHostAccess {
  private readonly conns = new Map<string, PoolConnection>()
  private readonly stateListeners = new Set<(s: ConnectionState) => void>()
  private readonly diffListeners = new Set<(d: PoolDiff) => void>()
  /** connections.json: the list changes here only after the disk took it */
  private readonly doc: StoredDocument<ConnectionsFile>
  readonly hostTrust: HostTrust
  private readonly log: (line: string) => void
  private readonly opts: PoolManagerOptions
  private closed = false
  /** saved pools whose cached graph is not in main's memory (loaded on first use in main) */
  private readonly pendingCache = new Set<string>()
  /** the password last written to the keychain per connection this session (no rewrite on every reconnect) */
  private readonly remembered = new Map<string, string>()
  /** keychain writes in flight (close() waits for them) */
  private readonly keychainWrites = new Set<Promise<void>>()

  constructor(opts: PoolManagerOptions) {
    this.opts = opts
    this.log = opts.log ?? (() => undefined)
    this.doc = new StoredDocument(connectionsFileSpec(opts.dataDir))
    this.hostTrust = new HostTrust(new PinStore(join(opts.dataDir, 'pins.json')))
    for (const p of this.fileProblems()) this.log(p.message)
    const cachedAt = this.cachedTimes()
    for (const saved of this.doc.value.connections) this.addConnectionObject(saved, cachedAt)
    void this.refreshStoredPasswords()
  }

  /** what reading connections.json and pins.json at start found wrong (each a sentence) */
  fileProblems(): SmallFileProblem[] {
    return [this.doc.problem, this.hostTrust.pins.problem].filter((p): p is SmallFileProblem => p !== undefined)
  }

  /**
   * What a connection learned about its pool (name, members, master, version) to disk, in the
   * background: the user's own fields come from the committed document, the learned ones from
   * memory; a failure is logged (the connection keeps working, the next start learns it again).
   */
  private saveLearned(): void {
    this.doc
      .update((d) => ({
        ...d,
        connections: d.connections.map((s) => {
          const c = this.conns.get(s.id)
          if (!c) return s
          return { ...c.saved, id: s.id, address: s.address, username: s.username, rememberPassword: s.rememberPassword, forceXmlRpc: s.forceXmlRpc, doNotCache: s.doNotCache }
        }),
      }))
      .catch((e: unknown) => this.log((e as Error).message))
  }

  private async refreshStoredPasswords(): Promise<void> {
    for (const c of this.conns.values()) {
      if (!c.saved.rememberPassword) continue
      try {
        const had = c.storedPassword
        c.storedPassword = (await this.opts.keychain.get(this.account(c.id))) !== undefined
        if (had !== c.storedPassword) this.emitState(c.state())
      } catch (e) {
        this.log(`keychain unavailable: ${(e as Error).message}`)
      }
    }
  }

  private account(id: string): string {
    return `xenpilot:connection:${id}`
  }

  /** last sync time per cached connection, from metadata only; undefined = the cache cannot list them */
  private cachedTimes(): Map<string, string> | undefined {
    const cache = this.opts.cache
    if (!cache?.cachedConnections) return undefined
    try {
      const out = new Map<string, string>()
      for (const c of cache.cachedConnections()) if (c.meta.lastSyncAt) out.set(c.connectionId, c.meta.lastSyncAt)
      return out
    } catch (e) {
      this.log(`cached connections could not be listed: ${(e as Error).message}`)
      return new Map()
    }
  }

  private addConnectionObject(saved: SavedConnection, cachedAt?: Map<string, string>): PoolConnection {
    const b = this.opts.reconnect ?? {}
    const conn = new PoolConnection(saved, {
      trust: this.hostTrust,
      heartbeatMs: this.opts.heartbeatMs ?? 15_000,
      batchMs: this.opts.batchMs ?? 50,
      failoverGiveUpMs: this.opts.failoverGiveUpMs ?? 6 * 60_000,
      backoff: { initialMs: b.initialMs ?? 1000, maxMs: b.maxMs ?? 30_000, factor: b.factor ?? 2, jitter: b.jitter ?? 0.2 },
      ...(this.opts.initialLoad ? { initialLoad: this.opts.initialLoad } : {}),
      eventTimeoutS: this.opts.eventTimeoutS ?? 30,
      callTimeoutMs: this.opts.callTimeoutMs ?? 60_000,
      ...(this.opts.maxResponseBytes ? { maxResponseBytes: this.opts.maxResponseBytes } : {}),
      ...(this.opts.stall ? { stall: this.opts.stall } : {}),
      log: this.log,
      claimPool: (id, uuid) => {
        for (const other of this.conns.values()) {
          if (other.id !== id && other.saved.poolUuid === uuid && other.connected) return other.id
        }
        return undefined
      },
      describeConnection: (id) => {
        const o = this.conns.get(id)
        return o ? (o.saved.poolName ?? o.saved.address) : id
      },
      onLoggedIn: (password) => this.rememberAccepted(conn, password),
      onState: (s) => this.emitState(s),
      onDiff: (d, o) => this.emitDiff(conn, d, o),
      save: () => this.saveLearned(),
    })
    this.conns.set(saved.id, conn)
    if (this.opts.cache && !saved.doNotCache) {
      if (!cachedAt) {
        // a cache without a metadata listing: load now, as before
        this.pendingCache.add(saved.id)
        this.ensureCacheLoaded(conn)
      } else {
        const at = cachedAt.get(saved.id)
        if (at !== undefined) {
          conn.cachedAt = at
          this.pendingCache.add(saved.id)
        }
      }
    }
    return conn
  }

  /** the pool's cached graph into memory, if it is still waiting for it */
  private ensureCacheLoaded(conn: PoolConnection): void {
    if (!this.pendingCache.delete(conn.id)) return
    const cache = this.opts.cache
    // a live graph (or none wanted any more) wins over the cached one
    if (!cache || conn.saved.doNotCache || conn.graph.size > 0) return
    try {
      const cached = cache.load(conn.id)
      if (cached) {
        conn.loadCached(cached.diff.upserts, cached.meta.token, cached.meta.lastSyncAt)
        if (cached.diff.seq > conn.seq) conn.seq = cached.diff.seq
      } else conn.cacheLost()
    } catch (e) {
      this.log(`cached inventory of ${conn.id} could not be read: ${(e as Error).message}`)
    }
  }

  /**
   * graphPieces() and scopedPieces(): lazily, when the subscriber's queue reaches them. An offline
   * pool main does not hold comes from the cache page by page (for a scope, only those classes'
   * rows); if the cached graph changes between two pages (the pool connected and main took the
   * graph over, or a reset/clear was written) the pieces start again with part 0 (from memory now,
   * or the cache's new graph), so the subscriber's staged copy is replaced, never completed from
   * two graphs.
   */
  private *pieces(id: string, maxUpserts: number, what: { omit: PageSelection } | { scope: string[]; omitFields: PageSelection['fields'] }): Generator<PoolDiff | RawPoolDiff> {
    const scope = 'scope' in what ? what.scope : undefined
    for (let attempt = 0; ; attempt++) {
      const conn = this.conns.get(id)
      if (!conn || this.closed) return
      const cache = this.opts.cache
      if (!this.pendingCache.has(id) || !cache?.readPages || attempt >= 3) {
        this.ensureCacheLoaded(conn)
        yield* scope ? classPieces(conn, scope, maxUpserts) : resetPieces(conn.snapshot(), maxUpserts)
        return
      }
      const pages = cache.readPages(id, maxUpserts, 'scope' in what ? { ...(what.omitFields ? { fields: what.omitFields } : {}), onlyClasses: what.scope } : what.omit)
      let prev: CachedPage | undefined
      let part = 0
      let changed = false
      for (let r = pages.next(); !r.done; r = pages.next()) {
        if (r.value === 'changed' || !this.pendingCache.has(id) || this.closed) {
          changed = true
          break
        }
        if (prev) yield this.cachedPiece(id, prev, part++, true, scope)
        prev = r.value
      }
      pages.return?.(undefined)
      if (changed) continue
      if (!prev) {
        // nothing cached (any more): the pool has no known objects (a damaged file set aside took them)
        if (this.pendingCache.delete(id)) conn.cacheLost()
        yield scope ? { connectionId: id, seq: conn.seq, reset: false, scope, upserts: [], removes: [] } : { connectionId: id, seq: conn.seq, reset: true, upserts: [], removes: [] }
        return
      }
      yield this.cachedPiece(id, prev, part, false, scope)
      return
    }
  }

  private cachedPiece(id: string, page: CachedPage, part: number, more: boolean, scope?: string[]): RawPoolDiff {
    const d: Omit<PoolDiff, 'upserts'> = scope ? { connectionId: id, seq: page.seq, reset: false, scope, removes: [] } : { connectionId: id, seq: page.seq, reset: true, removes: [] }
    // a graph that fits in one page is a complete reset
    if (part > 0 || more) d.part = part
    if (more) d.more = true
    if (page.meta.token !== undefined && !scope) d.token = page.meta.token
    return { raw: true, diff: d, upsertsJson: page.upsertsJson, count: page.count }
  }

  private emitState(s: ConnectionState): void {
    for (const l of this.stateListeners) {
      try {
        l(s)
      } catch (e) {
        this.log(`state listener failed: ${(e as Error).message}`)
      }
    }
  }

  private notifyDiff(d: PoolDiff): void {
    for (const l of this.diffListeners) {
      try {
        l(d)
      } catch (e) {
        this.log(`diff listener failed: ${(e as Error).message}`)
      }
    }
  }

  private emitDiff(conn: PoolConnection, d: PoolDiff, opts?: { cache: false }): void {
    this.notifyDiff(d)
    if (!this.opts.cache || conn.saved.doNotCache || opts?.cache === false) return
    let write = d
    if (d.reset && d.part !== undefined) {
      // a sync's reset in pieces: the cache takes the graph whole, once its last piece is out
      if (d.more === true) return
      write = conn.snapshot()
    }
    // subscribers (the UI) first; the SQLite write runs on a later turn
    setImmediate(() => this.writeCache(conn, write))
  }

  /** one batch of the pool into the offline cache, with the pool's metadata */
  private writeCache(conn: PoolConnection, d: PoolDiff): void {
    const cache = this.opts.cache
    if (cache && !conn.saved.doNotCache) {
      const s = conn.saved
      const meta = {
        ...(s.poolUuid ? { poolUuid: s.poolUuid } : {}),
        ...(s.poolName ? { poolName: s.poolName } : {}),
        memberAddresses: s.memberAddresses,
        ...(s.masterAddress ? { masterAddress: s.masterAddress } : {}),
        ...(s.xapiVersion ? { xapiVersion: s.xapiVersion } : {}),
        ...(s.transport ? { transport: s.transport } : {}),
        lastSyncAt: new Date().toISOString(),
        ...(d.token ? { token: d.token } : {}),
      }
      try {
        cache.write(d, meta)
      } catch (e) {
        this.log(`cache write for ${d.connectionId} failed: ${(e as Error).message}`)
      }
    }
  }

  private need(id: string): PoolConnection {
    const c = this.conns.get(id)
    if (!c) throw new Error(`no saved connection with id ${id}`)
    return c
  }

  // --- PoolManagerApi ----------------------------------------------------------------------------

  list(): ConnectionState[] {
    return [...this.conns.values()].map((c) => c.state())
  }

  get(id: string): ConnectionState | undefined {
    return this.conns.get(id)?.state()
  }

  /** `connect: false`: saved only, connected later (the servers a start is seeded with go through connectAll's bound) */
  async add(input: AddConnectionInput, opts: { connect?: boolean } = {}): Promise<ConnectionState> {
    const address = input.address.trim()
    parseAddress(address) // throws a clear error for a bad address
    if (!input.username.trim()) throw new Error('the user name is empty')
    if (input.rememberPassword) {
      // a password that could not be remembered: refused before anything is saved (no half-added server)
      const problem = await this.opts.keychain.unusable?.()
      if (problem) throw new Error(`The server was not added: its password cannot be remembered. ${problem}`)
    }
    const saved: SavedConnection = {
      id: randomUUID(),
      address,
      username: input.username.trim(),
      rememberPassword: input.rememberPassword,
      forceXmlRpc: Boolean(input.forceXmlRpc),
      doNotCache: Boolean(input.doNotCache),
      memberAddresses: [],
    }
    // on disk first: a refused write (a sentence naming the file and why) adds nothing, so a retry makes no duplicate
    await this.doc.update((d) => ({ ...d, connections: [...d.connections, saved] }))
    const conn = this.addConnectionObject(saved)
    await this.storePassword(conn, input.password)
    if (opts.connect !== false) void conn.connect(input.password)
    return conn.state()
  }

  /**
   * A password the user typed: kept in memory for this session; remembered in the keychain only
   * once the pool accepted it (rememberAccepted), so a wrong password is never saved. Not
   * remembering any more deletes the saved one at once.
   */
  private async storePassword(conn: PoolConnection, password: string | undefined): Promise<void> {
    if (password !== undefined) conn.setPassword(password)
    if (!conn.saved.rememberPassword) {
      this.remembered.delete(conn.id)
      await this.opts.keychain.delete(this.account(conn.id)).catch(() => undefined)
      conn.storedPassword = false
    }
  }

  /** the pool accepted `password` (a login succeeded): the moment to remember it, if the user asked to */
  private rememberAccepted(conn: PoolConnection, password: string): void {
    if (!conn.saved.rememberPassword || this.remembered.get(conn.id) === password) return
    this.remembered.set(conn.id, password)
    const write = this.opts.keychain.set(this.account(conn.id), password).then(
      () => {
        if (!this.conns.has(conn.id)) return void this.opts.keychain.delete(this.account(conn.id)).catch(() => undefined)
        conn.storedPassword = true
        this.emitState(conn.state())
      },
      (e: unknown) => {
        this.remembered.delete(conn.id)
        this.log(`the password of ${conn.saved.poolName ?? conn.saved.address} could not be remembered: ${(e as Error).message}`)
      },
    )
    this.keychainWrites.add(write)
    void write.finally(() => this.keychainWrites.delete(write))
  }

  async edit(input: EditConnectionInput): Promise<ConnectionState> {
    const conn = this.need(input.id)
    const before = conn.saved
    const next: SavedConnection = {
      ...before,
      ...(input.address !== undefined ? { address: input.address.trim() } : {}),
      ...(input.username !== undefined ? { username: input.username.trim() } : {}),
      ...(input.rememberPassword !== undefined ? { rememberPassword: input.rememberPassword } : {}),
      ...(input.forceXmlRpc !== undefined ? { forceXmlRpc: input.forceXmlRpc } : {}),
      ...(input.doNotCache !== undefined ? { doNotCache: input.doNotCache } : {}),
    }
    parseAddress(next.address)
    if (next.address !== before.address) {
      // another address may be another pool: forget where the old one's master was
      next.masterAddress = undefined
      next.memberAddresses = []
    }
    await this.doc.update((d) => ({ ...d, connections: d.connections.map((s) => (s.id === next.id ? next : s)) }))
    conn.saved = next
    if (input.password !== undefined || input.rememberPassword !== undefined) await this.storePassword(conn, input.password)
    if (next.rememberPassword && !before.rememberPassword && input.password === undefined) {
      // remember from now on the password the pool already accepted this session
      const inUse = conn.passwordInUse
      if (inUse !== undefined) this.rememberAccepted(conn, inUse)
    }
    if (next.doNotCache && !before.doNotCache) {
      const cache = this.opts.cache
      if (cache?.clear) cache.clear(conn.id)
      else cache?.forget(conn.id)
    }
    const reconnect = conn.connected && (next.address !== before.address || next.username !== before.username || next.forceXmlRpc !== before.forceXmlRpc || input.password !== undefined)
    if (reconnect) {
      await conn.disconnect()
      void conn.connect(undefined)
    } else if (input.password !== undefined && this.needsAnotherTry(conn)) {
      // a new password for a server that failed or asked for one: try it now (Edit → Save reconnects)
      this.ensureCacheLoaded(conn)
      void conn.connect(undefined)
    }
    return conn.state()
  }

  private async passwordFor(conn: PoolConnection): Promise<string | undefined> {
    if (!conn.saved.rememberPassword) return undefined
    try {
      const pw = await this.opts.keychain.get(this.account(conn.id))
      if (pw !== undefined) this.remembered.set(conn.id, pw) // already there: no rewrite after the login
      return pw
    } catch (e) {
      this.log(`keychain read failed: ${(e as Error).message}`)
      return undefined
    }
  }

  /** a connection whose last attempt ended without a connection, waiting for the user */
  private needsAnotherTry(conn: PoolConnection): boolean {
    const s = conn.state().status
    return s === 'auth-failed' || s === 'password-needed' || s === 'failed' || s === 'unreachable'
  }

  async connect(id: string, password?: string): Promise<void> {
    const conn = this.need(id)
    this.ensureCacheLoaded(conn) // the cached token lets the connection resume instead of resyncing
    if (password !== undefined) await this.storePassword(conn, password)
    await conn.connect(password ?? (await this.savedPassword(conn)))
  }

  /** the keychain's password when the connection has none in memory and the pool did not refuse it */
  private async savedPassword(conn: PoolConnection): Promise<string | undefined> {
    return conn.hasPasswordInMemory || conn.passwordRefused ? undefined : this.passwordFor(conn)
  }

  async disconnect(id: string): Promise<void> {
    await this.need(id).disconnect()
  }

  async forget(id: string): Promise<void> {
    const conn = this.need(id)
    // on disk first: a refused write leaves the server saved, connected and shown
    await this.doc.update((d) => ({ ...d, connections: d.connections.filter((s) => s.id !== id) }))
    await conn.disconnect()
    this.conns.delete(id)
    this.remembered.delete(id)
    await this.opts.keychain.delete(this.account(id)).catch(() => undefined)
    // pins of this pool's hosts, unless another saved connection still uses them
    const mine = new Set(savedHostKeys(conn))
    for (const other of this.conns.values()) for (const k of savedHostKeys(other)) mine.delete(k)
    // the server is forgotten; pins left behind by a refused write are only unused, never trusted for another server
    await this.hostTrust.pins.delete(mine).catch((e: unknown) => this.log((e as Error).message))
    this.opts.cache?.forget(id)
  }

  async trust(id: string, fingerprint256: string): Promise<void> {
    const conn = this.need(id)
    this.ensureCacheLoaded(conn)
    const pending = conn.pendingCertificate
    if (!pending) throw new Error('there is no certificate waiting for a decision on this connection')
    if (pending.fingerprint256 !== fingerprint256) throw new Error('the certificate to trust is not the one the host presented; review it again')
    const seen = this.hostTrust.lastRefused.get(pending.host)
    if (!seen || seen.fingerprint256 !== fingerprint256) throw new Error('the host now presents another certificate; review it again')
    await this.hostTrust.pins.set(pending.host, { ...pinFromPem(pemFromPeer(seen), 'user') })
    // answered now: the attempt goes on in the background and reports through its state
    void conn.connect(await this.savedPassword(conn))
  }

  certificates(id: string): HostCertificate[] | undefined {
    const conn = this.conns.get(id)
    if (!conn) return undefined
    const port = conn.port
    const master = savedHostKeys(conn)[0]
    const hosts = new Map<string, { name?: string; hostRef?: string }>()
    for (const k of savedHostKeys(conn)) hosts.set(k, {})
    for (const [ref, h] of this.graph(id)?.all('host') ?? []) {
      if (typeof h.address !== 'string' || !h.address) continue
      hosts.set(hostKey(h.address, port), { ...(typeof h.name_label === 'string' ? { name: h.name_label } : {}), hostRef: ref })
    }
    const rows = [...hosts].map(([key, known]): HostCertificate => {
      const pin = this.hostTrust.pins.get(key)
      return {
        host: key,
        ...known,
        master: key === master,
        ...(pin ? { pin: PinSummary.parse(pin) } : {}),
      }
    })
    return rows.sort((a, b) => Number(b.master) - Number(a.master) || (a.name ?? a.host).localeCompare(b.name ?? b.host))
  }

  async connectAll(): Promise<void> {
    const queue = [...this.conns.values()].filter((c) => !c.connected)
    const limit = Math.max(1, this.opts.connectConcurrency ?? 4)
    const slotMs = this.opts.connectSlotMs ?? CONNECT_SLOT_MS
    const worker = async (): Promise<void> => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        if (this.closed) return
        this.ensureCacheLoaded(c)
        const conn = c
        let timer: NodeJS.Timeout | undefined
        try {
          const attempt = conn.connect(await this.savedPassword(conn)).catch((e: unknown) => this.log(`connect ${conn.id} failed: ${(e as Error).message}`))
          // an attempt that does not settle (it should: every call has its time limit) must not hold the queue of 200 pools
          const slow = await Promise.race([attempt.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), slotMs)))])
          if (slow) this.log(`connect ${conn.id}: still connecting after ${Math.round(slotMs / 1000)} s; Connect All goes on with the next pool`)
        } catch (e) {
          this.log(`connect ${conn.id} failed: ${(e as Error).message}`)
        } finally {
          clearTimeout(timer)
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker))
  }

  async disconnectAll(): Promise<void> {
    await Promise.all([...this.conns.values()].map((c) => c.disconnect()))
  }

  onState(cb: (state: ConnectionState) => void): Unsubscribe {
    this.stateListeners.add(cb)
    return () => this.stateListeners.delete(cb)
  }

  onDiff(cb: (diff: PoolDiff) => void): Unsubscribe {
    this.diffListeners.add(cb)
    return () => this.diffListeners.delete(cb)
  }

  recache(id: string): void {
    const conn = this.conns.get(id)
    if (conn?.connected && !this.pendingCache.has(id)) this.writeCache(conn, conn.snapshot())
  }

  graphPieces(id: string, maxUpserts: number, opts?: { omit?: PageSelection }): Iterator<PoolDiff | RawPoolDiff> {
    return this.pieces(id, maxUpserts, { omit: opts?.omit ?? {} })
  }

  scopedPieces(id: string, classes: readonly string[], maxUpserts: number, opts?: { omitFields?: PageSelection['fields'] }): Iterator<PoolDiff | RawPoolDiff> {
    return this.pieces(id, maxUpserts, { scope: [...classes], omitFields: opts?.omitFields })
  }

  record(id: string, cls: string, ref: string): { record: ObjectRecord; source: 'live' | 'cache'; asOf?: string } | undefined {
    const conn = this.conns.get(id)
    if (!conn) return undefined
    if (!this.pendingCache.has(id)) {
      const record = conn.graph.get(cls, ref)
      if (!record) return undefined
      return conn.connected ? { record, source: 'live' } : { record, source: 'cache', ...(conn.cachedAt ? { asOf: conn.cachedAt } : {}) }
    }
    // an offline pool main does not hold: one row from the cache, the pool stays on disk
    const cached = this.opts.cache?.record?.(id, cls, ref)
    if (!cached) return undefined
    return { record: cached.record, source: 'cache', ...(cached.meta.lastSyncAt ? { asOf: cached.meta.lastSyncAt } : {}) }
  }

  call(id: string, method: string, params: unknown[]): Promise<unknown> {
    return this.need(id).call(method, params)
  }

  callAsync(id: string, method: string, params: unknown[], onProgress?: (progress: number, taskRef: string) => void): Promise<unknown> {
    return this.need(id).callAsync(method, params, onProgress)
  }

  /** asks the pool to cancel a task started with callAsync (its promise then rejects with TASK_CANCELLED) */
  cancelTask(id: string, taskRef: string): Promise<void> {
    return this.need(id).cancelTask(taskRef)
  }

  /**
   * Announces a planned disruption (master move, master reboot) for `forMs`: a loss within that
   * window is followed quietly (reconnecting with a "planned" detail, no offlineSince alarm).
   * Calls through call()/callAsync() of pool.designate_new_master, host.reboot/shutdown… do this
   * by themselves.
   */
  expectDisruption(id: string, forMs = 10 * 60_000): void {
    this.need(id).expectDisruptionFor(forMs)
  }

  graph(id: string): PoolGraph | undefined {
    const conn = this.conns.get(id)
    if (conn) this.ensureCacheLoaded(conn)
    return conn?.graph
  }

  /** measured server clock minus local clock (ms), from the heartbeat */
  clockSkewMs(id: string): number | undefined {
    return this.conns.get(id)?.clockSkewMs
  }

  async close(): Promise<void> {
    this.closed = true
    await this.disconnectAll()
    this.hostTrust.destroy()
    // a connection list write queued by the last state change, or a member pin written by a
    // connect that was cut short, must land before the caller removes or reuses the data folder
    await Promise.all([this.doc.idle(), this.hostTrust.pins.idle(), ...this.keychainWrites])
  }

  // --- PoolHostAccess ------------------------------------------------------------------------------

  connectHostTls(id: string, hostAddress: string): Promise<{ socket: import('node:tls').TLSSocket; sessionId: string }> {
    return this.need(id).connectHostTls(hostAddress)
  }

  hostHttp(id: string): import('../xapi/http').PoolHttpContext {
    return this.need(id).httpContext()
  }
}

/**
 * The pin keys (address:port) of a saved connection's servers: the master (or the address typed
 * when no master is known yet) first, then the address typed and the members the pool reported.
 * An address that does not parse (a damaged file) names no pin.
 */
function savedHostKeys(conn: PoolConnection): string[] {
  const port = conn.port
  const keys: string[] = []
  for (const a of [conn.saved.masterAddress ?? conn.saved.address, conn.saved.address, ...conn.saved.memberAddresses]) {
    try {
      const p = parseAddress(a, port)
      const k = hostKey(p.host, p.port)
      if (!keys.includes(k)) keys.push(k)
    } catch {
      // not an address: nothing pinned under it
    }
  }
  return keys
}
