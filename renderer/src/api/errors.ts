import { methods, type ContractError, type MethodName } from '../../../shared/contract'

/** A failed contract call as the UI handles it: `code` for programs, `message` for people. */
export class ApiError extends Error {
  readonly code: string
  readonly params: string[]
  constructor(err: ContractError) {
    super(err.message)
    this.name = 'ApiError'
    this.code = err.code
    this.params = err.params ?? []
  }
}

/** A sentence for a person out of anything thrown by a call. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  if (typeof err === 'string') return err
  return 'Unknown error'
}

/**
 * An action's result the pool refused (`ok: false`), as the error `useAction` keeps: XAPI's
 * sentence (and what to do about it) in `message`, its code and parameters for "Details".
 */
export function refusalOf(r: { error?: { code: string; message: string; params: string[]; action?: string | undefined } | undefined }): ApiError {
  const message = [r.error?.message ?? 'The pool refused the action', r.error?.action].filter(Boolean).join(' ')
  return new ApiError({ code: r.error?.code ?? 'FAILED', message, params: r.error?.params ?? [] })
}

/**
 * true when the contract takes `args` for `method`, else its first complaint as a sentence: a form
 * says what main would refuse, in the same words, before it sends.
 */
export function argsProblem(method: MethodName, args: unknown): true | string {
  const r = methods[method].args.safeParse(args)
  return r.success ? true : (r.error.issues[0]?.message ?? 'Invalid value')
}
