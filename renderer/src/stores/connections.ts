import { defineStore } from 'pinia'
import { computed, onScopeDispose, ref, shallowRef, triggerRef } from 'vue'
import type { ConnectionState } from '../../../shared/contract/connection'

/** Saved connections by id, in the order main lists them (the order the user added them). */
export const useConnectionsStore = defineStore('connections', () => {
  const byId = shallowRef(new Map<string, ConnectionState>())
  const list = computed(() => [...byId.value.values()])
  const connectedCount = computed(() => list.value.filter((c) => c.status === 'connected').length)
  /** ticks every second while a countdown or a wait is on screen (reconnecting, an attempt waiting for an answer) */
  const now = ref(Date.now())

  function replaceAll(states: readonly ConnectionState[]): void {
    byId.value = new Map(states.map((s) => [s.id, s]))
    syncClock()
  }
  function upsert(s: ConnectionState): void {
    byId.value.set(s.id, s)
    triggerRef(byId)
    syncClock()
  }
  function remove(id: string): void {
    if (byId.value.delete(id)) triggerRef(byId)
    syncClock()
  }
  function get(id: string): ConnectionState | undefined {
    return byId.value.get(id)
  }

  let timer: ReturnType<typeof setInterval> | null = null
  function syncClock(): void {
    const needed = list.value.some((c) => ((c.status === 'reconnecting' || c.status === 'connecting') && c.nextRetryAt) || c.progress !== undefined)
    if (needed && !timer) {
      now.value = Date.now()
      timer = setInterval(() => (now.value = Date.now()), 1000)
    } else if (!needed && timer) {
      clearInterval(timer)
      timer = null
    }
  }
  onScopeDispose(() => {
    if (timer) clearInterval(timer)
  })

  return { byId, list, connectedCount, now, replaceAll, upsert, remove, get }
})
