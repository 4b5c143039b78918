/**
 * The page route of a popped-out host terminal (issue 19), shared by the Electron door (main/app/terminal-window.ts
 * loads the renderer with it) and the renderer (renderer/src/main.ts shows only that terminal):
 *   #/terminal/<connectionId>/<host ref>
 * In browser mode the pop-out is a new tab on the same page URL — its query carries the access token, so the tab is
 * as authorised as the app and no more (the web door refuses the page without it).
 */
import { TerminalTarget } from '../contract/terminal'

export function terminalRouteHash(t: TerminalTarget): string {
  return `#/terminal/${encodeURIComponent(t.connectionId)}/${encodeURIComponent(t.hostRef)}`
}

/** the terminal a location hash names, or undefined when it is not a (valid) terminal route */
export function parseTerminalRoute(hash: string): TerminalTarget | undefined {
  const m = /^#\/terminal\/([^/]+)\/([^/]+)$/.exec(hash)
  if (!m || !m[1] || !m[2]) return undefined
  try {
    const r = TerminalTarget.safeParse({ connectionId: decodeURIComponent(m[1]), hostRef: decodeURIComponent(m[2]) })
    return r.success ? r.data : undefined
  } catch {
    return undefined
  }
}

/** the URL of a pop-out tab for this terminal, from the current page's (its path and query — the token — kept) */
export function terminalPopoutUrl(t: TerminalTarget, location: { pathname: string; search: string }): string {
  return `${location.pathname}${location.search}${terminalRouteHash(t)}`
}
