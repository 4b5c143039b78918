/**
 * The provisioning share of the contract (issue 14): the New VM wizard's `vm.create`, run by
 * main/operations/provision.ts through the one ActionRunner (one history entry, progress under one
 * action id). Refused on an offline pool with the time it was last seen; a spec the wizard's rules
 * refuse answers 'refused' with the same sentence.
 *
 *   modules: [provisionModule({ history })]
 */
import type { provisionMethods } from '../../shared/contract/provision'
import { ProvisionRunner } from '../operations/provision'
import type { HistorySink } from '../operations/runner'
import { StorageRunner } from '../operations/storage'
import { VmSettingsRunner } from '../operations/vm-settings'
import { connectedAction, moduleActions } from './guard'
import type { ModuleFactory } from './module'

export interface ProvisionModuleOptions {
  history: HistorySink
}

export function provisionModule(opts: ProvisionModuleOptions): ModuleFactory<keyof typeof provisionMethods> {
  return (ctx) => {
    // the pool's live object graph: the one accessor (PoolManagerApi.graph)
    const graph = (connectionId: string) => ctx.pools.graph(connectionId)
    const actions = moduleActions(ctx, opts.history, (id, ref) => StorageRunner.nameOf(graph(id), ref))
    const runner = new ProvisionRunner(actions, graph)
    const settings = new VmSettingsRunner(actions, graph)
    const guarded = connectedAction(ctx.pools, 'its VMs')
    return {
      handlers: {
        'vm.create': guarded((a) => runner.create(a)),
        'vm.configure': guarded((a) => settings.configure(a)),
        'vm.template': guarded((a) => settings.template(a)),
        'vm.settings': (a) => settings.read(a.connectionId, a.ref),
      },
    }
  }
}
