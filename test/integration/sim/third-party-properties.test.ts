/**
 * The calls of VM Properties and the template commands (issue 14) work for a client written by
 * others against real XAPI: the official XenAPI Python client (XML-RPC) — results and XAPI's
 * refusals (VM_BAD_POWER_STATE on a running VM's static settings, INVALID_VALUE for an unknown HA
 * priority, VM_IS_TEMPLATE for starting a template or deleting a built-in one).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runPython } from '../../helpers/python'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl } from '../../sim/model'

let sim: SimControl
let tmp: string

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.96', opDurationMs: 0 }) })
  tmp = await mkdtemp(join(tmpdir(), 'xenpilot-sim-properties-clients-'))
})
afterAll(async () => {
  await sim?.stop()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('official XenAPI Python client (os_xenapi, XML-RPC): VM Properties and templates', () => {
  it('live and halted setters, HA priority, template conversions — and XAPI’s refusals', async () => {
    const pool = sim.pool('tiny-current')
    const master = pool.hosts[0]
    if (!master) throw new Error('no master')
    const cafile = join(tmp, 'master.pem')
    await writeFile(cafile, master.certPem)
    const script = fileURLToPath(new URL('./xenapi_properties.py', import.meta.url))
    const out = JSON.parse(await runPython(script, [pool.masterUrl, cafile, pool.username, pool.password, 'web-01', 'build-01'])) as Record<string, unknown>
    expect(out['hotplug']).toBe('1')
    expect(out['hotplug_over_max']).toEqual(['INVALID_VALUE', 'nvcpu', '64'])
    expect((out['static_live'] as string[])[0]).toBe('VM_BAD_POWER_STATE')
    expect((out['static_live'] as string[]).slice(2)).toEqual(['halted', 'running'])
    expect((out['vcpus_max_live'] as string[])[0]).toBe('VM_BAD_POWER_STATE')
    expect(out['order']).toEqual(['3', '20'])
    expect(out['ha']).toBe('best-effort')
    expect(out['ha_bad']).toEqual(['INVALID_VALUE', 'ha_restart_priority', 'always'])
    expect(out).toMatchObject({ affinity_set: true, to_template: true, to_vm: false, custom_deleted: true })
    expect((out['template_start'] as string[])[0]).toBe('VM_IS_TEMPLATE')
    expect(out['from_snapshot']).toEqual(['success', true, false])
    expect((out['builtin_delete'] as string[])[0]).toBe('VM_IS_TEMPLATE')
    expect((out['builtin_delete'] as string[])[2]).toBe('destroy')
  }, 120_000)
})
