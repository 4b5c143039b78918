/**
 * XenPilot in browser mode: `node out/web/cli.js [--port P] [--data-dir DIR] [--connect-demo FILE]`
 * (in development `npm run web -- …`, which builds renderer/dist first when it is stale:
 * scripts/web.ts). The FIRST stdout line of this program is exactly the URL to open (it carries
 * this run's access token); logs go to stderr. It serves the built renderer and builds nothing: a
 * missing renderer/dist is said on stderr with the command that builds it. npm itself prints a banner on
 * stdout first: scripts use `npm run --silent web`.
 * Ctrl-C (SIGINT) or SIGTERM logs out of every pool and stops.
 *
 * Passwords: with XENPILOT_PASSPHRASE set, remembered passwords are kept in <data-dir>/keychain.enc
 * (AES-256-GCM, key from the passphrase with scrypt); without it they stay in memory for this run
 * and the UI says so (keychain.state).
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MemoryKeychain, PassphraseFileKeychain, type Keychain } from '../pools/keychain'
import { memoryKeychainStatus, passphraseFileKeychainStatus } from '../services/keychain-status'
import { readConnectionSeed, startRuntime, type ConnectionSeed, type Runtime, type RuntimeOptions } from '../services/runtime'
import type { KeychainStatusSource } from '../services'
import type { SmallFileProblem } from '../storage/small-file'
import { installCrashNet } from './crash-net'
import { startWebServer, type WebServer } from './server'

export interface WebCliOptions {
  port: number
  dataDir: string
  seedFile?: string
  staticDir: string
  /** --static-dir given (`npm run web` then builds nothing either) */
  customStaticDir: boolean
}

const USAGE = 'usage: npm run web -- [--port PORT] [--data-dir DIR] [--connect-demo SEED.json]   (bundled: node out/web/cli.js [same options])'

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CONFIG_HOME'] && env['XDG_CONFIG_HOME'].startsWith('/') ? env['XDG_CONFIG_HOME'] : join(homedir(), '.config')
  return join(base, 'XenPilot-web')
}

export function parseWebCliArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): WebCliOptions {
  const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
  const out: WebCliOptions = { port: 0, dataDir: defaultDataDir(env), staticDir: join(root, 'renderer/dist'), customStaticDir: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a value\n${USAGE}`)
      return v
    }
    switch (arg) {
      case '--port': {
        const v = value()
        const port = Number(v)
        if (!/^\d+$/.test(v) || port > 65535) throw new Error(`--port must be a number from 0 to 65535, not “${v}”`)
        out.port = port
        break
      }
      case '--data-dir':
        out.dataDir = resolve(value())
        break
      case '--connect-demo':
        out.seedFile = resolve(value())
        break
      case '--static-dir':
        out.staticDir = resolve(value())
        out.customStaticDir = true
        break
      case '--help':
      case '-h':
        throw new Error(USAGE)
      default:
        throw new Error(`unknown option “${arg ?? ''}”\n${USAGE}`)
    }
  }
  return out
}

export function browserKeychain(dataDir: string, env: NodeJS.ProcessEnv = process.env): { keychain: Keychain; status: KeychainStatusSource; problems: () => SmallFileProblem[] } {
  const passphrase = env['XENPILOT_PASSPHRASE']
  if (passphrase) {
    const file = join(dataDir, 'keychain.enc')
    const keychain = new PassphraseFileKeychain(file, passphrase)
    return { keychain, status: passphraseFileKeychainStatus(file, keychain), problems: () => (keychain.problem ? [keychain.problem] : []) }
  }
  return { keychain: new MemoryKeychain(), status: memoryKeychainStatus(), problems: () => [] }
}

export interface BrowserModeOptions {
  dataDir: string
  port?: number
  staticDir: string
  seed?: ConnectionSeed
  log?: (line: string) => void
  env?: NodeJS.ProcessEnv
  /** PoolManager tuning (tests shorten timers) */
  poolOptions?: RuntimeOptions['poolOptions']
  /** connect the saved servers right away (default true) */
  connectOnStart?: boolean
}

export interface BrowserMode {
  /** http://127.0.0.1:PORT/?token=T */
  url: string
  web: WebServer
  runtime: Runtime
  keychain: KeychainStatusSource
  close(): Promise<void>
}

/** The whole browser-mode app in this process: runtime + web server (used by the CLI, the demo and e2e tests). */
export async function startBrowserMode(opts: BrowserModeOptions): Promise<BrowserMode> {
  const log = opts.log ?? (() => {})
  const { keychain, status, problems } = browserKeychain(opts.dataDir, opts.env)
  const runtime = await startRuntime({
    dataDir: opts.dataDir,
    mode: 'browser',
    keychain,
    keychainStatus: status,
    // a damaged keychain.enc (set aside) is said with the start's other notices
    fileProblems: problems,
    appVersion: packageVersion(),
    versions: { node: process.versions.node, v8: process.versions.v8 },
    log,
    ...(opts.seed ? { seed: opts.seed } : {}),
    ...(opts.poolOptions ? { poolOptions: opts.poolOptions } : {}),
    ...(opts.connectOnStart !== undefined ? { connectOnStart: opts.connectOnStart } : {}),
  })
  let web: WebServer
  try {
    web = await startWebServer({
      services: runtime.services,
      staticDir: opts.staticDir,
      port: opts.port ?? 0,
      extraConnectSrc: [runtime.consoles.wsOrigin],
      log,
    })
  } catch (err) {
    await runtime.close()
    throw err
  }
  runtime.consoles.bridge.allowOrigin(web.origin)
  let closing: Promise<void> | undefined
  return {
    url: web.url,
    web,
    runtime,
    keychain: status,
    close() {
      closing ??= (async () => {
        await web.close()
        await runtime.close()
      })()
      return closing
    },
  }
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../package.json'), 'utf8')) as { version?: unknown }
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0'
  } catch {
    return '0.0.0'
  }
}

/** the command line: parse, start, print the URL first, stop on SIGINT/SIGTERM */
export async function runWebCli(argv: string[]): Promise<void> {
  const opts = parseWebCliArgs(argv)
  const log = (line: string): void => void process.stderr.write(`${line}\n`)
  installCrashNet(log)
  if (!existsSync(join(opts.staticDir, 'index.html'))) {
    log(`${opts.staticDir} holds no built renderer (index.html): the page will not load until it is built with \`npm run build:web\` (or \`npm run build:renderer\`); the API is served meanwhile`)
  }
  const app = await startBrowserMode({
    dataDir: opts.dataDir,
    port: opts.port,
    staticDir: opts.staticDir,
    log,
    ...(opts.seedFile ? { seed: readConnectionSeed(opts.seedFile) } : {}),
  })
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log(`${signal}: logging out of every pool and stopping`)
    const hardStop = setTimeout(() => process.exit(1), 15_000)
    hardStop.unref()
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`shutdown failed: ${(err as Error).message}`)
        process.exit(1)
      },
    )
  }
  // before the URL is printed: whoever reads that line may stop us at once (a signal arriving
  // between the two would otherwise kill the process without logging out or releasing the lock)
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.stdout.write(`${app.url}\n`)
  log(`XenPilot browser mode: data in ${opts.dataDir}; ${app.keychain.state().detail}`)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runWebCli(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`XenPilot browser mode could not start: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  })
}
