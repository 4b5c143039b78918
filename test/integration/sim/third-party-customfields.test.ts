/**
 * The calls behind custom fields and saved searches (issue 19) — pool.add_to_gui_config /
 * remove_from_gui_config, <class>.add_to_other_config / remove_from_other_config on VM, host, SR
 * and pool — work in the simulator for clients written by others against real XAPI, with XAPI's
 * checks: a key that exists is MAP_DUPLICATE_KEY, removing an absent key is no error, a bad
 * reference is HANDLE_INVALID.
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
import { runPython } from '../../helpers/python'

let sim: SimControl
let current: TinyPool
let tmp: string

beforeAll(async () => {
  current = tinyPool({ name: 'cf-current', addressBase: '127.79.19' })
  sim = await startSimulator({ fleet: tinyFleet([current.spec]) })
  tmp = await mkdtemp(join(tmpdir(), 'xenpilot-cf-clients-'))
})
afterAll(async () => {
  await sim?.stop()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('official XenAPI Python client (os_xenapi, XML-RPC)', () => {
  it('defines a custom field, sets and clears its value on a VM, host, SR and pool, saves a search — with XAPI’s refusals', async () => {
    const pool = sim.pool('cf-current')
    const master = pool.hosts[0]
    if (!master) throw new Error('no master')
    const cafile = join(tmp, 'master.pem')
    await writeFile(cafile, master.certPem)
    const script = fileURLToPath(new URL('./xenapi_customfields.py', import.meta.url))
    const out = JSON.parse(await runPython(script, [pool.masterUrl, cafile, pool.username, pool.password, current.refs.running, current.refs.hosts[0] ?? '', current.refs.sr])) as Record<string, unknown>
    expect(out['defs']).toMatch(/^<CustomFieldDefinitions><CustomFieldDefinition name="Owner"/)
    expect((out['defs_dup'] as string[])[0]).toBe('MAP_DUPLICATE_KEY')
    for (const cls of ['VM', 'host', 'SR', 'pool']) {
      expect(out[`value_${cls}`]).toBe(`finance-${cls}`)
      expect(out[`dup_${cls}`]).toEqual(['MAP_DUPLICATE_KEY', cls, 'other_config', expect.stringMatching(/^OpaqueRef:/), 'XenCenter.CustomFields.Owner'])
      expect(out[`gone_${cls}`]).toBe(true)
    }
    expect((out['bad_ref'] as string[])[0]).toBe('HANDLE_INVALID')
    expect(out['search']).toBe(true)
    expect(out['search_gone']).toBe(true)
  }, 120_000)
})

describe("Xen Orchestra's xen-api client (JSON-RPC)", () => {
  let x: Xapi
  afterAll(async () => {
    await x?.disconnect().catch(() => undefined)
  })
  it('sets a custom field value and gets MAP_DUPLICATE_KEY for a second add', async () => {
    const pool = sim.pool('cf-current')
    x = new Xapi({ url: pool.masterUrl, auth: { user: pool.username, password: pool.password }, allowUnauthorized: true })
    await x.connect()
    await x.call('VM.add_to_other_config', current.refs.halted, 'XenCenter.CustomFields.Team', 'ops')
    expect(((await x.call('VM.get_other_config', current.refs.halted)) as Record<string, string>)['XenCenter.CustomFields.Team']).toBe('ops')
    const err = await x.call('VM.add_to_other_config', current.refs.halted, 'XenCenter.CustomFields.Team', 'dev').then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    )
    expect(err?.code).toBe('MAP_DUPLICATE_KEY')
    await x.call('VM.remove_from_other_config', current.refs.halted, 'XenCenter.CustomFields.Team')
    expect(((await x.call('VM.get_other_config', current.refs.halted)) as Record<string, string>)['XenCenter.CustomFields.Team']).toBeUndefined()
  })
})
