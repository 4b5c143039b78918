/**
 * One user action (add a NIC, create a bond, …) as XenCenter's AsyncAction runs it: the rule the
 * renderer showed before the click is checked again first (a refusal is an `ActionRefusal`, the
 * same sentence); then the XAPI steps run, their tasks' progress reported under one action id, so
 * the Activity panel shows one row per action; the outcome is one history entry, and a XAPI
 * failure comes back as a sentence with the code and params (shared/xapi/error-text.ts).
 *
 * VM and host commands on many objects use OperationRunner (runner.ts); capabilities whose actions
 * are sequences of calls on one object (networking, storage) use this.
 */
import { randomUUID } from 'node:crypto'
import type { EventPayload } from '../../shared/contract'
import type { OperationResult } from '../../shared/contract/operations'
import { explainXapiError } from '../../shared/xapi/error-text'
import type { PoolManagerApi } from '../pools/api'
import type { HistorySink } from './runner'

export type ActionProgressListener = (p: EventPayload<'operation.progress'>) => void

/** an action refused before XAPI was asked (the reason is the one the renderer shows) */
export class ActionRefusal extends Error {
  readonly code = 'refused'
}

/** what one step of an action may do: a XAPI task (its progress counted) or a plain call */
export interface ActionContext {
  connectionId: string
  /** Async.<method>; its progress fills one step of the action's */
  task(method: string, params: unknown[]): Promise<unknown>
  call(method: string, params: unknown[]): Promise<unknown>
  /** how many tasks the action runs after all (progress) */
  steps(total: number): void
  /** progress of the current step measured by the action itself (bytes of a transfer), 0..1, with the XAPI task it runs under */
  progress(p: number, taskRef: string): void
}

export interface ActionOutcome {
  /** the object the action created */
  created?: string
  /** what the user should know although it worked */
  note?: string
}

export interface ActionSpec {
  /** the action's id in operation.progress (default: a new one); a transfer passes its own */
  id?: string
  connectionId: string
  /** the object the action is recorded under (history, Activity panel) */
  cls: string
  ref: string
  /** its name for the history, when the record has no name_label (a VIF, a PIF) */
  objectName?: string
  /** history action and Activity title: 'Add NIC', 'Create bond' */
  title: string
  params: Record<string, unknown>
  /** the rule that must hold first (shared/operations/*) */
  check?: () => true | string
  /** tasks the action runs, for progress */
  steps: number
  work: (ctx: ActionContext) => Promise<ActionOutcome | undefined>
}

export type ActionResult = OperationResult & { note?: string }

interface XapiFailure {
  code: string
  params: string[]
}

export function asXapiFailure(e: unknown): XapiFailure {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') {
    return { code: e.code, params: 'params' in e && Array.isArray(e.params) ? e.params.map(String) : [] }
  }
  return { code: 'CLIENT_ERROR', params: [e instanceof Error ? e.message : String(e)] }
}

export class ActionRunner {
  constructor(
    private readonly pools: PoolManagerApi,
    private readonly history: HistorySink,
    private readonly user: (connectionId: string) => string,
    private readonly onProgress?: ActionProgressListener,
    /** names a ref for an error sentence ("VM 'web-01'") */
    private readonly nameOf: (connectionId: string, ref: string) => string | undefined = () => undefined,
  ) {}

  async run(spec: ActionSpec): Promise<ActionResult> {
    const ok = spec.check?.() ?? true
    if (ok !== true) throw new ActionRefusal(ok)
    const started = Date.now()
    const objectName = spec.objectName ?? this.label(spec.connectionId, spec.ref)
    const action = { id: spec.id ?? randomUUID(), title: spec.title }
    let total = Math.max(1, spec.steps)
    let done = 0
    const report = (p: number, taskRef: string): void =>
      this.onProgress?.({ connectionId: spec.connectionId, ref: spec.ref, op: spec.title, progress: Math.min(1, (done + p) / total), taskRef, cls: spec.cls, action })
    const ctx: ActionContext = {
      connectionId: spec.connectionId,
      task: async (method, params) => {
        const r = await this.pools.callAsync(spec.connectionId, method, params, report)
        done++
        return r
      },
      call: (method, params) => this.pools.call(spec.connectionId, method, params),
      steps: (n) => {
        total = Math.max(1, n)
      },
      progress: report,
    }
    let result: ActionResult
    try {
      const out = await spec.work(ctx)
      result = { connectionId: spec.connectionId, ref: spec.ref, ok: true, ...(out?.created ? { created: out.created } : {}), ...(out?.note ? { note: out.note } : {}) }
    } catch (e) {
      if (e instanceof ActionRefusal) throw e
      const f = asXapiFailure(e)
      const explained = explainXapiError(f.code, f.params, (r) => this.nameOf(spec.connectionId, r))
      // what a multi-step action did about the failure ("Nothing was left behind …")
      const after = typeof e === 'object' && e !== null && 'after' in e && typeof e.after === 'string' ? ` ${e.after}` : ''
      result = { connectionId: spec.connectionId, ref: spec.ref, ok: false, error: { code: f.code, params: f.params, message: explained.sentence + after, ...(explained.action ? { action: explained.action } : {}) } }
    }
    this.history.append({
      at: new Date(started).toISOString(),
      connectionId: spec.connectionId,
      cls: spec.cls,
      ref: spec.ref,
      objectName,
      action: spec.title,
      params: spec.params,
      ok: result.ok,
      ...(result.error ? { errorCode: result.error.code, errorMessage: result.error.message } : {}),
      durationMs: Date.now() - started,
      user: this.user(spec.connectionId),
    })
    return result
  }

  /** "web-01" for a named record: the history names objects as people do */
  private label(connectionId: string, ref: string): string {
    const named = this.nameOf(connectionId, ref)
    const m = named ? /^[^']*'(.*)'$/.exec(named) : null
    return m?.[1] ?? named ?? ref
  }
}
