/**
 * Electron-side policy without Electron: where the window reopens, which pages may talk to main,
 * which navigations are allowed, and the CSP the app's pages get.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { trustedUrlMatcher } from '../../../main/app/ipc-door'
import { electronCsp, isAllowedNavigation, isPermissionAllowed } from '../../../main/app/security'
import { loadWindowState, restorableBounds, saveWindowState } from '../../../main/app/window-state'

const screen = [{ x: 0, y: 0, width: 1920, height: 1040 }]

describe('window position', () => {
  it('reopens where it was when that is on a display', () => {
    expect(restorableBounds({ x: 100, y: 80, width: 1200, height: 700, maximized: false }, screen)).toEqual({ x: 100, y: 80, width: 1200, height: 700 })
  })

  it('falls back to the default when the monitor it was on is gone', () => {
    expect(restorableBounds({ x: 2500, y: 100, width: 1200, height: 700, maximized: false }, screen)).toBeUndefined()
    expect(restorableBounds({ x: 100, y: -600, width: 1200, height: 600, maximized: false }, screen)).toBeUndefined()
    expect(restorableBounds(undefined, screen)).toBeUndefined()
  })

  it('survives a restart through its file and ignores a damaged one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xenpilot-win-'))
    try {
      const file = join(dir, 'window-state.json')
      await saveWindowState(file, { x: 10, y: 20, width: 1000, height: 700, maximized: true })
      expect(loadWindowState(file)).toEqual({ x: 10, y: 20, width: 1000, height: 700, maximized: true })
      writeFileSync(file, '{"x":"left"}')
      expect(loadWindowState(file)).toBeUndefined()
      writeFileSync(file, 'not json')
      expect(loadWindowState(file)).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('pages allowed to call main', () => {
  const packaged = trustedUrlMatcher({ rendererFile: '/opt/XenPilot/resources/app.asar/out/renderer/index.html' })
  it('accepts exactly the packaged index.html (query and hash ignored)', () => {
    expect(packaged('file:///opt/XenPilot/resources/app.asar/out/renderer/index.html')).toBe(true)
    expect(packaged('file:///opt/XenPilot/resources/app.asar/out/renderer/index.html#/console/x/vm/OpaqueRef:1')).toBe(true)
  })
  it('refuses other files, other hosts and other schemes', () => {
    for (const url of [
      'file:///opt/XenPilot/resources/app.asar/out/renderer/other.html',
      'file:///tmp/index.html',
      'file://evil-host/opt/XenPilot/resources/app.asar/out/renderer/index.html',
      'https://example.org/index.html',
      'http://127.0.0.1:5173/',
      'data:text/html,hi',
      'not a url',
    ]) {
      expect(packaged(url), url).toBe(false)
    }
  })
  it('in development accepts the dev server’s origin only', () => {
    const dev = trustedUrlMatcher({ rendererFile: '/x/out/renderer/index.html', devServerUrl: 'http://localhost:5173/' })
    expect(dev('http://localhost:5173/')).toBe(true)
    expect(dev('http://localhost:5174/')).toBe(false)
    expect(dev('http://127.0.0.1:5173/')).toBe(false)
  })
})

describe('navigation and CSP', () => {
  it('lets only a reload of the same page through', () => {
    const page = 'file:///opt/x/out/renderer/index.html'
    expect(isAllowedNavigation(page, `${page}#/console/a`)).toBe(true)
    expect(isAllowedNavigation(page, 'https://evil.example/')).toBe(false)
    expect(isAllowedNavigation(page, 'file:///etc/passwd')).toBe(false)
    expect(isAllowedNavigation('http://localhost:5173/', 'http://localhost:5173/')).toBe(true)
    expect(isAllowedNavigation('http://localhost:5173/', 'http://localhost:5173/other')).toBe(false)
  })

  it('gives the app’s pages a CSP without inline or remote scripts', () => {
    const csp = electronCsp()
    expect(csp).toContain("script-src 'self';")
    expect(csp).toContain("object-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe-eval')
    expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\*;/)
    expect(electronCsp({ devServerUrl: 'http://localhost:5173/' })).toContain('ws://localhost:5173')
  })
})

describe('permissions', () => {
  const trusted = (u: string): boolean => u.startsWith('file:///app/index.html')
  it('grant the app’s own page clipboard writes (Copy UUID) and fullscreen (consoles), nothing else', () => {
    expect(isPermissionAllowed('clipboard-sanitized-write', 'file:///app/index.html', trusted)).toBe(true)
    expect(isPermissionAllowed('fullscreen', 'file:///app/index.html#/console/x', trusted)).toBe(true)
    for (const p of ['media', 'notifications', 'geolocation', 'clipboard-read', 'openExternal', 'hid', 'serial', 'usb', 'midi']) {
      expect(isPermissionAllowed(p, 'file:///app/index.html', trusted), p).toBe(false)
    }
  })
  it('grant nothing to any other page', () => {
    expect(isPermissionAllowed('clipboard-sanitized-write', 'https://evil.example/', trusted)).toBe(false)
    expect(isPermissionAllowed('fullscreen', '', trusted)).toBe(false)
  })
})
