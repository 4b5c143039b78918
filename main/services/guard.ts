/**
 * The guard every action method of a capability puts around its handler: the pool must be
 * connected (an offline pool's objects come from the cache and cannot be changed; the error says
 * since when it is offline), and a rule checked before XAPI was asked (ActionRefusal) becomes a
 * 'refused' contract error with its sentence.
 */
import type { PoolManagerApi } from '../pools/api'
import { ActionRefusal, ActionRunner } from '../operations/action'
import type { HistorySink } from '../operations/runner'
import { ServiceError } from './errors'
import type { ServiceModuleContext } from './module'

/** `what`: the end of "reconnect to change …" ('its networking') */
export function connectedAction(pools: Pick<PoolManagerApi, 'get'>, what: string) {
  return <A extends { connectionId: string }, R>(fn: (a: A) => Promise<R>) =>
    async (a: A): Promise<R> => {
      const c = pools.get(a.connectionId)
      if (!c) throw new ServiceError('not-found', `There is no saved server with id “${a.connectionId}”.`)
      if (c.status !== 'connected') {
        const since = c.offlineSince ? ` since ${new Date(c.offlineSince).toLocaleTimeString()}` : ''
        throw new ServiceError('offline', `${c.label} is not connected${since}; reconnect to change ${what}.`)
      }
      try {
        return await fn(a)
      } catch (e) {
        if (e instanceof ActionRefusal) throw new ServiceError('refused', e.message)
        throw e
      }
    }
}

/**
 * The ActionRunner of a capability's module: its history entries go to the one action history and
 * to every window (`history.appended`), its progress to the Activity panel (`operation.progress`).
 */
export function moduleActions(ctx: ServiceModuleContext, history: HistorySink, nameOf?: (connectionId: string, ref: string) => string | undefined): ActionRunner {
  const { pools, broadcast } = ctx
  const sink: HistorySink = {
    append: (entry) => {
      const e = history.append(entry)
      if (e) broadcast('history.appended', e)
      return e
    },
  }
  return new ActionRunner(pools, sink, (id) => pools.get(id)?.username ?? 'unknown user', (p) => broadcast('operation.progress', p), nameOf)
}
