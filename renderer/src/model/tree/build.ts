/**
 * Builds the navigation trees (XenCenter's Infrastructure, Objects, Tags and Folders modes) from
 * the object graph. Each connection's part is memoised on its graph version and the display flags,
 * so a batch for one pool rebuilds that pool's subtree only.
 */
import type { ConnectionState } from '../../../../shared/contract/connection'
import { connectionBadge } from '../connection'
import { folderOf, isPlainVm, NOT_RESIDENT, type ObjectGraph, type PoolObjects, type Rec } from '../objects'
import { byName, naturalKey, objId, type IconState, type NodeKind, type TreeFlags, type TreeMode, type TreeNode } from './types'
import { CUSTOM_FIELDS_KEY } from '../../../../shared/xencenter/custom-fields'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function isHiddenByUser(rec: Rec): boolean {
  return isMap(rec.other_config) && rec.other_config.HideFromXenCenter === 'true'
}

/** What kind of tree node a VM record is, or null when the flags hide it. */
export function vmKind(rec: Rec, flags: TreeFlags): NodeKind | null {
  if (rec.is_control_domain === true) return flags.showHidden ? 'VM' : null
  if (isHiddenByUser(rec) && !flags.showHidden) return null
  if (rec.is_a_snapshot === true) return flags.showSnapshots ? 'snapshot' : null
  if (rec.is_a_template === true) return flags.showTemplates ? 'template' : null
  return 'VM'
}

/** a VM that is not a template, a snapshot or a control domain (defined with the graph: model/objects.ts) */
export { isPlainVm }

function vmIcon(rec: Rec): IconState {
  if (isMap(rec.current_operations) && Object.keys(rec.current_operations).length > 0) return 'busy'
  switch (rec.power_state) {
    case 'Running':
      return 'running'
    case 'Suspended':
      return 'suspended'
    case 'Paused':
      return 'paused'
    default:
      return 'halted'
  }
}

function hostIcon(p: PoolObjects, rec: Rec): IconState {
  const metrics = p.get('host_metrics', rec.metrics)
  if (metrics && metrics.live === false) return 'offline'
  if (rec.enabled === false) return 'disabled'
  if (isMap(rec.current_operations) && Object.keys(rec.current_operations).length > 0) return 'busy'
  return 'ok'
}

function srIcon(p: PoolObjects, rec: Rec): IconState {
  const pbds = strs(rec.PBDs)
  if (pbds.length === 0) return 'warning'
  for (const r of pbds) if (p.get('PBD', r)?.currently_attached === false) return 'warning'
  return 'ok'
}

const CUSTOM_FIELD_PREFIX = `${CUSTOM_FIELDS_KEY}.`

/**
 * What the search looks in, one line each: the label, the uuid, `extra` (IPs, address…), the tags and
 * the XenCenter custom field values ("owner: finance": other_config["XenCenter.CustomFields.<name>"],
 * issue 19), lower case. Made for every object of every pool (100,000 VMs, issue 20): one string
 * built in place, no list of the lines.
 */
function searchText(label: string, rec: Rec, extra?: readonly string[]): string {
  let text = `${label}\n${str(rec.uuid)}`
  if (extra) for (const e of extra) text += `\n${e}`
  const tags = rec.tags
  if (Array.isArray(tags)) for (const t of tags) if (typeof t === 'string') text += `\n${t}`
  const oc = rec.other_config
  if (isMap(oc)) {
    for (const k in oc) {
      if (!k.startsWith(CUSTOM_FIELD_PREFIX)) continue
      const v = oc[k]
      if (typeof v === 'string' && v !== '') text += `\n${k.slice(CUSTOM_FIELD_PREFIX.length)}: ${v}`
    }
  }
  return text.toLowerCase()
}

interface LeafArgs {
  p: PoolObjects
  ref: string
  rec: Rec
  stale: boolean
  /** id prefix for views where the object can appear more than once */
  prefix?: string
  cache?: LeafCache
}

interface CachedLeaf {
  rec: Rec
  gm: Rec | undefined
  host: Rec | undefined
  kind: NodeKind
  stale: boolean
  node: TreeNode
}

/**
 * VM leaf nodes from the previous build of a connection, reused when their inputs (the VM record,
 * its guest metrics, its host for a control domain's label) are the same objects: a batch that
 * changes a few VMs of a 10k-VM pool re-creates a few nodes, not 10k. Generational: what a build
 * does not use is dropped with it.
 */
export class LeafCache {
  private prev = new Map<string, CachedLeaf>()
  private next = new Map<string, CachedLeaf>()
  take(key: string): CachedLeaf | undefined {
    return this.prev.get(key)
  }
  keep(key: string, leaf: CachedLeaf): void {
    this.next.set(key, leaf)
  }
  /** end of a build: what it used becomes the cache of the next one */
  rotate(): void {
    this.prev = this.next
    this.next = new Map()
  }
  get size(): number {
    return this.prev.size
  }
}

/** copies of the nodes whose label occurs in more than one pool, with that pool's name as context */
export function withPoolContext(nodes: TreeNode[], poolLabel: ReadonlyMap<string, string>): TreeNode[] {
  const pools = new Map<string, Set<string>>()
  for (const n of nodes) {
    const set = pools.get(n.label) ?? new Set<string>()
    set.add(n.connectionId ?? '')
    pools.set(n.label, set)
  }
  return nodes.map((n) => ((pools.get(n.label)?.size ?? 0) > 1 ? { ...n, context: poolLabel.get(n.connectionId ?? '') ?? '' } : n))
}

function leaf(kind: NodeKind, cls: string, a: LeafArgs, icon: IconState, label: string, extra: string[] = []): TreeNode {
  const oid = objId(a.p.connectionId, a.ref)
  return {
    id: a.prefix ? `${a.prefix}/${oid}` : oid,
    objId: oid,
    kind,
    cls,
    connectionId: a.p.connectionId,
    ref: a.ref,
    label,
    search: searchText(label, a.rec, extra),
    sortKey: naturalKey(label),
    icon,
    stale: a.stale || undefined,
    children: [],
  }
}

function vmLabel(rec: Rec, p: PoolObjects): string {
  const name = str(rec.name_label)
  if (rec.is_control_domain === true) {
    const host = p.get('host', rec.resident_on)
    return host ? `Control domain on ${str(host.name_label)}` : name || 'Control domain'
  }
  return name
}

function vmNode(a: LeafArgs, kind: NodeKind, flags: TreeFlags | null): TreeNode {
  const withSnapshots = flags?.showSnapshots === true && kind === 'VM'
  const cache = withSnapshots ? undefined : a.cache
  let key = ''
  let gm: Rec | undefined
  let host: Rec | undefined
  if (cache) {
    key = a.prefix ? `${a.prefix}|${a.ref}` : a.ref
    gm = a.p.tables.get('VM_guest_metrics')?.get(str(a.rec.guest_metrics))
    host = a.rec.is_control_domain === true ? a.p.get('host', a.rec.resident_on) : undefined
    const hit = cache.take(key)
    if (hit && hit.rec === a.rec && hit.gm === gm && hit.host === host && hit.kind === kind && hit.stale === a.stale) {
      cache.keep(key, hit)
      return hit.node
    }
  }
  const n = leaf(kind, 'VM', a, kind === 'template' ? 'none' : vmIcon(a.rec), vmLabel(a.rec, a.p), a.p.vmIps(a.rec))
  if (cache) cache.keep(key, { rec: a.rec, gm, host, kind, stale: a.stale, node: n })
  if (withSnapshots) {
    for (const sref of a.p.index('snapshotOf').get(a.ref)) {
      const srec = a.p.get('VM', sref)
      if (srec && vmKind(srec, flags) === 'snapshot') n.children.push(vmNode({ ...a, ref: sref, rec: srec }, 'snapshot', null))
    }
    n.children.sort(byName)
  }
  return n
}

function hostLeaf(a: LeafArgs): TreeNode {
  return leaf('host', 'host', a, hostIcon(a.p, a.rec), str(a.rec.name_label), [str(a.rec.address), str(a.rec.hostname)])
}
function srLeaf(a: LeafArgs): TreeNode {
  return leaf('SR', 'SR', a, srIcon(a.p, a.rec), str(a.rec.name_label), [str(a.rec.type)])
}
function networkLeaf(a: LeafArgs): TreeNode {
  return leaf('network', 'network', a, 'ok', str(a.rec.name_label), [str(a.rec.bridge)])
}

function countVms(n: TreeNode): number {
  let c = 0
  for (const ch of n.children) {
    if (ch.kind === 'VM') c++
    else if (ch.kind === 'host') c += countVms(ch)
  }
  return c
}

function isStandalone(p: PoolObjects, pool: Rec): boolean {
  return str(pool.name_label) === '' && p.all('host').size === 1
}

function showNetwork(rec: Rec, flags: TreeFlags): boolean {
  if (flags.showHidden) return true
  if (isHiddenByUser(rec)) return false
  const oc = isMap(rec.other_config) ? rec.other_config : {}
  return oc.is_host_internal_management_network !== 'true'
}

/** Children of a pool in the Infrastructure view, and of each host, built in one pass over the pool. */
function infrastructureChildren(p: PoolObjects, flags: TreeFlags, stale: boolean, cache?: LeafCache): { poolChildren: TreeNode[]; hosts: TreeNode[] } {
  const hosts = new Map<string, TreeNode>()
  for (const [ref, rec] of p.all('host')) hosts.set(ref, hostLeaf({ p, ref, rec, stale }))
  const halted: TreeNode[] = []
  const templates: TreeNode[] = []
  for (const [hostRef, refs] of p.index('residentOn').entries()) {
    const host = hostRef === NOT_RESIDENT ? undefined : hosts.get(hostRef)
    for (const ref of refs) {
      const rec = p.get('VM', ref)
      if (!rec) continue
      const kind = vmKind(rec, flags)
      // snapshots live under their VM; a snapshot whose VM is gone is listed under the pool
      if (kind === null || (kind === 'snapshot' && p.get('VM', rec.snapshot_of))) continue
      const node = vmNode({ p, ref, rec, stale, cache }, kind, flags)
      if (host && kind === 'VM') host.children.push(node)
      else if (kind === 'template') templates.push(node)
      else halted.push(node)
    }
  }
  const srs: TreeNode[] = []
  for (const [ref, rec] of p.all('SR')) {
    if (isHiddenByUser(rec) && !flags.showHidden) continue
    const node = srLeaf({ p, ref, rec, stale })
    const host = hosts.get(p.localSrHost(rec) ?? '')
    if (host) host.children.push(node)
    else srs.push(node)
  }
  const networks: TreeNode[] = []
  for (const [ref, rec] of p.all('network')) if (showNetwork(rec, flags)) networks.push(networkLeaf({ p, ref, rec, stale }))
  const hostList = [...hosts.values()].sort(byName)
  for (const h of hostList) {
    h.children.sort(kindThenName)
    h.count = countVms(h)
  }
  halted.sort(byName)
  templates.sort(byName)
  srs.sort(byName)
  networks.sort(byName)
  return { poolChildren: [...hostList, ...halted, ...templates, ...srs, ...networks], hosts: hostList }
}

const KIND_ORDER: Partial<Record<NodeKind, number>> = { host: 0, VM: 1, snapshot: 1, template: 2, SR: 3, network: 4 }
function kindThenName(a: TreeNode, b: TreeNode): number {
  return (KIND_ORDER[a.kind] ?? 9) - (KIND_ORDER[b.kind] ?? 9) || byName(a, b)
}

/** One connection's objects grouped the way the Objects view lists them. */
interface ObjectGroups {
  host: TreeNode[]
  VM: TreeNode[]
  template: TreeNode[]
  snapshot: TreeNode[]
  SR: TreeNode[]
  network: TreeNode[]
}

function objectGroups(p: PoolObjects, flags: TreeFlags, stale: boolean, prefix?: string, cache?: LeafCache): ObjectGroups {
  const g: ObjectGroups = { host: [], VM: [], template: [], snapshot: [], SR: [], network: [] }
  for (const [ref, rec] of p.all('host')) g.host.push(hostLeaf({ p, ref, rec, stale, prefix }))
  for (const [ref, rec] of p.all('VM')) {
    const kind = vmKind(rec, flags)
    if (kind === null) continue
    const node = vmNode({ p, ref, rec, stale, prefix, cache }, kind, null)
    if (kind === 'template') g.template.push(node)
    else if (kind === 'snapshot') g.snapshot.push(node)
    else g.VM.push(node)
  }
  for (const [ref, rec] of p.all('SR')) if (!isHiddenByUser(rec) || flags.showHidden) g.SR.push(srLeaf({ p, ref, rec, stale, prefix }))
  for (const [ref, rec] of p.all('network')) if (showNetwork(rec, flags)) g.network.push(networkLeaf({ p, ref, rec, stale, prefix }))
  return g
}

/** A node for one object of a pool, by class; null when hidden by the flags. */
function objectNode(p: PoolObjects, cls: string, ref: string, flags: TreeFlags, stale: boolean, prefix: string, cache?: LeafCache): TreeNode | null {
  const rec = p.tables.get(cls)?.get(ref)
  if (!rec) return null
  const a = { p, ref, rec, stale, prefix, cache }
  switch (cls) {
    case 'VM': {
      const kind = vmKind(rec, flags)
      return kind ? vmNode(a, kind, null) : null
    }
    case 'host':
      return hostLeaf(a)
    case 'SR':
      return isHiddenByUser(rec) && !flags.showHidden ? null : srLeaf(a)
    case 'network':
      return showNetwork(rec, flags) ? networkLeaf(a) : null
    case 'pool':
      return str(rec.name_label) ? leaf('pool', 'pool', a, 'ok', str(rec.name_label)) : null
    default:
      return null
  }
}

const TAGGABLE = ['pool', 'host', 'VM', 'SR', 'network'] as const

interface ConnectionPart {
  /** what the part was built from: the mode, the pool's treeVersion (-1: no graph), offline, the flags */
  mode: TreeMode
  treeVersion: number
  stale: boolean
  showHidden: boolean
  showSnapshots: boolean
  showTemplates: boolean
  /** `vms`: the VMs the connection's node counts (made with the children) */
  infra?: { children: TreeNode[]; standaloneHost?: TreeNode; poolRef?: string; poolRec?: Rec; vms: number }
  groups?: ObjectGroups
  tags?: Map<string, TreeNode[]>
  folders?: Map<string, TreeNode[]>
  /** the connection's node of the last build, given again while the connection state and its badge are the same */
  root?: { c: ConnectionState; text: string | undefined; tone: string | undefined; icon: IconState | undefined; node: TreeNode }
}

/** VMs a connection's node counts: those under its pool and under its hosts */
function vmCount(children: readonly TreeNode[]): number {
  let vms = 0
  for (const ch of children) vms += ch.kind === 'VM' ? 1 : ch.kind === 'host' ? (ch.count ?? 0) : 0
  return vms
}

export interface BuildInput {
  mode: TreeMode
  connections: readonly ConnectionState[]
  graph: ObjectGraph
  flags: TreeFlags
  now: number
}

export class TreeBuilder {
  private readonly parts = new Map<string, ConnectionPart>()
  private readonly caches = new Map<string, LeafCache>()
  /** how many connection parts the last build() had to rebuild (observable for tests/benchmarks) */
  rebuilt = 0

  build(input: BuildInput): TreeNode[] {
    this.rebuilt = 0
    const seen = new Set<string>()
    for (const c of input.connections) seen.add(c.id)
    for (const id of this.parts.keys()) if (!seen.has(id)) this.parts.delete(id)
    for (const id of this.caches.keys()) if (!seen.has(id)) this.caches.delete(id)
    switch (input.mode) {
      case 'infrastructure':
        return input.connections.map((c) => this.infrastructureRoot(c, input))
      case 'objects':
        return this.objectsView(input)
      case 'tags':
        return this.tagsView(input)
      case 'folders':
        return this.foldersView(input)
    }
  }

  /** the connection's leaf cache, rotated by the caller once its part is built */
  private cache(id: string): LeafCache {
    let c = this.caches.get(id)
    if (!c) this.caches.set(id, (c = new LeafCache()))
    return c
  }

  private part(c: ConnectionState, input: BuildInput): { part: ConnectionPart; p: PoolObjects | undefined; stale: boolean } {
    const p = input.graph.pool(c.id)
    const stale = c.status !== 'connected'
    const f = input.flags
    const treeVersion = p?.treeVersion ?? -1
    // compared field by field: 200 connections per build (each batch of a fleet streaming in), no key strings
    let part = this.parts.get(c.id)
    if (
      !part ||
      part.mode !== input.mode ||
      part.treeVersion !== treeVersion ||
      part.stale !== stale ||
      part.showHidden !== f.showHidden ||
      part.showSnapshots !== f.showSnapshots ||
      part.showTemplates !== f.showTemplates
    ) {
      part = { mode: input.mode, treeVersion, stale, showHidden: f.showHidden, showSnapshots: f.showSnapshots, showTemplates: f.showTemplates }
      this.parts.set(c.id, part)
      this.rebuilt++
    }
    return { part, p, stale }
  }

  private infrastructureRoot(c: ConnectionState, input: BuildInput): TreeNode {
    const { part, p, stale } = this.part(c, input)
    if (!part.infra) {
      part.infra = { children: [], vms: 0 }
      const pool = p?.pool()
      if (p && pool) {
        const cache = this.cache(c.id)
        const { poolChildren, hosts } = infrastructureChildren(p, input.flags, stale, cache)
        cache.rotate()
        part.infra.poolRef = pool.ref
        part.infra.poolRec = pool.rec
        const onlyHost = hosts[0]
        if (isStandalone(p, pool.rec) && onlyHost) {
          // XenCenter shows a pool-less host as the host itself, with the pool's objects under it
          part.infra.standaloneHost = onlyHost
          part.infra.children = [...onlyHost.children, ...poolChildren.filter((n) => n !== onlyHost)].sort(kindThenName)
        } else {
          part.infra.children = poolChildren
        }
        part.infra.vms = vmCount(part.infra.children)
      }
    }
    return this.connectionRoot(c, input, part)
  }

  /** The always-visible node of a saved connection: pool, stand-alone host or the bare address. */
  private connectionRoot(c: ConnectionState, input: BuildInput, part: ConnectionPart): TreeNode {
    const infra = part.infra
    const badge = connectionBadge(c, input.now)
    // the same node while nothing it shows changed (every build of a fleet streaming in asks for all 200)
    const last = part.root
    if (last && last.c === c && last.text === badge?.text && last.tone === badge?.tone && last.icon === badge?.icon) return last.node
    const sa = infra?.standaloneHost
    const poolRec = infra?.poolRec
    let label = c.label || c.address
    let kind: NodeKind = 'connection'
    let cls: string | undefined
    let ref: string | undefined
    let search = `${label}\n${c.address}`
    if (sa && sa.ref) {
      label = sa.label
      kind = 'host'
      cls = 'host'
      ref = sa.ref
      search = `${sa.search}\n${c.address}`
    } else if (poolRec && infra?.poolRef) {
      label = str(poolRec.name_label) || label
      kind = 'pool'
      cls = 'pool'
      ref = infra.poolRef
      search = `${searchText(label, poolRec)}\n${c.address}`.toLowerCase()
    }
    const children = infra?.children ?? []
    const node: TreeNode = {
      id: `conn:${c.id}`,
      objId: `conn:${c.id}`,
      kind,
      cls,
      ref,
      connectionId: c.id,
      label,
      search: search.toLowerCase(),
      sortKey: naturalKey(label),
      icon: badge ? badge.icon : sa ? sa.icon : 'ok',
      badge: badge?.text,
      badgeTone: badge?.tone,
      isConnectionRoot: true,
      stale: c.status !== 'connected' || undefined,
      children,
      count: infra?.vms ?? 0,
    }
    part.root = { c, text: badge?.text, tone: badge?.tone, icon: badge?.icon, node }
    return node
  }

  private objectsView(input: BuildInput): TreeNode[] {
    const merged: ObjectGroups = { host: [], VM: [], template: [], snapshot: [], SR: [], network: [] }
    const pools: TreeNode[] = []
    for (const c of input.connections) {
      const { part, p, stale } = this.part(c, input)
      if (!part.groups) {
        const cache = this.cache(c.id)
        part.groups = p ? objectGroups(p, input.flags, stale, 'objects', cache) : { host: [], VM: [], template: [], snapshot: [], SR: [], network: [] }
        cache.rotate()
      }
      if (!part.infra) {
        const pool = p?.pool()
        part.infra = { children: [], poolRef: pool?.ref, poolRec: pool?.rec, vms: 0 }
      }
      const root = this.connectionRoot(c, input, part)
      pools.push({ ...root, id: `objects/${root.id}`, children: [], count: undefined })
      for (const k of Object.keys(merged) as (keyof ObjectGroups)[]) for (const n of part.groups[k]) merged[k].push(n)
    }
    const group = (key: string, label: string, children: TreeNode[]): TreeNode => ({
      id: `type:${key}`,
      objId: `type:${key}`,
      kind: 'group',
      label,
      search: label.toLowerCase(),
      sortKey: key,
      icon: 'none',
      count: children.length,
      children: children.sort(byName),
    })
    // one list for all pools: names that occur in more than one pool say which pool (issue 15)
    const poolLabel = new Map(input.connections.map((c) => [c.id, c.label]))
    for (const k of Object.keys(merged) as (keyof ObjectGroups)[]) merged[k] = withPoolContext(merged[k], poolLabel)
    const out = [group('pool', 'Pools', pools), group('host', 'Servers', merged.host), group('VM', 'Virtual Machines', merged.VM)]
    if (input.flags.showTemplates) out.push(group('template', 'Templates', merged.template))
    if (input.flags.showSnapshots) out.push(group('snapshot', 'Snapshots', merged.snapshot))
    out.push(group('SR', 'Storage', merged.SR), group('network', 'Networks', merged.network))
    return out
  }

  private tagsView(input: BuildInput): TreeNode[] {
    const byTag = new Map<string, TreeNode[]>()
    for (const c of input.connections) {
      const { part, p, stale } = this.part(c, input)
      if (!part.tags) {
        part.tags = new Map()
        const cache = this.cache(c.id)
        if (p) {
          for (const [tag, refs] of p.index('tag').entries()) {
            const nodes: TreeNode[] = []
            for (const ref of refs) {
              const n = objectNode(p, p.classOf.get(ref) ?? '', ref, input.flags, stale, `tag:${tag}`, cache)
              if (n) nodes.push(n)
            }
            if (nodes.length) part.tags.set(tag, nodes)
          }
        }
        cache.rotate()
      }
      for (const [tag, nodes] of part.tags) {
        const list = byTag.get(tag)
        if (list) list.push(...nodes)
        else byTag.set(tag, [...nodes])
      }
    }
    const out: TreeNode[] = []
    for (const [tag, nodes] of byTag) {
      out.push({
        id: `tag:${tag}`,
        objId: `tag:${tag}`,
        kind: 'tag',
        label: tag,
        search: tag.toLowerCase(),
        sortKey: naturalKey(tag),
        icon: 'none',
        count: nodes.length,
        children: nodes.sort(byName),
      })
    }
    return out.sort(byName)
  }

  private foldersView(input: BuildInput): TreeNode[] {
    const byPath = new Map<string, TreeNode[]>()
    const add = (path: string, nodes: TreeNode[]): void => {
      const list = byPath.get(path)
      if (list) list.push(...nodes)
      else byPath.set(path, [...nodes])
    }
    for (const c of input.connections) {
      const { part, p, stale } = this.part(c, input)
      if (!part.folders) {
        part.folders = new Map()
        const cache = this.cache(c.id)
        if (p) {
          for (const [path, refs] of p.index('folder').entries()) {
            const nodes: TreeNode[] = []
            for (const ref of refs) {
              const n = objectNode(p, p.classOf.get(ref) ?? '', ref, input.flags, stale, `folder:${path}`, cache)
              if (n) nodes.push(n)
            }
            part.folders.set(path, nodes)
          }
          // XenCenter keeps empty folders in pool.other_config.EMPTY_FOLDERS (';'-separated paths)
          const pool = p.pool()?.rec
          const empty = pool && isMap(pool.other_config) ? str(pool.other_config.EMPTY_FOLDERS) : ''
          for (const path of empty.split(';')) if (path && !part.folders.has(path)) part.folders.set(path, [])
        }
        cache.rotate()
      }
      for (const [path, nodes] of part.folders) add(path, nodes)
    }
    return folderTree(byPath)
  }
}

/** '/a/b' paths → nested folder nodes (ids are the normalised path so expansion survives) */
export function folderTree(byPath: Map<string, TreeNode[]>): TreeNode[] {
  const root: TreeNode = { id: 'folder:', objId: 'folder:', kind: 'folder', label: '', search: '', sortKey: '', icon: 'none', children: [] }
  const folders = new Map<string, TreeNode>([['', root]])
  const ensure = (parts: string[]): TreeNode => {
    const path = parts.join('/')
    const existing = folders.get(path)
    if (existing) return existing
    const parent = ensure(parts.slice(0, -1))
    const name = parts[parts.length - 1] ?? ''
    const node: TreeNode = { id: `folder:/${path}`, objId: `folder:/${path}`, kind: 'folder', label: name, search: name.toLowerCase(), sortKey: ` ${naturalKey(name)}`, icon: 'none', children: [] }
    parent.children.push(node)
    folders.set(path, node)
    return node
  }
  for (const [path, nodes] of byPath) {
    const parts = path.split('/').filter((s) => s.length > 0)
    if (parts.length === 0) continue
    ensure(parts).children.push(...nodes)
  }
  const finish = (n: TreeNode): number => {
    let count = 0
    for (const ch of n.children) count += ch.kind === 'folder' ? finish(ch) : 1
    n.children.sort(byName)
    n.count = count
    return count
  }
  finish(root)
  return root.children
}
