/**
 * The app in a process of its own, as shipped, for the benches that drive it from a page
 * (coldstart.bench.ts, app-memory.bench.ts): browser mode bundled the way `npm run build:web`
 * bundles it (web.vite.config.ts, with test/bench/bench-app.ts as the entry instead of cli.ts; the
 * cache's writer thread as worker.js next to it), started with `node <bundle>/web/bench-app.js` and
 * driven line by line over its stdin/stdout (the commands are in bench-app.ts). The bench process
 * holds playwright (and the simulator, if any): the app process's RSS is the app's alone.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
/** the app entry, for a start from the TypeScript sources under tsx (`node --import tsx <it>`: development) */
export const APP_SOURCE = join(ROOT, 'test/bench/bench-app.ts')

/**
 * Browser mode bundled into `outDir` (inside the repo: the bundle resolves node_modules from there)
 * as `npm run build:web` bundles it; returns the entry to run with node.
 */
export async function buildAppBundle(outDir: string): Promise<string> {
  const t0 = performance.now()
  process.env['XENPILOT_OUT_DIR'] = outDir
  const { build } = await import('vite')
  const { webBuildConfig } = await import('../../web.vite.config')
  // the bench's app entry instead of cli.js: one entry besides the worker, as in out/web
  await build({ ...webBuildConfig({ 'bench-app': APP_SOURCE }), configFile: false, logLevel: 'error' })
  const entry = join(outDir, 'web/bench-app.js')
  for (const f of [entry, join(outDir, 'web/worker.js')]) statSync(f)
  console.log(`# bundled browser mode (web.vite.config.ts + test/bench/bench-app.ts) in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  return entry
}

export interface AppProcess {
  child: ChildProcess
  pid: number
  /** a command line to the app */
  tell(line: string): void
  /** the rest of the next line the app prints that starts with `prefix` (lines before it are skipped) */
  next(prefix: string): Promise<string>
  /** 'exit' to the app, resolved once it ended */
  exit(): Promise<void>
}

/** `node <args>` (args: node flags, then the entry and its `<dataDir> <staticDir>`) */
export function startAppProcess(args: string[]): AppProcess {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'], cwd: ROOT })
  const pid = child.pid
  if (pid === undefined || !child.stdout || !child.stdin) throw new Error('the app process did not start')
  const stdin = child.stdin
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  return {
    child,
    pid,
    tell: (line) => void stdin.write(`${line}\n`),
    async next(prefix) {
      for (;;) {
        const r = await lines.next()
        if (r.done) throw new Error(`the app process ended before it said '${prefix}'`)
        if (r.value.startsWith(`${prefix} `) || r.value === prefix) return r.value.slice(prefix.length + 1)
      }
    },
    async exit() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const ended = new Promise((r) => child.once('exit', r))
      stdin.write('exit\n')
      await ended
    },
  }
}
