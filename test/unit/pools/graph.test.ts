import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { ObjectGraph, StringPool } from '../../../main/pools/graph'

/** a collection before a heap reading (the flag lets a fresh context see gc()) */
function collect(): void {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

describe('ObjectGraph (PoolGraph, the read-only accessor of pool state in main)', () => {
  it('finds records by class and ref, by ref alone, by uuid, through moves and removals', () => {
    const g = new ObjectGraph()
    g.upsert('host', 'H1', { uuid: 'h1', name_label: 'host-1' })
    g.upsert('host', 'H2', { uuid: 'h2', name_label: 'host-2' })
    g.upsert('VM', 'V1', { uuid: 'v1', name_label: 'web', resident_on: 'H1' })
    expect(g.byUuid('v1')?.ref).toBe('V1')
    expect(g.byRef('V1')?.cls).toBe('VM')
    expect(g.describeRef('V1')).toBe('VM “web”')
    expect([...g.all('host').keys()].sort()).toEqual(['H1', 'H2'])
    expect(g.all('SR').size).toBe(0)
    // a record whose uuid changes (never in XAPI, but the index must not lie)
    g.upsert('VM', 'V1', { uuid: 'v1b', name_label: 'web', resident_on: 'H2' })
    expect(g.byUuid('v1')).toBeUndefined()
    expect(g.byUuid('v1b')?.record.resident_on).toBe('H2')
    g.remove('VM', 'V1')
    expect(g.byUuid('v1b')).toBeUndefined()
    expect(g.byRef('V1')).toBeUndefined()
    expect(g.size).toBe(2)
    expect(g.classes().sort()).toEqual(['VM', 'host'])
  })

  it('follows what a record links to: a set of refs or one ref, only those that exist as the target class', () => {
    const g = new ObjectGraph()
    g.upsert('VM', 'V1', { uuid: 'v1', VBDs: ['B1', 'B2', 'GONE'], resident_on: 'H1', affinity: null })
    g.upsert('VBD', 'B1', { uuid: 'b1', VM: 'V1' })
    g.upsert('VBD', 'B2', { uuid: 'b2', VM: 'V1' })
    g.upsert('host', 'H1', { uuid: 'h1' })
    expect(g.linked('VM', 'V1', 'VBDs', 'VBD')).toEqual(['B1', 'B2'])
    expect(g.linked('VM', 'V1', 'resident_on', 'host')).toEqual(['H1'])
    expect(g.linked('VM', 'V1', 'affinity', 'host')).toEqual([])
    expect(g.linked('VM', 'V1', 'VBDs', 'VDI')).toEqual([])
    expect(g.linked('VM', 'NOPE', 'VBDs', 'VBD')).toEqual([])
    g.remove('VBD', 'B2')
    expect(g.linked('VM', 'V1', 'VBDs', 'VBD')).toEqual(['B1'])
  })

  it('takes over a freshly loaded graph in one step (full resync leaves no ghost)', () => {
    const g = new ObjectGraph()
    g.upsert('VM', 'OLD', { uuid: 'old', resident_on: 'H1' })
    expect(g.byUuid('old')?.ref).toBe('OLD')
    const fresh = new ObjectGraph()
    fresh.upsert('VM', 'NEW', { uuid: 'new', resident_on: 'H1' })
    g.replaceWith(fresh)
    expect(g.get('VM', 'OLD')).toBeUndefined()
    expect(g.byUuid('old')).toBeUndefined()
    expect(g.byUuid('new')?.ref).toBe('NEW')
    expect(fresh.size).toBe(0)
    fresh.upsert('VM', 'X', { uuid: 'x' })
    expect(g.get('VM', 'X')).toBeUndefined()
  })

  it('keeps one shared frozen empty map and list for every record that has one (memory), the rest as it came', () => {
    const g = new ObjectGraph()
    const vm = (n: string): Record<string, unknown> => ({ uuid: n, name_label: n, other_config: {}, tags: [], VBDs: [`VBD-${n}`], platform: { acpi: '1' } })
    g.upsert('VM', 'V1', vm('a'))
    g.upsert('VM', 'V2', vm('b'))
    const [a, b] = [g.get('VM', 'V1'), g.get('VM', 'V2')]
    expect(a?.other_config).toBe(b?.other_config)
    expect(a?.tags).toBe(b?.tags)
    expect(Object.isFrozen(a?.other_config) && Object.isFrozen(a?.tags)).toBe(true)
    // what is not empty stays each record's own
    expect(a?.VBDs).toEqual(['VBD-a'])
    expect(a?.platform).not.toBe(b?.platform)
    expect(a?.platform).toEqual({ acpi: '1' })
    // a write into a shared empty one fails instead of reaching every record
    expect(() => (a?.tags as string[]).push('x')).toThrow(TypeError)
    expect(b?.tags).toEqual([])
  })

  it('keeps one string for equal strings of records — string fields, list items, map values — of the lengths worth it, within its bound', () => {
    class Spy extends StringPool {
      given: string[] = []
      override share(x: string): string {
        this.given.push(x)
        return super.share(x)
      }
    }
    const pool = new Spy(1 << 20)
    const long = 'f'.repeat(200)
    const g = new ObjectGraph()
    const uuid = '11111111-2222-3333-4444-555555555555'
    const ref = 'OpaqueRef:11111111-2222-3333-4444-555555555555'
    g.upsert('VM', 'V1', { uuid, power_state: 'Running', resident_on: ref, allowed_operations: ['start', 'clone'], platform: { acpi: '1' }, recommendations: long, count: 3 }, pool)
    // every string went through the pool; it kept the short ones and the long one, not the uuid or the ref (25–127 characters)
    expect(pool.given.sort()).toEqual([uuid, ref, '1', 'Running', 'clone', long, 'start'].sort())
    expect(pool.size).toBe(5)
    // a record is unchanged by it
    expect(g.get('VM', 'V1')).toEqual({ uuid, power_state: 'Running', resident_on: ref, allowed_operations: ['start', 'clone'], platform: { acpi: '1' }, recommendations: long, count: 3 })
    // bounded by the characters it holds: past them it starts again empty
    const small = new StringPool(100)
    for (let i = 0; i < 10; i++) small.share(`value-${String(i).padStart(14, '0')}`)
    expect(small.size).toBeLessThanOrEqual(5)
    expect(small.share('x'.repeat(20_000))).toHaveLength(20_000)
    expect(small.size).toBeLessThanOrEqual(5)
  })

  it('holds an equal string of many records once (a 4 KB recommendations string of 2,000 VMs is not 8 MB)', () => {
    const g = new ObjectGraph()
    const pool = new StringPool(1 << 20)
    const text = JSON.stringify('r'.repeat(4096))
    collect()
    const before = process.memoryUsage().heapUsed
    // each record its own flat copy, as each parsed answer makes one
    for (let i = 0; i < 2000; i++) g.upsert('VM', `V${i}`, { uuid: `vm-${i}`, recommendations: JSON.parse(text) as string }, pool)
    collect()
    const grown = process.memoryUsage().heapUsed - before
    expect(grown).toBeLessThan(2 * 1024 * 1024)
    expect(g.get('VM', 'V1999')?.recommendations).toBe('r'.repeat(4096))
  })
})
