import { describe, expect, it } from 'vitest'
import { TreeBuilder } from '../../../renderer/src/model/tree/build'
import { filterTree, highlight, matchHint, refines, TreeFilter } from '../../../renderer/src/model/tree/filter'
import { defaultExpanded, Flattener, flatten, isDescendant, parentIndex, scrollToReveal, visibleWindow } from '../../../renderer/src/model/tree/flatten'
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
    expect(rows.map((x) => r.isMatch(x.node))).toEqual([false, false, true])
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

  it('matches are every node whose text has all the terms (and passes a saved search); a subtree that passes whole is given back as it is', () => {
    const roots = threePools()
    const everyNode: TreeNode[] = []
    const walk = (nodes: readonly TreeNode[]): void => {
      for (const n of nodes) {
        everyNode.push(n)
        walk(n.children)
      }
    }
    walk(roots)
    const expected = (terms: string[], keep?: (n: TreeNode) => boolean): string[] =>
      everyNode.filter((n) => terms.every((t) => n.search.includes(t)) && (!keep || keep(n))).map((n) => n.id).sort()
    const notHost1 = (n: TreeNode): boolean => !n.label.endsWith('host1')
    for (const [query, terms, keep] of [
      ['a', ['a'], undefined],
      ['-', ['-'], undefined],
      ['vm', ['vm'], undefined],
      ['beta vm', ['beta', 'vm'], undefined],
      ['a', ['a'], notHost1],
      ['', [], notHost1],
    ] as [string, string[], ((n: TreeNode) => boolean) | undefined][]) {
      const r = filterTree(roots, query, keep)
      expect([...r.matches].sort(), query).toEqual(expected(terms, keep))
      expect(r.matchCount, query).toBe(expected(terms, keep).length)
    }
    // '-' is in every VM's and host's name: each host is given back as it is, not a copy of it
    const broad = filterTree(roots, '-')
    const hostsBefore = roots.flatMap((p) => p.children.filter((n) => n.kind === 'host'))
    const hostsAfter = broad.roots.flatMap((p) => p.children.filter((n) => n.kind === 'host'))
    expect(hostsAfter.length).toBe(hostsBefore.length)
    for (const [i, h] of hostsAfter.entries()) expect(h).toBe(hostsBefore[i])
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

describe('search as it is typed (TreeFilter)', () => {
  const same = (a: ReturnType<typeof filterTree>, b: ReturnType<typeof filterTree>): void => {
    expect(a.roots).toEqual(b.roots)
    expect([...a.matches].sort()).toEqual([...b.matches].sort())
    expect(a.matchCount).toBe(b.matchCount)
    // the row's test (the tree's highlight) says what the set says, for every row
    for (const r of flatten(a.roots, all)) expect(a.isMatch(r.node), r.node.id).toBe(a.matches.has(r.node.id))
  }

  it('gives what filtering the whole tree gives, key by key, on Backspace and with a word added', () => {
    const roots = threePools()
    const f = new TreeFilter()
    const typed = 'alpha-vm1'
    const queries = [...typed].map((_, i) => typed.slice(0, i + 1))
    queries.push('alpha-vm', 'alpha-v', 'alpha-vm4', 'alpha-vm4 web', 'alpha-vm4 we', 'a', '', 'beta host', '10.1.1', '10.1.1.2')
    for (const q of queries) same(f.run(roots, q), filterTree(roots, q))
  })

  it('a query typed further looks only at what the previous one kept', () => {
    // the tree's nodes with their search text read through a getter that notes whose is read
    const looked = new Set<string>()
    const probe = (nodes: readonly TreeNode[]): TreeNode[] =>
      nodes.map((n) => {
        const p = { ...n, children: probe(n.children) }
        Object.defineProperty(p, 'search', { enumerable: true, get: () => (looked.add(n.id), n.search) })
        return p
      })
    const roots = probe(threePools())
    const f = new TreeFilter()
    const broad = f.run(roots, 'alpha')
    expect(looked.size).toBe(flatten(roots, all).length)
    const keptByBroad = new Set(flatten(broad.roots, all).map((r) => r.node.id))
    looked.clear()
    const narrow = f.run(roots, 'alpha-vm1')
    expect(looked.size).toBeGreaterThan(0)
    expect([...looked].filter((id) => !keptByBroad.has(id))).toEqual([])
    same(narrow, filterTree(roots, 'alpha-vm1'))
    // a query seen again is answered with its result, looking at nothing
    looked.clear()
    expect(f.run(roots, 'alpha')).toBe(broad)
    expect(looked.size).toBe(0)
  })

  it('starts over for another tree or another saved search', () => {
    const full = threePools()
    const alphaOnly = filterTree(full, 'alpha').roots
    const f = new TreeFilter()
    f.run(alphaOnly, 'a')
    // 'beta' refines 'a', but the tree changed: beta's rows must come from the new tree
    same(f.run(full, 'beta'), filterTree(full, 'beta'))
    const onlyVms = (n: TreeNode): boolean => n.kind === 'VM'
    f.run(full, 'a', (n) => n.kind === 'host')
    same(f.run(full, 'alpha', onlyVms), filterTree(full, 'alpha', onlyVms))
  })

  it('a query refines another when each of its words is part of one of the new words', () => {
    expect(refines(['web'], ['web-0'])).toBe(true)
    expect(refines(['web', '10.1'], ['10.1.2', 'web'])).toBe(true)
    expect(refines(['web'], ['we'])).toBe(false)
    expect(refines(['web', 'prod'], ['web'])).toBe(false)
    expect(refines([], ['x'])).toBe(true)
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
    const at = rows.findIndex((r) => r === vm)
    expect(rows[parentIndex(rows, at)]?.node.label).toBe('alpha-host0')
    expect(parentIndex(rows, 0)).toBe(-1)
    expect(isDescendant(rows, parentIndex(rows, at), at)).toBe(true)
    expect(isDescendant(rows, 0, at)).toBe(true)
    expect(isDescendant(rows, at, at + 1)).toBe(false)
  })

  it('flattening again gives what flattening once gives, and keeps the rows of subtrees that did not change', () => {
    const graph = new ObjectGraph()
    const builder = new TreeBuilder()
    const conns = ['alpha', 'beta'].map((name, i) => {
      graph.apply(generatePool({ connectionId: `c${i}`, poolName: name, poolIndex: i, hosts: 2, runningPerHost: 3, halted: 2 }).diff)
      return connectionState(`c${i}`, { label: name })
    })
    const build = (): TreeNode[] => builder.build({ mode: 'infrastructure', connections: conns, graph, flags: { showTemplates: false, showSnapshots: false, showHidden: false }, now: 0 })
    const f = new Flattener()
    const first = f.rows(build(), defaultExpanded, null)
    expect(first).toEqual(flatten(build(), defaultExpanded))
    // a batch for beta: beta's subtree is rebuilt, alpha's is the same
    const beta = generatePool({ connectionId: 'c1', poolName: 'beta', poolIndex: 1, hosts: 2, runningPerHost: 4, halted: 2 })
    graph.apply({ ...beta.diff, seq: 2 })
    const second = f.rows(build(), defaultExpanded, null)
    expect(second).toEqual(flatten(build(), defaultExpanded))
    const alphaVm = (rows: typeof first) => rows.find((r) => r.node.label === 'alpha-vm1')
    const betaVm = (rows: typeof first) => rows.find((r) => r.node.label === 'beta-vm1')
    expect(alphaVm(second)).toBe(alphaVm(first))
    expect(betaVm(second)).not.toBe(betaVm(first))
    expect(second.filter((r) => r.node.label.startsWith('beta-vm'))).toHaveLength(8)
    // another expansion: nothing is reused from the one before
    const host = first.find((r) => r.node.label === 'alpha-host0')?.node.id ?? ''
    const collapsed = new Map([[host, false]])
    const isExpanded = (n: TreeNode, level: number): boolean => collapsed.get(n.id) ?? defaultExpanded(n, level)
    const third = f.rows(build(), isExpanded, collapsed)
    expect(third).toEqual(flatten(build(), isExpanded))
    expect(third.find((r) => r.node.id === host)?.expanded).toBe(false)
    expect(third.some((r) => r.node.label === 'alpha-vm0')).toBe(false)
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
