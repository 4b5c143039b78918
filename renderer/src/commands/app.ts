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

export const connectAllCommand: Command = {
  id: 'app.connectAll',
  label: 'Connect All',
  group: 'app',
  global: true,
  toolbarMenu: true,
  appliesTo: () => false,
  canRun: () => true,
  run: async (_sel, ctx) => {
    try {
      await ctx.api.call('connections.connectAll', {})
    } catch (err) {
      ctx.notify(`Could not connect all: ${errorMessage(err)}`, 'error')
    }
  },
}

export const disconnectAllCommand: Command = {
  id: 'app.disconnectAll',
  label: 'Disconnect All',
  group: 'app',
  global: true,
  toolbarMenu: true,
  appliesTo: () => false,
  canRun: () => true,
  run: async (_sel, ctx) => {
    try {
      await ctx.api.call('connections.disconnectAll', {})
    } catch (err) {
      ctx.notify(`Could not disconnect all: ${errorMessage(err)}`, 'error')
    }
  },
}

export const appCommands: Command[] = [addServerCommand, connectAllCommand, disconnectAllCommand]
