/**
 * "Clear cache" (issue 2): the offline copy of the selected servers' inventory, or of every
 * server's. A connected server's copy is rebuilt from its live graph at once (main does that);
 * a disconnected server's is gone until it connects again. The per-server "do not cache" option
 * lives in Edit Connection.
 */
import { errorMessage } from '../api/errors'
import type { CanRun, Command, CommandContext, Selection } from './registry'

const connectionIds = (sel: Selection): string[] => sel.filter((s) => s.isConnectionRoot === true && s.connectionId !== undefined).map((s) => s.connectionId ?? '')
const onlyConnections = (sel: Selection): boolean => sel.length > 0 && connectionIds(sel).length === sel.length

function canClear(sel: Selection, ctx: CommandContext): CanRun {
  const ids = connectionIds(sel)
  const states = ids.map((id) => ctx.connection(id))
  if (states.some((s) => s === undefined)) return 'The server is no longer saved'
  if (states.every((s) => s?.doNotCache)) return ids.length === 1 ? 'This server is set not to be cached (Edit Connection)' : 'None of these servers is cached'
  return true
}

export const clearCacheCommand: Command = {
  id: 'cache.clear',
  label: 'Clear Offline Cache…',
  group: 'cache',
  appliesTo: onlyConnections,
  canRun: canClear,
  run: async (sel, ctx) => {
    const states = connectionIds(sel).flatMap((id) => ctx.connection(id) ?? [])
    const names = states.map((s) => s.label).join(', ')
    const ok = await ctx.confirm({
      title: 'Clear offline cache',
      message: `Delete the offline copy of ${names}'s inventory? While disconnected it will not be browsable until it connects again; a connected server's copy is rebuilt from the live pool.`,
      confirmLabel: 'Clear',
    })
    if (!ok) return
    for (const s of states) {
      try {
        await ctx.api.call('cache.clear', { connectionId: s.id })
      } catch (err) {
        ctx.notify(`Could not clear the offline cache of ${s.label}: ${errorMessage(err)}`, 'error')
        return
      }
    }
    ctx.notify(states.length === 1 ? `Offline cache of ${names} cleared` : `Offline cache of ${states.length} servers cleared`)
  },
}

export const clearAllCachesCommand: Command = {
  id: 'cache.clearAll',
  label: 'Clear Offline Cache of All Servers…',
  group: 'cache',
  appliesTo: onlyConnections,
  canRun: () => true,
  run: async (_sel, ctx) => {
    const ok = await ctx.confirm({
      title: 'Clear all offline caches',
      message: 'Delete the offline copy of every server’s inventory? Disconnected servers will not be browsable until they connect again; connected ones are rebuilt from their live pools. Saved servers and the action history stay.',
      confirmLabel: 'Clear all',
      danger: true,
    })
    if (!ok) return
    try {
      await ctx.api.call('cache.clear', {})
      ctx.notify('Offline cache of every server cleared')
    } catch (err) {
      ctx.notify(`Could not clear the offline cache: ${errorMessage(err)}`, 'error')
    }
  },
}

export const cacheCommands: Command[] = [clearCacheCommand, clearAllCachesCommand]
