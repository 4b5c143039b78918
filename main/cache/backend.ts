/**
 * Who executes the cache's write operations.
 *
 * InlineBackend: the main thread, synchronously, in the bounded steps the CacheWriter schedules.
 * WorkerBackend: a worker_thread that owns its own connection to the same file (WAL lets the
 *   main thread keep reading meanwhile); the main thread only serialises rows and posts them.
 *
 * Both stop applying after the first failure (see ops.ts) and report it once.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'
import { StoreExecutor, type FromWorker, type StoreOp, type ToWorker } from './ops'
import { CacheStore, type PruneLimits } from './store'

export interface BackendFailure {
  op: StoreOp['op']
  code: string | undefined
  message: string
  error: unknown
  /** the worker thread never started (e.g. its file is missing from a build): nothing was applied */
  startup?: boolean
}

export interface Backend {
  readonly kind: 'inline' | 'worker'
  /** ops still executing (worker mode); the writer keeps this small for back-pressure */
  outstanding(): number
  submit(op: StoreOp, onResult?: (result: number) => void): void
  close(): Promise<void>
}

export class InlineBackend implements Backend {
  readonly kind = 'inline'
  private readonly exec: StoreExecutor
  private failed = false

  constructor(
    db: Database.Database,
    prune: PruneLimits,
    private readonly onFailure: (f: BackendFailure) => void,
  ) {
    this.exec = new StoreExecutor(new CacheStore(db, prune))
  }

  outstanding(): number {
    return 0
  }

  submit(op: StoreOp, onResult?: (result: number) => void): void {
    if (this.failed) return
    let result: number
    try {
      result = this.exec.run(op)
    } catch (e) {
      this.failed = true
      const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined
      this.onFailure({ op: op.op, code, message: e instanceof Error ? e.message : String(e), error: e })
      return
    }
    onResult?.(result)
  }

  async close(): Promise<void> {
    this.failed = true
  }
}

/** URL of the worker entry next to this module (.ts under tsx/vitest, .js when built). */
function workerUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  return new URL(`./worker${ext}`, import.meta.url)
}

export class WorkerBackend implements Backend {
  readonly kind = 'worker'
  private readonly worker: Worker
  private nextId = 1
  private readonly waiting = new Map<number, { op: StoreOp['op']; onResult: ((r: number) => void) | undefined }>()
  private failed = false
  private ready = false
  private exited = false
  private closing: Promise<void> | undefined

  constructor(
    path: string,
    prune: PruneLimits,
    maxSizeBytes: number | undefined,
    private readonly onFailure: (f: BackendFailure) => void,
    private readonly onIdle: () => void,
    url: URL = workerUrl(),
  ) {
    if (url.pathname.endsWith('.ts')) {
      // Running from TypeScript sources (tests, browser mode under tsx): the worker registers tsx
      // itself, because loader flags of the parent do not reach worker threads on Node 20.
      const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'))
      const tsxApi = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href
      const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}) })`
      this.worker = new Worker(boot, { eval: true, workerData: { path, prune, maxSizeBytes }, execArgv: [] })
    } else {
      this.worker = new Worker(url, { workerData: { path, prune, maxSizeBytes } })
    }
    // Referenced only while it has work (or is closing): an idle cache never keeps a process alive,
    // and pending writes / close() are never cut short by the process thinking it is done.
    this.worker.unref()
    this.worker.on('message', (m: FromWorker) => this.onMessage(m))
    this.worker.on('error', (e) => this.fail('worker', undefined, e))
    this.worker.on('exit', (code) => {
      this.exited = true
      if (!this.closing && code !== 0) this.fail('worker', undefined, new Error(`cache worker exited with code ${code}`))
    })
  }

  private fail(op: StoreOp['op'] | 'worker', code: string | undefined, e: unknown): void {
    const message = e instanceof Error ? e.message : String(e)
    if (this.failed) return
    this.failed = true
    this.waiting.clear()
    this.onFailure({ op: op === 'worker' ? 'batch' : op, code, message, error: e, ...(this.ready ? {} : { startup: true }) })
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'ready') {
      this.ready = true
    } else if (m.type === 'done') {
      const w = this.waiting.get(m.id)
      this.waiting.delete(m.id)
      if (this.waiting.size === 0 && !this.closing) this.worker.unref()
      w?.onResult?.(m.result)
      this.onIdle()
    } else if (m.type === 'error') {
      const w = this.waiting.get(m.id)
      const err = Object.assign(new Error(m.message), m.code ? { code: m.code } : {})
      this.fail(w?.op ?? 'batch', m.code, err)
    }
  }

  outstanding(): number {
    return this.waiting.size
  }

  submit(op: StoreOp, onResult?: (result: number) => void): void {
    if (this.failed) return
    const id = this.nextId++
    if (this.waiting.size === 0) this.worker.ref()
    this.waiting.set(id, { op: op.op, onResult })
    const msg: ToWorker = { type: 'op', id, op }
    this.worker.postMessage(msg)
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.failed = true
      if (this.exited) {
        resolve()
        return
      }
      this.worker.ref()
      const done = (): void => resolve()
      this.worker.once('exit', done)
      const msg: ToWorker = { type: 'close' }
      this.worker.postMessage(msg)
      // A worker stuck in a long statement still ends: terminate after a grace period.
      const t = setTimeout(() => void this.worker.terminate(), 10_000)
      t.unref()
    })
    return this.closing
  }
}
