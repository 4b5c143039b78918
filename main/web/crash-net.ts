/**
 * The last net under browser mode's process (Electron has electron-log's errorHandler): an
 * exception or rejection nobody caught is logged with where it came from and the process goes on.
 * It is not the fix — every door answers malformed input itself (request-target.ts, the contract's
 * zod checks) — but one overlooked throw in a handler must cost that request, not every pool.
 */
export function installCrashNet(log: (line: string) => void): () => void {
  const onException = (err: Error, origin: string): void => {
    log(`XenPilot caught an ${origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'} and keeps running: ${err.stack ?? err.message}`)
  }
  const onRejection = (reason: unknown): void => {
    log(`XenPilot caught an unhandled rejection and keeps running: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`)
  }
  process.on('uncaughtException', onException)
  process.on('unhandledRejection', onRejection)
  return () => {
    process.off('uncaughtException', onException)
    process.off('unhandledRejection', onRejection)
  }
}
