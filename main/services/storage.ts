/**
 * The storage share of the contract (issue 13): disks, the DVD drive, SRs and PBDs, run by
 * main/operations/storage.ts against the pool's live graph. Actions on an offline pool are refused
 * with the time it was last seen; a rule XenPilot checks before asking XAPI answers 'refused' with
 * the reason the renderer already shows.
 *
 *   modules: [storageModule({ history })]
 */
import type { storageMethods } from '../../shared/contract/storage'
import type { HistorySink } from '../operations/runner'
import { StorageRunner, type PoolGraphReader, type StorageRunnerOptions } from '../operations/storage'
import { connectedAction, moduleActions } from './guard'
import type { ModuleFactory } from './module'

export interface StorageModuleOptions extends StorageRunnerOptions {
  /** where history entries go (the operations module's store, so the History tab shows every action) */
  history: HistorySink
}

export function storageModule(opts: StorageModuleOptions): ModuleFactory<keyof typeof storageMethods> {
  return (ctx) => {
    // the pool's live object graph: the one accessor (PoolManagerApi.graph)
    const graph = (connectionId: string) => ctx.pools.graph(connectionId)
    const { pools } = ctx
    const actions = moduleActions(ctx, opts.history, (id, ref) => StorageRunner.nameOf(graph(id), ref))
    const runner = new StorageRunner(actions, graph, opts)
    const guarded = connectedAction(pools, 'its storage')

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
