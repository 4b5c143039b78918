/**
 * The calls of VM Properties and the template commands (issue 14) work for clients written by
 * others against real XAPI: the official XenAPI Python client (XML-RPC) and Xen Orchestra's
 * `xen-api` (JSON-RPC) — results and XAPI's refusals (VM_BAD_POWER_STATE on a running VM's static
 * settings, INVALID_VALUE for an unknown HA priority or too many hot-plugged vCPUs, VM_IS_TEMPLATE
 * for starting a template or deleting a built-in one, VCPU_MAX_NOT_CORES_PER_SOCKET_MULTIPLE and
 * the device model at start).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Xapi } from 'xen-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runPython } from '../../helpers/python'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle, SimRecord } from '../../sim/model'

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
    expect(out['hotplug_over_max']).toEqual(['INVALID_VALUE', 'VCPU values must satisfy: 0 < VCPUs ≤ VCPUs_max', '64'])
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

describe("Xen Orchestra's xen-api client (JSON-RPC): the calls of vm.configure, New VM from Snapshot and the template commands", () => {
  const GiB = 1024 ** 3
  const clients: Xapi[] = []
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.disconnect().catch(() => undefined)))
  })
  const find = (pool: SimPoolHandle, pred: (r: SimRecord) => boolean): string => {
    for (const [ref, r] of pool.objects.get('VM') ?? []) if (pred(r)) return ref
    throw new Error('no VM')
  }
  const vmRec = (pool: SimPoolHandle, ref: string): SimRecord => pool.objects.get('VM')?.get(ref) ?? {}
  async function connect(pool: SimPoolHandle): Promise<Xapi> {
    const x = new Xapi({ url: pool.masterUrl, auth: { user: pool.username, password: pool.password }, allowUnauthorized: true, debounce: 50 })
    clients.push(x)
    await x.connect()
    return x
  }

  it('a halted VM: every setter VM Properties sends, in its order, and the start that checks them', async () => {
    const pool = sim.pool('tiny-current')
    const x = await connect(pool)
    const vm = find(pool, (r) => r.name_label === 'legacy-app' && r.is_a_template !== true)
    const host = pool.hosts[1]?.ref ?? ''
    await x.call('VM.set_name_label', vm, 'legacy-app-2')
    await x.call('VM.set_name_description', vm, 'archive')
    await x.call('VM.set_VCPUs_max', vm, 4)
    await x.call('VM.set_VCPUs_at_startup', vm, 4)
    await x.call('VM.remove_from_platform', vm, 'cores-per-socket')
    await x.call('VM.add_to_platform', vm, 'cores-per-socket', '2')
    await x.call('VM.remove_from_VCPUs_params', vm, 'weight')
    await x.call('VM.add_to_VCPUs_params', vm, 'weight', '1024')
    const staticMin = Number(vmRec(pool, vm).memory_static_min)
    await x.call('VM.set_memory_limits', vm, staticMin, 4 * GiB, 2 * GiB, 4 * GiB)
    await x.call('VM.set_HVM_boot_params', vm, { order: 'ncd', firmware: 'bios' })
    await x.call('VM.remove_from_platform', vm, 'secureboot')
    await x.call('VM.add_to_platform', vm, 'secureboot', 'false')
    await x.call('VM.set_affinity', vm, host)
    await x.call('VM.set_order', vm, 3)
    await x.call('VM.set_start_delay', vm, 20)
    await x.call('VM.set_shutdown_delay', vm, 10)
    await x.call('VM.set_ha_restart_priority', vm, 'best-effort')
    await x.call('VM.remove_from_platform', vm, 'exp-nested-hvm')
    await x.call('VM.add_to_platform', vm, 'exp-nested-hvm', 'true')
    await x.call('VM.remove_from_other_config', vm, 'owner')
    await x.call('VM.add_to_other_config', vm, 'owner', 'archive team')
    await x.call('VM.remove_from_xenstore_data', vm, 'vm-data/role')
    await x.call('VM.add_to_xenstore_data', vm, 'vm-data/role', 'archive')
    expect(vmRec(pool, vm)).toMatchObject({
      name_label: 'legacy-app-2',
      name_description: 'archive',
      VCPUs_max: 4,
      VCPUs_at_startup: 4,
      memory_static_max: 4 * GiB,
      memory_dynamic_min: 2 * GiB,
      affinity: host,
      order: 3,
      start_delay: 20,
      shutdown_delay: 10,
      ha_restart_priority: 'best-effort',
      HVM_boot_params: { order: 'ncd', firmware: 'bios' },
      VCPUs_params: { weight: '1024' },
      other_config: expect.objectContaining({ owner: 'archive team' }) as unknown,
      xenstore_data: expect.objectContaining({ 'vm-data/role': 'archive' }) as unknown,
    })
    expect(vmRec(pool, vm).platform).toMatchObject({ 'cores-per-socket': '2', secureboot: 'false', 'exp-nested-hvm': 'true' })
    await expect(x.call('VM.set_ha_restart_priority', vm, 'always')).rejects.toMatchObject({ code: 'INVALID_VALUE', params: ['ha_restart_priority', 'always'] })
    await expect(x.call('VM.set_memory_limits', vm, staticMin, 2 * GiB, 3 * GiB, 2 * GiB)).rejects.toMatchObject({ code: 'MEMORY_CONSTRAINT_VIOLATION_ORDER' })
    // XAPI takes a maximum that the cores per socket do not divide, and refuses the start
    await x.call('VM.set_VCPUs_at_startup', vm, 3)
    await x.call('VM.set_VCPUs_max', vm, 3)
    await expect(x.callAsync('VM.start', vm, false, false)).rejects.toMatchObject({ code: 'VCPU_MAX_NOT_CORES_PER_SOCKET_MULTIPLE', params: ['3', '2'] })
    await x.call('VM.set_VCPUs_max', vm, 4)
    await x.callAsync('VM.start', vm, false, false)
    expect(vmRec(pool, vm).power_state).toBe('Running')
  })

  it('a running VM: vCPU hot-plug and the dynamic range live; static settings refused with VM_BAD_POWER_STATE', async () => {
    const pool = sim.pool('tiny-current')
    const x = await connect(pool)
    const vm = find(pool, (r) => r.name_label === 'legacy-app-2')
    await x.call('VM.set_VCPUs_number_live', vm, 2)
    expect(vmRec(pool, vm).VCPUs_at_startup).toBe(2)
    await expect(x.call('VM.set_VCPUs_number_live', vm, 9)).rejects.toMatchObject({ code: 'INVALID_VALUE', params: ['VCPU values must satisfy: 0 < VCPUs ≤ VCPUs_max', '9'] })
    await x.call('VM.set_memory_dynamic_range', vm, 3 * GiB, 4 * GiB)
    expect(vmRec(pool, vm)).toMatchObject({ memory_dynamic_min: 3 * GiB, memory_dynamic_max: 4 * GiB })
    await expect(x.call('VM.set_VCPUs_max', vm, 8)).rejects.toMatchObject({ code: 'VM_BAD_POWER_STATE', params: [vm, 'halted', 'running'] })
    await expect(x.call('VM.set_memory_limits', vm, GiB, 8 * GiB, 3 * GiB, 4 * GiB)).rejects.toMatchObject({ code: 'VM_BAD_POWER_STATE' })
    await expect(x.call('VM.set_is_a_template', vm, true)).rejects.toMatchObject({ code: 'VM_BAD_POWER_STATE' })
  })

  it('New VM from Snapshot as XenCenter makes it: Async VM.clone of the snapshot (a template), VM.provision makes it a VM, VM.start', async () => {
    const pool = sim.pool('tiny-current')
    const x = await connect(pool)
    const snap = find(pool, (r) => r.is_a_snapshot === true)
    const clone = (await x.callAsync('VM.clone', snap, 'from snapshot')) as string
    expect(vmRec(pool, clone)).toMatchObject({ is_a_template: true, is_a_snapshot: false })
    await expect(x.callAsync('VM.start', clone, false, false)).rejects.toMatchObject({ code: 'VM_IS_TEMPLATE' })
    await x.callAsync('VM.provision', clone)
    expect(vmRec(pool, clone)).toMatchObject({ is_a_template: false })
    await x.callAsync('VM.start', clone, false, false)
    expect(vmRec(pool, clone).power_state).toBe('Running')
    expect(vmRec(pool, snap)).toMatchObject({ is_a_snapshot: true, is_a_template: true })
  })
})
