import { describe, expect, it } from 'vitest'
import { planVmDisks, type VbdFacts } from '../../../shared/operations/vm-delete'

const vbd = (ref: string, type: string, VDI: string): VbdFacts => ({ ref, type, VDI })

describe('delete a VM with its disks: which disks go (shared/operations/vm-delete.ts)', () => {
  const users: Record<string, string[]> = {
    'OpaqueRef:own': ['OpaqueRef:b1'],
    'OpaqueRef:shared': ['OpaqueRef:b2', 'OpaqueRef:other-vm-vbd'],
    'OpaqueRef:snap': ['OpaqueRef:snapshot-vbd', 'OpaqueRef:b3'],
    'OpaqueRef:twice': ['OpaqueRef:b5', 'OpaqueRef:b6'],
    'OpaqueRef:iso': ['OpaqueRef:b4', 'OpaqueRef:someone-else'],
  }
  const plan = planVmDisks(
    [
      vbd('OpaqueRef:b1', 'Disk', 'OpaqueRef:own'),
      vbd('OpaqueRef:b2', 'Disk', 'OpaqueRef:shared'),
      vbd('OpaqueRef:b3', 'Disk', 'OpaqueRef:snap'),
      vbd('OpaqueRef:b4', 'CD', 'OpaqueRef:iso'),
      vbd('OpaqueRef:b5', 'Disk', 'OpaqueRef:twice'),
      vbd('OpaqueRef:b6', 'Disk', 'OpaqueRef:twice'),
      vbd('OpaqueRef:b7', 'Disk', 'OpaqueRef:NULL'),
      vbd('OpaqueRef:b8', 'Disk', 'OpaqueRef:unknown'),
    ],
    (vdi) => users[vdi],
  )

  it('deletes a disk only this VM uses (once, even when attached twice)', () => {
    expect(plan.toDelete).toEqual(['OpaqueRef:own', 'OpaqueRef:twice'])
  })

  it('keeps a disk another VM or a snapshot uses, naming the other users’ VBDs', () => {
    expect(plan.disks.find((d) => d.vdiRef === 'OpaqueRef:shared')).toMatchObject({ deleted: false, otherVbds: ['OpaqueRef:other-vm-vbd'] })
    expect(plan.disks.find((d) => d.vdiRef === 'OpaqueRef:snap')).toMatchObject({ deleted: false, otherVbds: ['OpaqueRef:snapshot-vbd'] })
  })

  it('never deletes a CD, an empty drive, or a disk whose users are not known', () => {
    expect(plan.cds).toEqual([{ vbdRef: 'OpaqueRef:b4', vdiRef: 'OpaqueRef:iso' }])
    expect(plan.toDelete).not.toContain('OpaqueRef:iso')
    expect(plan.toDelete).not.toContain('OpaqueRef:NULL')
    expect(plan.disks.find((d) => d.vdiRef === 'OpaqueRef:unknown')).toMatchObject({ deleted: false })
  })
})
