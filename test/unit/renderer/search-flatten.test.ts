import { describe, expect, it } from 'vitest'
import { TreeBuilder } from '../../../renderer/src/model/tree/build'
import { filterTree, highlight, matchHint } from '../../../renderer/src/model/tree/filter'
import { defaultExpanded, flatten, scrollToReveal, visibleWindow } from '../../../renderer/src/model/tree/flatten'
import type { TreeNode } from '../../../renderer/src/model/tree/types'
import { ObjectGraph } from '../../../renderer/src/model/objects'
import { connectionState, generatePool, uuidOf } from './fleet'

function threePools(): TreeNode[] {
  const graph = new ObjectGraph()
  const conns = ['alpha', 'beta', 'gamma'].map((name, i) => {
    graph.apply(generatePool({ connectionId: `c${i}`, poolName: name, poolIndex: i, hosts: 2, runningPerHost: 3, halted: 2 }).diff)
    return connectionState(`c${i}`, { label: name })
  })
  return new TreeBuilder().build({ mode: 'infrastructure', connections: conns, graph, flags: { showTemplates: false, showSnapshots: false, showHidden: false }, now: 0 })
}
const all = (): true => true

describe('search', () => {
  it('finds one VM by name across three pools and keeps its ancestors', () => {
    const r = filterTree(threePools(), 'beta-vm4')
    expect(r.roots.map((n) => n.label)).toEqual(['beta'])
    const rows = flatten(r.roots, all)
    expect(rows.map((x) => x.node.label)).toEqual(['beta', 'beta-host1', 'beta-vm4'])
    expect(r.matches.size).toBe(1)
    expect(r.matchCount).toBe(1)
  })

  it('matches by uuid, guest IP and tag', () => {
    const roots = threePools()
    const byUuid = flatten(filterTree(roots, uuidOf(2, 1, 0)).roots, all).map((x) => x.node.label)
    expect(byUuid.at(-1)).toBe('gamma-vm0')
    const byIp = flatten(filterTree(roots, '10.1.1.2').roots, all).map((x) => x.node.label)
    expect(byIp).toEqual(['beta', 'beta-host1', 'beta-vm4'])
    const byTag = filterTree(roots, 'web')
    expect(byTag.matchCount).toBe(3 * 2) // vm0 and vm3 of each pool
  })

  it('needs every term to match (AND), case-insensitively', () => {
    const r = filterTree(threePools(), 'ALPHA   prod')
    const leaves = flatten(r.roots, all).filter((x) => r.matches.has(x.node.id)).map((x) => x.node.label)
    expect(leaves).toEqual(['alpha-host0', 'alpha-vm1', 'alpha-vm4'])
  })

  it('an empty query keeps the tree as it is; no match gives no rows', () => {
    const roots = threePools()
    expect(filterTree(roots, '   ').roots).toEqual(roots)
    expect(filterTree(roots, 'no-such-thing').roots).toEqual([])
  })

  it('does not mutate the unfiltered tree', () => {
    const roots = threePools()
    const before = roots[0]?.children.length
    filterTree(roots, 'alpha-vm0')
    expect(roots[0]?.children.length).toBe(before)
  })

  it('says why a row matched when its name does not contain the query', () => {
    const node = { label: 'web-01', search: 'web-01\n0000-uuid\n10.0.0.5\nfe80::1\nprod' }
    expect(matchHint(node, '10.0.0')).toBe('10.0.0.5')
    expect(matchHint(node, 'web prod')).toBe('prod')
    expect(matchHint(node, 'web')).toBeNull()
  })

  it('highlights every occurrence of every term', () => {
    expect(highlight('web-01-web', 'web')).toEqual([
      { text: 'web', hit: true },
      { text: '-01-', hit: false },
      { text: 'web', hit: true },
    ])
    expect(highlight('Alpha', 'zzz')).toEqual([{ text: 'Alpha', hit: false }])
  })
})

describe('flattening and windowing', () => {
  it('emits rows depth-first with ARIA level, position and set size', () => {
    const rows = flatten(threePools(), defaultExpanded)
    const first = rows[0]
    expect(first?.level).toBe(1)
    expect(first?.setsize).toBe(3)
    expect(first?.posinset).toBe(1)
    expect(first?.expanded).toBe(true)
    const vm = rows.find((r) => r.node.label === 'alpha-vm1')
    expect(vm?.level).toBe(3)
    expect(vm?.posinset).toBe(2)
    expect(vm?.expanded).toBeUndefined()
    expect(rows[vm?.parent ?? -1]?.node.label).toBe('alpha-host0')
  })

  it('collapsed nodes hide their subtree', () => {
    const roots = threePools()
    const rows = flatten(roots, (n) => n.label !== 'beta')
    expect(rows.some((r) => r.node.label.startsWith('beta-'))).toBe(false)
    expect(rows.find((r) => r.node.label === 'beta')?.expanded).toBe(false)
  })

  it('renders only the rows in the viewport (plus overscan), at any size', () => {
    expect(visibleWindow(20_000, 0, 440, 22, 5)).toEqual({ start: 0, end: 26 })
    expect(visibleWindow(20_000, 22 * 10_000, 440, 22, 5)).toEqual({ start: 9_995, end: 10_026 })
    expect(visibleWindow(20_000, 22 * 20_000, 440, 22, 5).end).toBe(20_000)
    expect(visibleWindow(0, 0, 440, 22)).toEqual({ start: 0, end: 0 })
  })

  it('scrolls just enough to reveal a row', () => {
    expect(scrollToReveal(5, 0, 440, 22)).toBeNull()
    expect(scrollToReveal(30, 0, 440, 22)).toBe(31 * 22 - 440)
    expect(scrollToReveal(2, 200, 440, 22)).toBe(44)
  })
})
