/**
 * Storage actions (issue 13) as XAPI call sequences, the way XenCenter's actions do them
 * (XenModel/Actions/VDI, VBD, SR), each a user action with one history entry and one row in the
 * Activity panel: its XAPI tasks report progress under one action id (operation.progress).
 *
 * Before calling XAPI, the action asks shared/operations/storage.ts (the same rules the renderer
 * shows before the click) and refuses with that reason; XAPI then decides, and its refusal comes
 * back as a sentence with code and params. Multi-step actions leave nothing half done where they
 * can help it: a disk whose drive could not be created is deleted again; a moved disk's original is
 * deleted last, only once the copy is attached.
 */
import type { OperationResult } from '../../shared/contract/operations'
import * as rules from '../../shared/operations/storage'
import type { Rec, StorageView } from '../../shared/operations/storage'
import type { PoolGraph } from '../pools/api'
import { ActionRefusal as StorageRefusal, asXapiFailure, type ActionContext, type ActionRunner } from './action'

const failureCode = (e: unknown): string => asXapiFailure(e).code
const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const isRef = (v: unknown): v is string => typeof v === 'string' && v.startsWith('OpaqueRef:') && v !== 'OpaqueRef:NULL'
const NULL_REF = 'OpaqueRef:NULL'
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** the little of a pool's live graph the planning reads (PoolManagerApi.graph) */
export type PoolGraphReader = Pick<PoolGraph, 'get' | 'all' | 'linked'>

export function viewOf(graph: PoolGraphReader): StorageView {
  return {
    get: (cls, ref) => graph.get(cls, ref),
    vbdsOf: (vm) => graph.linked('VM', vm, 'VBDs', 'VBD'),
    vdisOf: (sr) => graph.linked('SR', sr, 'VDIs', 'VDI'),
    pbdsOf: (sr) => graph.linked('SR', sr, 'PBDs', 'PBD'),
    hosts: () => [...graph.all('host').keys()],
  }
}

export interface StorageRunnerOptions {
  /** wait between tries when XAPI runs too many storage migrations at once (ms) */
  migrateRetryMs?: number
  /** give up waiting for a free storage-migration slot after this long (ms) */
  migrateWaitMaxMs?: number
}

/** a drive of a disk being moved, as XAPI reports it */
interface Drive {
  ref: string
  rec: Rec
  /** plugged into a running VM */
  plugged: boolean
}

/** what one step of a storage action may do (ActionContext) and the pool as the rules read it */
type Ctx = ActionContext & { view: StorageView }

interface StorageActionSpec {
  connectionId: string
  /** the object the action is recorded under (history, Activity panel) */
  cls: 'VM' | 'SR'
  ref: string
  /** history action name and task title: 'Add disk', 'Move disk' */
  title: string
  params: Record<string, unknown>
  /** the rule that must hold first (shared/operations/storage.ts) */
  check?: (view: StorageView) => rules.CanRun
  steps: number
  work: (ctx: Ctx) => Promise<string | undefined>
}

export class StorageRunner {
  private readonly retryMs: number
  private readonly waitMaxMs: number

  constructor(
    private readonly actions: ActionRunner,
    private readonly graphOf: (connectionId: string) => PoolGraphReader | undefined,
    opts: StorageRunnerOptions = {},
  ) {
    this.retryMs = opts.migrateRetryMs ?? 5000
    this.waitMaxMs = opts.migrateWaitMaxMs ?? 10 * 60_000
  }

  private view(connectionId: string): StorageView {
    const g = this.graphOf(connectionId)
    if (!g) throw new StorageRefusal('The pool’s objects are not loaded yet')
    return viewOf(g)
  }

  /** one user action (ActionRunner): rule check, progress under one action id, one history entry */
  private run(spec: StorageActionSpec): Promise<OperationResult> {
    const view = this.view(spec.connectionId)
    return this.actions.run({
      connectionId: spec.connectionId,
      cls: spec.cls,
      ref: spec.ref,
      title: spec.title,
      params: spec.params,
      steps: spec.steps,
      ...(spec.check ? { check: () => spec.check?.(view) ?? true } : {}),
      work: async (ctx) => {
        const created = await spec.work({ ...ctx, view })
        return created ? { created } : undefined
      },
    })
  }

  /** names a ref for an error sentence: VM 'web-01', disk 'data', SR 'NFS', server 'h1' */
  static nameOf(g: PoolGraphReader | undefined, ref: string): string | undefined {
    if (!g) return undefined
    for (const [cls, label] of [['VM', 'VM'], ['VDI', 'disk'], ['SR', 'SR'], ['host', 'server'], ['PBD', 'connection'], ['VBD', 'drive']] as const) {
      const rec = g.get(cls, ref)
      if (!rec) continue
      if (cls === 'VBD') return `the drive ${str(rec.userdevice)} of ${StorageRunner.nameOf(g, str(rec.VM)) ?? 'a VM'}`
      if (cls === 'PBD') return `the connection of ${StorageRunner.nameOf(g, str(rec.SR)) ?? 'an SR'} on ${StorageRunner.nameOf(g, str(rec.host)) ?? 'a server'}`
      return `${label} '${str(rec.name_label) || ref}'`
    }
    return undefined
  }

  /** where an action on a disk is recorded: the VM given, the disk's only VM, or its SR */
  private diskTarget(connectionId: string, vdiRef: string, vm?: string): { cls: 'VM' | 'SR'; ref: string } {
    if (vm) return { cls: 'VM', ref: vm }
    const view = this.view(connectionId)
    const users = rules.vmsUsing(view, vdiRef)
    if (users.length === 1 && users[0]) return { cls: 'VM', ref: users[0] }
    const sr = str(view.get('VDI', vdiRef)?.SR)
    if (!sr) throw new StorageRefusal('The disk is not loaded yet')
    return { cls: 'SR', ref: sr }
  }

  private vdiName(connectionId: string, vdi: string): string {
    return str(this.graphOf(connectionId)?.get('VDI', vdi)?.name_label) || vdi
  }

  // -------------------------------------------------------------------------------------------
  // disks

  /** first free position: XAPI's own answer (VM.get_allowed_VBD_devices) */
  private async freeDevice(ctx: Ctx, vm: string, prefer?: string): Promise<string> {
    const devices = strs(await ctx.call('VM.get_allowed_VBD_devices', [vm]))
    if (prefer && devices.includes(prefer)) return prefer
    const first = devices[0]
    if (first === undefined) throw new StorageRefusal('The VM has no free disk position left')
    return first
  }

  private running(view: StorageView, vm: string): boolean {
    const p = rules.powerOf(view.get('VM', vm))
    return p === 'Running' || p === 'Paused'
  }

  createDisk(a: { connectionId: string; vm: string; sr: string; name: string; description?: string; size: number }): Promise<OperationResult> {
    return this.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: a.vm,
      title: 'Add disk',
      params: { name: a.name, size: a.size, sr: a.sr, srName: str(this.graphOf(a.connectionId)?.get('SR', a.sr)?.name_label) },
      check: (view) => {
        const ok = rules.canAddDisk(view, a.vm)
        if (ok !== true) return ok
        const sr = view.get('SR', a.sr)
        const here = rules.canCreateDiskOn(sr)
        return here !== true ? here : rules.checkFits(sr, a.size)
      },
      steps: 3,
      work: async (ctx) => {
        const plug = this.running(ctx.view, a.vm)
        ctx.steps(plug ? 3 : 2)
        const userdevice = await this.freeDevice(ctx, a.vm)
        const vdi = str(
          await ctx.task('VDI.create', [
            { name_label: a.name, name_description: a.description ?? '', SR: a.sr, virtual_size: String(a.size), type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] },
          ]),
        )
        let vbd: string
        try {
          vbd = str(await ctx.task('VBD.create', [vbdRecord(a.vm, vdi, userdevice, { owner: true })]))
        } catch (e) {
          // no drive, no disk: a new disk nobody can see would be an orphan
          await ctx.call('VDI.destroy', [vdi]).catch(() => undefined)
          throw e
        }
        if (plug) await ctx.task('VBD.plug', [vbd])
        return vdi
      },
    })
  }

  attachDisk(a: { connectionId: string; vm: string; vdi: string; readOnly?: boolean }): Promise<OperationResult> {
    return this.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: a.vm,
      title: 'Attach disk',
      params: { vdi: a.vdi, name: this.vdiName(a.connectionId, a.vdi), readOnly: a.readOnly === true },
      check: (view) => {
        const ok = rules.canAttachDisk(view, a.vm)
        if (ok !== true) return ok
        if (rules.vmsUsing(view, a.vdi).includes(a.vm)) return 'The VM already has this disk'
        return true
      },
      steps: 2,
      work: async (ctx) => {
        const plug = this.running(ctx.view, a.vm)
        ctx.steps(plug ? 2 : 1)
        const userdevice = await this.freeDevice(ctx, a.vm)
        const vbd = str(await ctx.task('VBD.create', [vbdRecord(a.vm, a.vdi, userdevice, { mode: a.readOnly ? 'RO' : 'RW' })]))
        if (plug) {
          try {
            await ctx.task('VBD.plug', [vbd])
          } catch (e) {
            // a drive that cannot be plugged (the disk is in use elsewhere) is not left behind
            await ctx.call('VBD.destroy', [vbd]).catch(() => undefined)
            throw e
          }
        }
        return vbd
      },
    })
  }

  /** unplug (if plugged and running) and destroy one drive */
  private async removeDrive(ctx: Ctx, vbdRef: string, force: boolean): Promise<void> {
    const vbd = ctx.view.get('VBD', vbdRef)
    const vm = ctx.view.get('VM', str(vbd?.VM))
    const p = rules.powerOf(vm)
    if (vbd?.currently_attached === true && (p === 'Running' || p === 'Paused')) await ctx.task(force ? 'VBD.unplug_force' : 'VBD.unplug', [vbdRef])
    await ctx.task('VBD.destroy', [vbdRef])
  }

  detachDisk(a: { connectionId: string; vbd: string; force?: boolean }): Promise<OperationResult> {
    const g = this.graphOf(a.connectionId)
    const vbd = g?.get('VBD', a.vbd)
    const vm = str(vbd?.VM)
    if (!vm) return Promise.reject(new StorageRefusal('The drive is not loaded yet'))
    return this.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: vm,
      title: a.force ? 'Force detach disk' : 'Detach disk',
      params: { vbd: a.vbd, userdevice: str(vbd?.userdevice), name: isRef(vbd?.VDI) ? this.vdiName(a.connectionId, vbd.VDI) : '', force: a.force === true },
      check: (view) => rules.canDetach(view, a.vbd, a.force === true),
      steps: 2,
      work: async (ctx) => {
        await this.removeDrive(ctx, a.vbd, a.force === true)
        return undefined
      },
    })
  }

  deleteDisk(a: { connectionId: string; vdi: string; vm?: string; force?: boolean }): Promise<OperationResult> {
    const target = this.diskTarget(a.connectionId, a.vdi, a.vm)
    return this.run({
      connectionId: a.connectionId,
      ...target,
      title: 'Delete disk',
      params: { vdi: a.vdi, name: this.vdiName(a.connectionId, a.vdi) },
      check: (view) => {
        const vdi = view.get('VDI', a.vdi)
        if (!vdi) return 'The disk is not loaded yet'
        const users = rules.vmsUsing(view, a.vdi)
        const owner = a.vm ?? users[0]
        if (owner && users.some((u) => u !== owner)) {
          const drive = strs(vdi.VBDs).find((b) => str(view.get('VBD', b)?.VM) === owner)
          if (drive) return rules.canDeleteDisk(view, drive)
          return 'This disk is used by several VMs: detach it from them first'
        }
        for (const b of strs(vdi.VBDs)) {
          const ok = rules.canDetach(view, b, a.force === true)
          if (ok !== true) return ok
        }
        const sr = view.get('SR', str(vdi.SR))
        if (rules.isMediaSr(sr) || rules.isToolsSr(sr)) return 'This is a CD image or a device, not a VM disk'
        if (sr && !strs(sr.allowed_operations).includes('vdi_destroy')) return `SR '${str(sr.name_label)}' does not allow deleting disks now`
        return true
      },
      steps: 1,
      work: async (ctx) => {
        const drives = strs(ctx.view.get('VDI', a.vdi)?.VBDs)
        const plugged = drives.filter((b) => ctx.view.get('VBD', b)?.currently_attached === true).length
        ctx.steps(drives.length + plugged + 1)
        for (const b of drives) await this.removeDrive(ctx, b, a.force === true)
        await ctx.task('VDI.destroy', [a.vdi])
        return undefined
      },
    })
  }

  resizeDisk(a: { connectionId: string; vdi: string; size: number; vm?: string }): Promise<OperationResult> {
    const target = this.diskTarget(a.connectionId, a.vdi, a.vm)
    const before = Number(this.graphOf(a.connectionId)?.get('VDI', a.vdi)?.virtual_size ?? 0)
    return this.run({
      connectionId: a.connectionId,
      ...target,
      title: 'Resize disk',
      params: { vdi: a.vdi, name: this.vdiName(a.connectionId, a.vdi), from: before, to: a.size },
      check: (view) => {
        const ok = rules.canResize(view, a.vdi, a.vm)
        if (ok !== true) return ok
        return rules.checkNewSize(view.get('VDI', a.vdi), a.size)
      },
      steps: 1,
      work: async (ctx) => {
        const method = rules.resizeMethod(ctx.view, a.vdi)
        await ctx.task(`VDI.${method}`, [a.vdi, String(a.size)])
        return undefined
      },
    })
  }

  renameDisk(a: { connectionId: string; vdi: string; name_label: string; name_description?: string; vm?: string }): Promise<OperationResult> {
    const target = this.diskTarget(a.connectionId, a.vdi, a.vm)
    return this.run({
      connectionId: a.connectionId,
      ...target,
      title: 'Rename disk',
      params: { vdi: a.vdi, from: this.vdiName(a.connectionId, a.vdi), name_label: a.name_label, ...(a.name_description !== undefined ? { name_description: a.name_description } : {}) },
      check: (view) => rules.canRenameDisk(view, a.vdi),
      steps: 1,
      work: async (ctx) => {
        await ctx.call('VDI.set_name_label', [a.vdi, a.name_label])
        if (a.name_description !== undefined) await ctx.call('VDI.set_name_description', [a.vdi, a.name_description])
        return undefined
      },
    })
  }

  moveDisk(a: { connectionId: string; vdi: string; sr: string; vm?: string }): Promise<OperationResult> {
    const target = this.diskTarget(a.connectionId, a.vdi, a.vm)
    const g = this.graphOf(a.connectionId)
    return this.run({
      connectionId: a.connectionId,
      ...target,
      title: 'Move disk',
      params: { vdi: a.vdi, name: this.vdiName(a.connectionId, a.vdi), from: str(g?.get('SR', str(g?.get('VDI', a.vdi)?.SR))?.name_label), to: str(g?.get('SR', a.sr)?.name_label), sr: a.sr },
      check: (view) => {
        const ok = rules.canMove(view, a.vdi, a.vm)
        if (ok !== true) return ok
        if (!rules.moveTargets(view, a.vdi, [a.sr]).includes(a.sr)) return `SR '${str(view.get('SR', a.sr)?.name_label) || a.sr}' cannot take this disk`
        const vdi = view.get('VDI', a.vdi)
        return rules.checkFits(view.get('SR', a.sr), Number(vdi?.virtual_size ?? 0))
      },
      steps: 1,
      work: async (ctx) => {
        if (rules.moveMethod(ctx.view, a.vdi) === 'pool_migrate') {
          try {
            return str(await this.migrateWithRetry(ctx, a.vdi, a.sr))
          } catch (e) {
            // XAPI cannot mirror it: no server sees every SR the VM needs (the VM stopped meanwhile and no
            // host can start it there), or the disk lost its VM meanwhile. Copying works when nothing has the
            // disk plugged any more; a disk still plugged into a running VM stays where it is.
            const code = failureCode(e)
            if (code !== 'NO_HOSTS_AVAILABLE' && code !== 'VDI_NEEDS_VM_FOR_MIGRATE') throw e
            const drives = await this.freshDrives(ctx, a.vdi)
            if (drives.some((d) => d.plugged)) throw e
            return this.copyMove(ctx, a.vdi, a.sr, drives)
          }
        }
        return this.copyMove(ctx, a.vdi, a.sr, await this.freshDrives(ctx, a.vdi))
      },
    })
  }

  /** VDI.pool_migrate; while xapi runs its maximum of storage migrations, wait and try again */
  private async migrateWithRetry(ctx: Ctx, vdi: string, sr: string): Promise<unknown> {
    const until = Date.now() + this.waitMaxMs
    for (;;) {
      try {
        return await ctx.task('VDI.pool_migrate', [vdi, sr, {}])
      } catch (e) {
        if (failureCode(e) !== 'TOO_MANY_STORAGE_MIGRATES' || Date.now() + this.retryMs > until) throw e
        await sleep(this.retryMs)
      }
    }
  }

  /**
   * The disk's drives as XAPI has them now: the copy path runs after a refusal that says the graph
   * was behind (the VM stopped, the drive went), so it does not plan from the graph.
   */
  private async freshDrives(ctx: Ctx, vdi: string): Promise<Drive[]> {
    const out: Drive[] = []
    for (const ref of strs(await ctx.call('VDI.get_VBDs', [vdi]))) {
      const rec = (await ctx.call('VBD.get_record', [ref])) as Rec
      const vm = str(rec.VM)
      const power = str(await ctx.call('VM.get_power_state', [vm]))
      out.push({ ref, rec, plugged: rec.currently_attached === true && (power === 'Running' || power === 'Paused') })
    }
    return out
  }

  /**
   * MoveVirtualDiskAction, in a safer order: copy to the new SR, move every drive to the copy at
   * the same position, and delete the original last (a failure before that leaves the original
   * where it was, still attached).
   */
  private async copyMove(ctx: Ctx, vdi: string, sr: string, drives: readonly Drive[]): Promise<string> {
    ctx.steps(2 + drives.length * 2)
    const copy = str(await ctx.task('VDI.copy', [vdi, sr]))
    for (const d of drives) {
      await ctx.task('VBD.destroy', [d.ref])
      await ctx.task('VBD.create', [
        vbdRecord(str(d.rec.VM), copy, str(d.rec.userdevice), {
          mode: str(d.rec.mode) === 'RO' ? 'RO' : 'RW',
          bootable: d.rec.bootable === true,
          unpluggable: d.rec.unpluggable !== false,
          otherConfig: typeof d.rec.other_config === 'object' && d.rec.other_config !== null ? (d.rec.other_config as Record<string, string>) : {},
        }),
      ])
    }
    await ctx.task('VDI.destroy', [vdi])
    return copy
  }

  // -------------------------------------------------------------------------------------------
  // the DVD drive

  insertCd(a: { connectionId: string; vbd: string; vdi: string }): Promise<OperationResult> {
    const vm = str(this.graphOf(a.connectionId)?.get('VBD', a.vbd)?.VM)
    if (!vm) return Promise.reject(new StorageRefusal('The drive is not loaded yet'))
    return this.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: vm,
      title: 'Insert disc',
      params: { vdi: a.vdi, name: this.vdiName(a.connectionId, a.vdi) },
      check: (view) => rules.canInsert(view, a.vbd),
      steps: 1,
      work: async (ctx) => {
        const full = ctx.view.get('VBD', a.vbd)?.empty !== true
        ctx.steps(full ? 2 : 1)
        if (full) await ctx.task('VBD.eject', [a.vbd])
        try {
          await ctx.task('VBD.insert', [a.vbd, a.vdi])
        } catch (e) {
          // someone put a disc in meanwhile: take it out and try once more
          if (failureCode(e) !== 'VBD_NOT_EMPTY') throw e
          ctx.steps(full ? 4 : 3)
          await ctx.task('VBD.eject', [a.vbd])
          await ctx.task('VBD.insert', [a.vbd, a.vdi])
        }
        return undefined
      },
    })
  }

  ejectCd(a: { connectionId: string; vbd: string }): Promise<OperationResult> {
    const g = this.graphOf(a.connectionId)
    const vbd = g?.get('VBD', a.vbd)
    const vm = str(vbd?.VM)
    if (!vm) return Promise.reject(new StorageRefusal('The drive is not loaded yet'))
    return this.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: vm,
      title: 'Eject disc',
      params: { name: isRef(vbd?.VDI) ? this.vdiName(a.connectionId, vbd.VDI) : '' },
      check: (view) => rules.canEject(view, a.vbd),
      steps: 1,
      work: async (ctx) => {
        await ctx.task('VBD.eject', [a.vbd])
        return undefined
      },
    })
  }

  addCdDrive(a: { connectionId: string; vm: string }): Promise<OperationResult> {
    return this.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: a.vm,
      title: 'Add DVD drive',
      params: {},
      check: (view) => rules.canAddCdDrive(view, a.vm),
      steps: 1,
      work: async (ctx) => {
        // XenCenter puts the drive at position 3 (xvdd, the HVM secondary master) when it is free
        const userdevice = await this.freeDevice(ctx, a.vm, '3')
        return str(await ctx.task('VBD.create', [vbdRecord(a.vm, NULL_REF, userdevice, { cd: true })]))
      },
    })
  }

  // -------------------------------------------------------------------------------------------
  // SRs and PBDs

  private srAction(a: { connectionId: string; sr: string }, title: string, check: (view: StorageView) => rules.CanRun, steps: number, work: (ctx: Ctx) => Promise<string | undefined>, params: Record<string, unknown> = {}): Promise<OperationResult> {
    return this.run({ connectionId: a.connectionId, cls: 'SR', ref: a.sr, title, params, check, steps, work })
  }

  scanSr(a: { connectionId: string; sr: string }): Promise<OperationResult> {
    return this.srAction(a, 'Scan SR', (view) => rules.canScan(view, a.sr), 1, async (ctx) => {
      await ctx.task('SR.scan', [a.sr])
      return undefined
    })
  }

  setDefaultSr(a: { connectionId: string; sr: string }): Promise<OperationResult> {
    const poolRef = (): string | undefined => {
      const g = this.graphOf(a.connectionId)
      return g ? [...g.all('pool').keys()][0] : undefined
    }
    return this.srAction(
      a,
      'Set as default SR',
      (view) => {
        const p = poolRef()
        return rules.canSetDefault(view, a.sr, p ? view.get('pool', p) : undefined)
      },
      1,
      async (ctx) => {
        const p = poolRef()
        if (!p) throw new StorageRefusal('The pool is not loaded yet')
        await ctx.call('pool.set_default_SR', [p, a.sr])
        await ctx.call('pool.set_suspend_image_SR', [p, a.sr])
        await ctx.call('pool.set_crash_dump_SR', [p, a.sr])
        return undefined
      },
    )
  }

  repairSr(a: { connectionId: string; sr: string }): Promise<OperationResult> {
    return this.srAction(a, 'Repair SR', (view) => rules.canRepair(view, a.sr), 1, async (ctx) => {
      const plan = rules.repairPlan(ctx.view, a.sr)
      ctx.steps(plan.create.length * 2 + plan.plug.length)
      const template = ctx.view.pbdsOf(a.sr).map((p) => ctx.view.get('PBD', p)).find((p) => p !== undefined)
      const deviceConfig = typeof template?.device_config === 'object' && template.device_config !== null ? template.device_config : {}
      // one server that cannot connect does not stop the others; the first failure is reported
      let firstFailure: unknown
      for (const host of plan.create) {
        try {
          const pbd = await ctx.task('PBD.create', [{ host, SR: a.sr, device_config: deviceConfig, other_config: {} }])
          await ctx.task('PBD.plug', [pbd])
        } catch (e) {
          firstFailure ??= e
        }
      }
      for (const pbd of plan.plug) {
        try {
          await ctx.task('PBD.plug', [pbd])
        } catch (e) {
          firstFailure ??= e
        }
      }
      if (firstFailure !== undefined) throw firstFailure
      return undefined
    })
  }

  private async unplugAll(ctx: Ctx, sr: string): Promise<void> {
    for (const pbd of ctx.view.pbdsOf(sr)) if (ctx.view.get('PBD', pbd)?.currently_attached === true) await ctx.task('PBD.unplug', [pbd])
  }

  forgetSr(a: { connectionId: string; sr: string }): Promise<OperationResult> {
    const plan = rules.removalPlan(this.view(a.connectionId), a.sr, 'forget')
    return this.srAction(
      a,
      'Forget SR',
      (view) => rules.canForget(view, a.sr),
      plan.unplug.length + 1,
      async (ctx) => {
        await this.unplugAll(ctx, a.sr)
        await ctx.task('SR.forget', [a.sr])
        return undefined
      },
      { disks: plan.disks.length, vms: plan.vms.length },
    )
  }

  destroySr(a: { connectionId: string; sr: string }): Promise<OperationResult> {
    const plan = rules.removalPlan(this.view(a.connectionId), a.sr, 'destroy')
    return this.srAction(
      a,
      'Destroy SR',
      (view) => rules.canDestroy(view, a.sr),
      plan.disks.length + plan.unplug.length + 1,
      async (ctx) => {
        // snapshots before the disks they were taken of
        const disks = [...ctx.view.vdisOf(a.sr)].sort((x, y) => Number(ctx.view.get('VDI', y)?.is_a_snapshot === true) - Number(ctx.view.get('VDI', x)?.is_a_snapshot === true))
        for (const vdi of disks) await ctx.task('VDI.destroy', [vdi])
        await this.unplugAll(ctx, a.sr)
        await ctx.task('SR.destroy', [a.sr])
        return undefined
      },
      { disks: plan.disks.length, vms: plan.vms.length },
    )
  }

  plugPbd(a: { connectionId: string; pbd: string }, plug: boolean): Promise<OperationResult> {
    const g = this.graphOf(a.connectionId)
    const pbd = g?.get('PBD', a.pbd)
    const sr = str(pbd?.SR)
    if (!sr) return Promise.reject(new StorageRefusal('The connection is not loaded yet'))
    const host = str(g?.get('host', str(pbd?.host))?.name_label)
    return this.srAction(
      { connectionId: a.connectionId, sr },
      plug ? 'Connect SR' : 'Disconnect SR',
      (view) => (plug ? rules.canPlugPbd(view, a.pbd) : rules.canUnplugPbd(view, a.pbd)),
      1,
      async (ctx) => {
        await ctx.task(plug ? 'PBD.plug' : 'PBD.unplug', [a.pbd])
        return undefined
      },
      { host },
    )
  }
}

/** a VBD record for VBD.create with XenCenter's defaults */
export function vbdRecord(
  vm: string,
  vdi: string,
  userdevice: string,
  o: { cd?: boolean; mode?: 'RO' | 'RW'; bootable?: boolean; unpluggable?: boolean; owner?: boolean; otherConfig?: Record<string, string> } = {},
): Record<string, unknown> {
  return {
    VM: vm,
    VDI: vdi,
    userdevice,
    bootable: o.bootable ?? false,
    mode: o.cd ? 'RO' : (o.mode ?? 'RW'),
    type: o.cd ? 'CD' : 'Disk',
    unpluggable: o.unpluggable ?? true,
    empty: o.cd === true,
    // XenCenter marks disks a VM owns, so deleting the VM offers to delete them (VBD.SetIsOwner)
    other_config: { ...(o.otherConfig ?? {}), ...(o.owner ? { owner: 'true' } : {}) },
    qos_algorithm_type: '',
    qos_algorithm_params: {},
  }
}
