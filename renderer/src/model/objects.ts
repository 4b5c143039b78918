/**
 * The renderer's copy of every pool's object graph, fed by `pool.diff` batches, plus the derived
 * indexes the tree, search and details need. Plain TypeScript (no Vue): the Pinia store wraps it
 * and bumps version counters; tests drive it directly.
 *
 * Indexes are maintained incrementally per upsert/remove (old keys out, new keys in), so applying
 * a batch costs O(batch), never O(fleet). A reset batch clears and rebuilds in one pass; a reset in
 * pieces (PoolDiff.part) is built aside and swapped in with its last piece, unless it is a live
 * sync's (PoolDiff.live) and the window shows nothing of the pool yet (a first connect): then the
 * pieces are shown as they come.
 *
 * Classes no view reads are not kept (shared/model/slim.ts), except those a view asked for in a
 * pool (`keep`, the objects store's scopes: usePoolScope); their records arrive as class resets
 * (PoolDiff.scope) that replace what is held of those classes.
 */
import type { ObjectUpsert, PoolDiff } from '../../../shared/model/diff'
import { RENDERER_UNUSED_CLASSES, RENDERER_UNUSED_FIELDS } from '../../../shared/model/slim'
import type { XapiRecords } from '../../../shared/xapi/records.generated'

export type Rec = Record<string, unknown>
export type Table = Map<string, Rec>

/** Records as the generated types describe them; every field read is still checked at runtime. */
export type Typed<C extends keyof XapiRecords> = Partial<XapiRecords[C]> & Rec

/**
 * key → set of refs; Sets keep insertion order so iteration is stable between batches. A key with
 * one ref holds the ref itself, not a Set: most keys of the guest-metrics and IP indexes have one
 * (a Set costs ≈200 bytes; 30,000 of them in a 20,000-VM fleet). get() then answers a new Set.
 */
export class MultiIndex {
  private readonly map = new Map<string, string | Set<string>>()
  add(key: string, ref: string): void {
    const s = this.map.get(key)
    if (s === undefined) this.map.set(key, ref)
    else if (typeof s === 'string') {
      if (s !== ref) this.map.set(key, new Set([s, ref]))
    } else s.add(ref)
  }
  delete(key: string, ref: string): void {
    const s = this.map.get(key)
    if (s === undefined) return
    if (typeof s === 'string') {
      if (s === ref) this.map.delete(key)
      return
    }
    s.delete(ref)
    if (s.size === 0) this.map.delete(key)
  }
  get(key: string): ReadonlySet<string> {
    const s = this.map.get(key)
    return s === undefined ? EMPTY : typeof s === 'string' ? new Set([s]) : s
  }
  keys(): IterableIterator<string> {
    return this.map.keys()
  }
  *entries(): IterableIterator<[string, ReadonlySet<string>]> {
    for (const [key, s] of this.map) yield [key, typeof s === 'string' ? new Set([s]) : s]
  }
  get size(): number {
    return this.map.size
  }
  clear(): void {
    this.map.clear()
  }
}
const EMPTY: ReadonlySet<string> = new Set()
const NO_CLASSES: ReadonlySet<string> = new Set()

interface IndexDef {
  name: IndexName
  classes: readonly string[]
  keys(rec: Rec): readonly string[]
}

export type IndexName = 'residentOn' | 'tag' | 'folder' | 'ip' | 'guestMetrics' | 'snapshotOf' | 'taskStatus' | 'pbdHost'

/** VMs not running anywhere are keyed under this pseudo host */
export const NOT_RESIDENT = ''

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const map = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {})

export function folderOf(rec: Rec): string {
  return str(map(rec.other_config).folder)
}

/** VM_guest_metrics.networks values are addresses: '0/ip', '0/ipv4/0', '0/ipv6/0' → value */
export function guestIps(gm: Rec | undefined): string[] {
  if (!gm) return []
  const out: string[] = []
  for (const [k, v] of Object.entries(map(gm.networks))) {
    if (typeof v === 'string' && v && (k.endsWith('/ip') || k.includes('/ipv4/') || k.includes('/ipv6/'))) {
      if (!out.includes(v)) out.push(v)
    }
  }
  return out
}

/** a VM that is not a template, a snapshot or a control domain */
export function isPlainVm(rec: Rec): boolean {
  return rec.is_control_domain !== true && rec.is_a_snapshot !== true && rec.is_a_template !== true
}

const TAGGED = ['VM', 'host', 'pool', 'SR', 'network'] as const

/** Classes the tree is built from: a batch of only tasks, metrics or messages does not rebuild it. */
export const TREE_CLASSES: ReadonlySet<string> = new Set(['pool', 'host', 'host_metrics', 'VM', 'VM_guest_metrics', 'SR', 'PBD', 'network'])

const INDEXES: readonly IndexDef[] = [
  {
    name: 'residentOn',
    classes: ['VM'],
    keys: (r) => [typeof r.resident_on === 'string' && r.resident_on && r.power_state !== 'Halted' && r.power_state !== 'Suspended' ? r.resident_on : NOT_RESIDENT],
  },
  { name: 'tag', classes: TAGGED, keys: (r) => strs(r.tags) },
  { name: 'folder', classes: TAGGED, keys: (r) => (folderOf(r) ? [folderOf(r)] : []) },
  { name: 'ip', classes: ['VM_guest_metrics'], keys: (r) => guestIps(r) },
  { name: 'guestMetrics', classes: ['VM'], keys: (r) => (typeof r.guest_metrics === 'string' && r.guest_metrics ? [r.guest_metrics] : []) },
  { name: 'snapshotOf', classes: ['VM'], keys: (r) => (r.is_a_snapshot === true && typeof r.snapshot_of === 'string' && r.snapshot_of ? [r.snapshot_of] : []) },
  { name: 'taskStatus', classes: ['task'], keys: (r) => [str(r.status)] },
  { name: 'pbdHost', classes: ['PBD'], keys: (r) => (typeof r.host === 'string' && r.host ? [r.host] : []) },
]
const INDEXES_BY_CLASS = new Map<string, IndexDef[]>()
for (const def of INDEXES) for (const c of def.classes) INDEXES_BY_CLASS.set(c, [...(INDEXES_BY_CLASS.get(c) ?? []), def])

/** every empty map and list of a kept record is this one frozen object (≈170,000 `{}` and 140,000 `[]` in a 20,000-VM fleet) */
const EMPTY_MAP: Readonly<Record<string, never>> = Object.freeze({})
const EMPTY_LIST: readonly never[] = Object.freeze([])
/** lists of names past this many characters (joined) are not shared: not the few short lists every record repeats */
const SHARED_LIST_MAX_CHARS = 1024
/** the table of shared lists starts over past this many entries (a bound, whatever the fleet holds) */
const SHARED_LIST_MAX_ENTRIES = 50_000
/** lists of names (allowed_operations, tags) by their content: one frozen copy each */
const sharedLists = new Map<string, readonly unknown[]>()

/** one frozen copy of a list of names (a VM's allowed_operations: the same few lists in every VM); a list of refs stays as it is */
function sharedList(v: unknown[]): readonly unknown[] {
  const first = v[0]
  if (typeof first !== 'string' || first.startsWith('OpaqueRef:')) return v
  for (let i = 1; i < v.length; i++) if (typeof v[i] !== 'string') return v
  const key = v.join('\u0000')
  if (key.length > SHARED_LIST_MAX_CHARS) return v
  return interned(sharedLists, key, v)
}

/** the frozen copy a table holds for a key, or `v` frozen and held (the table emptied when full: bounded) */
function interned<T extends object>(table: Map<string, Readonly<T>>, key: string, v: T): Readonly<T> {
  const known = table.get(key)
  if (known !== undefined) return known
  if (table.size >= SHARED_LIST_MAX_ENTRIES) table.clear()
  const frozen = Object.freeze(v)
  table.set(key, frozen)
  return frozen
}

/**
 * Maps of names whose content repeats across records (a guest's OS and tools version: 17 and 2 distinct
 * values among bench-10k's 8,122 guests; a VM's vCPU parameters and blocked operations): one frozen
 * copy each, by content. Other maps (other_config, networks) are mostly each their own and stay so.
 */
const SHARED_MAP_FIELDS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['VM_guest_metrics', new Set(['os_version', 'PV_drivers_version'])],
  ['VM', new Set(['VCPUs_params', 'blocked_operations'])],
])
/** maps of names by their content (keys and values joined): one frozen copy each */
const sharedMaps = new Map<string, Readonly<Record<string, unknown>>>()

/** one frozen copy of a map of strings (a guest's os_version); a map holding anything else, or long, stays as it is */
function sharedMap(v: Record<string, unknown>): Readonly<Record<string, unknown>> {
  let key = ''
  for (const k in v) {
    const x = v[k]
    if (typeof x !== 'string') return v
    key += `${k}\u0001${x}\u0000`
    if (key.length > SHARED_LIST_MAX_CHARS) return v
  }
  return interned(sharedMaps, key, v)
}

/** RENDERER_UNUSED_FIELDS as sets, by class */
const UNUSED_FIELDS = new Map(Object.entries(RENDERER_UNUSED_FIELDS).map(([cls, fields]) => [cls, new Set(fields)]))

/**
 * A record as kept, in one pass over its fields, in place (the record came from JSON.parse: this
 * copy owns it): the fields no view reads (`unused`, shared/model/slim.ts) lose their values (the
 * object's shape stays); every `{}`, `[]`, list of names (allowed_operations) and map of names whose
 * content repeats (SHARED_MAP_FIELDS: a guest's os_version), each its own copy from JSON.parse, is
 * shared (frozen). Strings are left alone: the record's own are mostly unique
 * (uuid, name) or short enough that JSON.parse already shares them, and interning the values of its
 * maps (other_config…) saved ≈3 % of the kept records' memory for ≈25 % more time applying them
 * (issue 20: a cold start of 100,000 VMs applies ≈300,000 records). Nothing renderer code reads
 * changes: the shared empties and lists are frozen, so code that ever wrote into a record's map or
 * list would fail loudly instead of writing into every record.
 */
function compact(rec: Rec, unused: ReadonlySet<string> | undefined, sharedMapFields: ReadonlySet<string> | undefined): void {
  for (const k in rec) {
    const v = rec[k]
    if (v === undefined) continue
    if (unused !== undefined && unused.has(k)) {
      rec[k] = undefined
      continue
    }
    if (typeof v !== 'object' || v === null) continue
    if (Array.isArray(v)) rec[k] = v.length === 0 ? EMPTY_LIST : sharedList(v)
    else {
      let empty = true
      for (const _ in v) {
        empty = false
        break
      }
      if (empty) rec[k] = EMPTY_MAP
      else if (sharedMapFields !== undefined && sharedMapFields.has(k)) rec[k] = sharedMap(v as Record<string, unknown>)
    }
  }
}

/** One connection's objects: tables per class, ref → class, uuid → ref, and the indexes. */
export class PoolObjects {
  readonly tables = new Map<string, Table>()
  /**
   * ref → class and uuid → ref of every record, made when first asked for (a task's object, an
   * alert's, a perf row's) and kept up to date from then on. Not made while records arrive: a cold
   * start applies ≈300,000 records (issue 20) into pools nobody has asked a ref's class or a uuid of
   * yet, and two Map entries per record were a third of what applying one cost.
   */
  private classes: Map<string, string> | null = null
  private uuids: Map<string, string> | null = null
  get classOf(): ReadonlyMap<string, string> {
    if (this.classes === null) {
      const m = new Map<string, string>()
      for (const [cls, table] of this.tables) for (const ref of table.keys()) m.set(ref, cls)
      this.classes = m
    }
    return this.classes
  }
  get byUuid(): ReadonlyMap<string, string> {
    if (this.uuids === null) {
      const m = new Map<string, string>()
      for (const table of this.tables.values()) {
        for (const [ref, rec] of table) if (typeof rec.uuid === 'string' && rec.uuid) m.set(rec.uuid, ref)
      }
      this.uuids = m
    }
    return this.uuids
  }
  /** no record at all (a pool not synced yet, or emptied) */
  isEmpty(): boolean {
    for (const t of this.tables.values()) if (t.size > 0) return false
    return true
  }
  private readonly indexes = new Map<IndexName, MultiIndex>(INDEXES.map((d) => [d.name, new MultiIndex()]))
  /** last applied diff seq (-1: nothing yet) */
  seq = -1
  /** bumps on every applied batch that changed something */
  version = 0
  /** bumps only when a class the navigation tree shows (or searches) changed */
  treeVersion = 0
  /** per class and field, refs of that class by the ref in the field (referencing()), built on first use, dropped when the class changes */
  private readonly backrefs = new Map<string, Map<string, MultiIndex>>()

  /** `scoped`: classes otherwise not kept that a view asked for in this pool (the ObjectGraph's, shared by every copy of the pool) */
  constructor(
    readonly connectionId: string,
    private readonly scoped: ReadonlySet<string> = NO_CLASSES,
  ) {}

  table(cls: string): Table {
    let t = this.tables.get(cls)
    if (!t) this.tables.set(cls, (t = new Map()))
    return t
  }
  get<C extends keyof XapiRecords>(cls: C, ref: unknown): Typed<C> | undefined {
    if (typeof ref !== 'string') return undefined
    return this.tables.get(cls)?.get(ref) as Typed<C> | undefined
  }
  all<C extends keyof XapiRecords>(cls: C): Map<string, Typed<C>> {
    return (this.tables.get(cls) ?? new Map()) as Map<string, Typed<C>>
  }
  index(name: IndexName): MultiIndex {
    const idx = this.indexes.get(name)
    if (!idx) throw new Error(`no index named ${name}`)
    return idx
  }
  /** the pool record (XAPI guarantees exactly one per pool once synced) */
  pool(): { ref: string; rec: Typed<'pool'> } | undefined {
    for (const [ref, rec] of this.all('pool')) return { ref, rec }
    return undefined
  }
  /** guest IP addresses of a VM (from its VM_guest_metrics) */
  vmIps(vm: Rec): string[] {
    return guestIps(this.tables.get('VM_guest_metrics')?.get(str(vm.guest_metrics)))
  }
  private counts: { vms: number; running: number } = { vms: 0, running: 0 }
  private countedAt = -1
  /**
   * plain VMs (isPlainVm) of the pool and how many run, counted again only after a batch changed the
   * pool (`version`): the fleet overview shows them for every pool, and a fleet streaming in changes
   * a few pools per frame, not the 100,000 VMs of the rest
   */
  vmCounts(): { vms: number; running: number } {
    if (this.countedAt === this.version) return this.counts
    let vms = 0
    let running = 0
    for (const vm of this.tables.get('VM')?.values() ?? []) {
      if (!isPlainVm(vm)) continue
      vms++
      if (vm.power_state === 'Running') running++
    }
    this.counts = { vms, running }
    this.countedAt = this.version
    return this.counts
  }
  /** the host a SR belongs to when it is local (not shared, exactly one PBD), else null */
  localSrHost(sr: Rec): string | null {
    if (sr.shared === true) return null
    const pbds = strs(sr.PBDs)
    if (pbds.length !== 1) return null
    const host = this.tables.get('PBD')?.get(pbds[0] ?? '')?.host
    return typeof host === 'string' && host ? host : null
  }
  pendingTasks(): number {
    return this.index('taskStatus').get('pending').size
  }
  /**
   * the records of `cls` whose `field` names `ref`: a VM's VIFs (VIF.VM), an SR's VDIs (VDI.SR) —
   * the parent's own list of them (VM.VIFs, SR.VDIs) is not kept (shared/model/slim.ts)
   */
  referencing<C extends keyof XapiRecords>(cls: C, field: string, ref: string): [string, Typed<C>][] {
    let byField = this.backrefs.get(cls)
    if (!byField) this.backrefs.set(cls, (byField = new Map()))
    let idx = byField.get(field)
    if (!idx) {
      idx = new MultiIndex()
      for (const [r, rec] of this.all(cls)) {
        const v = rec[field]
        if (typeof v === 'string' && v) idx.add(v, r)
      }
      byField.set(field, idx)
    }
    const out: [string, Typed<C>][] = []
    for (const r of idx.get(ref)) {
      const rec = this.get(cls, r)
      if (rec) out.push([r, rec])
    }
    return out
  }
  /** every record of the class goes (a scope that ended, or a class reset about to refill it) */
  dropClass(cls: string): void {
    const table = this.tables.get(cls)
    if (!table) return
    for (const ref of [...table.keys()]) this.remove(cls, ref)
    this.tables.delete(cls)
  }

  upsert(cls: string, ref: string, rec: Rec): void {
    // a class no view reads is not kept (main does not send it; shared/model/slim.ts) unless a view asked for it
    if (RENDERER_UNUSED_CLASSES.has(cls) && !this.scoped.has(cls)) return
    if (this.backrefs.size > 0) this.backrefs.delete(cls)
    compact(rec, UNUSED_FIELDS.get(cls), SHARED_MAP_FIELDS.get(cls))
    const table = this.table(cls)
    const old = table.get(ref)
    const defs = INDEXES_BY_CLASS.get(cls)
    if (defs) {
      for (const def of defs) {
        const idx = this.index(def.name)
        const newKeys = def.keys(rec)
        if (old) for (const k of def.keys(old)) if (!newKeys.includes(k)) idx.delete(k, ref)
        for (const k of newKeys) idx.add(k, ref)
      }
    }
    const uuids = this.uuids
    if (uuids !== null) {
      if (old && typeof old.uuid === 'string' && old.uuid !== rec.uuid && uuids.get(old.uuid) === ref) uuids.delete(old.uuid)
      if (typeof rec.uuid === 'string' && rec.uuid) uuids.set(rec.uuid, ref)
    }
    table.set(ref, rec)
    this.classes?.set(ref, cls)
  }

  remove(cls: string, ref: string): void {
    const table = this.tables.get(cls)
    const old = table?.get(ref)
    if (!table || !old) return
    if (this.backrefs.size > 0) this.backrefs.delete(cls)
    for (const def of INDEXES_BY_CLASS.get(cls) ?? []) {
      const idx = this.index(def.name)
      for (const k of def.keys(old)) idx.delete(k, ref)
    }
    if (typeof old.uuid === 'string' && this.uuids?.get(old.uuid) === ref) this.uuids.delete(old.uuid)
    table.delete(ref)
    this.classes?.delete(ref)
  }

  clear(): void {
    this.tables.clear()
    this.backrefs.clear()
    this.classes = null
    this.uuids = null
    for (const idx of this.indexes.values()) idx.clear()
  }
}

export interface ApplyResult {
  connectionId: string
  /** classes touched by the batch (empty while a reset is being staged: nothing visible changed) */
  classes: Set<string>
  /** the batch's seq did not follow the previous one: the caller should ask for a resync */
  gap: boolean
  /** the visible graph changed (false for a staged piece, a held diff or a stale one) */
  changed: boolean
}

/**
 * a reset arriving in pieces (PoolDiff.part), built aside and swapped in with its last piece — or,
 * for a pool the window showed nothing of (`shown`), built in place and shown as the pieces come
 */
interface StagedReset {
  seq: number
  /** the part expected next */
  next: number
  pool: PoolObjects
  /** the pool being built is the one shown (there was nothing to mix its pieces with) */
  shown: boolean
  /** non-reset diffs that arrived meanwhile, applied after the swap */
  held: PoolDiff[]
}

/** the pieces of a class reset (PoolDiff.scope) arriving, swapped in with the last one */
interface StagedScope {
  seq: number
  next: number
  upserts: ObjectUpsert[]
}

/** Every connection's objects. */
export class ObjectGraph {
  readonly pools = new Map<string, PoolObjects>()
  private readonly staged = new Map<string, StagedReset>()
  private readonly stagedScopes = new Map<string, StagedScope>()
  /** per connection: classes otherwise not kept that a view asked for (objects store: usePoolScope) */
  private readonly scoped = new Map<string, Set<string>>()

  /** keep these classes of the pool when they arrive (a view asked main for them) */
  keep(connectionId: string, classes: Iterable<string>): void {
    const set = this.scopedSet(connectionId)
    for (const c of classes) set.add(c)
  }
  /** stop keeping them (what is held goes with the class reset main sends, or now with `drop`) */
  unkeep(connectionId: string, classes: Iterable<string>): void {
    const set = this.scoped.get(connectionId)
    if (set) for (const c of classes) set.delete(c)
  }
  private scopedSet(connectionId: string): Set<string> {
    let set = this.scoped.get(connectionId)
    if (!set) this.scoped.set(connectionId, (set = new Set()))
    return set
  }

  pool(connectionId: string): PoolObjects | undefined {
    return this.pools.get(connectionId)
  }

  /** a reset of this connection is arriving in pieces and is not complete yet */
  staging(connectionId: string): boolean {
    return this.staged.has(connectionId)
  }

  apply(diff: PoolDiff): ApplyResult {
    const id = diff.connectionId
    if (diff.reset && diff.part !== undefined) return this.applyPiece(diff)
    const st = this.staged.get(id)
    if (st) {
      // a complete reset replaces the unfinished one; anything else waits for the swap
      if (diff.reset) this.staged.delete(id)
      else {
        st.held.push(diff)
        return { connectionId: id, classes: new Set(), gap: false, changed: false }
      }
    }
    if (diff.scope) return this.applyScope(diff, diff.scope)
    let pool = this.pools.get(id)
    if (!pool) this.pools.set(id, (pool = new PoolObjects(id, this.scopedSet(id))))
    // already contained in the reset this pool was built from (a snapshot taken after the diff was queued)
    if (!diff.reset && pool.seq >= 0 && diff.seq <= pool.seq) return { connectionId: id, classes: new Set(), gap: false, changed: false }
    const gap = !diff.reset && pool.seq >= 0 && diff.seq !== pool.seq + 1
    const classes = new Set<string>()
    if (diff.reset) {
      for (const cls of pool.tables.keys()) classes.add(cls)
      pool.clear()
    }
    for (const r of diff.removes) {
      pool.remove(r.cls, r.ref)
      classes.add(r.cls)
    }
    for (const u of diff.upserts) {
      pool.upsert(u.cls, u.ref, u.record)
      classes.add(u.cls)
    }
    pool.seq = diff.seq
    if (classes.size > 0 || diff.reset) pool.version++
    if (diff.reset) pool.treeVersion++
    else for (const c of classes) if (TREE_CLASSES.has(c)) {
      pool.treeVersion++
      break
    }
    return { connectionId: id, classes, gap, changed: true }
  }

  private applyPiece(diff: PoolDiff): ApplyResult {
    const id = diff.connectionId
    const part = diff.part ?? 0
    let st = this.staged.get(id)
    if (part === 0) {
      const shownNow = this.pools.get(id)
      // a live sync of a pool the window shows nothing of (a first connect): its pieces are shown as
      // they come, the tree filling while the rest is read; a pool already shown is never mixed with
      // a half of another, and pieces from the offline cache stay whole-or-nothing
      const shown = diff.live === true && (!shownNow || shownNow.isEmpty())
      st = { seq: diff.seq, next: 0, pool: new PoolObjects(id, this.scopedSet(id)), held: [], shown }
      this.staged.set(id, st)
      if (shown) {
        st.pool.version = (shownNow?.version ?? 0) + 1
        st.pool.treeVersion = (shownNow?.treeVersion ?? 0) + 1
        this.pools.set(id, st.pool)
      }
    } else if (!st || st.seq !== diff.seq || st.next !== part) {
      // a piece without the ones before it: the reset cannot be completed
      this.staged.delete(id)
      return { connectionId: id, classes: new Set(), gap: true, changed: false }
    }
    const touched = new Set<string>()
    for (const u of diff.upserts) {
      st.pool.upsert(u.cls, u.ref, u.record)
      touched.add(u.cls)
    }
    st.next = part + 1
    if (diff.more === true) {
      if (!st.shown) return { connectionId: id, classes: new Set(), gap: false, changed: false }
      const p = st.pool
      p.version++
      for (const c of touched) if (TREE_CLASSES.has(c)) {
        p.treeVersion++
        break
      }
      return { connectionId: id, classes: touched, gap: false, changed: true }
    }
    // the last piece: the staged graph replaces the pool's in one step
    this.staged.delete(id)
    const old = this.pools.get(id)
    const classes = new Set<string>(old ? old.tables.keys() : [])
    for (const cls of st.pool.tables.keys()) classes.add(cls)
    const next = st.pool
    next.seq = diff.seq
    next.version = (old?.version ?? 0) + 1
    next.treeVersion = (old?.treeVersion ?? 0) + 1
    this.pools.set(id, next)
    let gap = false
    for (const held of st.held) {
      const r = this.apply(held)
      gap ||= r.gap
      for (const c of r.classes) classes.add(c)
    }
    return { connectionId: id, classes, gap, changed: true }
  }

  /**
   * A class reset: every record of `classes` the window is to hold for the pool (none: it no
   * longer holds them). Not a step of the sequence: seq is neither checked nor advanced. In pieces,
   * staged and applied with the last one, so a view never lists half of them.
   */
  private applyScope(diff: PoolDiff, classes: readonly string[]): ApplyResult {
    const id = diff.connectionId
    let upserts = diff.upserts
    if (diff.part !== undefined) {
      let st = this.stagedScopes.get(id)
      if (diff.part === 0) this.stagedScopes.set(id, (st = { seq: diff.seq, next: 0, upserts: [] }))
      else if (!st || st.seq !== diff.seq || st.next !== diff.part) {
        this.stagedScopes.delete(id)
        return { connectionId: id, classes: new Set(), gap: true, changed: false }
      }
      for (const u of diff.upserts) st.upserts.push(u)
      st.next = diff.part + 1
      if (diff.more === true) return { connectionId: id, classes: new Set(), gap: false, changed: false }
      this.stagedScopes.delete(id)
      upserts = st.upserts
    }
    let pool = this.pools.get(id)
    if (!pool) this.pools.set(id, (pool = new PoolObjects(id, this.scopedSet(id))))
    for (const cls of classes) pool.dropClass(cls)
    for (const u of upserts) pool.upsert(u.cls, u.ref, u.record)
    pool.version++
    if (classes.some((c) => TREE_CLASSES.has(c))) pool.treeVersion++
    return { connectionId: id, classes: new Set(classes), gap: false, changed: true }
  }

  drop(connectionId: string): boolean {
    this.staged.delete(connectionId)
    this.stagedScopes.delete(connectionId)
    this.scoped.delete(connectionId)
    return this.pools.delete(connectionId)
  }

  /** find an object by uuid across every pool */
  findByUuid(uuid: string): { connectionId: string; cls: string; ref: string } | undefined {
    for (const [connectionId, p] of this.pools) {
      const ref = p.byUuid.get(uuid)
      if (ref) return { connectionId, ref, cls: p.classOf.get(ref) ?? '' }
    }
    return undefined
  }
}
