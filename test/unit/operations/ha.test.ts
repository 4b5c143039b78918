/**
 * HA restart priority rule (shared/operations/ha.ts): XenCenter offers "Restart" only to a VM every
 * server can run — Agility.vm_assert_agile's checks, with the reason in words.
 */
import { describe, expect, it } from 'vitest'
import { haPriorityProblem, vmAgility } from '../../../shared/operations/ha'
import { checkVmChanges } from '../../../shared/operations/vm-properties'
import type { StorageView } from '../../../shared/operations/storage'

type Recs = Record<string, Record<string, unknown>>
function pool(over: Recs = {}): Pick<StorageView, 'get' | 'hosts'> {
  const recs: Recs = {
    h1: { enabled: true },
    h2: { enabled: true },
    vm: { name_label: 'db', VBDs: ['b1', 'cd'], VIFs: ['v1'], VGPUs: [] },
    b1: { VDI: 'd1', empty: false },
    cd: { VDI: 'OpaqueRef:NULL', empty: true },
    d1: { SR: 'sr' },
    sr: { name_label: 'NFS', shared: true, PBDs: ['p1', 'p2'] },
    p1: { host: 'h1', currently_attached: true },
    p2: { host: 'h2', currently_attached: true },
    v1: { network: 'n1' },
    n1: { name_label: 'LAN', PIFs: ['i1', 'i2'] },
    i1: { host: 'h1', bond_slave_of: 'OpaqueRef:NULL' },
    i2: { host: 'h2', bond_slave_of: 'OpaqueRef:NULL' },
    ...over,
  }
  return { get: (_cls, ref) => recs[ref], hosts: () => ['h1', 'h2'] }
}

describe('HA restart priority', () => {
  it('agile: shared SR plugged everywhere, a network on every server, no vGPU (an empty DVD drive does not count)', () => {
    expect(vmAgility(pool(), 'vm')).toBe(true)
  })

  it('not agile: the reason names the SR, the network or the vGPU; a disabled server does not count', () => {
    expect(vmAgility(pool({ sr: { name_label: 'Local', shared: false, PBDs: ['p1'] } }), 'vm')).toBe("HA guarantees a restart only to a VM every server can run; db has a disk on 'Local', which not every server shares")
    expect(vmAgility(pool({ p2: { host: 'h2', currently_attached: false } }), 'vm')).toMatch(/disk on 'NFS'/)
    expect(vmAgility(pool({ n1: { name_label: 'lab', PIFs: [] } }), 'vm')).toMatch(/on the network 'lab', which not every server has$/)
    expect(vmAgility(pool({ i2: { host: 'h2', bond_slave_of: 'OpaqueRef:bond' } }), 'vm')).toMatch(/network 'LAN'/)
    expect(vmAgility(pool({ i2: { host: 'h2', bond_slave_of: 'OpaqueRef:bond' }, h2: { enabled: false } }), 'vm')).toBe(true)
    expect(vmAgility(pool({ vm: { name_label: 'db', VBDs: [], VIFs: [], VGPUs: ['g'] } }), 'vm')).toMatch(/db has a virtual GPU$/)
  })

  it('only raising to “restart” needs agility; one already protected keeps it, the others are always offered', () => {
    const why = 'HA guarantees a restart only to a VM every server can run; db has a virtual GPU'
    expect(haPriorityProblem('', 'restart', why)).toBe(`${why}. Choose “Restart if possible” instead.`)
    expect(haPriorityProblem('restart', 'restart', why)).toBeUndefined()
    expect(haPriorityProblem('', 'best-effort', why)).toBeUndefined()
    const vm = { name_label: 'db', power_state: 'Running', ha_restart_priority: '' }
    expect(checkVmChanges(vm, { haRestartPriority: 'restart' }, { topology: { coresPerSocket: 0 }, agility: why })).toMatch(/Choose “Restart if possible” instead\.$/)
    expect(checkVmChanges(vm, { haRestartPriority: 'restart' }, { topology: { coresPerSocket: 0 }, agility: true })).toBe(true)
  })
})
