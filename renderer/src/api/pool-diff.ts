/**
 * Hand validation of `pool.diff` payloads. A reset of a 10k-VM pool is ~100 MB of JSON; zod would
 * copy every record (and take longer than the parse itself). This checks the envelope and that each
 * record is a plain object, without copying; fields are read defensively wherever they are used.
 */
import type { ObjectRemove, ObjectUpsert, PoolDiff } from '../../../shared/model/diff'

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** the diff, or a sentence saying what is wrong with it */
export function parsePoolDiff(v: unknown): PoolDiff | string {
  if (!isObject(v)) return 'pool.diff payload is not an object'
  const { connectionId, seq, reset, upserts, removes, token, part, more, scope, live } = v
  if (typeof connectionId !== 'string' || connectionId === '') return 'pool.diff has no connectionId'
  if (typeof seq !== 'number' || !Number.isFinite(seq)) return `pool.diff for ${connectionId} has no numeric seq`
  if (typeof reset !== 'boolean') return `pool.diff for ${connectionId} has no boolean reset`
  if (!Array.isArray(upserts) || !Array.isArray(removes)) return `pool.diff for ${connectionId} lacks upserts/removes arrays`
  if (token !== undefined && typeof token !== 'string') return `pool.diff for ${connectionId} has a non-string token`
  if (part !== undefined && (typeof part !== 'number' || !Number.isInteger(part) || part < 0)) return `pool.diff for ${connectionId} has a part that is not a whole number ≥ 0`
  if (more !== undefined && typeof more !== 'boolean') return `pool.diff for ${connectionId} has a non-boolean more`
  if (live !== undefined && typeof live !== 'boolean') return `pool.diff for ${connectionId} has a non-boolean live`
  if (scope !== undefined && (!Array.isArray(scope) || !scope.every((c) => typeof c === 'string'))) return `pool.diff for ${connectionId} has a scope that is not a list of class names`
  if (scope !== undefined && reset) return `pool.diff for ${connectionId} is both a reset and a scope`
  if ((part !== undefined || more !== undefined) && reset !== true && scope === undefined) return `pool.diff for ${connectionId} has part/more without reset or scope (only those travel in pieces)`
  for (let i = 0; i < upserts.length; i++) {
    const u: unknown = upserts[i]
    if (!isObject(u) || typeof u.cls !== 'string' || typeof u.ref !== 'string' || !isObject(u.record)) return `pool.diff for ${connectionId}: upsert #${i} is not {cls, ref, record}`
  }
  for (let i = 0; i < removes.length; i++) {
    const r: unknown = removes[i]
    if (!isObject(r) || typeof r.cls !== 'string' || typeof r.ref !== 'string') return `pool.diff for ${connectionId}: remove #${i} is not {cls, ref}`
  }
  return {
    connectionId,
    seq,
    reset,
    upserts: upserts as ObjectUpsert[],
    removes: removes as ObjectRemove[],
    ...(token !== undefined ? { token } : {}),
    ...(part !== undefined ? { part } : {}),
    ...(more === true ? { more } : {}),
    ...(live === true && part !== undefined ? { live } : {}),
    ...(scope !== undefined ? { scope: scope as string[] } : {}),
  }
}
