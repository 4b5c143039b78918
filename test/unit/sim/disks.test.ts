/**
 * The simulator's disk bytes (test/sim/server/disks.ts) follow the VDIs: VDI.destroy deletes the
 * file holding an imported disk (a simulator serving imports — the 4 GiB transfer bench, a demo —
 * would otherwise fill its temporary folder), unless another VDI shares the bytes.
 */
import { existsSync } from 'node:fs'
import { afterEach, expect, it } from 'vitest'
import { closeDisks, disksOf } from '../../sim/server/disks'
import type { PoolState } from '../../sim/server/pool'
import { makePool } from './harness'

const MiB = 1024 * 1024
let pools: PoolState[] = []
afterEach(async () => {
  for (const p of pools) await closeDisks(p)
  pools = []
})

it('VDI.destroy deletes the file of the disk it held; a copy sharing the bytes keeps them until it goes too', async () => {
  const { pool, call, t } = makePool()
  pools.push(pool)
  const vdi = String(await call('VDI.create', { name_label: 'imported', name_description: '', SR: t.refs.sr, virtual_size: String(4 * MiB), type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] }))
  const disks = disksOf(pool)
  await disks.reset(vdi)
  await disks.writeChunk(vdi, 1, Buffer.alloc(MiB, 7))
  const [file] = disks.files()
  expect(file && existsSync(file)).toBe(true)
  // a VDI sharing the location (as VM.clone makes) holds the same bytes
  const clone = String(await call('VDI.create', { name_label: 'clone', name_description: '', SR: t.refs.sr, virtual_size: String(4 * MiB), type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] }))
  pool.db.update('VDI', clone, { location: String(pool.db.must('VDI', vdi)['location']) || String(pool.db.must('VDI', vdi)['uuid']) })
  await call('VDI.destroy', vdi)
  expect((await disks.readChunk(clone, 1))?.[0]).toBe(7)
  await call('VDI.destroy', clone)
  await new Promise((r) => setTimeout(r, 50))
  expect(disks.files()).toEqual([])
  expect(existsSync(file ?? '')).toBe(false)
})
