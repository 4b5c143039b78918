/** Commands on saved connections: connect, disconnect, retry, forget, edit, review certificate. */
import type { ConnectionState } from '../../../shared/contract/connection'
import { errorMessage } from '../api/errors'
import type { CanRun, Command, CommandContext, Selection, SelectedItem } from './registry'

const connectionItems = (sel: Selection): SelectedItem[] => sel.filter((s) => s.isConnectionRoot === true && s.connectionId !== undefined)
const onlyConnections = (sel: Selection): boolean => sel.length > 0 && connectionItems(sel).length === sel.length

function states(sel: Selection, ctx: CommandContext): ConnectionState[] | string {
  const out: ConnectionState[] = []
  for (const item of connectionItems(sel)) {
    const s = item.connectionId ? ctx.connection(item.connectionId) : undefined
    if (!s) return `${item.label} is no longer a saved connection`
    out.push(s)
  }
  return out
}

/** every selected connection must satisfy `ok` (returning a reason otherwise) */
function every(sel: Selection, ctx: CommandContext, ok: (s: ConnectionState) => CanRun): CanRun {
  const list = states(sel, ctx)
  if (typeof list === 'string') return list
  for (const s of list) {
    const r = ok(s)
    if (r !== true) return list.length > 1 ? `${s.label}: ${r}` : r
  }
  return true
}

async function forEachConnection(sel: Selection, ctx: CommandContext, what: string, fn: (s: ConnectionState) => Promise<unknown>): Promise<void> {
  const list = states(sel, ctx)
  if (typeof list === 'string') return ctx.notify(list, 'error')
  await Promise.all(
    list.map(async (s) => {
      try {
        await fn(s)
      } catch (err) {
        ctx.notify(`Could not ${what} ${s.label}: ${errorMessage(err)}`, 'error')
      }
    }),
  )
}

/** the connection is not trying anything: it waits for the user */
const isStopped = (s: ConnectionState): boolean =>
  s.status === 'disconnected' || s.status === 'failed' || s.status === 'auth-failed' || s.status === 'unreachable' || s.status === 'password-needed'

const canConnect = (s: ConnectionState): CanRun => {
  switch (s.status) {
    case 'connected':
      return 'Already connected'
    case 'connecting':
      return 'Already connecting'
    case 'reconnecting':
      return 'Already reconnecting: use Retry to try now'
    case 'awaiting-trust':
      return 'Waiting for you to review the server certificate'
    case 'cert-changed':
      return 'The server certificate changed: review it before connecting'
    default:
      return true
  }
}

export const connectCommand: Command = {
  id: 'connection.connect',
  label: 'Connect',
  group: 'connection',
  toolbar: true,
  appliesTo: onlyConnections,
  canRun: (sel, ctx) => every(sel, ctx, canConnect),
  run: (sel, ctx) =>
    forEachConnection(sel, ctx, 'connect to', async (s) => {
      // no saved password: ask for it (the password goes to main once, in this call)
      if (!s.hasPassword) return ctx.openDialog({ kind: 'edit-connection', connectionId: s.id, connectAfter: true })
      await ctx.api.call('connections.connect', { id: s.id })
    }),
}

export const disconnectCommand: Command = {
  id: 'connection.disconnect',
  label: 'Disconnect',
  group: 'connection',
  toolbar: true,
  appliesTo: onlyConnections,
  canRun: (sel, ctx) =>
    every(sel, ctx, (s) => (isStopped(s) || s.status === 'cert-changed' ? 'Not connected' : true)),
  run: (sel, ctx) => forEachConnection(sel, ctx, 'disconnect from', (s) => ctx.api.call('connections.disconnect', { id: s.id })),
}

export const retryCommand: Command = {
  id: 'connection.retry',
  label: 'Retry now',
  group: 'connection',
  appliesTo: onlyConnections,
  canRun: (sel, ctx) =>
    every(sel, ctx, (s) =>
      (isStopped(s) && s.status !== 'disconnected') || s.status === 'reconnecting' || (s.status === 'connecting' && s.nextRetryAt !== undefined)
        ? true
        : 'Only a connection that failed or is waiting to try again can be retried',
    ),
  run: (sel, ctx) =>
    forEachConnection(sel, ctx, 'reconnect to', async (s) => {
      // no usable password (refused, or none this session): ask for it
      if (!s.hasPassword) return ctx.openDialog({ kind: 'edit-connection', connectionId: s.id, connectAfter: true })
      await ctx.api.call('connections.connect', { id: s.id })
    }),
}

export const reviewCertificateCommand: Command = {
  id: 'connection.reviewCertificate',
  label: 'Review certificate…',
  group: 'connection',
  appliesTo: (sel) => sel.length === 1 && onlyConnections(sel),
  canRun: (sel, ctx) =>
    every(sel, ctx, (s) => (s.status === 'awaiting-trust' || s.status === 'cert-changed' ? true : 'No certificate is waiting for review')),
  run: (sel, ctx) => {
    const id = sel[0]?.connectionId
    if (id) ctx.openDialog({ kind: 'trust', connectionId: id })
  },
}

export const editConnectionCommand: Command = {
  id: 'connection.edit',
  label: 'Edit connection…',
  group: 'connection-admin',
  appliesTo: onlyConnections,
  canRun: (sel, ctx) => {
    if (sel.length !== 1) return 'Select one connection to edit'
    return every(sel, ctx, () => true)
  },
  run: (sel, ctx) => {
    const id = sel[0]?.connectionId
    if (id) ctx.openDialog({ kind: 'edit-connection', connectionId: id })
  },
}

export const forgetCommand: Command = {
  id: 'connection.forget',
  label: 'Forget server…',
  group: 'connection-admin',
  shortcut: 'Delete',
  appliesTo: onlyConnections,
  canRun: (sel, ctx) => every(sel, ctx, () => true),
  run: async (sel, ctx) => {
    const list = states(sel, ctx)
    if (typeof list === 'string') return ctx.notify(list, 'error')
    const names = list.map((s) => s.label).join(', ')
    const ok = await ctx.confirm({
      title: list.length > 1 ? `Forget ${list.length} servers?` : `Forget ${names}?`,
      message: `XenPilot will disconnect and delete the saved connection, its saved password, trusted certificate and cached inventory for ${names}. Nothing changes on the server.`,
      confirmLabel: 'Forget',
      danger: true,
    })
    if (!ok) return
    await forEachConnection(sel, ctx, 'forget', (s) => ctx.api.call('connections.forget', { id: s.id }))
  },
}

export const connectionCommands: Command[] = [
  connectCommand,
  disconnectCommand,
  retryCommand,
  reviewCertificateCommand,
  editConnectionCommand,
  forgetCommand,
]
