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
import type { PoolGraph } from '../pools/api'
import { ServiceError } from './errors'

/** true when every disk is one of the VM's own disks (a plugged-in or not VBD of type Disk), else the sentence */
export function cbtDisksOf(g: Pick<PoolGraph, 'get'>, vm: string, vdis: readonly string[], name: string): true | string {
  const own = new Set<string>()
  const vbds = g.get('VM', vm)?.['VBDs']
  for (const b of Array.isArray(vbds) ? vbds : []) {
    const vbd = typeof b === 'string' ? g.get('VBD', b) : undefined
    if (vbd?.['type'] === 'Disk' && typeof vbd['VDI'] === 'string') own.add(vbd['VDI'])
  }
  const other = vdis.find((v) => !own.has(v))
  if (other === undefined) return true
  const label = g.get('VDI', other)?.['name_label']
  return `${typeof label === 'string' && label ? `Disk '${label}'` : other} is not a disk of ${name}: changed block tracking is only turned off on the disks of the VM being moved.`
}

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
        'migrate.disableCbt': guard(async ({ connectionId, vm, vdis }) => {
          const g = pools.graph(connectionId)
          const rec = g?.get('VM', vm)
          if (!g || !rec) throw new ServiceError('not-found', `VM ${vm} is not in this pool (it may have been deleted).`)
          const name = typeof rec['name_label'] === 'string' ? rec['name_label'] : vm
          return actions.run({
            connectionId,
            cls: 'VM',
            ref: vm,
            title: 'Disable changed block tracking',
            params: { disks: vdis.length },
            // only this VM's own disks (not another VM's, not a snapshot's: XAPI refuses those anyway)
            check: () => cbtDisksOf(g, vm, vdis, name),
            steps: vdis.length,
            work: async (c) => {
              for (const vdi of vdis) await c.task('VDI.disable_cbt', [vdi])
              return undefined
            },
          })
        }),
      },
    }
  }
}
