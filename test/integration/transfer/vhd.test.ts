/**
 * Disks as VHD through main end to end: contract → transfer module → pinned agents → the HTTPS
 * simulator. A disk exported as VHD is a dynamic VHD (read back before it is kept, SHA-256 beside
 * it) and imports into a new disk with the same bytes; a fixed VHD (ours and qemu-img's) imports as
 * its data; a hostile VHD is refused with a sentence before anything is created; a cancelled VHD
 * import leaves no disk behind.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { FileInspection, TransferState } from '../../../shared/contract/transfer'
import { vhdChecksum } from '../../../shared/vhd/vhd'
import { setTransferRate } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimPoolHandle } from '../../sim/model'
import { flipped, makeFixedVhd, makeVhd, patternDisk, readVhd, withBatEntry, withFooter } from '../../helpers/vhd'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { waitFor } from '../pools/helpers'
import { setUpTransfers } from './setup'

const MiB = 1024 * 1024
const setup = setUpTransfers({ fleet: () => buildFleet('tiny', { addressBase: '127.158', opDurationMs: 0 }), pools: ['tiny-current'], dirPrefix: 'xp-transfer-vhd-' })
const { h, dir, states, callContract, ended } = setup
let pool: SimPoolHandle
let id = ''
beforeAll(() => void ([pool, id] = [setup.pool('tiny-current'), setup.id('tiny-current')]))

const call = (method: string, params: unknown[]) => h.manager.call(id, method, params)
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

function localSr(): string {
  for (const [ref, sr] of pool.objects.get('SR') ?? []) {
    const pbd = pool.objects.get('PBD')?.get(String((sr.PBDs as string[])[0]))
    if (sr.type === 'lvm' && pbd?.host === pool.hosts[0]?.ref) return ref
  }
  throw new Error('no local SR')
}

const DISK = patternDisk(24 * MiB, [0, 5, 11])

/** a disk on the local SR holding DISK (imported raw through main) */
async function diskWithData(name: string): Promise<string> {
  const raw = join(dir, `${name}.img`)
  writeFileSync(raw, DISK)
  const t = await ended(await callContract<TransferState>('transfer.importDisk', { connectionId: id, path: raw, sr: localSr(), name }))
  expect(t.status).toBe('done')
  await waitFor('the graph has the disk', () => h.manager.graph(id)?.get('VDI', t.ref ?? ''))
  return t.ref ?? ''
}

async function rawOf(vdi: string, name: string): Promise<Buffer> {
  const file = join(dir, `${name}.raw`)
  expect((await ended(await callContract<TransferState>('transfer.exportDisk', { connectionId: id, ref: vdi, path: file, format: 'raw' }))).status).toBe('done')
  return readFileSync(file)
}

const vdiCount = (): number => pool.objects.get('VDI')?.size ?? 0

describe('disks as VHD through main', () => {
  it('export as VHD (only the blocks holding data, checked before it is kept, SHA-256 beside it), then import into a new disk with the same bytes', async () => {
    const vdi = await diskWithData('vhd-src')
    const file = join(dir, 'disk.vhd')
    const out = await ended(await callContract<TransferState>('transfer.exportDisk', { connectionId: id, ref: vdi, path: file, format: 'vhd' }))
    expect(out.message).toBeUndefined()
    expect(out).toMatchObject({ status: 'done', title: 'Export disk (VHD)' })
    const vhd = readFileSync(file)
    expect(vhd.length).toBe(2048 + 3 * (512 + 2 * MiB) + 512)
    expect(sha(readVhd(vhd))).toBe(sha(DISK))
    expect(readFileSync(`${file}.sha256`, 'utf8')).toBe(`${sha(vhd)}  disk.vhd\n`)
    expect(existsSync(`${file}.part`)).toBe(false)
    const info = await callContract<FileInspection>('transfer.inspect', { path: file })
    expect(info).toMatchObject({ kind: 'vhd', diskSize: 24 * MiB, size: vhd.length })
    const back = await ended(await callContract<TransferState>('transfer.importDisk', { connectionId: id, path: file, sr: localSr(), name: 'vhd back' }))
    expect(back.message).toBeUndefined()
    expect(back).toMatchObject({ status: 'done', title: 'Import disk (VHD)' })
    await waitFor('the graph has the new disk', () => h.manager.graph(id)?.get('VDI', back.ref ?? ''))
    expect(Number(pool.objects.get('VDI')?.get(back.ref ?? '')?.virtual_size)).toBe(24 * MiB)
    expect(sha(await rawOf(back.ref ?? '', 'vhd-back'))).toBe(sha(DISK))
  }, 180_000)

  it('imports a fixed VHD (the disk’s bytes, then a footer): its data goes as a raw image, the new disk holds the same bytes', async () => {
    const file = join(dir, 'fixed.vhd')
    writeFileSync(file, makeFixedVhd(DISK))
    const info = await callContract<FileInspection>('transfer.inspect', { path: file })
    expect(info).toMatchObject({ kind: 'vhd', vhdType: 'fixed', diskSize: 24 * MiB, size: 24 * MiB + 512 })
    const t = await ended(await callContract<TransferState>('transfer.importDisk', { connectionId: id, path: file, sr: localSr(), name: 'fixed back' }))
    expect(t.message).toBeUndefined()
    // the footer is not sent: XAPI gets the disk's bytes, as many as the new disk holds
    expect(t).toMatchObject({ status: 'done', title: 'Import disk (VHD)', bytes: 24 * MiB, totalBytes: 24 * MiB })
    await waitFor('the graph has the new disk', () => h.manager.graph(id)?.get('VDI', t.ref ?? ''))
    expect(Number(pool.objects.get('VDI')?.get(t.ref ?? '')?.virtual_size)).toBe(24 * MiB)
    expect(sha(await rawOf(t.ref ?? '', 'fixed-back'))).toBe(sha(DISK))
  }, 180_000)

  it('imports a fixed VHD written by qemu-img (its size rounded to a disk geometry: the new disk holds the VHD’s size)', async () => {
    const src = join(dir, 'q-src.raw')
    const file = join(dir, 'q-fixed.vhd')
    const odd = patternDisk(5 * MiB + 4096, [0, 2])
    writeFileSync(src, odd)
    await promisify(execFile)('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=fixed', src, file])
    const size = readFileSync(file).length - 512
    expect(size).toBeGreaterThanOrEqual(odd.length)
    const t = await ended(await callContract<TransferState>('transfer.importDisk', { connectionId: id, path: file, sr: localSr(), name: 'qemu fixed' }))
    expect(t.message).toBeUndefined()
    expect(t.status).toBe('done')
    await waitFor('the graph has the new disk', () => h.manager.graph(id)?.get('VDI', t.ref ?? ''))
    // asked for the VHD's size; the SR rounds it up to its allocation unit, as XAPI's SRs do
    expect(Number(pool.objects.get('VDI')?.get(t.ref ?? '')?.virtual_size)).toBeGreaterThanOrEqual(size)
    expect(t.totalBytes).toBe(size)
    const back = await rawOf(t.ref ?? '', 'q-fixed-back')
    expect(sha(back.subarray(0, odd.length))).toBe(sha(odd))
    expect(back.subarray(odd.length).every((b) => b === 0)).toBe(true)
  }, 180_000)

  const good = makeVhd(DISK)
  const fixed = makeFixedVhd(DISK)
  /** the footer in the last sector rewritten, its checksum fixed */
  const withLastFooter = (vhd: Buffer, write: (f: Buffer) => void): Buffer => {
    const out = Buffer.from(vhd)
    const f = out.subarray(out.length - 512)
    write(f)
    f.writeUInt32BE(vhdChecksum(f, 64), 64)
    return out
  }
  const hostile: [string, Buffer, RegExp][] = [
    ['a damaged header', flipped(good, 512 + 40), /bad\.vhd is not a VHD that can be imported: its dynamic disk header checksum is wrong/],
    ['a block beyond the end', withBatEntry(good, 5, 0x00ffffff), /block 5 lies beyond the end of the file/],
    ['a block over the headers', withBatEntry(good, 5, 2), /block 5 is said to lie inside the headers/],
    ['a differencing disk', withFooter(good, (f) => f.writeUInt32BE(4, 60)), /differencing VHD, which needs its parent disk/],
    ['a cut copy', good.subarray(0, good.length - 3 * MiB), /lies beyond the end of the file|cut short/],
    ['a closing footer missing', good.subarray(0, good.length - 512), /cut short|beyond the end|closing footer/],
    ['a fixed VHD cut short', Buffer.concat([fixed.subarray(0, 8 * MiB), fixed.subarray(fixed.length - 512)]), /bad\.vhd is not a VHD that can be imported: its footer gives a disk of 25165824 bytes but the file holds only 8388608 bytes before it \(the copy is cut short\)/],
    ['a differencing footer at the end', withLastFooter(fixed, (f) => (f.writeUInt32BE(4, 60), f.writeBigUInt64BE(512n, 16))), /differencing VHD, which needs its parent disk/],
    ['a damaged footer at the end', flipped(fixed, fixed.length - 300), /ends with a VHD footer that cannot be read: its footer checksum is wrong/],
  ]
  for (const [what, body, reason] of hostile) {
    it(`refuses ${what} with a sentence before anything is created`, async () => {
      const file = join(dir, 'bad.vhd')
      writeFileSync(file, body)
      const before = vdiCount()
      await expect(callContract('transfer.inspect', { path: file })).rejects.toThrow(reason)
      await expect(callContract('transfer.importDisk', { connectionId: id, path: file, sr: localSr(), name: 'bad' })).rejects.toThrow(reason)
      expect(vdiCount()).toBe(before)
    })
  }

  it('a cancelled VHD import leaves no disk behind', async () => {
    const file = join(dir, 'slow.vhd')
    writeFileSync(file, good)
    const before = vdiCount()
    setTransferRate(pool, 2 * MiB)
    try {
      const t = await callContract<TransferState>('transfer.importDisk', { connectionId: id, path: file, sr: localSr(), name: 'cancel me' })
      await waitFor('bytes flow', () => ((states.get(t.id)?.bytes ?? 0) > 0 ? true : undefined), 60_000)
      expect(vdiCount()).toBe(before + 1)
      await callContract('transfer.cancel', { id: t.id })
      const end = await ended(t)
      expect(end.status).toBe('cancelled')
      await waitFor('the disk is gone', () => (vdiCount() === before ? true : undefined), 30_000)
    } finally {
      setTransferRate(pool, 0)
    }
  }, 120_000)
})
