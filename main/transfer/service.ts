/**
 * Moves VMs and disks between pools and files on the machine running the services (issue 14).
 *
 * Every transfer is one user action of the one ActionRunner (history entry, Activity row through
 * operation.progress with the transfer's id), runs under a XAPI task of its own (task.create, passed
 * as task_id, so task.cancel — ours or the Activity panel's — stops the host), and streams between
 * the socket and the file through the one HTTP helper on the pinned agent (main/xapi/http.ts):
 * never the image in memory, no time limit of ours (only a stall of IDLE_MS between two chunks).
 *
 * - Export VM: GET /export from the master; a 302 to the host that sees the VM's SRs is followed
 *   with that host's own pin. Written to `<file>.part`, renamed when the task succeeded, with
 *   `<file>.sha256` beside it (sha256sum format). Cancel or failure removes the .part file.
 * - Export disk: GET /export_raw_vdi as raw or VHD, same handling; a VHD is read back (vhd-file.ts)
 *   before it is kept, since its length is not announced.
 * - Import VM: the file walked first (files.ts inspectFile: a cut or damaged XVA is refused before
 *   upload), PUT /import with its real Content-Length to the host of the SR when the SR is local
 *   (else the master); then VIF.move onto the chosen networks, the name, and VM.start if asked.
 * - Import disk: a raw image or a VHD (checked end to end first), VDI.create of the disk's size,
 *   PUT /import_raw_vdi with the format (a fixed VHD: its data as raw, without the footer); a
 *   failure destroys the VDI it created.
 * A queue runs at most TRANSFER_CONCURRENCY at once; the states live here, so a window reload
 * (transfer.list) finds them.
 */
import { createHash, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { open, rename, rm, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { TRANSFER_CONCURRENCY, type Compression, type DiskFormat, type TransferKind, type TransferState } from '../../shared/contract/transfer'
import { ActionRefusal, type ActionContext, type ActionResult, type ActionRunner } from '../operations/action'
import type { PoolGraph, PoolHostAccess, PoolManagerApi } from '../pools/api'
import { hostRequest } from '../xapi/http'
import { parseXmlRpcFragment } from '../xapi/xmlrpc'
import { checkExportPath, FileRefusal, inspectFile } from './files'
import { checkVhdFile } from './vhd-file'

/** the longest the host may stay silent in the middle of a transfer */
const IDLE_MS = 5 * 60_000
/** how often the task's progress and status are read while bytes flow */
const POLL_MS = 1000
/** reads and writes of the file: 1 MiB at a time */
const FILE_CHUNK = 1024 * 1024

export interface TransferServiceOptions {
  pools: Pick<PoolManagerApi, 'call' | 'get' | 'graph'>
  hosts: PoolHostAccess
  actions: ActionRunner
  /** every change of a transfer's state (broadcast as transfer.changed) */
  onChange: (s: TransferState) => void
  concurrency?: number
}

/** a failure of our own (file, network), with the sentence people read */
function failure(message: string): Error & { code: string; params: string[] } {
  return Object.assign(new Error(message), { code: 'TRANSFER_FAILED', params: [message] })
}

interface Job {
  state: TransferState
  run: (job: Job, ctx: ActionContext) => Promise<string | undefined>
  abort: AbortController
  cancelRequested: boolean
  /** the file written while an export runs */
  partial?: string
}

type Rec = Record<string, unknown>
const str = (v: unknown): string => (typeof v === 'string' ? v : '')

/** counts the bytes of a file on their way to the host (1 MiB reads: a stage costs little here) */
class Counter extends Transform {
  bytes = 0
  constructor(private readonly onBytes: (n: number) => void) {
    super({ highWaterMark: FILE_CHUNK })
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length
    this.onBytes(this.bytes)
    cb(null, chunk)
  }
}

export class TransferService {
  private readonly jobs = new Map<string, Job>()
  private readonly queue: Job[] = []
  private running = 0
  private readonly limit: number

  constructor(private readonly o: TransferServiceOptions) {
    this.limit = o.concurrency ?? TRANSFER_CONCURRENCY
  }

  list(): TransferState[] {
    return [...this.jobs.values()].map((j) => ({ ...j.state }))
  }

  // --- starting ------------------------------------------------------------------------------------

  async exportVm(a: { connectionId: string; ref: string; path: string; compression: Compression; overwrite: boolean }): Promise<TransferState> {
    const g = this.graph(a.connectionId)
    const vm = g.get('VM', a.ref)
    if (!vm) throw new ActionRefusal('That VM is not in the pool any more.')
    const name = str(vm.name_label) || a.ref
    if (vm.power_state === 'Running' || vm.power_state === 'Paused') throw new ActionRefusal(`${name} is running; shut it down (or export a snapshot of it) first.`)
    const check = await checkExportPath(a.path, { need: this.vmFootprint(g, a.ref), overwrite: a.overwrite })
    if (!check.ok) throw new ActionRefusal(check.message)
    return this.enqueue('export-vm', a.connectionId, a.ref, vm.is_a_snapshot === true ? 'Export snapshot' : 'Export VM', name, a.path, undefined, (job, ctx) =>
      this.download(job, ctx, '/export', { uuid: str(vm.uuid), ...(a.compression !== 'none' ? { use_compression: a.compression } : {}) }, this.masterAddress(g)),
    )
  }

  async exportDisk(a: { connectionId: string; ref: string; path: string; format: DiskFormat; overwrite: boolean }): Promise<TransferState> {
    const g = this.graph(a.connectionId)
    const vdi = g.get('VDI', a.ref)
    if (!vdi) throw new ActionRefusal('That disk is not in the pool any more.')
    const size = Number(vdi.virtual_size ?? 0)
    // a VHD holds the blocks with data: at most what the disk uses, plus its headers and a 2 MiB block's rounding
    const used = Number(vdi.physical_utilisation ?? size)
    const need = a.format === 'vhd' ? Math.min(size, used > 0 ? used : size) + 4 * 1024 * 1024 : size
    const check = await checkExportPath(a.path, { need, overwrite: a.overwrite })
    if (!check.ok) throw new ActionRefusal(check.message)
    // a VHD's length is not known before it ends (XAPI sends no Content-Length): progress from task.progress
    return this.enqueue('export-disk', a.connectionId, a.ref, a.format === 'vhd' ? 'Export disk (VHD)' : 'Export disk', str(vdi.name_label) || a.ref, a.path, a.format === 'vhd' ? undefined : size, (job, ctx) =>
      this.download(job, ctx, '/export_raw_vdi', { vdi: str(vdi.uuid), format: a.format }, this.masterAddress(g), a.format === 'vhd' ? verifyVhd : undefined),
    )
  }

  async importVm(a: { connectionId: string; path: string; sr: string; name?: string | undefined; networks: Record<string, string>; start: boolean }): Promise<TransferState> {
    const g = this.graph(a.connectionId)
    if (!g.get('SR', a.sr)) throw new ActionRefusal('That storage repository is not in the pool any more.')
    for (const net of Object.values(a.networks)) if (!g.get('network', net)) throw new ActionRefusal('A chosen network is not in the pool any more.')
    const info = await this.inspectOrRefuse(a.path, 'xva')
    const host = this.hostSeeing(g, [a.sr])
    const networksBefore = new Set(g.all('network').keys())
    return this.enqueue('import-vm', a.connectionId, undefined, 'Import VM', a.name ?? info.vm?.name ?? basename(a.path), a.path, info.size, async (job, ctx) => {
      const result = await this.upload(job, ctx, '/import', { sr_id: a.sr }, host)
      const vmRef = vmRefOf(result)
      if (!vmRef) throw failure('The pool imported the file but did not say which VM it made.')
      job.state.ref = vmRef
      await this.afterImport(ctx, vmRef, a, networksBefore)
      return vmRef
    })
  }

  async importDisk(a: { connectionId: string; path: string; sr: string; name: string }): Promise<TransferState> {
    const g = this.graph(a.connectionId)
    if (!g.get('SR', a.sr)) throw new ActionRefusal('That storage repository is not in the pool any more.')
    // a VHD is checked end to end here (a hostile one is refused before anything is created)
    const info = await this.inspectOrRefuse(a.path, 'disk')
    // a fixed VHD is its disk's bytes then a footer: the bytes go as a raw image (vhd-tool streams
    // only VHDs that start with a footer copy); a dynamic VHD goes as it is
    const fixed = info.kind === 'vhd' && info.vhdType === 'fixed'
    const format = info.kind === 'vhd' && !fixed ? 'vhd' : 'raw'
    const sent = fixed ? (info.diskSize ?? info.size) : info.size
    const host = this.hostSeeing(g, [a.sr])
    return this.enqueue('import-disk', a.connectionId, undefined, info.kind === 'vhd' ? 'Import disk (VHD)' : 'Import disk', a.name, a.path, sent, async (job, ctx) => {
      const size = Math.ceil((info.diskSize ?? info.size) / 512) * 512
      const vdi = str(await ctx.call('VDI.create', [{ name_label: a.name, name_description: `Imported from ${basename(a.path)}`, SR: a.sr, virtual_size: String(size), type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] }]))
      job.state.ref = vdi
      try {
        await this.upload(job, ctx, '/import_raw_vdi', { vdi, format }, host)
      } catch (e) {
        // the disk this import made goes with it: nothing is left behind
        await ctx.call('VDI.destroy', [vdi]).catch(() => undefined)
        throw e
      }
      return vdi
    })
  }

  /** cancel: a queued transfer never starts; a running one has its task cancelled and its connection closed */
  async cancel(id: string): Promise<void> {
    const job = this.jobs.get(id)
    if (!job) throw new ActionRefusal('There is no such transfer.')
    const s = job.state
    if (s.status === 'queued') {
      this.queue.splice(this.queue.indexOf(job), 1)
      this.finish(job, 'cancelled', 'Cancelled before it started.')
      return
    }
    if (s.status !== 'running' && s.status !== 'finishing') return
    job.cancelRequested = true
    if (s.taskRef) await this.o.pools.call(s.connectionId, 'task.cancel', [s.taskRef]).catch(() => undefined)
    // the host stops and ends the stream; if it does not within a few seconds, we close it
    setTimeout(() => job.abort.abort(), 3000).unref()
  }

  // --- the queue -----------------------------------------------------------------------------------

  private enqueue(kind: TransferKind, connectionId: string, ref: string | undefined, title: string, objectName: string, path: string, totalBytes: number | undefined, run: Job['run']): TransferState {
    const state: TransferState = {
      id: randomUUID(),
      kind,
      connectionId,
      ...(ref ? { ref } : {}),
      title,
      objectName,
      path,
      status: 'queued',
      bytes: 0,
      ...(totalBytes !== undefined ? { totalBytes } : {}),
      progress: 0,
      rate: 0,
      queuedAt: new Date().toISOString(),
    }
    const job: Job = { state, run, abort: new AbortController(), cancelRequested: false }
    this.jobs.set(state.id, job)
    this.queue.push(job)
    this.changed(job)
    this.pump()
    return { ...state }
  }

  private pump(): void {
    while (this.running < this.limit && this.queue.length > 0) {
      const job = this.queue.shift()
      if (!job) return
      this.running++
      void this.start(job).finally(() => {
        this.running--
        this.pump()
      })
    }
  }

  private async start(job: Job): Promise<void> {
    const s = job.state
    s.status = 'running'
    s.startedAt = new Date().toISOString()
    this.changed(job)
    let outcome: ActionResult
    try {
      outcome = await this.o.actions.run({
        id: s.id,
        connectionId: s.connectionId,
        cls: s.kind.endsWith('disk') ? 'VDI' : 'VM',
        ref: s.ref ?? 'OpaqueRef:NULL',
        objectName: s.objectName,
        title: s.title,
        params: { path: s.path },
        steps: 1,
        work: async (ctx) => {
          const created = await job.run(job, ctx)
          return created ? { created } : undefined
        },
      })
    } catch (e) {
      outcome = { connectionId: s.connectionId, ref: s.ref ?? '', ok: false, error: { code: 'TRANSFER_FAILED', params: [], message: e instanceof Error ? e.message : String(e) } }
    }
    if (job.partial) await rm(job.partial, { force: true }).catch(() => undefined)
    if (outcome.ok) this.finish(job, 'done')
    else if (outcome.error?.code === 'TASK_CANCELLED' || job.cancelRequested) this.finish(job, 'cancelled', s.kind.startsWith('export') ? 'Cancelled; the partial file was removed.' : 'Cancelled; nothing was imported.', 'TASK_CANCELLED')
    else this.finish(job, 'failed', outcome.error?.message ?? 'The transfer failed.', outcome.error?.code)
  }

  private finish(job: Job, status: 'done' | 'failed' | 'cancelled', message?: string, code?: string): void {
    const s = job.state
    s.status = status
    s.finishedAt = new Date().toISOString()
    s.rate = 0
    if (status === 'done') s.progress = 1
    if (message) s.message = message
    if (code) s.errorCode = code
    this.changed(job)
  }

  private lastEmit = new Map<string, number>()
  private changed(job: Job, throttle = false): void {
    const now = Date.now()
    if (throttle && now - (this.lastEmit.get(job.state.id) ?? 0) < 250) return
    this.lastEmit.set(job.state.id, now)
    this.o.onChange({ ...job.state })
  }

  // --- the transfers ---------------------------------------------------------------------------------

  /** a task of our own for the host to run the transfer under */
  private async newTask(job: Job, ctx: ActionContext): Promise<string> {
    const task = str(await ctx.call('task.create', [`${job.state.title}: ${job.state.objectName}`, `XenPilot: ${job.state.path}`]))
    job.state.taskRef = task
    this.changed(job)
    return task
  }

  /** the task's progress while bytes flow, and its end */
  private async taskRecord(connectionId: string, task: string): Promise<Rec | undefined> {
    try {
      const r = await this.o.pools.call(connectionId, 'task.get_record', [task])
      return r && typeof r === 'object' ? (r as Rec) : undefined
    } catch {
      return undefined
    }
  }

  /** waits for the task to end (the host marks it after the last byte); throws its failure */
  private async taskOutcome(job: Job, task: string): Promise<string> {
    for (let i = 0; ; i++) {
      const r = await this.taskRecord(job.state.connectionId, task)
      const status = str(r?.status)
      if (status === 'success') return str(r?.result)
      if (status === 'failure' || status === 'cancelled') {
        const info = Array.isArray(r?.error_info) ? r.error_info.map(String) : []
        const [code = 'INTERNAL_ERROR', ...params] = status === 'cancelled' ? ['TASK_CANCELLED', task] : info
        throw Object.assign(new Error(code), { code, params })
      }
      if (!r && i > 3) throw failure('The pool no longer knows the transfer’s task; its outcome is unknown.')
      await new Promise((res) => setTimeout(res, Math.min(1000, 50 * 2 ** i)))
    }
  }

  /**
   * Why a request failed: the task's failure when the host ended it (it may take a moment after
   * the connection closed), else the request's own error — and then the task, which no host will
   * finish, is cancelled.
   */
  private async whyNot(job: Job, task: string, e: unknown): Promise<unknown> {
    for (let i = 0; i < 10; i++) {
      const r = await this.taskRecord(job.state.connectionId, task)
      const status = str(r?.status)
      if (status === 'failure' || status === 'cancelled') {
        const info = Array.isArray(r?.error_info) ? r.error_info.map(String) : []
        const [code = 'INTERNAL_ERROR', ...params] = status === 'cancelled' ? ['TASK_CANCELLED', task] : info
        return Object.assign(new Error(code), { code, params })
      }
      if (status !== 'pending' || !r || Number(r.progress) === 0) break
      await new Promise((res) => setTimeout(res, 200))
    }
    await this.o.pools.call(job.state.connectionId, 'task.cancel', [task]).catch(() => undefined)
    if (job.cancelRequested) return Object.assign(new Error('cancelled'), { code: 'TASK_CANCELLED', params: [task] })
    return failure(e instanceof Error ? e.message : String(e))
  }

  private watch(job: Job, ctx: ActionContext, task: string, known: () => number | undefined): () => void {
    let stop = false
    let last = { at: Date.now(), bytes: 0 }
    const tick = async (): Promise<void> => {
      while (!stop) {
        await new Promise((r) => setTimeout(r, POLL_MS))
        if (stop) return
        const r = await this.taskRecord(job.state.connectionId, task)
        const s = job.state
        const now = Date.now()
        s.rate = Math.max(0, Math.round(((s.bytes - last.bytes) * 1000) / Math.max(1, now - last.at)))
        last = { at: now, bytes: s.bytes }
        const total = known()
        const p = total ? s.bytes / total : typeof r?.progress === 'number' ? r.progress : s.progress
        s.progress = Math.max(s.progress, Math.min(0.99, p))
        ctx.progress(s.progress, task)
        this.changed(job)
      }
    }
    // the Activity row appears when the transfer starts, not at the first poll (a small transfer can
    // end before it)
    ctx.progress(job.state.progress, task)
    void tick()
    return () => {
      stop = true
    }
  }

  private async download(job: Job, ctx: ActionContext, path: string, query: Record<string, string>, host: string, verify?: (file: string) => Promise<string | undefined>): Promise<undefined> {
    const s = job.state
    const task = await this.newTask(job, ctx)
    const part = `${s.path}.part`
    job.partial = part
    const stopWatch = this.watch(job, ctx, task, () => s.totalBytes)
    try {
      // counted and hashed as the chunks arrive (onChunk: no stream stage of its own, see http.ts),
      // straight from the socket into the file. Measured 2026-12-08 (load1 9–13, 512 MiB from a local
      // TLS server): this path costs what a bare https.get piped to a file costs (≈0.95 vs ≈0.9 s user
      // per 512 MiB: Node's one callback chain per 16 KiB TLS record), plus the SHA-256 (≈0.7–1 s/GiB
      // there); curl ≈0.5 s/GiB. Tried and left out: 1 MiB pieces copied together (fresh or reused
      // buffers) before hashing and writing — 2–3× the system time and slower.
      const hash = createHash('sha256')
      const onChunk = (c: Buffer): void => {
        hash.update(c)
        s.bytes += c.length
        this.changed(job, true)
      }
      let body
      try {
        body = await hostRequest(this.o.hosts.hostHttp(s.connectionId), host, { path, query: { ...query, task_id: task }, timeoutMs: 60_000, idleTimeoutMs: IDLE_MS, signal: job.abort.signal, purpose: 'transfer', onChunk })
      } catch (e) {
        // the host refused before sending anything (its task says why), or we never reached it
        throw await this.whyNot(job, task, e)
      }
      try {
        await pipeline(body.body, createWriteStream(part, { highWaterMark: FILE_CHUNK }))
      } catch (e) {
        if (job.cancelRequested) throw Object.assign(new Error('cancelled'), { code: 'TASK_CANCELLED', params: [task] })
        const why = e instanceof Error ? e.message : String(e)
        // the disk refused (ENOSPC) or the connection broke; the task may say more
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'ENOSPC' || code === 'EDQUOT') throw failure(`The disk holding ${s.path} is full; the export stopped after ${s.bytes} bytes and its partial file was removed.`)
        // the task says why the host stopped (cancelled from the Activity panel's Tasks tab or by
        // another client: then the export is cancelled, not failed); else it is cancelled here
        throw await this.whyNot(job, task, new Error(`The export stopped: ${why}`))
      }
      s.status = 'finishing'
      this.changed(job)
      // a cut connection reads as the end of an XVA (it has no length): only the task says it is whole
      await this.taskOutcome(job, task)
      if (s.totalBytes !== undefined && s.bytes !== s.totalBytes) throw failure(`The host sent ${s.bytes} of ${s.totalBytes} bytes.`)
      const wrong = await verify?.(part)
      if (wrong) throw failure(`The host's file is not whole, so it was not kept: ${wrong}`)
      s.sha256 = hash.digest('hex')
      await rename(part, s.path)
      job.partial = undefined
      s.checksumPath = `${s.path}.sha256`
      await writeFile(s.checksumPath, `${s.sha256}  ${basename(s.path)}\n`)
      return undefined
    } finally {
      stopWatch()
      await this.o.pools.call(s.connectionId, 'task.destroy', [task]).catch(() => undefined)
    }
  }

  private async upload(job: Job, ctx: ActionContext, path: string, query: Record<string, string>, host: string): Promise<string> {
    const s = job.state
    const task = await this.newTask(job, ctx)
    const size = s.totalBytes ?? 0
    const stopWatch = this.watch(job, ctx, task, () => s.totalBytes)
    try {
      // the first `size` bytes of the file (a fixed VHD's footer stays behind)
      const file = createReadStream(s.path, { highWaterMark: FILE_CHUNK, start: 0, end: Math.max(0, size - 1) })
      const counter = new Counter((n) => {
        s.bytes = n
        this.changed(job, true)
      })
      file.on('error', (e) => counter.destroy(e))
      file.pipe(counter)
      try {
        const res = await hostRequest(this.o.hosts.hostHttp(s.connectionId), host, { path, method: 'PUT', query: { ...query, task_id: task }, body: counter, contentLength: size, timeoutMs: 10 * 60_000, idleTimeoutMs: IDLE_MS, signal: job.abort.signal, purpose: 'transfer', maxRedirects: 0 })
        res.body.resume()
      } catch (e) {
        // the host refused the file (its task says why: IMPORT_ERROR_*) or the connection broke
        throw await this.whyNot(job, task, e)
      } finally {
        file.destroy()
      }
      s.status = 'finishing'
      this.changed(job)
      return await this.taskOutcome(job, task)
    } finally {
      stopWatch()
      await this.o.pools.call(s.connectionId, 'task.destroy', [task]).catch(() => undefined)
    }
  }

  /**
   * The imported VM onto the chosen networks, renamed, started. A NIC is moved with VIF.move; a pool
   * older than XenServer 7.1 has no VIF.move (MESSAGE_METHOD_UNKNOWN), so the NIC is destroyed and
   * made again on the chosen network with the same device, MAC, MTU and settings (the VM is halted).
   * A network the import itself made for a NIC (XAPI creates one when the file's network matches
   * none of the pool's) is destroyed once no NIC or PIF uses it: nothing is left behind.
   */
  private async afterImport(ctx: ActionContext, vm: string, a: { name?: string | undefined; networks: Record<string, string>; start: boolean }, networksBefore: ReadonlySet<string>): Promise<void> {
    if (a.name) await ctx.call('VM.set_name_label', [vm, a.name])
    const vifs = (await ctx.call('VM.get_VIFs', [vm])) as unknown
    const madeByImport = new Set<string>()
    for (const vif of Array.isArray(vifs) ? vifs.map(String) : []) {
      const device = str(await ctx.call('VIF.get_device', [vif]))
      const current = str(await ctx.call('VIF.get_network', [vif]))
      if (!networksBefore.has(current)) madeByImport.add(current)
      const target = a.networks[device]
      if (!target || current === target) continue
      try {
        await ctx.call('VIF.move', [vif, target])
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'MESSAGE_METHOD_UNKNOWN') throw e
        await recreateVif(ctx, vm, vif, target)
      }
    }
    for (const net of madeByImport) {
      const used = [...((await ctx.call('network.get_VIFs', [net]).catch(() => ['?'])) as unknown[]), ...((await ctx.call('network.get_PIFs', [net]).catch(() => ['?'])) as unknown[])]
      if (used.length === 0) await ctx.call('network.destroy', [net]).catch(() => undefined)
    }
    if (a.start) {
      ctx.steps(2)
      await ctx.task('VM.start', [vm, false, false])
    }
  }

  // --- the pool --------------------------------------------------------------------------------------

  private graph(connectionId: string): PoolGraph {
    const c = this.o.pools.get(connectionId)
    const g = this.o.pools.graph(connectionId)
    if (!c || !g) throw new ActionRefusal('There is no such server.')
    return g
  }

  /** downloads go to the master, as XenCenter sends them: it answers 302 to the server that sees the SRs, followed with that server's own pin */
  private masterAddress(g: PoolGraph): string {
    const master = str([...g.all('pool').values()][0]?.master)
    const address = str(g.get('host', master)?.address)
    if (!address) throw new ActionRefusal('XenPilot does not know the address of the pool master.')
    return address
  }

  /** what an XVA of the VM takes at most: its disks' allocated bytes (zeros are left out) */
  private vmFootprint(g: PoolGraph, vm: string): number {
    let n = 0
    for (const vbd of g.linked('VM', vm, 'VBDs', 'VBD')) {
      const r = g.get('VBD', vbd)
      if (r?.type === 'Disk') n += Number(g.get('VDI', str(r.VDI))?.physical_utilisation ?? 0)
    }
    return n
  }

  /**
   * The address to send an upload to: the master when it sees the SR (shared storage), else the
   * server whose local SR it is (an upload cannot follow a redirect once its body is on the way).
   */
  private hostSeeing(g: PoolGraph, srs: string[]): string {
    const pool = [...g.all('pool').values()][0]
    const master = str(pool?.master)
    const sees = (host: string): boolean =>
      srs.every((sr) => g.linked('SR', sr, 'PBDs', 'PBD').some((p) => str(g.get('PBD', p)?.host) === host && g.get('PBD', p)?.currently_attached === true))
    const hosts = [master, ...[...g.all('host').keys()].filter((h) => h !== master)]
    const chosen = hosts.find(sees) ?? master
    const address = str(g.get('host', chosen)?.address)
    if (!address) throw new ActionRefusal('XenPilot does not know the address of the server that holds this storage.')
    return address
  }

  private async inspectOrRefuse(path: string, expect: 'xva' | 'disk') {
    try {
      return await inspectFile(path, expect)
    } catch (e) {
      if (e instanceof FileRefusal) throw new ActionRefusal(e.message)
      throw e
    }
  }
}

/** a NIC made again on another network (pools without VIF.move): what it was, on `network` */
async function recreateVif(ctx: ActionContext, vm: string, vif: string, network: string): Promise<void> {
  const r = (await ctx.call('VIF.get_record', [vif])) as Rec
  const keep = ['device', 'MAC', 'MTU', 'other_config', 'qos_algorithm_type', 'qos_algorithm_params', 'locking_mode', 'ipv4_allowed', 'ipv6_allowed']
  const args: Rec = { VM: vm, network }
  for (const k of keep) if (r[k] !== undefined) args[k] = r[k]
  await ctx.call('VIF.destroy', [vif])
  await ctx.call('VIF.create', [args])
}

/** an exported VHD read back as an import would read it: undefined when whole, else why not */
async function verifyVhd(file: string): Promise<string | undefined> {
  const fh = await open(file, 'r')
  try {
    const r = await checkVhdFile(fh, (await fh.stat()).size, basename(file))
    return typeof r === 'string' ? r : undefined
  } finally {
    await fh.close()
  }
}

/** the VM an import made: XAPI's task result, a set of VM refs as an XML-RPC fragment */
function vmRefOf(result: string): string | undefined {
  try {
    const v = parseXmlRpcFragment(result)
    const first = Array.isArray(v) ? v[0] : v
    return typeof first === 'string' && first.startsWith('OpaqueRef:') ? first : undefined
  } catch {
    return /OpaqueRef:[0-9a-fA-F-]+/.exec(result)?.[0]
  }
}
