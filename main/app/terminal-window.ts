/**
 * Electron: a host terminal in its own window (terminal.popout, issue 19). Plain module — Electron's BrowserWindow
 * is passed in by the bootstrap (main/app/main.ts is the only file that imports electron), so the options and the
 * wiring are tested without Electron (test/unit/app/terminal-window.test.ts).
 *
 * The window loads the same renderer with the terminal's route (shared/terminal/route.ts), the same preload and the
 * same web preferences as the main window (secureWebPreferences: isolated, sandboxed, no Node); it never navigates
 * and opens no windows. One window per host terminal: asking again focuses it.
 */
import type { TerminalTarget } from '../../shared/contract/terminal'
import { terminalRouteHash } from '../../shared/terminal/route'
import { secureWebPreferences, type SecureWebPreferences } from './security'

export interface TerminalWindowOptions {
  width: number
  height: number
  minWidth: number
  minHeight: number
  title: string
  autoHideMenuBar: boolean
  backgroundColor: string
  webPreferences: SecureWebPreferences
}

/** what the opener needs of a window (Electron's BrowserWindow has it) */
export interface TerminalWindowLike {
  isDestroyed(): boolean
  focus(): void
  on(event: 'closed', listener: () => void): unknown
  webContents: {
    setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void
    on(event: 'will-navigate', listener: (event: { preventDefault(): void }) => void): unknown
  }
}

export function terminalWindowOptions(preload: string, dark: boolean): TerminalWindowOptions {
  return {
    width: 980,
    height: 660,
    minWidth: 480,
    minHeight: 320,
    title: 'Terminal — XenPilot',
    autoHideMenuBar: true,
    backgroundColor: dark ? '#1e1f22' : '#ffffff',
    webPreferences: secureWebPreferences(preload),
  }
}

export interface TerminalWindowOpenerOptions<W extends TerminalWindowLike> {
  /** absolute path of the preload script the main window uses */
  preload: string
  /** new BrowserWindow(options) */
  makeWindow: (options: TerminalWindowOptions) => W
  /** load the renderer into the window with this location hash (file or dev-server URL + hash) */
  load: (win: W, hash: string) => Promise<void>
  /** the system's dark mode (the window's background before the page paints) */
  dark?: () => boolean
}

export function createTerminalWindowOpener<W extends TerminalWindowLike>(opts: TerminalWindowOpenerOptions<W>): (target: TerminalTarget) => Promise<void> {
  const open = new Map<string, W>()
  return async (target) => {
    const key = `${target.connectionId}|${target.hostRef}`
    const existing = open.get(key)
    if (existing && !existing.isDestroyed()) {
      existing.focus()
      return
    }
    const win = opts.makeWindow(terminalWindowOptions(opts.preload, opts.dark?.() ?? false))
    open.set(key, win)
    win.on('closed', () => {
      if (open.get(key) === win) open.delete(key)
    })
    // the app-wide handlers refuse these too (main.ts web-contents-created); said here as well, for this window alone
    win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
    win.webContents.on('will-navigate', (e) => e.preventDefault())
    await opts.load(win, terminalRouteHash(target))
  }
}
