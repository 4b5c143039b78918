/**
 * SR commands (issue 13): scan, set as default, repair — for an SR selected in the tree (context
 * menu) and the SR view's toolbar alike. canRun is shared/operations/storage.ts (the rules main
 * checks again); a refusal by XAPI opens the results dialog with its sentence and, under Details,
 * its code. Forget and destroy need their plan on screen first: the SR view's dialogs.
 */
import type { OperationResult } from '../../../shared/contract/operations'
import { canRepair, canScan, canSetDefault, type CanRun } from '../../../shared/operations/storage'
import { errorMessage } from '../api/errors'
import { storageView } from '../model/storage'
import { summariseResults } from '../model/results'
import type { Command, CommandContext, SelectedItem, Selection } from './registry'
import { offlineReason } from './vm'

const srItem = (sel: Selection): SelectedItem | undefined => (sel.length === 1 && sel[0]?.cls === 'SR' && sel[0].connectionId && sel[0].ref ? sel[0] : undefined)

type SrMethod = 'sr.scan' | 'sr.setDefault' | 'sr.repair'

function srCommand(id: SrMethod, label: string, done: string, rule: (ctx: CommandContext, connectionId: string, sr: string) => CanRun): Command {
  return {
    id,
    label,
    group: 'storage',
    appliesTo: (sel) => srItem(sel) !== undefined,
    canRun: (sel, ctx) => {
      const item = srItem(sel)
      if (!item?.connectionId || !item.ref) return 'Select an SR'
      return offlineReason(ctx, item.connectionId) ?? rule(ctx, item.connectionId, item.ref)
    },
    run: async (sel, ctx) => {
      const item = srItem(sel)
      if (!item?.connectionId || !item.ref) return
      const { connectionId, ref } = item
      let result: OperationResult
      try {
        result = await ctx.api.call(id, { connectionId, sr: ref })
      } catch (err) {
        const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'CLIENT_ERROR'
        result = { connectionId, ref, ok: false, error: { code, message: errorMessage(err), params: [] } }
      }
      const summary = summariseResults(label.replace(/…$/, ''), [result], [], () => item.label)
      if (result.ok) ctx.notify(`${done}: ${item.label}`)
      else ctx.openDialog({ kind: 'operation', request: { kind: 'results', title: summary.title, rows: summary.rows } })
    },
  }
}

const withView = (fn: (view: ReturnType<typeof storageView>, ctx: CommandContext, connectionId: string, sr: string) => CanRun) => (ctx: CommandContext, connectionId: string, sr: string): CanRun => {
  const p = ctx.pool?.(connectionId)
  return p ? fn(storageView(p), ctx, connectionId, sr) : 'The pool is not loaded yet'
}

export const storageCommands: Command[] = [
  srCommand('sr.scan', 'Scan', 'Scanned', withView((view, _ctx, _c, sr) => canScan(view, sr))),
  srCommand('sr.setDefault', 'Set as Default', 'Now the default SR', withView((view, ctx, c, sr) => canSetDefault(view, sr, ctx.pool?.(c)?.pool()?.rec))),
  srCommand('sr.repair', 'Repair', 'Repaired', withView((view, _ctx, _c, sr) => canRepair(view, sr))),
]
