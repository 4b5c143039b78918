/**
 * The networking share of the contract (issue 13): a VM's NICs, a host's NICs, bonds, VLANs and
 * networks, run by main/operations/network.ts against the pool's live graph. Changes on an offline
 * pool are refused with the time it was last seen; a rule XenPilot checks before asking XAPI
 * answers 'refused' with the reason the renderer already shows.
 *
 *   modules: [networkModule({ history })]
 */
import type { NetGraph } from '../../shared/operations/network'
import { NetworkRunner } from '../operations/network'
import type { HistorySink } from '../operations/runner'
import { connectedAction, moduleActions } from './guard'
import type { networkMethods } from '../../shared/contract/network'
import type { ModuleFactory } from './module'

export interface NetworkModuleOptions {
  /** where history entries go (the operations module's store, so the History tab shows every action) */
  history: HistorySink
}

export function networkModule(opts: NetworkModuleOptions): ModuleFactory<keyof typeof networkMethods> {
  return (ctx) => {
    // the pool's live object graph: the one accessor (PoolManagerApi.graph)
    const graph = (connectionId: string) => ctx.pools.graph(connectionId)
    const { pools } = ctx
    const actions = moduleActions(ctx, opts.history, (id, ref) => NetworkRunner.nameOf(graph(id), ref))
    const runner = new NetworkRunner(actions, graph)

    const guarded = connectedAction(pools, 'its networking')

    return {
      handlers: {
        'vif.create': guarded((a) => runner.createVif(a)),
        'vif.remove': guarded((a) => runner.removeVif(a)),
        'vif.plug': guarded((a) => runner.plugVif(a, true)),
        'vif.unplug': guarded((a) => runner.plugVif(a, false)),
        'vif.move': guarded((a) => runner.moveVif(a)),
        'vif.update': guarded((a) => runner.updateVif(a)),
        'pif.scan': guarded((a) => runner.scanPifs(a)),
        'bond.create': guarded((a) => runner.createBond(a)),
        'bond.destroy': guarded((a) => runner.destroyBond(a)),
        'bond.setMode': guarded((a) => runner.setBondMode(a)),
        'vlan.create': guarded((a) => runner.createVlan(a)),
        'vlan.destroy': guarded((a) => runner.destroyVlan(a)),
        'network.create': guarded((a) => runner.createNetwork(a)),
        'network.setMtu': guarded((a) => runner.setMtu(a)),
        'network.remove': guarded((a) => runner.removeNetwork(a)),
      },
    }
  }
}
