/**
 * The operations share of the contract (issue 5): vm.run, host.run, object.edit, tasks.cancel,
 * history.list, alerts.dismiss. Commands run through OperationRunner (one XAPI task per object);
 * history goes to the cache database when there is one, else to memory (and says so in the log).
 *
 *   modules: [operationsModule({ history: runtime.cache?.history })]
 */
import type { HistoryEntry, OperationResult, operationMethods } from '../../shared/contract/operations'
import { explainXapiError } from '../../shared/xapi/error-text'
import type { HistoryQuery } from '../cache'
import { OperationRunner, type HistorySink } from '../operations/runner'
import type { ModuleFactory } from './module'
import { ServiceError } from './errors'

export interface HistoryStore extends HistorySink {
  list(q: HistoryQuery): HistoryEntry[]
}

/** Used only when the cache database could not be opened: history lasts until the app quits. */
export class MemoryHistory implements HistoryStore {
  private entries: HistoryEntry[] = []
  private nextId = 1
  append(entry: Omit<HistoryEntry, 'id'>): HistoryEntry {
    const e = { ...entry, id: this.nextId++ }
    this.entries.push(e)
    if (this.entries.length > 10_000) this.entries.shift()
    return e
  }
  list(q: HistoryQuery): HistoryEntry[] {
    const limit = q.limit ?? 200
    return this.entries
      .filter((e) => (q.connectionId === undefined || e.connectionId === q.connectionId) && (q.ref === undefined || e.ref === q.ref) && (q.beforeId === undefined || e.id < q.beforeId))
      .reverse()
      .slice(0, limit)
  }
}

function failure(e: unknown): { code: string; params: string[] } {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') {
    return { code: e.code, params: 'params' in e && Array.isArray(e.params) ? e.params.map(String) : [] }
  }
  return { code: 'CLIENT_ERROR', params: [e instanceof Error ? e.message : String(e)] }
}

export function operationsModule(opts: { history?: HistoryStore } = {}): ModuleFactory<keyof typeof operationMethods> {
  return (ctx) => {
    const { pools, broadcast, log } = ctx
    let history: HistoryStore
    if (opts.history) history = opts.history
    else {
      log('operations: no cache database, the action history is kept in memory only')
      history = new MemoryHistory()
    }
    const sink: HistorySink = {
      append(entry) {
        const e = history.append(entry)
        if (e) broadcast('history.appended', e)
        return e
      },
    }
    const runner = new OperationRunner(pools, sink, (id) => pools.get(id)?.username ?? 'unknown user')
    const progress = (p: { connectionId: string; ref: string; op: string; progress: number; taskRef?: string }) => broadcast('operation.progress', p)

    const requireConnected = (id: string) => {
      const c = pools.get(id)
      if (!c) throw new ServiceError('not-found', `There is no saved server with id “${id}”.`)
      if (c.status !== 'connected') {
        const since = c.offlineSince ? ` since ${new Date(c.offlineSince).toLocaleTimeString()}` : ''
        throw new ServiceError('offline', `${c.label} is not connected${since}; reconnect to change anything there.`)
      }
    }

    return {
      handlers: {
        'vm.run': async (a) => {
          for (const t of a.targets) requireConnected(t.connectionId)
          const opts = { ...(a.host ? { host: a.host } : {}), ...(a.name ? { name: a.name } : {}), ...(a.sr ? { sr: a.sr } : {}), ...(a.withDisks !== undefined ? { withDisks: a.withDisks } : {}) }
          return runner.runVm(a.targets, a.op, opts, progress)
        },
        'host.run': async (a) => {
          for (const t of a.targets) requireConnected(t.connectionId)
          return runner.runHost(a.targets, a.op, progress)
        },
        'object.edit': async (a) => {
          requireConnected(a.connectionId)
          const call = (m: string, p: unknown[]) => pools.call(a.connectionId, `${a.cls}.${m}`, [a.ref, ...p])
          const started = Date.now()
          const { connectionId, cls, ref, ...changes } = a
          // edits are actions too: the history shows who renamed or re-filed what
          const record = (ok: boolean, objectName: string, err?: { code: string; message: string }) =>
            sink.append({
              at: new Date(started).toISOString(),
              connectionId,
              cls,
              ref,
              objectName,
              action: 'Edit',
              params: changes,
              ok,
              ...(err ? { errorCode: err.code, errorMessage: err.message } : {}),
              durationMs: Date.now() - started,
              user: pools.get(connectionId)?.username ?? 'unknown user',
            })
          let before = ref
          try {
            const n = await pools.call(connectionId, `${cls}.get_name_label`, [ref])
            if (typeof n === 'string' && n) before = n
          } catch {
            // the edit itself reports what is wrong
          }
          try {
            if (a.name_label !== undefined) await call('set_name_label', [a.name_label])
            if (a.name_description !== undefined) await call('set_name_description', [a.name_description])
            if (a.tags !== undefined) await call('set_tags', [[...new Set(a.tags)]])
            if (a.folder !== undefined) {
              // XenCenter keeps a folder in other_config["folder"] (XenModel/Folders.cs), so teams can mix clients
              await call('remove_from_other_config', ['folder'])
              if (a.folder) await call('add_to_other_config', ['folder', a.folder])
            }
          } catch (e) {
            const f = failure(e)
            record(false, before, { code: f.code, message: explainXapiError(f.code, f.params).sentence })
            throw e
          }
          record(true, a.name_label ?? before)
          return null
        },
        'tasks.cancel': async (a) => {
          requireConnected(a.connectionId)
          try {
            await pools.call(a.connectionId, 'task.cancel', [a.taskRef])
          } catch (e) {
            const f = failure(e)
            throw new ServiceError(f.code, explainXapiError(f.code, f.params).sentence, f.params)
          }
          return null
        },
        'history.list': (a) => history.list({ ...a }),
        'alerts.dismiss': async (a) => {
          requireConnected(a.connectionId)
          const results: OperationResult[] = []
          for (const ref of a.refs) {
            try {
              await pools.call(a.connectionId, 'message.destroy', [ref])
              results.push({ connectionId: a.connectionId, ref, ok: true })
            } catch (e) {
              const f = failure(e)
              const x = explainXapiError(f.code, f.params)
              results.push({ connectionId: a.connectionId, ref, ok: false, error: { code: f.code, params: f.params, message: x.sentence } })
            }
          }
          return results
        },
      },
    }
  }
}
