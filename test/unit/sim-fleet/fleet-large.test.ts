import { describe, expect, it } from 'vitest'
import type { SimPoolSpec, SimRecord } from '../../sim/model'
import { buildFleet } from '../../sim/fleet'
import { checkPool } from './integrity'
import { xmlRpcRecordSize } from './xml-size'

// Whole-fleet walks over ~80,000 and ~170,000 objects: generous on a loaded 2-core machine.
const SLOW = { timeout: 240_000 }

const guests = (p: SimPoolSpec): SimRecord[] => [...(p.objects.get('VM')?.values() ?? [])].filter((v) => v.is_a_template === false && v.is_control_domain === false)

describe('bench-10k', () => {
  const fleet = buildFleet('bench-10k')
  const pool = fleet.pools[0] as SimPoolSpec

  it('is one pool of 16 hosts and 10,000 VMs with a full disk and network graph', () => {
    expect(fleet.pools).toHaveLength(1)
    expect(pool.hosts).toHaveLength(16)
    const vms = guests(pool)
    expect(vms).toHaveLength(10000)
    expect(vms.filter((v) => v.power_state === 'Running').length).toBeGreaterThan(5000)
    for (const vm of vms) {
      expect((vm.VBDs as string[]).length).toBeGreaterThan(0)
      expect((vm.VIFs as string[]).length).toBeGreaterThan(0)
    }
    expect(pool.objects.get('VDI')?.size).toBeGreaterThan(10000)
    expect(fleet.opDurationMs).toBe(0)
    expect(new Set(pool.hosts.map((h) => h.numa.nodes))).toEqual(new Set([2, 4]))
  })

  it('is referentially consistent in both directions', SLOW, () => {
    expect(checkPool(pool)).toEqual([])
  })

  it('sends about 100 MB for VM.get_all_records over XML-RPC, like a real pool of that size', SLOW, () => {
    let bytes = 0
    for (const vm of pool.objects.get('VM')?.values() ?? []) bytes += xmlRpcRecordSize('VM', vm)
    expect(bytes).toBeGreaterThan(85e6)
    expect(bytes).toBeLessThan(130e6)
  })
})

describe('many-pools', () => {
  const fleet = buildFleet('many-pools', { seed: 5 })

  it('is 50 pools of 2 hosts and 400 VMs each, every host on its own loopback address', () => {
    expect(fleet.pools).toHaveLength(50)
    const addresses = new Set<string>()
    fleet.pools.forEach((p, i) => {
      expect(p.hosts).toHaveLength(2)
      expect(guests(p).filter((v) => v.is_a_snapshot === false)).toHaveLength(400)
      p.hosts.forEach((h, j) => {
        expect(h.address).toBe(`127.77.${i + 1}.${j + 1}`)
        addresses.add(h.address)
      })
    })
    expect(addresses.size).toBe(100)
    expect(new Set(fleet.pools.map((p) => p.name)).size).toBe(50)
    expect(new Set(fleet.pools.map((p) => p.password)).size).toBe(50)
    expect(new Set(fleet.pools.map((p) => p.xapiRelease))).toEqual(new Set(['falcon', '25.34.0', '26.2.0']))
    expect(fleet.pools.filter((p) => !p.jsonRpc).every((p) => p.xapiRelease === 'falcon')).toBe(true)
    expect(new Set(fleet.pools.flatMap((p) => p.hosts.map((h) => h.numa.nodes)))).toEqual(new Set([1, 2, 4]))
  })

  it('is referentially consistent in every pool', SLOW, () => {
    for (const p of fleet.pools) expect(checkPool(p, { maxProblems: 5 })).toEqual([])
  })
})

describe('huge (issue 20), at the scale knob', () => {
  // 200 pools at scale 1 is the benchmark's; 4 pools show the same shape
  const fleet = buildFleet('huge', { scale: 0.02 })

  it('keeps round(200 × scale) pools of 2 hosts and 500 VMs, mixed releases, each host on its own address', () => {
    expect(fleet.pools).toHaveLength(4)
    fleet.pools.forEach((p, i) => {
      expect(p.hosts).toHaveLength(2)
      expect(guests(p).filter((v) => v.is_a_snapshot === false)).toHaveLength(500)
      p.hosts.forEach((h, j) => expect(h.address).toBe(`127.77.${i + 1}.${j + 1}`))
    })
    expect(new Set(fleet.pools.map((p) => p.name)).size).toBe(4)
    expect(new Set(fleet.pools.map((p) => p.xapiRelease)).size).toBeGreaterThan(1)
  })

  it('is referentially consistent', SLOW, () => {
    for (const p of fleet.pools) expect(checkPool(p, { maxProblems: 5 })).toEqual([])
  })

  it('refuses a scale outside (0, 1]', () => {
    expect(() => buildFleet('huge', { scale: 0 })).toThrow(/scale 0 must be more than 0 and at most 1/)
    expect(() => buildFleet('huge', { scale: 1.5 })).toThrow(/at most 1/)
  })
})
