/**
 * Export and import (issue 14): Export… for one VM, template or snapshot that is not running (XAPI's
 * 'export' operation: halted or suspended), Import… for a pool or a server (the VM lands in that
 * pool). Both open their dialog (views/transfer); the transfer itself runs in main and shows in the
 * Activity panel's Transfers tab.
 */
import type { Command, CommandContext, SelectedItem, Selection } from './registry'
import { offlineReason } from './vm'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')

const vmItem = (sel: Selection): SelectedItem | undefined => (sel.length === 1 && sel[0]?.cls === 'VM' && sel[0].connectionId && sel[0].ref ? sel[0] : undefined)
const poolItem = (sel: Selection): SelectedItem | undefined =>
  sel.length === 1 && sel[0]?.connectionId && (sel[0].isConnectionRoot === true || sel[0].cls === 'pool' || sel[0].cls === 'host') ? sel[0] : undefined

function exportable(ctx: CommandContext, item: SelectedItem): true | string {
  const rec = ctx.record(item.connectionId ?? '', 'VM', item.ref ?? '')
  if (!rec) return 'The VM is not loaded yet'
  if (rec.is_control_domain === true) return 'A control domain cannot be exported'
  const power = str(rec.power_state)
  if (power === 'Running' || power === 'Paused') return `${str(rec.name_label) || 'The VM'} is ${power.toLowerCase()}: shut it down, or export a snapshot of it`
  const ops = Array.isArray(rec.current_operations) ? [] : Object.values((rec.current_operations as Record<string, unknown> | undefined) ?? {})
  if (ops.length > 0) return `${str(rec.name_label) || 'The VM'} is busy (${String(ops[0]).replace(/_/g, ' ')})`
  return true
}

export const transferCommands: Command[] = [
  {
    id: 'vm.export',
    label: 'Export…',
    group: 'transfer',
    appliesTo: (sel) => vmItem(sel) !== undefined,
    canRun: (sel, ctx) => {
      const item = vmItem(sel)
      if (!item?.connectionId) return 'Select one VM'
      return offlineReason(ctx, item.connectionId) ?? exportable(ctx, item)
    },
    run: (sel, ctx) => {
      const item = vmItem(sel)
      if (!item?.connectionId || !item.ref) return
      const rec = ctx.record(item.connectionId, 'VM', item.ref)
      ctx.openDialog({ kind: 'transfer', request: { kind: 'export-vm', connectionId: item.connectionId, ref: item.ref, name: str(rec?.name_label) || item.label, snapshot: rec?.is_a_snapshot === true } })
    },
  },
  {
    id: 'pool.import',
    label: 'Import…',
    group: 'transfer',
    appliesTo: (sel) => poolItem(sel) !== undefined,
    canRun: (sel, ctx) => {
      const item = poolItem(sel)
      if (!item?.connectionId) return 'Select a pool or a server'
      return offlineReason(ctx, item.connectionId) ?? true
    },
    run: (sel, ctx) => {
      const item = poolItem(sel)
      if (!item?.connectionId) return
      ctx.openDialog({ kind: 'transfer', request: { kind: 'import-vm', connectionId: item.connectionId, poolName: ctx.connection(item.connectionId)?.label ?? item.label } })
    },
  },
]
