/**
 * useAction: the one way a button (or a load) calls main. XO Lite's jobs, small: wraps an async
 * function and gives the component what it shows —
 *
 *   const api = useApi()
 *   const save = useAction((mask: string) => api.call('numa.setMask', { … }), { canRun: () => (dirty.value ? true : 'Nothing changed') })
 *   <button :disabled="save.canRun !== true" :title="…" @click="save.run(text)">Save</button>
 *   <p v-if="save.error" role="alert">{{ save.error }}</p>
 *
 * The answer is one reactive object (same reads in script and template: `save.running`); do not
 * destructure it (that would copy the values once).
 *
 * - `run(...args)` answers the result, or undefined when it could not run or failed (the reason is
 *   then in `error`). It never throws.
 * - `canRun`: true, or why not (the option's reason, or 'Already running' while a run is in flight).
 * - `running`: a run is in flight. `error`: the last failure as a sentence, cleared by the next run;
 *   `detail`: its code and parameters when main or XAPI gave them (an ApiError: 'SR_FULL', […]), for a
 *   "Details" line under the sentence (components/ActionError.vue shows both).
 * - `restartable`: a new run supersedes the one in flight (loads): the older one's result and error
 *   are dropped, `running` stays up until the newest ends.
 * - `onError(message)`: also tell the user elsewhere (a toast) — for buttons with no place for a line.
 *
 * State is component-scoped: after the component unmounts, a late answer changes nothing.
 */
import { computed, getCurrentScope, onScopeDispose, reactive, ref } from 'vue'
import { errorMessage } from '../api/errors'

export interface ErrorDetail {
  code: string
  params: readonly string[]
}

/** the code and parameters of a failure that has them (ApiError, or any error object with a string code) */
function detailOf(err: unknown): ErrorDetail | null {
  if (typeof err !== 'object' || err === null || !('code' in err) || typeof err.code !== 'string') return null
  const params = 'params' in err && Array.isArray(err.params) ? err.params.map(String) : []
  return { code: err.code, params }
}

export type CanRun = true | string

export interface ActionOptions {
  canRun?: () => CanRun
  restartable?: boolean
  onError?: (message: string) => void
}

export interface Action<A extends unknown[], R> {
  run(...args: A): Promise<R | undefined>
  readonly canRun: CanRun
  readonly running: boolean
  readonly error: string | null
  readonly detail: ErrorDetail | null
  /** forget the last failure (the user dismissed it, the input changed) */
  clearError(): void
}

export function useAction<A extends unknown[], R>(fn: (...args: A) => Promise<R>, options: ActionOptions = {}): Action<A, R> {
  const running = ref(false)
  const error = ref<string | null>(null)
  const detail = ref<ErrorDetail | null>(null)
  let generation = 0
  let inFlight = 0
  let disposed = false
  if (getCurrentScope()) onScopeDispose(() => (disposed = true))

  const canRun = computed<CanRun>(() => {
    if (running.value && !options.restartable) return 'Already running'
    return options.canRun ? options.canRun() : true
  })

  async function run(...args: A): Promise<R | undefined> {
    const allowed = canRun.value
    if (allowed !== true) {
      if (!running.value) {
        error.value = allowed
        detail.value = null
      }
      return undefined
    }
    const mine = ++generation
    inFlight++
    running.value = true
    error.value = null
    detail.value = null
    try {
      const result = await fn(...args)
      if (disposed || (options.restartable && mine !== generation)) return undefined
      return result
    } catch (err) {
      if (disposed || (options.restartable && mine !== generation)) return undefined
      const message = errorMessage(err)
      error.value = message
      detail.value = detailOf(err)
      options.onError?.(message)
      return undefined
    } finally {
      inFlight--
      if (inFlight === 0 && !disposed) running.value = false
    }
  }

  const clearError = (): void => {
    error.value = null
    detail.value = null
  }
  return reactive({ run, canRun, running, error, detail, clearError }) as Action<A, R>
}
