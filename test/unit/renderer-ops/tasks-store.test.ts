import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { nextTick } from 'vue'
import type { HistoryEntry } from '../../../shared/contract/operations'
import { useObjectsStore } from '../../../renderer/src/stores/objects'
import { useTasksStore } from '../../../renderer/src/stores/tasks'
import { useUiStore } from '../../../renderer/src/stores/ui'

type Handler = (payload: never) => void

function fakeApi() {
  const handlers = new Map<string, Handler[]>()
  return {
    api: {
      call: (async () => []) as never,
      on: ((event: string, cb: Handler) => {
        handlers.set(event, [...(handlers.get(event) ?? []), cb])
        return () => undefined
      }) as never,
    },
    emit(event: string, payload: unknown): void {
      for (const h of handlers.get(event) ?? []) h(payload as never)
    },
  }
}

const entry = (over: Partial<HistoryEntry>): HistoryEntry => ({
  id: 1,
  at: new Date().toISOString(),
  connectionId: 'c1',
  cls: 'VM',
  ref: 'OpaqueRef:vm',
  objectName: 'db-01',
  action: 'Migrate to Server…',
  params: {},
  ok: true,
  durationMs: 12_000,
  user: 'root',
  ...over,
})

describe('tasks store: a long task that ends while the window is hidden tells the user', () => {
  const realDocument = (globalThis as { document?: unknown }).document
  let hidden = true
  beforeEach(() => {
    setActivePinia(createPinia())
    ;(globalThis as { document?: unknown }).document = {
      get hidden() {
        return hidden
      },
    }
  })
  afterEach(() => {
    ;(globalThis as { document?: unknown }).document = realDocument
  })

  async function runTask(startedSecondsAgo: number) {
    const objects = useObjectsStore()
    const tasks = useTasksStore()
    const ui = useUiStore()
    const { api, emit } = fakeApi()
    tasks.attach(api)
    const created = new Date(Date.now() - startedSecondsAgo * 1000).toISOString()
    objects.apply({ connectionId: 'c1', seq: 0, reset: true, removes: [], upserts: [{ cls: 'VM', ref: 'OpaqueRef:vm', record: { name_label: 'db-01' } }] })
    objects.apply({
      connectionId: 'c1',
      seq: 1,
      reset: false,
      removes: [],
      upserts: [{ cls: 'task', ref: 'OpaqueRef:t', record: { name_label: 'Async.VM.pool_migrate', status: 'pending', progress: 0.5, created, allowed_operations: ['cancel'] } }],
    })
    await nextTick()
    emit('operation.progress', { connectionId: 'c1', ref: 'OpaqueRef:vm', op: 'pool_migrate', progress: 0.6, taskRef: 'OpaqueRef:t' })
    expect(tasks.running).toBe(1)
    expect(tasks.rows[0]).toMatchObject({ title: 'Migrate to Server', target: { name: 'db-01' }, canCancel: true })
    // XenPilot destroys its task as it ends; the history event carries the outcome
    objects.apply({ connectionId: 'c1', seq: 2, reset: false, upserts: [], removes: [{ cls: 'task', ref: 'OpaqueRef:t' }] })
    await nextTick()
    emit('history.appended', entry({}))
    return { tasks, ui }
  }

  it('notifies (in-app when the Notification API is not permitted) after a task of more than 5 s', async () => {
    const { tasks, ui } = await runTask(12)
    expect(tasks.rows[0]?.status).toBe('success')
    expect(tasks.running).toBe(0)
    expect(ui.toasts.map((t) => t.message)).toEqual(['Migrate to Server — db-01: Completed'])
  })

  it('stays quiet for a short task, or when the window is visible', async () => {
    const short = await runTask(2)
    expect(short.ui.toasts).toEqual([])
    setActivePinia(createPinia())
    hidden = false
    const visible = await runTask(30)
    expect(visible.ui.toasts).toEqual([])
    hidden = true
  })
})
