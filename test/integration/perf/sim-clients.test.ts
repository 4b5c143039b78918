/**
 * The performance calls XenPilot makes (data sources, gui_config keys, the RRD HTTP handlers)
 * work in the simulator for clients written by others against real XAPI: the official XenAPI
 * Python client (XML-RPC) and Xen Orchestra's `xen-api` (JSON-RPC; getResource follows 302s).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Xapi } from 'xen-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../../sim'
import type { SimControl } from '../../sim/model'
import { tinyFleet, tinyPool, type TinyPool } from '../../unit/sim/tiny-pool'
import { parseRrdDump, parseRrdUpdates } from '../../../main/perf/rrd'
import { runPython } from '../../helpers/python'

let sim: SimControl
let current: TinyPool
let tmp: string

beforeAll(async () => {
  current = tinyPool({ name: 'perf-current', addressBase: '127.79.14', hostCount: 2 })
  sim = await startSimulator({ fleet: tinyFleet([current.spec]) })
  tmp = await mkdtemp(join(tmpdir(), 'xenpilot-perf-clients-'))
})
afterAll(async () => {
  await sim?.stop()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('official XenAPI Python client', () => {
  it('reads data sources (-inf minimums too), records one, gets XAPI’s errors, edits gui_config keys, reads /rrd_updates', async () => {
    const pool = sim.pool('perf-current')
    const master = pool.hosts[0]
    if (!master) throw new Error('no master')
    const cafile = join(tmp, 'master.pem')
    await writeFile(cafile, master.certPem)
    const script = fileURLToPath(new URL('../sim/xenapi_perf.py', import.meta.url))
    const out = JSON.parse(await runPython(script, [pool.masterUrl, cafile, pool.username, pool.password, current.refs.running, current.refs.halted])) as Record<string, unknown>
    expect(out['host_sources']).toEqual(expect.arrayContaining(['cpu0', 'cpu_avg', 'memory_total_kib', 'memory_free_kib', 'loadavg']))
    expect(out['host_min_infinite']).toBe(true)
    expect(out['vm_source_keys']).toEqual(['enabled', 'max', 'min', 'name_description', 'name_label', 'standard', 'units', 'value'])
    expect(out['vm_disabled']).toEqual(expect.arrayContaining(['runstate_fullrun', 'runstate_blocked']))
    expect(out['record']).toBe('succeeded')
    expect(out['enabled_after']).toEqual([true])
    expect(out['record_unknown']).toEqual(['INTERNAL_ERROR', 'Rrd_interface.Rrdd_error([S(Datasource_missing), S(no_such_source)])'])
    expect(out['halted']).toEqual(['VM_BAD_POWER_STATE', current.refs.halted, 'running', 'halted'])
    expect(typeof out['query']).toBe('number')
    expect(out['gui_config']).toBe('cpu0,memory')
    expect((out['duplicate'] as string[])[0]).toBe('MAP_DUPLICATE_KEY')
    expect(out['removed']).toBe(true)
    expect(out['rrd_xml']).toBe(true)
  })
})

describe("Xen Orchestra's xen-api client", () => {
  let x: Xapi
  afterAll(async () => {
    await x?.disconnect().catch(() => undefined)
  })
  it('calls the data-source methods over JSON-RPC and reads RRDs with getResource, following the 302 of /vm_rrd', async () => {
    const pool = sim.pool('perf-current')
    x = new Xapi({ url: pool.masterUrl, auth: { user: pool.username, password: pool.password }, allowUnauthorized: true })
    await x.connect()
    // get_data_sources answers carry the bare tokens Infinity / -Infinity (XAPI's JSON floats), which
    // xen-api's strict JSON parser refuses: the Python client above reads them over XML-RPC
    await x.call('VM.record_data_source', current.refs.running, 'runstate_blocked')
    const err = await x.call('VM.record_data_source', current.refs.template, 'cpu0').then(
      () => undefined,
      (e: unknown) => e as { code?: string; params?: unknown[] },
    )
    expect(err?.code).toBe('VM_BAD_POWER_STATE')
    await x.call('pool.add_to_gui_config', current.refs.pool, 'XenCenter.GraphName.0.vm.x', 'CPU')
    expect(((await x.call('pool.get_gui_config', current.refs.pool)) as Record<string, string>)['XenCenter.GraphName.0.vm.x']).toBe('CPU')
    // (xen-api reaches a named host on port 443 only: ask the master it is connected to)
    const updates = await x.getResource('/rrd_updates', { query: { start: -60, cf: 'AVERAGE', host: 'true', json: 'true', interval: 5 }, task: false })
    const u = parseRrdUpdates(await updates.body.text())
    expect(u.step).toBe(5)
    expect(u.legend.some((l) => l?.kind === 'host')).toBe(true)
    // a VM running on the member: the master answers /vm_rrd with a 302 there, and getResource follows it
    await pool.call('VM.start_on', [current.refs.halted, current.refs.hosts[1] ?? '', false, false])
    const vm = pool.objects.get('VM')?.get(current.refs.halted)
    const dump = await x.getResource('/vm_rrd', { query: { uuid: String(vm?.['uuid']) }, task: false })
    const d = parseRrdDump(await dump.body.text())
    expect(d.ds.some((s) => s.name === 'cpu0')).toBe(true)
  })
})
