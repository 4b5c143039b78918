/**
 * The storage share of the contract (issue 13): disks, the DVD drive, SRs and PBDs, run by
 * main/operations/storage.ts against the pool's live graph. Actions on an offline pool are refused
 * with the time it was last seen; a rule XenPilot checks before asking XAPI answers 'refused' with
 * the reason the renderer already shows.
 *
 *   modules: [storageModule({ graph: (id) => pools.graph(id), history })]
 */
import type { HistoryStore } from './operations'
import { StorageRefusal, StorageRunner, type PoolGraphReader, type StorageRunnerOptions } from '../operations/storage'
import type { storageMethods } from '../../shared/contract/storage'
import type { ModuleFactory } from './module'
import { ServiceError } from './errors'

export interface StorageModuleOptions extends StorageRunnerOptions {
  /** the pool's live object graph (main/pools PoolManager.graph) */
  graph: (connectionId: string) => PoolGraphReader | undefined
  /** where history entries go (the operations module's store, so the History tab shows both) */
  history: Pick<HistoryStore, 'append'>
}

export function storageModule(opts: StorageModuleOptions): ModuleFactory<keyof typeof storageMethods> {
  return (ctx) => {
    const { pools, broadcast } = ctx
    const sink = {
      append: (entry: Parameters<HistoryStore['append']>[0]) => {
        const e = opts.history.append(entry)
        if (e) broadcast('history.appended', e)
        return e
      },
    }
    const runner = new StorageRunner(pools, opts.graph, sink, (id) => pools.get(id)?.username ?? 'unknown user', (p) => broadcast('operation.progress', p), opts)

    /** the pool must be connected; refusals become 'refused' contract errors */
    const guarded =
      <A extends { connectionId: string }, R>(fn: (a: A) => Promise<R>) =>
      async (a: A): Promise<R> => {
        const c = pools.get(a.connectionId)
        if (!c) throw new ServiceError('not-found', `There is no saved server with id “${a.connectionId}”.`)
        if (c.status !== 'connected') {
          const since = c.offlineSince ? ` since ${new Date(c.offlineSince).toLocaleTimeString()}` : ''
          throw new ServiceError('offline', `${c.label} is not connected${since}; reconnect to change its storage.`)
        }
        try {
          return await fn(a)
        } catch (e) {
          if (e instanceof StorageRefusal) throw new ServiceError('refused', e.message)
          throw e
        }
      }

    return {
      handlers: {
        'disk.create': guarded((a) => runner.createDisk(a)),
        'disk.attach': guarded((a) => runner.attachDisk(a)),
        'disk.detach': guarded((a) => runner.detachDisk(a)),
        'disk.delete': guarded((a) => runner.deleteDisk(a)),
        'disk.resize': guarded((a) => runner.resizeDisk(a)),
        'disk.rename': guarded((a) => runner.renameDisk(a)),
        'disk.move': guarded((a) => runner.moveDisk(a)),
        'cd.insert': guarded((a) => runner.insertCd(a)),
        'cd.eject': guarded((a) => runner.ejectCd(a)),
        'cd.add': guarded((a) => runner.addCdDrive(a)),
        'sr.scan': guarded((a) => runner.scanSr(a)),
        'sr.setDefault': guarded((a) => runner.setDefaultSr(a)),
        'sr.repair': guarded((a) => runner.repairSr(a)),
        'sr.forget': guarded((a) => runner.forgetSr(a)),
        'sr.destroy': guarded((a) => runner.destroySr(a)),
        'pbd.plug': guarded((a) => runner.plugPbd(a, true)),
        'pbd.unplug': guarded((a) => runner.plugPbd(a, false)),
      },
    }
  }
}
