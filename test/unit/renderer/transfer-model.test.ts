/** The transfers in words (renderer/src/model/transfer.ts): zstd where XAPI writes it, amounts and statuses as sentences. */
import { describe, expect, it } from 'vitest'
import type { TransferState } from '../../../shared/contract/transfer'
import { suggestedFileName, transferAmount, transferStatus, zstdOffered } from '../../../renderer/src/model/transfer'

const base: TransferState = { id: 'x', kind: 'export-vm', connectionId: 'c', title: 'Export VM', objectName: 'web-01', path: '/srv/web-01.xva', status: 'running', bytes: 3 * 1024 ** 3, progress: 0.42, rate: 80 * 1024 ** 2, queuedAt: '2026-12-07T17:00:00Z' }

describe('transfer model', () => {
  it('offers zstd from XAPI 1.249 and the year-numbered releases on, not on a 7.2 host or an unknown one', () => {
    expect(zstdOffered('1.249.3')).toBe(true)
    expect(zstdOffered('25.33.0')).toBe(true)
    expect(zstdOffered('1.20.0')).toBe(false)
    expect(zstdOffered(undefined)).toBe(false)
  })
  it('says amounts, speed and outcomes in words', () => {
    expect(transferAmount(base)).toBe('3.00 GiB · 80.0 MiB/s')
    expect(transferStatus(base)).toBe('42 %')
    expect(transferStatus({ ...base, status: 'done', checksumPath: '/srv/web-01.xva.sha256' })).toBe('Saved, SHA-256 in /srv/web-01.xva.sha256')
    expect(transferStatus({ ...base, status: 'failed', message: 'The disk is full.' })).toBe('The disk is full.')
    expect(transferStatus({ ...base, status: 'queued' })).toBe('Waiting for another transfer to finish')
    expect(suggestedFileName('db: 01/primary', 'xva')).toBe('db_ 01_primary.xva')
  })
})
