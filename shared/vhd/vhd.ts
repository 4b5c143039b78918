/**
 * The dynamic VHD format as XAPI's /export_raw_vdi?format=vhd writes it and /import_raw_vdi?format=vhd
 * reads it (vhd-tool, ocaml-vhd; Microsoft's "Virtual Hard Disk Image Format Specification" 1.0), and
 * the fixed VHD (the disk's bytes, then a footer: vhdFixedData) that Hyper-V and qemu-img also write:
 *
 *   footer copy (512) · dynamic header (1024, at the footer's data offset) · BAT (4 bytes per 2 MiB
 *   block, big-endian sector offsets, 0xFFFFFFFF = not allocated, padded to a sector) · each
 *   allocated block: its sector bitmap (512) then 2 MiB of data · footer (512)
 *
 * Every number is big-endian; the footer's and the header's checksums are the one's complement of
 * the sum of their bytes with the checksum field taken as zero. A stream (an HTTP body) reads it
 * front to back, so blocks are walked in the order of their offsets.
 *
 * Plain Uint8Array/DataView, no Node Buffer: the simulator, main and tests share it. The checks here
 * are the ones both sides apply to a file they are given (vhdBlocks): a hostile file gets a reason
 * in words, never a read outside the file or an unbounded allocation.
 */

export const VHD_SECTOR = 512
export const VHD_FOOTER_SIZE = 512
export const VHD_HEADER_SIZE = 1024
/** the block size XAPI, vhd-tool, qemu-img and Hyper-V write (the only one accepted here) */
export const VHD_BLOCK = 2 * 1024 * 1024
/** one bit per sector of a block, padded to a sector */
export const VHD_BITMAP = 512
/** the largest VHD XAPI exports or imports (xapi's Constants.max_vhd_size, 2040 GiB) */
export const VHD_MAX_SIZE = 2040 * 1024 ** 3
/** BAT entries a VHD of VHD_MAX_SIZE needs: a header asking for more is refused before any allocation */
export const VHD_MAX_TABLE_ENTRIES = VHD_MAX_SIZE / VHD_BLOCK
export const VHD_UNUSED = 0xffffffff
/** where a streamed VHD's BAT starts: after the footer copy and the header */
export const VHD_TABLE_OFFSET = VHD_FOOTER_SIZE + VHD_HEADER_SIZE

const FOOTER_COOKIE = 'conectix'
const HEADER_COOKIE = 'cxsparse'
/** seconds between 1970-01-01 and the VHD epoch 2000-01-01 (UTC) */
const VHD_EPOCH = 946684800

export type VhdDiskType = 'fixed' | 'dynamic' | 'differencing'

export interface VhdFooter {
  dataOffset: number
  currentSize: number
  originalSize: number
  diskType: VhdDiskType
  /** seconds since 2000-01-01 UTC */
  timestamp: number
  uniqueId: Uint8Array
}

export interface VhdHeader {
  tableOffset: number
  maxTableEntries: number
  blockSize: number
}

export type VhdResult<T> = { ok: true; value: T } | { ok: false; why: string }

const enc = new TextEncoder()
const ascii = (b: Uint8Array, off: number, n: number): string => String.fromCharCode(...b.subarray(off, off + n))

/** one's complement of the byte sum, the checksum field (4 bytes at `at`) counted as zero */
export function vhdChecksum(b: Uint8Array, at: number): number {
  let sum = 0
  for (let i = 0; i < b.length; i++) if (i < at || i >= at + 4) sum = (sum + (b[i] ?? 0)) >>> 0
  return ~sum >>> 0
}

function u64(v: DataView, off: number): number | undefined {
  const n = v.getBigUint64(off)
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(n)
}

/** cylinders, heads, sectors per track of a size, as the specification's appendix computes them */
export function vhdGeometry(size: number): { cylinders: number; heads: number; sectors: number } {
  let total = Math.floor(size / VHD_SECTOR)
  total = Math.min(total, 65535 * 16 * 255)
  let sectors: number
  let heads: number
  let cth: number
  if (total >= 65535 * 16 * 63) {
    sectors = 255
    heads = 16
    cth = Math.floor(total / sectors)
  } else {
    sectors = 17
    cth = Math.floor(total / sectors)
    heads = Math.max(4, Math.floor((cth + 1023) / 1024))
    if (cth >= heads * 1024 || heads > 16) {
      sectors = 31
      heads = 16
      cth = Math.floor(total / sectors)
    }
    if (cth >= heads * 1024) {
      sectors = 63
      heads = 16
      cth = Math.floor(total / sectors)
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectors }
}

/** the footer of a dynamic VHD of `currentSize` bytes (or of a fixed one: the data, then this footer) */
export function vhdFooter(opts: { currentSize: number; uniqueId: Uint8Array; time?: Date; diskType?: 'dynamic' | 'fixed' }): Uint8Array {
  const b = new Uint8Array(VHD_FOOTER_SIZE)
  const v = new DataView(b.buffer)
  b.set(enc.encode(FOOTER_COOKIE), 0)
  v.setUint32(8, 2) // features: reserved bit, always set
  v.setUint32(12, 0x00010000) // format version 1.0
  // data offset: the header right after the footer copy; a fixed disk has none (all ones)
  v.setBigUint64(16, opts.diskType === 'fixed' ? 0xffffffffffffffffn : BigInt(VHD_FOOTER_SIZE))
  v.setUint32(24, Math.max(0, Math.floor((opts.time ?? new Date()).getTime() / 1000) - VHD_EPOCH))
  b.set(enc.encode('xpil'), 28) // creator application
  v.setUint32(32, 0x00010000)
  b.set(enc.encode('Wi2k'), 36) // creator host OS, as vhd-tool writes it
  v.setBigUint64(40, BigInt(opts.currentSize))
  v.setBigUint64(48, BigInt(opts.currentSize))
  const g = vhdGeometry(opts.currentSize)
  v.setUint16(56, g.cylinders)
  b[58] = g.heads
  b[59] = g.sectors
  v.setUint32(60, opts.diskType === 'fixed' ? 2 : 3)
  b.set(opts.uniqueId.subarray(0, 16), 68)
  v.setUint32(64, vhdChecksum(b, 64))
  return b
}

export function parseVhdFooter(b: Uint8Array): VhdResult<VhdFooter> {
  if (b.length < VHD_FOOTER_SIZE) return { ok: false, why: 'it is shorter than a VHD footer (512 bytes)' }
  if (ascii(b, 0, 8) !== FOOTER_COOKIE) return { ok: false, why: 'its footer does not start with "conectix"' }
  const v = new DataView(b.buffer, b.byteOffset, VHD_FOOTER_SIZE)
  const stored = v.getUint32(64)
  if (stored !== vhdChecksum(b.subarray(0, VHD_FOOTER_SIZE), 64)) return { ok: false, why: 'its footer checksum is wrong (the footer is damaged)' }
  if (v.getUint32(12) >>> 16 !== 1) return { ok: false, why: `its format version ${v.getUint32(12).toString(16)} is not 1.0` }
  const type = v.getUint32(60)
  const diskType: VhdDiskType | undefined = type === 2 ? 'fixed' : type === 3 ? 'dynamic' : type === 4 ? 'differencing' : undefined
  if (!diskType) return { ok: false, why: `its disk type ${type} is not fixed (2), dynamic (3) or differencing (4)` }
  const dataOffset = u64(v, 16)
  const currentSize = u64(v, 48)
  const originalSize = u64(v, 40)
  if (currentSize === undefined || originalSize === undefined) return { ok: false, why: 'its footer gives a size beyond any disk' }
  if (dataOffset === undefined && diskType !== 'fixed') return { ok: false, why: 'its footer points to a header beyond any file' }
  return { ok: true, value: { dataOffset: dataOffset ?? Number.MAX_SAFE_INTEGER, currentSize, originalSize, diskType, timestamp: v.getUint32(24), uniqueId: b.slice(68, 84) } }
}

/** why a differencing VHD is refused (the disk is only whole with its parent) */
export const VHD_DIFFERENCING_WHY = 'it is a differencing VHD, which needs its parent disk; merge it into its parent first (qemu-img convert, or Hyper-V’s Edit Disk) and import the result'

/**
 * A fixed VHD is the disk's bytes as they are, then one footer (no copy at the start, no header, no
 * BAT): the disk is the file's first `currentSize` bytes. The checks on the footer found at the end
 * of a file of `fileLength` bytes: a fixed disk (a differencing one needs its parent; a dynamic one
 * starts with a copy of its footer), of more than 0 bytes, whose data fills the file up to the footer.
 */
export function vhdFixedData(footer: VhdFooter, fileLength: number): VhdResult<{ dataLength: number }> {
  if (footer.diskType === 'differencing') return { ok: false, why: VHD_DIFFERENCING_WHY }
  if (footer.diskType === 'dynamic') return { ok: false, why: 'it ends with the footer of a dynamic VHD but does not start with its copy (the start of the file is missing or damaged)' }
  if (footer.currentSize <= 0) return { ok: false, why: 'its footer gives a disk of 0 bytes' }
  const data = fileLength - VHD_FOOTER_SIZE
  if (footer.currentSize !== data) {
    return {
      ok: false,
      why:
        footer.currentSize > data
          ? `its footer gives a disk of ${footer.currentSize} bytes but the file holds only ${data} bytes before it (the copy is cut short)`
          : `its footer gives a disk of ${footer.currentSize} bytes but the file holds ${data} bytes before it`,
    }
  }
  return { ok: true, value: { dataLength: data } }
}

/** the dynamic disk header (the BAT right after it, at VHD_TABLE_OFFSET) */
export function vhdHeader(maxTableEntries: number): Uint8Array {
  const b = new Uint8Array(VHD_HEADER_SIZE)
  const v = new DataView(b.buffer)
  b.set(enc.encode(HEADER_COOKIE), 0)
  v.setBigUint64(8, 0xffffffffffffffffn)
  v.setBigUint64(16, BigInt(VHD_TABLE_OFFSET))
  v.setUint32(24, 0x00010000)
  v.setUint32(28, maxTableEntries)
  v.setUint32(32, VHD_BLOCK)
  v.setUint32(36, vhdChecksum(b, 36))
  return b
}

export function parseVhdHeader(b: Uint8Array): VhdResult<VhdHeader> {
  if (b.length < VHD_HEADER_SIZE) return { ok: false, why: 'it ends inside its dynamic disk header' }
  if (ascii(b, 0, 8) !== HEADER_COOKIE) return { ok: false, why: 'its dynamic disk header does not start with "cxsparse"' }
  const v = new DataView(b.buffer, b.byteOffset, VHD_HEADER_SIZE)
  if (v.getUint32(36) !== vhdChecksum(b.subarray(0, VHD_HEADER_SIZE), 36)) return { ok: false, why: 'its dynamic disk header checksum is wrong (the header is damaged)' }
  const tableOffset = u64(v, 16)
  if (tableOffset === undefined) return { ok: false, why: 'its block table is said to start beyond any file' }
  const blockSize = v.getUint32(32)
  if (blockSize !== VHD_BLOCK) return { ok: false, why: `its block size is ${blockSize} bytes; XAPI's VHDs use 2 MiB blocks` }
  const maxTableEntries = v.getUint32(28)
  if (maxTableEntries > VHD_MAX_TABLE_ENTRIES) return { ok: false, why: `its block table has ${maxTableEntries} entries, more than a ${VHD_MAX_SIZE / 1024 ** 3} GiB disk needs` }
  return { ok: true, value: { tableOffset, maxTableEntries, blockSize } }
}

/** bytes of a BAT of `entries` entries on disk (padded to a sector) */
export function vhdBatBytes(entries: number): number {
  return Math.ceil((entries * 4) / VHD_SECTOR) * VHD_SECTOR
}

/** blocks a disk of `size` bytes spans */
export function vhdBlockCount(size: number): number {
  return Math.ceil(size / VHD_BLOCK)
}

export interface VhdBlock {
  /** the block's number (its place on the disk: bytes index × 2 MiB onwards) */
  index: number
  /** where its sector bitmap starts in the file; its data follows the bitmap */
  offset: number
}

/**
 * The checks a VHD to import passes before a byte of it is trusted: a dynamic disk no larger than
 * XAPI's limit, header and BAT where the footer says and inside the file, a BAT that covers the
 * disk, and every allocated block inside the file between the BAT and the closing footer, none
 * overlapping another. Returns the allocated blocks in file order (the order a stream meets them).
 */
export function vhdBlocks(footer: VhdFooter, header: VhdHeader, bat: Uint8Array, fileLength: number): VhdResult<VhdBlock[]> {
  if (footer.diskType !== 'dynamic') return { ok: false, why: footer.diskType === 'differencing' ? VHD_DIFFERENCING_WHY : 'it is a fixed VHD' }
  if (footer.currentSize <= 0) return { ok: false, why: 'its footer gives a disk of 0 bytes' }
  if (footer.currentSize > VHD_MAX_SIZE) return { ok: false, why: `its disk is larger than XAPI's VHD limit of ${VHD_MAX_SIZE / 1024 ** 3} GiB` }
  if (footer.dataOffset < VHD_FOOTER_SIZE || footer.dataOffset + VHD_HEADER_SIZE > fileLength - VHD_FOOTER_SIZE) return { ok: false, why: 'its footer points to a header outside the file' }
  const batEnd = header.tableOffset + vhdBatBytes(header.maxTableEntries)
  if (header.tableOffset < footer.dataOffset + VHD_HEADER_SIZE || batEnd > fileLength - VHD_FOOTER_SIZE) return { ok: false, why: 'its block table lies outside the file' }
  const needed = vhdBlockCount(footer.currentSize)
  if (header.maxTableEntries < needed) return { ok: false, why: `its block table has ${header.maxTableEntries} entries where the disk needs ${needed}` }
  if (bat.length < needed * 4) return { ok: false, why: 'its block table is cut short' }
  const v = new DataView(bat.buffer, bat.byteOffset, bat.length)
  const blocks: VhdBlock[] = []
  for (let i = 0; i < needed; i++) {
    const sector = v.getUint32(i * 4)
    if (sector === VHD_UNUSED) continue
    blocks.push({ index: i, offset: sector * VHD_SECTOR })
  }
  blocks.sort((a, b) => a.offset - b.offset)
  const span = VHD_BITMAP + VHD_BLOCK
  let from = batEnd
  for (const b of blocks) {
    if (b.offset < from) return { ok: false, why: b.offset < batEnd ? `block ${b.index} is said to lie inside the headers` : `block ${b.index} overlaps another block` }
    if (b.offset + span > fileLength - VHD_FOOTER_SIZE) return { ok: false, why: `block ${b.index} lies beyond the end of the file (the file is cut short or damaged)` }
    from = b.offset + span
  }
  return { ok: true, value: blocks }
}

/** true when every sector of the block is marked present (the usual case: skip the per-sector work) */
export function vhdBitmapFull(bitmap: Uint8Array): boolean {
  for (let i = 0; i < VHD_BLOCK / VHD_SECTOR / 8; i++) if (bitmap[i] !== 0xff) return false
  return true
}

/** zero the sectors of `data` (one block) its bitmap marks absent: they read as zeros */
export function vhdApplyBitmap(bitmap: Uint8Array, data: Uint8Array): void {
  for (let s = 0; s < VHD_BLOCK / VHD_SECTOR; s++) {
    const bit = ((bitmap[s >> 3] ?? 0) >> (7 - (s & 7))) & 1
    if (!bit) data.fill(0, s * VHD_SECTOR, (s + 1) * VHD_SECTOR)
  }
}

/**
 * The layout of a streamed dynamic VHD holding the blocks `allocated` (ascending): the BAT with
 * their offsets, and the file's total length.
 */
export function vhdLayout(size: number, allocated: readonly number[]): { bat: Uint8Array; length: number } {
  const entries = vhdBlockCount(size)
  const bat = new Uint8Array(vhdBatBytes(entries)).fill(0xff)
  const v = new DataView(bat.buffer)
  let at = VHD_TABLE_OFFSET + bat.length
  for (const i of allocated) {
    v.setUint32(i * 4, at / VHD_SECTOR)
    at += VHD_BITMAP + VHD_BLOCK
  }
  return { bat, length: at + VHD_FOOTER_SIZE }
}

/** a bitmap saying every sector of a block is present */
export function vhdFullBitmap(): Uint8Array {
  return new Uint8Array(VHD_BITMAP).fill(0xff)
}
