/**
 * Electron-side security policy as plain data and predicates (applied by main.ts, tested without
 * Electron): the renderer's CSP, which navigations are allowed (none), and which permissions (none).
 */

/**
 * The web preferences of every window of the app (the main window, a popped-out terminal): the page is isolated
 * from the preload (contextIsolation), sandboxed, without Node, with web security on, no insecure content, no
 * <webview>. One definition, so a second window cannot be made weaker by accident.
 */
export function secureWebPreferences(preload: string) {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    spellcheck: false,
  } as const
}
export type SecureWebPreferences = ReturnType<typeof secureWebPreferences>

/** The CSP Electron adds to every response of the app's own pages. */
export function electronCsp(opts: { devServerUrl?: string } = {}): string {
  // Consoles stream through a bridge on a loopback port chosen at run time (main/console).
  const connect = ["'self'", 'ws://127.0.0.1:*']
  if (opts.devServerUrl) {
    const u = new URL(opts.devServerUrl)
    connect.push(`ws://${u.host}`)
  }
  return [
    "default-src 'self'",
    "script-src 'self'",
    `connect-src ${connect.join(' ')}`,
    "img-src 'self' data: blob:",
    "style-src 'self' 'unsafe-inline'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ')
}

/**
 * The window never navigates: the renderer is a single page. A reload of the same page (dev
 * server HMR, or Ctrl+R) is the only navigation let through.
 */
export function isAllowedNavigation(currentUrl: string, targetUrl: string): boolean {
  try {
    const cur = new URL(currentUrl)
    const next = new URL(targetUrl)
    return cur.protocol === next.protocol && cur.host === next.host && cur.pathname === next.pathname
  } catch {
    return false
  }
}

/**
 * Permissions a page may get: none, except writing to the clipboard (Copy UUID) and going
 * fullscreen (consoles) — and only for the app's own pages. Camera, microphone, notifications,
 * geolocation, USB, HID, serial, MIDI… are refused.
 */
const GRANTABLE = new Set(['clipboard-sanitized-write', 'fullscreen'])

export function isPermissionAllowed(permission: string, requestingUrl: string, isTrustedUrl: (url: string) => boolean): boolean {
  return GRANTABLE.has(permission) && isTrustedUrl(requestingUrl)
}
