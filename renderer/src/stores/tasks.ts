import { defineStore } from 'pinia'
import { computed, markRaw, onScopeDispose, ref, shallowRef, watch } from 'vue'
import type { RendererApi } from '../api'
import { isRunning, TaskTracker, type FinishedTask, type PoolTasks, type TaskRow } from '../model/tasks'
import { useConnectionsStore } from './connections'
import { useHistoryStore } from './history'
import { useObjectsStore } from './objects'
import { useGraph } from './select'
import { useUiStore } from './ui'

export type ActivityTab = 'tasks' | 'transfers' | 'history' | 'alerts'

/** the part of the Notification API this store uses */
interface PageNotification {
  readonly permission: string
  new (title: string, options: { body: string }): unknown
}

/** a task that ran longer than this and ended while the window was hidden raises a notification */
export const NOTIFY_AFTER_MS = 5000

/**
 * Tasks of every pool for the task panel, plus the bottom panel's state (open, which tab).
 * Rows come from the objects store's 'task' tables, completed by our own progress and history events.
 */
export const useTasksStore = defineStore('tasks', () => {
  const objects = useObjectsStore()
  const ui = useUiStore()
  const tracker = markRaw(new TaskTracker())
  const rows = shallowRef<TaskRow[]>([])
  const now = ref(Date.now())
  const panelOpen = ref(true)
  const tab = ref<ActivityTab>('tasks')
  const running = computed(() => rows.value.filter(isRunning).length)
  /** ticks `now` every second while a task runs (elapsed times) */
  let timer: ReturnType<typeof setInterval> | null = null

  const nameOf = (connectionId: string) => (ref: string) => {
    const p = objects.graph.pool(connectionId)
    const cls = p?.classOf.get(ref)
    const rec = cls ? p?.tables.get(cls)?.get(ref) : undefined
    const name = typeof rec?.name_label === 'string' ? rec.name_label : undefined
    return name ? `${cls === 'host' ? 'Server' : (cls ?? 'object')} '${name}'` : undefined
  }

  function refresh(): void {
    rows.value = tracker.list()
    syncClock()
  }

  function announce(done: readonly FinishedTask[]): void {
    for (const f of done) {
      if (f.row.status === 'finished') continue // our own: the history event tells the outcome
      maybeNotify(f.row, f.durationMs)
    }
  }

  function maybeNotify(row: TaskRow, durationMs: number): void {
    // read through globalThis: this store also runs in Node (unit specs) where there is no DOM
    const page = globalThis as { document?: { hidden?: boolean }; Notification?: PageNotification }
    if (durationMs <= NOTIFY_AFTER_MS || page.document?.hidden !== true) return
    const what = `${row.title}${row.target ? ` — ${row.target.name}` : ''}`
    const body = row.status === 'success' ? 'Completed' : row.status === 'cancelled' ? 'Cancelled' : (row.error?.sentence ?? 'Failed')
    const N = page.Notification
    if (N && N.permission === 'granted') {
      try {
        new N(`XenPilot: ${what}`, { body })
        return
      } catch {
        // some platforms refuse page notifications even when granted: fall back to the toast
      }
    }
    ui.notify(`${what}: ${body}`, row.status === 'success' ? 'info' : 'error')
  }

  const taskTables = useGraph((g) => {
    const pools: PoolTasks[] = []
    for (const p of g.pools.values()) pools.push({ connectionId: p.connectionId, tasks: p.tables.get('task') ?? new Map() })
    return pools
  })
  watch(
    taskTables,
    (pools) => {
      announce(tracker.observe(pools, nameOf))
      refresh()
    },
    { immediate: true },
  )

  let attached = false
  function attach(api: Pick<RendererApi, 'call' | 'on'>): void {
    if (attached) return
    attached = true
    useHistoryStore().attach(api)
    api.on('operation.progress', (p) => {
      const cls = p.cls ?? (objects.record(p.connectionId, 'VM', p.ref) ? 'VM' : 'host')
      const rec = objects.record(p.connectionId, cls, p.ref)
      tracker.noteProgress(p, cls, typeof rec?.name_label === 'string' && rec.name_label ? rec.name_label : p.ref)
      refresh()
    })
    api.on('migrate.state', (e) => {
      const rec = objects.record(e.connectionId, 'VM', e.ref)
      const dest = useConnectionsStore().get(e.destConnectionId)?.label ?? e.destConnectionId
      const title = e.connectionId === e.destConnectionId ? 'Migrate VM' : `Migrate VM to ${dest}`
      tracker.noteMigration(e, typeof rec?.name_label === 'string' && rec.name_label ? rec.name_label : e.ref, title)
      refresh()
    })
    api.on('history.appended', (e) => {
      const row = tracker.noteOutcome(e)
      if (row) maybeNotify(row, (row.finished ?? Date.now()) - row.created)
      refresh()
    })
  }

  function syncClock(): void {
    const needed = running.value > 0
    if (needed && !timer) {
      now.value = Date.now()
      timer = setInterval(() => (now.value = Date.now()), 1000)
    } else if (!needed && timer) {
      clearInterval(timer)
      timer = null
      now.value = Date.now()
    }
  }
  onScopeDispose(() => {
    if (timer) clearInterval(timer)
  })

  function clearFinished(): void {
    tracker.clearFinished()
    refresh()
  }
  function show(t: ActivityTab): void {
    tab.value = t
    panelOpen.value = true
  }

  return { rows, running, now, panelOpen, tab, attach, clearFinished, show }
})
