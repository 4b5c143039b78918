/**
 * The New VM wizard's home server must reach what the VM needs (shared/operations/provision.ts
 * checkNewVm → home): the ISO or physical DVD chosen, each new disk's SR, the full copy's SR —
 * storage local to another server makes VM.start_on fail (VM_REQUIRES_SR), so XenCenter offers
 * only servers that see it. No home server: XAPI starts the VM where its storage is.
 */
import { describe, expect, it } from 'vitest'
import { checkNewVm } from '../../../shared/operations/provision'
import type { StorageView } from '../../../shared/operations/storage'

const GiB = 1024 ** 3
type Recs = Record<string, Record<string, unknown>>
const RECS: Recs = {
  'OpaqueRef:h1': { name_label: 'host-1' },
  'OpaqueRef:h2': { name_label: 'host-2' },
  nfs: { name_label: 'NFS', shared: true, content_type: 'user', type: 'nfs', physical_size: 100 * GiB, physical_utilisation: 0 },
  local2: { name_label: 'Local storage', shared: false, content_type: 'user', type: 'lvm', physical_size: 100 * GiB, physical_utilisation: 0 },
  dvd2: { name_label: 'DVD drives', shared: false, content_type: 'iso', type: 'udev' },
  cd: { name_label: 'SCSI 0:0:0:0', SR: 'dvd2' },
  p1: { host: 'OpaqueRef:h1', currently_attached: true },
  p2: { host: 'OpaqueRef:h2', currently_attached: true },
  p3: { host: 'OpaqueRef:h2', currently_attached: true },
  p4: { host: 'OpaqueRef:h2', currently_attached: true },
  t: { name_label: 'Debian', is_a_template: true, HVM_boot_policy: 'BIOS order', memory_static_min: GiB, recommendations: '' },
}
const PBDS: Record<string, string[]> = { nfs: ['p1', 'p2'], local2: ['p3'], dvd2: ['p4'] }
const view: StorageView = { get: (_c, r) => RECS[r], vbdsOf: () => [], vdisOf: () => [], pbdsOf: (sr) => PBDS[sr] ?? [], hosts: () => ['OpaqueRef:h1', 'OpaqueRef:h2'] }
const spec = {
  connectionId: 'c',
  template: 't',
  name: 'db',
  install: { method: 'cd' as const, vdi: 'cd' },
  vcpusMax: 2,
  vcpusAtStartup: 2,
  coresPerSocket: 1,
  memoryStaticMax: 2 * GiB,
  memoryDynamicMin: 2 * GiB,
  memoryDynamicMax: 2 * GiB,
  disks: [{ size: GiB, sr: 'nfs', name: 'db 0' }],
  vifs: [],
}

describe('New VM: the home server reaches the VM’s storage', () => {
  it('a physical DVD on host-2 needs host-2 (or no home server)', () => {
    expect(checkNewVm(view, { ...spec, homeServer: 'OpaqueRef:h1' }, RECS['t']).home).toBe("host-1 cannot reach 'SCSI 0:0:0:0' (on 'DVD drives' of another server): choose the server it is on, or no home server")
    expect(checkNewVm(view, { ...spec, homeServer: 'OpaqueRef:h2' }, RECS['t']).home).toBeUndefined()
    expect(checkNewVm(view, spec, RECS['t']).home).toBeUndefined()
  })

  it('a new disk or the full copy on host-2’s local storage needs host-2', () => {
    const iso = { ...spec, install: { method: 'pxe' as const } }
    expect(checkNewVm(view, { ...iso, homeServer: 'OpaqueRef:h1', disks: [{ size: GiB, sr: 'local2', name: 'db 0' }] }, RECS['t']).home).toBe("host-1 cannot reach 'Local storage', where db 0 goes: choose the server it is on, or no home server")
    expect(checkNewVm(view, { ...iso, homeServer: 'OpaqueRef:h1', copyTo: 'local2' }, RECS['t']).home).toMatch(/cannot reach 'Local storage', where the template's disks are copied/)
    expect(checkNewVm(view, { ...iso, homeServer: 'OpaqueRef:h2', copyTo: 'local2', disks: [{ size: GiB, sr: 'local2', name: 'db 0' }] }, RECS['t']).home).toBeUndefined()
  })
})
