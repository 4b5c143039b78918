/**
 * The NUMA layout of one host, as the host's and the VM's NUMA tabs both need it: loads numa.host
 * for the current target (again whenever the target changes; a late answer for an old target is
 * dropped). The tabs' own actions (policy, mask) are useActions that call `load` when they succeed.
 */
import { shallowRef, watch } from 'vue'
import type { NumaHostResult } from '../../../../shared/contract/numa'
import { useApi } from '../../api'
import { useAction } from '../../composables/useAction'

export interface NumaHostTarget {
  connectionId: string
  hostRef: string
}

export function useNumaHost(target: () => NumaHostTarget | null) {
  const api = useApi()
  const result = shallowRef<NumaHostResult | null>(null)
  const loader = useAction((t: NumaHostTarget) => api.call('numa.host', { connectionId: t.connectionId, hostRef: t.hostRef }), { restartable: true })

  async function load(): Promise<void> {
    const t = target()
    if (!t) return
    const r = await loader.run(t)
    if (r) result.value = r
  }

  watch(
    () => {
      const t = target()
      return t ? `${t.connectionId}|${t.hostRef}` : ''
    },
    () => {
      result.value = null
      loader.clearError()
      void load()
    },
    { immediate: true },
  )
  return { api, result, loader, load }
}
