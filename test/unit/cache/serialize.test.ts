/** What of a record may reach the cache file, and how rows and problems are named. */
import { describe, expect, it } from 'vitest'
import { REDACTED, SPLIT_FIELDS, isCacheable, scrubRecord, toRow } from '../../../main/cache/serialize'
import { redactParams } from '../../../main/cache/history'
import { classifyError, corruptName } from '../../../main/cache/open'
import { SchemaTooNewError } from '../../../main/cache/schema'

describe('scrubRecord', () => {
  it('redacts credential-named map entries at any depth and keeps everything else', () => {
    const pbd = { uuid: 'u', device_config: { server: '10.0.0.9', username: 'admin', password: 'p1', chappassword: 'p2', password_secret: 'sec-uuid', port: '3260' }, other_config: { 'xenpilot.session_id': 's', nested: { api_key: 'k', fine: 'x' } } }
    const out = scrubRecord(pbd)
    expect(out).toEqual({
      uuid: 'u',
      device_config: { server: '10.0.0.9', username: 'admin', password: REDACTED, chappassword: REDACTED, password_secret: REDACTED, port: '3260' },
      other_config: { 'xenpilot.session_id': REDACTED, nested: { api_key: REDACTED, fine: 'x' } },
    })
    // the caller's record is not modified
    expect(pbd.device_config.password).toBe('p1')
  })

  it('returns the very same object when there is nothing to redact (no copy on the hot path)', () => {
    const vm = { uuid: 'u', name_label: 'web', other_config: { folder: '/Prod', 'pci-passthrough': 'no' }, platform: { vga: 'std' }, VCPUs_max: 2 }
    expect(scrubRecord(vm)).toBe(vm)
  })
})

describe('toRow', () => {
  it('extracts uuid, name and (for messages) the time, and never writes a redacted value in clear', () => {
    expect(toRow({ cls: 'VM', ref: 'OpaqueRef:1', record: { uuid: 'u1', name_label: 'web' } })).toEqual({ cls: 'VM', ref: 'OpaqueRef:1', uuid: 'u1', name: 'web', at: null, json: '{"uuid":"u1","name_label":"web"}', extra: '{}' })
    const m = toRow({ cls: 'message', ref: 'OpaqueRef:m', record: { uuid: 'm', name: 'HA_POOL_OVERCOMMITTED', timestamp: '2026-11-01T10:00:00.000Z' } })
    expect(m).toMatchObject({ name: 'HA_POOL_OVERCOMMITTED', at: '2026-11-01T10:00:00.000Z' })
    const pbd = toRow({ cls: 'PBD', ref: 'OpaqueRef:p', record: { uuid: 'p', device_config: { cifspassword: 'hunter2' } } })
    expect(pbd.json).not.toContain('hunter2')
    expect(JSON.parse(pbd.json)).toEqual({ uuid: 'p', device_config: { cifspassword: REDACTED } })
    expect(pbd.extra).toBeNull()
  })

  it("keeps the fields a window's stream of an offline pool leaves out apart (SPLIT_FIELDS), redacted as well; other classes whole", () => {
    const vm = toRow({ cls: 'VM', ref: 'OpaqueRef:1', record: { uuid: 'u1', name_label: 'web', VBDs: ['OpaqueRef:b'], platform: { vga: 'std' }, xenstore_data: { 'vm-data/password': 'p' }, power_state: 'Running' } })
    expect(JSON.parse(vm.json)).toEqual({ uuid: 'u1', name_label: 'web', power_state: 'Running' })
    expect(JSON.parse(vm.extra ?? '')).toEqual({ VBDs: ['OpaqueRef:b'], platform: { vga: 'std' }, xenstore_data: { 'vm-data/password': REDACTED } })
    expect(toRow({ cls: 'network', ref: 'OpaqueRef:n', record: { uuid: 'n', name_label: 'net' } }).extra).toBeNull()
  })

  it('splits along the list the cache schema was written with: a field taken off it needs a migration that merges the stored rows back', () => {
    // rows already stored keep these fields apart (in `extra`): a window's page sends `record` as stored, so
    // a field taken off SPLIT_FIELDS would be missing from every page until each row is written again.
    // Taking one off: add a migration (main/cache/schema.ts) that sets record to the whole text and extra to
    // NULL, then update this list. Adding one is safe (rows written before send it: the renderer drops it).
    const atSchema5: Record<string, string[]> = {
      VM: ['recommendations', 'bios_strings', 'last_boot_CPU_flags', 'NVRAM', 'xenstore_data', 'HVM_boot_params', 'platform', 'last_booted_record', 'snapshot_info', 'snapshot_metadata', 'user_version', 'scheduled_to_be_resident_on', 'memory_target', 'memory_static_min', 'actions_after_softreboot', 'actions_after_shutdown', 'actions_after_reboot', 'actions_after_crash', 'VUSBs', 'crash_dumps', 'VTPMs', 'PV_bootloader', 'PV_kernel', 'PV_ramdisk', 'PV_args', 'PV_bootloader_args', 'PV_legacy_args', 'HVM_shadow_multiplier', 'PCI_bus', 'domarch', 'ha_always_run', 'transportable_snapshot_id', 'blobs', 'protection_policy', 'is_snapshot_from_vmpp', 'snapshot_schedule', 'is_vmss_snapshot', 'appliance', 'start_delay', 'shutdown_delay', 'VGPUs', 'attached_PCIs', 'suspend_SR', 'generation_id', 'hardware_platform_version', 'has_vendor_device', 'requires_reboot', 'reference_label', 'pending_guidances', 'pending_guidances_recommended', 'pending_guidances_full', 'VIFs', 'VBDs'],
      VM_metrics: ['VCPUs_utilisation', 'VCPUs_CPU', 'VCPUs_flags', 'install_time', 'last_updated', 'hvm', 'nested_virt', 'nomigrate', 'current_domain_type'],
      host: ['bios_strings', 'license_params'],
      host_cpu: ['flags', 'features'],
      VM_guest_metrics: ['other', 'PV_drivers_up_to_date', 'last_updated', 'netbios_name'],
      VDI: ['sm_config'],
      SR: ['VDIs'],
    }
    for (const [cls, fields] of Object.entries(atSchema5)) for (const f of fields) expect(SPLIT_FIELDS[cls] ?? [], `${cls}.${f} was split when schema 5 was written`).toContain(f)
  })
})

describe('isCacheable', () => {
  it('never keeps sessions, secrets, users or events, and keeps tasks only while they run', () => {
    for (const cls of ['session', 'secret', 'user', 'auth', 'event']) expect(isCacheable({ cls, ref: 'r', record: {} }), cls).toBe(false)
    expect(isCacheable({ cls: 'task', ref: 't', record: { status: 'pending' } })).toBe(true)
    expect(isCacheable({ cls: 'task', ref: 't', record: { status: 'cancelling' } })).toBe(true)
    for (const status of ['success', 'failure', 'cancelled']) expect(isCacheable({ cls: 'task', ref: 't', record: { status } }), status).toBe(false)
    expect(isCacheable({ cls: 'VM', ref: 'v', record: {} })).toBe(true)
  })
})

describe('redactParams (action history)', () => {
  it('replaces credential-named parameters at any depth, arrays included', () => {
    expect(redactParams({ host: 'OpaqueRef:h', options: { live: 'true', password: 'x' }, list: [{ session_id: 's' }, 'plain'], token: 't' })).toEqual({
      host: 'OpaqueRef:h',
      options: { live: 'true', password: REDACTED },
      list: [{ session_id: REDACTED }, 'plain'],
      token: REDACTED,
    })
  })
})

describe('corruptName', () => {
  it('is cache.corrupt-YYYYMMDD-HHMMSS.sqlite in local time, next to the cache', () => {
    const at = new Date(2026, 10, 25, 9, 5, 7)
    expect(corruptName('/no/such/dir/cache.sqlite', at)).toBe('/no/such/dir/cache.corrupt-20261125-090507.sqlite')
  })
})

describe('classifyError', () => {
  it('tells damaged files, full disks, read-only and missing folders apart', () => {
    const err = (code: string): Error => Object.assign(new Error(code), { code })
    expect(classifyError(err('SQLITE_NOTADB'))).toBe('corrupt-recovered')
    expect(classifyError(err('SQLITE_CORRUPT_INDEX'))).toBe('corrupt-recovered')
    expect(classifyError(err('SQLITE_FULL'))).toBe('disk-full')
    expect(classifyError(err('ENOSPC'))).toBe('disk-full')
    expect(classifyError(err('SQLITE_READONLY'))).toBe('read-only')
    expect(classifyError(err('EROFS'))).toBe('read-only')
    expect(classifyError(err('SQLITE_CANTOPEN'))).toBe('unavailable')
    expect(classifyError(err('ENOTDIR'))).toBe('unavailable')
    expect(classifyError(err('SQLITE_IOERR_WRITE'))).toBe('io-error')
    expect(classifyError(new SchemaTooNewError(9))).toBe('schema-too-new')
  })
})

describe('a record that cannot be stored', () => {
  it('fails with UnstorableRecordError naming the object, never a RangeError', async () => {
    const { UnstorableRecordError } = await import('../../../main/cache/serialize')
    let deep: Record<string, unknown> = { leaf: 'x' }
    for (let i = 0; i < 12_000; i++) deep = { k: deep }
    for (const extra of [{}, { password: 'hunter2' }]) {
      const u = { cls: 'VM', ref: 'OpaqueRef:deep', record: { uuid: 'u', name_label: 'deep', other_config: { ...extra, deep } } }
      expect(() => toRow(u)).toThrow(UnstorableRecordError)
      expect(() => toRow(u)).toThrow(/VM OpaqueRef:deep cannot be stored in the offline cache \(it is nested too deeply/)
    }
  })
})
