/** XAPI's datetime form, 'YYYYMMDDThh:mm:ssZ' (no hyphens, UTC). */
export function xapiDate(d: Date = new Date()): string {
  return d.toISOString().replace(/-/g, '').replace(/\.\d+Z$/, 'Z')
}

/** parse 'YYYYMMDDThh:mm:ssZ' (or an ISO string) to epoch ms; NaN when unparseable */
export function parseXapiDate(s: string): number {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?Z?$/.exec(s)
  if (m) return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
  return Date.parse(s)
}
