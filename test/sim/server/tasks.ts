/**
 * Task objects as taskHelper.ml makes them: name_label = the wire name, pending → success |
 * failure | cancelled, progress 0..1, result = XML-RPC fragment of the return value (also over
 * JSON-RPC), error_info = [CODE, …], allowed_operations [cancel] while cancellable.
 */
import { SimXapiError, type SimValue } from '../model'
import type { Db } from './db'
import { newRef } from './db'
import { NULL_DATE, NULL_REF, type XType } from './schema'
import { xapiDate } from './time'
import type { XmlEncoder } from './xmlrpc'

export class TaskHandle {
  private cancelRequested = false
  private cancellable = false

  constructor(
    readonly db: Db,
    readonly ref: string,
    /** a task the API client asked for (Async.*), as opposed to the one a sync call runs under */
    readonly visible: boolean,
  ) {}

  get exists(): boolean {
    return this.db.get('task', this.ref) !== undefined
  }

  progress(p: number): void {
    if (this.exists) this.db.update('task', this.ref, { progress: Math.max(0, Math.min(1, p)) })
  }

  setCancellable(on: boolean): void {
    this.cancellable = on
    if (this.exists) this.db.update('task', this.ref, { allowed_operations: on ? ['cancel'] : [] })
  }

  get isCancellable(): boolean {
    return this.cancellable
  }

  requestCancel(): void {
    this.cancelRequested = true
  }

  /** throws TASK_CANCELLED once task.cancel was called */
  checkCancelled(): void {
    if (this.cancelRequested) throw new SimXapiError(['TASK_CANCELLED', this.ref])
  }
}

export class Tasks {
  readonly running = new Map<string, TaskHandle>()

  constructor(
    private readonly db: Db,
    private readonly xml: XmlEncoder,
  ) {}

  create(label: string, hostRef: string, sessionRef: string, visible: boolean, description = ''): TaskHandle {
    const ref = newRef()
    this.db.insert(
      'task',
      ref,
      this.db.blank('task', {
        name_label: label,
        name_description: description,
        allowed_operations: [],
        current_operations: {},
        created: xapiDate(),
        finished: NULL_DATE,
        status: 'pending',
        resident_on: hostRef,
        progress: 0,
        type: '<none/>',
        result: '',
        error_info: [],
        other_config: {},
        subtask_of: NULL_REF,
        subtasks: [],
        backtrace: '()',
      }),
    )
    // the hidden task of a sync call lives only as long as the call: not worth a session entry
    const sess = visible ? this.db.get('session', sessionRef) : undefined
    if (sess) this.db.update('session', sessionRef, { tasks: [...asArray(sess['tasks']), ref] })
    const h = new TaskHandle(this.db, ref, visible)
    this.running.set(ref, h)
    return h
  }

  succeed(h: TaskHandle, resultType: XType, value: SimValue): void {
    this.running.delete(h.ref)
    if (!h.exists) return
    this.db.update('task', h.ref, {
      status: 'success',
      progress: 1,
      finished: xapiDate(),
      allowed_operations: [],
      current_operations: {},
      result: resultType.k === 'void' ? '<value></value>' : this.xml.fragment(resultType, value),
    })
  }

  fail(h: TaskHandle, description: string[]): void {
    this.running.delete(h.ref)
    if (!h.exists) return
    this.db.update('task', h.ref, {
      status: description[0] === 'TASK_CANCELLED' ? 'cancelled' : 'failure',
      finished: xapiDate(),
      allowed_operations: [],
      current_operations: {},
      error_info: description,
    })
  }

  /** the hidden task of a sync call disappears when the call returns */
  discard(h: TaskHandle): void {
    this.running.delete(h.ref)
    this.db.remove('task', h.ref)
  }

  cancel(taskRef: string, callerTask: string): void {
    const rec = this.db.must('task', taskRef)
    const h = this.running.get(taskRef)
    if (rec['status'] !== 'pending' || !h || !h.isCancellable) {
      throw new SimXapiError(['OPERATION_NOT_ALLOWED', `task ${taskRef} is not cancellable`])
    }
    this.db.update('task', taskRef, { current_operations: { [callerTask]: 'cancel' }, status: 'cancelling' })
    h.requestCancel()
  }

  /** toolstack restart: every task ref becomes invalid */
  dropAll(): void {
    this.running.clear()
    for (const ref of [...this.db.table('task').keys()]) this.db.remove('task', ref)
  }
}

function asArray(v: SimValue | undefined): SimValue[] {
  return Array.isArray(v) ? v : []
}
