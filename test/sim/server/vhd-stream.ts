/**
 * The simulator's VHD side of /export_raw_vdi?format=vhd and /import_raw_vdi?format=vhd (what xapi
 * hands to vhd-tool): a dynamic VHD (shared/vhd/vhd.ts) written from a disk's chunks, and one read
 * from an upload front to back into a disk.
 *
 * Reading applies the checks of shared/vhd (footer and header checksums, dynamic only, 2 MiB
 * blocks, BAT inside the upload, blocks inside it and not overlapping, the closing footer equal to
 * the first) and XAPI's answer to any failure: vhd-tool exits non-zero and xapi fails the task with
 * VDI_IO_ERROR ["Device I/O errors"] (vhd_tool_wrapper.ml). The reason is in the simulator's log.
 */
import { randomBytes } from 'node:crypto'
import {
  parseVhdFooter,
  parseVhdHeader,
  VHD_BITMAP,
  VHD_BLOCK,
  VHD_FOOTER_SIZE,
  VHD_HEADER_SIZE,
  vhdApplyBitmap,
  vhdBatBytes,
  vhdBitmapFull,
  vhdBlockCount,
  vhdBlocks,
  vhdFooter,
  vhdFullBitmap,
  vhdHeader,
  vhdLayout,
} from '../../../shared/vhd/vhd'
import { SimXapiError } from '../model'
import { CHUNK, disksOf, isZero } from './disks'
import type { PoolState } from './pool'
import type { ByteReader } from './xva'

/** what vhd-tool's failure becomes in xapi */
export function vhdIoError(pool: PoolState, why: string): SimXapiError {
  pool.log(`vhd-tool: ${why}`)
  return new SimXapiError(['VDI_IO_ERROR', 'Device I/O errors'])
}

const CHUNKS_PER_BLOCK = VHD_BLOCK / CHUNK

/** the pieces of a dynamic VHD of the disk, in file order (blocks read lazily) */
export function vhdExport(pool: PoolState, vdiRef: string, size: number): { head: Buffer[]; blocks: number[]; footer: Buffer; length: number } {
  const disks = disksOf(pool)
  const blocks: number[] = []
  for (let b = 0; b < vhdBlockCount(size); b++) {
    for (let k = 0; k < CHUNKS_PER_BLOCK; k++) {
      if (disks.hasData(vdiRef, b * CHUNKS_PER_BLOCK + k)) {
        blocks.push(b)
        break
      }
    }
  }
  const footer = Buffer.from(vhdFooter({ currentSize: size, uniqueId: randomBytes(16) }))
  const layout = vhdLayout(size, blocks)
  return { head: [footer, Buffer.from(vhdHeader(vhdBlockCount(size))), Buffer.from(layout.bat)], blocks, footer, length: layout.length }
}

const BITMAP = Buffer.from(vhdFullBitmap())
const ZEROS = Buffer.alloc(CHUNK)

/** one block as written in the file: its bitmap and its 2 MiB (zeros past the disk's end) */
export async function vhdBlockParts(pool: PoolState, vdiRef: string, size: number, block: number): Promise<Buffer[]> {
  const disks = disksOf(pool)
  const parts: Buffer[] = [BITMAP]
  for (let k = 0; k < CHUNKS_PER_BLOCK; k++) {
    const n = block * CHUNKS_PER_BLOCK + k
    const data = n * CHUNK < size ? await disks.readChunk(vdiRef, n) : null
    if (!data) parts.push(ZEROS)
    else if (data.length < CHUNK) parts.push(data, ZEROS.subarray(0, CHUNK - data.length))
    else parts.push(data)
  }
  return parts
}

async function skipTo(reader: ByteReader, offset: number, what: string, pool: PoolState): Promise<void> {
  if (reader.consumed > offset) throw vhdIoError(pool, `${what} at byte ${offset} lies behind the stream's position ${reader.consumed}`)
  while (reader.consumed < offset) {
    const piece = await reader.read(Math.min(CHUNK, offset - reader.consumed))
    if (!piece) throw vhdIoError(pool, `the upload ended before ${what}`)
  }
}

/**
 * An uploaded dynamic VHD of `length` bytes into the disk (reset first): every check of
 * shared/vhd, a disk larger than the VDI refused, sectors absent from a block's bitmap written as
 * zeros. `onBlock` is told the bytes read so far (progress, pacing, cancel).
 */
export async function vhdImport(pool: PoolState, vdiRef: string, vdiSize: number, reader: ByteReader, length: number, onBlock: (consumed: number, bytes: number) => Promise<void>): Promise<void> {
  const must = async (n: number, what: string): Promise<Buffer> => {
    const b = await reader.read(n)
    if (!b) throw vhdIoError(pool, `the upload ended inside ${what}`)
    return b
  }
  const copy = await must(VHD_FOOTER_SIZE, 'the footer copy')
  const footer = parseVhdFooter(copy)
  if (!footer.ok) throw vhdIoError(pool, `not a VHD: ${footer.why}`)
  if (footer.value.diskType !== 'dynamic') throw vhdIoError(pool, `a ${footer.value.diskType} VHD cannot be streamed`)
  if (length < footer.value.dataOffset + VHD_HEADER_SIZE + VHD_FOOTER_SIZE) throw vhdIoError(pool, 'the upload is shorter than its headers')
  await skipTo(reader, footer.value.dataOffset, 'the dynamic disk header', pool)
  const header = parseVhdHeader(await must(VHD_HEADER_SIZE, 'the dynamic disk header'))
  if (!header.ok) throw vhdIoError(pool, header.why)
  if (header.value.tableOffset + vhdBatBytes(header.value.maxTableEntries) > length) throw vhdIoError(pool, 'its block table lies outside the upload')
  await skipTo(reader, header.value.tableOffset, 'the block table', pool)
  const bat = Buffer.from(await must(vhdBatBytes(header.value.maxTableEntries), 'the block table'))
  const blocks = vhdBlocks(footer.value, header.value, bat, length)
  if (!blocks.ok) throw vhdIoError(pool, blocks.why)
  if (footer.value.currentSize > vdiSize) throw vhdIoError(pool, `the VHD's disk is ${footer.value.currentSize} bytes, the VDI ${vdiSize}: writing past the end of the device`)
  const disks = disksOf(pool)
  await disks.reset(vdiRef)
  for (const b of blocks.value) {
    await skipTo(reader, b.offset, `block ${b.index}`, pool)
    const bitmap = await must(VHD_BITMAP, `the bitmap of block ${b.index}`)
    const data = Buffer.from(await must(VHD_BLOCK, `block ${b.index}`))
    if (!vhdBitmapFull(bitmap)) vhdApplyBitmap(bitmap, data)
    for (let k = 0; k < CHUNKS_PER_BLOCK; k++) {
      const n = b.index * CHUNKS_PER_BLOCK + k
      const len = Math.min(CHUNK, vdiSize - n * CHUNK)
      if (len <= 0) break
      const piece = data.subarray(k * CHUNK, k * CHUNK + len)
      await disks.writeChunk(vdiRef, n, isZero(piece) ? null : piece)
    }
    await onBlock(reader.consumed, VHD_BITMAP + VHD_BLOCK)
  }
  await skipTo(reader, length - VHD_FOOTER_SIZE, 'the closing footer', pool)
  const closing = await must(VHD_FOOTER_SIZE, 'the closing footer')
  const last = parseVhdFooter(closing)
  if (!last.ok) throw vhdIoError(pool, `its closing footer: ${last.why}`)
  if (!closing.equals(copy)) throw vhdIoError(pool, 'its closing footer differs from the copy at its start')
}
