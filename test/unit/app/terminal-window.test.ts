/**
 * The host terminal's pop-out window in the Electron door (main/app/terminal-window.ts), without Electron: the
 * window gets the main window's hardened web preferences (one definition, security.ts secureWebPreferences), loads
 * the renderer on the terminal's route, refuses window.open and navigation, and is made once per host terminal.
 * The route itself (shared/terminal/route.ts) takes only a saved connection id and an OpaqueRef.
 */
import { describe, expect, it } from 'vitest'
import { createTerminalWindowOpener, terminalWindowOptions, type TerminalWindowLike, type TerminalWindowOptions } from '../../../main/app/terminal-window'
import { secureWebPreferences } from '../../../main/app/security'
import { parseTerminalRoute, terminalPopoutUrl, terminalRouteHash } from '../../../shared/terminal/route'

class FakeWindow implements TerminalWindowLike {
  destroyed = false
  focused = 0
  closed: (() => void)[] = []
  openHandler: ((d: { url: string }) => { action: 'deny' }) | undefined
  navigate: ((e: { preventDefault(): void }) => void)[] = []
  constructor(readonly options: TerminalWindowOptions) {}
  isDestroyed(): boolean {
    return this.destroyed
  }
  focus(): void {
    this.focused++
  }
  on(_event: 'closed', listener: () => void): this {
    this.closed.push(listener)
    return this
  }
  webContents = {
    setWindowOpenHandler: (h: (d: { url: string }) => { action: 'deny' }): void => {
      this.openHandler = h
    },
    on: (_event: 'will-navigate', l: (e: { preventDefault(): void }) => void): unknown => this.navigate.push(l),
  }
  close(): void {
    this.destroyed = true
    for (const c of this.closed) c()
  }
}

const target = { connectionId: 'c-1', hostRef: 'OpaqueRef:abc-123' }

describe('terminal pop-out window (Electron door)', () => {
  it('is as locked down as the main window: isolated, sandboxed, no Node, web security, no webview', () => {
    const o = terminalWindowOptions('/app/preload/preload.cjs', false)
    expect(o.webPreferences).toEqual(secureWebPreferences('/app/preload/preload.cjs'))
    expect(o.webPreferences).toMatchObject({ preload: '/app/preload/preload.cjs', contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false, webSecurity: true, allowRunningInsecureContent: false, webviewTag: false })
    expect(o).toMatchObject({ title: 'Terminal — XenPilot', autoHideMenuBar: true, backgroundColor: '#ffffff' })
    expect(terminalWindowOptions('/p', true).backgroundColor).toBe('#1e1f22')
  })

  it('loads the terminal route, denies window.open and navigation, and makes one window per host terminal', async () => {
    const made: FakeWindow[] = []
    const loaded: string[] = []
    const open = createTerminalWindowOpener<FakeWindow>({
      preload: '/p.cjs',
      makeWindow: (o) => {
        const w = new FakeWindow(o)
        made.push(w)
        return w
      },
      load: async (_w, hash) => {
        loaded.push(hash)
      },
    })
    await open(target)
    expect(loaded).toEqual(['#/terminal/c-1/OpaqueRef%3Aabc-123'])
    const w = made[0]
    if (!w) throw new Error('no window made')
    expect(w.options.webPreferences.preload).toBe('/p.cjs')
    expect(w.openHandler?.({ url: 'https://evil.example/' })).toEqual({ action: 'deny' })
    let prevented = false
    for (const l of w.navigate) l({ preventDefault: () => (prevented = true) })
    expect(prevented).toBe(true)
    // again: the same window, focused
    await open(target)
    expect(made).toHaveLength(1)
    expect(w.focused).toBe(1)
    // another host: its own window; a closed window is made again
    await open({ ...target, hostRef: 'OpaqueRef:other' })
    expect(made).toHaveLength(2)
    w.close()
    await open(target)
    expect(made).toHaveLength(3)
  })
})

describe('terminal route', () => {
  it('round-trips a target; refuses what is not a connection id and an OpaqueRef', () => {
    expect(parseTerminalRoute(terminalRouteHash(target))).toEqual(target)
    expect(parseTerminalRoute('#/terminal/c-1/not-a-ref')).toBeUndefined()
    expect(parseTerminalRoute('#/terminal/c-1/OpaqueRef%3Aa%2F..%2Fb')).toBeUndefined()
    expect(parseTerminalRoute('#/terminal/%E0%A4%A/OpaqueRef:x')).toBeUndefined()
    expect(parseTerminalRoute('#/console/c-1/host/OpaqueRef:x')).toBeUndefined()
    // the pop-out tab keeps the page's query: its access token
    expect(terminalPopoutUrl(target, { pathname: '/', search: '?token=abc' })).toBe('/?token=abc#/terminal/c-1/OpaqueRef%3Aabc-123')
  })
})
