/**
 * The task list: every XAPI task record of every pool (so tasks other clients started appear too),
 * remembered after XAPI forgets them. XenPilot destroys its own tasks as soon as they finish, and a
 * batch may carry the removal without the final status, so the outcome of our own operations comes
 * from the action history (`history.appended`) and the target object from `operation.progress`.
 * Plain TypeScript: the Pinia store wraps it, tests drive it directly.
 */
import { VM_OPERATIONS } from '../../../shared/operations/vm'
import { explainXapiError, type RefNamer } from '../../../shared/xapi/error-text'

export type TaskStatus = 'pending' | 'cancelling' | 'success' | 'failure' | 'cancelled' | 'finished'

export interface TaskRow {
  /** `${connectionId}|${taskRef}` */
  key: string
  connectionId: string
  taskRef: string
  /** XAPI name_label, e.g. 'Async.VM.start' */
  method: string
  /** what a person reads: 'Start', 'Migrate to Server' */
  title: string
  status: TaskStatus
  progress: number
  /** epoch ms */
  created: number
  finished?: number
  target?: TaskTarget
  canCancel: boolean
  /** the result sentence or error explanation */
  error?: { code: string; params: string[]; sentence: string; action?: string }
  /** started by this XenPilot (we saw its progress) */
  mine: boolean
  /** XAPI gave a progress for it (a task of another client that vanished before we saw it end has none worth showing) */
  progressKnown: boolean
  /** the server it runs on (task.resident_on), named: what is known of a task of another client, which XAPI does not tie to an object */
  runsOn?: string
  /** a VM of a migration waiting in XenPilot's own queue (no XAPI task yet): cancelled with migrate.cancel */
  queued?: { actionId: string; note?: string }
}

type Rec = Record<string, unknown>

/** the object a task of ours works on, and the user action it is a step of ('Add NIC') */
export interface TaskTarget {
  cls: string
  ref: string
  name: string
  action?: { id: string; title: string }
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : [])

const METHOD_LABEL = new Map<string, string>()
for (const spec of Object.values(VM_OPERATIONS)) METHOD_LABEL.set(`VM.${spec.method}`, spec.label.replace(/…$/, ''))
const EXTRA_LABEL: Record<string, string> = {
  'VM.destroy': 'Delete VM',
  'VDI.destroy': 'Delete disk',
  'host.evacuate': 'Evacuate server',
  'host.reboot': 'Reboot server',
  'host.shutdown': 'Shut down server',
  'message.destroy': 'Dismiss alert',
  'VIF.create': 'Add NIC',
  'VIF.destroy': 'Remove NIC',
  'VIF.plug': 'Connect NIC',
  'VIF.unplug': 'Disconnect NIC',
  'VIF.move': 'Move NIC',
  'PIF.scan': 'Rescan NICs',
  'Bond.create': 'Create bond',
  'Bond.destroy': 'Delete bond',
  'Bond.set_mode': 'Change bond mode',
  'pool.create_VLAN_from_PIF': 'Create VLAN',
  'VLAN.destroy': 'Delete VLAN',
  'network.create': 'New network',
  'network.destroy': 'Remove network',
}

/** 'Async.VM.clean_shutdown' → 'Shut Down'; unknown methods keep a readable form of their name */
export function taskTitle(nameLabel: string): string {
  const m = nameLabel.replace(/^Async\./, '')
  return METHOD_LABEL.get(m) ?? EXTRA_LABEL[m] ?? (m ? m.replace(/[._]/g, ' ') : 'Task')
}

function parseTime(v: unknown): number {
  const s = str(v)
  if (!s) return NaN
  const t = Date.parse(s)
  if (!Number.isNaN(t)) return t
  // XAPI wire form 20240101T10:00:00Z
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(s)
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : NaN
}

const STATUSES = new Set(['pending', 'cancelling', 'success', 'failure', 'cancelled'])
const ended = (s: TaskStatus): boolean => s !== 'pending' && s !== 'cancelling'

export interface FinishedTask {
  row: TaskRow
  durationMs: number
}

export interface PoolTasks {
  connectionId: string
  tasks: ReadonlyMap<string, Rec>
}

export class TaskTracker {
  private readonly rows = new Map<string, TaskRow>()
  /** target object of a task, learned from operation.progress before or after its record arrives */
  private readonly targets = new Map<string, TaskTarget>()
  /** a step of an action shows the action's progress, not its own task's */
  private readonly actionProgress = new Map<string, number>()
  constructor(
    private readonly now: () => number = Date.now,
    /** how many finished rows to keep */
    private readonly keepFinished = 200,
  ) {}

  /**
   * Takes the current task tables; returns the rows that ended in this pass (for notifications).
   * A task that vanished while still pending is marked 'finished' until the history says more.
   */
  observe(pools: readonly PoolTasks[], nameOf?: (connectionId: string) => RefNamer): FinishedTask[] {
    const out: FinishedTask[] = []
    const seen = new Set<string>()
    for (const p of pools) {
      for (const [ref, rec] of p.tasks) {
        const key = `${p.connectionId}|${ref}`
        seen.add(key)
        const prev = this.rows.get(key)
        const status = (STATUSES.has(str(rec.status)) ? str(rec.status) : 'pending') as TaskStatus
        const created = parseTime(rec.created)
        const finishedAt = parseTime(rec.finished)
        const errorInfo = strs(rec.error_info)
        const row: TaskRow = {
          key,
          connectionId: p.connectionId,
          taskRef: ref,
          method: str(rec.name_label),
          title: (this.targets.get(key) ?? prev?.target)?.action?.title ?? taskTitle(str(rec.name_label)),
          status,
          progress: this.actionProgress.get(key) ?? (typeof rec.progress === 'number' ? Math.max(0, Math.min(1, rec.progress)) : (prev?.progress ?? 0)),
          created: Number.isFinite(created) ? created : (prev?.created ?? this.now()),
          canCancel: !ended(status) && strs(rec.allowed_operations).includes('cancel'),
          mine: prev?.mine ?? this.targets.has(key),
          progressKnown: this.actionProgress.has(key) || typeof rec.progress === 'number' || (prev?.progressKnown ?? false),
          ...(this.targets.get(key) ? { target: this.targets.get(key) } : prev?.target ? { target: prev.target } : {}),
        }
        const host = str(rec.resident_on)
        const hostName = host && host !== 'OpaqueRef:NULL' ? nameOf?.(p.connectionId)(host) : undefined
        if (hostName) row.runsOn = hostName
        else if (prev?.runsOn) row.runsOn = prev.runsOn
        if (ended(status)) {
          row.finished = Number.isFinite(finishedAt) && finishedAt > 0 ? finishedAt : (prev?.finished ?? this.now())
          if (status === 'success') row.progress = 1
          if (errorInfo.length > 0) {
            const [code = 'UNKNOWN', ...params] = errorInfo
            const x = explainXapiError(code, params, nameOf?.(p.connectionId))
            row.error = { code, params, sentence: x.sentence, ...(x.action ? { action: x.action } : {}) }
          }
          if (!prev || !ended(prev.status)) out.push({ row, durationMs: row.finished - row.created })
        }
        this.rows.set(key, row)
      }
    }
    for (const row of this.rows.values()) {
      if (seen.has(row.key) || ended(row.status) || row.queued) continue
      // gone from XAPI (destroyed by its owner) before we saw it end, or its pool was dropped
      row.status = 'finished'
      row.finished = this.now()
      row.canCancel = false
      // the last progress seen is not how it ended: unknown until (for ours) the history says
      if (!row.mine) row.progressKnown = false
      out.push({ row, durationMs: row.finished - row.created })
    }
    this.trim()
    return out
  }

  /** operation.progress: which object a task of ours works on (and of which action it is a step: then its title and progress are the action's) */
  noteProgress(p: { connectionId: string; ref: string; op: string; progress: number; taskRef?: string; action?: { id: string; title: string } }, cls: string, name: string): void {
    if (!p.taskRef) return
    const key = `${p.connectionId}|${p.taskRef}`
    const target: TaskTarget = { cls, ref: p.ref, name, ...(p.action ? { action: p.action } : {}) }
    this.targets.set(key, target)
    if (p.action) this.actionProgress.set(key, Math.max(this.actionProgress.get(key) ?? 0, Math.max(0, Math.min(1, p.progress))))
    const row = this.rows.get(key)
    if (row) {
      row.target = target
      row.mine = true
      if (p.action) row.title = p.action.title
      if (!ended(row.status)) row.progress = Math.max(row.progress, p.progress)
    }
    if (this.targets.size > 2000) {
      const first = this.targets.keys().next().value
      if (first !== undefined) {
        this.targets.delete(first)
        this.actionProgress.delete(first)
      }
    }
  }

  /**
   * migrate.state: each VM of a migration has a row from the moment it is queued (XAPI has no task
   * for it yet); once its tasks run, their row (same action id, newer) is the one shown.
   */
  noteMigration(e: { actionId: string; connectionId: string; ref: string; state: string; detail?: string }, name: string, title: string): void {
    const key = `${e.connectionId}|queue:${e.actionId}`
    let row = this.rows.get(key)
    if (!row) {
      row = {
        key,
        connectionId: e.connectionId,
        taskRef: '',
        method: 'VM.migrate_send',
        title,
        status: 'pending',
        progress: 0,
        created: this.now(),
        canCancel: true,
        mine: true,
        progressKnown: true,
        target: { cls: 'VM', ref: e.ref, name, action: { id: e.actionId, title } },
        queued: { actionId: e.actionId },
      }
      this.rows.set(key, row)
    }
    if (ended(row.status)) return
    const waiting = e.state === 'queued' || e.state === 'retrying'
    row.queued = { actionId: e.actionId, ...(waiting ? { note: e.detail ?? 'Waiting in the queue for a free migration slot' } : {}) }
    row.canCancel = waiting
    if (e.state === 'done' || e.state === 'failed' || e.state === 'cancelled') {
      row.status = e.state === 'done' ? 'success' : e.state === 'failed' ? 'failure' : 'cancelled'
      if (e.state === 'done') row.progress = 1
      if (e.state === 'failed') row.error = { code: '', params: [], sentence: e.detail ?? 'The migration failed.' }
      row.finished = this.now()
      row.canCancel = false
      this.trim()
    }
  }

  /**
   * history.appended: the outcome of one of our operations on an object. It completes the newest
   * task of ours on that object whose final status we did not see.
   */
  noteOutcome(e: { connectionId: string; ref: string; ok: boolean; errorCode?: string; errorMessage?: string }): TaskRow | undefined {
    let best: TaskRow | undefined
    for (const row of this.rows.values()) {
      if (row.connectionId !== e.connectionId || row.target?.ref !== e.ref) continue
      if (row.status !== 'finished' && row.status !== 'pending' && row.status !== 'cancelling') continue
      if (!best || row.created > best.created) best = row
    }
    if (!best) return undefined
    if (e.ok) {
      best.status = 'success'
      best.progress = 1
    } else {
      best.status = e.errorCode === 'TASK_CANCELLED' ? 'cancelled' : 'failure'
      best.error = { code: e.errorCode ?? 'UNKNOWN', params: [], sentence: e.errorMessage ?? 'The operation failed.' }
    }
    best.finished ??= this.now()
    best.canCancel = false
    return best
  }

  /** newest first; running ones before finished ones; the tasks of one action are one row (its newest task) */
  list(): TaskRow[] {
    const sorted = [...this.rows.values()].sort((a, b) => {
      const ra = ended(a.status) ? 1 : 0
      const rb = ended(b.status) ? 1 : 0
      return ra - rb || b.created - a.created
    })
    const actions = new Set<string>()
    return sorted.filter((r) => {
      const id = r.target?.action?.id
      if (!id) return true
      const k = `${r.connectionId}|${id}`
      if (actions.has(k)) return false
      actions.add(k)
      return true
    })
  }

  clearFinished(): void {
    for (const [k, r] of this.rows) if (ended(r.status)) this.rows.delete(k)
  }

  private trim(): void {
    const finished = [...this.rows.values()].filter((r) => ended(r.status)).sort((a, b) => (a.finished ?? 0) - (b.finished ?? 0))
    for (let i = 0; i < finished.length - this.keepFinished; i++) {
      const r = finished[i]
      if (r) this.rows.delete(r.key)
    }
  }
}

export const isRunning = (r: TaskRow): boolean => r.status === 'pending' || r.status === 'cancelling'

/** '4 s', '2 min 05 s', '1 h 03 min' */
export function elapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`
}
