import { describe, expect, it } from 'vitest'
import { MultiIndex, NOT_RESIDENT, ObjectGraph } from '../../../renderer/src/model/objects'
import { generatePool } from './fleet'

const spec = { connectionId: 'c1', poolName: 'alpha', hosts: 2, runningPerHost: 3, halted: 2 }

describe('object graph fed by pool.diff batches', () => {
  it('a reset batch loads every class and builds the indexes in one pass', () => {
    const g = new ObjectGraph()
    const gen = generatePool(spec)
    g.apply(gen.diff)
    const p = g.pool('c1')
    expect(p?.all('VM').size).toBe(2 + 6 + 2 + 2) // dom0s, running, halted, template + snapshot
    expect([...(p?.index('residentOn').get(gen.hostRefs[0] ?? '') ?? [])]).toHaveLength(4) // dom0 + 3 running
    expect([...(p?.index('residentOn').get(NOT_RESIDENT) ?? [])]).toEqual(expect.arrayContaining(gen.haltedVmRefs))
    expect(p?.index('tag').get('web').size).toBe(2)
    expect(p?.index('ip').get('10.0.1.2').size).toBe(1)
    expect(p?.pendingTasks()).toBe(1)
    expect(g.findByUuid(String(p?.get('VM', gen.runningVmRefs[0])?.uuid))?.ref).toBe(gen.runningVmRefs[0])
  })

  it('counts the plain VMs of a pool and the running ones, again after a batch changes them', () => {
    const g = new ObjectGraph()
    const gen = generatePool(spec)
    g.apply(gen.diff)
    expect(g.pool('c1')?.vmCounts()).toEqual({ vms: 8, running: 6 }) // no dom0s, template or snapshot
    const vm = gen.haltedVmRefs[0] ?? ''
    const rec = { ...(g.pool('c1')?.get('VM', vm) ?? {}), power_state: 'Running', resident_on: gen.hostRefs[0] }
    g.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [{ cls: 'VM', ref: vm, record: rec }], removes: [] })
    expect(g.pool('c1')?.vmCounts()).toEqual({ vms: 8, running: 7 })
    g.apply({ connectionId: 'c1', seq: 3, reset: false, upserts: [], removes: [{ cls: 'VM', ref: gen.runningVmRefs[0] ?? '' }] })
    expect(g.pool('c1')?.vmCounts()).toEqual({ vms: 7, running: 6 })
  })

  it('a VM that starts moves from the not-resident index to its host, without duplicates', () => {
    const g = new ObjectGraph()
    const gen = generatePool(spec)
    g.apply(gen.diff)
    const p = g.pool('c1')
    const vm = gen.haltedVmRefs[0] ?? ''
    const host = gen.hostRefs[1] ?? ''
    const rec = { ...(p?.get('VM', vm) ?? {}), power_state: 'Running', resident_on: host }
    g.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [{ cls: 'VM', ref: vm, record: rec }], removes: [] })
    expect(p?.index('residentOn').get(NOT_RESIDENT).has(vm)).toBe(false)
    expect(p?.index('residentOn').get(host).has(vm)).toBe(true)
    // the same upsert again changes nothing
    g.apply({ connectionId: 'c1', seq: 3, reset: false, upserts: [{ cls: 'VM', ref: vm, record: rec }], removes: [] })
    let count = 0
    for (const [, refs] of p?.index('residentOn').entries() ?? []) if (refs.has(vm)) count++
    expect(count).toBe(1)
  })

  it('modified tags and folders leave no ghost entry under the old key', () => {
    const g = new ObjectGraph()
    const gen = generatePool(spec)
    g.apply(gen.diff)
    const p = g.pool('c1')
    const vm = gen.runningVmRefs[0] ?? ''
    const rec = { ...(p?.get('VM', vm) ?? {}), tags: ['batch'], other_config: { folder: '/moved' } }
    g.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [{ cls: 'VM', ref: vm, record: rec }], removes: [] })
    expect(p?.index('tag').get('web').has(vm)).toBe(false)
    expect(p?.index('tag').get('batch').has(vm)).toBe(true)
    expect(p?.index('folder').get('/alpha/apps').has(vm)).toBe(false)
    expect(p?.index('folder').get('/moved').has(vm)).toBe(true)
  })

  it('a removed object is gone from its table, the uuid map and every index', () => {
    const g = new ObjectGraph()
    const gen = generatePool(spec)
    g.apply(gen.diff)
    const p = g.pool('c1')
    const vm = gen.runningVmRefs[0] ?? ''
    const uuid = String(p?.get('VM', vm)?.uuid)
    g.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [], removes: [{ cls: 'VM', ref: vm }] })
    expect(p?.get('VM', vm)).toBeUndefined()
    expect(p?.byUuid.has(uuid)).toBe(false)
    expect(p?.classOf.has(vm)).toBe(false)
    for (const [, refs] of p?.index('residentOn').entries() ?? []) expect(refs.has(vm)).toBe(false)
    expect(p?.index('tag').get('web').has(vm)).toBe(false)
    // removing something unknown is harmless
    expect(() => g.apply({ connectionId: 'c1', seq: 3, reset: false, upserts: [], removes: [{ cls: 'VM', ref: 'OpaqueRef:nope' }] })).not.toThrow()
  })

  it("a ref's class and a uuid's ref answer the same whether first asked before or after batches (made on first ask, then kept up to date)", () => {
    const gen = generatePool(spec)
    const vm = gen.runningVmRefs[0] ?? ''
    const halted = gen.haltedVmRefs[0] ?? ''
    const batches = (g: ObjectGraph): (() => void)[] => [
      () => g.apply(gen.diff),
      // a VM's uuid changes, another VM goes, a new SR comes
      () => {
        const rec = { ...(g.pool('c1')?.get('VM', vm) ?? {}), uuid: 'new-uuid' }
        g.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [{ cls: 'VM', ref: vm, record: rec }, { cls: 'SR', ref: 'OpaqueRef:sr-new', record: { uuid: 'sr-new-uuid', name_label: 'new', PBDs: [] } }], removes: [{ cls: 'VM', ref: halted }] })
      },
      // a reset without the new SR
      () => g.apply({ ...gen.diff, seq: 3 }),
    ]
    // what both must say after each batch: every record's class and uuid, from the tables themselves
    const expected = (g: ObjectGraph): { classes: [string, string][]; uuids: [string, string][] } => {
      const p = g.pool('c1')
      const classes: [string, string][] = []
      const uuids: [string, string][] = []
      for (const [cls, table] of p?.tables ?? []) {
        for (const [ref, rec] of table) {
          classes.push([ref, cls])
          if (typeof rec.uuid === 'string' && rec.uuid) uuids.push([rec.uuid, ref])
        }
      }
      return { classes: classes.sort(), uuids: uuids.sort() }
    }
    const seen = (g: ObjectGraph): { classes: [string, string][]; uuids: [string, string][] } => {
      const p = g.pool('c1')
      return { classes: [...(p?.classOf ?? [])].sort(), uuids: [...(p?.byUuid ?? [])].sort() }
    }
    const early = new ObjectGraph()
    const late = new ObjectGraph()
    for (const [i, step] of batches(early).entries()) {
      step()
      ;(batches(late)[i] as () => void)()
      // `early` is asked after every batch (its maps follow the batches), `late` only at the end (made then)
      expect(seen(early)).toEqual(expected(early))
    }
    expect(seen(late)).toEqual(expected(late))
    expect(seen(early)).toEqual(seen(late))
    expect(early.pool('c1')?.byUuid.has('new-uuid')).toBe(false) // the reset brought the old uuid back
    expect(early.pool('c1')?.classOf.get('OpaqueRef:sr-new')).toBeUndefined()
  })

  it('a reset replaces the graph: objects missing from it are gone (no ghosts)', () => {
    const g = new ObjectGraph()
    const gen = generatePool(spec)
    g.apply(gen.diff)
    const smaller = generatePool({ ...spec, hosts: 1, runningPerHost: 1, halted: 0 })
    g.apply({ ...smaller.diff, seq: 10 })
    const p = g.pool('c1')
    expect(p?.all('host').size).toBe(1)
    expect(p?.get('host', gen.hostRefs[1])).toBeUndefined()
    expect(p?.index('residentOn').get(gen.hostRefs[1] ?? '').size).toBe(0)
    expect(p?.index('tag').get('db').size).toBe(0)
  })

  it('reports a gap when a batch does not follow the previous one', () => {
    const g = new ObjectGraph()
    g.apply(generatePool(spec).diff)
    expect(g.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [], removes: [] }).gap).toBe(false)
    expect(g.apply({ connectionId: 'c1', seq: 5, reset: false, upserts: [], removes: [] }).gap).toBe(true)
  })

  it('keeps pools apart and drops a forgotten connection', () => {
    const g = new ObjectGraph()
    g.apply(generatePool(spec).diff)
    g.apply(generatePool({ ...spec, connectionId: 'c2', poolName: 'beta', poolIndex: 1 }).diff)
    expect(g.pools.size).toBe(2)
    expect(g.pool('c2')?.pool()?.rec.name_label).toBe('beta')
    g.drop('c1')
    expect(g.pool('c1')).toBeUndefined()
  })

  it('local SRs resolve to their host through the single PBD; shared SRs do not', () => {
    const g = new ObjectGraph()
    const gen = generatePool(spec)
    g.apply(gen.diff)
    const p = g.pool('c1')
    expect(p?.localSrHost(p.get('SR', gen.localSrRefs[1]) ?? {})).toBe(gen.hostRefs[1])
    expect(p?.localSrHost(p.get('SR', gen.sharedSrRef) ?? {})).toBeNull()
  })
})

describe('records and indexes as kept (memory of a 20,000-VM fleet)', () => {
  it('empty maps and lists are one shared frozen object; repeated strings keep their values; nothing read changes', () => {
    const g = new ObjectGraph()
    const vm = (n: number): Record<string, unknown> => ({
      uuid: `00000000-0000-0000-0000-00000000000${n}`,
      name_label: `vm-${n}`,
      power_state: 'Halted',
      allowed_operations: ['changing_dynamic_range', 'clean_shutdown'],
      current_operations: {},
      blocked_operations: {},
      tags: [],
      other_config: { folder: '/a', note: 'Created by XenCenter' },
      consoles: ['OpaqueRef:c1'],
      snapshot_time: '1970-01-01T00:00:00Z',
    })
    g.apply({ connectionId: 'c1', seq: 1, reset: true, upserts: [{ cls: 'VM', ref: 'OpaqueRef:v1', record: vm(1) }, { cls: 'VM', ref: 'OpaqueRef:v2', record: vm(2) }], removes: [] })
    const p = g.pool('c1')
    const a = p?.get('VM', 'OpaqueRef:v1')
    const b = p?.get('VM', 'OpaqueRef:v2')
    expect(a).toEqual(vm(1))
    expect(b).toEqual(vm(2))
    expect(a?.current_operations).toBe(b?.blocked_operations)
    expect(a?.tags).toBe(b?.tags)
    expect(Object.isFrozen(a?.current_operations)).toBe(true)
    expect(Object.isFrozen(a?.tags)).toBe(true)
    // a write into a shared empty fails instead of reaching every record
    expect(() => ((a?.current_operations as Record<string, string>).x = 'y')).toThrow(TypeError)
    expect(p?.index('folder').get('/a').size).toBe(2)
    // the same list of names is one frozen copy; a list of refs is the record's own
    expect(a?.allowed_operations).toBe(b?.allowed_operations)
    expect(Object.isFrozen(a?.allowed_operations)).toBe(true)
    expect(a?.consoles).not.toBe(b?.consoles)
  })

  it('a guest’s OS and tools versions (maps that repeat across records) are one frozen copy per content; other maps stay each their own', () => {
    const g = new ObjectGraph()
    const os = (name: string): Record<string, string> => ({ name, distro: 'debian', major: '12' })
    const gm = (n: number, osName: string): Record<string, unknown> => ({
      os_version: os(osName),
      PV_drivers_version: { major: '9', minor: '4' },
      networks: { '0/ip': `10.0.0.${n}` },
      PV_drivers_detected: true,
    })
    const up = (n: number, osName: string) => ({ cls: 'VM_guest_metrics', ref: `OpaqueRef:gm${n}`, record: gm(n, osName) })
    g.apply({ connectionId: 'c1', seq: 1, reset: true, upserts: [up(1, 'Debian 12'), up(2, 'Debian 12'), up(3, 'Windows 10')], removes: [] })
    const p = g.pool('c1')
    const [a, b, c] = [1, 2, 3].map((n) => p?.get('VM_guest_metrics', `OpaqueRef:gm${n}`))
    expect([a, b, c]).toEqual([gm(1, 'Debian 12'), gm(2, 'Debian 12'), gm(3, 'Windows 10')])
    expect(a?.os_version).toBe(b?.os_version)
    expect(a?.os_version).not.toBe(c?.os_version)
    expect(a?.PV_drivers_version).toBe(c?.PV_drivers_version)
    expect(Object.isFrozen(a?.os_version)).toBe(true)
    expect(() => ((a?.os_version as Record<string, string>).name = 'x')).toThrow(TypeError)
    // a map that is each guest's own (its addresses) is not shared: the index and search read it as sent
    expect(a?.networks).not.toBe(b?.networks)
    expect(Object.isFrozen(a?.networks)).toBe(false)
    expect(p?.index('ip').get('10.0.0.2').size).toBe(1)
  })

  it('fields no view reads lose their values as a record is kept; the rest stay as sent', () => {
    const g = new ObjectGraph()
    const sent = { uuid: 'u1', name_label: 'vm-1', power_state: 'Running', recommendations: '<restrictions/>', platform: { 'cores-per-socket': '2' }, VCPUs_max: 2, HVM_boot_params: {} }
    g.apply({ connectionId: 'c1', seq: 1, reset: true, upserts: [{ cls: 'VM', ref: 'OpaqueRef:v1', record: { ...sent } }], removes: [] })
    const kept = g.pool('c1')?.get('VM', 'OpaqueRef:v1')
    expect(kept?.recommendations).toBeUndefined()
    expect(kept?.platform).toBeUndefined()
    expect(kept?.HVM_boot_params).toBeUndefined()
    expect(kept).toEqual({ uuid: 'u1', name_label: 'vm-1', power_state: 'Running', VCPUs_max: 2 })
  })

  it('a key with one ref, then two, then one again: the same answers as a Set per key', () => {
    const idx = new MultiIndex()
    idx.add('k', 'a')
    idx.add('k', 'a')
    expect([...idx.get('k')]).toEqual(['a'])
    idx.add('k', 'b')
    expect([...idx.get('k')]).toEqual(['a', 'b'])
    idx.delete('k', 'a')
    expect([...idx.get('k')]).toEqual(['b'])
    expect([...idx.entries()].map(([k, s]) => [k, [...s]])).toEqual([['k', ['b']]])
    idx.delete('k', 'x')
    expect(idx.get('k').has('b')).toBe(true)
    idx.delete('k', 'b')
    expect(idx.get('k').size).toBe(0)
    expect(idx.size).toBe(0)
    idx.add('one', 'r')
    idx.delete('one', 'other')
    expect(idx.get('one').has('r')).toBe(true)
    idx.delete('one', 'r')
    expect([...idx.keys()]).toEqual([])
  })
})

describe('pool.diff payloads from main (hand-validated: no copy of 100 MB resets)', () => {
  it('accepts a well-formed diff as is', async () => {
    const { parsePoolDiff } = await import('../../../renderer/src/api/pool-diff')
    const gen = generatePool(spec)
    const parsed = parsePoolDiff(JSON.parse(JSON.stringify(gen.diff)))
    expect(typeof parsed).toBe('object')
    if (typeof parsed === 'object') expect(parsed.upserts).toHaveLength(gen.diff.upserts.length)
  })
  it('names what is wrong with a malformed one', async () => {
    const { parsePoolDiff } = await import('../../../renderer/src/api/pool-diff')
    expect(parsePoolDiff(null)).toBe('pool.diff payload is not an object')
    expect(parsePoolDiff({ connectionId: 'c1', seq: '1', reset: false, upserts: [], removes: [] })).toBe('pool.diff for c1 has no numeric seq')
    expect(parsePoolDiff({ connectionId: 'c1', seq: 1, reset: false, upserts: [{ cls: 'VM', ref: 'r', record: [] }], removes: [] })).toBe('pool.diff for c1: upsert #0 is not {cls, ref, record}')
    expect(parsePoolDiff({ connectionId: 'c1', seq: 1, reset: false, upserts: [], removes: [{ cls: 'VM' }] })).toBe('pool.diff for c1: remove #0 is not {cls, ref}')
  })
})
