/**
 * A VHD file on the machine running the services, checked end to end before a byte of it is sent
 * (shared/vhd). Positioned reads only, never the data:
 * - dynamic (starts with a copy of its footer): footer and header checksums, 2 MiB blocks, the BAT
 *   and every block inside the file and none overlapping, the closing footer equal to the first.
 *   The same check runs on an exported VHD before it is kept.
 * - fixed (the disk's bytes, then its footer; Hyper-V's and qemu-img's "fixed" subformat): the
 *   footer at the end, its checksum, and a disk that fills the file up to it. Its data is what gets
 *   sent, as a raw image: XAPI's vhd-tool reads a streamed VHD from its leading footer copy, which a
 *   fixed VHD does not have.
 * - differencing: refused with a sentence (it needs its parent disk).
 */
import type { FileHandle } from 'node:fs/promises'
import { parseVhdFooter, parseVhdHeader, VHD_FOOTER_SIZE, VHD_HEADER_SIZE, vhdBatBytes, VHD_DIFFERENCING_WHY, vhdBlocks, vhdFixedData } from '../../shared/vhd/vhd'

export interface VhdFileInfo {
  type: 'dynamic' | 'fixed'
  /** the disk's size: the VDI to create */
  virtualSize: number
  /** dynamic: blocks holding data */
  blocks?: number
  /** fixed: bytes of data before the footer (sent as a raw image) */
  dataLength?: number
}

const refusal = (name: string, why: string): string => `${name} is not a VHD that can be imported: ${why}.`

async function readAt(fh: FileHandle, at: number, n: number): Promise<Buffer> {
  const b = Buffer.alloc(n)
  const { bytesRead } = await fh.read(b, 0, n, at)
  return b.subarray(0, bytesRead)
}

/** the VHD in `fh` (of `size` bytes) that starts with a footer, or a sentence saying why it is not one XAPI can import */
export async function checkVhdFile(fh: FileHandle, size: number, name: string): Promise<VhdFileInfo | string> {
  const no = (why: string): string => refusal(name, why)
  if (size < VHD_FOOTER_SIZE * 2 + VHD_HEADER_SIZE) return (await checkFixedVhdFile(fh, size, name)) ?? no('it is shorter than the headers of a VHD')
  const copy = await readAt(fh, 0, VHD_FOOTER_SIZE)
  const footer = parseVhdFooter(copy)
  if (!footer.ok) return no(footer.why)
  // a fixed disk whose first sector happens to read as a footer: the footer that counts is the last sector
  if (footer.value.diskType === 'fixed') return (await checkFixedVhdFile(fh, size, name)) ?? no('it starts with the footer of a fixed VHD, which belongs at its end')
  if (footer.value.diskType === 'differencing') return no(VHD_DIFFERENCING_WHY)
  if (footer.value.dataOffset + VHD_HEADER_SIZE > size - VHD_FOOTER_SIZE) return no('its footer points to a header outside the file')
  const header = parseVhdHeader(await readAt(fh, footer.value.dataOffset, VHD_HEADER_SIZE))
  if (!header.ok) return no(header.why)
  const batBytes = vhdBatBytes(header.value.maxTableEntries)
  if (header.value.tableOffset + batBytes > size - VHD_FOOTER_SIZE) return no('its block table lies outside the file (the file is cut short or damaged)')
  const bat = await readAt(fh, header.value.tableOffset, batBytes)
  const blocks = vhdBlocks(footer.value, header.value, bat, size)
  if (!blocks.ok) return no(blocks.why)
  const closing = await readAt(fh, size - VHD_FOOTER_SIZE, VHD_FOOTER_SIZE)
  if (!closing.equals(copy)) return no(parseVhdFooter(closing).ok ? 'its closing footer differs from the copy at its start' : 'it does not end with its footer (the file is cut short or damaged)')
  return { type: 'dynamic', virtualSize: footer.value.currentSize, blocks: blocks.value.length }
}

/**
 * The fixed VHD in `fh`, told by the footer in its last sector: undefined when that sector is not a
 * VHD footer at all (a raw image), a sentence when it is one that cannot be imported.
 */
export async function checkFixedVhdFile(fh: FileHandle, size: number, name: string): Promise<VhdFileInfo | string | undefined> {
  if (size <= VHD_FOOTER_SIZE) return undefined
  const last = await readAt(fh, size - VHD_FOOTER_SIZE, VHD_FOOTER_SIZE)
  if (last.subarray(0, 8).toString('latin1') !== 'conectix') return undefined
  const footer = parseVhdFooter(last)
  if (!footer.ok) return refusal(name, `it ends with a VHD footer that cannot be read: ${footer.why}`)
  const data = vhdFixedData(footer.value, size)
  if (!data.ok) return refusal(name, data.why)
  return { type: 'fixed', virtualSize: footer.value.currentSize, dataLength: data.value.dataLength }
}
