/**
 * An in-memory PoolManagerApi for the contract suite: behaves like the real one as far as the
 * doors can tell (add → awaiting-trust, trust → connected with a graph, diffs, forget), so the
 * suite tests the doors and services, not XAPI. The real PoolManager is tested against the simulator.
 */
import type { ConnectionState } from '../../../shared/contract'
import { resetPieces, type PoolDiff } from '../../../shared/model/diff'
import type { AddConnectionInput, EditConnectionInput, PoolGraph, PoolManagerApi, RawPoolDiff, Unsubscribe } from '../../../main/pools/api'
import { ObjectGraph } from '../../../main/pools/graph'

export class FakePools implements PoolManagerApi {
  private readonly conns = new Map<string, ConnectionState>()
  private readonly graphs = new Map<string, PoolDiff>()
  private readonly stateCbs = new Set<(s: ConnectionState) => void>()
  private readonly diffCbs = new Set<(d: PoolDiff) => void>()
  private nextId = 1
  closed = false
  readonly fingerprint = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89'

  list(): ConnectionState[] {
    return [...this.conns.values()]
  }
  get(id: string): ConnectionState | undefined {
    return this.conns.get(id)
  }
  async add(input: AddConnectionInput): Promise<ConnectionState> {
    const id = `conn-${this.nextId++}`
    const state: ConnectionState = {
      id,
      address: input.address,
      username: input.username,
      label: input.address,
      rememberPassword: input.rememberPassword,
      hasPassword: input.rememberPassword && input.password.length > 0,
      forceXmlRpc: input.forceXmlRpc ?? false,
      doNotCache: input.doNotCache ?? false,
      status: 'connecting',
    }
    this.set(state)
    queueMicrotask(() =>
      this.set({
        ...state,
        status: 'awaiting-trust',
        certificate: { fingerprint256: this.fingerprint, subject: `CN=${input.address}`, issuer: `CN=${input.address}`, validFrom: '2026-01-01T00:00:00.000Z', validTo: '2036-01-01T00:00:00.000Z', host: input.address },
      }),
    )
    return state
  }
  async edit(input: EditConnectionInput): Promise<ConnectionState> {
    const cur = this.require(input.id)
    const next: ConnectionState = { ...cur, ...(input.address ? { address: input.address } : {}), ...(input.username ? { username: input.username } : {}) }
    this.set(next)
    return next
  }
  async connect(id: string): Promise<void> {
    this.set({ ...this.require(id), status: 'connecting' })
  }
  async disconnect(id: string): Promise<void> {
    this.set({ ...this.require(id), status: 'disconnected' })
  }
  async forget(id: string): Promise<void> {
    this.require(id)
    this.conns.delete(id)
    this.graphs.delete(id)
  }
  async trust(id: string, fingerprint256: string): Promise<void> {
    const cur = this.require(id)
    if (fingerprint256 !== this.fingerprint) throw { code: 'CERTIFICATE_MISMATCH', message: `The certificate of ${cur.address} is not the one you confirmed.`, params: [fingerprint256] }
    const { certificate: _omit, ...rest } = cur
    this.set({ ...rest, status: 'connected', label: `Pool at ${cur.address}`, transport: 'json-rpc' })
    const diff: PoolDiff = {
      connectionId: id,
      seq: 1,
      reset: true,
      upserts: [
        { cls: 'pool', ref: 'OpaqueRef:pool-1', record: { uuid: 'pool-uuid-1', name_label: `Pool at ${cur.address}` } },
        { cls: 'VM', ref: 'OpaqueRef:vm-1', record: { uuid: 'vm-uuid-1', name_label: 'web-01', power_state: 'Halted' } },
      ],
      removes: [],
    }
    this.graphs.set(id, diff)
    this.emitDiff(diff)
  }
  async connectAll(): Promise<void> {}
  async disconnectAll(): Promise<void> {
    for (const c of this.conns.values()) this.set({ ...c, status: 'disconnected' })
  }
  onState(cb: (state: ConnectionState) => void): Unsubscribe {
    this.stateCbs.add(cb)
    return () => this.stateCbs.delete(cb)
  }
  onDiff(cb: (diff: PoolDiff) => void): Unsubscribe {
    this.diffCbs.add(cb)
    return () => this.diffCbs.delete(cb)
  }
  /** the pool's graph as one reset diff (the fake keeps it so) */
  snapshot(id: string): PoolDiff | undefined {
    return this.graphs.get(id)
  }
  graph(id: string): PoolGraph | undefined {
    const snap = this.snapshot(id)
    if (!snap) return this.conns.has(id) ? new ObjectGraph() : undefined
    const g = new ObjectGraph()
    for (const u of snap.upserts) g.upsert(u.cls, u.ref, u.record)
    return g
  }
  *graphPieces(id: string, max: number): Generator<PoolDiff | RawPoolDiff> {
    const snap = this.snapshot(id)
    if (snap) yield* resetPieces(snap, max)
  }
  /** one piece whatever its size (the fake's graphs are small) */
  *scopedPieces(id: string, classes: readonly string[], _max: number): Generator<PoolDiff | RawPoolDiff> {
    const upserts = (this.snapshot(id)?.upserts ?? []).filter((u) => classes.includes(u.cls))
    yield { connectionId: id, seq: this.snapshot(id)?.seq ?? 0, reset: false, scope: [...classes], upserts, removes: [] }
  }
  recache(): void {}
  async call(): Promise<unknown> {
    throw { code: 'MESSAGE_METHOD_UNKNOWN', message: 'not in the fake', params: [] }
  }
  async callAsync(): Promise<unknown> {
    throw { code: 'MESSAGE_METHOD_UNKNOWN', message: 'not in the fake', params: [] }
  }
  async close(): Promise<void> {
    this.closed = true
  }

  /** test helper: a VM of a connected pool changes power state */
  powerOn(id: string, seq: number): void {
    this.emitDiff({ connectionId: id, seq, reset: false, upserts: [{ cls: 'VM', ref: 'OpaqueRef:vm-1', record: { uuid: 'vm-uuid-1', name_label: 'web-01', power_state: 'Running' } }], removes: [] })
  }

  private emitDiff(d: PoolDiff): void {
    for (const cb of this.diffCbs) cb(d)
  }
  private set(s: ConnectionState): void {
    this.conns.set(s.id, s)
    for (const cb of this.stateCbs) cb(s)
  }
  private require(id: string): ConnectionState {
    const c = this.conns.get(id)
    if (!c) throw new Error(`no connection ${id}`)
    return c
  }
}
