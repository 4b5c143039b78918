/**
 * XVA as xapi writes and reads it (export.ml, import.ml, stream_vdi.ml):
 *   ova.xml   one XML-RPC struct {version: {...}, objects: [{class, id: 'Ref:N', snapshot: record}]},
 *             every reference rewritten to the export's own ids ('Ref:0'…) or OpaqueRef:NULL
 *   Ref:N/00000000, Ref:N/00000000.xxhash, …   each disk (non-CD, non-ISO) in 1 MiB chunks, sorted
 *             by prefix as strings; a chunk of zeros is left out except the first and the last; each
 *             chunk is followed by its checksum file: XXH64 as 16 upper-case hex digits (`.xxhash`),
 *             or on releases before 24.16 the SHA-1 in lower-case hex (`.checksum`)
 *   two zero blocks
 * The simulator leaves hosts and guest metrics out of ova.xml (xapi includes them; its importer
 * ignores them).
 */
import { createHash } from 'node:crypto'
import { RELEASES } from '../../../shared/xapi/datamodel.generated'
import { parseTarHeader, TAR_BLOCK, tarEnd, tarHeader, tarPadding, XVA_CHECKSUM_SHA1, XVA_CHECKSUM_XXHASH, XVA_CHUNK, XVA_OVA_XML, xvaChunkName } from '../../../shared/xva/tar'
import { xxh64Hex } from '../../../shared/xva/xxhash64'
import { SimXapiError, type SimRecord, type SimValue } from '../model'
import type { PoolState } from './pool'
import { NULL_REF, type XType } from './schema'
import { arr, str } from './storage-rules'

const XXHASH_SINCE = RELEASES.indexOf('24.16.0')

export function checksumKind(pool: PoolState): 'xxhash' | 'sha1' {
  const i = RELEASES.indexOf(pool.spec.xapiRelease)
  return i < 0 || i >= XXHASH_SINCE ? 'xxhash' : 'sha1'
}

export function chunkChecksum(kind: 'xxhash' | 'sha1', data: Uint8Array): string {
  return kind === 'xxhash' ? xxh64Hex(data) : createHash('sha1').update(data).digest('hex')
}

export interface XvaDisk {
  /** the directory name in the tar: the VDI's export id */
  prefix: string
  vdiRef: string
  size: number
}

export interface XvaPlan {
  ovaXml: string
  disks: XvaDisk[]
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** the objects an export of `vmRef` holds and their export ids (export.ml update_table, without hosts and guest metrics) */
export function planExport(pool: PoolState, vmRef: string): XvaPlan {
  const db = pool.db
  const vm = db.must('VM', vmRef)
  const table = new Map<string, string>()
  const classOf = new Map<string, string>()
  let counter = 0
  const add = (cls: string, ref: string): void => {
    if (!ref || ref === NULL_REF || table.has(ref) || !db.get(cls, ref)) return
    table.set(ref, `Ref:${counter++}`)
    classOf.set(ref, cls)
  }
  add('VM', vmRef)
  for (const vif of arr(vm['VIFs']).map(str)) {
    const rec = db.get('VIF', vif)
    if (!rec) continue
    add('VIF', vif)
    add('network', str(rec['network']))
  }
  for (const vbd of arr(vm['VBDs']).map(str)) {
    const rec = db.get('VBD', vbd)
    if (!rec) continue
    add('VBD', vbd)
    if (rec['empty'] !== true) {
      const vdi = str(rec['VDI'])
      add('VDI', vdi)
      add('SR', str(db.get('VDI', vdi)?.['SR']))
    }
  }
  const lookup = (ref: SimValue | undefined): string => table.get(str(ref)) ?? NULL_REF
  const objects: string[] = []
  const order = ['VM', 'VBD', 'VIF', 'network', 'VDI', 'SR']
  for (const cls of order) {
    const c = pool.schema.classes.get(cls)
    if (!c) continue
    for (const [ref, id] of table) {
      if (classOf.get(ref) !== cls) continue
      const rec = db.must(cls, ref)
      const out: SimRecord = {}
      for (const f of c.fields) {
        const v = rec[f.name]
        if (v === undefined) continue
        if (f.type.k === 'ref') out[f.name] = lookup(v)
        else if (f.type.k === 'set' && f.type.of.k === 'ref') out[f.name] = arr(v).map(lookup).filter((x) => x !== NULL_REF)
        else out[f.name] = v
      }
      // export.ml make_vm / make_vbd / make_vif / make_vdi / make_sr / make_network
      out['current_operations'] = {}
      if ('allowed_operations' in out) out['allowed_operations'] = []
      if (cls === 'VM') {
        Object.assign(out, { power_state: 'Halted', suspend_VDI: NULL_REF, is_a_snapshot: false, snapshot_of: NULL_REF, snapshots: [], parent: NULL_REF, crash_dumps: [], consoles: [], metrics: NULL_REF, guest_metrics: NULL_REF, protection_policy: NULL_REF, blobs: {}, resident_on: NULL_REF, affinity: NULL_REF })
        if ('snapshot_time' in out) out['snapshot_time'] = '19700101T00:00:00Z'
        if ('transportable_snapshot_id' in out) out['transportable_snapshot_id'] = ''
      }
      if (cls === 'VBD' || cls === 'VIF') Object.assign(out, { currently_attached: false, metrics: NULL_REF })
      if (cls === 'VDI') out['crash_dumps'] = []
      if (cls === 'SR') out['PBDs'] = []
      if (cls === 'network') out['PIFs'] = []
      for (const k of Object.keys(out)) if (!c.fieldMap.has(k)) delete out[k]
      const snapshot = pool.xml.str({ k: 'record', cls }, out)
      objects.push(`<value><struct><member><name>class</name><value>${cls}</value></member><member><name>id</name><value>${id}</value></member><member><name>snapshot</name>${snapshot}</member></struct></value>`)
    }
  }
  const master = db.get('host', pool.masterRef)
  const sv = master?.['software_version']
  const swv = sv && typeof sv === 'object' && !Array.isArray(sv) ? sv : {}
  const version =
    `<value><struct>` +
    `<member><name>hostname</name><value>${escapeXml(str(master?.['hostname']))}</value></member>` +
    `<member><name>date</name><value>${escapeXml(str(swv['date']) || new Date().toISOString().slice(0, 10))}</value></member>` +
    `<member><name>product_version</name><value>${escapeXml(str(swv['product_version']))}</value></member>` +
    `<member><name>product_brand</name><value>${escapeXml(str(swv['product_brand']))}</value></member>` +
    `<member><name>build_number</name><value>${escapeXml(str(swv['build_number']))}</value></member>` +
    `<member><name>xapi_major</name><value><i4>1</i4></value></member>` +
    `<member><name>xapi_minor</name><value><i4>1</i4></value></member>` +
    `<member><name>export_vsn</name><value><i4>2</i4></value></member>` +
    `</struct></value>`
  const ovaXml = `<value><struct><member><name>version</name>${version}</member><member><name>objects</name><value><array><data>${objects.join('')}</data></array></value></member></struct></value>`
  // disks to stream: VBDs that are not CDs, VDIs not on ISO SRs, in prefix order as strings
  const disks: XvaDisk[] = []
  for (const vbd of arr(vm['VBDs']).map(str)) {
    const rec = db.get('VBD', vbd)
    if (!rec || rec['type'] === 'CD' || rec['empty'] === true) continue
    const vdi = str(rec['VDI'])
    const vdiRec = db.get('VDI', vdi)
    if (!vdiRec || db.get('SR', str(vdiRec['SR']))?.['content_type'] === 'iso') continue
    const prefix = table.get(vdi)
    if (prefix) disks.push({ prefix, vdiRef: vdi, size: Number(vdiRec['virtual_size'] ?? 0) })
  }
  disks.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0))
  return { ovaXml, disks }
}

/** the tar framing of one file: header, data, padding */
export function tarFile(name: string, data: Uint8Array): Buffer[] {
  const pad = tarPadding(data.length)
  const parts = [Buffer.from(tarHeader(name, data.length)), Buffer.from(data.buffer, data.byteOffset, data.length)]
  if (pad) parts.push(Buffer.alloc(pad))
  return parts
}

export function ovaXmlEntry(ovaXml: string): Buffer[] {
  return tarFile(XVA_OVA_XML, Buffer.from(ovaXml, 'utf8'))
}

/** one chunk and its checksum file */
export function chunkEntries(kind: 'xxhash' | 'sha1', prefix: string, n: number, data: Buffer): Buffer[] {
  const name = xvaChunkName(prefix, n)
  const sum = Buffer.from(chunkChecksum(kind, data), 'ascii')
  return [...tarFile(name, data), ...tarFile(name + (kind === 'xxhash' ? XVA_CHECKSUM_XXHASH : XVA_CHECKSUM_SHA1), sum)]
}

export const TAR_END = Buffer.from(tarEnd())

// ---------------------------------------------------------------------------------------------
// reading

/** exact-size reads from an async byte source (an HTTP request body) */
export class ByteReader {
  private readonly it: AsyncIterator<Buffer | string>
  private parts: Buffer[] = []
  private have = 0
  private ended = false
  /** bytes handed out so far */
  consumed = 0

  constructor(src: AsyncIterable<Buffer | string>) {
    this.it = src[Symbol.asyncIterator]()
  }

  /** exactly n bytes, or undefined when the source ends first */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.have < n && !this.ended) {
      const r = await this.it.next()
      if (r.done) this.ended = true
      else {
        const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value
        this.parts.push(b)
        this.have += b.length
      }
    }
    if (this.have < n) return undefined
    let out: Buffer
    const first = this.parts[0]
    if (first && first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.parts.shift()
      else this.parts[0] = first.subarray(n)
    } else {
      out = Buffer.allocUnsafe(n)
      let off = 0
      while (off < n) {
        const p = this.parts[0]
        if (!p) break
        const take = Math.min(p.length, n - off)
        p.copy(out, off, 0, take)
        off += take
        if (take === p.length) this.parts.shift()
        else this.parts[0] = p.subarray(take)
      }
    }
    this.have -= n
    this.consumed += n
    return out
  }
}

export const premature = (): SimXapiError => new SimXapiError(['IMPORT_ERROR_PREMATURE_EOF'])

export type TarRead = { kind: 'file'; name: string; data: Buffer } | { kind: 'end' }

/** the next file of the archive with its data (≤ maxSize), or the end */
export async function readTarFile(r: ByteReader, maxSize: number): Promise<TarRead> {
  const h = await r.read(TAR_BLOCK)
  if (!h) throw premature()
  const parsed = parseTarHeader(h)
  if (parsed.kind === 'end') return { kind: 'end' }
  if (parsed.kind === 'bad') throw new SimXapiError(['IMPORT_ERROR', `Invalid XVA file: ${parsed.why}`])
  const { name, size } = parsed.entry
  if (size > maxSize) throw new SimXapiError(['IMPORT_ERROR', `Invalid XVA file: ${name} is ${size} bytes, more than ${maxSize}`])
  const data = size === 0 ? Buffer.alloc(0) : await r.read(size)
  if (!data) throw premature()
  const pad = tarPadding(size)
  if (pad && !(await r.read(pad))) throw premature()
  return { kind: 'file', name, data: Buffer.from(data) }
}

export const MAX_OVA_XML = 64 * 1024 * 1024
export { XVA_CHUNK }

/** a value of ova.xml read back to the pool's types (ints arrive as strings, as on the wire) */
export function coerceField(t: XType, v: SimValue): SimValue {
  switch (t.k) {
    case 'int':
      return typeof v === 'number' ? v : Number.isFinite(Number(v)) ? Number(v) : 0
    case 'float':
      return typeof v === 'number' ? v : Number(v) || 0
    case 'bool':
      return v === true || v === 'true' || v === '1'
    case 'set':
      return Array.isArray(v) ? v.map((x) => coerceField(t.of, x)) : []
    case 'map': {
      const out: Record<string, SimValue> = {}
      if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) out[k] = coerceField(t.val, x)
      return out
    }
    case 'option':
      return coerceField(t.of, v)
    default:
      return typeof v === 'string' ? v : Array.isArray(v) || typeof v === 'object' ? v : String(v)
  }
}
