/**
 * VM commands (issue 5): power, snapshots, clone/copy, delete, migrate, edit, folders. Each command
 * asks shared/operations/vm.ts (XAPI-faithful `canRunVm`) per selected VM; a multi-selection runs on
 * every VM that can, in one `vm.run` call across pools (one XAPI task per VM), and the VMs that
 * cannot are reported as skipped with their reason next to the per-VM results.
 */
import type { OperationResult } from '../../../shared/contract/operations'
import { STATUS_PHRASE } from '../../../shared/contract/connection'
import { VM_OPERATIONS, canRunVm, type VmOperationId, type VmOperationSpec, type VmRecord } from '../../../shared/operations/vm'
import { errorMessage } from '../api/errors'
import type { OperationTarget } from '../model/operation-requests'
import { summariseResults } from '../model/results'
import type { CanRun, Command, CommandContext, SelectedItem, Selection } from './registry'
import { clock } from '../model/connection'
import { aKind, bulkDetail, skipPhrase, type SkipGroup } from './bulk'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const obj = (v: unknown): Record<string, string> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {}
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(v)) out[k] = String(x)
  return out
}
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])

/** A graph record read as a VM record, with the fields canRunVm reads made safe when absent. */
export function asVmRecord(rec: Record<string, unknown>): VmRecord {
  const power = str(rec.power_state)
  const vm = {
    ...rec,
    uuid: str(rec.uuid),
    name_label: str(rec.name_label),
    power_state: power === 'Running' || power === 'Paused' || power === 'Suspended' ? power : 'Halted',
    allowed_operations: strs(rec.allowed_operations),
    current_operations: obj(rec.current_operations),
    blocked_operations: obj(rec.blocked_operations),
    is_a_template: rec.is_a_template === true,
    is_a_snapshot: rec.is_a_snapshot === true,
    is_control_domain: rec.is_control_domain === true,
    is_default_template: rec.is_default_template === true,
  }
  // the remaining fields are not read by canRunVm; the record is only partially typed at runtime
  return vm as unknown as VmRecord
}

/** one clock for every 'since' and 'as of' (the details pane's offline banner says the same time) */
export { clock }

/** why nothing can be changed on this connection's objects right now, or null when connected */
export function offlineReason(ctx: CommandContext, connectionId: string): string | null {
  const s = ctx.connection(connectionId)
  if (!s) return 'The server of this object is no longer saved'
  if (s.status === 'connected') return null
  // shown from the offline cache after a restart: the last sync is when it was last seen online
  const since = s.offlineSince ?? s.cachedAt
  if (s.status === 'connecting' || s.status === 'reconnecting') return `${s.label} is ${STATUS_PHRASE[s.status]}${since ? ` (offline since ${clock(since)})` : ''}`
  return `${s.label} is offline${since ? ` since ${clock(since)}` : ''}`
}

export interface VmCandidate {
  connectionId: string
  ref: string
  name: string
  record: VmRecord | undefined
  /** true, or why this VM is left out */
  reason: CanRun
  /** why it is left out, as a group a bulk label counts ('2 are already halted') */
  skip?: SkipGroup
}

const VM_KINDS = new Set(['VM', 'snapshot', 'template'])
export const vmItems = (sel: Selection): SelectedItem[] => sel.filter((s) => s.cls === 'VM' && s.connectionId !== undefined && s.ref !== undefined && VM_KINDS.has(s.kind))

/** the power state an operation leaves a VM in: a VM already there is 'already halted' */
const RESULT_STATE: Partial<Record<VmOperationId, string>> = {
  start: 'Running',
  start_on: 'Running',
  resume: 'Running',
  resume_on: 'Running',
  unpause: 'Running',
  clean_shutdown: 'Halted',
  hard_shutdown: 'Halted',
  suspend: 'Suspended',
  pause: 'Paused',
}

function skipGroup(spec: VmOperationSpec, record: VmRecord | undefined, offline: boolean): SkipGroup {
  if (offline) return { type: 'offline' }
  if (!record) return { type: 'other' }
  if (record.blocked_operations[spec.op] !== undefined) return { type: 'blocked' }
  if (Object.keys(record.current_operations).length > 0) return { type: 'busy' }
  if (!spec.powerStates.includes(record.power_state)) return { type: 'state', state: record.power_state, already: RESULT_STATE[spec.id] === record.power_state }
  return { type: 'other' }
}

/** every selected VM (of `kinds`, default any) with whether `spec` can run on it */
export function candidates(spec: VmOperationSpec, sel: Selection, ctx: CommandContext, kinds?: readonly string[]): VmCandidate[] {
  return vmItems(sel)
    .filter((item) => !kinds || kinds.includes(item.kind))
    .map((item) => {
      const connectionId = item.connectionId ?? ''
      const ref = item.ref ?? ''
      const raw = ctx.record(connectionId, 'VM', ref)
      const record = raw ? asVmRecord(raw) : undefined
      const name = record?.name_label || item.label
      const offline = offlineReason(ctx, connectionId)
      const reason: CanRun = offline ?? (record ? canRunVm(spec, record) : `${name} is not loaded yet`)
      return { connectionId, ref, name, record, reason, ...(reason === true ? {} : { skip: skipGroup(spec, record, offline !== null) }) }
    })
}

/** the selected objects a command for `kinds` does not apply to (a storage repository in a range of VMs), each with why */
export function otherItems(sel: Selection, kinds: readonly string[], target: readonly [string, string]): VmCandidate[] {
  return sel
    .filter((item) => !(item.cls === 'VM' && item.connectionId !== undefined && item.ref !== undefined && kinds.includes(item.kind)))
    .map((item) => ({
      connectionId: item.connectionId ?? '',
      ref: item.ref ?? item.objId,
      name: item.label,
      record: undefined,
      reason: `${item.label} is ${aKind(item.kind)}, not a ${target[0]}`,
      skip: { type: 'kind' },
    }))
}

/** a multi-selection can run when at least one VM can; the reason names the first refusal */
export function selectionCanRun(spec: VmOperationSpec, list: readonly VmCandidate[]): CanRun {
  if (list.length === 0) return 'Select a VM'
  if (list.some((c) => c.reason === true)) return true
  const first = list[0]?.reason
  const why = typeof first === 'string' ? first : 'not possible now'
  return list.length === 1 ? why : `None of the ${list.length} selected can ${spec.label.replace(/…$/, '').toLowerCase()}: ${why}`
}

export interface RunExtra {
  host?: string
  name?: string
  sr?: string
  withDisks?: boolean
}

const label = (spec: VmOperationSpec): string => spec.label.replace(/…$/, '')

/**
 * Runs an operation on the VMs that can and reports per VM: an all-good run is a toast (the task
 * panel shows the rest), anything failed or skipped opens the results dialog.
 */
export async function runVmOperation(ctx: CommandContext, op: VmOperationId, targets: readonly VmCandidate[], extra: RunExtra = {}, skipped: readonly VmCandidate[] = []): Promise<OperationResult[]> {
  const spec = VM_OPERATIONS[op]
  let results: OperationResult[]
  if (targets.length === 0) results = []
  else {
    try {
      results = await ctx.api.call('vm.run', { targets: targets.map((t) => ({ connectionId: t.connectionId, ref: t.ref })), op, ...extra })
    } catch (err) {
      // the whole call was refused (a pool went offline, bad arguments): every VM failed with it
      const message = errorMessage(err)
      const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'CLIENT_ERROR'
      results = targets.map((t) => ({ connectionId: t.connectionId, ref: t.ref, ok: false, error: { code, message, params: [] } }))
    }
  }
  const names = new Map<string, string>()
  for (const t of [...targets, ...skipped]) names.set(`${t.connectionId}|${t.ref}`, t.name)
  const summary = summariseResults(
    label(spec),
    results,
    skipped.map((s) => ({ connectionId: s.connectionId, ref: s.ref, reason: typeof s.reason === 'string' ? s.reason : '' })),
    (c, r) => names.get(`${c}|${r}`) ?? r,
    skipped.some((s) => s.skip?.type === 'kind') ? 'object' : 'VM',
  )
  // a cancel the user asked for is not news worth a dialog
  const cancelledOnly = summary.skipped === 0 && summary.failed > 0 && summary.rows.every((r) => r.outcome === 'ok' || r.code === 'TASK_CANCELLED')
  if (cancelledOnly) ctx.notify(`${label(spec)}: cancelled for ${summary.rows.filter((r) => r.code === 'TASK_CANCELLED').map((r) => r.name).join(', ')}`)
  else if (summary.failed + summary.skipped > 0) ctx.openDialog({ kind: 'operation', request: { kind: 'results', title: summary.title, rows: summary.rows } })
  else ctx.notify(summary.title)
  return results
}

const toTarget = (c: VmCandidate): OperationTarget => ({ connectionId: c.connectionId, ref: c.ref, name: c.name, ...(c.reason !== true ? { reason: c.reason } : {}) })

/** the selection for a command on `kinds`: the VMs it acts on, and everything else selected with why it is skipped */
function split(spec: VmOperationSpec, sel: Selection, ctx: CommandContext, kinds: readonly string[], target: readonly [string, string]): { ok: VmCandidate[]; skipped: VmCandidate[] } {
  const all = candidates(spec, sel, ctx, kinds)
  return { ok: all.filter((c) => c.reason === true), skipped: [...all.filter((c) => c.reason !== true), ...otherItems(sel, kinds, target)] }
}

const skipGroups = (list: readonly VmCandidate[]): SkipGroup[] => list.flatMap((c) => (c.skip ? [c.skip] : []))

const names = (list: readonly VmCandidate[]): string => (list.length <= 3 ? list.map((c) => c.name).join(', ') : `${list.length} VMs`)

const CONFIRM_TEXT: Partial<Record<VmOperationId, (n: string) => string>> = {
  clean_shutdown: (n) => `${n} will be asked to shut down cleanly. Running applications in the guest are closed.`,
  hard_shutdown: (n) => `${n} will be powered off immediately, like pulling the plug. Unsaved data in the guest is lost.`,
  clean_reboot: (n) => `${n} will be asked to restart cleanly.`,
  hard_reboot: (n) => `${n} will be reset immediately, like pressing the reset button. Unsaved data in the guest is lost.`,
  revert: (n) => `The VM goes back to the state saved in ${n}. Everything since that snapshot is lost unless you take a snapshot first.`,
}

/**
 * what a revert does to a VM that is running (XAPI stops it): halted afterwards for a disk-only
 * snapshot, suspended with the snapshot's memory for one taken with memory
 */
export function revertWarning(snapshots: readonly VmCandidate[], ctx: CommandContext): string {
  const out: string[] = []
  for (const s of snapshots) {
    const vmRef = str(s.record?.snapshot_of)
    const vm = vmRef ? ctx.record(s.connectionId, 'VM', vmRef) : undefined
    const power = str(vm?.power_state)
    if (power !== 'Running' && power !== 'Paused') continue
    const name = str(vm?.name_label) || 'The VM'
    out.push(
      s.record?.power_state === 'Suspended'
        ? ` ${name} is ${power.toLowerCase()}: the revert stops it, and it ends up suspended in the snapshot's memory state (resume it to continue).`
        : ` ${name} is ${power.toLowerCase()}: the revert stops it, and it ends up halted (this snapshot holds no memory). Start it again afterwards.`,
    )
  }
  return out.join('')
}

interface VmCommandOptions {
  id: string
  op: VmOperationId
  label?: string
  group: string
  shortcut?: string
  toolbar?: boolean
  /** the selection kinds it is shown for */
  kinds: readonly string[]
  /** in the toolbar in place of that command while this one can run */
  toolbarSwap?: string
  /** needs another server of the pool (Start on / Resume on / Migrate): not offered in a pool of one */
  otherServer?: boolean
  run?: (ok: VmCandidate[], skipped: VmCandidate[], ctx: CommandContext) => Promise<void> | void
}

function vmCommand(o: VmCommandOptions): Command {
  const spec = VM_OPERATIONS[o.op]
  const target = TARGET_NOUN[o.kinds[0] ?? 'VM'] ?? (['VM', 'VMs'] as const)
  // a mixed selection (a Shift-range that takes in SRs) still offers the command: it acts on the VMs and says what it skips
  const applies = (sel: Selection): boolean => vmItems(sel).some((i) => o.kinds.includes(i.kind))
  return {
    id: o.id,
    label: o.label ?? spec.label,
    group: o.group,
    ...(o.shortcut ? { shortcut: o.shortcut } : {}),
    ...(o.toolbar ? { toolbar: true } : {}),
    ...(o.toolbarSwap ? { toolbarSwap: o.toolbarSwap } : {}),
    ...(o.otherServer ? { hidden: (sel: Selection, ctx: CommandContext) => singleServer(sel, ctx) !== null } : {}),
    appliesTo: applies,
    canRun: (sel, ctx) => (o.otherServer ? singleServer(sel, ctx) : null) ?? selectionCanRun(spec, candidates(spec, sel, ctx, o.kinds)),
    detail: (sel, ctx) => {
      const { ok, skipped } = split(spec, sel, ctx, o.kinds, target)
      return bulkDetail(ok.length, skipGroups(skipped), target)
    },
    run: async (sel, ctx) => {
      const { ok, skipped } = split(spec, sel, ctx, o.kinds, target)
      if (ok.length === 0) return
      if (o.run) return o.run(ok, skipped, ctx)
      const text = CONFIRM_TEXT[o.op]
      if (spec.confirm && text) {
        const groups = skipGroups(skipped)
        const yes = await ctx.confirm({
          title: `${label(spec)} ${ok.length === 1 ? ok[0]?.name : `${ok.length} VMs`}?`,
          message: text(names(ok)) + (o.op === 'revert' ? revertWarning(ok, ctx) : '') + (groups.length ? ` Skipped: ${skipPhrase(groups, target)}.` : ''),
          confirmLabel: label(spec),
          danger: o.op.startsWith('hard_') || o.op === 'revert',
        })
        if (!yes) return
      }
      await runVmOperation(ctx, o.op, ok, {}, skipped)
    },
  }
}

/** every selected VM's pool has one server: the reason, else null */
function singleServer(sel: Selection, ctx: CommandContext): string | null {
  const pools = new Set(vmItems(sel).map((i) => i.connectionId ?? ''))
  if (pools.size === 0 || !ctx.pool) return null
  for (const id of pools) if (ctx.pool(id)?.all('host').size !== 1) return null
  const only = [...pools][0] ?? ''
  return `${ctx.connection(only)?.label ?? 'This pool'} has one server: there is no other server to choose`
}

const VMS = ['VM'] as const
/** what a command's objects are called in its bulk label, by the first kind it is for */
const TARGET_NOUN: Record<string, readonly [string, string]> = { VM: ['VM', 'VMs'], snapshot: ['snapshot', 'snapshots'], template: ['template', 'templates'] }
const SNAPSHOTS = ['snapshot'] as const

/** same pool for every target, or the reason a server cannot be chosen */
function onePool(list: readonly VmCandidate[]): CanRun {
  return new Set(list.map((c) => c.connectionId)).size === 1 ? true : 'Select VMs of one pool to choose a server'
}

function hostDialog(op: 'start_on' | 'resume_on' | 'pool_migrate') {
  return (ok: VmCandidate[], skipped: VmCandidate[], ctx: CommandContext): void => {
    const r = onePool(ok)
    if (r !== true) return ctx.notify(r, 'error')
    ctx.openDialog({ kind: 'operation', request: { kind: 'vm-operation', op, targets: ok.map(toTarget), skipped: skipped.map(toTarget) } })
  }
}

export const vmCommands: Command[] = [
  vmCommand({ id: 'vm.start', op: 'start', group: 'vm-power', shortcut: 'Ctrl+B', toolbar: true, kinds: VMS }),
  vmCommand({ id: 'vm.startOn', op: 'start_on', group: 'vm-power', kinds: VMS, otherServer: true, run: hostDialog('start_on') }),
  vmCommand({ id: 'vm.shutdown', op: 'clean_shutdown', group: 'vm-power', shortcut: 'Ctrl+E', toolbar: true, kinds: VMS }),
  vmCommand({ id: 'vm.reboot', op: 'clean_reboot', group: 'vm-power', shortcut: 'Ctrl+R', toolbar: true, kinds: VMS }),
  vmCommand({ id: 'vm.suspend', op: 'suspend', group: 'vm-power', shortcut: 'Ctrl+Y', toolbar: true, kinds: VMS }),
  vmCommand({ id: 'vm.resume', op: 'resume', group: 'vm-power', kinds: VMS, toolbarSwap: 'vm.suspend' }),
  vmCommand({ id: 'vm.resumeOn', op: 'resume_on', group: 'vm-power', kinds: VMS, otherServer: true, run: hostDialog('resume_on') }),
  vmCommand({ id: 'vm.forceShutdown', op: 'hard_shutdown', group: 'vm-force', kinds: VMS }),
  vmCommand({ id: 'vm.forceReboot', op: 'hard_reboot', group: 'vm-force', kinds: VMS }),
  vmCommand({ id: 'vm.pause', op: 'pause', group: 'vm-force', kinds: VMS }),
  vmCommand({ id: 'vm.unpause', op: 'unpause', group: 'vm-force', kinds: VMS }),
  vmCommand({ id: 'vm.migrate', op: 'pool_migrate', group: 'vm-place', kinds: VMS, otherServer: true, run: hostDialog('pool_migrate') }),
  vmCommand({
    id: 'vm.snapshot',
    op: 'snapshot',
    group: 'vm-snapshot',
    kinds: VMS,
    run: (ok, skipped, ctx) => ctx.openDialog({ kind: 'operation', request: { kind: 'vm-operation', op: 'snapshot', targets: ok.map(toTarget), skipped: skipped.map(toTarget) } }),
  }),
  vmCommand({ id: 'snapshot.revert', op: 'revert', label: 'Revert to Snapshot…', group: 'vm-snapshot', kinds: SNAPSHOTS }),
  vmCommand({
    id: 'snapshot.delete',
    op: 'destroy',
    label: 'Delete Snapshot…',
    group: 'vm-delete',
    kinds: SNAPSHOTS,
    run: (ok, skipped, ctx) => ctx.openDialog({ kind: 'operation', request: { kind: 'delete-vm', targets: ok.map(toTarget), skipped: skipped.map(toTarget) } }),
  }),
  vmCommand({
    id: 'vm.clone',
    op: 'clone',
    group: 'vm-copy',
    kinds: ['VM', 'template'],
    run: (ok, skipped, ctx) => ctx.openDialog({ kind: 'operation', request: { kind: 'vm-operation', op: 'clone', targets: ok.map(toTarget), skipped: skipped.map(toTarget) } }),
  }),
  vmCommand({
    id: 'vm.copy',
    op: 'copy',
    group: 'vm-copy',
    kinds: ['VM', 'template'],
    run: (ok, skipped, ctx) => {
      const r = onePool(ok)
      if (r !== true) return ctx.notify(r, 'error')
      ctx.openDialog({ kind: 'operation', request: { kind: 'vm-operation', op: 'copy', targets: ok.map(toTarget), skipped: skipped.map(toTarget) } })
    },
  }),
  vmCommand({
    id: 'vm.delete',
    op: 'destroy',
    group: 'vm-delete',
    shortcut: 'Delete',
    kinds: ['VM', 'template'],
    run: (ok, skipped, ctx) => ctx.openDialog({ kind: 'operation', request: { kind: 'delete-vm', targets: ok.map(toTarget), skipped: skipped.map(toTarget) } }),
  }),
]

// ---------------------------------------------------------------------------------------------
// Edit: name, description, tags, folder (any taggable object)

const EDITABLE = new Set(['VM', 'host', 'pool', 'SR', 'network'])
const editable = (sel: Selection): boolean =>
  sel.length === 1 && sel.every((s) => s.cls !== undefined && EDITABLE.has(s.cls) && s.ref !== undefined && s.connectionId !== undefined && s.kind !== 'snapshot')

function editCanRun(sel: Selection, ctx: CommandContext): CanRun {
  const s = sel[0]
  if (!s?.connectionId || !s.ref || !s.cls) return 'Select one object'
  const offline = offlineReason(ctx, s.connectionId)
  if (offline) return offline
  return ctx.record(s.connectionId, s.cls, s.ref) ? true : `${s.label} is not loaded yet`
}

function editCommand(id: string, lbl: string, focus: 'name' | 'tags' | 'folder', shortcut?: string): Command {
  return {
    id,
    label: lbl,
    group: 'edit',
    ...(shortcut ? { shortcut } : {}),
    appliesTo: editable,
    canRun: editCanRun,
    run: (sel, ctx) => {
      const s = sel[0]
      if (!s?.connectionId || !s.ref || !s.cls) return
      ctx.openDialog({ kind: 'operation', request: { kind: 'edit-object', connectionId: s.connectionId, cls: s.cls, ref: s.ref, focus } })
    },
  }
}

export const editCommands: Command[] = [
  editCommand('object.rename', 'Rename / Edit Description…', 'name', 'F2'),
  editCommand('object.editTags', 'Edit Tags…', 'tags'),
  editCommand('object.moveToFolder', 'Move to Folder…', 'folder'),
]

// ---------------------------------------------------------------------------------------------
// Drag a VM onto a host: migrate within the pool

export interface DropHost {
  connectionId: string
  ref: string
  label: string
}

/** can these dragged items be migrated to that host? (same pool, running, allowed) */
export function dropMigrateReason(dragged: Selection, host: DropHost, ctx: CommandContext): CanRun {
  const spec = VM_OPERATIONS.pool_migrate
  const list = candidates(spec, dragged, ctx)
  if (list.length === 0) return 'Only VMs can be dropped on a server'
  const foreign = list.find((c) => c.connectionId !== host.connectionId)
  if (foreign) return `${foreign.name} is in another pool: drop it on a server or pool of another pool to open the Migrate wizard`
  const here = list.find((c) => c.record?.resident_on === host.ref && c.record.power_state === 'Running')
  if (here && list.length === 1) return `${here.name} already runs on ${host.label}`
  const hostRec = ctx.record(host.connectionId, 'host', host.ref)
  if (hostRec && hostRec.enabled === false) return `${host.label} is disabled (maintenance mode)`
  return selectionCanRun(spec, list)
}

export async function dropMigrate(dragged: Selection, host: DropHost, ctx: CommandContext): Promise<void> {
  const r = dropMigrateReason(dragged, host, ctx)
  if (r !== true) return ctx.notify(r, 'error')
  const spec = VM_OPERATIONS.pool_migrate
  const all = candidates(spec, dragged, ctx)
  const ok = all.filter((c) => c.reason === true && c.record?.resident_on !== host.ref)
  const skipped = all.filter((c) => !ok.includes(c))
  const yes = await ctx.confirm({
    title: `Migrate ${ok.length === 1 ? ok[0]?.name : `${ok.length} VMs`} to ${host.label}?`,
    message: `${names(ok)} will move to ${host.label} while running (live migration).`,
    confirmLabel: 'Migrate',
  })
  if (!yes) return
  await runVmOperation(ctx, 'pool_migrate', ok, { host: host.ref }, skipped)
}

/** dialog targets back to candidates (the dialog already checked them; XAPI decides anyway) */
export function fromTargets(list: readonly OperationTarget[], ok: boolean): VmCandidate[] {
  return list.map((t) => ({ connectionId: t.connectionId, ref: t.ref, name: t.name, record: undefined, reason: ok ? true : (t.reason ?? 'Not possible now') }))
}
