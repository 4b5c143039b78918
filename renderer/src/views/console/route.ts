/**
 * Which console a view shows, and the page route of a popped-out console:
 *   #/console/<connectionId>/vm/<VM ref>      a VM's console
 *   #/console/<connectionId>/host/<host ref>  a host's control domain console
 * The page keeps its query (browser mode's token), so a pop-out tab is as authorised as the app.
 */

export type ConsoleTarget = { connectionId: string; vmRef: string } | { connectionId: string; hostRef: string }

export function consoleKey(t: ConsoleTarget): string {
  return 'vmRef' in t ? `${t.connectionId}|vm|${t.vmRef}` : `${t.connectionId}|host|${t.hostRef}`
}

export function consoleRouteHash(t: ConsoleTarget): string {
  const kind = 'vmRef' in t ? 'vm' : 'host'
  const ref = 'vmRef' in t ? t.vmRef : t.hostRef
  return `#/console/${encodeURIComponent(t.connectionId)}/${kind}/${encodeURIComponent(ref)}`
}

/** the console named by a location hash, or undefined when the hash is not a console route */
export function parseConsoleRoute(hash: string): ConsoleTarget | undefined {
  const m = /^#\/console\/([^/]+)\/(vm|host)\/([^/]+)$/.exec(hash)
  if (!m || !m[1] || !m[2] || !m[3]) return undefined
  let connectionId: string
  let ref: string
  try {
    connectionId = decodeURIComponent(m[1])
    ref = decodeURIComponent(m[3])
  } catch {
    return undefined
  }
  if (!/^OpaqueRef:[A-Za-z0-9-]+$/.test(ref) || connectionId.length === 0) return undefined
  return m[2] === 'vm' ? { connectionId, vmRef: ref } : { connectionId, hostRef: ref }
}

/** the URL of a pop-out tab/window for this console, from the current page's URL */
export function popoutUrl(t: ConsoleTarget, location: { pathname: string; search: string }): string {
  return `${location.pathname}${location.search}${consoleRouteHash(t)}`
}

/** BroadcastChannel messages between a console view and its popped-out window */
export type PopoutMessage = { type: 'opened' | 'closed' | 'dock'; key: string }

export const POPOUT_CHANNEL = 'xenpilot-console-popout'

export function isPopoutMessage(v: unknown): v is PopoutMessage {
  if (typeof v !== 'object' || v === null) return false
  const type = Reflect.get(v, 'type')
  return (type === 'opened' || type === 'closed' || type === 'dock') && typeof Reflect.get(v, 'key') === 'string'
}
