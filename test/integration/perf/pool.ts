/**
 * The set-up the perf integration tests share: a two-host tiny pool in a real HTTPS simulator, a real
 * PoolManager connected to it (trusted), and a fresh cache folder; `close` undoes all three.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator } from '../../sim'
import type { SimControl } from '../../sim/model'
import { tinyFleet, tinyPool, type TinyPool } from '../../unit/sim/tiny-pool'
import { connectTrusted, makeManager, type Harness } from '../pools/helpers'

export interface PerfPool {
  sim: SimControl
  tp: TinyPool
  h: Harness
  connId: string
  dir: string
  /** the uuid the simulator gave an object */
  uuidOf: (cls: string, ref: string) => string
  close: () => Promise<void>
}

export async function perfPool(name: string, addressBase: string): Promise<PerfPool> {
  const tp = tinyPool({ name, addressBase, hostCount: 2 })
  const sim = await startSimulator({ fleet: tinyFleet([tp.spec]) })
  const h = makeManager()
  const connId = await connectTrusted(h, sim.pool(name))
  const dir = mkdtempSync(join(tmpdir(), `xp-${name}-`))
  return {
    sim,
    tp,
    h,
    connId,
    dir,
    uuidOf: (cls, ref) => String(sim.pool(name).objects.get(cls)?.get(ref)?.['uuid']),
    close: async () => {
      await h.close()
      await sim.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
