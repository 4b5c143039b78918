/**
 * The NUMA layout of one host, as the host's and the VM's NUMA tabs both need it: loads numa.host
 * for the current target (again whenever the target changes; a late answer for an old target is
 * dropped), and runs the tabs' actions (policy, mask) with one busy flag, reloading afterwards.
 */
import { onBeforeUnmount, ref, watch, type Ref } from 'vue'
import type { NumaHostResult } from '../../../../shared/contract/numa'
import { errorMessage } from '../../api/errors'
import { useApi } from '../../stores/api'

export interface NumaHostTarget {
  connectionId: string
  hostRef: string
}

export function useNumaHost(target: () => NumaHostTarget | null) {
  const api = useApi()
  const result = ref<NumaHostResult | null>(null)
  const error = ref<string | null>(null)
  const busy = ref(false)
  let seq = 0

  async function load(): Promise<void> {
    const t = target()
    const mine = ++seq
    if (!t) return
    try {
      const r = await api.call('numa.host', { connectionId: t.connectionId, hostRef: t.hostRef })
      if (mine !== seq) return
      result.value = r
      error.value = null
    } catch (e) {
      if (mine === seq) error.value = errorMessage(e)
    }
  }

  /** runs `call` with the busy flag up; its failure goes to `failure`, success reloads the layout */
  async function act(call: () => Promise<unknown>, failure: Ref<string | null>): Promise<void> {
    busy.value = true
    failure.value = null
    try {
      await call()
      await load()
    } catch (e) {
      failure.value = errorMessage(e)
    } finally {
      busy.value = false
    }
  }

  watch(
    () => {
      const t = target()
      return t ? `${t.connectionId}|${t.hostRef}` : ''
    },
    () => {
      result.value = null
      error.value = null
      void load()
    },
    { immediate: true },
  )
  onBeforeUnmount(() => {
    seq++
  })
  return { api, result, error, busy, load, act }
}
