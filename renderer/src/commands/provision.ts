/**
 * New VM (issue 14): from the VM menu, the toolbar, the context menu of a pool or server, and
 * Ctrl+N. Opens the wizard on the selected pool (and the selected server as home server, or the
 * selected template as the one chosen), or on the first connected pool when nothing is selected.
 */
import type { Command, Selection } from './registry'

const WHERE = new Set(['pool', 'host', 'connection', 'VM', 'template'])

function target(sel: Selection): { connectionId?: string; host?: string; template?: string } {
  const first = sel[0]
  if (!first?.connectionId) return {}
  // a selected server is the home server, a selected template the one chosen (XenCenter's NewVMCommand)
  return {
    connectionId: first.connectionId,
    ...(first.kind === 'host' && first.ref ? { host: first.ref } : {}),
    ...(first.kind === 'template' && first.ref ? { template: first.ref } : {}),
  }
}

export const newVmCommand: Command = {
  id: 'vm.new',
  label: 'New VM…',
  group: 'vm-new',
  shortcut: 'Ctrl+N',
  toolbar: true,
  appliesTo: (sel) => sel.length === 0 || (sel.length === 1 && sel[0] !== undefined && WHERE.has(sel[0].kind)),
  canRun: (sel, ctx) => {
    const t = target(sel)
    if (t.connectionId) {
      const c = ctx.connection(t.connectionId)
      if (c?.status !== 'connected') return `${c?.label ?? 'The pool'} is not connected: connect to make a VM there`
      return true
    }
    // nothing selected: the wizard offers the connected pools (and says so when there is none)
    return true
  },
  run: (sel, ctx) => ctx.openDialog({ kind: 'new-vm', ...target(sel) }),
}

export const provisionCommands: Command[] = [newVmCommand]
