/**
 * A minimal type-directed XML-RPC encoder, as XAPI writes records (docs/xapi.md §1.2): untyped
 * <value> for strings and ints, <double>, <boolean>, <dateTime.iso8601>, arrays and structs. Used by
 * the tests to measure what a record weighs on the wire without depending on the server's codec.
 */
import { fieldType } from '../../sim/records'
import type { SimRecord, SimValue } from '../../sim/model'

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

function encodeValue(v: SimValue, type: string): string {
  if (type === 'datetime' && typeof v === 'string') return `<value><dateTime.iso8601>${v}</dateTime.iso8601></value>`
  if (type === 'float' && typeof v === 'number') return `<value><double>${v}</double></value>`
  if (typeof v === 'boolean') return `<value><boolean>${v ? 1 : 0}</boolean></value>`
  if (typeof v === 'number') return `<value>${v}</value>`
  if (typeof v === 'string') return `<value>${esc(v)}</value>`
  if (Array.isArray(v)) {
    const elem = type.endsWith(' set') ? type.slice(0, -4) : 'string'
    return `<value><array><data>${v.map((x) => encodeValue(x, elem)).join('')}</data></array></value>`
  }
  const m = /-> (.*)\) map$/.exec(type)
  const valueType = m?.[1] ?? 'string'
  let out = '<value><struct>'
  for (const k of Object.keys(v)) {
    const x = v[k]
    if (x !== undefined) out += `<member><name>${k}</name>${encodeValue(x, valueType)}</member>`
  }
  return `${out}</struct></value>`
}

export function xmlRpcRecordSize(cls: string, rec: SimRecord): number {
  let out = '<value><struct>'
  for (const k of Object.keys(rec)) {
    const x = rec[k]
    if (x !== undefined) out += `<member><name>${k}</name>${encodeValue(x, fieldType(cls, k) ?? 'string')}</member>`
  }
  out += '</struct></value>'
  return Buffer.byteLength(out, 'utf8')
}
