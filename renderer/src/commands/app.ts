/** Application-wide commands that need no selection (File menu, toolbar). */
import { errorMessage } from '../api/errors'
import type { Command } from './registry'

export const addServerCommand: Command = {
  id: 'app.addServer',
  label: 'Add Server…',
  group: 'app',
  global: true,
  toolbar: true,
  appliesTo: () => false,
  canRun: () => true,
  run: (_sel, ctx) => ctx.openDialog({ kind: 'add-server' }),
}

/** Connect All / Disconnect All: one call to main for every saved server; a failure is said */
function everyConnection(id: string, label: string, method: 'connections.connectAll' | 'connections.disconnectAll', what: string): Command {
  return {
    id,
    label,
    group: 'app',
    global: true,
    toolbarMenu: true,
    appliesTo: () => false,
    canRun: () => true,
    run: async (_sel, ctx) => {
      try {
        await ctx.api.call(method, {})
      } catch (err) {
        ctx.notify(`Could not ${what}: ${errorMessage(err)}`, 'error')
      }
    },
  }
}

export const connectAllCommand = everyConnection('app.connectAll', 'Connect All', 'connections.connectAll', 'connect all')
export const disconnectAllCommand = everyConnection('app.disconnectAll', 'Disconnect All', 'connections.disconnectAll', 'disconnect all')

export const appCommands: Command[] = [addServerCommand, connectAllCommand, disconnectAllCommand]
