/**
 * The Electron bootstrap (main/app/main.ts) run against a fake `electron` module — the binary
 * cannot run here (the release workflow's smoke test covers the real one). What a reviewer of an
 * Electron app checks: one instance, sandboxed isolated window without Node, CSP on responses,
 * navigation/window.open/permissions refused, the IPC door answering only the app's own page,
 * the menu, and the window position remembered.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

type Listener = (...args: unknown[]) => unknown

const fake = vi.hoisted(() => {
  const appListeners = new Map<string, ((...a: unknown[]) => unknown)[]>()
  const state = {
    userData: '',
    paths: new Map<string, string>(),
    singleInstanceRequested: false,
    sandboxEnabled: false,
    quitCalls: 0,
    windows: [] as { options: Record<string, unknown>; loaded: string[]; listeners: Map<string, ((...a: unknown[]) => unknown)[]>; maximized: boolean }[],
    menuTemplate: undefined as unknown,
    ipcHandlers: new Map<string, (...a: unknown[]) => unknown>(),
    permissionRequest: undefined as undefined | ((...a: unknown[]) => unknown),
    permissionCheck: undefined as undefined | ((...a: unknown[]) => unknown),
    headersReceived: undefined as undefined | ((...a: unknown[]) => unknown),
    themeSource: 'system',
    ready: undefined as undefined | (() => void),
    appListeners,
  }
  return state
})

vi.mock('electron-log/main', () => ({
  default: { transports: { file: {} }, info: () => undefined, error: () => undefined, errorHandler: { startCatching: () => undefined } },
}))

vi.mock('electron', () => {
  const on = (event: string, cb: (...a: unknown[]) => unknown): void => {
    const list = fake.appListeners.get(event) ?? []
    list.push(cb)
    fake.appListeners.set(event, list)
  }
  class BrowserWindow {
    private readonly rec: (typeof fake.windows)[number]
    readonly webContents = { send: () => undefined, isDestroyed: () => false }
    constructor(options: Record<string, unknown>) {
      this.rec = { options, loaded: [], listeners: new Map(), maximized: false }
      fake.windows.push(this.rec)
    }
    static getAllWindows(): unknown[] {
      return []
    }
    on(event: string, cb: (...a: unknown[]) => unknown): this {
      const l = this.rec.listeners.get(event) ?? []
      l.push(cb)
      this.rec.listeners.set(event, l)
      return this
    }
    once(event: string, cb: (...a: unknown[]) => unknown): this {
      return this.on(event, cb)
    }
    async loadFile(f: string): Promise<void> {
      this.rec.loaded.push(`file:${f}`)
    }
    async loadURL(u: string): Promise<void> {
      this.rec.loaded.push(u)
    }
    getNormalBounds() {
      return { x: 40, y: 30, width: 1100, height: 700 }
    }
    isMaximized(): boolean {
      return false
    }
    maximize(): void {
      this.rec.maximized = true
    }
    show(): void {}
    isMinimized(): boolean {
      return false
    }
    restore(): void {}
    focus(): void {}
  }
  const app = {
    isPackaged: true,
    getPath: (name: string) => fake.paths.get(name) ?? fake.userData,
    setPath: (name: string, p: string) => void fake.paths.set(name, p),
    getVersion: () => '0.1.0',
    getName: () => 'XenPilot',
    requestSingleInstanceLock: () => ((fake.singleInstanceRequested = true), true),
    enableSandbox: () => void (fake.sandboxEnabled = true),
    on,
    whenReady: () => new Promise<void>((resolve) => (fake.ready = resolve)),
    quit: () => void fake.quitCalls++,
    exit: () => undefined,
  }
  return {
    app,
    BrowserWindow,
    dialog: { showMessageBox: async () => ({ response: 0 }), showErrorBox: () => undefined },
    ipcMain: {
      handle: (ch: string, fn: (...a: unknown[]) => unknown) => void fake.ipcHandlers.set(ch, fn),
      removeHandler: (ch: string) => void fake.ipcHandlers.delete(ch),
    },
    Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: (m: unknown) => void (fake.menuTemplate = m) },
    nativeTheme: {
      get themeSource() {
        return fake.themeSource
      },
      set themeSource(v: string) {
        fake.themeSource = v
      },
      shouldUseDarkColors: false,
    },
    safeStorage: {
      isAsyncEncryptionAvailable: async () => true,
      encryptStringAsync: async (s: string) => Buffer.from(`enc:${s}`),
      decryptStringAsync: async (b: Buffer) => ({ result: b.toString().slice(4), shouldReEncrypt: false }),
      getSelectedStorageBackend: () => 'gnome_libsecret',
    },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (fn: (...a: unknown[]) => unknown) => void (fake.permissionRequest = fn),
        setPermissionCheckHandler: (fn: (...a: unknown[]) => unknown) => void (fake.permissionCheck = fn),
        webRequest: { onHeadersReceived: (fn: (...a: unknown[]) => unknown) => void (fake.headersReceived = fn) },
      },
    },
  }
})

function appListener(event: string): Listener {
  const l = fake.appListeners.get(event)?.[0]
  if (!l) throw new Error(`main.ts registered no app '${event}' listener`)
  return l
}

const rendererPage = (): string => {
  const w = fake.windows[0]
  const loaded = w?.loaded[0] ?? ''
  return `file://${loaded.replace(/^file:/, '')}`
}

describe('the Electron bootstrap (fake electron)', () => {
  const userData = mkdtempSync(join(tmpdir(), 'xenpilot-electron-main-'))
  beforeAll(async () => {
    fake.userData = join(userData, 'ignored-default')
    process.env['XENPILOT_USER_DATA'] = userData
    await import('../../../main/app/main')
    fake.ready?.()
    await vi.waitFor(() => expect(fake.windows).toHaveLength(1), { timeout: 30_000 })
  })
  afterAll(async () => {
    delete process.env['XENPILOT_USER_DATA']
    // quitting logs out of the pools and closes the runtime before the process goes
    appListener('before-quit')({ preventDefault: () => undefined })
    await vi.waitFor(() => expect(fake.quitCalls).toBeGreaterThan(0), { timeout: 30_000 })
    rmSync(userData, { recursive: true, force: true })
  })

  it('takes the single-instance lock, enables the sandbox everywhere and uses the data folder it was given', () => {
    expect(fake.singleInstanceRequested).toBe(true)
    expect(fake.sandboxEnabled).toBe(true)
    expect(fake.paths.get('userData')).toBe(userData)
  })

  it('opens one sandboxed, context-isolated window without Node, on the packaged renderer and preload', () => {
    const prefs = fake.windows[0]?.options['webPreferences'] as Record<string, unknown>
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false })
    expect(String(prefs['preload'])).toMatch(/out\/preload\/preload\.cjs$|preload\/preload\.cjs$/)
    expect(fake.windows[0]?.loaded[0]).toMatch(/renderer\/index\.html$/)
  })

  it('adds the CSP header to every response', () => {
    let headers: Record<string, string[]> = {}
    fake.headersReceived?.({ responseHeaders: { 'content-type': ['text/html'] } }, (r: { responseHeaders: Record<string, string[]> }) => (headers = r.responseHeaders))
    expect(headers['Content-Security-Policy']?.[0]).toContain("script-src 'self'")
    expect(headers['content-type']).toEqual(['text/html'])
  })

  it('refuses navigation, new windows and webviews in every web contents', () => {
    const handlers = new Map<string, Listener>()
    let openHandler: ((d: { url: string }) => { action: string }) | undefined
    const contents = {
      getURL: () => rendererPage(),
      on: (event: string, cb: Listener) => void handlers.set(event, cb),
      setWindowOpenHandler: (fn: (d: { url: string }) => { action: string }) => void (openHandler = fn),
    }
    appListener('web-contents-created')({}, contents)
    let prevented = 0
    const ev = { preventDefault: () => void prevented++ }
    handlers.get('will-navigate')?.(ev, 'https://evil.example/')
    handlers.get('will-attach-webview')?.(ev)
    expect(prevented).toBe(2)
    handlers.get('will-navigate')?.(ev, `${rendererPage()}#/console/x`)
    expect(prevented).toBe(2)
    expect(openHandler?.({ url: 'https://example.org' })).toEqual({ action: 'deny' })
  })

  it('denies permissions except clipboard writes and fullscreen for its own page', () => {
    const answer = (permission: string, url: string): boolean => {
      let granted: boolean | undefined
      fake.permissionRequest?.({ getURL: () => url }, permission, (g: boolean) => (granted = g), { requestingUrl: url })
      return granted === true
    }
    expect(answer('media', rendererPage())).toBe(false)
    expect(answer('notifications', rendererPage())).toBe(false)
    expect(answer('clipboard-sanitized-write', rendererPage())).toBe(true)
    expect(answer('clipboard-sanitized-write', 'https://evil.example/')).toBe(false)
    expect(fake.permissionCheck?.(null, 'geolocation', 'file:///', {})).toBe(false)
  })

  it('answers the contract over IPC for its own page only', async () => {
    const handler = fake.ipcHandlers.get('xenpilot:call')
    if (!handler) throw new Error('no IPC handler')
    const sender = { id: 1, send: () => undefined, isDestroyed: () => false, once: () => undefined }
    const ok = await handler({ sender, senderFrame: { url: rendererPage() } }, 'app.info', {})
    expect(ok).toMatchObject({ ok: true, result: { name: 'XenPilot', mode: 'electron', version: '0.1.0' } })
    const refused = await handler({ sender, senderFrame: { url: 'https://evil.example/' } }, 'app.info', {})
    expect(refused).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    const keychain = await handler({ sender, senderFrame: { url: rendererPage() } }, 'keychain.state', {})
    expect(keychain).toMatchObject({ ok: true, result: { backend: 'os-keychain', status: 'ready' } })
  })

  it('builds the native menu and follows settings changes (theme, checkmarks)', async () => {
    expect(JSON.stringify(fake.menuTemplate)).toContain('Add Server…')
    const handler = fake.ipcHandlers.get('xenpilot:call')
    const sender = { id: 2, send: () => undefined, isDestroyed: () => false, once: () => undefined }
    await handler?.({ sender, senderFrame: { url: rendererPage() } }, 'settings.update', { theme: 'dark', treeMode: 'tags' })
    expect(fake.themeSource).toBe('dark')
    const flat = JSON.stringify(fake.menuTemplate)
    expect(flat).toMatch(/"id":"view\.treeMode\.tags","label":"Tags","type":"radio","checked":true/)
  })

  it('remembers the window position when it closes', async () => {
    for (const cb of fake.windows[0]?.listeners.get('close') ?? []) cb()
    const file = join(userData, 'window-state.json')
    for (let i = 0; i < 200 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 10))
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    expect(saved).toEqual({ version: 1, x: 40, y: 30, width: 1100, height: 700, maximized: false })
  })
})
