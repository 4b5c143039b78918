/**
 * New VM from a template (issue 14) as one user action through the ActionRunner, in the order of
 * XenCenter's CreateVMAction (XenModel/Actions/VM/CreateVMAction.cs):
 *
 *   VM.clone (fast clone) or VM.copy to an SR (full copy) of the template, under the final name
 *   → the provision XML dropped (other_config "disks": the disks are made explicitly below) and VM.provision
 *   → name, description; VCPUs_max / VCPUs_at_startup in the order that keeps 0 < at_startup ≤ max;
 *     platform cores-per-socket; affinity; VM.set_memory_limits (the template's static minimum)
 *   → boot: HVM_boot_params order (dcn for a CD install, network first for PXE), firmware and
 *     platform secureboot; PV: other_config install-repository (URL or "cdrom") and PV_args
 *   → the DVD drive (the template's at 0–3, else a new empty one at 3), ejected, the ISO inserted
 *   → VDI.create + VBD.create per disk (bootable: position 0 when not installing from CD)
 *   → the template's VIFs destroyed, VIF.create per chosen network (MAC "" lets XAPI derive it)
 *   → VM.start_on the home server / VM.start, when asked.
 *
 * Nothing half made stays behind: a failure before the start destroys the new VM and every disk
 * made for it (the clone's copies and the new ones); whatever could not be removed is named in the
 * error. A start that fails leaves the VM made (XenCenter's point of no return) and says why.
 */
import type { NewVmSpec } from '../../shared/contract/provision'
import { bootOrderFor, canCreateVm, templateKind } from '../../shared/operations/provision'
import { firmwareDeviceModel } from '../../shared/operations/vm-properties'
import { explainXapiError } from '../../shared/xapi/error-text'
import { ActionRefusal, asXapiFailure, type ActionContext, type ActionResult, type ActionRunner } from './action'
import { viewOf, vbdRecord, type PoolGraphReader } from './storage'
import { setPlatformKey, setVcpus } from './vm-settings'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const map = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x
  return out
}
const isRef = (v: unknown): v is string => typeof v === 'string' && v.startsWith('OpaqueRef:') && v !== 'OpaqueRef:NULL'

/** a failure part-way, with what the clean-up removed and what it could not */
class ProvisionFailure extends Error {
  constructor(
    readonly code: string,
    readonly params: string[],
    readonly after: string,
  ) {
    super(code)
  }
}

export class ProvisionRunner {
  constructor(
    private readonly actions: ActionRunner,
    private readonly graphOf: (connectionId: string) => PoolGraphReader | undefined,
  ) {}

  create(spec: NewVmSpec): Promise<ActionResult> {
    const g = this.graphOf(spec.connectionId)
    if (!g) throw new ActionRefusal('The pool’s objects are not loaded yet')
    const template = g.get('VM', spec.template)
    const view = viewOf(g)
    return this.actions.run({
      connectionId: spec.connectionId,
      cls: 'VM',
      ref: spec.template,
      title: 'New VM',
      params: {
        name: spec.name,
        template: str(template?.name_label),
        install: spec.install.method,
        disks: spec.disks.map((d) => ({ size: d.size, sr: d.sr })),
        networks: spec.vifs.length,
        start: spec.start,
        ...(spec.copyTo ? { copyTo: spec.copyTo } : {}),
      },
      check: () => canCreateVm(view, spec, template),
      steps: 3 + spec.disks.length * 2 + spec.vifs.length + (spec.start ? 1 : 0),
      work: async (ctx) => {
        const vm = await this.build(ctx, spec, template ?? {})
        if (!spec.start) return { created: vm }
        try {
          if (spec.homeServer) await ctx.task('VM.start_on', [vm, spec.homeServer, false, false])
          else await ctx.task('VM.start', [vm, false, false])
          return { created: vm }
        } catch (e) {
          const f = asXapiFailure(e)
          const why = explainXapiError(f.code, f.params, (r) => (r === vm ? `VM '${spec.name}'` : undefined)).sentence
          return { created: vm, note: `VM '${spec.name}' was created but did not start: ${why}` }
        }
      },
    })
  }

  /** the VM, made and set up; on failure everything made is removed again (or named) */
  private async build(ctx: ActionContext, spec: NewVmSpec, template: Record<string, unknown>): Promise<string> {
    let vm: string | undefined
    const newDisks: string[] = []
    try {
      vm = str(spec.copyTo ? await ctx.task('VM.copy', [spec.template, spec.name, spec.copyTo]) : await ctx.task('VM.clone', [spec.template, spec.name]))
      const made = vm
      const other = map(await ctx.call('VM.get_other_config', [made]))
      if ('disks' in other) await ctx.call('VM.remove_from_other_config', [made, 'disks'])
      await ctx.task('VM.provision', [made])
      await this.settings(ctx, made, spec, template)
      await this.boot(ctx, made, spec, template)
      await this.cdDrive(ctx, made, spec)
      for (const d of spec.disks) newDisks.push(await this.disk(ctx, made, d, spec.install.method !== 'cd'))
      await this.networks(ctx, made, spec)
      return made
    } catch (e) {
      const f = asXapiFailure(e)
      if (vm === undefined || vm === '') throw e
      const left = await this.cleanUp(ctx, vm, newDisks)
      throw new ProvisionFailure(
        f.code,
        f.params,
        left.length === 0 ? 'Nothing was left behind: the new VM and its disks were removed.' : `Left behind (delete by hand): ${left.join(', ')}.`,
      )
    }
  }

  private async settings(ctx: ActionContext, vm: string, spec: NewVmSpec, template: Record<string, unknown>): Promise<void> {
    await ctx.call('VM.set_name_description', [vm, spec.description])
    // ChangeVCPUSettingsAction: lower at_startup first, raise max first
    await setVcpus(ctx, vm, Number(template.VCPUs_at_startup ?? 1), spec.vcpusMax, spec.vcpusAtStartup)
    await setPlatformKey(ctx, vm, 'cores-per-socket', String(spec.coresPerSocket))
    const affinity = spec.homeServer ?? 'OpaqueRef:NULL'
    if (affinity !== str(template.affinity || 'OpaqueRef:NULL')) await ctx.call('VM.set_affinity', [vm, affinity])
    const staticMin = Number(template.memory_static_min ?? 0)
    await ctx.call('VM.set_memory_limits', [vm, staticMin, spec.memoryStaticMax, spec.memoryDynamicMin, spec.memoryDynamicMax])
  }

  private async boot(ctx: ActionContext, vm: string, spec: NewVmSpec, template: Record<string, unknown>): Promise<void> {
    const kind = templateKind(template)
    if (kind === 'hvm') {
      const params = map(await ctx.call('VM.get_HVM_boot_params', [vm]))
      params.order = bootOrderFor(spec.install.method, params.order ?? '')
      if (spec.bootMode) params.firmware = spec.bootMode === 'bios' ? 'bios' : 'uefi'
      await ctx.call('VM.set_HVM_boot_params', [vm, params])
      if (spec.bootMode) {
        await setPlatformKey(ctx, vm, 'secureboot', spec.bootMode === 'uefi-secure' ? 'true' : 'false')
        // a template's device model made for the other firmware would not start (Vm_platform.sanity_check)
        const model = map(await ctx.call('VM.get_platform', [vm]))['device-model']
        const want = model === undefined ? undefined : firmwareDeviceModel(model, spec.bootMode === 'bios' ? 'bios' : 'uefi')
        if (want !== undefined && want !== model) await setPlatformKey(ctx, vm, 'device-model', want)
      }
      return
    }
    if (kind === 'pv-eli' && (spec.install.method === 'url' || spec.install.method === 'cd')) {
      await ctx.call('VM.remove_from_other_config', [vm, 'install-repository'])
      await ctx.call('VM.add_to_other_config', [vm, 'install-repository', spec.install.method === 'url' ? spec.install.url : 'cdrom'])
    }
    if (spec.pvArgs !== undefined) await ctx.call('VM.set_PV_args', [vm, spec.pvArgs])
  }

  /** AddCdDrive: the template's DVD drive at 0–3 or a new one; ejected; the ISO inserted */
  private async cdDrive(ctx: ActionContext, vm: string, spec: NewVmSpec): Promise<void> {
    if (spec.install.method === 'none') return
    let drive: string | undefined
    for (const vbd of strs(await ctx.call('VM.get_VBDs', [vm]))) {
      const rec = (await ctx.call('VBD.get_record', [vbd])) as Record<string, unknown>
      if (rec.type === 'CD' && ['0', '1', '2', '3'].includes(str(rec.userdevice))) {
        drive = vbd
        if (rec.empty !== true) await ctx.task('VBD.eject', [vbd])
        break
      }
    }
    if (!drive) {
      const devices = strs(await ctx.call('VM.get_allowed_VBD_devices', [vm]))
      const at = devices.includes('3') ? '3' : devices[0]
      if (at === undefined) throw Object.assign(new Error('no free drive position'), { code: 'CLIENT_ERROR', params: ['The VM has no free drive position for a DVD drive'] })
      drive = str(await ctx.call('VBD.create', [vbdRecord(vm, 'OpaqueRef:NULL', at, { cd: true, bootable: spec.install.method === 'cd' })]))
    }
    if (spec.install.method === 'cd' && spec.install.vdi) await ctx.task('VBD.insert', [drive, spec.install.vdi])
  }

  /** CreateDisk: VDI.create (vmhint) + VBD.create at the asked position or the first free one */
  private async disk(ctx: ActionContext, vm: string, d: NewVmSpec['disks'][number], bootableAtZero: boolean): Promise<string> {
    const vdi = str(
      await ctx.task('VDI.create', [
        { name_label: d.name, name_description: d.description ?? '', SR: d.sr, virtual_size: String(d.size), type: 'system', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: { vmhint: vm }, tags: [] },
      ]),
    )
    try {
      const devices = strs(await ctx.call('VM.get_allowed_VBD_devices', [vm]))
      const at = d.device !== undefined && devices.includes(d.device) ? d.device : devices[0]
      if (at === undefined) throw Object.assign(new Error('no free drive position'), { code: 'CLIENT_ERROR', params: ['The VM has no free drive position left'] })
      await ctx.task('VBD.create', [vbdRecord(vm, vdi, at, { owner: true, bootable: at === '0' && bootableAtZero })])
    } catch (e) {
      // a disk nobody can see would be an orphan
      await ctx.call('VDI.destroy', [vdi]).catch(() => undefined)
      throw e
    }
    return vdi
  }

  /** AddNetworks: the template's VIFs go, one VIF.create per chosen network */
  private async networks(ctx: ActionContext, vm: string, spec: NewVmSpec): Promise<void> {
    for (const vif of strs(await ctx.call('VM.get_VIFs', [vm]))) await ctx.call('VIF.destroy', [vif])
    for (const v of spec.vifs) {
      const devices = strs(await ctx.call('VM.get_allowed_VIF_devices', [vm]))
      const device = devices[0]
      if (device === undefined) throw Object.assign(new Error('no free NIC position'), { code: 'CLIENT_ERROR', params: ['The VM has no free network interface position left'] })
      await ctx.task('VIF.create', [
        { device, network: v.network, VM: vm, MAC: v.mac ?? '', MTU: '1500', other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [] },
      ])
    }
  }

  /**
   * VMDestroyAction.DestroyVM(…, true): the VM's own disks (made by the clone/copy, the provision
   * or this action), then the VM. Answers what is left.
   */
  private async cleanUp(ctx: ActionContext, vm: string, newDisks: string[]): Promise<string[]> {
    const left: string[] = []
    const disks = new Set(newDisks)
    let name = vm
    try {
      name = `VM '${str(await ctx.call('VM.get_name_label', [vm]))}'`
      for (const vbd of strs(await ctx.call('VM.get_VBDs', [vm]))) {
        const rec = (await ctx.call('VBD.get_record', [vbd])) as Record<string, unknown>
        if (rec.type === 'Disk' && isRef(rec.VDI)) disks.add(rec.VDI)
      }
    } catch {
      // the VM may already be gone (the clone failed half-way): only the disks we made are ours
    }
    try {
      await ctx.call('VM.destroy', [vm])
    } catch (e) {
      const code = asXapiFailure(e).code
      if (code !== 'HANDLE_INVALID') left.push(`${name} (${vm})`)
    }
    for (const vdi of disks) {
      try {
        await ctx.call('VDI.destroy', [vdi])
      } catch (e) {
        if (asXapiFailure(e).code !== 'HANDLE_INVALID') left.push(`disk ${vdi}`)
      }
    }
    return left
  }
}
