/**
 * Errors as they cross the contract: `{ code, message, params? }`, where `message` is a sentence a
 * person can act on. Everything thrown inside a handler goes through `toContractError` so no stack
 * trace, path or secret ever reaches the renderer by accident.
 */
import type { z } from 'zod'
import type { ContractError } from '../../shared/contract'
import { SmallFileWriteError } from '../storage/small-file'

/** Codes produced by the doors and services themselves (XAPI failures keep their XAPI code). */
export type ServiceErrorCode =
  | 'invalid-args'
  | 'unknown-method'
  | 'bad-message'
  | 'not-found'
  | 'not-implemented'
  | 'unavailable'
  | 'forbidden'
  /** an operation refused or failed for a reason its message explains (not a bug) */
  | 'failed'
  | 'internal'

export class ServiceError extends Error {
  constructor(
    public readonly code: ServiceErrorCode | string,
    message: string,
    public readonly params?: string[],
  ) {
    super(message)
    this.name = 'ServiceError'
  }

  toContract(): ContractError {
    return this.params ? { code: this.code, message: this.message, params: this.params } : { code: this.code, message: this.message }
  }
}

/** "address: Server is required; password: Too big: expected string to have <=1024 characters" */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.map((p) => String(p)).join('.')
      return where ? `${where}: ${issue.message}` : issue.message
    })
    .join('; ')
}

export function invalidArgs(method: string, error: z.ZodError): ServiceError {
  return new ServiceError('invalid-args', `${method} was called with invalid arguments — ${describeIssues(error)}.`)
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string')
}

/** Errors that mean "XenPilot has a bug", as opposed to a refusal whose message explains itself. */
export function isProgrammerError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError || err instanceof SyntaxError
}

/**
 * Anything thrown → a ContractError. Objects that already carry a string `code` and `message`
 * (ServiceError, the pools layer's XapiFailure) keep them; a plain Error is a refusal ('failed')
 * whose sentence is kept; a TypeError & co. is a bug ('internal'). Stack and extra properties are
 * never passed on.
 */
export function toContractError(err: unknown): ContractError {
  if (err instanceof ServiceError) return err.toContract()
  // the disk refused a write: a refusal whose sentence names the file and why (its errno is not a contract code)
  if (err instanceof SmallFileWriteError) return { code: 'failed', message: err.message }
  if (typeof err === 'object' && err !== null) {
    const rec = err as Record<string, unknown>
    const code = rec['code']
    const message = rec['message']
    if (typeof code === 'string' && code.length > 0 && typeof message === 'string') {
      const params = rec['params']
      return isStringArray(params) ? { code, message, params } : { code, message }
    }
    if (typeof message === 'string' && message.length > 0) return { code: isProgrammerError(err) ? 'internal' : 'failed', message }
  }
  if (typeof err === 'string' && err.length > 0) return { code: 'internal', message: err }
  return { code: 'internal', message: 'Something went wrong in XenPilot’s main process; see the log for details.' }
}
