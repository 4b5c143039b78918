/**
 * The simulator's VM and disk transfer handlers (xapi's export.ml, import.ml, export_raw_vdi.ml,
 * import_raw_vdi.ml), with the XVA format of xva.ts and real disk bytes from disks.ts:
 *
 *   GET /export?session_id&uuid|ref[&task_id][&use_compression=true|gzip|zstd]
 *       a host that does not see every SR of the VM's disks answers 302 to one that does (Location
 *       with the query copied); else HTTP/1.0-style 200, no Content-Length, `task-id` header, the
 *       XVA, connection closed at the end. VM operation 'export' while it runs (VM_BAD_POWER_STATE
 *       for a running VM, as XAPI).
 *   PUT /import?session_id[&task_id][&sr_id][&force=true]
 *       needs Content-Length (chunked: IMPORT_ERROR_CANNOT_HANDLE_CHUNKED); a host that does not see
 *       sr_id answers 302 without reading the body; gzip and zstd bodies are recognised by their
 *       magic; checksums verified (IMPORT_ERROR_SOME_CHECKSUMS_FAILED unless force), a short file is
 *       IMPORT_ERROR_PREMATURE_EOF; a failure removes what it had created. Task result: the VM refs.
 *   GET /export_raw_vdi?session_id&vdi=ref|uuid[&format=raw|vhd][&task_id]   raw: Content-Length =
 *       virtual size; vhd: a dynamic VHD (vhd-stream.ts), no Content-Length, VDI_TOO_LARGE past 2040 GiB
 *   PUT /import_raw_vdi?session_id&vdi=ref|uuid[&format=raw|vhd][&task_id]   raw: Content-Length ≤
 *       virtual size; vhd: a dynamic VHD checked as vhd-tool does, VDI_IO_ERROR when it is not one;
 *       another format: INTERNAL_ERROR "Unknown format x" and 404
 *
 * Every transfer runs under a task (the client's task_id from task.create, or one of its own):
 * progress while it flows, cancellable (task.cancel ends it as `cancelled` and cuts the connection),
 * `failure` with XAPI's code otherwise. `setTransferRate(pool, bytesPerSecond)` paces every transfer
 * of a pool (0 = as fast as possible; the demo fleet is slowed so progress can be watched).
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable, type Writable } from 'node:stream'
import { createGunzip, createGzip } from 'node:zlib'
import { XVA_CHECKSUM_SHA1, XVA_CHECKSUM_XXHASH, XVA_OVA_XML } from '../../../shared/xva/tar'
import { SimXapiError, type SimHostSpec, type SimRecord, type SimValue } from '../model'
import { dispatch } from './dispatch'
import { maintainRelations } from './generic'
import { newRef } from './db'
import { CHUNK, disksOf, isZero } from './disks'
import type { PoolState } from './pool'
import { NULL_REF } from './schema'
import { arr, obj, pluggedPbds, refreshVmStorage, str } from './storage-rules'
import type { TaskHandle } from './tasks'
import { checkVmOperation, refreshAllowedOperations, setCurrentOperation } from './vmops'
import { vhdBlockParts, vhdExport, vhdImport } from './vhd-stream'
import { VHD_BITMAP, VHD_BLOCK, VHD_MAX_SIZE } from '../../../shared/vhd/vhd'
import { ByteReader, checksumKind, chunkChecksum, chunkEntries, coerceField, MAX_OVA_XML, ovaXmlEntry, planExport, premature, readTarFile, TAR_END } from './xva'
import { parseXmlValue } from './xmlrpc'
import { randomUUID } from 'node:crypto'

export const TRANSFER_PATHS = new Set(['/export', '/import', '/export_raw_vdi', '/import_raw_vdi'])

const rates = new WeakMap<PoolState, number>()

/** pace every transfer of the pool at `bytesPerSecond` (0 or less: unpaced) */
export function setTransferRate(pool: PoolState, bytesPerSecond: number): void {
  rates.set(pool, Math.max(0, bytesPerSecond))
}

export function transferRate(pool: PoolState): number {
  return rates.get(pool) ?? 0
}

/** counts bytes and sleeps so that they flow no faster than the pool's rate */
class Pacer {
  private bytes = 0
  private readonly start = performance.now()
  constructor(private readonly pool: PoolState) {}
  async add(n: number): Promise<void> {
    this.bytes += n
    const rate = transferRate(this.pool)
    if (rate <= 0) return
    const due = (this.bytes / rate) * 1000
    const ahead = due - (performance.now() - this.start)
    if (ahead > 2) await new Promise((r) => setTimeout(r, ahead))
  }
}

/** task.progress at most every 200 ms (every chunk would flood event.from) */
class Progress {
  private last = 0
  constructor(private readonly task: TaskHandle) {}
  set(fraction: number, force = false): void {
    const now = performance.now()
    if (!force && now - this.last < 200) return
    this.last = now
    this.task.progress(Math.min(0.99, fraction))
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' })
  res.end(`${text}\n`)
}

function describe(e: unknown): string[] {
  if (e instanceof SimXapiError) return [...e.description]
  return ['INTERNAL_ERROR', e instanceof Error ? e.message : String(e)]
}

/** the client's task (task_id from task.create) or a new one; undefined when task_id names no pending task */
function taskFor(pool: PoolState, url: URL, req: IncomingMessage, session: string, label: string, hostRef: string): TaskHandle | undefined {
  const cookie = /(?:^|;\s*)task_id=([^;]+)/.exec(req.headers.cookie ?? '')?.[1]
  const given = url.searchParams.get('task_id') ?? (cookie ? decodeURIComponent(cookie) : undefined)
  if (given) return pool.tasks.running.get(given)
  return pool.tasks.create(label, hostRef, session, true)
}

function redirect(pool: PoolState, req: IncomingMessage, res: ServerResponse, url: URL, hostRef: string): void {
  const port = req.socket.localPort
  const address = pool.hostAddress(hostRef)
  res.writeHead(302, { location: `https://${address}${port && port !== 443 ? `:${port}` : ''}${url.pathname}${url.search}`, connection: 'close', 'content-length': '0' })
  res.end()
  // an upload's body is not used: the connection goes once the answer is out
  if (req.method === 'PUT') closeAfterAnswer(req, res)
}

/** how long a refused upload's connection stays open for its client to read the answer */
const LINGER_MS = 10_000

/**
 * The connection of a refused upload closes only once its answer is out and the client has had
 * time to read it (a "lingering close", as web servers do): the answer carries `Connection: close`
 * and is followed by a half-close, what the client still sends is read and dropped, and the
 * socket goes when the client closes or after LINGER_MS. Destroying it at once, with the client's
 * bytes unread, makes the kernel reset the connection, and a client still sending could lose the
 * answer: curl reported HTTP 000 instead of the 500 (test/integration/sim/transfer.test.ts, chunked).
 */
function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  // drained even when a reader stopped half-way (its 'readable' listener would hold the flow)
  req.removeAllListeners('readable')
  req.on('data', () => undefined)
  req.resume()
  const socket = req.socket
  // Node's server ends a `Connection: close` answer with socket.destroySoon(), a full close as soon
  // as the answer is flushed: here only the half-close (FIN), reading goes on until the client closes
  socket.destroySoon = () => {
    socket.end()
  }
  const linger = (): void => {
    const t = setTimeout(() => socket.destroy(), LINGER_MS)
    t.unref()
    socket.once('close', () => clearTimeout(t))
  }
  if (res.writableFinished) linger()
  else res.once('finish', linger)
}

function hostsSeeing(pool: PoolState, srs: string[]): string[] {
  return [...pool.db.table('host').keys()].filter((h) => srs.every((sr) => pluggedPbds(pool, sr, h).length > 0))
}

export async function serveTransfer(pool: PoolState, host: SimHostSpec, req: IncomingMessage, res: ServerResponse, url: URL, session: string | undefined): Promise<void> {
  if (!session) {
    plain(res, 401, 'unauthorised: a valid session_id is required')
    if (req.method === 'PUT') closeAfterAnswer(req, res)
    return
  }
  const route = `${req.method ?? ''} ${url.pathname}`
  switch (route) {
    case 'GET /export':
      return exportVm(pool, host, req, res, url, session)
    case 'PUT /import':
      return importVm(pool, host, req, res, url, session)
    case 'GET /export_raw_vdi':
      return exportRaw(pool, host, req, res, url, session)
    case 'PUT /import_raw_vdi':
      return importRaw(pool, host, req, res, url, session)
    default:
      plain(res, 405, `${route} is not supported`)
  }
}

/** writes with backpressure; rejects once the connection is gone */
class Sink {
  private gone: Error | undefined
  constructor(
    readonly out: Writable,
    res: ServerResponse,
  ) {
    res.once('close', () => {
      if (!res.writableFinished) this.gone = new Error('the client closed the connection')
    })
    out.on('error', (e: Error) => {
      this.gone ??= e
    })
  }
  async put(parts: Buffer[]): Promise<void> {
    for (const p of parts) {
      if (this.gone) throw this.gone
      if (!this.out.write(p)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            this.out.off('drain', done)
            this.out.off('close', done)
            resolve()
          }
          this.out.on('drain', done)
          this.out.on('close', done)
        })
        if (this.gone) throw this.gone
      }
    }
  }
  get broken(): boolean {
    return this.gone !== undefined
  }
}

function compressor(kind: string | null, res: ServerResponse): Writable {
  if (kind === 'true' || kind === 'gzip') {
    const z = createGzip({ level: 1 })
    z.pipe(res)
    return z
  }
  if (kind === 'zstd') {
    const p = spawn('zstd', ['-q', '-c', '-1'], { stdio: ['pipe', 'pipe', 'ignore'] })
    p.stdout.pipe(res)
    p.on('error', () => res.destroy())
    return p.stdin
  }
  return res
}

function finishTask(pool: PoolState, task: TaskHandle, e: unknown, cancelled: boolean): void {
  pool.tasks.fail(task, cancelled ? ['TASK_CANCELLED', task.ref] : describe(e))
}

function isCancelled(task: TaskHandle): boolean {
  try {
    task.checkCancelled()
    return false
  } catch {
    return true
  }
}

async function exportVm(pool: PoolState, host: SimHostSpec, req: IncomingMessage, res: ServerResponse, url: URL, session: string): Promise<void> {
  const ref = url.searchParams.get('ref')
  const uuid = url.searchParams.get('uuid')
  const vmRef = ref && pool.db.get('VM', ref) ? ref : uuid ? pool.db.byUuid('VM', uuid) : undefined
  if (!vmRef) return plain(res, 404, `UUID_INVALID VM ${uuid ?? ref ?? ''}`)
  const plan = planExport(pool, vmRef)
  const srs = [...new Set(plan.disks.map((d) => str(pool.db.get('VDI', d.vdiRef)?.['SR'])))]
  if (!srs.every((sr) => pluggedPbds(pool, sr, host.ref).length > 0)) {
    const target = hostsSeeing(pool, srs)[0]
    if (target) return redirect(pool, req, res, url, target)
  }
  const task = taskFor(pool, url, req, session, 'VM.export', host.ref)
  if (!task) return plain(res, 404, `HANDLE_INVALID task ${url.searchParams.get('task_id') ?? ''}`)
  try {
    checkVmOperation(vmRef, pool.db.must('VM', vmRef), 'export')
  } catch (e) {
    pool.tasks.fail(task, describe(e))
    return plain(res, 500, describe(e).join(' '))
  }
  setCurrentOperation(pool, vmRef, task.ref, 'export')
  task.setCancellable(true)
  res.useChunkedEncodingByDefault = false
  res.shouldKeepAlive = false
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="export.xva"', 'task-id': task.ref, connection: 'close' })
  const out = compressor(url.searchParams.get('use_compression'), res)
  const sink = new Sink(out, res)
  const pacer = new Pacer(pool)
  const progress = new Progress(task)
  const kind = checksumKind(pool)
  const disks = disksOf(pool)
  const total = Math.max(1, plan.disks.reduce((s, d) => s + d.size, 0))
  let done = 0
  try {
    await sink.put(ovaXmlEntry(plan.ovaXml))
    for (const d of plan.disks) {
      const count = Math.ceil(d.size / CHUNK)
      for (let n = 0; n < count; n++) {
        task.checkCancelled()
        const len = Math.min(CHUNK, d.size - n * CHUNK)
        let data = await disks.readChunk(d.vdiRef, n)
        if (!data && (n === 0 || n === count - 1)) data = Buffer.alloc(len)
        if (data) {
          await sink.put(chunkEntries(kind, d.prefix, n, data))
          await pacer.add(data.length)
        }
        done += len
        progress.set(done / total)
      }
    }
    await sink.put([TAR_END])
    out.end()
    if (out !== res) await once(res, 'finish')
    pool.tasks.succeed(task, { k: 'void' }, '')
  } catch (e) {
    finishTask(pool, task, e, isCancelled(task))
    res.destroy()
    if (out !== res) out.destroy()
  } finally {
    setCurrentOperation(pool, vmRef, task.ref, undefined)
  }
}

/** the request body's length, or the reason it cannot be read (XAPI reads no chunked upload) */
function uploadLength(req: IncomingMessage): number | undefined {
  const te = req.headers['transfer-encoding']
  const cl = req.headers['content-length']
  if (te !== undefined || cl === undefined || !/^\d+$/.test(cl)) return undefined
  return Number(cl)
}

function refuseUpload(pool: PoolState, task: TaskHandle | undefined, req: IncomingMessage, res: ServerResponse, description: string[], status = 500): void {
  if (task) pool.tasks.fail(task, description)
  plain(res, status, description.join(' '))
  closeAfterAnswer(req, res)
}

/** the body, unpacked when it is gzip or zstd, with a count of the raw bytes read */
function unpacked(req: IncomingMessage, counted: (n: number) => void): AsyncIterable<Buffer> {
  const it = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  return {
    async *[Symbol.asyncIterator]() {
      const first = await it.next()
      if (first.done) return
      async function* raw(): AsyncGenerator<Buffer> {
        counted(first.value.length)
        yield first.value
        for (;;) {
          const r = await it.next()
          if (r.done) return
          counted(r.value.length)
          yield r.value
        }
      }
      const head = first.value
      if (head[0] === 0x1f && head[1] === 0x8b) {
        const g = createGunzip()
        Readable.from(raw()).on('error', (e: Error) => g.destroy(e)).pipe(g)
        for await (const c of g) yield c as Buffer
        return
      }
      if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
        const p = spawn('zstd', ['-q', '-d', '-c'], { stdio: ['pipe', 'pipe', 'ignore'] })
        Readable.from(raw()).on('error', () => p.kill()).pipe(p.stdin).on('error', () => undefined)
        for await (const c of p.stdout) yield c as Buffer
        const [code] = (await Promise.race([once(p, 'exit'), new Promise((r) => setTimeout(() => r([0]), 1000))])) as [number | null]
        if (code !== 0 && code !== null) throw new SimXapiError(['IMPORT_ERROR', 'the zstd stream is damaged'])
        return
      }
      yield* raw()
    },
  }
}

interface OvaObject {
  cls: string
  id: string
  snapshot: Record<string, SimValue>
}

function readOva(xml: string): OvaObject[] {
  let v: SimValue
  try {
    v = parseXmlValue(xml)
  } catch (e) {
    throw new SimXapiError(['IMPORT_ERROR', `Invalid XVA file: ova.xml is not readable (${e instanceof Error ? e.message : String(e)})`])
  }
  const top = obj(v)
  const version = obj(top['version'])
  if (!top['objects'] || Object.keys(version).length === 0) throw new SimXapiError(['IMPORT_ERROR', 'Invalid XVA file: ova.xml has no version or objects'])
  const vsn = Number(version['export_vsn'] ?? 0)
  if (!(vsn >= 0 && vsn <= 2)) throw new SimXapiError(['IMPORT_INCOMPATIBLE_VERSION'])
  return arr(top['objects']).map((o) => {
    const r = obj(o)
    return { cls: str(r['class']), id: str(r['id']), snapshot: obj(r['snapshot']) }
  })
}

function coerceRecord(pool: PoolState, cls: string, snap: Record<string, SimValue>): SimRecord {
  const c = pool.schema.classes.get(cls)
  const out: SimRecord = {}
  if (!c) return out
  for (const f of c.fields) {
    const v = snap[f.name]
    if (v !== undefined) out[f.name] = coerceField(f.type, v)
  }
  return out
}

/** an API call as the pool's administrator, with all of XAPI's checks (VDI.create: SR_FULL…) */
async function call(pool: PoolState, method: string, args: SimValue[]): Promise<SimValue> {
  const r = await dispatch(pool, { hostRef: pool.masterRef }, method, [pool.adminSession, ...args])
  if (r.kind === 'error') throw new SimXapiError(r.description)
  return r.kind === 'value' ? r.value : ''
}

async function importVm(pool: PoolState, host: SimHostSpec, req: IncomingMessage, res: ServerResponse, url: URL, session: string): Promise<void> {
  const srRef = url.searchParams.get('sr_id') || str(pool.poolRecord['default_SR'])
  if (!pool.db.get('SR', srRef)) return refuseUpload(pool, taskFor(pool, url, req, session, 'VM.import', host.ref), req, res, ['HANDLE_INVALID', 'SR', srRef])
  if (pluggedPbds(pool, srRef, host.ref).length === 0) {
    const target = hostsSeeing(pool, [srRef])[0]
    if (target) return redirect(pool, req, res, url, target)
    return refuseUpload(pool, taskFor(pool, url, req, session, 'VM.import', host.ref), req, res, ['SR_NOT_ATTACHED', srRef])
  }
  const task = taskFor(pool, url, req, session, 'VM.import', host.ref)
  if (!task) return refuseUpload(pool, undefined, req, res, ['HANDLE_INVALID', 'task', url.searchParams.get('task_id') ?? ''], 404)
  const length = uploadLength(req)
  if (length === undefined) return refuseUpload(pool, task, req, res, ['IMPORT_ERROR_CANNOT_HANDLE_CHUNKED'])
  const force = url.searchParams.get('force') === 'true'
  task.setCancellable(true)
  const progress = new Progress(task)
  const pacer = new Pacer(pool)
  let raw = 0
  const reader = new ByteReader(
    unpacked(req, (n) => {
      raw += n
      progress.set(raw / Math.max(1, length))
    }),
  )
  const created: { cls: string; ref: string }[] = []
  const disks = disksOf(pool)
  try {
    const first = await readTarFile(reader, MAX_OVA_XML)
    if (first.kind === 'end') throw premature()
    if (first.name !== XVA_OVA_XML) throw new SimXapiError(['IMPORT_ERROR_UNEXPECTED_FILE', XVA_OVA_XML, first.name])
    const objects = readOva(first.data.toString('utf8'))
    const byId = new Map(objects.map((o) => [o.id, o]))
    const vms = objects.filter((o) => o.cls === 'VM')
    if (vms.length === 0) throw new SimXapiError(['IMPORT_ERROR', 'Invalid XVA file: ova.xml holds no VM'])
    // disks first: VDI.create checks the SR's space
    const vdiFor = new Map<string, { ref: string; size: number; last: number; written: number }>()
    for (const o of objects) {
      if (o.cls !== 'VDI') continue
      const r = coerceRecord(pool, 'VDI', o.snapshot)
      const size = Number(r['virtual_size'] ?? 0)
      const ref = str(
        await call(pool, 'VDI.create', [
          {
            name_label: r['name_label'] ?? '',
            name_description: r['name_description'] ?? '',
            SR: srRef,
            virtual_size: size,
            type: r['type'] ?? 'user',
            sharable: r['sharable'] ?? false,
            read_only: r['read_only'] ?? false,
            other_config: r['other_config'] ?? {},
            xenstore_data: {},
            sm_config: {},
            tags: [],
          },
        ]),
      )
      created.push({ cls: 'VDI', ref })
      await disks.reset(ref)
      vdiFor.set(o.id, { ref, size, last: Math.max(0, Math.ceil(size / CHUNK) - 1), written: -1 })
    }
    // chunks
    let checksumsFailed = false
    for (;;) {
      task.checkCancelled()
      const f = await readTarFile(reader, CHUNK)
      if (f.kind === 'end') break
      const slash = f.name.lastIndexOf('/')
      const prefix = f.name.slice(0, slash)
      const suffix = f.name.slice(slash + 1)
      const disk = vdiFor.get(prefix)
      if (slash < 0 || !disk || !/^\d{8}$/.test(suffix)) throw new SimXapiError(['IMPORT_ERROR_UNEXPECTED_FILE', `${[...vdiFor.keys()][0] ?? 'Ref:?'}/NNNNNNNN`, f.name])
      const n = Number(suffix)
      if (n <= disk.written) throw new SimXapiError(['IMPORT_ERROR', `Invalid XVA file: chunk ${f.name} is out of order`])
      const sum = await readTarFile(reader, 64)
      if (sum.kind === 'end') throw premature()
      const algo = sum.name === f.name + XVA_CHECKSUM_XXHASH ? 'xxhash' : sum.name === f.name + XVA_CHECKSUM_SHA1 ? 'sha1' : undefined
      if (!algo) throw new SimXapiError(['IMPORT_ERROR_UNEXPECTED_FILE', f.name + XVA_CHECKSUM_XXHASH, sum.name])
      if (f.data.length > 0) {
        if (chunkChecksum(algo, f.data) !== sum.data.toString('ascii').trim()) {
          checksumsFailed = true
          if (!force) throw new SimXapiError(['IMPORT_ERROR_SOME_CHECKSUMS_FAILED'])
        }
        await disks.writeChunk(disk.ref, n, isZero(f.data) ? null : f.data)
        disk.written = n
      }
      await pacer.add(f.data.length)
    }
    void checksumsFailed
    for (const d of vdiFor.values()) if (d.written < d.last) throw premature()
    // the VM and its devices
    const vmRefs: string[] = []
    for (const o of vms) {
      const vmRef = createVm(pool, o, created)
      vmRefs.push(vmRef)
      for (const vbdId of arr(o.snapshot['VBDs']).map(str)) {
        const vbd = byId.get(vbdId)
        if (!vbd) continue
        const r = coerceRecord(pool, 'VBD', vbd.snapshot)
        const vdi = vdiFor.get(str(r['VDI']))
        const empty = r['empty'] === true || !vdi
        const ref = str(
          await call(pool, 'VBD.create', [
            {
              VM: vmRef,
              VDI: empty ? NULL_REF : (vdi?.ref ?? NULL_REF),
              userdevice: r['userdevice'] ?? 'autodetect',
              bootable: r['bootable'] ?? false,
              mode: r['mode'] ?? 'RW',
              type: r['type'] ?? 'Disk',
              unpluggable: r['unpluggable'] ?? true,
              empty: empty && r['type'] === 'CD',
              other_config: r['other_config'] ?? {},
              qos_algorithm_type: '',
              qos_algorithm_params: {},
            },
          ]),
        )
        created.push({ cls: 'VBD', ref })
      }
      for (const vifId of arr(o.snapshot['VIFs']).map(str)) {
        const vif = byId.get(vifId)
        if (!vif) continue
        const r = coerceRecord(pool, 'VIF', vif.snapshot)
        const network = await networkFor(pool, byId.get(str(r['network'])), created)
        const ref = str(
          await call(pool, 'VIF.create', [
            {
              device: r['device'] ?? '0',
              network,
              VM: vmRef,
              MAC: r['MAC'] ?? '',
              MTU: r['MTU'] ?? 1500,
              other_config: r['other_config'] ?? {},
              qos_algorithm_type: '',
              qos_algorithm_params: {},
              locking_mode: r['locking_mode'] ?? 'network_default',
              ipv4_allowed: [],
              ipv6_allowed: [],
            },
          ]),
        )
        created.push({ cls: 'VIF', ref })
      }
      refreshAllowedOperations(pool, vmRef)
      refreshVmStorage(pool, vmRef)
    }
    pool.tasks.succeed(task, { k: 'set', of: { k: 'ref', cls: 'VM' } }, vmRefs)
    res.writeHead(200, { 'content-length': '0', 'task-id': task.ref, connection: 'close' })
    res.end()
  } catch (e) {
    const cancelled = isCancelled(task)
    await undo(pool, created)
    finishTask(pool, task, e, cancelled)
    refuseUpload(pool, undefined, req, res, cancelled ? ['TASK_CANCELLED', task.ref] : describe(e))
  }
}

function createVm(pool: PoolState, o: OvaObject, created: { cls: string; ref: string }[]): string {
  const r = coerceRecord(pool, 'VM', o.snapshot)
  const ref = newRef()
  const metrics = newRef()
  pool.db.insert('VM_metrics', metrics, pool.db.blank('VM_metrics', { memory_actual: 0, VCPUs_number: Number(r['VCPUs_at_startup'] ?? 1), VCPUs_utilisation: {}, other_config: {} }))
  created.push({ cls: 'VM_metrics', ref: metrics })
  const rec = pool.db.blank('VM', {
    ...r,
    uuid: randomUUID(),
    power_state: 'Halted',
    resident_on: NULL_REF,
    scheduled_to_be_resident_on: NULL_REF,
    affinity: NULL_REF,
    domid: -1,
    VBDs: [],
    VIFs: [],
    consoles: [],
    snapshots: [],
    children: [],
    current_operations: {},
    allowed_operations: [],
    metrics,
    guest_metrics: NULL_REF,
    is_a_snapshot: false,
    is_default_template: false,
    snapshot_of: NULL_REF,
    parent: NULL_REF,
    suspend_VDI: NULL_REF,
  })
  const c = pool.schema.classes.get('VM')
  if (c) for (const k of Object.keys(rec)) if (!c.fieldMap.has(k)) delete rec[k]
  pool.db.insert('VM', ref, rec)
  created.push({ cls: 'VM', ref })
  return ref
}

/** the exported network by uuid, then by name; else a new network of that name (import.ml Net) */
async function networkFor(pool: PoolState, net: OvaObject | undefined, created: { cls: string; ref: string }[]): Promise<string> {
  const uuid = str(net?.snapshot['uuid'])
  const byUuid = uuid ? pool.db.byUuid('network', uuid) : undefined
  if (byUuid) return byUuid
  const name = str(net?.snapshot['name_label']) || 'Imported network'
  for (const [ref, rec] of pool.db.table('network')) if (rec['name_label'] === name) return ref
  const ref = str(await call(pool, 'network.create', [{ name_label: name, name_description: str(net?.snapshot['name_description']), MTU: 1500, other_config: {}, tags: [] }]))
  created.push({ cls: 'network', ref })
  return ref
}

/** a failed import removes what it made, newest first */
async function undo(pool: PoolState, created: { cls: string; ref: string }[]): Promise<void> {
  for (const { cls, ref } of [...created].reverse()) {
    try {
      if (cls === 'VDI') await call(pool, 'VDI.destroy', [ref])
      else if (cls === 'VBD' || cls === 'VIF') await call(pool, `${cls}.destroy`, [ref])
      else if (cls === 'network') await call(pool, 'network.destroy', [ref])
      else {
        const rec = pool.db.get(cls, ref)
        if (!rec) continue
        pool.db.remove(cls, ref)
        const c = pool.schema.classes.get(cls)
        if (c) maintainRelations(pool, c, ref, rec, 'remove')
      }
    } catch (e) {
      pool.log(`import clean-up of ${cls} ${ref} failed: ${describe(e).join(' ')}`)
    }
  }
}

function vdiOf(pool: PoolState, url: URL): string | undefined {
  const v = url.searchParams.get('vdi') ?? ''
  if (pool.db.get('VDI', v)) return v
  return pool.db.byUuid('VDI', v)
}

/** the format of a raw disk transfer (Importexport.Format.of_req): raw by default */
function diskFormat(url: URL): 'raw' | 'vhd' | { unknown: string } {
  const f = url.searchParams.get('format') ?? 'raw'
  return f === 'raw' || f === 'vhd' ? f : { unknown: f }
}

async function exportRaw(pool: PoolState, host: SimHostSpec, req: IncomingMessage, res: ServerResponse, url: URL, session: string): Promise<void> {
  const vdiRef = vdiOf(pool, url)
  if (!vdiRef) return plain(res, 404, `UUID_INVALID VDI ${url.searchParams.get('vdi') ?? ''}`)
  const sr = str(pool.db.get('VDI', vdiRef)?.['SR'])
  if (pluggedPbds(pool, sr, host.ref).length === 0) {
    const target = hostsSeeing(pool, [sr])[0]
    if (target) return redirect(pool, req, res, url, target)
  }
  const task = taskFor(pool, url, req, session, 'VDI.export_raw_vdi', host.ref)
  if (!task) return plain(res, 404, `HANDLE_INVALID task ${url.searchParams.get('task_id') ?? ''}`)
  const format = diskFormat(url)
  if (typeof format === 'object') {
    // export_raw_vdi.ml: the task fails, 404 (tar and qcow2 are not simulated)
    pool.tasks.fail(task, ['INTERNAL_ERROR', `Unknown format ${format.unknown}`])
    return plain(res, 404, `INTERNAL_ERROR Unknown format ${format.unknown}`)
  }
  task.setCancellable(true)
  const size = Number(pool.db.get('VDI', vdiRef)?.['virtual_size'] ?? 0)
  const sink = new Sink(res, res)
  const pacer = new Pacer(pool)
  const progress = new Progress(task)
  const disks = disksOf(pool)
  const uuid = str(pool.db.get('VDI', vdiRef)?.['uuid'])
  try {
    if (format === 'vhd') {
      // xapi sends its headers, then fails the task when the disk is too large for a VHD; no Content-Length (vhd-tool streams)
      res.useChunkedEncodingByDefault = false
      res.shouldKeepAlive = false
      res.writeHead(200, { 'content-type': 'application/vhd', 'content-disposition': `attachment; filename="${uuid}.vhd"`, 'task-id': task.ref, connection: 'close' })
      if (size > VHD_MAX_SIZE) throw new SimXapiError(['VDI_TOO_LARGE', vdiRef, String(VHD_MAX_SIZE)])
      const vhd = vhdExport(pool, vdiRef, size)
      await sink.put(vhd.head)
      let sent = 0
      for (const block of vhd.blocks) {
        task.checkCancelled()
        const parts = await vhdBlockParts(pool, vdiRef, size, block)
        await sink.put(parts)
        sent += VHD_BITMAP + VHD_BLOCK
        await pacer.add(VHD_BITMAP + VHD_BLOCK)
        progress.set(sent / Math.max(1, vhd.length))
      }
      await sink.put([vhd.footer])
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size), 'task-id': task.ref, connection: 'close' })
      const count = Math.ceil(size / CHUNK)
      for (let n = 0; n < count; n++) {
        task.checkCancelled()
        const len = Math.min(CHUNK, size - n * CHUNK)
        const data = (await disks.readChunk(vdiRef, n)) ?? ZEROS.subarray(0, len)
        await sink.put([data])
        await pacer.add(len)
        progress.set(((n + 1) * CHUNK) / Math.max(1, size))
      }
    }
    res.end()
    await once(res, 'finish')
    pool.tasks.succeed(task, { k: 'void' }, '')
  } catch (e) {
    finishTask(pool, task, e, isCancelled(task))
    res.destroy()
  }
}

const ZEROS = Buffer.alloc(CHUNK)

async function importRaw(pool: PoolState, host: SimHostSpec, req: IncomingMessage, res: ServerResponse, url: URL, session: string): Promise<void> {
  const vdiRef = vdiOf(pool, url)
  const task = taskFor(pool, url, req, session, 'VDI.import_raw_vdi', host.ref)
  if (!vdiRef) return refuseUpload(pool, task, req, res, ['UUID_INVALID', 'VDI', url.searchParams.get('vdi') ?? ''], 404)
  const sr = str(pool.db.get('VDI', vdiRef)?.['SR'])
  if (pluggedPbds(pool, sr, host.ref).length === 0) {
    const target = hostsSeeing(pool, [sr])[0]
    if (target) return redirect(pool, req, res, url, target)
  }
  if (!task) return refuseUpload(pool, undefined, req, res, ['HANDLE_INVALID', 'task', url.searchParams.get('task_id') ?? ''], 404)
  const format = diskFormat(url)
  if (typeof format === 'object') return refuseUpload(pool, task, req, res, ['INTERNAL_ERROR', `Unknown format ${format.unknown}`], 404)
  const length = uploadLength(req)
  if (length === undefined) return refuseUpload(pool, task, req, res, format === 'vhd' ? ['INTERNAL_ERROR', 'Cannot handle chunked VHD'] : ['IMPORT_ERROR_CANNOT_HANDLE_CHUNKED'], format === 'vhd' ? 404 : 500)
  const size = Number(pool.db.get('VDI', vdiRef)?.['virtual_size'] ?? 0)
  if (format === 'raw' && length > size) return refuseUpload(pool, task, req, res, ['VDI_TOO_SMALL', vdiRef, String(length)])
  task.setCancellable(true)
  const progress = new Progress(task)
  const pacer = new Pacer(pool)
  const reader = new ByteReader(req as AsyncIterable<Buffer>)
  const disks = disksOf(pool)
  try {
    if (format === 'vhd') {
      await vhdImport(pool, vdiRef, size, reader, length, async (consumed, bytes) => {
        task.checkCancelled()
        await pacer.add(bytes)
        progress.set(consumed / Math.max(1, length))
      })
    } else {
      await disks.reset(vdiRef)
      for (let n = 0; n * CHUNK < length; n++) {
        task.checkCancelled()
        const len = Math.min(CHUNK, length - n * CHUNK)
        const data = await reader.read(len)
        if (!data) throw new SimXapiError(['VDI_IO_ERROR', 'the upload ended early'])
        await disks.writeChunk(vdiRef, n, isZero(data) ? null : Buffer.from(data))
        await pacer.add(len)
        progress.set((n * CHUNK + len) / Math.max(1, length))
      }
    }
    pool.tasks.succeed(task, { k: 'void' }, '')
    res.writeHead(200, { 'content-length': '0', 'task-id': task.ref, connection: 'close' })
    res.end()
  } catch (e) {
    const cancelled = isCancelled(task)
    finishTask(pool, task, e, cancelled)
    refuseUpload(pool, undefined, req, res, cancelled ? ['TASK_CANCELLED', task.ref] : describe(e))
  }
}
