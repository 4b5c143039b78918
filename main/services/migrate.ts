/**
 * The migration share of the contract (issue 17): VMs moved or copied between pools or within one,
 * run by main/operations/migrate.ts through the one ActionRunner (one Activity row and one history
 * entry per VM). Both pools must be connected: migrate_receive needs the destination's session.
 *
 *   modules: [migrateModule({ history })]
 */
import type { migrateMethods } from '../../shared/contract/migrate'
import { ActionRunner } from '../operations/action'
import { MigrationRunner, type MigrationRunnerOptions } from '../operations/migrate'
import type { HistorySink } from '../operations/runner'
import { connectedAction } from './guard'
import type { ModuleFactory } from './module'

export interface MigrateModuleOptions extends MigrationRunnerOptions {
  /** where history entries go (the operations module's store, so the History tab shows every action) */
  history: HistorySink
}

export function migrateModule(opts: MigrateModuleOptions): ModuleFactory<keyof typeof migrateMethods> {
  return (ctx) => {
    const { pools, broadcast } = ctx
    const sink: HistorySink = {
      append: (entry) => {
        const e = opts.history.append(entry)
        if (e) broadcast('history.appended', e)
        return e
      },
    }
    let runner: MigrationRunner | undefined
    const actions = new ActionRunner(
      pools,
      sink,
      (id) => pools.get(id)?.username ?? 'unknown user',
      (p) => broadcast('operation.progress', p),
      (id, ref) => runner?.nameOf(id, ref),
    )
    runner = new MigrationRunner(actions, pools, sink, (e) => broadcast('migrate.state', e), opts)
    const migrations = runner
    const guard = connectedAction(pools, 'its VMs')
    /** both pools connected (migrate_receive needs the destination's session), or the sentence why not */
    const bothConnected = async (a: { connectionId: string; destConnectionId: string }): Promise<void> => {
      await guard(async () => undefined)(a)
      await guard(async () => undefined)({ connectionId: a.destConnectionId })
    }

    return {
      handlers: {
        'migrate.check': async (a) => {
          await bothConnected(a)
          return migrations.check(a)
        },
        'migrate.run': async (a) => {
          for (const item of a.items) await bothConnected(item)
          return migrations.run(a.items, { perSource: a.concurrency?.perSource ?? 2, perDestination: a.concurrency?.perDestination ?? 2 }, a.actionIds ?? [])
        },
        'migrate.cancel': (a) => ({ cancelled: migrations.cancel(a.actionId) }),
      },
    }
  }
}
