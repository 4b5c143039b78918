import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { HistoryEntry } from '../../../shared/contract/operations'
import type { RendererApi } from '../api'
import { useAction } from '../composables/useAction'

const PAGE = 100

/**
 * The action history (every command XenPilot ran, persisted by main in the cache database): the
 * global list, paged newest first, and kept live by `history.appended`.
 */
export const useHistoryStore = defineStore('history', () => {
  const entries = shallowRef<HistoryEntry[]>([])
  const loaded = ref(false)
  const hasMore = ref(false)
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

  /** the first page (again), or the next older one */
  const page = useAction(async (older: boolean) => {
    const last = entries.value.at(-1)
    if (older && !last) return
    const got = await fetchPage(older && last ? { beforeId: last.id } : {})
    entries.value = older ? [...entries.value, ...got] : got
    hasMore.value = got.length === PAGE
    loaded.value = true
  })
  const load = (): Promise<void | undefined> => page.run(false)
  const more = (): Promise<void | undefined> => page.run(true)

  return { entries, loaded, hasMore, latest, page, attach, fetchPage, load, more, PAGE }
})
