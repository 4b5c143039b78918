import { describe, expect, it } from 'vitest'
import { buildSnapshotTree, flattenSnapshotTree } from '../../../renderer/src/model/snapshot-tree'

const snap = (name: string, time: string, extra: Record<string, unknown> = {}) => ({ name_label: name, snapshot_time: time, is_a_snapshot: true, snapshot_of: 'OpaqueRef:vm', parent: null, ...extra })
const shape = (vm: Record<string, unknown>, snaps: [string, Record<string, unknown>][]) =>
  flattenSnapshotTree(buildSnapshotTree('OpaqueRef:vm', vm, new Map(snaps))).map((r) => `${'  '.repeat(r.depth)}${r.node.name}`)

describe('snapshot tree', () => {
  it('without XAPI parent links, snapshots form a chain by time and "Now" hangs under the newest', () => {
    expect(
      shape({ name_label: 'web' }, [
        ['OpaqueRef:s2', snap('second', '2026-11-02T10:00:00Z')],
        ['OpaqueRef:s1', snap('first', '2026-11-01T10:00:00Z')],
        ['OpaqueRef:s3', snap('third', '20261103T10:00:00Z')],
      ]),
    ).toEqual(['first', '  second', '    third', '      Now'])
  })

  it('follows VM.parent: after reverting to an older snapshot, "Now" and later snapshots branch from it', () => {
    expect(
      shape({ name_label: 'web', parent: 'OpaqueRef:s1' }, [
        ['OpaqueRef:s1', snap('base', '2026-11-01T10:00:00Z')],
        ['OpaqueRef:s2', snap('tried upgrade', '2026-11-02T10:00:00Z', { parent: 'OpaqueRef:s1' })],
      ]),
    ).toEqual(['base', '  tried upgrade', '  Now'])
  })

  it('a VM without snapshots shows only "Now"; a parent loop in bad data does not hang or lose nodes', () => {
    expect(shape({ name_label: 'web' }, [])).toEqual(['Now'])
    const rows = shape({ name_label: 'web', parent: 'OpaqueRef:b' }, [
      ['OpaqueRef:a', snap('a', '2026-11-01T10:00:00Z', { parent: 'OpaqueRef:b' })],
      ['OpaqueRef:b', snap('b', '2026-11-02T10:00:00Z', { parent: 'OpaqueRef:a' })],
    ])
    expect(rows.map((r) => r.trim()).sort()).toEqual(['Now', 'a', 'b'])
  })

  it('marks snapshots taken with memory (checkpoints)', () => {
    const roots = buildSnapshotTree('OpaqueRef:vm', {}, new Map([['OpaqueRef:c', snap('cp', '2026-11-01T10:00:00Z', { power_state: 'Suspended', suspend_VDI: 'OpaqueRef:vdi' })]]))
    expect(roots[0]?.withMemory).toBe(true)
  })
})
