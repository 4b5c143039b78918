/**
 * NUMA advice for the places a VM is started or migrated (issue 5's host pickers): one call to
 * numa.advise, then per-host predictions for the list the picker shows.
 *
 *   const numa = useNumaAdvice(connectionId, vmRef)   // starts loading
 *   numa.forHost(hostRef)   // HostAdvice | undefined → <NumaPredictionBadge :advice="…" />
 *   numa.best.value         // hostRef of the best-ranked feasible host
 */
import { computed, ref, type Ref } from 'vue'
import type { AdviceResult } from '../../../../shared/contract/numa'
import { errorMessage } from '../../api/errors'
import { useApi } from '../../stores/api'

export type HostAdviceView = AdviceResult['hosts'][number]

export function useNumaAdvice(connectionId: string, vmRef: string): {
  advice: Ref<AdviceResult | null>
  error: Ref<string | null>
  loading: Ref<boolean>
  load(): Promise<void>
  forHost(hostRef: string): HostAdviceView | undefined
  best: Readonly<Ref<string | null>>
} {
  const api = useApi()
  const advice = ref<AdviceResult | null>(null)
  const error = ref<string | null>(null)
  const loading = ref(false)
  async function load(): Promise<void> {
    loading.value = true
    try {
      advice.value = await api.call('numa.advise', { connectionId, vmRef })
      error.value = null
    } catch (e) {
      error.value = errorMessage(e)
    } finally {
      loading.value = false
    }
  }
  void load()
  const best = computed(() => advice.value?.hosts.find((h) => h.feasible)?.hostRef ?? null)
  return { advice, error, loading, load, forHost: (hostRef) => advice.value?.hosts.find((h) => h.hostRef === hostRef), best }
}
