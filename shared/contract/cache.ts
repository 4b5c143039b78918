/**
 * Contract entries for the offline cache (issue 2): what happened to the cache file (damaged and
 * rebuilt, disk full, read-only, written by a newer XenPilot…) so the UI can say it, and "Clear
 * cache" per server or for all. The per-server "do not cache" option is `connections.edit
 * { doNotCache }`. Merged into shared/contract/index.ts.
 */
import { z } from 'zod'

export const CacheProblemKind = z.enum(['corrupt-recovered', 'disk-full', 'read-only', 'unavailable', 'schema-too-new', 'io-error', 'record-skipped'])
export type CacheProblemKind = z.infer<typeof CacheProblemKind>

export const CacheProblem = z.object({
  kind: CacheProblemKind,
  /** a sentence for the user: what happened and what XenPilot did */
  message: z.string(),
  /** ISO time */
  at: z.string(),
  code: z.string().optional(),
  /** corrupt-recovered: where the damaged file was kept */
  movedTo: z.string().optional(),
})
export type CacheProblem = z.infer<typeof CacheProblem>

export const CacheStatus = z.object({
  /** ok: written to disk · memory-only: the file is not written (see problems) · off: this build runs without a cache */
  state: z.enum(['ok', 'memory-only', 'off']),
  path: z.string(),
  /** most recent last */
  problems: z.array(CacheProblem),
})
export type CacheStatus = z.infer<typeof CacheStatus>

export const cacheMethods = {
  'cache.status': { args: z.object({}).strict(), result: CacheStatus },
  /** "Clear cache": one server's cached inventory (a connected server's is rebuilt from its live graph), or every server's */
  'cache.clear': { args: z.object({ connectionId: z.string().min(1).optional() }).strict(), result: z.null() },
  /** after the user fixed the problem (freed space, made the folder writable): reopen the file and write again */
  'cache.retry': { args: z.object({}).strict(), result: CacheStatus },
} as const

export const cacheEvents = {
  /** a cache problem after start-up (those found while opening are in cache.status) */
  'cache.problem': CacheProblem,
  /** the cache state changed (memory-only → ok after a retry, or the reverse) */
  'cache.status': CacheStatus,
} as const
