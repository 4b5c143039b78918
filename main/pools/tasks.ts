/**
 * Async.* calls followed through the event stream: progress from task `mod` events, the result
 * decoded from the task's XML-RPC fragment (even over JSON-RPC), failures as XapiError from
 * error_info, task.destroy once finished. A slow poll of task.get_record backs the event stream up
 * (a task whose events were lost in a resync still finishes).
 */
import type { ObjectRecord } from '../../shared/model/diff'
import { XapiError, type RefDescriber } from '../xapi/errors'
import { decodeTaskResult } from '../xapi/client'

interface Waiter {
  method: string
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  onProgress: ((progress: number, taskRef: string) => void) | undefined
  lastProgress: number
  poll: NodeJS.Timeout | undefined
}

export interface TaskCaller {
  call(method: string, params: readonly unknown[]): Promise<unknown>
}

export class TaskTracker {
  private readonly waiters = new Map<string, Waiter>()

  constructor(
    private readonly caller: () => TaskCaller | undefined,
    private readonly lookup: (ref: string) => ObjectRecord | undefined,
    private readonly describeRef?: RefDescriber,
    private readonly pollMs = 10_000,
  ) {}

  get pending(): number {
    return this.waiters.size
  }

  watch(taskRef: string, method: string, onProgress?: (progress: number, taskRef: string) => void): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const w: Waiter = { method, resolve, reject, onProgress, lastProgress: -1, poll: undefined }
      this.waiters.set(taskRef, w)
      const poll = (): void => {
        w.poll = setTimeout(() => {
          const c = this.caller()
          if (!c || !this.waiters.has(taskRef)) return
          c.call('task.get_record', [taskRef]).then(
            (rec) => {
              if (typeof rec === 'object' && rec !== null) this.onTask(taskRef, rec as ObjectRecord)
              if (this.waiters.has(taskRef)) poll()
            },
            (e: unknown) => {
              if (e instanceof XapiError && e.code === 'HANDLE_INVALID') this.finish(taskRef, undefined, e)
              else if (this.waiters.has(taskRef)) poll()
            },
          )
        }, this.pollMs)
        w.poll.unref?.()
      }
      poll()
      const current = this.lookup(taskRef)
      if (current) this.onTask(taskRef, current)
    })
  }

  /** feed every task change (from the event loop) */
  onTask(ref: string, record: ObjectRecord | undefined): void {
    const w = this.waiters.get(ref)
    if (!w) return
    if (!record) return // destroyed by someone else: the poll reports HANDLE_INVALID
    const progress = typeof record.progress === 'number' ? record.progress : undefined
    if (progress !== undefined && progress !== w.lastProgress) {
      w.lastProgress = progress
      try {
        w.onProgress?.(progress, ref)
      } catch {
        // a caller's progress callback must not break task tracking
      }
    }
    const status = record.status
    if (status === 'success') {
      let value: unknown
      try {
        value = decodeTaskResult(w.method, typeof record.result === 'string' ? record.result : '')
      } catch (e) {
        return this.finish(ref, undefined, new Error(`the result of ${w.method} could not be decoded: ${(e as Error).message}`))
      }
      this.finish(ref, value, undefined)
    } else if (status === 'failure' || status === 'cancelled') {
      const info = Array.isArray(record.error_info) && record.error_info.length ? record.error_info : [status === 'cancelled' ? 'TASK_CANCELLED' : 'INTERNAL_ERROR', ref]
      this.finish(ref, undefined, XapiError.fromDescription(info, { method: w.method, ...(this.describeRef ? { describeRef: this.describeRef } : {}) }))
    }
  }

  private finish(ref: string, value: unknown, error: Error | undefined): void {
    const w = this.waiters.get(ref)
    if (!w) return
    this.waiters.delete(ref)
    if (w.poll) clearTimeout(w.poll)
    const c = this.caller()
    if (c && !(error instanceof XapiError && error.code === 'HANDLE_INVALID')) {
      c.call('task.destroy', [ref]).catch(() => undefined)
    }
    if (error) w.reject(error)
    else w.resolve(value)
  }

  /** the connection went away for good: every waiter fails with that reason */
  failAll(reason: Error): void {
    for (const [ref, w] of this.waiters) {
      if (w.poll) clearTimeout(w.poll)
      this.waiters.delete(ref)
      w.reject(reason)
    }
  }
}
