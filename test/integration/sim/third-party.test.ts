/**
 * Clients written by others against real XAPI work against the simulator: the official XenAPI
 * Python client (XML-RPC) and Xen Orchestra's `xen-api` (JSON-RPC, with XML-RPC fallback).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Xapi } from 'xen-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../../sim'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { tinyFleet, tinyPool, type TinyPool } from '../../unit/sim/tiny-pool'
import { waitFor } from '../../unit/sim/harness'
import { runPython } from '../../helpers/python'

let sim: SimControl
let current: TinyPool
let legacy: TinyPool
let tmp: string

beforeAll(async () => {
  current = tinyPool({ name: 'current', addressBase: '127.79.4', hostCount: 3 })
  legacy = tinyPool({ name: 'legacy', release: 'falcon', jsonRpc: false, addressBase: '127.79.5' })
  sim = await startSimulator({ fleet: tinyFleet([current.spec, legacy.spec]) })
  tmp = await mkdtemp(join(tmpdir(), 'xenpilot-sim-clients-'))
})
afterAll(async () => {
  await sim?.stop()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('official XenAPI Python client (os_xenapi, XML-RPC)', () => {
  it('logs in, lists VMs, starts one, gets VM_BAD_POWER_STATE on a second start, reads event.from, runs an Async task', async () => {
    const pool = sim.pool('current')
    const master = pool.hosts[0]
    if (!master) throw new Error('no master')
    const cafile = join(tmp, 'master.pem')
    await writeFile(cafile, master.certPem)
    const script = fileURLToPath(new URL('./xenapi_client.py', import.meta.url))
    const out = JSON.parse(await runPython(script, [pool.masterUrl, cafile, pool.username, pool.password])) as Record<string, unknown>
    expect(out['api_version']).toBe('2.21')
    expect(out['vm_count']).toBe(pool.objects.get('VM')?.size)
    expect(out['vm']).toBe(current.refs.halted)
    // int64 arrives as a string of digits, bools as real booleans (XML-RPC as XAPI writes it)
    expect(out['memory_static_max']).toBe(String(2 * 1024 ** 3))
    expect(out['is_a_template']).toBe(false)
    expect(out['initial_ops']).toEqual(['add'])
    expect(out['power_after_start']).toBe('Running')
    expect(out['second_start']).toEqual(['VM_BAD_POWER_STATE', current.refs.halted, 'halted', 'running'])
    expect(out).toMatchObject({ event_seen: true, event_class: 'vm', event_id_type: 'str' })
    expect(out).toMatchObject({ task_status: 'success', task_result: '<value></value>' })
  })
})

describe("Xen Orchestra's xen-api client", () => {
  const clients: Xapi[] = []
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.disconnect().catch(() => undefined)))
  })
  function client(pool: SimPoolHandle, url: string): Xapi {
    const x = new Xapi({ url, auth: { user: pool.username, password: pool.password }, allowUnauthorized: true, debounce: 50 })
    clients.push(x)
    return x
  }

  it('connects to a current host over JSON-RPC, loads every object, and sees a VM power change through its event watch', async () => {
    const pool = sim.pool('current')
    const x = client(pool, pool.masterUrl)
    await x.connect()
    await x.objectsFetched
    const all = Object.values(x.objects.all)
    expect(all.filter((o) => o.$type === 'VM')).toHaveLength(pool.objects.get('VM')?.size ?? -1)
    expect(all.filter((o) => o.$type === 'host')).toHaveLength(3)
    expect(all.some((o) => o.$type === 'pool')).toBe(true)
    const vm = x.getObjectByRef(current.refs.running)
    expect(vm['power_state']).toBe('Running')
    // ints as JSON numbers on this transport
    expect(vm['memory_static_max']).toBe(2 * 1024 ** 3)
    await pool.call('VM.clean_shutdown', [current.refs.running])
    await waitFor('XO to see the VM halt', () => x.getObjectByRef(current.refs.running)['power_state'] === 'Halted' || undefined, 30_000)
  })

  it('falls back to XML-RPC on a legacy host and loads its objects', async () => {
    const pool = sim.pool('legacy')
    const x = client(pool, pool.masterUrl)
    await x.connect()
    await x.objectsFetched
    const vms = Object.values(x.objects.all).filter((o) => o.$type === 'VM')
    expect(vms).toHaveLength(pool.objects.get('VM')?.size ?? -1)
    // XML-RPC int64 is a string of digits
    expect(x.getObjectByRef(legacy.refs.halted)['memory_static_max']).toBe(String(2 * 1024 ** 3))
    await pool.call('VM.start', [legacy.refs.halted, false, false])
    await waitFor('XO to see the VM run', () => x.getObjectByRef(legacy.refs.halted)['power_state'] === 'Running' || undefined, 30_000)
  })

  it('follows HOST_IS_SLAVE when pointed at a member', async () => {
    const pool = sim.pool('current')
    const member = pool.memberUrls[1]
    if (!member) throw new Error('no member')
    const x = client(pool, member)
    await x.connect()
    await x.objectsFetched
    expect(Object.values(x.objects.all).some((o) => o.$type === 'VM')).toBe(true)
    const poolObj = Object.values(x.objects.all).find((o) => o.$type === 'pool')
    expect(poolObj?.['master']).toBe(current.refs.hosts[0])
  })
})
