/** What of a record may reach the cache file, and how rows and problems are named. */
import { describe, expect, it } from 'vitest'
import { REDACTED, isCacheable, scrubRecord, toRow } from '../../../main/cache/serialize'
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
    expect(toRow({ cls: 'VM', ref: 'OpaqueRef:1', record: { uuid: 'u1', name_label: 'web' } })).toEqual({ cls: 'VM', ref: 'OpaqueRef:1', uuid: 'u1', name: 'web', at: null, json: '{"uuid":"u1","name_label":"web"}' })
    const m = toRow({ cls: 'message', ref: 'OpaqueRef:m', record: { uuid: 'm', name: 'HA_POOL_OVERCOMMITTED', timestamp: '2026-11-01T10:00:00.000Z' } })
    expect(m).toMatchObject({ name: 'HA_POOL_OVERCOMMITTED', at: '2026-11-01T10:00:00.000Z' })
    const pbd = toRow({ cls: 'PBD', ref: 'OpaqueRef:p', record: { uuid: 'p', device_config: { cifspassword: 'hunter2' } } })
    expect(pbd.json).not.toContain('hunter2')
    expect(JSON.parse(pbd.json)).toEqual({ uuid: 'p', device_config: { cifspassword: REDACTED } })
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
