/**
 * The transfer share of the contract (issue 14): VM/disk export and import through
 * main/transfer/service.ts, one ActionRunner for the history and the Activity panel.
 *
 *   modules: [transferModule({ history, hosts: pools })]
 */
import type { FilePickRequest, transferMethods } from '../../shared/contract/transfer'
import { ActionRefusal } from '../operations/action'
import type { HistorySink } from '../operations/runner'
import type { PoolHostAccess } from '../pools/api'
import { checkExportPath, checkImportPath, FileRefusal, inspectFile } from '../transfer/files'
import { TransferService } from '../transfer/service'
import { ServiceError } from './errors'
import { connectedAction, moduleActions } from './guard'
import type { ModuleFactory } from './module'

export interface TransferModuleOptions {
  history: HistorySink
  /** the pools' hosts over their pinned agents (PoolManager) */
  hosts: PoolHostAccess
  concurrency?: number
  /** Electron: the native open/save dialog (main/app/file-dialog.ts); absent in browser mode */
  pickFile?: (req: FilePickRequest) => Promise<string | null>
}

export function transferModule(opts: TransferModuleOptions): ModuleFactory<keyof typeof transferMethods> {
  return (ctx) => {
    const { pools, broadcast } = ctx
    const actions = moduleActions(ctx, opts.history, (id, ref) => {
      const r = pools.graph(id)?.byRef(ref)
      return r && typeof r.record.name_label === 'string' ? `${r.cls} '${r.record.name_label}'` : undefined
    })
    const service = new TransferService({ pools, hosts: opts.hosts, actions, onChange: (s) => broadcast('transfer.changed', s), ...(opts.concurrency ? { concurrency: opts.concurrency } : {}) })
    const guarded = connectedAction(pools, 'it')
    const refusing = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn()
      } catch (e) {
        if (e instanceof FileRefusal || e instanceof ActionRefusal) throw new ServiceError('refused', e.message)
        throw e
      }
    }
    return {
      handlers: {
        'transfer.exportVm': guarded((a) => service.exportVm(a)),
        'transfer.exportDisk': guarded((a) => service.exportDisk(a)),
        'transfer.importVm': guarded((a) => service.importVm(a)),
        'transfer.importDisk': guarded((a) => service.importDisk(a)),
        'transfer.inspect': (a) => refusing(() => inspectFile(a.path)),
        'transfer.checkPath': (a) => (a.purpose === 'export' ? checkExportPath(a.path, { overwrite: true }) : checkImportPath(a.path)),
        'transfer.pickFile': async (a) => {
          if (!opts.pickFile) throw new ServiceError('refused', 'Browser mode has no file dialog: type the full path of the file on the machine running XenPilot’s services.')
          return { path: await opts.pickFile(a) }
        },
        'transfer.list': () => service.list(),
        'transfer.cancel': (a) =>
          refusing(async () => {
            await service.cancel(a.id)
            return null
          }),
      },
    }
  }
}
