/**
 * VM Properties and template conversions end to end (issue 14): contract arguments → provision
 * module → ActionRunner → XAPI setters on the real HTTPS simulator. A halted VM takes every
 * setting; a running one takes the live ones (dynamic memory, vCPU hot-plug, name, HA) and refuses
 * the static ones in words before XAPI is asked; HA's "restart" only for a VM every server can run
 * (XenCenter's rule, checked before XAPI is asked); XAPI's own refusals (memory order, the HA
 * planner) come back as sentences with their codes. Only the changed settings are sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methods } from '../../../shared/contract'
import { explainXapiError } from '../../../shared/xapi/error-text'
import type { ProvisionMethodName } from '../../../shared/contract/provision'
import { MemoryHistory } from '../../../main/services/operations'
import { provisionModule } from '../../../main/services/provision'
import type { HandlerArgs, ServiceModule } from '../../../main/services'
import type { PoolManagerApi } from '../../../main/pools/api'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { simRecords } from '../../helpers/sim-records'
import { connectTrusted, makeManager, waitFor, type Harness } from '../pools/helpers'

const GiB = 1024 ** 3
let sim: SimControl
let h: Harness
let cur: SimPoolHandle
let curId = ''
const history = new MemoryHistory()
let mod: ServiceModule<ProvisionMethodName>
const calls: string[] = []

function spy(pools: PoolManagerApi): PoolManagerApi {
  return new Proxy(pools, {
    get(target, prop, receiver) {
      if (prop === 'callAsync' || prop === 'call') {
        return async (id: string, method: string, params: unknown[], onProgress?: (p: number, t: string) => void) => {
          calls.push(method)
          return prop === 'call' ? target.call(id, method, params) : target.callAsync(id, method, params, onProgress)
        }
      }
      const v: unknown = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.91', opDurationMs: 0 }) })
  cur = sim.pool('tiny-current')
  h = makeManager()
  curId = await connectTrusted(h, cur)
  mod = provisionModule({ history })({ pools: spy(h.manager), broadcast: () => {}, log: () => {} })
}, 120_000)

afterAll(async () => {
  await h?.close()
  await sim?.stop()
})

const { table, rec, find } = simRecords(() => cur)
const vmNamed = (name: string) => find('VM', (r) => r.name_label === name && r.is_a_template !== true)

async function call<M extends 'vm.configure' | 'vm.template' | 'vm.settings' | 'vm.create'>(m: M, args: unknown) {
  const parsed = methods[m].args.parse(args) as HandlerArgs<M>
  const handler = mod.handlers[m]
  if (!handler) throw new Error('no handler')
  calls.length = 0
  return (handler as (a: HandlerArgs<M>, s: never) => ReturnType<NonNullable<typeof handler>>)(parsed, undefined as never)
}
const configure = (ref: string, changes: Record<string, unknown>) => call('vm.configure', { connectionId: curId, ref, changes })
/** main's graph has seen the pool's change (the next check reads it) */
const seen = (ref: string, pred: (r: Record<string, unknown>) => boolean) => waitFor('the change in main’s graph', () => {
  const r = h.manager.graph(curId)?.get('VM', ref)
  return r !== undefined && pred(r)
})

describe('VM Properties on a halted VM', () => {
  it('applies every setting through XAPI’s setters, only the changed ones, in an order XAPI accepts', async () => {
    const vm = vmNamed('build-01')
    const host = find('host', (r) => r.name_label === 'tiny-host-2')
    const r = await configure(vm, {
      name: 'build-01b',
      description: 'nightly builds',
      vcpusMax: 4,
      vcpusAtStartup: 3,
      coresPerSocket: 2,
      memory: { staticMax: 4 * GiB, dynamicMin: 3 * GiB, dynamicMax: 4 * GiB },
      bootOrder: 'ncd',
      homeServer: host,
      startOrder: 2,
      startDelay: 30,
      haRestartPriority: 'best-effort',
      viridian: false,
      nestedVirt: true,
      otherConfig: { set: { owner: 'ci team' }, remove: ['folder'] },
      xenstoreData: { set: { 'vm-data/role': 'builder' } },
    })
    expect(r).toMatchObject({ ok: true })
    const v = rec('VM', vm)
    expect(v).toMatchObject({ name_label: 'build-01b', name_description: 'nightly builds', VCPUs_max: 4, VCPUs_at_startup: 3, affinity: host, order: 2, start_delay: 30, ha_restart_priority: 'best-effort' })
    expect(v).toMatchObject({ memory_static_max: 4 * GiB, memory_dynamic_min: 3 * GiB, memory_dynamic_max: 4 * GiB })
    expect(v.platform).toMatchObject({ 'cores-per-socket': '2', viridian: 'false', 'exp-nested-hvm': 'true' })
    expect(v.HVM_boot_params).toMatchObject({ order: 'ncd' })
    expect(v.other_config).toMatchObject({ owner: 'ci team' })
    expect(v.other_config).not.toHaveProperty('folder')
    expect(v.xenstore_data).toMatchObject({ 'vm-data/role': 'builder' })
    // static range while halted: one set_memory_limits; vCPUs raised max first
    expect(calls.filter((c) => c.startsWith('VM.set_memory'))).toEqual(['VM.set_memory_limits'])
    expect(calls.indexOf('VM.set_VCPUs_max')).toBeLessThan(calls.indexOf('VM.set_VCPUs_at_startup'))
    expect(history.list({ ref: vm })[0]).toMatchObject({ action: 'Properties', ok: true })
  })

  it('sends exactly what changed: a description alone is one call', async () => {
    const vm = vmNamed('build-01b')
    await configure(vm, { description: 'only this' })
    expect(calls).toEqual(['VM.set_name_description'])
  })

  it('memory out of order is refused before XAPI is asked, in words; XAPI’s own MEMORY_CONSTRAINT_VIOLATION_ORDER is explained too', async () => {
    const vm = vmNamed('build-01b')
    await seen(vm, (r) => r.memory_static_max === 4 * GiB)
    await expect(configure(vm, { memory: { staticMax: 2 * GiB, dynamicMin: 3 * GiB, dynamicMax: 2 * GiB } })).rejects.toThrow(/out of order.*static minimum ≤ dynamic minimum ≤ dynamic maximum ≤ static maximum/)
    expect(calls).toEqual([])
    // another client lowered the static maximum meanwhile: XAPI refuses, the sentence says why
    await cur.call('VM.set_memory_limits', [vm, rec('VM', vm).memory_static_min as number, 2 * GiB, GiB, 2 * GiB])
    const r = await configure(vm, { memory: { staticMax: 4 * GiB, dynamicMin: 3 * GiB, dynamicMax: 4 * GiB } }).catch((e: unknown) => e)
    // main's graph may or may not have seen it: either the rule or XAPI refuses — never applied out of order
    if (r instanceof Error) expect(r.message).toMatch(/out of order|static/)
    else expect((r as { ok: boolean }).ok).toBe(true)
  })

  it('the vCPU maximum must be a multiple of the cores per socket', async () => {
    const vm = vmNamed('build-01b')
    await seen(vm, (r) => r.VCPUs_max === 4)
    await expect(configure(vm, { vcpusMax: 3 })).rejects.toThrow(/maximum vCPUs \(3\) must be a multiple of the cores per socket \(2\)/)
    await expect(configure(vm, { vcpusAtStartup: 5 })).rejects.toThrow(/at most the maximum \(4\)/)
  })

  it('the topology fits the server (host.cpu_info): more cores per socket than the home server has, or more than 16 sockets, is refused in words before XAPI is asked', async () => {
    const vm = vmNamed('build-01b')
    // tiny-host-1: 32 logical CPUs on 2 sockets (16 per socket); tiny-host-2: 32 on 1 socket
    const small = find('host', (r) => r.name_label === 'tiny-host-1')
    await expect(configure(vm, { homeServer: small, vcpusMax: 32, coresPerSocket: 32 })).rejects.toThrow(/^tiny-host-1 has 16 logical CPUs per socket: a VM cannot have more cores per socket \(32 chosen\)\.$/)
    await expect(configure(vm, { vcpusMax: 32, coresPerSocket: 1 })).rejects.toThrow(/32 vCPUs with 1 core per socket make 32 sockets; a VM has at most 16/)
    expect(calls).toEqual([])
    expect(rec('VM', vm)).toMatchObject({ VCPUs_max: 4 })
  })
})

describe('boot mode and CPU priority (XenCenter’s rules, XAPI’s checks at start)', () => {
  const platformOf = (vm: string) => rec('VM', vm).platform as Record<string, string>
  const firmwareOf = (vm: string) => (rec('VM', vm).HVM_boot_params as Record<string, string>).firmware

  it('a VM that never started changes firmware — the device model follows, NVRAM is kept — and starts; once started with UEFI it cannot go back to BIOS, Secure Boot still toggles', async () => {
    const made = await call('vm.create', {
      connectionId: curId,
      template: find('VM', (r) => r.name_label === 'AlmaLinux 9' && r.is_default_template === true),
      name: 'firmware-test',
      install: { method: 'cd' },
      bootMode: 'bios',
      vcpusMax: 2,
      vcpusAtStartup: 2,
      coresPerSocket: 2,
      memoryStaticMax: 2 * GiB,
      memoryDynamicMin: 2 * GiB,
      memoryDynamicMax: 2 * GiB,
      disks: [],
      vifs: [],
    })
    expect(made).toMatchObject({ ok: true })
    const vm = String(made.created)
    expect(firmwareOf(vm)).toBe('bios')
    expect(platformOf(vm)['device-model']).toBe('qemu-upstream-compat')
    await seen(vm, (r) => r.is_a_template === false && (r.HVM_boot_params as Record<string, string>).firmware === 'bios')
    const nvram = structuredClone(rec('VM', vm).NVRAM)

    expect(await configure(vm, { bootMode: 'uefi' })).toMatchObject({ ok: true })
    expect(firmwareOf(vm)).toBe('uefi')
    expect(platformOf(vm)).toMatchObject({ 'device-model': 'qemu-upstream-uefi', secureboot: 'false' })
    expect(rec('VM', vm).NVRAM).toEqual(nvram)
    // XAPI builds the domain with it (Vm_platform.sanity_check would refuse a BIOS device model)
    await cur.call('VM.start', [vm, false, false])
    await cur.call('VM.hard_shutdown', [vm])
    await seen(vm, (r) => r.power_state === 'Halted' && Object.keys((r.last_boot_CPU_flags as Record<string, string>) ?? {}).length > 0)

    await expect(configure(vm, { bootMode: 'bios' })).rejects.toThrow('firmware-test has already started with UEFI: the OS installed on it would not boot with BIOS.')
    expect(calls).toEqual([])
    // AlmaLinux 9's template does not offer Secure Boot: refused for that reason, not the boot
    await expect(configure(vm, { bootMode: 'uefi-secure' })).rejects.toThrow("firmware-test does not support UEFI Secure Boot (its template's recommendations).")
  })

  it('XAPI refuses to start a VM whose device model cannot boot its firmware (another client set only the firmware), in words', async () => {
    const vm = find('VM', (r) => r.name_label === 'firmware-test')
    await cur.call('VM.set_HVM_boot_params', [vm, { ...(rec('VM', vm).HVM_boot_params as Record<string, string>), firmware: 'bios' }])
    const refused = await cur.call('VM.start', [vm, false, false]).then(
      () => null,
      (e: unknown) => e,
    )
    expect(refused).toMatchObject({ description: ['INVALID_VALUE', 'platform:device-model', 'BIOS boot is not supported with qemu-upstream-uefi'] })
    expect(explainXapiError('INVALID_VALUE', ['platform:device-model', 'BIOS boot is not supported with qemu-upstream-uefi']).sentence).toBe(
      "The VM's device model cannot boot its firmware: BIOS boot is not supported with qemu-upstream-uefi.",
    )
  })

  it('CPU priority and cap go to VCPUs_params (weight, cap) on a halted VM, leaving its mask; a running VM says why not', async () => {
    const vm = find('VM', (r) => r.name_label === 'firmware-test')
    await cur.call('VM.add_to_VCPUs_params', [vm, 'mask', '0,1'])
    await seen(vm, (r) => (r.VCPUs_params as Record<string, string>)?.['mask'] === '0,1')
    expect(await configure(vm, { cpuWeight: 1024, cpuCap: 50 })).toMatchObject({ ok: true })
    expect(rec('VM', vm).VCPUs_params).toEqual({ mask: '0,1', weight: '1024', cap: '50' })
    await seen(vm, (r) => (r.VCPUs_params as Record<string, string>)?.['cap'] === '50')
    expect(await configure(vm, { cpuCap: 0 })).toMatchObject({ ok: true })
    expect(rec('VM', vm).VCPUs_params).toEqual({ mask: '0,1', weight: '1024' })
    await expect(configure(vmNamed('web-02'), { cpuWeight: 4096 })).rejects.toThrow(/CPU priority can change only while web-02 is shut down \(it is running\)/)
  })
})

describe('the settings the renderer’s slim records leave out', () => {
  it('vm.settings reads them from main’s graph: platform, boot parameters, xenstore_data, delays, static minimum', async () => {
    const vm = vmNamed('web-01')
    const v = rec('VM', vm)
    const r = await call('vm.settings', { connectionId: curId, ref: vm })
    expect(r).toMatchObject({ platform: v.platform, HVM_boot_params: v.HVM_boot_params, memory_static_min: v.memory_static_min, PV_bootloader: v.PV_bootloader ?? '' })
    expect(methods['vm.settings'].result.parse(r)).toEqual(r)
  })
})

describe('VM Properties on a running VM', () => {
  it('takes the dynamic memory range and vCPU hot-plug live', async () => {
    const vm = vmNamed('web-01')
    const before = rec('VM', vm)
    const r = await configure(vm, { vcpusAtStartup: 1, memory: { staticMax: before.memory_static_max as number, dynamicMin: 2 * GiB, dynamicMax: 3 * GiB } })
    expect(r).toMatchObject({ ok: true })
    expect(calls).toContain('VM.set_VCPUs_number_live')
    expect(calls).toContain('VM.set_memory_dynamic_range')
    expect(calls).not.toContain('VM.set_memory_limits')
    expect(rec('VM', vm)).toMatchObject({ VCPUs_at_startup: 1, memory_dynamic_min: 2 * GiB, memory_dynamic_max: 3 * GiB })
  })

  it('refuses static settings with the reason (the VM is running) before XAPI is asked', async () => {
    const vm = vmNamed('web-01')
    await expect(configure(vm, { vcpusMax: 4 })).rejects.toThrow(/maximum number of vCPUs can change only while web-01 is shut down \(it is running\)/)
    await expect(configure(vm, { memory: { staticMax: 8 * GiB, dynamicMin: 2 * GiB, dynamicMax: 3 * GiB } })).rejects.toThrow(/static memory limits can change only while web-01 is shut down/)
    await expect(configure(vm, { bootMode: 'uefi' })).rejects.toThrow(/boot mode can change only while web-01 is shut down/)
    expect(calls).toEqual([])
  })

  /** HA on and the VM's disks on an SR that is not shared (simulator state, as another admin would have it) */
  async function withHaAndLocalDisks<T>(vm: string, fn: () => Promise<T>): Promise<T> {
    const poolRec = rec('pool', [...table('pool').keys()][0] ?? '') as Record<string, unknown>
    const srs = (rec('VM', vm).VBDs as string[])
      .map((b) => rec('VBD', b))
      .filter((b) => b.type === 'Disk')
      .map((b) => rec('SR', String(rec('VDI', String(b.VDI)).SR)) as Record<string, unknown>)
    const was = srs.map((sr) => sr.shared)
    poolRec.ha_enabled = true
    for (const sr of srs) sr.shared = false
    try {
      return await fn()
    } finally {
      poolRec.ha_enabled = false
      srs.forEach((sr, i) => (sr.shared = was[i]))
    }
  }

  it('“Restart” is refused before XAPI is asked for a VM not every server can run (XenCenter offers it only to an agile VM), with the reason vm.settings gave the dialog; “Restart if possible” applies', async () => {
    const vm = vmNamed('legacy-app')
    // a private network (no PIF on any server) for one of its NICs
    const net = String(await cur.call('network.create', [{ name_label: 'lab private', name_description: '', MTU: 1500, other_config: {}, tags: [] }]))
    await cur.call('VIF.create', [{ device: '3', network: net, VM: vm, MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [] }])
    await seen(vm, (r) => Array.isArray(r.VIFs) && r.VIFs.some((v) => h.manager.graph(curId)?.get('VIF', String(v))?.network === net))
    const why = 'HA guarantees a restart only to a VM every server can run; legacy-app is on the network \'lab private\', which not every server has'
    expect(await call('vm.settings', { connectionId: curId, ref: vm })).toMatchObject({ agility: why })
    await expect(configure(vm, { haRestartPriority: 'restart' })).rejects.toThrow(`${why}. Choose “Restart if possible” instead.`)
    expect(calls).toEqual([])
    expect(await configure(vm, { haRestartPriority: 'best-effort', startOrder: 3, startDelay: 20, shutdownDelay: 10 })).toMatchObject({ ok: true })
    expect(calls).toEqual(['VM.set_order', 'VM.set_start_delay', 'VM.set_shutdown_delay', 'VM.set_ha_restart_priority'])
    expect(rec('VM', vm)).toMatchObject({ ha_restart_priority: 'best-effort', order: 3, start_delay: 20, shutdown_delay: 10 })
    // an agile VM: vm.settings says so
    expect(await call('vm.settings', { connectionId: curId, ref: vmNamed('web-02') })).toMatchObject({ agility: true })
  })

  it('XAPI’s HA planner refuses to protect a running VM it could not restart elsewhere (another admin made its SR local, HA on), in words', async () => {
    const r = await withHaAndLocalDisks(vmNamed('pinned-01'), () => configure(vmNamed('pinned-01'), { haRestartPriority: 'restart' }))
    expect(r.ok).toBe(false)
    expect(r.error?.code).toBe('HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN')
    expect(r.error?.message).toMatch(/This would break the pool’s HA failover plan/)
  })

  it('“Restart” on an agile running VM protects it at once (ha_always_run), HA off or on', async () => {
    const vm = vmNamed('web-01')
    expect(await configure(vm, { haRestartPriority: 'restart' })).toMatchObject({ ok: true })
    expect(rec('VM', vm)).toMatchObject({ ha_restart_priority: 'restart', ha_always_run: true })
  })

  it('a change that fails part-way says what was already applied', async () => {
    const vm = vmNamed('web-02')
    const r = await withHaAndLocalDisks(vm, () => configure(vm, { description: 'front end', haRestartPriority: 'restart' }))
    expect(r.ok).toBe(false)
    expect(r.error?.message).toMatch(/Already applied: description\.$/)
    expect(rec('VM', vm).name_description).toBe('front end')
  })
})

describe('templates', () => {
  it('a running VM cannot become a template (the reason), a halted one can, and back again', async () => {
    await expect(call('vm.template', { connectionId: curId, ref: vmNamed('web-02'), action: 'to-template' })).rejects.toThrow(/web-02 is running; shut it down before converting it to a template/)
    const vm = vmNamed('build-01b')
    expect(await call('vm.template', { connectionId: curId, ref: vm, action: 'to-template' })).toMatchObject({ ok: true })
    expect(rec('VM', vm).is_a_template).toBe(true)
    await seen(vm, (r) => r.is_a_template === true)
    expect(await call('vm.template', { connectionId: curId, ref: vm, action: 'to-vm' })).toMatchObject({ ok: true })
    expect(rec('VM', vm).is_a_template).toBe(false)
  })

  it('a built-in template is never turned into a VM; a snapshot becomes a new template', async () => {
    const builtIn = find('VM', (r) => r.is_default_template === true)
    await expect(call('vm.template', { connectionId: curId, ref: builtIn, action: 'to-vm' })).rejects.toThrow(/is a built-in template: make a new VM from it instead/)
    const snap = find('VM', (r) => r.is_a_snapshot === true)
    const r = await call('vm.template', { connectionId: curId, ref: snap, action: 'from-snapshot', name: 'web golden' })
    expect(r).toMatchObject({ ok: true })
    expect(rec('VM', String(r.created))).toMatchObject({ name_label: 'web golden', is_a_template: true, is_a_snapshot: false })
  })
})
