import { describe, expect, it } from 'vitest'
import { alertBadgeCount, alertTitle, collectAlerts, isRoutineAlert, priorityLabel } from '../../../renderer/src/model/alerts'
import { deletePlan } from '../../../renderer/src/model/delete-plan'
import { ObjectGraph } from '../../../renderer/src/model/objects'

function graph(): ObjectGraph {
  const g = new ObjectGraph()
  const up = (cls: string, ref: string, record: Record<string, unknown>) => ({ cls, ref, record })
  g.apply({
    connectionId: 'p1',
    seq: 0,
    reset: true,
    removes: [],
    upserts: [
      up('VM', 'OpaqueRef:vm', { uuid: 'u-vm', name_label: 'web-01', VBDs: ['OpaqueRef:b1', 'OpaqueRef:b2', 'OpaqueRef:b3'] }),
      up('VM', 'OpaqueRef:other', { uuid: 'u-other', name_label: 'web-02', VBDs: ['OpaqueRef:b4'] }),
      up('VBD', 'OpaqueRef:b1', { type: 'Disk', VDI: 'OpaqueRef:d1', VM: 'OpaqueRef:vm' }),
      up('VBD', 'OpaqueRef:b2', { type: 'Disk', VDI: 'OpaqueRef:d2', VM: 'OpaqueRef:vm' }),
      up('VBD', 'OpaqueRef:b3', { type: 'CD', VDI: 'OpaqueRef:iso', VM: 'OpaqueRef:vm' }),
      up('VBD', 'OpaqueRef:b4', { type: 'Disk', VDI: 'OpaqueRef:d2', VM: 'OpaqueRef:other' }),
      up('VDI', 'OpaqueRef:d1', { name_label: 'web-01 root', virtual_size: 10 * 1024 ** 3, VBDs: ['OpaqueRef:b1'] }),
      up('VDI', 'OpaqueRef:d2', { name_label: 'shared data', virtual_size: 1024 ** 3, VBDs: ['OpaqueRef:b2', 'OpaqueRef:b4'] }),
      up('VDI', 'OpaqueRef:iso', { name_label: 'debian.iso', VBDs: ['OpaqueRef:b3'] }),
      up('message', 'OpaqueRef:m1', { name: 'VM_SHUTDOWN', priority: 5, cls: 'VM', obj_uuid: 'u-vm', timestamp: '2026-11-25T10:00:00Z', body: 'shut down' }),
      up('message', 'OpaqueRef:m2', { name: 'HA_HOST_FAILED', priority: 1, cls: 'Host', obj_uuid: 'u-host', timestamp: '2026-11-25T09:00:00Z', body: 'host failed' }),
    ],
  })
  return g
}

describe('delete confirmation', () => {
  it('lists the VM’s own disks with size; a disk another VM uses is kept; CDs are never deleted', () => {
    const plan = deletePlan(graph().pool('p1'), 'OpaqueRef:vm', 'x')
    expect(plan.name).toBe('web-01')
    expect(plan.disks).toEqual([
      { vdiRef: 'OpaqueRef:d1', name: 'web-01 root', size: 10 * 1024 ** 3, sharedWith: [], deleted: true },
      { vdiRef: 'OpaqueRef:d2', name: 'shared data', size: 1024 ** 3, sharedWith: ['web-02'], deleted: false },
    ])
    expect(plan.cds).toEqual(['debian.iso'])
  })
})

describe('alerts', () => {
  it('most severe first, joined with the object they are about', () => {
    const rows = collectAlerts(graph())
    expect(rows.map((r) => [r.name, priorityLabel(r.priority), r.object?.name])).toEqual([
      ['HA_HOST_FAILED', 'Critical', undefined],
      ['VM_SHUTDOWN', 'Information', 'web-01'],
    ])
    expect(collectAlerts(graph(), { connectionId: 'p1', uuid: 'u-vm' }).map((r) => r.ref)).toEqual(['OpaqueRef:m1'])
    expect(alertTitle('VM_SHUTDOWN')).toBe('VM shutdown')
  })
  it('routine lifecycle notices stay in the list but are left out of the badge count', () => {
    expect(collectAlerts(graph()).map((r) => r.name)).toContain('VM_SHUTDOWN')
    expect(isRoutineAlert({ name: 'VM_SHUTDOWN', priority: 5 })).toBe(true)
    expect(isRoutineAlert({ name: 'HA_HOST_FAILED', priority: 1 })).toBe(false)
    // a lifecycle name raised with a real priority is not routine
    expect(isRoutineAlert({ name: 'VM_SHUTDOWN', priority: 2 })).toBe(false)
    expect(alertBadgeCount(graph())).toBe(1)
  })
})
