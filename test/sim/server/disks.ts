/**
 * What the simulator's disks hold: real bytes, so an export's checksums mean something and an
 * export → import → export round trip can be compared.
 *
 * A disk's content is keyed by the VDI's `location` (VM.clone/copy/snapshot copy the VDI record
 * and with it the location, so a copy holds the same bytes as its original, as a full copy does):
 * - generated (every disk of a fleet): deterministic 1 MiB chunks — the first 2 MiB and about one
 *   chunk in 2048 (`density` changes that: 1 = every chunk, for benchmarks) — zeros elsewhere;
 * - written (an import, `/import_raw_vdi`): the chunks written, kept in a sparse file under the
 *   simulator's temporary folder (a 4 GiB import does not sit in memory), zeros elsewhere.
 * Writing to a disk whose location another VDI shares first gives it a location of its own.
 * Destroying a VDI (`forget`) deletes its written bytes unless another VDI shares them.
 *
 *   const d = disksOf(pool); await d.readChunk(vdiRef, n) → Buffer | null (null = zeros)
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { XVA_CHUNK } from '../../../shared/xva/tar'
import { SimXapiError } from '../model'
import { hash32 } from '../rrd'
import type { PoolState } from './pool'
import { num, str } from './storage-rules'

export const CHUNK = XVA_CHUNK

interface Generated {
  kind: 'generated'
  seed: number
  /** share of chunks beyond the first 2 MiB that hold data (default 1/2048) */
  density: number
}

interface Written {
  kind: 'written'
  file: string
  fh: FileHandle | undefined
  /** chunk numbers holding data */
  chunks: Set<number>
}

type Content = Generated | Written

function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** one pseudo-random MiB every generated chunk starts from */
let baseBlock: Buffer | undefined
function base(): Buffer {
  if (baseBlock) return baseBlock
  const b = Buffer.allocUnsafe(CHUNK)
  let x = 0x2545f491
  for (let i = 0; i < CHUNK; i += 4) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    b.writeUInt32LE(x >>> 0, i)
  }
  baseBlock = b
  return b
}

export class DiskStore {
  private readonly contents = new Map<string, Content>()
  private dir: string | undefined

  constructor(private readonly pool: PoolState) {}

  private vdi(vdiRef: string): { location: string; size: number } {
    const rec = this.pool.db.must('VDI', vdiRef)
    return { location: str(rec['location']) || str(rec['uuid']), size: num(rec['virtual_size']) }
  }

  private contentOf(location: string): Content {
    let c = this.contents.get(location)
    if (!c) {
      c = { kind: 'generated', seed: hash32(location), density: 1 / 2048 }
      this.contents.set(location, c)
    }
    return c
  }

  /** benchmarks: make a disk's generated content denser (1 = every chunk holds data) */
  setDensity(vdiRef: string, density: number): void {
    const { location } = this.vdi(vdiRef)
    this.contents.set(location, { kind: 'generated', seed: hash32(location), density })
  }

  /** chunk `n` of the disk (the last one may be shorter), or null when it is all zeros */
  async readChunk(vdiRef: string, n: number): Promise<Buffer | null> {
    const { location, size } = this.vdi(vdiRef)
    const len = Math.min(CHUNK, size - n * CHUNK)
    if (len <= 0) return null
    const c = this.contentOf(location)
    if (c.kind === 'generated') {
      const has = n < 2 || (c.density >= 1 ? true : mix(c.seed, n) / 0x100000000 < c.density)
      if (!has) return null
      const b = Buffer.from(base().subarray(0, len))
      // every 4 KiB sector says whose it is: no two chunks (of any disk) are alike
      for (let off = 0; off + 8 <= len; off += 4096) {
        b.writeUInt32LE(c.seed, off)
        b.writeUInt32LE((n * 256 + off / 4096) >>> 0, off + 4)
      }
      return b
    }
    if (!c.chunks.has(n)) return null
    const fh = await this.handle(c)
    const b = Buffer.allocUnsafe(len)
    const { bytesRead } = await fh.read(b, 0, len, n * CHUNK)
    if (bytesRead < len) b.fill(0, bytesRead)
    return b
  }

  /** whether chunk `n` holds data (readChunk would not answer null), without reading it */
  hasData(vdiRef: string, n: number): boolean {
    const { location, size } = this.vdi(vdiRef)
    if (n * CHUNK >= size) return false
    const c = this.contentOf(location)
    if (c.kind === 'generated') return n < 2 || (c.density >= 1 ? true : mix(c.seed, n) / 0x100000000 < c.density)
    return c.chunks.has(n)
  }

  /** start writing a disk from scratch (an import into a new VDI): every chunk zero until written */
  async reset(vdiRef: string): Promise<void> {
    const location = this.ownLocation(vdiRef)
    const old = this.contents.get(location)
    if (old?.kind === 'written') await this.drop(old)
    const dir = this.folder()
    this.contents.set(location, { kind: 'written', file: join(dir, `${randomUUID()}.img`), fh: undefined, chunks: new Set() })
  }

  /** write chunk `n` (all zeros may be passed as null); the disk must have been reset or written before */
  async writeChunk(vdiRef: string, n: number, data: Buffer | null): Promise<void> {
    const location = this.ownLocation(vdiRef)
    let c = this.contents.get(location)
    if (c?.kind !== 'written') {
      await this.materialise(vdiRef)
      c = this.contents.get(location)
    }
    if (c?.kind !== 'written') throw new SimXapiError(['INTERNAL_ERROR', 'disk store: no written content'])
    if (data === null || isZero(data)) {
      if (c.chunks.has(n)) {
        c.chunks.delete(n)
        const fh = await this.handle(c)
        await fh.write(Buffer.alloc(CHUNK), 0, CHUNK, n * CHUNK)
      }
      return
    }
    const fh = await this.handle(c)
    await fh.write(data, 0, data.length, n * CHUNK)
    c.chunks.add(n)
  }

  /**
   * The VDI is being destroyed: its written bytes go with it (their file is deleted) unless another
   * VDI shares its location. A simulator serving many imports would otherwise fill its disk.
   */
  forget(vdiRef: string): void {
    const rec = this.pool.db.get('VDI', vdiRef)
    if (!rec) return
    const location = str(rec['location']) || str(rec['uuid'])
    for (const [ref, other] of this.pool.db.table('VDI')) if (ref !== vdiRef && (str(other['location']) || str(other['uuid'])) === location) return
    const c = this.contents.get(location)
    this.contents.delete(location)
    if (c?.kind === 'written') void this.drop(c)
  }

  /** the disk's bytes can differ from every other disk's from now on (copy generated content into a file) */
  private async materialise(vdiRef: string): Promise<void> {
    const { size } = this.vdi(vdiRef)
    const chunks: [number, Buffer][] = []
    const count = Math.ceil(size / CHUNK)
    for (let n = 0; n < count; n++) {
      const b = await this.readChunk(vdiRef, n)
      if (b) chunks.push([n, b])
    }
    await this.reset(vdiRef)
    for (const [n, b] of chunks) await this.writeChunk(vdiRef, n, b)
  }

  /** a location no other VDI shares (copies share their original's until one of them is written) */
  private ownLocation(vdiRef: string): string {
    const rec = this.pool.db.must('VDI', vdiRef)
    const location = str(rec['location']) || str(rec['uuid'])
    let shared = false
    for (const [ref, other] of this.pool.db.table('VDI')) {
      if (ref !== vdiRef && str(other['location']) === location) {
        shared = true
        break
      }
    }
    if (!shared) return location
    const own = str(rec['uuid'])
    const current = this.contents.get(location)
    // the copy keeps what it held: generated content under a new key keeps its seed
    if (current?.kind === 'generated' || current === undefined) this.contents.set(own, { kind: 'generated', seed: hash32(location), density: current?.density ?? 1 / 2048 })
    this.pool.db.update('VDI', vdiRef, { location: own })
    return own
  }

  private async handle(c: Written): Promise<FileHandle> {
    if (!c.fh) {
      // create the file if it is not there, then open it for reading and writing anywhere
      await (await open(c.file, 'a')).close()
      c.fh = await open(c.file, 'r+')
    }
    return c.fh
  }

  private async drop(c: Written): Promise<void> {
    await c.fh?.close().catch(() => undefined)
    c.fh = undefined
    rmSync(c.file, { force: true })
  }

  private folder(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'xenpilot-sim-disks-'))
    return this.dir
  }

  /** the files holding written disks now (what the simulator keeps in its temporary folder) */
  files(): string[] {
    return [...this.contents.values()].flatMap((c) => (c.kind === 'written' ? [c.file] : []))
  }

  /** the simulator stops: files go */
  async close(): Promise<void> {
    for (const c of this.contents.values()) if (c.kind === 'written') await c.fh?.close().catch(() => undefined)
    if (this.dir) rmSync(this.dir, { recursive: true, force: true })
    this.dir = undefined
    this.contents.clear()
  }
}

export function isZero(b: Buffer): boolean {
  // compare 8 bytes at a time through a BigUint64 view would allocate; a Buffer compare against a
  // shared zero block is native
  let off = 0
  while (off < b.length) {
    const n = Math.min(ZERO.length, b.length - off)
    if (b.compare(ZERO, 0, n, off, off + n) !== 0) return false
    off += n
  }
  return true
}
const ZERO = Buffer.alloc(CHUNK)

const stores = new WeakMap<PoolState, DiskStore>()

export function disksOf(pool: PoolState): DiskStore {
  let s = stores.get(pool)
  if (!s) {
    s = new DiskStore(pool)
    stores.set(pool, s)
  }
  return s
}

/** the simulator stops: every pool's written disks are removed */
export async function closeDisks(pool: PoolState): Promise<void> {
  await stores.get(pool)?.close()
  stores.delete(pool)
}
