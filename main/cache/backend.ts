/**
 * Who executes the cache's write operations.
 *
 * InlineBackend: the main thread, synchronously, in the bounded steps the CacheWriter schedules.
 * WorkerBackend: a worker_thread that owns its own connection to the same file (WAL lets the
 *   main thread keep reading meanwhile); the main thread only serialises rows and posts them.
 *   The thread is started by the first op, not by the constructor: a process that only reads
 *   the cache (a cold start browsing cached pools) never pays for it (≈ 30 MB of RSS measured
 *   with the coldstart bench: a worker's own V8 isolate and heap, its SQLite connection and page
 *   cache).
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
  /**
   * startup: every op handed to the backend, in order, with its callback — none was applied, so
   * whoever takes over can apply them all and lose nothing
   */
  unapplied?: { op: StoreOp; onResult: ((result: number) => void) | undefined }[]
}

export interface Backend {
  readonly kind: 'inline' | 'worker'
  /** worker: whether the thread was started (by the first op); inline: false */
  started(): boolean
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

  started(): boolean {
    return false
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
  /** started by the first submit() */
  private worker: Worker | undefined
  private nextId = 1
  private readonly waiting = new Map<number, { op: StoreOp['op']; onResult: ((r: number) => void) | undefined }>()
  /** ops posted before the thread said 'ready' (kept for a startup failure: none of them was applied) */
  private beforeReady: { op: StoreOp; onResult: ((r: number) => void) | undefined }[] | undefined = []
  private failed = false
  /** new Worker() threw: the failure is reported in a microtask */
  private startFailed = false
  private ready = false
  private exited = false
  private closing: Promise<void> | undefined

  constructor(
    private readonly path: string,
    private readonly prune: PruneLimits,
    private readonly maxSizeBytes: number | undefined,
    private readonly onFailure: (f: BackendFailure) => void,
    private readonly onIdle: () => void,
    private readonly url: URL = workerUrl(),
  ) {}

  started(): boolean {
    return this.worker !== undefined
  }

  /** Starts the thread (once). A start that throws is reported as a startup failure, after the current call. */
  private start(): Worker | undefined {
    if (this.worker) return this.worker
    if (this.startFailed) return undefined
    const workerData = { path: this.path, prune: this.prune, maxSizeBytes: this.maxSizeBytes }
    let worker: Worker
    try {
      if (this.url.pathname.endsWith('.ts')) {
        // Running from TypeScript sources (tests, browser mode under tsx): the worker registers tsx
        // itself, because loader flags of the parent do not reach worker threads on Node 20.
        const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'))
        const tsxApi = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href
        const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(this.url.href)}) })`
        worker = new Worker(boot, { eval: true, workerData, execArgv: [] })
      } else {
        worker = new Worker(this.url, { workerData })
      }
    } catch (e) {
      // Reported as a thread that died before 'ready', once the caller's current step is over (it
      // may be half-way through its bookkeeping); the ops it submits meanwhile are kept with the
      // others and handed over with the failure.
      this.startFailed = true
      queueMicrotask(() => this.fail('worker', undefined, e))
      return undefined
    }
    this.worker = worker
    // Referenced only while it has work (or is closing): an idle cache never keeps a process alive,
    // and pending writes / close() are never cut short by the process thinking it is done.
    worker.unref()
    worker.on('message', (m: FromWorker) => this.onMessage(m))
    worker.on('error', (e) => this.fail('worker', undefined, e))
    worker.on('exit', (code) => {
      this.exited = true
      if (!this.closing && code !== 0) this.fail('worker', undefined, new Error(`cache worker exited with code ${code}`))
    })
    return worker
  }

  private fail(op: StoreOp['op'] | 'worker', code: string | undefined, e: unknown): void {
    const message = e instanceof Error ? e.message : String(e)
    if (this.failed) return
    this.failed = true
    this.waiting.clear()
    const unapplied = this.beforeReady
    this.beforeReady = undefined
    this.onFailure({ op: op === 'worker' ? 'batch' : op, code, message, error: e, ...(this.ready ? {} : { startup: true, unapplied: unapplied ?? [] }) })
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'ready') {
      this.ready = true
      this.beforeReady = undefined
    } else if (m.type === 'done') {
      const w = this.waiting.get(m.id)
      this.waiting.delete(m.id)
      if (this.waiting.size === 0 && !this.closing) this.worker?.unref()
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
    this.beforeReady?.push({ op, onResult })
    const worker = this.start()
    // could not be created: the op stays in beforeReady, handed over with the failure
    if (!worker) return
    const id = this.nextId++
    if (this.waiting.size === 0) worker.ref()
    this.waiting.set(id, { op: op.op, onResult })
    const msg: ToWorker = { type: 'op', id, op }
    worker.postMessage(msg)
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.failed = true
      this.beforeReady = undefined
      const worker = this.worker
      // never started (a cache that was only read), or already gone: nothing to stop
      if (!worker || this.exited) {
        resolve()
        return
      }
      worker.ref()
      const done = (): void => resolve()
      worker.once('exit', done)
      const msg: ToWorker = { type: 'close' }
      worker.postMessage(msg)
      // A worker stuck in a long statement still ends: terminate after a grace period.
      const t = setTimeout(() => void worker.terminate(), 10_000)
      t.unref()
    })
    return this.closing
  }
}
