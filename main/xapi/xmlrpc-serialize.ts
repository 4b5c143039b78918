/**
 * XML-RPC method calls for XAPI: a small serializer equal to the `xmlrpc` package's for the value
 * kinds XAPI takes. Integers are sent as strings (as Xen Orchestra does: XAPI's int64 params accept
 * decimal strings and <i4> would overflow past 2^31); floats need an explicit XmlRpcDouble (or the
 * type-directed `encodeXmlParams` in ./transport.ts) because 30.0 is an integer to JavaScript but must be
 * <double> for event.from.
 */
export class XmlRpcDouble {
  constructor(public readonly value: number) {}
}

/** a value whose XML-RPC encoding must be <dateTime.iso8601> (XAPI form YYYYMMDDThh:mm:ssZ) */
export class XmlRpcDateTime {
  constructor(public readonly value: string) {}
}

export type XmlRpcParam =
  | string
  | number
  | boolean
  | null
  | undefined
  | XmlRpcDouble
  | XmlRpcDateTime
  | readonly XmlRpcParam[]
  | { readonly [k: string]: XmlRpcParam }

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }
export function escapeXml(s: string): string {
  return /[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c) : s
}

function encodeValue(v: XmlRpcParam, out: string[]): void {
  if (v === null || v === undefined) {
    // XAPI has no nil; an empty string is what it uses for "nothing" (void, empty refs are OpaqueRef:NULL)
    out.push('<value><string></string></value>')
  } else if (typeof v === 'string') {
    out.push('<value><string>', escapeXml(v), '</string></value>')
  } else if (typeof v === 'number') {
    if (Number.isInteger(v)) out.push('<value><string>', String(v), '</string></value>')
    else out.push('<value><double>', formatDouble(v), '</double></value>')
  } else if (typeof v === 'boolean') {
    out.push('<value><boolean>', v ? '1' : '0', '</boolean></value>')
  } else if (v instanceof XmlRpcDouble) {
    out.push('<value><double>', formatDouble(v.value), '</double></value>')
  } else if (v instanceof XmlRpcDateTime) {
    out.push('<value><dateTime.iso8601>', escapeXml(v.value), '</dateTime.iso8601></value>')
  } else if (Array.isArray(v)) {
    out.push('<value><array><data>')
    for (const item of v as readonly XmlRpcParam[]) encodeValue(item, out)
    out.push('</data></array></value>')
  } else {
    out.push('<value><struct>')
    for (const [k, item] of Object.entries(v as { readonly [k: string]: XmlRpcParam })) {
      out.push('<member><name>', escapeXml(k), '</name>')
      encodeValue(item, out)
      out.push('</member>')
    }
    out.push('</struct></value>')
  }
}

function formatDouble(n: number): string {
  if (Number.isNaN(n)) return 'nan'
  if (n === Infinity) return 'inf'
  if (n === -Infinity) return '-inf'
  // always carry a decimal point so no reader mistakes it for an int
  const s = String(n)
  return /[.eE]/.test(s) ? s : `${s}.0`
}

export function serializeMethodCall(method: string, params: readonly XmlRpcParam[]): string {
  const out: string[] = ['<?xml version="1.0"?><methodCall><methodName>', escapeXml(method), '</methodName><params>']
  for (const p of params) {
    out.push('<param>')
    encodeValue(p, out)
    out.push('</param>')
  }
  out.push('</params></methodCall>')
  return out.join('')
}
