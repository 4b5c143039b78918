/**
 * Electron bootstrap — the only file that runs with Electron's main-process API. Everything it
 * wires is a plain module: services (main/services), the IPC door (ipc-door.ts), the keychain
 * adapter (safe-storage-keychain.ts), menu (menu.ts), window state and security policy.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeTheme, safeStorage, screen, session } from 'electron'
import log from 'electron-log/main'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { UiCommandName, UiSettings } from '../../shared/contract'
import { IPC_EVENT } from '../../shared/contract/wire'
import { readConnectionSeed, startRuntime, type Runtime } from '../services/runtime'
import { createConsoleWindowOpener } from './console-window'
import { openDialogOptions, pickedPath, saveDialogOptions } from './file-dialog'
import { openIpcDoor, trustedUrlMatcher, type IpcDoor } from './ipc-door'
import { aboutText, buildMenuTemplate } from './menu'
import { openSafeStorageKeychain } from './safe-storage-keychain'
import { electronCsp, isAllowedNavigation, isPermissionAllowed, secureWebPreferences } from './security'
import { createTerminalWindowOpener } from './terminal-window'
import { DEFAULT_SIZE, loadWindowState, restorableBounds, saveWindowState, windowStateFile } from './window-state'

const here = dirname(fileURLToPath(import.meta.url))
const devServerUrl = !app.isPackaged ? process.env['ELECTRON_RENDERER_URL'] : undefined
const rendererFile = join(here, '../renderer/index.html')
const preloadFile = join(here, '../preload/preload.cjs')
const isTrustedUrl = trustedUrlMatcher({ rendererFile, ...(devServerUrl ? { devServerUrl } : {}) })

// Another data folder (settings, pins, cache, keychain file) when asked: a second profile, a
// portable copy, `npm run demo`'s throw-away one (README, "Passwords").
const userDataOverride = process.env['XENPILOT_USER_DATA']
if (userDataOverride) app.setPath('userData', userDataOverride)

// No log.initialize(): that would inject electron-log's own preload API into the page, and the
// page must see exactly window.xenpilot. Main-process logging needs no initialisation.
log.transports.file.resolvePathFn = () => join(app.getPath('userData'), 'logs', 'main.log')
const logLine = (line: string): void => log.info(line)
// An exception nobody caught still ends up in the log file, not only on a console nobody sees.
log.errorHandler.startCatching({ showDialog: false })

let mainWindow: BrowserWindow | null = null
let runtime: Runtime | undefined
let door: IpcDoor | undefined
let quitting = false
/** the window state write started when the window closed (awaited before quitting) */
let windowStateWritten: Promise<void> = Promise.resolve()

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return
    if (mainWindow.isMinimized()) mainWindow.restore()
    mainWindow.focus()
  })
  app.enableSandbox()
  app.on('web-contents-created', (_e, contents) => {
    // No page of ours ever navigates or opens windows; anything else is a bug or an attack.
    contents.on('will-navigate', (event, url) => {
      if (!isAllowedNavigation(contents.getURL(), url)) {
        event.preventDefault()
        logLine(`security: blocked navigation to ${url}`)
      }
    })
    contents.on('will-redirect', (event, url) => {
      if (!isAllowedNavigation(contents.getURL(), url)) event.preventDefault()
    })
    contents.on('will-attach-webview', (event) => event.preventDefault())
    contents.setWindowOpenHandler(({ url }) => {
      logLine(`security: blocked window.open(${url})`)
      return { action: 'deny' }
    })
  })
  app.whenReady().then(start, (err: unknown) => fatal(err))
  app.on('window-all-closed', () => app.quit())
  app.on('before-quit', (event) => {
    if (quitting || !runtime) return
    // Log out of every pool before the process goes away.
    event.preventDefault()
    quitting = true
    door?.close()
    Promise.allSettled([runtime.close(), windowStateWritten]).finally(() => app.quit())
  })
}

async function start(): Promise<void> {
  const userData = app.getPath('userData')
  const ses = session.defaultSession
  ses.setPermissionRequestHandler((wc, permission, callback, details) => {
    const allowed = isPermissionAllowed(permission, details.requestingUrl || wc.getURL(), isTrustedUrl)
    if (!allowed) logLine(`security: denied permission ${permission} to ${details.requestingUrl}`)
    callback(allowed)
  })
  // For file:// pages the origin is opaque: judge by the frame's URL, else the window's.
  ses.setPermissionCheckHandler((wc, permission, requestingOrigin, details) => isPermissionAllowed(permission, details.requestingUrl ?? wc?.getURL() ?? requestingOrigin, isTrustedUrl))
  const csp = electronCsp(devServerUrl ? { devServerUrl } : {})
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } })
  })

  const keychain = await openSafeStorageKeychain({ safeStorage, platform: process.platform, file: join(userData, 'keychain.json'), log: logLine })
  runtime = await startRuntime({
    dataDir: userData,
    mode: 'electron',
    keychain,
    keychainStatus: keychain,
    // a damaged keychain.json (set aside) is said with the start's other notices
    fileProblems: () => (keychain.problem ? [keychain.problem] : []),
    appVersion: app.getVersion(),
    // `npm run demo` (development only, never the packaged app): the simulator's pools, added and
    // their certificates pinned as source 'demo' before the window opens.
    ...(!app.isPackaged && process.env['XENPILOT_CONNECT_DEMO'] ? { seed: readConnectionSeed(process.env['XENPILOT_CONNECT_DEMO']) } : {}),
    versions: Object.fromEntries(
      ['electron', 'chrome', 'node', 'v8'].flatMap((k) => {
        const v: unknown = Reflect.get(process.versions, k)
        return typeof v === 'string' ? [[k, v]] : []
      }),
    ),
    log: logLine,
    // the native Save as… / Open… of a transfer's file (the options and the answer's checks: file-dialog.ts)
    pickFile: async (req) => {
      const folder = app.getPath(req.purpose === 'export' ? 'documents' : 'downloads')
      const answer =
        req.purpose === 'export'
          ? await (mainWindow ? dialog.showSaveDialog(mainWindow, saveDialogOptions(req, folder)) : dialog.showSaveDialog(saveDialogOptions(req, folder)))
          : await (mainWindow ? dialog.showOpenDialog(mainWindow, openDialogOptions(req, folder)) : dialog.showOpenDialog(openDialogOptions(req, folder)))
      return pickedPath(answer)
    },
    consolePopout: createConsoleWindowOpener({
      preload: preloadFile,
      load: (win, hash) => (devServerUrl ? win.loadURL(devServerUrl + hash) : win.loadFile(rendererFile, { hash: hash.replace(/^#/, '') })),
    }),
    // a host terminal in its own window: the options and wiring are terminal-window.ts's, only the window is made here
    terminalPopout: createTerminalWindowOpener({
      preload: preloadFile,
      makeWindow: (options) => new BrowserWindow(options),
      load: (win, hash) => (devServerUrl ? win.loadURL(devServerUrl + hash) : win.loadFile(rendererFile, { hash: hash.replace(/^#/, '') })),
      dark: () => nativeTheme.shouldUseDarkColors,
    }),
  })
  // Pages loaded from file:// send the Origin "file://" on WebSocket handshakes.
  runtime.consoles.bridge.allowOrigin(devServerUrl ? new URL(devServerUrl).origin : 'file://')
  door = openIpcDoor({ ipcMain, services: runtime.services, isTrustedUrl, log: logLine })

  // main's own session: it hears settings changes (from any window) to keep menu and theme in step.
  const own = runtime.services.openSession((event, payload) => {
    if (event === 'settings.changed') applySettings(payload as UiSettings)
  })
  const settings = (await own.call('settings.get', {})) as UiSettings
  applySettings(settings)

  function applySettings(s: UiSettings): void {
    nativeTheme.themeSource = s.theme
    const template = buildMenuTemplate({
      appName: app.getName(),
      platform: process.platform,
      settings: s,
      dev: !app.isPackaged,
      actions: {
        command: (name: UiCommandName) => sendToWindow('ui.command', { command: name }),
        run: (commandId: string) => sendToWindow('ui.command', { command: 'command.run', commandId }),
        connectAll: () => void own.call('connections.connectAll', {}).catch(report),
        disconnectAll: () => void own.call('connections.disconnectAll', {}).catch(report),
        updateSettings: (patch) => void own.call('settings.update', patch).catch(report),
        about: () => {
          const text = aboutText(app.getName(), app.getVersion(), process.versions)
          void (mainWindow ? dialog.showMessageBox(mainWindow, { type: 'info', title: `About ${app.getName()}`, message: app.getName(), detail: text }) : dialog.showMessageBox({ type: 'info', message: text }))
        },
        quit: () => app.quit(),
      },
    })
    Menu.setApplicationMenu(Menu.buildFromTemplate(template))
  }

  createWindow(userData)
}

function createWindow(userData: string): void {
  const stateFile = windowStateFile(userData)
  const saved = loadWindowState(stateFile, logLine)
  const bounds = restorableBounds(
    saved,
    screen.getAllDisplays().map((d) => d.workArea),
  )
  const win = new BrowserWindow({
    ...(bounds ?? DEFAULT_SIZE),
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'XenPilot',
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#1e1f22' : '#ffffff',
    webPreferences: secureWebPreferences(preloadFile),
  })
  mainWindow = win
  if (saved?.maximized && bounds) win.maximize()
  win.once('ready-to-show', () => win.show())
  win.on('close', () => {
    const b = win.getNormalBounds()
    // before-quit waits for it (windowStateWritten) so quitting never cuts the write short
    windowStateWritten = saveWindowState(stateFile, { ...b, maximized: win.isMaximized() }).catch((err: unknown) => logLine(`window: ${(err as Error).message}`))
  })
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null
  })
  if (devServerUrl) void win.loadURL(devServerUrl)
  else void win.loadFile(rendererFile)
}

function sendToWindow(event: 'ui.command', payload: { command: UiCommandName; commandId?: string }): void {
  const wc = mainWindow?.webContents
  if (wc && !wc.isDestroyed()) wc.send(IPC_EVENT, event, payload)
}

function report(err: unknown): void {
  const message = typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string' ? (err as { message: string }).message : String(err)
  logLine(`menu action failed: ${message}`)
  if (mainWindow) void dialog.showMessageBox(mainWindow, { type: 'error', message })
}

function fatal(err: unknown): void {
  log.error('XenPilot could not start', err)
  dialog.showErrorBox('XenPilot could not start', err instanceof Error ? err.message : String(err))
  app.exit(1)
}
