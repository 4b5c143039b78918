/**
 * NUMA advice for the places a VM is started or migrated (issue 5's host pickers): one call to
 * numa.advise, then per-host predictions for the list the picker shows.
 *
 *   const numa = useNumaAdvice(connectionId, vmRef)   // starts loading
 *   numa.forHost(hostRef)   // HostAdvice | undefined → <NumaPredictionBadge :advice="…" />
 *   numa.best.value         // hostRef of the best-ranked feasible host
 *   numa.load               // the useAction behind it (running, error, run() to ask again)
 */
import { computed, shallowRef, type ComputedRef, type ShallowRef } from 'vue'
import type { AdviceResult } from '../../../../shared/contract/numa'
import { useApi } from '../../api'
import { useAction, type Action } from '../../composables/useAction'

export type HostAdviceView = AdviceResult['hosts'][number]

export function useNumaAdvice(connectionId: string, vmRef: string): {
  advice: ShallowRef<AdviceResult | null>
  load: Action<[], void>
  forHost(hostRef: string): HostAdviceView | undefined
  best: ComputedRef<string | null>
} {
  const api = useApi()
  const advice = shallowRef<AdviceResult | null>(null)
  const load = useAction(async () => {
    advice.value = await api.call('numa.advise', { connectionId, vmRef })
  })
  void load.run()
  const best = computed(() => advice.value?.hosts.find((h) => h.feasible)?.hostRef ?? null)
  return { advice, load, forHost: (hostRef) => advice.value?.hosts.find((h) => h.hostRef === hostRef), best }
}
