/**
 * The offline cache's share of the contract (issue 2): cache.status / cache.retry / cache.clear,
 * and the cache's problems (damaged file set aside and rebuilt, disk full, read-only folder, file
 * of a newer XenPilot…) broadcast as `cache.problem` so every window can say what happened.
 *
 *   modules: [cacheModule(runtime.cache)]        // undefined cache: status 'off', clear is a no-op
 */
import type { CacheProblem, CacheStatus, cacheMethods } from '../../shared/contract/cache'
import type { SqliteInventoryCache } from '../cache'
import type { ModuleFactory } from './module'
import { ServiceError } from './errors'

/** What this module needs from main/cache (SqliteInventoryCache has it). */
export type CacheControl = Pick<SqliteInventoryCache, 'status' | 'onProblem' | 'retry' | 'clear' | 'clearAll'>

function toProblem(p: { kind: CacheProblem['kind']; message: string; at: string; code?: string; movedTo?: string }): CacheProblem {
  return { kind: p.kind, message: p.message, at: p.at, ...(p.code ? { code: p.code } : {}), ...(p.movedTo ? { movedTo: p.movedTo } : {}) }
}

export function cacheStatusOf(cache: CacheControl | undefined): CacheStatus {
  if (!cache) return { state: 'off', path: '', problems: [] }
  const s = cache.status()
  return { state: s.state, path: s.path, problems: s.problems.map(toProblem) }
}

export function cacheModule(cache: CacheControl | undefined): ModuleFactory<keyof typeof cacheMethods> {
  return ({ pools, broadcast, log }) => {
    const unsubscribe = cache?.onProblem((p) => {
      log(`cache: ${p.message}`)
      broadcast('cache.problem', toProblem(p))
      broadcast('cache.status', cacheStatusOf(cache))
    })
    return {
      handlers: {
        'cache.status': () => cacheStatusOf(cache),
        'cache.retry': () => {
          if (!cache) return cacheStatusOf(cache)
          const before = cache.status().state
          cache.retry()
          const after = cacheStatusOf(cache)
          if (after.state !== before) broadcast('cache.status', after)
          return after
        },
        'cache.clear': (a) => {
          if (!cache) return null
          if (a.connectionId !== undefined) {
            if (!pools.get(a.connectionId)) throw new ServiceError('not-found', `There is no saved server with id “${a.connectionId}”; it may have been forgotten in another window.`)
            cache.clear(a.connectionId)
            // a connected server's cache is rebuilt from its live graph right away
            pools.recache(a.connectionId)
          } else {
            cache.clearAll()
            for (const c of pools.list()) pools.recache(c.id)
          }
          return null
        },
      },
      close() {
        unsubscribe?.()
      },
    }
  }
}
