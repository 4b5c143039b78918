/**
 * main/cache — the offline cache database (issue 2). Plain Node (no Electron import): runs in the
 * Electron main process, in browser mode and in tests alike.
 */
export { SqliteInventoryCache, openInventoryCache, type CacheOptions, type CacheProblem, type CacheStatus } from './cache'
export { CACHE_FILE_NAME, type CacheProblemKind } from './open'
export { SCHEMA_VERSION } from './schema'
export type { HistoryQuery, HistoryLimits } from './history'
export type { PruneLimits } from './store'
export { NEVER_CACHED_CLASSES } from './serialize'
export { PerfHistory, DEFAULT_PERF_LIMITS, type PerfLimits, type PerfRes, type PerfKind, type SeriesKey, type PerfReadResult } from './perf'
