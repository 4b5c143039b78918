/**
 * Migrate VM… (issue 17: to any server of any connected pool, one VM or many, of one pool or
 * several — XenCenter's cross-pool wizard) and Move Storage… (storage motion: the disks to other SRs of the VM's pool).
 * Both open views/migrate/MigrateWizard.vue; a drop of VMs on a server or pool of another pool
 * (composables/useVmDrag.ts) opens it preset to there.
 */
import { migrateReason, type MigrateCandidate, type MigrateRequest } from '../model/migrate'
import type { CanRun, Command, CommandContext, Selection } from './registry'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')

export function migrateCandidates(sel: Selection, ctx: CommandContext, mode: MigrateRequest['mode']): MigrateCandidate[] {
  return sel
    .filter((i) => i.kind === 'VM' && i.cls === 'VM' && i.connectionId && i.ref)
    .map((i) => {
      const connectionId = i.connectionId ?? ''
      const ref = i.ref ?? ''
      const rec = ctx.record(connectionId, 'VM', ref)
      const name = str(rec?.name_label) || i.label
      const c = ctx.connection(connectionId)
      const reason = c?.status !== 'connected' ? `${c?.label ?? 'Its pool'} is not connected` : migrateReason(rec, name, mode)
      return { connectionId, ref, name, reason }
    })
}

/** true, or why the wizard cannot open for these VMs (VMs of several pools migrate in one run; storage motion stays within one pool) */
export function migrateCanRun(list: readonly MigrateCandidate[], mode: MigrateRequest['mode'] = 'migrate'): CanRun {
  if (list.length === 0) return 'Select one or more VMs'
  if (mode === 'storage' && new Set(list.map((c) => c.connectionId)).size > 1) return 'Select VMs of one pool (storage moves within a pool)'
  const ok = list.filter((c) => c.reason === true)
  if (ok.length === 0) return list[0]?.reason === true ? 'Nothing to migrate' : String(list[0]?.reason)
  return true
}

export function openMigrateWizard(sel: Selection, ctx: CommandContext, mode: MigrateRequest['mode'], preset: { destConnectionId?: string; host?: string } = {}): CanRun {
  const list = migrateCandidates(sel, ctx, mode)
  const r = migrateCanRun(list, mode)
  if (r !== true) return r
  const ok = list.filter((c) => c.reason === true)
  const skipped = list.filter((c) => c.reason !== true)
  if (skipped.length) ctx.notify(`Left out: ${skipped.map((s) => `${s.name} (${String(s.reason)})`).join('; ')}`)
  ctx.openDialog({ kind: 'migrate', request: { mode, targets: ok.map(({ connectionId, ref, name }) => ({ connectionId, ref, name })), ...preset } })
  return true
}

function wizardCommand(id: string, label: string, mode: MigrateRequest['mode']): Command {
  return {
    id,
    label,
    group: 'vm-place',
    appliesTo: (sel) => sel.some((i) => i.kind === 'VM'),
    canRun: (sel, ctx) => migrateCanRun(migrateCandidates(sel, ctx, mode), mode),
    detail: (sel, ctx) => {
      const list = migrateCandidates(sel, ctx, mode)
      const bad = list.filter((c) => c.reason !== true)
      return list.length > 1 ? `${list.length - bad.length} VM${list.length - bad.length === 1 ? '' : 's'}${bad.length ? ` (${bad.length} left out)` : ''}` : null
    },
    run: (sel, ctx) => {
      const r = openMigrateWizard(sel, ctx, mode)
      if (r !== true) ctx.notify(r, 'error')
    },
  }
}

export const migrateCommands: Command[] = [{ ...wizardCommand('vm.migrateWizard', 'Migrate VM…', 'migrate'), toolbar: true }, wizardCommand('vm.moveStorage', 'Move Storage…', 'storage')]
