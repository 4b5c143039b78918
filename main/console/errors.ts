/**
 * Console failures as the user sees them: a code the viewer turns into a state (shared/contract
 * ConsoleErrorCode) and a sentence saying what happened to which object and what to do.
 */
import type { ConsoleErrorCode } from '../../shared/contract/console'

export class ConsoleError extends Error {
  constructor(
    public readonly code: ConsoleErrorCode,
    message: string,
    public readonly params?: string[],
  ) {
    super(message)
    this.name = 'ConsoleError'
  }
}

export function isConsoleError(err: unknown): err is ConsoleError {
  return err instanceof ConsoleError
}

/** Text of an unknown thrown value without leaking a stack. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') return String((err as { message: string }).message)
  return String(err)
}
