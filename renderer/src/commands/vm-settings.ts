/**
 * VM Properties and the template commands (issue 14), XenCenter's: Properties… (VM, template,
 * snapshot), Convert to Template…, Convert to VM… (custom templates), New VM from Snapshot… (the
 * New VM wizard on the snapshot), New Template from Snapshot…. Whether each can run is the rule main checks again (shared/operations/vm-properties.ts);
 * conversions are confirmed first. Deleting a custom template is the VM menu's Delete… (built-in
 * templates refused there with the reason).
 */
import { canConvertToTemplate, canConvertToVm, canCloneSnapshot } from '../../../shared/operations/vm-properties'
import type { CanRun, Command, CommandContext, DialogRequest, Selection } from './registry'
import { offlineReason } from './vm'

type One = { connectionId: string; ref: string; label: string; rec: Record<string, unknown> }

function one(sel: Selection, ctx: CommandContext): One | string {
  const s = sel[0]
  if (sel.length !== 1 || !s?.connectionId || !s.ref) return 'Select one VM'
  const offline = offlineReason(ctx, s.connectionId)
  if (offline) return offline
  const rec = ctx.record(s.connectionId, 'VM', s.ref)
  if (!rec) return `${s.label} is not loaded yet`
  return { connectionId: s.connectionId, ref: s.ref, label: s.label, rec }
}

const single = (kinds: readonly string[]) => (sel: Selection) => sel.length === 1 && sel[0]?.cls === 'VM' && kinds.includes(sel[0].kind)

/** the command's rule on the one object selected (a shared rule takes the record; `t` names it) */
function ruled(rule: (vm: Record<string, unknown>, t: One) => true | string) {
  return (sel: Selection, ctx: CommandContext): CanRun => {
    const t = one(sel, ctx)
    return typeof t === 'string' ? t : rule(t.rec, t)
  }
}

async function convert(sel: Selection, ctx: CommandContext, action: 'to-template' | 'to-vm'): Promise<void> {
  const t = one(sel, ctx)
  if (typeof t === 'string') return ctx.notify(t, 'error')
  const toTemplate = action === 'to-template'
  const yes = await ctx.confirm(
    toTemplate
      ? {
          title: `Convert ${t.label} to a template?`,
          message: `${t.label} becomes a custom template: it can no longer be started, and new VMs can be made from it. Convert to VM turns it back.`,
          confirmLabel: 'Convert to Template',
        }
      : {
          title: `Convert template ${t.label} to a VM?`,
          message: `${t.label} becomes an ordinary (halted) VM and leaves the list of templates in the New VM wizard.`,
          confirmLabel: 'Convert to VM',
        },
  )
  if (!yes) return
  const r = await ctx.api.call('vm.template', { connectionId: t.connectionId, ref: t.ref, action })
  if (r.ok) ctx.notify(`${t.label} is now ${toTemplate ? 'a template' : 'a VM'}.`)
  else ctx.notify(r.error?.message ?? 'The conversion failed.', 'error')
}

/** Convert to Template… (a VM) or Convert to VM… (a custom template): confirmed first, then vm.template */
function conversion(id: string, label: string, kind: 'VM' | 'template', rule: (vm: Record<string, unknown>) => true | string, action: 'to-template' | 'to-vm'): Command {
  return { id, label, group: 'vm-template', appliesTo: single([kind]), canRun: ruled(rule), run: (sel, ctx) => convert(sel, ctx, action) }
}

/** a command that opens a dialog on one VM, template or snapshot (`kinds`), when `rule` allows it */
function opener(id: string, label: string, group: string, kinds: readonly string[], rule: (vm: Record<string, unknown>, t: One) => true | string, dialog: (t: One) => DialogRequest): Command {
  return {
    id,
    label,
    group,
    appliesTo: single(kinds),
    canRun: ruled(rule),
    run: (sel, ctx) => {
      const t = one(sel, ctx)
      if (typeof t === 'string') return ctx.notify(t, 'error')
      ctx.openDialog(dialog(t))
    },
  }
}

export const vmSettingsCommands: Command[] = [
  opener(
    'vm.properties',
    'Properties…',
    'vm-properties',
    ['VM', 'template', 'snapshot'],
    (rec, t) => (rec.is_control_domain === true ? `${t.label} is a control domain; it is managed through its server` : true),
    (t) => ({ kind: 'vm-properties', connectionId: t.connectionId, ref: t.ref }),
  ),
  conversion('vm.convertToTemplate', 'Convert to Template…', 'VM', canConvertToTemplate, 'to-template'),
  conversion('template.convertToVm', 'Convert to VM…', 'template', canConvertToVm, 'to-vm'),
  // XenCenter's NewVMFromSnapshotCommand: the New VM wizard with the snapshot as its source
  // (VM.clone of the snapshot, then VM.provision makes the clone a VM) — one snapshot at a time
  opener('snapshot.newVm', 'New VM from Snapshot…', 'vm-snapshot', ['snapshot'], canCloneSnapshot, (t) => ({ kind: 'new-vm', connectionId: t.connectionId, template: t.ref })),
  opener('snapshot.newTemplate', 'New Template from Snapshot…', 'vm-snapshot', ['snapshot'], canCloneSnapshot, (t) => ({ kind: 'template-from-snapshot', connectionId: t.connectionId, ref: t.ref })),
]
