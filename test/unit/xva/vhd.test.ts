/**
 * shared/vhd: the dynamic VHD codec the simulator writes and reads and main checks a file with before
 * an upload. Each rule has its hostile file and the sentence it gets; qemu-img's own reading of our
 * layout is in test/integration/sim/transfer-vhd.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { parseVhdFooter, parseVhdHeader, VHD_BLOCK, vhdBatBytes, vhdBlocks, vhdChecksum, vhdFixedData, vhdGeometry, type VhdResult, type VhdBlock } from '../../../shared/vhd/vhd'
import { flipped, makeFixedVhd, makeVhd, patternDisk, readVhd, withBatEntry, withFooter, withHeaderField } from '../../helpers/vhd'

const MiB = 1024 * 1024
const DISK = patternDisk(9 * MiB, [0, 2, 4])
const GOOD = makeVhd(DISK)

/** what an importer concludes of a whole file: its blocks, or why not */
function check(vhd: Buffer): VhdResult<VhdBlock[]> {
  const f = parseVhdFooter(vhd.subarray(0, 512))
  if (!f.ok) return f
  const h = parseVhdHeader(vhd.subarray(f.value.dataOffset, f.value.dataOffset + 1024))
  if (!h.ok) return h
  const bat = vhd.subarray(h.value.tableOffset, h.value.tableOffset + vhdBatBytes(h.value.maxTableEntries))
  return vhdBlocks(f.value, h.value, bat, vhd.length)
}

const why = (vhd: Buffer): string => {
  const r = check(vhd)
  return r.ok ? 'accepted' : r.why
}

describe('shared/vhd', () => {
  it('writes a dynamic VHD whose blocks read back to the disk (9 MiB: five blocks, the last one partial, three holding data)', () => {
    const r = check(GOOD)
    expect(r.ok && r.value.map((b) => b.index)).toEqual([0, 2, 4])
    expect(readVhd(GOOD).equals(DISK)).toBe(true)
    expect(GOOD.length).toBe(512 + 1024 + 512 + 3 * (512 + VHD_BLOCK) + 512)
  })

  it('checksums are the one’s complement of the byte sum without the field', () => {
    const b = new Uint8Array(16).fill(1)
    expect(vhdChecksum(b, 4)).toBe(~12 >>> 0)
  })

  it('geometry as the specification computes it (a 127 GiB disk is 65535/16/255 at most)', () => {
    expect(vhdGeometry(2 * 1024 ** 4)).toEqual({ cylinders: 65535, heads: 16, sectors: 255 })
    expect(vhdGeometry(21 * MiB)).toEqual({ cylinders: 632, heads: 4, sectors: 17 })
  })

  const cases: [string, Buffer, RegExp][] = [
    ['not a VHD', DISK, /does not start with "conectix"/],
    ['a damaged footer', flipped(GOOD, 70), /footer checksum is wrong/],
    ['a damaged header', flipped(GOOD, 512 + 40), /header checksum is wrong/],
    ['a header that is not one', (() => { const b = Buffer.from(GOOD); b.write('xxsparse', 512); return b })(), /does not start with "cxsparse"/],
    ['4 MiB blocks', withHeaderField(GOOD, 32, 4 * MiB), /block size is 4194304 bytes/],
    ['a BAT of 2^32-2 entries', withHeaderField(GOOD, 28, 0xfffffffe), /more than a 2040 GiB disk needs/],
    ['a BAT shorter than the disk', withHeaderField(GOOD, 28, 2), /has 2 entries where the disk needs 5/],
    ['a BAT outside the file', withHeaderField(GOOD, 20, 0x7fffff00), /block table lies outside the file/],
    ['a header outside the file', withFooter(GOOD, (f) => f.writeBigUInt64BE(0x7fff_ffffn, 16)), /header outside the file|ends inside its dynamic disk header/],
    ['a block beyond the end', withBatEntry(GOOD, 2, 0x00ffffff), /block 2 lies beyond the end of the file/],
    ['two blocks at one place', withBatEntry(GOOD, 2, GOOD.readUInt32BE(1536)), /overlaps another block/],
    ['a block inside the headers', withBatEntry(GOOD, 2, 1), /block 2 is said to lie inside the headers/],
    ['a differencing disk', withFooter(GOOD, (f) => f.writeUInt32BE(4, 60)), /differencing VHD, which needs its parent/],
    ['a fixed disk', withFooter(GOOD, (f) => f.writeUInt32BE(2, 60)), /fixed VHD/],
    ['an unknown disk type', withFooter(GOOD, (f) => f.writeUInt32BE(7, 60)), /disk type 7/],
    ['a disk of 0 bytes', withFooter(GOOD, (f) => f.writeBigUInt64BE(0n, 48)), /0 bytes/],
    ['a disk beyond 2040 GiB', withFooter(GOOD, (f) => f.writeBigUInt64BE(2041n * 1024n ** 3n, 48)), /larger than XAPI's VHD limit/],
    ['a size beyond any disk', withFooter(GOOD, (f) => f.writeBigUInt64BE(2n ** 60n, 48)), /size beyond any disk/],
    ['cut short', GOOD.subarray(0, GOOD.length - 4096), /block 4 lies beyond the end/],
    ['too short for a footer', GOOD.subarray(0, 100), /shorter than a VHD footer/],
  ]
  for (const [what, file, reason] of cases) {
    it(`refuses ${what}, saying why`, () => {
      expect(why(file)).toMatch(reason)
    })
  }

  describe('a fixed VHD: the disk’s bytes, then the footer', () => {
    const FIXED = makeFixedVhd(DISK)
    /** what an importer concludes from the footer in the last sector */
    const fixedWhy = (file: Buffer): string => {
      const f = parseVhdFooter(file.subarray(file.length - 512))
      if (!f.ok) return f.why
      const d = vhdFixedData(f.value, file.length)
      return d.ok ? `data ${d.value.dataLength}` : d.why
    }
    /** the last sector rewritten (checksum fixed), so only the field is wrong */
    const lastFooter = (file: Buffer, write: (f: Buffer) => void): Buffer => {
      const out = Buffer.from(file)
      const f = out.subarray(out.length - 512)
      write(f)
      f.writeUInt32BE(vhdChecksum(f, 64), 64)
      return out
    }
    it('its data is the disk: every byte before the footer', () => {
      expect(fixedWhy(FIXED)).toBe(`data ${DISK.length}`)
      expect(FIXED.subarray(0, DISK.length).equals(DISK)).toBe(true)
    })
    const fixedCases: [string, Buffer, RegExp][] = [
      ['cut short', Buffer.concat([FIXED.subarray(0, 4 * MiB), FIXED.subarray(FIXED.length - 512)]), /footer gives a disk of 9437184 bytes but the file holds only 4194304 bytes before it \(the copy is cut short\)/],
      ['longer than its footer says', Buffer.concat([Buffer.alloc(512), FIXED]), /holds 9437696 bytes before it/],
      ['a differencing footer', lastFooter(FIXED, (f) => (f.writeUInt32BE(4, 60), f.writeBigUInt64BE(512n, 16))), /differencing VHD, which needs its parent disk; merge it into its parent first/],
      ['a dynamic footer without its copy at the start', lastFooter(FIXED, (f) => (f.writeUInt32BE(3, 60), f.writeBigUInt64BE(512n, 16))), /does not start with its copy/],
      ['a disk of 0 bytes', lastFooter(FIXED, (f) => f.writeBigUInt64BE(0n, 48)), /0 bytes/],
      ['a damaged footer', flipped(FIXED, FIXED.length - 400), /footer checksum is wrong/],
    ]
    for (const [what, file, reason] of fixedCases) {
      it(`refuses one ${what}, saying why`, () => {
        expect(fixedWhy(file)).toMatch(reason)
      })
    }
  })
})
