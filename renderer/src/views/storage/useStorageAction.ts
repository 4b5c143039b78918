/**
 * A storage action as a button or a dialog's OK runs it (issue 13): the contract call answers an
 * OperationResult; a refusal by XAPI (ok: false) becomes a failure of the action, so its sentence
 * is in `error` and its code and parameters in `detail` (ActionError shows both). `done` runs after
 * a success (a dialog closes).
 */
import type { MethodArgs } from '../../../../shared/contract'
import type { OperationResult } from '../../../../shared/contract/operations'
import type { StorageMethodName } from '../../../../shared/contract/storage'
import { useApi } from '../../api'
import { refusalOf } from '../../api/errors'
import { useAction, type Action, type CanRun } from '../../composables/useAction'

export function useStorageAction<M extends StorageMethodName, A extends unknown[]>(
  method: M,
  args: (...a: A) => MethodArgs<M>,
  options: { canRun?: () => CanRun; done?: (r: OperationResult) => void } = {},
): Action<A, OperationResult> {
  const api = useApi()
  return useAction(
    async (...a: A) => {
      const r = (await api.call(method, args(...a))) as OperationResult
      if (!r.ok) throw refusalOf(r)
      options.done?.(r)
      return r
    },
    options.canRun ? { canRun: options.canRun } : {},
  )
}
