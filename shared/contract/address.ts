/**
 * A server address as the user types it in Add Server / Edit connection: a host name, an IPv4
 * address or an IPv6 address in brackets, each with an optional `:port` (1–65535, default 443).
 * Every refusal is a sentence saying what is wrong. The contract's schema (connections.add/edit),
 * hence the dialogs, and main (PoolManager, parseAddress) use this one check, so `[` or `::::` can
 * never reach a socket (before, `[` dialled 127.0.0.1:443).
 */

export const DEFAULT_XAPI_PORT = 443

export type AddressCheck = { ok: true; host: string; port: number } | { ok: false; reason: string }

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/
const IPV4_SHAPE = /^\d+(\.\d+)*$/

function refuse(reason: string): AddressCheck {
  return { ok: false, reason }
}

/** dotted decimal, four numbers 0–255 without leading zeros: undefined when fine, else why not */
function ipv4Problem(s: string): string | undefined {
  const parts = s.split('.')
  if (parts.length !== 4) return `it has ${parts.length} number${parts.length === 1 ? '' : 's'} instead of 4`
  for (const p of parts) {
    if (p.length > 1 && p.startsWith('0')) return `“${p}” has a leading zero`
    if (Number(p) > 255) return `${p} is more than 255`
  }
  return undefined
}

export function isIPv6(s: string): boolean {
  let rest = s
  let groupsNeeded = 8
  // an IPv4 tail (::ffff:192.0.2.1) counts as two groups
  const lastColon = rest.lastIndexOf(':')
  const tail = rest.slice(lastColon + 1)
  if (tail.includes('.')) {
    if (!IPV4_SHAPE.test(tail) || ipv4Problem(tail) !== undefined) return false
    rest = rest.slice(0, lastColon + 1) + '0'
    groupsNeeded = 7
  }
  const halves = rest.split('::')
  if (halves.length > 2) return false
  const groups = (h: string): string[] | undefined => {
    if (h === '') return []
    const g = h.split(':')
    return g.every((x) => HEX_GROUP.test(x)) ? g : undefined
  }
  if (halves.length === 1) {
    const g = groups(rest)
    return g !== undefined && g.length === groupsNeeded
  }
  const a = groups(halves[0] ?? '')
  const b = groups(halves[1] ?? '')
  return a !== undefined && b !== undefined && a.length + b.length < groupsNeeded
}

function hostNameProblem(h: string): string | undefined {
  if (h.length > 253) return 'is longer than 253 characters'
  const labels = (h.endsWith('.') ? h.slice(0, -1) : h).split('.')
  for (const l of labels) {
    if (l === '') return 'has an empty part between dots'
    if (l.length > 63) return `has a part longer than 63 characters (“${l.slice(0, 12)}…”)`
    if (!/^[A-Za-z0-9_-]+$/.test(l)) return `may contain only letters, digits, “-” and “.” (“${l}” does not)`
    if (l.startsWith('-') || l.endsWith('-')) return `has a part that starts or ends with “-” (“${l}”)`
  }
  return undefined
}

function portOf(text: string, where: string): number | string {
  if (text === '') return `The port is missing after “:” in ${where}; leave out the “:” to use ${DEFAULT_XAPI_PORT}.`
  if (!/^\d+$/.test(text)) return `The port “${text}” in ${where} is not a number; a port is a number from 1 to 65535.`
  const n = Number(text)
  if (n < 1 || n > 65535) return `The port ${text} in ${where} is out of range; a port is a number from 1 to 65535.`
  return n
}

/** checks and splits what the user typed; `host` has no brackets */
export function checkServerAddress(input: string): AddressCheck {
  const a = input.trim()
  if (a === '') return refuse('Server is required.')
  const q = `“${a.length > 60 ? `${a.slice(0, 60)}…` : a}”`
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(a)) return refuse(`Type the server’s address without “${a.slice(0, a.indexOf('://') + 3)}”: a host name or IP address, optionally with :port.`)
  if (/\s/.test(a)) return refuse(`${q} contains a space; a server address is a host name or IP address, optionally with :port.`)
  if (a.includes('/')) return refuse(`${q} contains “/”; type only the host name or IP address, optionally with :port, without a path.`)
  if (a.length > 255) return refuse('The server address is longer than 255 characters.')

  if (a.startsWith('[')) {
    const close = a.indexOf(']')
    if (close < 0) return refuse(`The IPv6 address in ${q} must be closed with “]”, as in [fe80::1] or [fe80::1]:443.`)
    const inner = a.slice(1, close)
    if (inner === '') return refuse(`The IPv6 address between the brackets in ${q} is empty.`)
    if (!isIPv6(inner)) return refuse(`“${inner}” is not a valid IPv6 address.`)
    const after = a.slice(close + 1)
    if (after === '') return { ok: true, host: inner, port: DEFAULT_XAPI_PORT }
    if (!after.startsWith(':')) return refuse(`Only “:port” may come after “]” in ${q}.`)
    const port = portOf(after.slice(1), q)
    return typeof port === 'string' ? refuse(port) : { ok: true, host: inner, port }
  }
  if (a.includes(']')) return refuse(`${q} has a “]” without “[”; write an IPv6 address as [fe80::1].`)

  const colons = a.split(':').length - 1
  if (colons > 1) {
    return refuse(isIPv6(a) ? `Write an IPv6 address in brackets: [${a}], or [${a}]:443 with a port.` : `${q} is not a valid IPv6 address (write one in brackets, as in [fe80::1]:443) nor a host name.`)
  }
  let host = a
  let port = DEFAULT_XAPI_PORT
  if (colons === 1) {
    const i = a.indexOf(':')
    host = a.slice(0, i)
    if (host === '') return refuse(`The host name or IP address is missing before the port in ${q}.`)
    const p = portOf(a.slice(i + 1), q)
    if (typeof p === 'string') return refuse(p)
    port = p
  }
  if (IPV4_SHAPE.test(host)) {
    const why = ipv4Problem(host)
    return why ? refuse(`“${host}” is not a valid IPv4 address: ${why}.`) : { ok: true, host, port }
  }
  const why = hostNameProblem(host)
  if (why) return refuse(`The host name “${host}” ${why}.`)
  return { ok: true, host, port }
}
