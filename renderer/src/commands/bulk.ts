/**
 * A command on a mixed selection acts on the objects it applies to and says what it leaves out and
 * why, before the click (issue 15 item 10): 'Shut Down' + '3 VMs (2 are already halted and 2 are
 * not VMs, skipped)'. The menus, the toolbar's tooltip, the multi-selection pane and the
 * confirmation all show this one sentence.
 */
import type { NodeKind } from '../model/tree/types'
import { count } from '../model/format'

/** why one selected object is left out, as a group a count can be given for */
export type SkipGroup =
  | { type: 'kind' }
  | { type: 'offline' }
  | { type: 'state'; state: string; already: boolean }
  | { type: 'busy' }
  | { type: 'blocked' }
  | { type: 'other' }

/** what a kind of object is called, singular and plural ('storage repository', 'storage repositories') */
export const KIND_NOUN: Record<NodeKind, readonly [string, string]> = {
  connection: ['server connection', 'server connections'],
  pool: ['pool', 'pools'],
  host: ['server', 'servers'],
  VM: ['VM', 'VMs'],
  template: ['template', 'templates'],
  snapshot: ['snapshot', 'snapshots'],
  SR: ['storage repository', 'storage repositories'],
  network: ['network', 'networks'],
  group: ['group', 'groups'],
  tag: ['tag', 'tags'],
  folder: ['folder', 'folders'],
}

export function kindCount(n: number, kind: NodeKind): string {
  const [one, many] = KIND_NOUN[kind]
  return count(n, one, many)
}

/** 'a storage repository', 'an ISO' */
export function aKind(kind: NodeKind): string {
  const one = KIND_NOUN[kind][0]
  return `${/^[aeiou]/i.test(one) ? 'an' : 'a'} ${one}`
}

const isAre = (n: number): string => (n === 1 ? 'is' : 'are')

function groupText(g: SkipGroup, n: number, target: readonly [string, string]): string {
  switch (g.type) {
    case 'kind':
      return n === 1 ? `1 is not a ${target[0]}` : `${n} are not ${target[1]}`
    case 'offline':
      return `${n} ${isAre(n)} in a pool that is offline`
    case 'state':
      return `${n} ${isAre(n)} ${g.already ? 'already ' : ''}${g.state.toLowerCase()}`
    case 'busy':
      return `${n} ${isAre(n)} busy with another operation`
    case 'blocked':
      return `${n} ${isAre(n)} protected from it`
    case 'other':
      return `${n} ${n === 1 ? 'is' : 'are'} not allowed by the pool now`
  }
}

const keyOf = (g: SkipGroup): string => (g.type === 'state' ? `state:${g.state}:${g.already}` : g.type)

/** '2 are already halted and 2 are not VMs' (groups in order of first appearance) */
export function skipPhrase(skipped: readonly SkipGroup[], target: readonly [string, string]): string {
  const groups = new Map<string, { g: SkipGroup; n: number }>()
  for (const g of skipped) {
    const k = keyOf(g)
    const e = groups.get(k)
    if (e) e.n++
    else groups.set(k, { g, n: 1 })
  }
  const parts = [...groups.values()].map(({ g, n }) => groupText(g, n, target))
  if (parts.length <= 1) return parts[0] ?? ''
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1) ?? ''}`
}

/**
 * the detail after a command's label for a multi-selection: '3 VMs' or '3 VMs (2 are already
 * halted, skipped)'; null for a selection of one, or when it acts on nothing
 */
export function bulkDetail(acting: number, skipped: readonly SkipGroup[], target: readonly [string, string]): string | null {
  if (acting + skipped.length <= 1 || acting === 0) return null
  const what = count(acting, target[0], target[1])
  return skipped.length ? `${what} (${skipPhrase(skipped, target)}, skipped)` : what
}
