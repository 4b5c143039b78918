import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { HistoryEntry } from '../../../shared/contract/operations'
import type { RendererApi } from '../api'
import { errorMessage } from '../api/errors'

const PAGE = 100

/**
 * The action history (every command XenPilot ran, persisted by main in the cache database): the
 * global list, paged newest first, and kept live by `history.appended`.
 */
export const useHistoryStore = defineStore('history', () => {
  const entries = shallowRef<HistoryEntry[]>([])
  const loaded = ref(false)
  const loading = ref(false)
  const hasMore = ref(false)
  const error = ref<string | null>(null)
  /** the last appended entry, for per-object views that keep their own list */
  const latest = shallowRef<HistoryEntry | null>(null)
  let api: Pick<RendererApi, 'call'> | null = null

  function attach(a: Pick<RendererApi, 'call' | 'on'>): void {
    api = a
    a.on('history.appended', (e) => {
      latest.value = e
      if (loaded.value && !entries.value.some((x) => x.id === e.id)) entries.value = [e, ...entries.value]
    })
  }

  async function fetchPage(args: { connectionId?: string; ref?: string; beforeId?: number; limit?: number }): Promise<HistoryEntry[]> {
    if (!api) throw new Error('the history is not available before startup')
    return api.call('history.list', { limit: PAGE, ...args })
  }

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      const page = await fetchPage({})
      entries.value = page
      hasMore.value = page.length === PAGE
      loaded.value = true
    } catch (err) {
      error.value = errorMessage(err)
    } finally {
      loading.value = false
    }
  }

  async function more(): Promise<void> {
    const last = entries.value.at(-1)
    if (!last || loading.value) return
    loading.value = true
    try {
      const page = await fetchPage({ beforeId: last.id })
      entries.value = [...entries.value, ...page]
      hasMore.value = page.length === PAGE
    } catch (err) {
      error.value = errorMessage(err)
    } finally {
      loading.value = false
    }
  }

  return { entries, loaded, loading, hasMore, error, latest, attach, fetchPage, load, more, PAGE }
})
