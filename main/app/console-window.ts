/**
 * Electron: a console in its own window (console.popout). Same renderer, same preload and the
 * same hardening as the main window; the page shows only the console named by its hash route
 * (renderer/src/views/console/route.ts). One window per console: asking again focuses it.
 *
 * Wiring (main/app bootstrap):
 *   const consoles = await startConsoleService({ pools, hostAccess, allowedOrigins: [pageOrigin],
 *     popout: createConsoleWindowOpener({ preload, load: (win, hash) => loadRenderer(win, hash) }) })
 */
import { BrowserWindow } from 'electron'
import type { ConsoleTargetArgs } from '../../shared/contract/console'

export interface ConsoleWindowOptions {
  /** absolute path of the preload script the main window uses */
  preload: string
  /** load the renderer into the window with this location hash (file or dev-server URL + hash) */
  load: (win: BrowserWindow, hash: string) => Promise<void>
}

function keyOf(t: ConsoleTargetArgs): string {
  return 'vmRef' in t ? `${t.connectionId}|vm|${t.vmRef}` : `${t.connectionId}|host|${t.hostRef}`
}

function hashOf(t: ConsoleTargetArgs): string {
  const kind = 'vmRef' in t ? 'vm' : 'host'
  const ref = 'vmRef' in t ? t.vmRef : t.hostRef
  return `#/console/${encodeURIComponent(t.connectionId)}/${kind}/${encodeURIComponent(ref)}`
}

export function createConsoleWindowOpener(opts: ConsoleWindowOptions): (target: ConsoleTargetArgs) => Promise<void> {
  const open = new Map<string, BrowserWindow>()
  return async (target) => {
    const key = keyOf(target)
    const existing = open.get(key)
    if (existing && !existing.isDestroyed()) {
      existing.focus()
      return
    }
    const win = new BrowserWindow({
      width: 1060,
      height: 840,
      minWidth: 480,
      minHeight: 360,
      title: 'Console — XenPilot',
      autoHideMenuBar: true,
      webPreferences: {
        preload: opts.preload,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webSecurity: true,
      },
    })
    open.set(key, win)
    win.on('closed', () => open.delete(key))
    win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
    win.webContents.on('will-navigate', (e) => e.preventDefault())
    await opts.load(win, hashOf(target))
  }
}
