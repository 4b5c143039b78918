/**
 * The surface main/services uses to drive pool connections (implemented by main/pools/manager.ts).
 * Fixed early so the app shell, cache and console can be built against it in parallel.
 */
import type { ConnectionState, HostCertificate } from '../../shared/contract/connection'
import type { ObjectRecord, PoolDiff } from '../../shared/model/diff'

export interface AddConnectionInput {
  address: string
  username: string
  password: string
  rememberPassword: boolean
  forceXmlRpc?: boolean
  doNotCache?: boolean
}

export interface EditConnectionInput {
  id: string
  address?: string
  username?: string
  password?: string
  rememberPassword?: boolean
  forceXmlRpc?: boolean
  doNotCache?: boolean
}

export type Unsubscribe = () => void

/** A XAPI failure as the app handles it: code + params + a sentence for people. */
export interface XapiFailure {
  code: string
  params: string[]
  message: string
}

/**
 * One pool's objects as main holds them (PoolManagerApi.graph; implemented by main/pools/graph.ts).
 * Records are main's own objects: never change them, never keep them past the request. XAPI
 * records carry both sides of a relation (VBD.VM and VM.VBDs), so `linked` needs no index.
 */
export interface PoolGraph {
  /** objects of every class */
  readonly size: number
  get(cls: string, ref: string): ObjectRecord | undefined
  /** every object of a class, by ref */
  all(cls: string): ReadonlyMap<string, ObjectRecord>
  /** the classes that have objects */
  classes(): string[]
  /** an object of any class by ref */
  byRef(ref: string): { cls: string; record: ObjectRecord } | undefined
  byUuid(uuid: string): { cls: string; ref: string; record: ObjectRecord } | undefined
  /** the refs `field` of (cls, ref) points at (a ref or a set of refs) that exist as `target`: linked('VM', vm, 'VBDs', 'VBD') */
  linked(cls: string, ref: string, field: string, target: string): string[]
  /** "VM “web-01”" for error sentences */
  describeRef(ref: string): string | undefined
}

export interface PoolManagerApi {
  /** every saved connection, in the order the user added them */
  list(): ConnectionState[]
  get(id: string): ConnectionState | undefined
  /** saves the connection (password in the keychain when remembered) and starts connecting */
  add(input: AddConnectionInput): Promise<ConnectionState>
  edit(input: EditConnectionInput): Promise<ConnectionState>
  connect(id: string, password?: string): Promise<void>
  disconnect(id: string): Promise<void>
  /** disconnects, deletes the saved connection, its password, pins and cached inventory */
  forget(id: string): Promise<void>
  /** pin the certificate the user saw (must equal the one presented) and continue connecting */
  trust(id: string, fingerprint256: string): Promise<void>
  /**
   * each server of the connection (the address saved, the master, the members the pool reported
   * and the hosts of its graph), master first, with the certificate pinned for it and the pin's
   * source; undefined for an unknown id. Optional: test doubles without pins leave it out.
   */
  certificates?(id: string): HostCertificate[] | undefined
  connectAll(): Promise<void>
  disconnectAll(): Promise<void>
  /** state changes of any connection */
  onState(cb: (state: ConnectionState) => void): Unsubscribe
  /** batched object diffs of any connection (≤ one per pool per ~50 ms) */
  onDiff(cb: (diff: PoolDiff) => void): Unsubscribe
  /**
   * THE read-only accessor of a pool's state in main (NUMA, cache reseed, console lookup, action
   * planning): the connection's live graph, or for an offline pool its last-known graph (read from
   * the offline cache into main on first use). No copy is made: read what you need during the call.
   * undefined: no such connection.
   */
  graph(id: string): PoolGraph | undefined
  /**
   * The connection's graph for a new subscriber, as reset pieces of at most `maxUpserts` upserts
   * (PoolDiff.part/more; one complete reset when it fits), produced as the caller pulls them: from
   * memory when main holds the graph, else straight from the offline cache page by page, without
   * loading it into main (`omit`: what such pages leave out; from memory records go whole). Live
   * diffs emitted meanwhile are the caller's to send after the pieces.
   */
  graphPieces(id: string, maxUpserts: number, opts?: { omit?: PageSelection }): Iterator<PoolDiff | RawPoolDiff>
  /**
   * Every record of `classes` in the connection, as pieces of at most `maxUpserts` upserts carrying
   * `scope: classes` (PoolDiff.scope; `part`/`more` when more than one), produced as the caller
   * pulls: from main's graph when it holds the pool, else from the offline cache (only those
   * classes' rows are read, without `omitFields`; the pool is not loaded into main).
   */
  scopedPieces(id: string, classes: readonly string[], maxUpserts: number, opts?: { omitFields?: PageSelection['fields'] }): Iterator<PoolDiff | RawPoolDiff>
  /**
   * One whole record: from main's graph when it holds the pool, else from the offline cache (one
   * row; the pool is not loaded into main), with the time it was last synchronised. undefined: no
   * such object.
   */
  record?(id: string, cls: string, ref: string): { record: ObjectRecord; source: 'live' | 'cache'; asOf?: string } | undefined
  /**
   * writes a connected pool's whole live graph to the offline cache again (after the cache was
   * cleared: the pool's later diffs are incremental and would land on an empty cache); nothing for
   * a pool that is not connected or not cached
   */
  recache(id: string): void
  /** a XAPI call on the pool's master with the pool's session (session param added by the callee) */
  call(id: string, method: string, params: unknown[]): Promise<unknown>
  /** Async.<method> + wait for the task through events; resolves with the task's decoded result */
  callAsync(id: string, method: string, params: unknown[], onProgress?: (progress: number, taskRef: string) => void): Promise<unknown>
  close(): Promise<void>
}

/** What the offline cache (main/cache) offers the pools layer. Implemented by main/cache. */
export interface CachedPoolMeta {
  poolUuid?: string
  poolName?: string
  /** member addresses for master failover, as last seen */
  memberAddresses: string[]
  masterAddress?: string
  xapiVersion?: string
  transport?: 'json-rpc' | 'xml-rpc'
  /** ISO time of the last successful sync (last applied batch) */
  lastSyncAt?: string
  /** last event.from token, for resume */
  token?: string
}

/**
 * One page of a cached graph (InventoryCache.readPages): the upserts as JSON text, built from the
 * stored record text without parsing it (`[{"cls":…,"ref":…,"record":<stored JSON>},…]`).
 */
export interface CachedPage {
  seq: number
  meta: CachedPoolMeta
  upsertsJson: string
  count: number
}

/**
 * A reset piece whose upserts are still JSON text (graphPieces of an offline pool). Main only:
 * a door that can splice text (browser mode) forwards it as is; for any other the services parse
 * it into a PoolDiff first.
 */
export interface RawPoolDiff {
  raw: true
  diff: Omit<PoolDiff, 'upserts'>
  upsertsJson: string
  count: number
}

export interface InventoryCache {
  /** the last-known graph of a connection as one reset diff, with its metadata */
  load(connectionId: string): { diff: PoolDiff; meta: CachedPoolMeta } | undefined
  /** apply one batch (one transaction); `reset` replaces the connection's whole graph */
  write(diff: PoolDiff, meta?: Partial<CachedPoolMeta>): void
  /** delete everything cached for the connection */
  forget(connectionId: string): void
  /**
   * drop the connection's cached inventory and metadata but keep its action history (used when the
   * user turns on "do not cache": what XenPilot did there stays on record)
   */
  clear?(connectionId: string): void
  /**
   * the last-known graph page by page as the caller pulls (JSON text, not kept; `omit`: record
   * fields left out per class — the cache keeps them); 'changed'
   * (then the end) when the cached graph was replaced or cleared between two pages; nothing when
   * nothing is cached
   */
  readPages?(connectionId: string, pageSize: number, omit?: PageSelection): Iterator<CachedPage | 'changed'>
  /** one record of the last-known graph, with its metadata (lastSyncAt: "as of"); undefined: not cached */
  record?(connectionId: string, cls: string, ref: string): { record: ObjectRecord; meta: CachedPoolMeta } | undefined
  /** connections with cached inventory and their metadata, without records (cold start) */
  cachedConnections?(): { connectionId: string; meta: CachedPoolMeta }[]
}

/** which rows and fields of a cached graph InventoryCache.readPages reads */
export interface PageSelection {
  /** record fields left out, per class (the cache keeps them) */
  fields?: Readonly<Record<string, readonly string[]>>
  /** classes left out */
  classes?: Iterable<string>
  /** only these classes (none: every class not left out) */
  onlyClasses?: Iterable<string>
}

/** Main-process only (never crosses the contract): what the console bridge needs from a pool. */
export interface PoolHostAccess {
  /**
   * A TLS socket to `hostAddress` (a member of the connected pool) on the pool's port, verified
   * against that host's pinned certificate, plus the pool's current session id.
   */
  connectHostTls(id: string, hostAddress: string): Promise<{ socket: import('node:tls').TLSSocket; sessionId: string }>
  /** HTTP to the pool's hosts on their pinned agents (main/xapi/http.ts: httpGet, httpGetStream, hostRequest) */
  hostHttp(id: string): import('../xapi/http').PoolHttpContext
}
