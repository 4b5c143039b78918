/**
 * A VHD file on the machine running the services, checked end to end before a byte of it is sent
 * (shared/vhd: footer and header checksums, a dynamic disk, 2 MiB blocks, the BAT and every block
 * inside the file and none overlapping, the closing footer equal to the first). Positioned reads
 * only: the footer, the header, the BAT (at most 4 MiB for XAPI's largest VHD) and the closing
 * footer, never the data. The same check runs on an exported VHD before it is kept.
 */
import type { FileHandle } from 'node:fs/promises'
import { parseVhdFooter, parseVhdHeader, VHD_FOOTER_SIZE, VHD_HEADER_SIZE, vhdBatBytes, vhdBlocks } from '../../shared/vhd/vhd'

export interface VhdFileInfo {
  /** the disk's size: the VDI to create */
  virtualSize: number
  /** blocks holding data */
  blocks: number
}

/** the VHD in `fh` (of `size` bytes), or a sentence saying why it is not one XAPI can import */
export async function checkVhdFile(fh: FileHandle, size: number, name: string): Promise<VhdFileInfo | string> {
  const no = (why: string): string => `${name} is not a VHD that can be imported: ${why}.`
  const read = async (at: number, n: number): Promise<Buffer> => {
    const b = Buffer.alloc(n)
    const { bytesRead } = await fh.read(b, 0, n, at)
    return b.subarray(0, bytesRead)
  }
  if (size < VHD_FOOTER_SIZE * 2 + VHD_HEADER_SIZE) return no('it is shorter than the headers of a VHD')
  const copy = await read(0, VHD_FOOTER_SIZE)
  const footer = parseVhdFooter(copy)
  if (!footer.ok) return no(footer.why)
  if (footer.value.diskType !== 'dynamic') return no(footer.value.diskType === 'differencing' ? 'it is a differencing VHD, which needs its parent disk; export the whole disk instead' : 'XenPilot sends dynamic VHDs (a fixed one can be imported as a raw image without its last 512 bytes)')
  if (footer.value.dataOffset + VHD_HEADER_SIZE > size - VHD_FOOTER_SIZE) return no('its footer points to a header outside the file')
  const header = parseVhdHeader(await read(footer.value.dataOffset, VHD_HEADER_SIZE))
  if (!header.ok) return no(header.why)
  const batBytes = vhdBatBytes(header.value.maxTableEntries)
  if (header.value.tableOffset + batBytes > size - VHD_FOOTER_SIZE) return no('its block table lies outside the file (the file is cut short or damaged)')
  const bat = await read(header.value.tableOffset, batBytes)
  const blocks = vhdBlocks(footer.value, header.value, bat, size)
  if (!blocks.ok) return no(blocks.why)
  const closing = await read(size - VHD_FOOTER_SIZE, VHD_FOOTER_SIZE)
  if (!closing.equals(copy)) return no(parseVhdFooter(closing).ok ? 'its closing footer differs from the copy at its start' : 'it does not end with its footer (the file is cut short or damaged)')
  return { virtualSize: footer.value.currentSize, blocks: blocks.value.length }
}
