/**
 * Cache worker thread (worker mode): owns a write connection to the cache file and applies the
 * ops the main thread's CacheWriter posts, in order. Stops applying after the first failure so
 * the file stays at the last complete batch. Plain Node, no Electron.
 */
import Database from 'better-sqlite3'
import { parentPort, workerData } from 'node:worker_threads'
import { limitSize } from './open'
import { StoreExecutor, type FromWorker, type ToWorker } from './ops'
import { CacheStore, type PruneLimits } from './store'

interface WorkerData {
  path: string
  prune: PruneLimits
  maxSizeBytes?: number
}

function isWorkerData(v: unknown): v is WorkerData {
  return typeof v === 'object' && v !== null && 'path' in v && typeof v.path === 'string' && 'prune' in v
}

const port = parentPort
if (!port) throw new Error('main/cache/worker.ts must run as a worker thread')
if (!isWorkerData(workerData)) throw new Error('cache worker: bad workerData')

const db = new Database(workerData.path, { fileMustExist: true })
db.pragma('busy_timeout = 5000')
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
db.pragma('journal_size_limit = 16777216')
db.pragma('secure_delete = FAST')
if (typeof workerData.maxSizeBytes === 'number') limitSize(db, workerData.maxSizeBytes)
const exec = new StoreExecutor(new CacheStore(db, workerData.prune))
let failed = false

function post(m: FromWorker): void {
  port?.postMessage(m)
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'close') {
    db.close()
    post({ type: 'closed' })
    port.close()
    return
  }
  if (failed) return
  try {
    post({ type: 'done', id: m.id, result: exec.run(m.op) })
  } catch (e) {
    failed = true
    const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined
    post({ type: 'error', id: m.id, message: e instanceof Error ? e.message : String(e), ...(code ? { code } : {}) })
  }
})
post({ type: 'ready' })
