/**
 * The request target of an HTTP request (or WebSocket upgrade) on a loopback door, read without
 * ever throwing. Only origin-form is served ("/path?query"): a target that does not start with
 * exactly one '/' ("//[", "*", "http://…") is refused — `new URL("//[", base)` reads "//[" as an
 * authority and throws, which killed the process before any check when it was called bare.
 * Used by browser mode's server (main/web/server.ts) and the console bridge (main/console/bridge.ts).
 */
export interface RequestTarget {
  pathname: string
  searchParams: URLSearchParams
}

export const MALFORMED_TARGET = 'The request target is not a plain path (“/…”); XenPilot refuses it.'

export function parseRequestTarget(target: string | undefined): RequestTarget | undefined {
  if (target === undefined || target.charCodeAt(0) !== 0x2f || target.charCodeAt(1) === 0x2f || target.charCodeAt(1) === 0x5c) return undefined
  try {
    const u = new URL(`http://127.0.0.1${target}`)
    return { pathname: u.pathname, searchParams: u.searchParams }
  } catch {
    return undefined
  }
}
