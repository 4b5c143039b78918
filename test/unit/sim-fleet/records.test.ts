import { describe, expect, it } from 'vitest'
import { CLASSES, RELEASES } from '../../../shared/xapi/datamodel.generated'
import { classesOf, defaultRecord, fieldsOf, newRef, newUuid, parseDefault, releaseIndex, Rng, xapiDate } from '../../sim/records'

describe('defaultRecord', () => {
  it('has exactly the fields the datamodel gives the class in that release', () => {
    for (const release of ['falcon', '24.16.0', '26.2.0']) {
      const idx = releaseIndex(release)
      for (const cls of ['VM', 'host', 'pool', 'VM_metrics', 'VDI', 'PIF']) {
        const spec = CLASSES.find((c) => c.name === cls)
        const expected = (spec?.fields ?? []).filter((f) => f[4] <= idx).map((f) => f[0])
        expect(Object.keys(defaultRecord(cls, release)).sort()).toEqual(expected.sort())
      }
    }
  })

  it('leaves out fields a release does not have yet', () => {
    const legacy = defaultRecord('VM_metrics', 'falcon')
    expect(legacy).not.toHaveProperty('numa_nodes')
    expect(legacy).not.toHaveProperty('current_domain_type')
    expect(defaultRecord('VM_metrics', '26.2.0')).toMatchObject({ numa_nodes: 0, numa_optimised: false, numa_node_memory: {} })
    expect(defaultRecord('host', 'falcon')).not.toHaveProperty('numa_affinity_policy')
    expect(defaultRecord('host', '24.0.0')).toHaveProperty('numa_affinity_policy', 'default_policy')
  })

  it('keeps fields XAPI marks removed but still stores and sends (host_metrics.memory_free)', () => {
    expect(defaultRecord('host_metrics', '26.2.0')).toHaveProperty('memory_free', 0)
    expect(fieldsOf('host_metrics', '26.2.0', { includeRemoved: false }).map((f) => f[0])).not.toContain('memory_free')
  })

  it('fills datamodel defaults and typed empty values', () => {
    const vm = defaultRecord('VM', '26.2.0')
    expect(vm.snapshot_of).toBe('OpaqueRef:NULL')
    expect(vm.resident_on).toBe('OpaqueRef:NULL')
    expect(vm.snapshot_time).toBe('19700101T00:00:00Z')
    expect(vm.power_state).toBe('Halted')
    expect(vm.HVM_shadow_multiplier).toBe(1)
    expect(vm.generation_id).toBe('0:0')
    expect(vm.actions_after_softreboot).toBe('soft_reboot')
    expect(vm.VBDs).toEqual([])
    expect(vm.platform).toEqual({})
    expect(vm.domid).toBe(0)
    const host = defaultRecord('host', '26.2.0')
    expect(host.license_server).toEqual({ address: 'localhost', port: '27000' })
    expect(host.virtual_hardware_platform_versions).toEqual([0])
    expect(host.ssl_legacy).toBe(true)
    expect(parseDefault('string', '"()"')).toBe('()')
    expect(parseDefault('float', '1.')).toBe(1)
  })

  it('applies overrides, drops those the release lacks, and rejects names no release has', () => {
    const vm = defaultRecord('VM', 'falcon', { name_label: 'web', domain_type: 'hvm' })
    expect(vm.name_label).toBe('web')
    expect(vm).not.toHaveProperty('domain_type')
    expect(() => defaultRecord('VM', '26.2.0', { no_such_field: 1 })).toThrow(/no_such_field/)
    expect(() => defaultRecord('NoClass', '26.2.0')).toThrow(/unknown XAPI class/)
    expect(() => defaultRecord('VM', 'no-release')).toThrow(/unknown XAPI release/)
  })

  it('never shares sets or maps between records or with the overrides', () => {
    const tags = ['a']
    const a = defaultRecord('VM', '26.2.0', { tags })
    const b = defaultRecord('VM', '26.2.0')
    tags.push('b')
    ;(b.VBDs as string[]).push('OpaqueRef:x')
    expect(a.tags).toEqual(['a'])
    expect(defaultRecord('VM', '26.2.0').VBDs).toEqual([])
  })

  it('knows which classes exist in a release', () => {
    expect(classesOf('falcon')).toContain('VM')
    expect(classesOf('falcon')).not.toContain('Certificate')
    expect(classesOf(RELEASES[RELEASES.length - 1] ?? '')).toContain('Certificate')
  })
})

describe('Rng, refs, dates', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const seq = (seed: number): string[] => {
      const r = new Rng(seed)
      return Array.from({ length: 5 }, () => newRef(r))
    }
    expect(seq(7)).toEqual(seq(7))
    expect(seq(7)).not.toEqual(seq(8))
  })

  it('makes XAPI-shaped refs and uuids', () => {
    const r = new Rng(1)
    expect(newRef(r)).toMatch(/^OpaqueRef:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(newUuid(r)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    const ints = Array.from({ length: 1000 }, () => r.int(10))
    expect(Math.min(...ints)).toBe(0)
    expect(Math.max(...ints)).toBe(9)
  })

  it('formats dates as XAPI sends them, without hyphens', () => {
    expect(xapiDate(new Date(Date.UTC(2025, 2, 19, 4, 16, 24)))).toBe('20250319T04:16:24Z')
    expect(xapiDate(new Date(0))).toBe('19700101T00:00:00Z')
  })
})
