/**
 * A networking action from a button or dialog: `useAction` around a contract call that answers a
 * NetworkResult. XAPI's refusal (`ok: false`) becomes the action's error — its sentence in `error`,
 * code and parameters in `detail`, for ActionError — and a note the user should read
 * although it worked ('applies when the NIC is next connected') lands in `note`. The action itself
 * shows in the Activity panel (main sends its progress) and in History.
 */
import { reactive, ref } from 'vue'
import type { NetworkResult } from '../../../../shared/contract/network'
import { refusalOf } from '../../api/errors'
import { useAction, type CanRun } from '../../composables/useAction'

export function useNetAction<A extends unknown[]>(fn: (...args: A) => Promise<NetworkResult>, canRun?: () => CanRun) {
  const note = ref<string | null>(null)
  const action = useAction(
    async (...args: A): Promise<NetworkResult> => {
      note.value = null
      const r = await fn(...args)
      if (!r.ok) throw refusalOf(r)
      note.value = r.note ?? null
      return r
    },
    canRun ? { canRun } : {},
  )
  return reactive({
    action,
    note,
    /** the result when XAPI did it, else undefined (the reason is in action.error) */
    run: (...args: A): Promise<NetworkResult | undefined> => action.run(...args),
    dismiss: (): void => {
      action.clearError()
      note.value = null
    },
  })
}
