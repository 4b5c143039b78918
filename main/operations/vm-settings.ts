/**
 * VM Properties and template conversions (issue 14) as user actions through the ActionRunner.
 *
 * Properties send exactly the changed settings, in an order XAPI accepts (XenCenter's
 * ChangeVCPUSettingsAction, ChangeMemorySettingsAction, the boot and HA pages):
 *   name, description → vCPUs (halted: lower at-startup first / raise the maximum first; running:
 *   VM.set_VCPUs_number_live) → cores per socket (platform) → CPU priority (VCPUs_params weight,
 *   cap) → memory (halted: VM.set_memory_limits with the VM's static minimum; running:
 *   VM.set_memory_dynamic_range) → HVM_boot_params order / firmware, platform secureboot and the
 *   device model that boots that firmware (NVRAM kept) → affinity → start order and delays →
 *   ha_restart_priority → platform viridian / nested virtualisation → PV_args → other_config and
 *   xenstore_data keys.
 * The rule the dialog showed is checked again first (shared/operations/vm-properties.ts); XAPI's
 * own refusals (VM_BAD_POWER_STATE, MEMORY_CONSTRAINT_VIOLATION…) come back as sentences. A failure
 * part-way says which settings were already applied.
 *
 * Templates: VM → template and back (VM.set_is_a_template), new template from a snapshot (VM.clone
 * of the snapshot; XAPI makes the clone of a snapshot a template).
 */
import type { TemplateAction, VmChanges, VmSettingsRecord } from '../../shared/contract/provision'
import { bootOrderOf, canConvertToTemplate, firmwareDeviceModel, canConvertToVm, canCloneSnapshot, checkVmChanges, memoryOf, NESTED_VIRT_KEY, vmPoolFacts } from '../../shared/operations/vm-properties'
import { vmAgility } from '../../shared/operations/ha'
import { versionAtLeast } from '../../shared/numa/model'
import { ActionRefusal, type ActionContext, type ActionResult, type ActionRunner } from './action'
import { viewOf, type PoolGraphReader } from './storage'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v) || 0)
const map = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x
  return out
}

/** a platform key replaced (remove + add: add_to_platform refuses a key that is there) */
export async function setPlatformKey(ctx: ActionContext, vm: string, key: string, value: string): Promise<void> {
  await ctx.call('VM.remove_from_platform', [vm, key])
  await ctx.call('VM.add_to_platform', [vm, key, value])
}

/** VCPUs_max and VCPUs_at_startup in the order that keeps 0 < at_startup ≤ max at every step */
export async function setVcpus(ctx: ActionContext, vm: string, currentAtStartup: number, max: number, atStartup: number): Promise<void> {
  if (atStartup < currentAtStartup) {
    await ctx.call('VM.set_VCPUs_at_startup', [vm, atStartup])
    await ctx.call('VM.set_VCPUs_max', [vm, max])
  } else {
    await ctx.call('VM.set_VCPUs_max', [vm, max])
    await ctx.call('VM.set_VCPUs_at_startup', [vm, atStartup])
  }
}

/** the words for each changed setting (history, the partial-failure sentence) */
const LABEL: Record<keyof VmChanges, string> = {
  name: 'name',
  description: 'description',
  vcpusMax: 'maximum vCPUs',
  vcpusAtStartup: 'vCPUs',
  coresPerSocket: 'cores per socket',
  cpuWeight: 'CPU priority',
  cpuCap: 'CPU cap',
  memory: 'memory',
  bootOrder: 'boot order',
  bootMode: 'boot mode',
  homeServer: 'home server',
  startOrder: 'start order',
  startDelay: 'start delay',
  shutdownDelay: 'shutdown delay',
  haRestartPriority: 'HA restart priority',
  viridian: 'Viridian',
  nestedVirt: 'nested virtualisation',
  pvArgs: 'kernel arguments',
  otherConfig: 'other_config',
  xenstoreData: 'xenstore_data',
}

export class VmSettingsRunner {
  constructor(
    private readonly actions: ActionRunner,
    private readonly graphOf: (connectionId: string) => PoolGraphReader | undefined,
  ) {}

  /** the settings the renderer's slim records leave out, from main's graph */
  read(connectionId: string, ref: string): VmSettingsRecord {
    const g = this.graphOf(connectionId)
    const vm = g?.get('VM', ref)
    if (!g || !vm) throw new ActionRefusal('This VM is not in the pool (or the pool’s objects are not loaded yet)')
    const vifs = g
      .linked('VM', ref, 'VIFs', 'VIF')
      .map((v) => g.get('VIF', v) ?? {})
      .sort((a, b) => num(a.device) - num(b.device))
    const name = (cls: string, r: unknown) => str(g.get(cls, str(r))?.name_label)
    const master = g.get('host', str([...g.all('pool').values()][0]?.master))
    const sw = map(master?.software_version)
    return {
      platform: map(vm.platform),
      HVM_boot_params: map(vm.HVM_boot_params),
      xenstore_data: map(vm.xenstore_data),
      other_config: map(vm.other_config),
      PV_args: str(vm.PV_args),
      PV_bootloader: str(vm.PV_bootloader),
      start_delay: num(vm.start_delay),
      shutdown_delay: num(vm.shutdown_delay),
      order: num(vm.order),
      memory_static_min: num(vm.memory_static_min),
      recommendations: str(vm.recommendations),
      VCPUs_params: map(vm.VCPUs_params),
      booted: Object.keys(map(vm.last_boot_CPU_flags)).length > 0,
      agility: vmAgility(viewOf(g), ref),
      vifNetworks: vifs.map((v) => str(v.network)).filter((n) => g.get('network', n) !== undefined),
      devices: {
        vgpus: g.linked('VM', ref, 'VGPUs', 'VGPU').map((v) => {
          const r = g.get('VGPU', v)
          return `${name('GPU_group', r?.GPU_group) || 'GPU'}${name('VGPU_type', r?.type) ? ` (${name('VGPU_type', r?.type)})` : ''}`
        }),
        gpuGroups: [...g.all('GPU_group').values()].filter((x) => Array.isArray(x.PGPUs) && x.PGPUs.length > 0).length,
        vusbs: g.linked('VM', ref, 'VUSBs', 'VUSB').map((v) => {
          const group = g.get('USB_group', str(g.get('VUSB', v)?.USB_group))
          const pusb = g.get('PUSB', str((Array.isArray(group?.PUSBs) ? group.PUSBs : [])[0]))
          const product = str(pusb?.product_desc) || str(group?.name_label) || 'USB device'
          return pusb ? `${product} on ${name('host', pusb.host) || 'a server'}` : product
        }),
        pusbs: [...g.all('PUSB').values()].filter((x) => x.passthrough_enabled === true).length,
        vtpms: g.linked('VM', ref, 'VTPMs', 'VTPM').length,
        vtpmSupported: versionAtLeast(sw['xapi_build'] ?? sw['xapi'], '22.26.0') === true,
      },
    }
  }

  configure(a: { connectionId: string; ref: string; changes: VmChanges }): Promise<ActionResult> {
    const g = this.graphOf(a.connectionId)
    if (!g) throw new ActionRefusal('The pool’s objects are not loaded yet')
    const vm = g.get('VM', a.ref)
    if (!vm) throw new ActionRefusal('This VM is no longer in the pool')
    const changed = (Object.keys(a.changes) as (keyof VmChanges)[]).filter((k) => a.changes[k] !== undefined)
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: a.ref,
      title: 'Properties',
      params: { changed: changed.map((k) => LABEL[k]), ...a.changes },
      // read again at the click: the VM may have started since the dialog opened
      check: () => {
        const now = this.graphOf(a.connectionId)
        const cur = now?.get('VM', a.ref)
        return now && cur ? checkVmChanges(cur, a.changes, vmPoolFacts(viewOf(now), a.ref, cur, a.changes)) : 'This VM is no longer in the pool'
      },
      steps: 1,
      work: async (ctx) => {
        const done: string[] = []
        try {
          await this.apply(ctx, a.ref, this.graphOf(a.connectionId)?.get('VM', a.ref) ?? vm, a.changes, done)
        } catch (e) {
          if (done.length === 0) throw e
          throw Object.assign(e instanceof Error ? e : new Error(String(e)), { after: `Already applied: ${[...new Set(done)].join(', ')}.` })
        }
        return undefined
      },
    })
  }

  private async apply(ctx: ActionContext, ref: string, vm: Record<string, unknown>, c: VmChanges, done: string[]): Promise<void> {
    const ok = (k: keyof VmChanges) => done.push(LABEL[k])
    if (c.name !== undefined) {
      await ctx.call('VM.set_name_label', [ref, c.name])
      ok('name')
    }
    if (c.description !== undefined) {
      await ctx.call('VM.set_name_description', [ref, c.description])
      ok('description')
    }
    const running = str(vm.power_state) === 'Running'
    if (c.vcpusMax !== undefined || c.vcpusAtStartup !== undefined) {
      const max = c.vcpusMax ?? num(vm.VCPUs_max)
      const start = c.vcpusAtStartup ?? num(vm.VCPUs_at_startup)
      if (running) await ctx.call('VM.set_VCPUs_number_live', [ref, start])
      else await setVcpus(ctx, ref, num(vm.VCPUs_at_startup), max, start)
      if (c.vcpusMax !== undefined) ok('vcpusMax')
      if (c.vcpusAtStartup !== undefined) ok('vcpusAtStartup')
    }
    if (c.coresPerSocket !== undefined) {
      await setPlatformKey(ctx, ref, 'cores-per-socket', String(c.coresPerSocket))
      ok('coresPerSocket')
    }
    for (const [key, param] of [
      ['cpuWeight', 'weight'],
      ['cpuCap', 'cap'],
    ] as const) {
      const v = c[key]
      if (v === undefined) continue
      // XenCenter writes VCPUs_params whole; the key alone leaves the mask another client set
      await ctx.call('VM.remove_from_VCPUs_params', [ref, param])
      // a cap of 0 is no cap: the key goes
      if (!(key === 'cpuCap' && v === 0)) await ctx.call('VM.add_to_VCPUs_params', [ref, param, String(v)])
      ok(key)
    }
    if (c.memory) {
      const m = c.memory
      if (str(vm.power_state) === 'Halted') await ctx.call('VM.set_memory_limits', [ref, memoryOf(vm).staticMin, m.staticMax, m.dynamicMin, m.dynamicMax])
      else await ctx.call('VM.set_memory_dynamic_range', [ref, m.dynamicMin, m.dynamicMax])
      ok('memory')
    }
    if (c.bootOrder !== undefined || c.bootMode !== undefined) {
      const params = map(vm.HVM_boot_params)
      if (c.bootOrder !== undefined) params.order = c.bootOrder
      else params.order ??= bootOrderOf(vm)
      if (c.bootMode !== undefined) params.firmware = c.bootMode === 'bios' ? 'bios' : 'uefi'
      await ctx.call('VM.set_HVM_boot_params', [ref, params])
      if (c.bootMode !== undefined) {
        await setPlatformKey(ctx, ref, 'secureboot', c.bootMode === 'uefi-secure' ? 'true' : 'false')
        // the device model follows the firmware, as Xen Orchestra sets it: XAPI refuses to start
        // qemu-upstream-uefi with BIOS (and qemu-trad with UEFI) — Vm_platform.sanity_check
        const model = map(vm.platform)['device-model']
        if (model !== undefined) {
          const want = firmwareDeviceModel(model, c.bootMode === 'bios' ? 'bios' : 'uefi')
          if (want !== model) await setPlatformKey(ctx, ref, 'device-model', want)
        }
      }
      if (c.bootOrder !== undefined) ok('bootOrder')
      if (c.bootMode !== undefined) ok('bootMode')
    }
    if (c.homeServer !== undefined) {
      await ctx.call('VM.set_affinity', [ref, c.homeServer || 'OpaqueRef:NULL'])
      ok('homeServer')
    }
    if (c.startOrder !== undefined) {
      await ctx.call('VM.set_order', [ref, c.startOrder])
      ok('startOrder')
    }
    if (c.startDelay !== undefined) {
      await ctx.call('VM.set_start_delay', [ref, c.startDelay])
      ok('startDelay')
    }
    if (c.shutdownDelay !== undefined) {
      await ctx.call('VM.set_shutdown_delay', [ref, c.shutdownDelay])
      ok('shutdownDelay')
    }
    if (c.haRestartPriority !== undefined) {
      await ctx.call('VM.set_ha_restart_priority', [ref, c.haRestartPriority])
      ok('haRestartPriority')
    }
    if (c.viridian !== undefined) {
      await setPlatformKey(ctx, ref, 'viridian', String(c.viridian))
      ok('viridian')
    }
    if (c.nestedVirt !== undefined) {
      await setPlatformKey(ctx, ref, NESTED_VIRT_KEY, String(c.nestedVirt))
      ok('nestedVirt')
    }
    if (c.pvArgs !== undefined) {
      await ctx.call('VM.set_PV_args', [ref, c.pvArgs])
      ok('pvArgs')
    }
    for (const [key, field] of [
      ['otherConfig', 'other_config'],
      ['xenstoreData', 'xenstore_data'],
    ] as const) {
      const e = c[key]
      if (!e) continue
      for (const k of e.remove) await ctx.call(`VM.remove_from_${field}`, [ref, k])
      for (const [k, v] of Object.entries(e.set)) {
        await ctx.call(`VM.remove_from_${field}`, [ref, k])
        await ctx.call(`VM.add_to_${field}`, [ref, k, v])
      }
      ok(key)
    }
  }

  template(a: { connectionId: string; ref: string; action: TemplateAction; name?: string | undefined }): Promise<ActionResult> {
    const g = this.graphOf(a.connectionId)
    if (!g) throw new ActionRefusal('The pool’s objects are not loaded yet')
    const vm = g.get('VM', a.ref)
    if (!vm) throw new ActionRefusal('This VM is no longer in the pool')
    const rule = { 'to-template': canConvertToTemplate, 'to-vm': canConvertToVm, 'from-snapshot': canCloneSnapshot }[a.action]
    const title = { 'to-template': 'Convert to template', 'to-vm': 'Convert to VM', 'from-snapshot': 'New template from snapshot' }[a.action]
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: a.ref,
      title,
      params: a.name !== undefined ? { name: a.name } : {},
      check: () => {
        const cur = this.graphOf(a.connectionId)?.get('VM', a.ref)
        if (!cur) return 'This VM is no longer in the pool'
        if (a.action === 'from-snapshot' && !a.name) return 'A name is required'
        return rule(cur)
      },
      steps: 1,
      work: async (ctx) => {
        if (a.action === 'from-snapshot') {
          const created = str(await ctx.task('VM.clone', [a.ref, a.name ?? '']))
          return { created }
        }
        await ctx.call('VM.set_is_a_template', [a.ref, a.action === 'to-template'])
        return undefined
      },
    })
  }
}
