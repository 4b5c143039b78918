/**
 * The storage views' model (renderer/src/model/storage.ts) on a hand-made pool: a VM's drives in
 * guest order with the DVD drive last, an SR's disks with orphans first, the SRs a new disk can go
 * to (unreachable ones disabled with the reason), the fleet overview's order.
 */
import { describe, expect, it } from 'vitest'
import { ObjectGraph, PoolObjects } from '../../../renderer/src/model/objects'
import { byFreeSpace, overviewRows, srChoices, srDisks, vmDrives, checkSrChoice } from '../../../renderer/src/model/storage'

const GiB = 1024 ** 3
const R = (n: string) => `OpaqueRef:0000000${n}`

function pool(): PoolObjects {
  const p = new PoolObjects('c1')
  p.upsert('pool', R('p'), { name_label: 'P', default_SR: R('nfs') })
  p.upsert('host', R('h1'), { name_label: 'h1', enabled: true })
  p.upsert('host', R('h2'), { name_label: 'h2', enabled: true })
  const ops = ['vdi_create', 'vdi_destroy', 'scan']
  p.upsert('SR', R('nfs'), { name_label: 'NFS', type: 'nfs', content_type: '', shared: true, physical_size: 100 * GiB, physical_utilisation: 95 * GiB, allowed_operations: ops, PBDs: [R('b1'), R('b2')] })
  p.upsert('SR', R('loc2'), { name_label: 'Local storage', type: 'lvm', content_type: 'user', shared: false, physical_size: 50 * GiB, physical_utilisation: 10 * GiB, allowed_operations: ops, PBDs: [R('b3')] })
  p.upsert('SR', R('iso'), { name_label: 'ISOs', type: 'iso', content_type: 'iso', shared: true, physical_size: 10 * GiB, physical_utilisation: 1 * GiB, allowed_operations: ['scan'], PBDs: [] })
  p.upsert('PBD', R('b1'), { SR: R('nfs'), host: R('h1'), currently_attached: true })
  p.upsert('PBD', R('b2'), { SR: R('nfs'), host: R('h2'), currently_attached: true })
  p.upsert('PBD', R('b3'), { SR: R('loc2'), host: R('h2'), currently_attached: true })
  p.upsert('VM', R('vm'), { name_label: 'web', power_state: 'Running', resident_on: R('h1'), domain_type: 'pv', current_operations: {}, allowed_operations: [] })
  p.upsert('VDI', R('d0'), { name_label: 'root', SR: R('nfs'), virtual_size: 20 * GiB, physical_utilisation: 5 * GiB, VBDs: [R('v0')], snapshots: [], type: 'system' })
  p.upsert('VDI', R('d1'), { name_label: 'data', SR: R('nfs'), virtual_size: 30 * GiB, physical_utilisation: 9 * GiB, VBDs: [R('v1')], snapshots: [], type: 'user' })
  p.upsert('VDI', R('d9'), { name_label: 'zz-left-behind', SR: R('nfs'), virtual_size: 8 * GiB, physical_utilisation: 8 * GiB, VBDs: [], snapshots: [], type: 'user' })
  p.upsert('VBD', R('cd'), { VM: R('vm'), VDI: 'OpaqueRef:NULL', type: 'CD', userdevice: '3', empty: true, mode: 'RO', currently_attached: true, device: 'xvdd' })
  p.upsert('VBD', R('v1'), { VM: R('vm'), VDI: R('d1'), type: 'Disk', userdevice: '1', mode: 'RW', currently_attached: true, device: 'xvdb', bootable: false })
  p.upsert('VBD', R('v0'), { VM: R('vm'), VDI: R('d0'), type: 'Disk', userdevice: '0', mode: 'RW', currently_attached: true, device: 'xvda', bootable: true })
  return p
}

describe('storage model', () => {
  it('lists a VM’s drives by position, the DVD drive last', () => {
    const rows = vmDrives(pool(), R('vm'))
    expect(rows.map((r) => [r.position, r.name, r.device, r.cd])).toEqual([
      ['0', 'root', 'xvda', false],
      ['1', 'data', 'xvdb', false],
      ['3', '(empty)', 'xvdd', true],
    ])
    expect(rows[0]?.srName).toBe('NFS')
    expect(rows[2]?.empty).toBe(true)
  })

  it('flags a disk no VM uses as an orphan and lists it first', () => {
    const rows = srDisks(pool(), R('nfs'))
    expect(rows.map((r) => [r.name, r.orphan, r.usedBy.join()])).toEqual([
      ['zz-left-behind', true, ''],
      ['data', false, 'web'],
      ['root', false, 'web'],
    ])
  })

  it('offers the SRs the VM’s server sees; another server’s local SR is disabled with the reason; ISO SRs are not offered', () => {
    const p = pool()
    const choices = srChoices(p, R('vm'))
    expect(choices.map((c) => [c.name, c.reason])).toEqual([
      ['NFS', null],
      ['Local storage on h2', 'not connected to h1'],
    ])
    expect(checkSrChoice(p, choices[1], GiB)).toBe('Local storage on h2 is not connected to h1')
    // a thick SR says it is full before the click
    expect(checkSrChoice(p, { ...choices[1]!, reason: null }, 45 * GiB)).toBe("SR 'Local storage' has 40 GiB free; a 45 GiB disk does not fit")
  })

  it('sorts the overview by free space, least first, and colours ≥ 90 % critical', () => {
    const rows = overviewRows(pool(), 'P').sort(byFreeSpace)
    expect(rows.map((r) => [r.name, r.usage.tone])).toEqual([
      ['NFS', 'critical'],
      ['ISOs', 'ok'],
      ['Local storage on h2', 'ok'],
    ])
    expect(rows.find((r) => r.name === 'ISOs')?.detached).toBe(true)
  })

  it('the overview follows the batches that change a pool (its rows are made again only then), whatever a caller does with an answer', () => {
    const g = new ObjectGraph()
    const upserts = [...pool().tables].flatMap(([cls, t]) => [...t].map(([ref, record]) => ({ cls, ref, record: { ...record } })))
    g.apply({ connectionId: 'c1', seq: 1, reset: true, upserts, removes: [] })
    const p = g.pool('c1')
    if (!p) throw new Error('no pool')
    const first = overviewRows(p, 'P').sort(byFreeSpace)
    expect(first[0]?.name).toBe('NFS')
    first.length = 0
    expect(overviewRows(p, 'P')).toHaveLength(3)
    const nfs = { ...(p.get('SR', R('nfs')) ?? {}), physical_utilisation: 10 * GiB }
    g.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [{ cls: 'SR', ref: R('nfs'), record: nfs }], removes: [] })
    expect(overviewRows(p, 'P').find((r) => r.name === 'NFS')?.usage.tone).toBe('ok')
    expect(overviewRows(p, 'Renamed').every((r) => r.poolName === 'Renamed')).toBe(true)
  })
})
