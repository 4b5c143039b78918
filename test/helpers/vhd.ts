/**
 * Test VHDs: a dynamic VHD built from a disk's bytes with shared/vhd (as the simulator writes one),
 * read back to raw bytes, and the hostile variants the import checks refuse. Node only (tests).
 */
import { randomBytes } from 'node:crypto'
import {
  parseVhdFooter,
  parseVhdHeader,
  VHD_BITMAP,
  VHD_BLOCK,
  VHD_FOOTER_SIZE,
  vhdBatBytes,
  vhdBlockCount,
  vhdBlocks,
  vhdChecksum,
  vhdFooter,
  vhdFullBitmap,
  vhdHeader,
  vhdLayout,
} from '../../shared/vhd/vhd'

/** a dynamic VHD holding `raw` (blocks of zeros left out) */
export function makeVhd(raw: Buffer, opts: { size?: number } = {}): Buffer {
  const size = opts.size ?? raw.length
  const blocks: number[] = []
  for (let b = 0; b < vhdBlockCount(size); b++) {
    const piece = raw.subarray(b * VHD_BLOCK, (b + 1) * VHD_BLOCK)
    if (piece.some((x) => x !== 0)) blocks.push(b)
  }
  const footer = Buffer.from(vhdFooter({ currentSize: size, uniqueId: randomBytes(16) }))
  const layout = vhdLayout(size, blocks)
  const parts: Buffer[] = [footer, Buffer.from(vhdHeader(vhdBlockCount(size))), Buffer.from(layout.bat)]
  for (const b of blocks) {
    const data = Buffer.alloc(VHD_BLOCK)
    raw.copy(data, 0, b * VHD_BLOCK, Math.min(raw.length, (b + 1) * VHD_BLOCK))
    parts.push(Buffer.from(vhdFullBitmap()), data)
  }
  parts.push(footer)
  const out = Buffer.concat(parts)
  if (out.length !== layout.length) throw new Error('makeVhd: layout length mismatch')
  return out
}

/** a fixed VHD holding `raw`: the bytes as they are, then the footer (as Hyper-V and qemu-img write one) */
export function makeFixedVhd(raw: Buffer): Buffer {
  return Buffer.concat([raw, Buffer.from(vhdFooter({ currentSize: raw.length, uniqueId: randomBytes(16), diskType: 'fixed' }))])
}

/** the disk a dynamic VHD holds, as raw bytes (checks it as the import does) */
export function readVhd(vhd: Buffer): Buffer {
  const f = parseVhdFooter(vhd.subarray(0, VHD_FOOTER_SIZE))
  if (!f.ok) throw new Error(f.why)
  const h = parseVhdHeader(vhd.subarray(f.value.dataOffset))
  if (!h.ok) throw new Error(h.why)
  const bat = vhd.subarray(h.value.tableOffset, h.value.tableOffset + vhdBatBytes(h.value.maxTableEntries))
  const blocks = vhdBlocks(f.value, h.value, bat, vhd.length)
  if (!blocks.ok) throw new Error(blocks.why)
  const out = Buffer.alloc(f.value.currentSize)
  for (const b of blocks.value) vhd.copy(out, b.index * VHD_BLOCK, b.offset + VHD_BITMAP, b.offset + VHD_BITMAP + Math.min(VHD_BLOCK, out.length - b.index * VHD_BLOCK))
  return out
}

/** rewrite a field of the header (at 512) and fix its checksum, so only the field is wrong */
export function withHeaderField(vhd: Buffer, offset: number, value: number): Buffer {
  const out = Buffer.from(vhd)
  const header = out.subarray(512, 512 + 1024)
  header.writeUInt32BE(value, offset)
  header.writeUInt32BE(vhdChecksum(header, 36), 36)
  return out
}

/** rewrite a field of both footers and fix their checksums */
export function withFooter(vhd: Buffer, write: (footer: Buffer) => void): Buffer {
  const out = Buffer.from(vhd)
  for (const at of [0, out.length - 512]) {
    const footer = out.subarray(at, at + 512)
    write(footer)
    footer.writeUInt32BE(vhdChecksum(footer, 64), 64)
  }
  return out
}

/** point BAT entry `i` at a sector */
export function withBatEntry(vhd: Buffer, i: number, sector: number): Buffer {
  const out = Buffer.from(vhd)
  out.writeUInt32BE(sector, 1536 + i * 4)
  return out
}

/** a disk's worth of test bytes: a pattern in some 2 MiB blocks, zeros elsewhere (size need not be a block multiple) */
export function patternDisk(size: number, blocksWithData: number[]): Buffer {
  const b = Buffer.alloc(size)
  for (const i of blocksWithData) {
    for (let off = i * VHD_BLOCK; off < Math.min(size, (i + 1) * VHD_BLOCK); off += 4096) b.writeUInt32LE((i * 100_003 + off) >>> 0, off)
  }
  return b
}

/** a copy with the byte at each offset flipped (one bit) */
export function flipped(vhd: Buffer, ...offsets: number[]): Buffer {
  const out = Buffer.from(vhd)
  for (const at of offsets) out.writeUInt8(out.readUInt8(at) ^ 1, at)
  return out
}
