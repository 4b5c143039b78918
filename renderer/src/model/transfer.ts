/**
 * Export/import in words (issue 14): the dialog requests, a transfer's line in the Activity
 * panel, and the file name an export suggests. Plain TypeScript.
 */
import type { TransferState } from '../../../shared/contract/transfer'
import { bytes } from './format'

export type TransferDialogRequest =
  | { kind: 'export-vm'; connectionId: string; ref: string; name: string; snapshot: boolean }
  | { kind: 'export-disk'; connectionId: string; ref: string; name: string }
  | { kind: 'import-vm'; connectionId: string; poolName: string }

/** 'web-01' → 'web-01.xva' (characters a file name cannot hold become '_') */
export function suggestedFileName(name: string, ext: 'xva' | 'raw' | 'vhd'): string {
  const base = name.replace(/[\\/:*?"<>|\0]/g, '_').trim() || 'export'
  return `${base}.${ext}`
}

/** '1.2 GiB of 4.0 GiB · 85 MiB/s' or '640 MiB · 85 MiB/s' */
export function transferAmount(t: TransferState): string {
  const done = bytes(t.bytes)
  const of = t.totalBytes !== undefined ? ` of ${bytes(t.totalBytes)}` : ''
  const rate = t.status === 'running' && t.rate > 0 ? ` · ${bytes(t.rate)}/s` : ''
  return `${done}${of}${rate}`
}

/** the status as a sentence */
export function transferStatus(t: TransferState): string {
  switch (t.status) {
    case 'queued':
      return 'Waiting for another transfer to finish'
    case 'running':
      return `${Math.round(t.progress * 100)} %`
    case 'finishing':
      return 'Waiting for the server to confirm'
    case 'done':
      return t.kind.startsWith('export') ? `Saved${t.checksumPath ? `, SHA-256 in ${t.checksumPath}` : ''}` : 'Imported'
    case 'cancelled':
      return t.message ?? 'Cancelled'
    case 'failed':
      return t.message ?? 'Failed'
  }
}

/**
 * Whether the pool's XAPI writes zstd exports (use_compression=zstd): XAPI 1.249 (2020) and the
 * year-numbered releases after it; older or unknown: gzip only.
 */
export function zstdOffered(xapiVersion: string | undefined): boolean {
  const m = /^(\d+)\.(\d+)/.exec(xapiVersion ?? '')
  if (!m) return false
  const major = Number(m[1])
  const minor = Number(m[2])
  return major >= 20 || (major === 1 && minor >= 249)
}
