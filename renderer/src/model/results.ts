/**
 * Per-object results of a bulk operation, summarised for people: one row per object with ok,
 * failed (the XAPI sentence, code and parameters one click away) or skipped (why it was left out).
 */
import type { OperationResult } from '../../../shared/contract/operations'

export interface ResultRow {
  connectionId: string
  ref: string
  name: string
  outcome: 'ok' | 'failed' | 'skipped'
  /** what happened (error sentence, or the reason it was skipped) */
  sentence: string
  action?: string
  code?: string
  params?: string[]
}

export interface ResultSummary {
  title: string
  ok: number
  failed: number
  skipped: number
  rows: ResultRow[]
}

const plural = (n: number, what = 'VM'): string => `${n} ${what}${n === 1 ? '' : 's'}`

/** `what` is the operation's label ('Shut Down'); rows keep the order of the results, skipped last */
export function summariseResults(
  what: string,
  results: readonly OperationResult[],
  skipped: readonly { connectionId: string; ref: string; reason: string }[],
  nameOf: (connectionId: string, ref: string) => string,
  /** what the rows are ('object' when a mixed selection's other objects are listed as skipped) */
  noun = 'VM',
): ResultSummary {
  const rows: ResultRow[] = results.map((r) =>
    r.ok
      ? { connectionId: r.connectionId, ref: r.ref, name: nameOf(r.connectionId, r.ref), outcome: 'ok', sentence: 'Done' }
      : {
          connectionId: r.connectionId,
          ref: r.ref,
          name: nameOf(r.connectionId, r.ref),
          outcome: 'failed',
          sentence: r.error?.message ?? 'Failed for an unknown reason',
          ...(r.error?.action ? { action: r.error.action } : {}),
          ...(r.error ? { code: r.error.code, params: r.error.params } : {}),
        },
  )
  for (const s of skipped) rows.push({ connectionId: s.connectionId, ref: s.ref, name: nameOf(s.connectionId, s.ref), outcome: 'skipped', sentence: s.reason || 'Not possible now' })
  const ok = rows.filter((r) => r.outcome === 'ok').length
  const failed = rows.filter((r) => r.outcome === 'failed').length
  const skippedN = rows.length - ok - failed
  let title: string
  if (failed + skippedN === 0) title = rows.length === 1 ? `${what}: ${rows[0]?.name ?? ''} done` : `${what}: ${plural(ok, noun)} done`
  else if (ok === 0 && rows.length === 1) title = `${what} failed for ${rows[0]?.name ?? ''}`
  else title = `${what}: ${ok} of ${plural(rows.length, noun)} done${failed ? `, ${failed} failed` : ''}${skippedN ? `, ${skippedN} skipped` : ''}`
  return { title, ok, failed, skipped: skippedN, rows }
}
