/**
 * What XenPilot checks when it starts, before anything connects:
 *
 * - Can it save anything in the data folder? `<dataDir>/startup.json` is written through the one
 *   small-file store; if the disk refuses (read-only, full, no permission) XenPilot still starts —
 *   degraded: the saved servers and the offline cache are read, every change is refused with the
 *   reason (each store's write says it), and a notice says so once.
 * - Did the previous run die during start-up? startup.json says "starting since T" until the start
 *   has settled (`settled()`: the first connection attempts are over). Found at the next start, it
 *   means that start crashed (e.g. a pool's answer killed the process): automatic connection is
 *   paused for this start and a notice says so — the user reaches the UI and can forget the server.
 */
import { join } from 'node:path'
import { z } from 'zod'
import type { AppNotice } from '../../shared/contract'
import { SmallFile, SmallFileWriteError, describeWriteFailure } from '../storage/small-file'

const StartupFile = z.object({
  version: z.literal(1),
  /** ISO time the current start began; null once it settled */
  startingSince: z.string().nullable(),
  /** the process that wrote it */
  pid: z.number().int(),
})
type StartupFile = z.infer<typeof StartupFile>

export interface Startup {
  /** sentences for the user about this start */
  readonly notices: AppNotice[]
  /** false: do not connect the saved servers on start (the previous start did not finish) */
  readonly autoConnect: boolean
  /** false: nothing can be saved in the data folder this session */
  readonly writable: boolean
  /** the start is over (first connection attempts done): clears the marker */
  settled(): Promise<void>
}

export async function beginStartup(dataDir: string, log: (line: string) => void): Promise<Startup> {
  const file = new SmallFile<StartupFile>({ file: join(dataDir, 'startup.json'), what: 'the start-up marker', version: 1, schema: StartupFile, empty: () => ({ version: 1, startingSince: null, pid: 0 }) })
  const notices: AppNotice[] = []
  const previous = file.read()
  if (previous.problem) log(`startup: ${previous.problem.message}`)
  let autoConnect = true
  const since = previous.value.startingSince
  if (since !== null) {
    autoConnect = false
    // the time is the window's to write (its time zone, its clock format): `{at}` in the sentence
    const at = z.string().datetime({ offset: true }).safeParse(since).success ? since : undefined
    notices.push({
      kind: 'startup',
      message: `The previous run of XenPilot stopped during start-up (it started at ${at ? '{at}' : 'a time it did not record'} and never finished starting). Automatic connection is paused for this start: connect your servers one at a time, or forget the one that causes trouble.`,
      ...(at ? { at } : {}),
    })
    log(`startup: the previous start (${since}) never finished; automatic connection paused`)
  }
  let writable = true
  try {
    await file.write({ version: 1, startingSince: new Date().toISOString(), pid: process.pid })
  } catch (e) {
    writable = false
    const reason = e instanceof SmallFileWriteError && e.code ? describeWriteFailure({ code: e.code }, dataDir).reason : e instanceof Error ? e.message : String(e)
    notices.push({
      kind: 'data-folder',
      message: `XenPilot cannot save anything in ${dataDir}: ${reason}. It started anyway: your saved servers and the offline inventory are shown, but changes (adding or forgetting a server, settings, remembered passwords) are refused until the folder can be written again; then restart XenPilot.`,
    })
    log(`startup: ${notices[notices.length - 1]?.message ?? ''}`)
  }
  let settled: Promise<void> | undefined
  return {
    notices,
    autoConnect,
    writable,
    settled() {
      settled ??= writable ? file.write({ version: 1, startingSince: null, pid: process.pid }).catch((e: unknown) => log(`startup: ${(e as Error).message}`)) : Promise.resolve()
      return settled
    },
  }
}
