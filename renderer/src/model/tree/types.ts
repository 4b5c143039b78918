import type { ConnectionState } from '../../../../shared/contract/connection'

export type TreeMode = 'infrastructure' | 'objects' | 'tags' | 'folders'

export type NodeKind =
  | 'connection'
  | 'pool'
  | 'host'
  | 'VM'
  | 'template'
  | 'snapshot'
  | 'SR'
  | 'network'
  | 'group'
  | 'tag'
  | 'folder'

/** What an icon shows: the kind's shape plus a state overlay. */
export type IconState =
  | 'running'
  | 'halted'
  | 'suspended'
  | 'paused'
  | 'busy'
  | 'ok'
  | 'warning'
  | 'error'
  | 'offline'
  | 'connecting'
  | 'disabled'
  | 'none'

export interface TreeNode {
  /** unique in the tree (path-like where one object can appear twice, e.g. under two tags) */
  id: string
  /** identity of the object (selection key): `${connectionId}|${ref}`; group nodes use `id` */
  objId: string
  kind: NodeKind
  /** XAPI class of the object ('VM', 'host', 'pool', …) */
  cls?: string
  connectionId?: string
  ref?: string
  label: string
  /** which pool, where one list holds objects of several pools with the same name (Objects view) */
  context?: string
  /** lowercase text the search looks in: name, uuid, IPs, tags */
  search: string
  /** natural sort key */
  sortKey: string
  icon: IconState
  /** secondary text (e.g. connection state) */
  badge?: string
  badgeTone?: 'info' | 'warning' | 'error' | 'muted'
  /** the root node that stands for a saved connection (pool, stand-alone host, or bare connection) */
  isConnectionRoot?: boolean
  /** shown after the label when collapsed */
  count?: number
  /** the object is from a cache while its pool is not connected */
  stale?: boolean
  children: TreeNode[]
}

export interface TreeFlags {
  showTemplates: boolean
  showSnapshots: boolean
  showHidden: boolean
}

export interface ConnectionView {
  state: ConnectionState
  /** milliseconds since epoch, for countdowns */
  now: number
}

export const objId = (connectionId: string, ref: string): string => `${connectionId}|${ref}`

/** natural order key: "vm-2" before "vm-10", case-insensitive */
export function naturalKey(label: string): string {
  return label.toLowerCase().replace(/\d+/g, (d) => d.padStart(12, '0'))
}

export function byName(a: TreeNode, b: TreeNode): number {
  return a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
