/**
 * Everything behind a door, assembled once: offline cache, PoolManager, console bridge and the
 * services that implement the contract. Both doors' bootstraps (main/app/main.ts for Electron,
 * main/web/cli.ts for browser mode) and `npm run demo` start the app through here, so the two
 * modes cannot drift apart.
 *
 *   <dataDir>/connections.json  saved servers (PoolManager)     <dataDir>/pins.json  certificate pins
 *   <dataDir>/cache.sqlite      offline inventory (main/cache)  <dataDir>/settings.json  view settings
 *   <dataDir>/xenpilot.lock     one XenPilot per data folder (./datadir-lock: a second one is refused)
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { z } from 'zod'
import { openInventoryCache, type SqliteInventoryCache } from '../cache'
import type { Keychain } from '../pools/keychain'
import { PoolManager } from '../pools/manager'
import { PinStore, hostKey, pinFromPem } from '../xapi/trust'
import { join } from 'node:path'
import type { ConsoleTargetArgs } from '../../shared/contract/console'
import { startConsoleService, type ConsoleService } from './console'
import { numaModule } from './numa'
import { MemoryHistory, operationsModule, type HistoryStore } from './operations'
import { networkModule } from './network'
import { storageModule } from './storage'
import { transferModule } from './transfer'
import type { FilePickRequest } from '../../shared/contract/transfer'
import { provisionModule } from './provision'
import { migrateModule } from './migrate'
import { cacheModule } from './cache'
import { createServices, type KeychainStatusSource, type Services } from './index'
import { CatchUp } from './outbox'
import type { AnyModuleFactory, MethodsOf } from './module'
import type { AppNotice, coreMethods, MethodName } from '../../shared/contract'
import { openSettingsStore, type SettingsStore } from './settings'
import { describeIssues } from './errors'
import { acquireDataDirLock, type DataDirLock } from './datadir-lock'
import { beginStartup } from './startup'
import type { SmallFileProblem } from '../storage/small-file'
import { RrdCollector } from '../perf/collector'
import { perfModule } from './perf'
import { openTerminalFiles, terminalModule } from './terminal'
import type { TerminalTarget } from '../../shared/contract/terminal'
import { xencenterModule } from './xencenter'
import { driftModule } from './drift'

/**
 * Servers to add (and certificates to pin) before the app starts: `npm run demo` passes the
 * simulator's demo pools this way (`--connect-demo FILE`). A server whose address is already
 * saved is left as it is. The seeded servers connect with the saved ones, through connectAll's
 * bound (a few at a time), when the start connects at all.
 */
export const ConnectionSeed = z.object({
  pools: z.array(
    z.object({
      address: z.string().min(1),
      username: z.string().min(1),
      password: z.string(),
      /** certificates to pin, by host: the pool's master and members */
      hosts: z.array(
        z.object({
          host: z.string().min(1),
          port: z.number().int().min(1).max(65535),
          certPem: z.string().includes('BEGIN CERTIFICATE'),
          /** the host's SSH port and public host key line ('ssh-ed25519 AAAA…'): the demo's terminals open without a port to type, the key pinned as 'demo' */
          ssh: z.object({ port: z.number().int().min(1).max(65535), hostKey: z.string().regex(/^[a-z0-9@.-]+ [A-Za-z0-9+/]+={0,2}$/).max(8192) }).optional(),
        }),
      ),
    }),
  ),
})
export type ConnectionSeed = z.infer<typeof ConnectionSeed>

export function parseConnectionSeed(data: unknown, source: string): ConnectionSeed {
  const r = ConnectionSeed.safeParse(data)
  if (!r.success) throw new Error(`${source} is not a connection seed — ${describeIssues(r.error)}`)
  return r.data
}

/** a seed file given on the command line (`--connect-demo FILE`) or by the demo (XENPILOT_CONNECT_DEMO) */
export function readConnectionSeed(file: string): ConnectionSeed {
  let data: unknown
  try {
    data = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new Error(`connection seed ${file}: ${(err as Error).message}`)
  }
  return parseConnectionSeed(data, file)
}

export interface RuntimeOptions {
  dataDir: string
  mode: 'electron' | 'browser'
  keychain: Keychain
  keychainStatus: KeychainStatusSource
  appVersion: string
  versions: Record<string, string>
  log: (line: string) => void
  /** default true; tests of other parts may turn the SQLite cache off */
  cache?: boolean
  seed?: ConnectionSeed
  /** connect the saved servers right away (default true) */
  connectOnStart?: boolean
  /** Electron: open a console in its own window (console.popout); browser mode has none */
  consolePopout?: (target: ConsoleTargetArgs) => Promise<void>
  /** Electron: open a host terminal in its own window (terminal.popout); browser mode has none */
  terminalPopout?: (target: TerminalTarget) => Promise<void>
  /** Electron: the native open/save dialog for a transfer's file (transfer.pickFile); browser mode has none */
  pickFile?: (req: FilePickRequest) => Promise<string | null>
  /** what the door's own files (a keychain) found wrong when read, said with the other start notices */
  fileProblems?: () => SmallFileProblem[]
  /** more contract modules (tests) */
  modules?: readonly AnyModuleFactory[]
  /** PoolManager tuning (tests shorten timers) */
  poolOptions?: Partial<Pick<ConstructorParameters<typeof PoolManager>[0], 'heartbeatMs' | 'batchMs' | 'failoverGiveUpMs' | 'reconnect' | 'connectConcurrency' | 'connectSlotMs' | 'callTimeoutMs' | 'eventTimeoutS' | 'stall'>>
}

export interface Runtime {
  pools: PoolManager
  services: Services
  consoles: ConsoleService
  cache: SqliteInventoryCache | undefined
  /** performance data of every connected host (main/perf/collector.ts) */
  perf: RrdCollector
  close(): Promise<void>
}

/** the disk refuses writes in the data folder (read-only, full, no permission): start degraded, not at all */
function diskRefusal(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined
  return code === 'EROFS' || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EACCES' || code === 'EPERM'
}

export async function startRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const { dataDir, log } = opts
  let lock: DataDirLock | undefined
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    lock = acquireDataDirLock(dataDir, opts.mode)
  } catch (err) {
    // another XenPilot on this folder is still refused; a folder nothing can be written in is not:
    // the start goes on degraded (beginStartup says it, every change is refused with the reason)
    if (!diskRefusal(err)) throw err
    log(`data folder: no lock taken in ${dataDir} (${(err as Error).message}); starting without saving anything`)
  }
  try {
    return await startLocked(opts, lock)
  } catch (err) {
    lock?.release()
    throw err
  }
}

async function startLocked(opts: RuntimeOptions, lock: DataDirLock | undefined): Promise<Runtime> {
  const { dataDir, log } = opts
  const startup = await beginStartup(dataDir, log)
  if (opts.seed && startup.writable) await pinSeedCertificates(dataDir, opts.seed)

  const savedSettings = openSettingsStore(dataDir, log)
  const perfMaxBytes = (mib: number): number => mib * 1024 * 1024
  // the cache's write-behind and RRD first sight wait while a window catches up with a reset (issue 20: first connect)
  const catchUp = new CatchUp()
  const yieldTo = (): boolean => catchUp.waiting()
  let cache: SqliteInventoryCache | undefined
  if (opts.cache !== false) {
    try {
      cache = openInventoryCache({ dataDir, perf: { maxBytes: perfMaxBytes(savedSettings.get().perfHistoryMiB) }, yieldTo })
    } catch (err) {
      // The app still works from memory; the user sees pools appear only once connected.
      log(`cache: the offline inventory could not be opened (${(err as Error).message}); running without it`)
    }
  }
  const pools = new PoolManager({ dataDir, keychain: opts.keychain, ...(cache ? { cache } : {}), log, ...opts.poolOptions })
  // one action history for every capability that records actions (the History tab shows them all)
  const history: HistoryStore = cache?.history ?? new MemoryHistory()
  if (!cache) log('operations: no cache database, the action history is kept in memory only')
  // the 60 s performance feed of every connected host into the cache's history
  const perf = new RrdCollector({ pools, history: () => cache?.perf, log, yieldTo })
  const consoles = await startConsoleService({ pools, hostAccess: pools, log, ...(opts.consolePopout ? { popout: opts.consolePopout } : {}) })
  // the host terminal's files (SSH host key pins, port and user per host): opened here so what reading them found wrong is a start notice
  const terminalFiles = openTerminalFiles(dataDir)
  // every capability's share of the contract: a contract method no module here implements does not compile (below)
  const modules = [
    consoles.module,
    numaModule({ history }),
    operationsModule({ history }),
    networkModule({ history }),
    storageModule({ history }),
    transferModule({ history, hosts: pools, ...(opts.pickFile ? { pickFile: opts.pickFile } : {}) }),
    provisionModule({ history }),
    migrateModule({ history }),
    cacheModule(cache),
    perfModule({ collector: perf, history: () => cache?.perf }),
    terminalModule({ dataDir, files: terminalFiles, ...(opts.seed ? { seedSsh: sshSeed(opts.seed) } : {}), keychain: opts.keychain, history, log, ...(opts.terminalPopout ? { popout: opts.terminalPopout } : {}) }),
    xencenterModule({ history, dataDir, log }),
    driftModule(),
  ] as const
  type Unimplemented = Exclude<MethodName, keyof typeof coreMethods | MethodsOf<typeof modules>>
  const everyMethodHasAModule: [Unimplemented] extends [never] ? true : { noModuleFor: Unimplemented } = true
  void everyMethodHasAModule
  // the performance history's size bound is a setting: a new bound applies at once (pruned a little at a time)
  const settings: SettingsStore = {
    problem: savedSettings.problem,
    get: () => savedSettings.get(),
    update: async (patch) => {
      const next = await savedSettings.update(patch)
      const hist = cache?.perf
      if (hist && hist.limits.maxBytes !== perfMaxBytes(next.perfHistoryMiB)) {
        hist.setLimits({ maxBytes: perfMaxBytes(next.perfHistoryMiB) })
        perf.pruneSoon()
        log(`perf: the history may now use ${next.perfHistoryMiB} MiB`)
      }
      return next
    },
  }
  // said once at the top of the window: the data folder, damaged files set aside, an interrupted last start
  const notices: AppNotice[] = [
    ...startup.notices,
    ...[...pools.fileProblems(), ...(settings.problem ? [settings.problem] : []), ...terminalFiles.problems(), ...(opts.fileProblems?.() ?? [])].map((p): AppNotice => ({ kind: 'file', message: p.message })),
  ]
  const services = createServices({
    pools,
    catchUp,
    settings,
    keychain: opts.keychainStatus,
    app: { name: 'XenPilot', version: opts.appVersion, mode: opts.mode, versions: opts.versions, ...(notices.length ? { notices } : {}) },
    modules: [...modules, ...(opts.modules ?? [])],
    log,
  })

  if (opts.seed && startup.writable) {
    const known = new Set(pools.list().map((c) => c.address))
    for (const p of opts.seed.pools) {
      if (known.has(p.address)) continue
      const server = { address: p.address, username: p.username, password: p.password }
      // connected with the saved ones below, a few at a time (a seed of 200 pools must not connect all at once)
      try {
        await pools.add({ ...server, rememberPassword: true }, { connect: false })
      } catch (err) {
        // the keychain cannot remember it (locked): the seeded server is still added, for this session's password only
        log(`seed ${p.address}: ${(err as Error).message}`)
        await pools.add({ ...server, rememberPassword: false }, { connect: false })
      }
      known.add(p.address)
    }
  }
  // the start is over once the first connection attempts are (a crash before that pauses the next start's auto-connect)
  if (opts.connectOnStart !== false && startup.autoConnect) {
    void pools
      .connectAll()
      .catch((err: unknown) => log(`connect on start: ${(err as Error).message}`))
      .finally(() => void startup.settled())
  } else {
    if (!startup.autoConnect) log('startup: the previous start did not finish; automatic connection is paused')
    void startup.settled()
  }

  let closing: Promise<void> | undefined
  return {
    pools,
    services,
    consoles,
    cache,
    perf,
    close() {
      closing ??= (async () => {
        await perf.close()
        await services.close() // also closes the modules (console bridge) and the PoolManager
        await cache?.close()
        await startup.settled()
        lock?.release()
      })()
      return closing
    },
  }
}

/** the seeded SSH ports and host keys by host address */
function sshSeed(seed: ConnectionSeed): Map<string, { port: number; hostKey: string }> {
  const out = new Map<string, { port: number; hostKey: string }>()
  for (const p of seed.pools) for (const h of p.hosts) if (h.ssh) out.set(h.host, h.ssh)
  return out
}

async function pinSeedCertificates(dataDir: string, seed: ConnectionSeed): Promise<void> {
  const pins = new PinStore(join(dataDir, 'pins.json'))
  for (const p of seed.pools) for (const h of p.hosts) await pins.set(hostKey(h.host, h.port), pinFromPem(h.certPem, 'demo'))
}
