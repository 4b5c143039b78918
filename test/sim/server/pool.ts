/**
 * Live state of one simulated pool: its database, sessions, tasks, encoders and the knowledge of
 * which host is master. Independent of HTTP, so dispatcher tests run without sockets.
 */
import { randomUUID } from 'node:crypto'
import { SimXapiError, type SimHostSpec, type SimPoolSpec, type SimRecord } from '../model'
import { Db, newRef } from './db'
import { JsonEncoder } from './jsonrpc'
import { NULL_REF, schemaFor, type Schema } from './schema'
import { refreshSr } from './storage-rules'
import { Tasks } from './tasks'
import { xapiDate } from './time'
import { XmlEncoder } from './xmlrpc'

export interface SessionInfo {
  ref: string
  uname: string
  hostRef: string
  originator: string
}

export class PoolState {
  readonly schema: Schema
  readonly db: Db
  readonly xml: XmlEncoder
  readonly json: JsonEncoder
  readonly tasks: Tasks
  readonly sessions = new Map<string, SessionInfo>()
  /** session used by SimPoolHandle.call (in-process, as pool admin) */
  readonly adminSession: string
  /** aborted on toolstack restart: blocked event.from calls return */
  restartSignal = new AbortController()
  /** PEM of each host's current certificate (host.get_server_certificate) */
  readonly certificates = new Map<string, string>()
  /** called after a toolstack restart (the HTTP layer cuts open connections) */
  onRestart: () => void = () => {}
  private nextDomid = new Map<string, number>()
  /**
   * The NUMA policy each running domain was built under (xenopsd places a VM when it starts; a
   * later host.set_numa_affinity_policy leaves running domains as they are). Keyed by VM ref; the
   * entry holds only while the VM keeps that domid (a restart is a new build under the new policy).
   */
  readonly numaBootPolicy = new Map<string, { domid: number; policy: string }>()
  /** listening host servers: cache warming runs only while the pool is served */
  private served = 0
  private warming: Promise<void> | undefined

  constructor(
    readonly spec: SimPoolSpec,
    public opDurationMs: number,
    readonly log: (line: string) => void = () => {},
  ) {
    this.schema = schemaFor(spec.xapiRelease)
    this.db = new Db(spec.objects, this.schema)
    this.xml = new XmlEncoder(this.schema)
    this.json = new JsonEncoder(this.schema)
    this.tasks = new Tasks(this.db, this.xml)
    const master = spec.hosts[0]
    if (!master) throw new Error(`pool ${spec.name} has no hosts`)
    this.adminSession = this.openSession(spec.username, master.ref, 'xenpilot-sim')
    // what an SR allows follows its PBDs, disks and storage manager (xapi_sr_operations.ml)
    for (const sr of [...this.db.table('SR').keys()]) refreshSr(this, sr)
  }

  get poolRef(): string {
    const first = this.db.table('pool').keys().next()
    if (first.done) throw new Error(`pool ${this.spec.name} has no pool object`)
    return first.value
  }

  get poolRecord(): SimRecord {
    return this.db.must('pool', this.poolRef)
  }

  get masterRef(): string {
    const m = this.poolRecord['master']
    return typeof m === 'string' ? m : (this.spec.hosts[0]?.ref ?? NULL_REF)
  }

  hostSpec(ref: string): SimHostSpec | undefined {
    return this.spec.hosts.find((h) => h.ref === ref)
  }

  hostAddress(ref: string): string {
    const rec = this.db.get('host', ref)
    const a = rec?.['address']
    return typeof a === 'string' && a ? a : (this.hostSpec(ref)?.address ?? '')
  }

  get masterAddress(): string {
    return this.hostAddress(this.masterRef)
  }

  isMaster(hostRef: string): boolean {
    return hostRef === this.masterRef
  }

  openSession(uname: string, hostRef: string, originator: string): string {
    const ref = newRef()
    this.sessions.set(ref, { ref, uname, hostRef, originator })
    const now = xapiDate()
    this.db.insert(
      'session',
      ref,
      this.db.blank('session', {
        uuid: randomUUID(),
        this_host: hostRef,
        this_user: NULL_REF,
        last_active: now,
        pool: false,
        other_config: {},
        is_local_superuser: true,
        subject: NULL_REF,
        validation_time: now,
        auth_user_sid: '',
        auth_user_name: uname,
        rbac_permissions: [],
        tasks: [],
        parent: NULL_REF,
        originator,
      }),
    )
    return ref
  }

  closeSession(ref: string): void {
    this.sessions.delete(ref)
    this.db.remove('session', ref)
  }

  checkSession(ref: unknown): SessionInfo {
    const s = typeof ref === 'string' ? this.sessions.get(ref) : undefined
    if (!s) throw new SimXapiError(['SESSION_INVALID', typeof ref === 'string' ? ref : String(ref)])
    return s
  }

  /** every client session ends (the in-process admin session survives) */
  expireAllSessions(): void {
    for (const ref of [...this.sessions.keys()]) if (ref !== this.adminSession) this.closeSession(ref)
  }

  allocDomid(hostRef: string): number {
    let highest = this.nextDomid.get(hostRef)
    if (highest === undefined) {
      // the fleet's running VMs already hold domids on this host: a new domain never reuses one
      highest = 0
      for (const vm of this.db.table('VM').values()) if (vm['resident_on'] === hostRef && typeof vm['domid'] === 'number') highest = Math.max(highest, vm['domid'])
    }
    const n = highest + 1
    this.nextDomid.set(hostRef, n)
    return n
  }

  /** a host server of this pool started (+1) or stopped (-1) listening; the first start warms the caches */
  serving(delta: 1 | -1): void {
    this.served = Math.max(0, this.served + delta)
    if (this.served > 0) void this.warmCaches()
  }

  /**
   * Encode every record once for each wire protocol the pool speaks, in the background, so the
   * first get_all_records or event.from finds its fragments cached (bench-10k: ~200 MB of text
   * that would otherwise be built inside the first call). Runs in slices of ~8 ms between I/O so
   * the server stays responsive; the caches are keyed by record identity, so a call answered
   * mid-warm-up is correct either way. Stops when no host of the pool listens any more.
   */
  warmCaches(): Promise<void> {
    this.warming ??= this.warm().catch((e: unknown) => this.log(`cache warm-up failed: ${e instanceof Error ? e.message : String(e)}`))
    return this.warming
  }

  private async warm(): Promise<void> {
    const json = this.spec.jsonRpc
    // the biggest tables first: VM records are what a client's first get_all_records asks for
    const tables = [...this.db.tables].sort((a, b) => (a[0] === 'VM' ? -1 : b[0] === 'VM' ? 1 : b[1].size - a[1].size))
    for (const [cls, table] of tables) {
      if (!this.schema.classes.has(cls)) continue
      const entries = [...table]
      let i = 0
      while (i < entries.length) {
        await new Promise((r) => setImmediate(r))
        if (this.served === 0) {
          this.warming = undefined
          return
        }
        const until = performance.now() + 8
        while (i < entries.length && performance.now() < until) {
          for (const end = Math.min(entries.length, i + 16); i < end; i++) {
            const e = entries[i]
            // a record replaced since the snapshot will be encoded when it is asked for
            if (!e || table.get(e[0]) !== e[1]) continue
            // the member form: what get_all_records sends (the bare record is a view into it)
            this.xml.member(cls, e[0], e[1])
            if (json) this.json.member(cls, e[0], e[1])
          }
        }
      }
    }
  }

  restartToolstack(): void {
    this.restartSignal.abort()
    this.restartSignal = new AbortController()
    this.expireAllSessions()
    this.tasks.dropAll()
    this.db.invalidateTokens()
    this.onRestart()
  }
}
