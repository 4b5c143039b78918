/**
 * The file side of a transfer, on the machine running the services: where an export may go (folder
 * writable, free space), what a file to import holds (an XVA's ova.xml read and its tar framing
 * walked to the end, so a truncated or damaged file is refused before any byte is sent; or a raw
 * disk's size). Reads headers with positioned reads: a 4 GiB XVA's 8,192 entries take a few reads
 * each, never the image in memory.
 */
import { spawn } from 'node:child_process'
import { constants, createReadStream } from 'node:fs'
import { access, open, stat, statfs } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { Duplex, type Readable } from 'node:stream'
import * as zlib from 'node:zlib'
import type { Compression, FileInspection, PathCheck } from '../../shared/contract/transfer'
import { parseTarHeader, TAR_BLOCK, tarPadding, XVA_CHUNK, XVA_OVA_XML } from '../../shared/xva/tar'
import { parseXmlRpcFragment } from '../xapi/xmlrpc'
import type { WireValue } from '../xapi/wire'
import { formatBytes } from '../xapi/http'
import { checkFixedVhdFile, checkVhdFile, type VhdFileInfo } from './vhd-file'

/** a refusal of a file, in a sentence */
export class FileRefusal extends Error {}

const MAX_OVA_XML = 64 * 1024 * 1024

export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir)
  return Number(s.bavail) * Number(s.bsize)
}

/** where an export may be written, or why not; `need`: bytes it will take, when known */
export async function checkExportPath(path: string, opts: { need?: number; overwrite?: boolean } = {}): Promise<PathCheck> {
  const dir = dirname(path)
  try {
    const d = await stat(dir)
    if (!d.isDirectory()) return { ok: false, exists: false, message: `${dir} is not a folder.` }
    await access(dir, constants.W_OK)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return { ok: false, exists: false, message: code === 'ENOENT' ? `The folder ${dir} does not exist.` : `XenPilot cannot write in ${dir} (${code ?? 'refused'}).` }
  }
  let exists = false
  try {
    const f = await stat(path)
    exists = true
    if (f.isDirectory()) return { ok: false, exists, message: `${path} is a folder; give a file name.` }
  } catch {
    // a new file
  }
  const free = await freeBytes(dir)
  if (opts.need !== undefined && opts.need > free) {
    return { ok: false, exists, free, message: `${dir} has ${formatBytes(free)} free; the export needs about ${formatBytes(opts.need)}.` }
  }
  if (exists && !opts.overwrite) return { ok: false, exists, free, message: `${basename(path)} already exists in ${dir}; choose another name or replace it.` }
  return { ok: true, exists, free, message: `${formatBytes(free)} free in ${dir}.` }
}

export async function checkImportPath(path: string): Promise<PathCheck> {
  try {
    const f = await stat(path)
    if (!f.isFile()) return { ok: false, exists: true, message: `${path} is not a file.` }
    await access(path, constants.R_OK)
    return { ok: true, exists: true, message: `${basename(path)}, ${formatBytes(f.size)}.` }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return { ok: false, exists: false, message: code === 'ENOENT' ? `There is no file ${path} on the machine running XenPilot.` : `XenPilot cannot read ${path} (${code ?? 'refused'}).` }
  }
}

function compressionOf(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd'
  return 'none'
}

type Rec = Record<string, WireValue>
const asRec = (v: WireValue | undefined): Rec => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {})
const asStr = (v: WireValue | undefined): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '')
const asArr = (v: WireValue | undefined): WireValue[] => (Array.isArray(v) ? v : [])

/** the VM of an ova.xml, as the import dialog shows it */
export function describeOva(xml: string): NonNullable<FileInspection['vm']> {
  let top: Rec
  try {
    top = asRec(parseXmlRpcFragment(xml))
  } catch (e) {
    throw new FileRefusal(`Its ova.xml cannot be read (${e instanceof Error ? e.message : String(e)}).`)
  }
  const objects = asArr(top['objects']).map(asRec)
  const byId = new Map(objects.map((o) => [asStr(o['id']), o]))
  const vm = objects.find((o) => o['class'] === 'VM')
  if (!vm) throw new FileRefusal('Its ova.xml describes no VM.')
  const snap = asRec(vm['snapshot'])
  const disks: NonNullable<FileInspection['vm']>['disks'] = []
  for (const id of asArr(snap['VBDs']).map(asStr)) {
    const vbd = asRec(byId.get(id)?.['snapshot'])
    if (vbd['type'] !== 'Disk') continue
    const vdi = asRec(byId.get(asStr(vbd['VDI']))?.['snapshot'])
    disks.push({ name: asStr(vdi['name_label']), size: Number(asStr(vdi['virtual_size']) || 0), device: asStr(vbd['userdevice']) })
  }
  const vifs: NonNullable<FileInspection['vm']>['vifs'] = []
  for (const id of asArr(snap['VIFs']).map(asStr)) {
    const vif = asRec(byId.get(id)?.['snapshot'])
    const net = asRec(byId.get(asStr(vif['network']))?.['snapshot'])
    vifs.push({ device: asStr(vif['device']), mac: asStr(vif['MAC']), network: asStr(net['name_label']) })
  }
  vifs.sort((a, b) => Number(a.device) - Number(b.device))
  return {
    name: asStr(snap['name_label']),
    description: asStr(snap['name_description']),
    vcpus: Number(asStr(snap['VCPUs_max']) || 0),
    memory: Number(asStr(snap['memory_static_max']) || 0),
    isTemplate: snap['is_a_template'] === true,
    disks,
    vifs,
  }
}

/**
 * What a file to import holds. An uncompressed XVA is walked header by header to its end: a file
 * that stops inside an entry, a damaged header, a chunk file that is not followed by its checksum
 * file, or no end blocks are refused with a sentence (the bytes' checksums are the host's to check
 * as they arrive). A compressed XVA's ova.xml is read from the start of the stream (zstd: with
 * Node's zstd or the zstd program; without either only the host reads it). A file starting
 * with a VHD footer is a dynamic VHD, one ending with a fixed VHD's footer a fixed VHD, both checked
 * end to end (vhd-file.ts). Anything else is a raw disk image.
 */
export async function inspectFile(path: string, expect?: 'xva' | 'disk'): Promise<FileInspection> {
  const check = await checkImportPath(path)
  if (!check.ok) throw new FileRefusal(check.message)
  const fh = await open(path, 'r')
  try {
    const size = (await fh.stat()).size
    if (size === 0) throw new FileRefusal(`${basename(path)} is empty.`)
    const head = Buffer.alloc(Math.min(size, TAR_BLOCK))
    await fh.read(head, 0, head.length, 0)
    const compression = compressionOf(head)
    const name = basename(path)
    if (compression === 'gzip') return { path, size, kind: 'xva', compression, vm: describeOva(await compressedOvaXml(path, name, zlib.createGunzip(), 'gzip')) }
    if (compression === 'zstd') {
      // read with Node's zstd (Node 22.15+, Electron) or the zstd program; without either, only the host reads it
      const unzstd = await zstdDecompressor()
      if (!unzstd) return { path, size, kind: 'xva', compression }
      return { path, size, kind: 'xva', compression, vm: describeOva(await compressedOvaXml(path, name, unzstd, 'zstd')) }
    }
    if (head.length >= 8 && head.subarray(0, 8).toString('latin1') === 'conectix' && expect !== 'xva') {
      return vhdInspection(path, size, await checkVhdFile(fh, size, name))
    }
    const first = head.length === TAR_BLOCK ? parseTarHeader(head) : undefined
    const looksTar = first?.kind === 'entry' || expect === 'xva'
    if (!looksTar || expect === 'disk') {
      // a fixed VHD is a raw image with a footer after it
      const fixed = await checkFixedVhdFile(fh, size, name)
      if (fixed !== undefined) return vhdInspection(path, size, fixed)
      return { path, size, kind: 'raw', compression, diskSize: size }
    }
    if (first?.kind !== 'entry') throw new FileRefusal(`${name} is not an XVA file: ${first?.kind === 'bad' ? first.why : 'it does not start with ova.xml'}.`)
    if (first.entry.name !== XVA_OVA_XML) throw new FileRefusal(`${name} is not an XVA file: it starts with ${first.entry.name}, not ova.xml.`)
    if (first.entry.size > MAX_OVA_XML) throw new FileRefusal(`${name}: its ova.xml is ${formatBytes(first.entry.size)}, more than XenPilot reads.`)
    if (TAR_BLOCK + first.entry.size > size) throw new FileRefusal(`${name} is cut short: it ends inside its ova.xml.`)
    const xml = Buffer.alloc(first.entry.size)
    await fh.read(xml, 0, xml.length, TAR_BLOCK)
    const vm = describeOva(xml.toString('utf8'))
    // walk the rest
    let off = TAR_BLOCK + first.entry.size + tarPadding(first.entry.size)
    const block = Buffer.alloc(TAR_BLOCK)
    let pendingChunk: string | undefined
    for (;;) {
      if (off + TAR_BLOCK > size) throw new FileRefusal(`${name} is cut short: it ends after ${formatBytes(off)} of ${formatBytes(size)} without the end of the archive (the copy is incomplete).`)
      await fh.read(block, 0, TAR_BLOCK, off)
      const h = parseTarHeader(block)
      if (h.kind === 'end') {
        if (pendingChunk) throw new FileRefusal(`${name} is damaged: ${pendingChunk} has no checksum file.`)
        break
      }
      if (h.kind === 'bad') throw new FileRefusal(`${name} is damaged at byte ${off}: ${h.why}.`)
      const e = h.entry
      if (pendingChunk) {
        if (e.name !== `${pendingChunk}.xxhash` && e.name !== `${pendingChunk}.checksum`) throw new FileRefusal(`${name} is damaged: ${pendingChunk} is followed by ${e.name}, not its checksum file.`)
        pendingChunk = undefined
      } else {
        if (!/^Ref:[^/]+\/\d{8}$/.test(e.name)) throw new FileRefusal(`${name} is not an XVA file this XenPilot reads: unexpected entry ${e.name}.`)
        if (e.size > XVA_CHUNK) throw new FileRefusal(`${name} is damaged: ${e.name} is larger than a 1 MiB chunk.`)
        pendingChunk = e.name
      }
      off += TAR_BLOCK + e.size + tarPadding(e.size)
      if (off > size) throw new FileRefusal(`${name} is cut short: it ends inside ${e.name} (the copy is incomplete).`)
    }
    return { path, size, kind: 'xva', compression, vm }
  } finally {
    await fh.close()
  }
}

function vhdInspection(path: string, size: number, vhd: VhdFileInfo | string): FileInspection {
  if (typeof vhd === 'string') throw new FileRefusal(vhd)
  return { path, size, kind: 'vhd', compression: 'none', diskSize: vhd.virtualSize, vhdType: vhd.type }
}

let zstdProgram: Promise<boolean> | undefined
/** whether the zstd program runs here (asked once) */
function hasZstdProgram(): Promise<boolean> {
  zstdProgram ??= new Promise((resolve) => {
    const p = spawn('zstd', ['--version'], { stdio: 'ignore' })
    p.on('error', () => resolve(false))
    p.on('exit', (code) => resolve(code === 0))
  })
  return zstdProgram
}

/**
 * A zstd decompressor: Node's own where it has one (22.15 and later, so Electron's), else the zstd
 * program, else undefined. It is stopped (the program killed) when it is destroyed.
 */
async function zstdDecompressor(): Promise<Duplex | undefined> {
  const native = (zlib as unknown as { createZstdDecompress?: () => Duplex }).createZstdDecompress
  if (typeof native === 'function') return native()
  if (!(await hasZstdProgram())) return undefined
  const p = spawn('zstd', ['-q', '-d', '-c'], { stdio: ['pipe', 'pipe', 'ignore'] })
  // its pipes break when it is stopped half-way: that is the end, not a failure
  p.stdin.on('error', () => undefined)
  p.stdout.on('error', () => undefined)
  const d = Duplex.from({ writable: p.stdin, readable: p.stdout })
  p.on('error', (e) => d.destroy(e))
  d.on('close', () => p.kill())
  return d
}

/** the ova.xml at the start of a compressed XVA (reads only as far as that file) */
async function compressedOvaXml(path: string, name: string, gz: Duplex, kind: 'gzip' | 'zstd'): Promise<string> {
  const src: Readable = createReadStream(path, { highWaterMark: 256 * 1024 })
  src.on('error', (e) => gz.destroy(e))
  gz.on('error', () => src.destroy())
  src.pipe(gz)
  const parts: Buffer[] = []
  let have = 0
  let need = TAR_BLOCK
  let header: { size: number } | undefined
  try {
    for await (const c of gz) {
      parts.push(c as Buffer)
      have += (c as Buffer).length
      if (!header && have >= TAR_BLOCK) {
        const all = Buffer.concat(parts)
        const h = parseTarHeader(all.subarray(0, TAR_BLOCK))
        if (h.kind !== 'entry' || h.entry.name !== XVA_OVA_XML) throw new FileRefusal(`${name} is compressed but is not an XVA file (no ova.xml at its start).`)
        if (h.entry.size > MAX_OVA_XML) throw new FileRefusal(`${name}: its ova.xml is ${formatBytes(h.entry.size)}, more than XenPilot reads.`)
        header = { size: h.entry.size }
        need = TAR_BLOCK + h.entry.size
      }
      if (header && have >= need) return Buffer.concat(parts).subarray(TAR_BLOCK, need).toString('utf8')
    }
  } catch (e) {
    if (e instanceof FileRefusal) throw e
    throw new FileRefusal(`${name} is not a readable ${kind} file (${e instanceof Error ? e.message : String(e)}).`)
  } finally {
    src.destroy()
    gz.destroy()
  }
  // (the zstd program says nothing of a damaged stream: its output just ends)
  throw new FileRefusal(`${name} is ${kind === 'zstd' ? 'damaged or cut short' : 'cut short'}: it ends before its ova.xml does.`)
}
