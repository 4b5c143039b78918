/**
 * Runs VM and host commands on one or many objects across pools. Each object gets its own XAPI
 * task (Async.*), so a bulk action shows per-object progress and partial failures; nothing stops
 * because one VM failed. Every run is written to the action history (persisted by main/cache).
 *
 * XAPI stays the authority on what is allowed: arguments are validated by the contract, then XAPI
 * decides, and its refusal comes back as a sentence (shared/xapi/error-text.ts) with code and params.
 */
import type { HistoryEntry, OperationResult } from '../../shared/contract/operations'
import { HOST_OPERATIONS, VM_OPERATIONS, type HostOperationId, type VmOperationId } from '../../shared/operations/vm'
import { planVmDisks, type VbdFacts } from '../../shared/operations/vm-delete'
import { explainXapiError } from '../../shared/xapi/error-text'
import type { PoolManagerApi } from '../pools/api'

export interface HistorySink {
  append(entry: Omit<HistoryEntry, 'id'>): HistoryEntry | undefined
}

export interface Target {
  connectionId: string
  ref: string
}

export interface VmRunOptions {
  host?: string
  name?: string
  sr?: string
  withDisks?: boolean
}

export type ProgressListener = (p: { connectionId: string; ref: string; op: string; progress: number; taskRef?: string }) => void

interface Failure {
  code: string
  params: string[]
}

function asFailure(e: unknown): Failure {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') {
    const params = 'params' in e && Array.isArray(e.params) ? e.params.map(String) : []
    return { code: e.code, params }
  }
  return { code: 'CLIENT_ERROR', params: [e instanceof Error ? e.message : String(e)] }
}

/** XAPI params of each VM operation, in datamodel order (defaulted trailing params omitted). */
function vmParams(op: VmOperationId, ref: string, o: VmRunOptions): unknown[] {
  const need = (v: string | undefined, what: string): string => {
    if (!v) throw Object.assign(new Error(`${what} is required for ${VM_OPERATIONS[op].label}`), { code: 'CLIENT_ERROR', params: [`${what} is required`] })
    return v
  }
  switch (op) {
    case 'start':
    case 'resume':
      return [ref, false, false]
    case 'start_on':
    case 'resume_on':
      return [ref, need(o.host, 'A target server'), false, false]
    case 'snapshot':
    case 'checkpoint':
    case 'clone':
      return [ref, need(o.name, 'A name')]
    case 'copy':
      return [ref, need(o.name, 'A name'), o.sr ?? 'OpaqueRef:NULL']
    case 'pool_migrate':
      return [ref, need(o.host, 'A target server'), { live: 'true' }]
    default:
      return [ref]
  }
}

export class OperationRunner {
  constructor(
    private readonly pools: PoolManagerApi,
    private readonly history: HistorySink,
    private readonly user: (connectionId: string) => string = () => 'local user',
  ) {}

  async runVm(targets: Target[], op: VmOperationId, opts: VmRunOptions, onProgress?: ProgressListener): Promise<OperationResult[]> {
    const spec = VM_OPERATIONS[op]
    return Promise.all(
      targets.map((t) =>
        this.track(t, 'VM', spec.label, { ...opts }, async () => {
          if (op === 'destroy') {
            return this.destroyVm(t, opts.withDisks === true, (progress, taskRef) => onProgress?.({ connectionId: t.connectionId, ref: t.ref, op, progress, taskRef }))
          }
          const result = await this.pools.callAsync(t.connectionId, `VM.${spec.method}`, vmParams(op, t.ref, opts), (progress, taskRef) =>
            onProgress?.({ connectionId: t.connectionId, ref: t.ref, op, progress, taskRef }),
          )
          return typeof result === 'string' && result.startsWith('OpaqueRef:') ? result : undefined
        }),
      ),
    )
  }

  async runHost(targets: Target[], op: HostOperationId, onProgress?: ProgressListener): Promise<OperationResult[]> {
    const spec = HOST_OPERATIONS[op]
    return Promise.all(
      targets.map((t) =>
        this.track(t, 'host', spec.label, {}, async () => {
          const steps = spec.steps
          for (const [i, step] of steps.entries()) {
            const asyncStep = step === 'evacuate' || step === 'reboot' || step === 'shutdown'
            if (asyncStep) {
              await this.pools.callAsync(t.connectionId, `host.${step}`, [t.ref], (p, taskRef) =>
                onProgress?.({ connectionId: t.connectionId, ref: t.ref, op, progress: (i + p) / steps.length, taskRef }),
              )
            } else {
              await this.pools.call(t.connectionId, `host.${step}`, [t.ref])
            }
            // XenCenter marks maintenance mode in other_config so every client shows it the same way.
            if (op === 'enter_maintenance' && step === 'disable') {
              await this.pools.call(t.connectionId, 'host.remove_from_other_config', [t.ref, 'MAINTENANCE_MODE'])
              await this.pools.call(t.connectionId, 'host.add_to_other_config', [t.ref, 'MAINTENANCE_MODE', 'true'])
            }
            if (op === 'exit_maintenance') await this.pools.call(t.connectionId, 'host.remove_from_other_config', [t.ref, 'MAINTENANCE_MODE'])
          }
          return undefined
        }),
      ),
    )
  }

  /**
   * VM.destroy, then (if asked) the VM's own disks, chosen by the one rule (shared/operations/vm-delete.ts):
   * the VM's drives as main's graph holds them (PoolManagerApi.graph: what the confirmation showed),
   * and who else uses each disk asked of XAPI just before deleting (VDI.get_VBDs: the destructive
   * decision rests on a live answer, not on a graph that may lag a batch): a disk another VM or
   * snapshot uses is kept.
   */
  private async destroyVm(t: Target, withDisks: boolean, onProgress: (progress: number, taskRef: string) => void): Promise<undefined> {
    let vdis: string[] = []
    const graph = withDisks ? this.pools.graph(t.connectionId) : undefined
    if (graph) {
      const vbds: VbdFacts[] = []
      const users = new Map<string, string[]>()
      for (const ref of graph.linked('VM', t.ref, 'VBDs', 'VBD')) {
        const rec = graph.get('VBD', ref)
        const vbd: VbdFacts = { ref, type: typeof rec?.type === 'string' ? rec.type : '', VDI: typeof rec?.VDI === 'string' ? rec.VDI : '' }
        vbds.push(vbd)
        if (vbd.type === 'Disk' && vbd.VDI !== '' && vbd.VDI !== 'OpaqueRef:NULL' && !users.has(vbd.VDI)) {
          users.set(vbd.VDI, (await this.pools.call(t.connectionId, 'VDI.get_VBDs', [vbd.VDI])) as string[])
        }
      }
      vdis = planVmDisks(vbds, (vdi) => users.get(vdi)).toDelete
    }
    // progress names the VM's task for the task panel, disks included
    const steps = 1 + vdis.length
    await this.pools.callAsync(t.connectionId, 'VM.destroy', [t.ref], (p, task) => onProgress(p / steps, task))
    for (const [i, vdi] of vdis.entries()) await this.pools.callAsync(t.connectionId, 'VDI.destroy', [vdi], (p, task) => onProgress((1 + i + p) / steps, task))
    return undefined
  }

  private async track(
    t: Target,
    cls: string,
    action: string,
    params: Record<string, unknown>,
    work: () => Promise<string | undefined>,
  ): Promise<OperationResult> {
    const started = Date.now()
    const objectName = await this.nameOf(t, cls)
    let result: OperationResult
    try {
      const created = await work()
      result = { connectionId: t.connectionId, ref: t.ref, ok: true, ...(created ? { created } : {}) }
    } catch (e) {
      const f = asFailure(e)
      const explained = explainXapiError(f.code, f.params, (r) => (r === t.ref ? `${cls === 'VM' ? 'VM' : 'Server'} '${objectName}'` : undefined))
      result = {
        connectionId: t.connectionId,
        ref: t.ref,
        ok: false,
        error: { code: f.code, params: f.params, message: explained.sentence, ...(explained.action ? { action: explained.action } : {}) },
      }
    }
    this.history.append({
      at: new Date(started).toISOString(),
      connectionId: t.connectionId,
      cls,
      ref: t.ref,
      objectName,
      action,
      params,
      ok: result.ok,
      ...(result.error ? { errorCode: result.error.code, errorMessage: result.error.message } : {}),
      durationMs: Date.now() - started,
      user: this.user(t.connectionId),
    })
    return result
  }

  private async nameOf(t: Target, cls: string): Promise<string> {
    try {
      const n = await this.pools.call(t.connectionId, `${cls}.get_name_label`, [t.ref])
      return typeof n === 'string' && n ? n : t.ref
    } catch {
      return t.ref
    }
  }
}
