/**
 * The simulator's VHD disk transfers as xapi serves them (export_raw_vdi.ml, import_raw_vdi.ml,
 * vhd-tool): /export_raw_vdi?format=vhd streams a dynamic VHD (no Content-Length) that qemu-img reads
 * back to the disk's bytes; /import_raw_vdi?format=vhd takes one — also one written by qemu-img — into
 * an existing VDI; a damaged or hostile VHD fails the task with XAPI's VDI_IO_ERROR ["Device I/O
 * errors"], a chunked VHD upload and an unknown format with INTERNAL_ERROR, as xapi does.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseVhdFooter, VHD_BLOCK } from '../../../shared/vhd/vhd'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { runPython } from '../../helpers/python'
import { send, type HttpReply } from './client'
import { flipped, makeVhd, patternDisk, readVhd, withBatEntry, withFooter, withHeaderField } from '../../helpers/vhd'

const run = promisify(execFile)
const MiB = 1024 * 1024
let sim: SimControl
let pool: SimPoolHandle
let sid = ''
let sr = ''

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.157', opDurationMs: 0 }) })
  pool = sim.pool('tiny-current')
  sid = String(await pool.call('session.login_with_password', [pool.username, pool.password, '1.0', 'vhd-test']))
  for (const [ref, r] of pool.objects.get('SR') ?? []) {
    const pbd = pool.objects.get('PBD')?.get(String((r['PBDs'] as string[])[0]))
    if (r['type'] === 'lvm' && pbd?.['host'] === pool.hosts[0]!.ref) sr = ref
  }
})
afterAll(async () => {
  await sim?.stop()
})

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function newVdi(name: string, size: number): Promise<string> {
  return String(await pool.call('VDI.create', [{ name_label: name, SR: sr, virtual_size: size, type: 'user', sharable: false, read_only: false, other_config: {} }]))
}

async function taskOf(ref: string): Promise<{ status: string; error_info: string[] }> {
  return (await pool.call('task.get_record', [ref])) as unknown as { status: string; error_info: string[] }
}

async function putDisk(vdi: string, body: Buffer, format: string, headers?: Record<string, string>): Promise<{ reply: HttpReply | undefined; task: { status: string; error_info: string[] } }> {
  const task = String(await pool.call('task.create', ['import', '']))
  const reply = await send(pool.hosts[0]!, 'PUT', `/import_raw_vdi?session_id=${sid}&vdi=${vdi}&format=${format}&task_id=${task}`, body, headers ?? { 'content-length': String(body.length) }).catch(() => undefined)
  return { reply, task: await taskOf(task) }
}

/** the disk's bytes as far as DISK goes (the simulator's LVM rounds a VDI up to 2 MiB; the rest must be zeros) */
async function rawOf(vdi: string): Promise<Buffer> {
  const r = await send(pool.hosts[0]!, 'GET', `/export_raw_vdi?session_id=${sid}&vdi=${vdi}&format=raw`)
  expect(r.status).toBe(200)
  expect(r.body.subarray(SIZE).every((x) => x === 0)).toBe(true)
  return r.body.subarray(0, SIZE)
}

/** a 21 MiB disk (not a whole number of blocks) with data in blocks 0, 3 and the last; the VDIs holding it are 22 MiB */
const SIZE = 21 * MiB
const DISK = patternDisk(SIZE, [0, 3, 10])
const VDI_SIZE = 22 * MiB

describe('GET /export_raw_vdi?format=vhd', () => {
  it('streams a dynamic VHD without Content-Length: footer copy, header, BAT of the blocks holding data, closing footer; qemu-img reads it back to the same bytes', async () => {
    const vdi = await newVdi('vhd-src', SIZE)
    expect((await putDisk(vdi, DISK, 'raw')).task.status).toBe('success')
    const task = String(await pool.call('task.create', ['export vhd', '']))
    const r = await send(pool.hosts[0]!, 'GET', `/export_raw_vdi?session_id=${sid}&vdi=${vdi}&format=vhd&task_id=${task}`)
    expect(r.status).toBe(200)
    expect(r.headers['content-length']).toBeUndefined()
    expect(r.headers['content-type']).toBe('application/vhd')
    expect(r.headers['task-id']).toBe(task)
    expect((await taskOf(task)).status).toBe('success')
    const vhd = r.body
    expect(vhd.subarray(0, 512).equals(vhd.subarray(vhd.length - 512))).toBe(true)
    const footer = parseVhdFooter(vhd.subarray(0, 512))
    expect(footer.ok && footer.value).toMatchObject({ diskType: 'dynamic', currentSize: VDI_SIZE, dataOffset: 512 })
    expect(vhd.subarray(512, 520).toString()).toBe('cxsparse')
    // 11 BAT entries, three blocks present (0, 3, 10), in that order after the BAT
    const bat = [...Array(11).keys()].map((i) => vhd.readUInt32BE(1536 + i * 4))
    expect(bat.filter((x) => x !== 0xffffffff)).toHaveLength(3)
    expect(vhd.length).toBe(1536 + 512 + 3 * (512 + VHD_BLOCK) + 512)
    expect(sha(readVhd(vhd).subarray(0, SIZE))).toBe(sha(DISK))
    const dir = await mkdtemp(join(tmpdir(), 'xp-sim-vhd-'))
    try {
      await writeFile(join(dir, 'd.vhd'), vhd)
      await run('qemu-img', ['convert', '-f', 'vpc', '-O', 'raw', join(dir, 'd.vhd'), join(dir, 'd.raw')])
      const back = await readFile(join(dir, 'd.raw'))
      expect(sha(back.subarray(0, SIZE))).toBe(sha(DISK))
      const info = JSON.parse((await run('qemu-img', ['info', '--output=json', '-f', 'vpc', join(dir, 'd.vhd')])).stdout) as { 'virtual-size': number }
      expect(info['virtual-size']).toBeGreaterThanOrEqual(SIZE)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('an unknown format fails the task with INTERNAL_ERROR "Unknown format" and answers 404, as xapi', async () => {
    const vdi = await newVdi('fmt', 4 * MiB)
    const task = String(await pool.call('task.create', ['export', '']))
    const r = await send(pool.hosts[0]!, 'GET', `/export_raw_vdi?session_id=${sid}&vdi=${vdi}&format=vmdk&task_id=${task}`)
    expect(r.status).toBe(404)
    expect((await taskOf(task)).error_info).toEqual(['INTERNAL_ERROR', 'Unknown format vmdk'])
  })
})

describe('PUT /import_raw_vdi?format=vhd', () => {
  it('round trip: the VHD export of one disk imported into another gives the same bytes', async () => {
    const src = await newVdi('rt-src', SIZE)
    await putDisk(src, DISK, 'raw')
    const vhd = (await send(pool.hosts[0]!, 'GET', `/export_raw_vdi?session_id=${sid}&vdi=${src}&format=vhd`)).body
    const dst = await newVdi('rt-dst', SIZE)
    // the destination held other bytes: the import replaces all of them (blocks absent read as zeros)
    await putDisk(dst, patternDisk(SIZE, [1, 2, 5]), 'raw')
    const { reply, task } = await putDisk(dst, vhd, 'vhd')
    expect(reply?.status).toBe(200)
    expect(task.status).toBe('success')
    expect(sha(await rawOf(dst))).toBe(sha(DISK))
  })

  it('reads a dynamic VHD written by qemu-img (another implementation of the format)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xp-sim-vhd-qemu-'))
    try {
      await writeFile(join(dir, 'q.raw'), DISK)
      await run('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', join(dir, 'q.raw'), join(dir, 'q.vhd')])
      const vhd = await readFile(join(dir, 'q.vhd'))
      const footer = parseVhdFooter(vhd.subarray(0, 512))
      expect(footer.ok && footer.value.currentSize).toBe(SIZE)
      const dst = await newVdi('qemu-dst', SIZE)
      const { task } = await putDisk(dst, vhd, 'vhd')
      expect(task).toMatchObject({ status: 'success' })
      expect(sha(await rawOf(dst))).toBe(sha(DISK))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  const good = makeVhd(DISK)
  const hostile: [string, Buffer][] = [
    ['raw bytes (no footer)', DISK],
    ['damaged footers (checksum)', flipped(good, 70, good.length - 512 + 70)],
    ['a damaged header (checksum)', flipped(good, 512 + 40)],
    ['4 MiB blocks', withHeaderField(good, 32, 4 * MiB)],
    ['a BAT of 2^32-1 entries', withHeaderField(good, 28, 0xfffffffe)],
    ['a BAT shorter than the disk', withHeaderField(good, 28, 2)],
    ['a block beyond the end', withBatEntry(good, 3, 0x00ffffff)],
    ['two blocks at one place', withBatEntry(good, 3, good.readUInt32BE(1536))],
    ['a block inside the headers', withBatEntry(good, 3, 1)],
    ['a differencing disk', withFooter(good, (f) => f.writeUInt32BE(4, 60))],
    ['a disk larger than the VDI', withFooter(good, (f) => f.writeBigUInt64BE(BigInt(SIZE + VHD_BLOCK * 4), 48))],
    ['cut short', good.subarray(0, good.length - 4096)],
    ['a closing footer that is not the first', Buffer.concat([good.subarray(0, good.length - 512), Buffer.alloc(512)])],
  ]
  for (const [what, body] of hostile) {
    it(`refuses ${what}: the task fails with VDI_IO_ERROR "Device I/O errors", HTTP 500`, async () => {
      const dst = await newVdi(`hostile ${what}`, SIZE)
      const { reply, task } = await putDisk(dst, body, 'vhd')
      if (reply) expect(reply.status).toBe(500)
      expect(task).toMatchObject({ status: 'failure', error_info: ['VDI_IO_ERROR', 'Device I/O errors'] })
    })
  }

  it('the good VHD the hostile ones are made from imports', async () => {
    const dst = await newVdi('good', SIZE)
    expect((await putDisk(dst, good, 'vhd')).task.status).toBe('success')
    expect(sha(await rawOf(dst))).toBe(sha(DISK))
  })

  it('a chunked VHD upload is INTERNAL_ERROR "Cannot handle chunked VHD"; an unknown format INTERNAL_ERROR "Unknown format"', async () => {
    const dst = await newVdi('chunked', SIZE)
    const chunked = await putDisk(dst, good, 'vhd', { 'transfer-encoding': 'chunked' })
    expect(chunked.task.error_info).toEqual(['INTERNAL_ERROR', 'Cannot handle chunked VHD'])
    const unknown = await putDisk(dst, good, 'qcow3')
    expect(unknown.task.error_info).toEqual(['INTERNAL_ERROR', 'Unknown format qcow3'])
  })
})

describe('real clients', () => {
  it('the XenAPI Python client with urllib exports a disk as VHD and imports it into a new VDI; a damaged VHD fails its task with VDI_IO_ERROR', async () => {
    const src = await newVdi('py-src', SIZE)
    await putDisk(src, DISK, 'raw')
    const dir = await mkdtemp(join(tmpdir(), 'xp-sim-xenapi-vhd-'))
    try {
      const cafile = join(dir, 'master.pem')
      await writeFile(cafile, pool.hosts[0]!.certPem)
      const script = fileURLToPath(new URL('./xenapi_vhd.py', import.meta.url))
      const out = JSON.parse(await runPython(script, [pool.masterUrl, cafile, pool.username, pool.password, src, sr, join(dir, 'p.vhd')], 120_000)) as Record<string, unknown>
      expect(out).toMatchObject({ export_status: 200, cookie_head: 'conectix', cookie_tail: 'conectix', import_status: 200, import_task: 'success', virtual_size: VDI_SIZE, damaged_task: 'failure', damaged_error: ['VDI_IO_ERROR', 'Device I/O errors'] })
      const dst = String(out['new_vdi'])
      expect(sha(await rawOf(dst))).toBe(sha(DISK))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 150_000)
})
