/**
 * Startup: wire the contract's events into the stores, load the saved connections, subscribe to
 * every pool's objects, and build the command context the UI shares.
 */
import { watch } from 'vue'
import { useApi, type RendererApi } from './api'
import { errorMessage } from './api/errors'
import { commands, type CommandContext, type Selection } from './commands'
import { useConnectionsStore } from './stores/connections'
import { useObjectsStore } from './stores/objects'
import { useSettingsStore } from './stores/settings'
import { useTasksStore } from './stores/tasks'
import { useTransfersStore } from './stores/transfers'
import { useTreeStore } from './stores/tree'
import { useUiStore } from './stores/ui'

/** The commands' context for a component: call in setup (it takes the api from the app). */
export function useCommandContext(): CommandContext {
  return commandContext(useApi())
}

export function commandContext(api: RendererApi): CommandContext {
  const connections = useConnectionsStore()
  const objects = useObjectsStore()
  const ui = useUiStore()
  return {
    api,
    connection: (id) => connections.get(id),
    record: (connectionId, cls, ref) => objects.record(connectionId, cls, ref),
    pool: (connectionId) => {
      objects.track()
      return objects.graph.pool(connectionId)
    },
    confirm: (req) => ui.confirm(req),
    openDialog: (req) => ui.openDialog(req),
    copyText: async (text) => {
      try {
        await navigator.clipboard.writeText(text)
      } catch {
        // clipboard permission can be missing (plain http in browser mode): fall back to a textarea
        const ta = document.createElement('textarea')
        ta.value = text
        ta.setAttribute('readonly', '')
        ta.style.position = 'fixed'
        ta.style.opacity = '0'
        document.body.appendChild(ta)
        ta.select()
        document.execCommand('copy')
        ta.remove()
      }
    },
    notify: (message, tone) => ui.notify(message, tone),
  }
}

/** Run a command by id on a selection, telling the user why when it cannot run. */
export async function runCommand(ctx: CommandContext, id: string, sel: Selection): Promise<void> {
  try {
    const r = await commands.execute(id, sel, ctx)
    if (r !== true) ctx.notify(r, 'error')
  } catch (err) {
    ctx.notify(errorMessage(err), 'error')
  }
}

/** after the next frame is painted (or soon, in a page that paints no frames) */
function afterPaint(): Promise<void> {
  return new Promise((ok) => {
    const done = (): void => void setTimeout(ok, 0)
    if (typeof requestAnimationFrame !== 'function') return done()
    const fallback = setTimeout(done, 100)
    requestAnimationFrame(() => {
      clearTimeout(fallback)
      done()
    })
  })
}

/**
 * pool diffs main may have in flight to this window before it waits for an acknowledgement: enough
 * that main is producing the next pieces while this window applies the ones it has (a cold start
 * of 200 pools is ≈1,000 pieces: a round trip per few pieces left both processes waiting)
 */
const SUBSCRIBE_WINDOW = 16

export async function startApp(api: RendererApi): Promise<CommandContext> {
  // operations: task progress, outcomes and the action history (issue 5)
  useTasksStore().attach(api)
  // VM and disk transfers (issue 14): main keeps them, a reload finds them again
  useTransfersStore().attach(api)
  const connections = useConnectionsStore()
  const objects = useObjectsStore()
  const tree = useTreeStore()
  const ui = useUiStore()
  const settings = useSettingsStore()
  const ctx = commandContext(api)

  api.on('connection.state', (s) => connections.upsert(s))
  api.on('connection.removed', ({ id }) => {
    connections.remove(id)
    objects.drop(id)
  })
  // Flow control: main keeps at most SUBSCRIBE_WINDOW diffs unacknowledged, and this window
  // acknowledges each as soon as it is applied (the store applies queued pieces in slices of a few
  // ms, so input and frames come in between), so a fleet streaming in never floods the page's task
  // queue (a click waits behind at most a few pieces, not behind the whole fleet) and main is never
  // left waiting for a window that has room. Acknowledgements of one turn go as one call.
  let unacked = 0
  objects.onApplied((count) => {
    if (unacked === 0) queueMicrotask(() => {
      const n = unacked
      unacked = 0
      if (n > 0) void api.call('objects.ack', { count: n }).catch(() => undefined)
    })
    unacked += count
  })
  api.on('pool.diff', (d) => objects.apply(d))
  const subscribe = (): Promise<null> => api.call('objects.subscribe', { window: SUBSCRIBE_WINDOW })
  // menu bar (Electron) → the same commands as everywhere else
  api.on('ui.command', ({ command, commandId }) => {
    switch (command) {
      case 'command.run':
        if (commandId) void runCommand(ctx, commandId, tree.selectedItems)
        break
      case 'server.add':
        void runCommand(ctx, 'app.addServer', tree.selectedItems)
        break
      case 'help.about':
        ui.openDialog({ kind: 'about' })
        break
      case 'tree.focusSearch':
        ui.focusSearchRequest++
        break
    }
  })
  const sync = async (): Promise<void> => {
    try {
      connections.replaceAll(await api.call('connections.list', {}))
      // the saved pools are on screen (offline, as of their cache time) before their graphs stream in
      await afterPaint()
      // after the link to main came back: the classes shown views asked for, before the graphs that then carry them
      for (const s of objects.scoped()) await api.call('objects.scope', s).catch(() => undefined)
      await subscribe()
    } catch (err) {
      ui.notify(`Could not load connections: ${errorMessage(err)}`, 'error')
    }
  }
  objects.setGapHandler(() => void subscribe().catch(() => undefined))
  // after the link to main dropped and came back, everything may have changed: resync
  let linkLost = false
  api.onLink?.((s) => {
    if (s === 'closed') linkLost = true
    else if (s === 'open' && linkLost) {
      linkLost = false
      void settings.load()
      void sync()
    }
  })

  // A certificate waiting for a decision opens its dialog (once per certificate and connect attempt).
  watch(
    () => ({ list: connections.list, free: ui.dialog === null }),
    ({ list, free }) => {
      const id = ui.nextTrustPrompt(list)
      if (free && id) ui.openDialog({ kind: 'trust', connectionId: id })
    },
  )

  await sync()
  return ctx
}
