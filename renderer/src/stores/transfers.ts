/**
 * Transfers (VM/disk export and import) as main holds them: loaded with transfer.list when the
 * window starts (a reload finds the running ones again) and kept by transfer.changed.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { TransferState } from '../../../shared/contract/transfer'
import type { RendererApi } from '../api'

export const useTransfersStore = defineStore('transfers', () => {
  const byId = ref(new Map<string, TransferState>())
  const list = computed(() => [...byId.value.values()].sort((a, b) => b.queuedAt.localeCompare(a.queuedAt)))
  const active = computed(() => list.value.filter((t) => t.status === 'queued' || t.status === 'running' || t.status === 'finishing').length)

  function put(s: TransferState): void {
    const next = new Map(byId.value)
    next.set(s.id, s)
    byId.value = next
  }

  let attached = false
  function attach(api: Pick<RendererApi, 'call' | 'on'>): void {
    if (attached) return
    attached = true
    api.on('transfer.changed', put)
    void api.call('transfer.list', {}).then(
      (all) => {
        for (const s of all) if (!byId.value.has(s.id) || (byId.value.get(s.id)?.bytes ?? 0) <= s.bytes) put(s)
      },
      () => undefined,
    )
  }

  function clearFinished(): void {
    byId.value = new Map([...byId.value].filter(([, t]) => t.status === 'queued' || t.status === 'running' || t.status === 'finishing'))
  }

  return { list, active, attach, put, clearFinished }
})
