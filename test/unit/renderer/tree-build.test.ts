import { describe, expect, it } from 'vitest'
import { TreeBuilder } from '../../../renderer/src/model/tree/build'
import { naturalKey, type TreeFlags, type TreeMode, type TreeNode } from '../../../renderer/src/model/tree/types'
import { ObjectGraph } from '../../../renderer/src/model/objects'
import type { ConnectionState } from '../../../shared/contract/connection'
import type { ObjectUpsert } from '../../../shared/model/diff'
import { connectionState, generatePool } from './fleet'

const HIDE: TreeFlags = { showTemplates: false, showSnapshots: false, showHidden: false }
const labels = (nodes: TreeNode[]): string[] => nodes.map((n) => n.label)
const find = (nodes: TreeNode[], label: string): TreeNode | undefined => {
  for (const n of nodes) {
    if (n.label === label) return n
    const f = find(n.children, label)
    if (f) return f
  }
  return undefined
}

function setup(conns: ConnectionState[] = [connectionState('c1', { label: 'alpha' })]) {
  const graph = new ObjectGraph()
  const gen = generatePool({ connectionId: 'c1', poolName: 'alpha', hosts: 2, runningPerHost: 2, halted: 1 })
  graph.apply(gen.diff)
  const builder = new TreeBuilder()
  const build = (mode: TreeMode = 'infrastructure', flags: TreeFlags = HIDE, connections = conns) => builder.build({ mode, connections, graph, flags, now: Date.UTC(2026, 10, 25) })
  return { graph, gen, builder, build }
}

describe('Infrastructure view', () => {
  it('shows pool → hosts → resident VMs, halted VMs, shared SRs and networks under the pool, local SRs under their host', () => {
    const { build } = setup()
    const [pool] = build()
    expect(pool?.kind).toBe('pool')
    expect(pool?.label).toBe('alpha')
    expect(labels(pool?.children ?? [])).toEqual(['alpha-host0', 'alpha-host1', 'alpha-halted0', 'NFS storage', 'Pool-wide network associated with eth0'])
    const host0 = pool?.children[0]
    expect(labels(host0?.children ?? [])).toEqual(['alpha-vm0', 'alpha-vm1', 'Local storage'])
    expect(host0?.children[0]?.icon).toBe('running')
    expect(find(pool?.children ?? [], 'alpha-halted0')?.icon).toBe('halted')
    expect(pool?.count).toBe(5) // VMs under the pool: 4 running + 1 halted
  })

  it('hides templates, snapshots, control domains and host-internal networks unless toggled', () => {
    const { build } = setup()
    const hidden = build()
    expect(find(hidden, 'Debian Bookworm 12')).toBeUndefined()
    expect(find(hidden, 'before-upgrade')).toBeUndefined()
    expect(find(hidden, 'Control domain on alpha-host0')).toBeUndefined()
    expect(find(hidden, 'Host internal management network')).toBeUndefined()
    const shown = build('infrastructure', { showTemplates: true, showSnapshots: true, showHidden: true })
    expect(find(shown, 'Debian Bookworm 12')?.kind).toBe('template')
    // a snapshot sits under the VM it was taken of
    expect(find(shown, 'alpha-vm0')?.children.map((c) => c.label)).toEqual(['before-upgrade'])
    expect(find(shown, 'Control domain on alpha-host0')).toBeDefined()
    expect(find(shown, 'Host internal management network')).toBeDefined()
  })

  it('a started VM moves from the pool to its host, keeping its node id', () => {
    const { graph, gen, build } = setup()
    const before = find(build(), 'alpha-halted0')
    const vm = gen.haltedVmRefs[0] ?? ''
    const rec = { ...(graph.pool('c1')?.get('VM', vm) ?? {}), power_state: 'Running', resident_on: gen.hostRefs[1] }
    graph.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [{ cls: 'VM', ref: vm, record: rec }], removes: [] })
    const [pool] = build()
    const host1 = pool?.children.find((n) => n.label === 'alpha-host1')
    const moved = host1?.children.find((n) => n.label === 'alpha-halted0')
    expect(moved?.icon).toBe('running')
    expect(moved?.id).toBe(before?.id)
    expect(pool?.children.some((n) => n.label === 'alpha-halted0')).toBe(false)
  })

  it('shows a stand-alone host (pool without a name, one host) as the host itself', () => {
    const graph = new ObjectGraph()
    graph.apply(generatePool({ connectionId: 's1', poolName: 'lonely', hosts: 1, runningPerHost: 1, halted: 1, standalone: true }).diff)
    const [root] = new TreeBuilder().build({ mode: 'infrastructure', connections: [connectionState('s1')], graph, flags: HIDE, now: 0 })
    expect(root?.kind).toBe('host')
    expect(root?.label).toBe('lonely')
    expect(root?.isConnectionRoot).toBe(true)
    expect(labels(root?.children ?? [])).toEqual(['lonely-halted0', 'lonely-vm0', 'Local storage', 'NFS storage', 'Pool-wide network associated with eth0'])
  })

  it('always shows a node per saved connection with its state', () => {
    const { build } = setup()
    const now = Date.UTC(2026, 10, 25, 12, 0, 0)
    const conns = [
      connectionState('c1', { label: 'alpha', status: 'reconnecting', attempt: 2, nextRetryAt: new Date(now + 12_000).toISOString() }),
      connectionState('c2', { label: 'new.example', status: 'connecting' }),
      connectionState('c3', { label: 'bad.example', status: 'failed', detail: 'connection refused' }),
      connectionState('c4', { label: 'trust.example', status: 'awaiting-trust' }),
      connectionState('c5', { label: 'cached.example', status: 'disconnected', cachedAt: '2026-11-25T09:30:00Z' }),
    ]
    const graph = new ObjectGraph()
    graph.apply(generatePool({ connectionId: 'c1', poolName: 'alpha', hosts: 1, runningPerHost: 1, halted: 0 }).diff)
    const roots = new TreeBuilder().build({ mode: 'infrastructure', connections: conns, graph, flags: HIDE, now })
    expect(roots.map((r) => r.badge)).toEqual([
      'Reconnecting in 12 s (attempt 2)',
      'Connecting…',
      'Failed: connection refused',
      'Awaiting certificate trust',
      expect.stringMatching(/^Offline — as of /),
    ])
    expect(roots[0]?.stale).toBe(true) // cached objects of a pool that is not connected are marked
    expect(roots[0]?.children.length).toBeGreaterThan(0)
    expect(roots[1]?.kind).toBe('connection')
    expect(roots[1]?.label).toBe('new.example')
    void build
  })

  it('rebuilds only the connection whose objects changed', () => {
    const { graph, builder, build } = setup()
    graph.apply(generatePool({ connectionId: 'c2', poolName: 'beta', poolIndex: 1, hosts: 1, runningPerHost: 1, halted: 0 }).diff)
    const conns = [connectionState('c1'), connectionState('c2')]
    build('infrastructure', HIDE, conns)
    expect(builder.rebuilt).toBe(2)
    build('infrastructure', HIDE, conns)
    expect(builder.rebuilt).toBe(0)
    graph.apply({ connectionId: 'c2', seq: 2, reset: false, upserts: [], removes: [{ cls: 'VM', ref: 'OpaqueRef:c2-vm0' }] })
    build('infrastructure', HIDE, conns)
    expect(builder.rebuilt).toBe(1)
  })
})

describe('natural order', () => {
  it('numbers compare as numbers, case does not count; digit runs of 12 or more are kept as they are', () => {
    const names = ['vm-10', 'VM-2', 'vm-1b', 'vm-01a', 'web', '10', '9', 'a1b22c333', 'a1b22c4', 'x123456789012345', 'x99', '']
    expect([...names].sort((a, b) => (naturalKey(a) < naturalKey(b) ? -1 : naturalKey(a) > naturalKey(b) ? 1 : 0))).toEqual([
      '',
      '9',
      '10',
      'a1b22c4',
      'a1b22c333',
      'vm-01a',
      'vm-1b',
      'VM-2',
      'vm-10',
      'web',
      'x99',
      'x123456789012345',
    ])
    expect(naturalKey('Web-7 (v2)')).toBe('web-000000000007 (v000000000002)')
    expect(naturalKey('123456789012345')).toBe('123456789012345')
    expect(naturalKey('no digits')).toBe('no digits')
  })
})

describe('connection nodes between builds (issue 20: 200 of them per batch of a fleet streaming in)', () => {
  it('the same node while the connection, its badge and its pool are the same; a new one when any changes, with the right VM count', () => {
    const graph = new ObjectGraph()
    const gen = generatePool({ connectionId: 'c1', poolName: 'alpha', hosts: 2, runningPerHost: 3, halted: 2 })
    graph.apply(gen.diff)
    const builder = new TreeBuilder()
    const now = Date.UTC(2026, 10, 25, 12, 0, 0)
    const cached = connectionState('c1', { label: 'alpha', status: 'disconnected', cachedAt: '2026-11-25T09:30:00Z' })
    const build = (c: ConnectionState, at = now) => builder.build({ mode: 'infrastructure', connections: [c], graph, flags: HIDE, now: at })[0]
    const first = build(cached)
    expect(first?.count).toBe(8) // 2 × 3 running + 2 halted
    expect(build(cached)).toBe(first)
    // the clock moved (a countdown would change; an "as of" does not): the same node
    expect(build(cached, now + 5000)).toBe(first)
    // a new state object with the same content: a node made again, equal
    const again = build({ ...cached })
    expect(again).not.toBe(first)
    expect(again).toEqual(first)
    // a countdown that changed its text: a new node saying so
    const retry = connectionState('c1', { label: 'alpha', status: 'reconnecting', attempt: 2, nextRetryAt: new Date(now + 12_000).toISOString() })
    const r1 = build(retry)
    expect(r1?.badge).toBe('Reconnecting in 12 s (attempt 2)')
    expect(build(retry, now + 1000)?.badge).toBe('Reconnecting in 11 s (attempt 2)')
    // its pool changed: a new node with the new count
    graph.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [], removes: [{ cls: 'VM', ref: gen.haltedVmRefs[0] ?? '' }] })
    const after = build(retry, now + 1000)
    expect(after?.count).toBe(7)
    expect(after?.children).not.toBe(r1?.children)
  })

  it('search text: label, uuid, extra lines (IPs), tags and custom field values, one per line, lower case', () => {
    const graph = new ObjectGraph()
    const upserts: ObjectUpsert[] = [
      { cls: 'pool', ref: 'p', record: { uuid: 'UP', name_label: 'Prod', master: 'h', tags: [], other_config: {} } },
      { cls: 'host', ref: 'h', record: { uuid: 'UH', name_label: 'Host A', address: '10.0.0.1', hostname: 'HA', tags: ['Rack-1'], other_config: {} } },
      { cls: 'VM_guest_metrics', ref: 'g', record: { uuid: 'UG', networks: { '0/ip': '10.1.2.3' } } },
      {
        cls: 'VM',
        ref: 'v',
        record: { uuid: 'UV', name_label: 'Web-01', power_state: 'Running', resident_on: 'h', guest_metrics: 'g', is_a_template: false, is_a_snapshot: false, is_control_domain: false, tags: ['Web', 'Prod'], other_config: { 'XenCenter.CustomFields.owner': 'Finance', 'XenCenter.CustomFields.empty': '', folder: '/x' } },
      },
    ]
    graph.apply({ connectionId: 'c1', seq: 1, reset: true, removes: [], upserts })
    const roots = new TreeBuilder().build({ mode: 'infrastructure', connections: [connectionState('c1')], graph, flags: HIDE, now: 0 })
    expect(find(roots, 'Web-01')?.search).toBe('web-01\nuv\n10.1.2.3\nweb\nprod\nowner: finance')
    expect(find(roots, 'Host A')?.search).toBe('host a\nuh\n10.0.0.1\nha\nrack-1')
  })
})

describe('incremental rebuilds', () => {
  it('a batch of tasks or metrics does not rebuild the tree', () => {
    const { graph, builder, build } = setup()
    build()
    graph.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [{ cls: 'task', ref: 'OpaqueRef:t9', record: { status: 'pending' } }, { cls: 'VM_metrics', ref: 'OpaqueRef:m9', record: {} }], removes: [] })
    build()
    expect(builder.rebuilt).toBe(0)
  })

  it('unchanged VMs keep their node objects across a rebuild; a changed VM gets a new one', () => {
    const { graph, gen, build } = setup()
    const before = build()
    const vm0 = find(before, 'alpha-vm0')
    const vm1 = find(before, 'alpha-vm1')
    const ref = gen.runningVmRefs[1] ?? ''
    const rec = { ...(graph.pool('c1')?.get('VM', ref) ?? {}), name_label: 'alpha-vm1-renamed' }
    graph.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [{ cls: 'VM', ref, record: rec }], removes: [] })
    const after = build()
    expect(find(after, 'alpha-vm0')).toBe(vm0)
    expect(find(after, 'alpha-vm1')).toBeUndefined()
    expect(find(after, 'alpha-vm1-renamed')).not.toBe(vm1)
    expect(find(after, 'alpha-vm1-renamed')?.id).toBe(vm1?.id)
  })

  it('new guest metrics (an IP appears) refresh the VM node so search finds the IP', () => {
    const { graph, gen, build } = setup()
    build()
    const ref = gen.runningVmRefs[0] ?? ''
    const gmRef = String(graph.pool('c1')?.get('VM', ref)?.guest_metrics)
    graph.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [{ cls: 'VM_guest_metrics', ref: gmRef, record: { networks: { '0/ip': '192.0.2.77' } } }], removes: [] })
    expect(find(build(), 'alpha-vm0')?.search).toContain('192.0.2.77')
  })
})

describe('Objects, Tags and Folders views', () => {
  it('Objects lists objects by type across pools', () => {
    const { graph, build } = setup()
    graph.apply(generatePool({ connectionId: 'c2', poolName: 'beta', poolIndex: 1, hosts: 1, runningPerHost: 1, halted: 0 }).diff)
    const roots = build('objects', HIDE, [connectionState('c1'), connectionState('c2')])
    expect(labels(roots)).toEqual(['Pools', 'Servers', 'Virtual Machines', 'Storage', 'Networks'])
    expect(labels(roots[0]?.children ?? [])).toEqual(['alpha', 'beta'])
    expect(labels(roots[1]?.children ?? [])).toEqual(['alpha-host0', 'alpha-host1', 'beta-host0'])
    expect(roots[2]?.children).toHaveLength(6)
    const withTemplates = build('objects', { ...HIDE, showTemplates: true }, [connectionState('c1')])
    expect(labels(withTemplates)).toContain('Templates')
  })

  it('Tags groups tagged objects under each XAPI tag', () => {
    const { build } = setup()
    const roots = build('tags')
    expect(labels(roots)).toEqual(['db', 'prod', 'storage', 'web'])
    const prod = roots.find((r) => r.label === 'prod')
    expect(labels(prod?.children ?? [])).toEqual(['alpha-host0', 'alpha-vm1'])
    // the same object under two tags gets two distinct node ids but one object id
    const inDb = roots.find((r) => r.label === 'db')?.children.find((n) => n.label === 'alpha-vm1')
    const inProd = prod?.children.find((n) => n.label === 'alpha-vm1')
    expect(inDb?.id).not.toBe(inProd?.id)
    expect(inDb?.objId).toBe(inProd?.objId)
  })

  it('Folders nests other_config.folder paths and keeps the empty folders XenCenter records', () => {
    const { build } = setup()
    const roots = build('folders')
    expect(labels(roots)).toEqual(['alpha', 'Empty', 'Nested'])
    const apps = roots[0]?.children[0]
    expect(apps?.label).toBe('apps')
    expect(labels(apps?.children ?? [])).toEqual(['alpha-vm0', 'alpha-vm2'])
    expect(roots[0]?.count).toBe(2)
    expect(roots[2]?.children[0]?.label).toBe('Empty')
  })
})
