/** Formatting for people: sizes in binary units, durations, dates. */

export function bytes(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return '—'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  const digits = v >= 100 || u === 0 ? 0 : v >= 10 ? 1 : 2
  return `${v.toFixed(digits)} ${units[u]}`
}

export function percent(part: number, whole: number): string {
  if (!(whole > 0)) return '—'
  return `${Math.round((part / whole) * 100)}%`
}

/** '3 days 4 h 12 min' */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  const min = Math.floor(ms / 60000)
  const days = Math.floor(min / 1440)
  const hours = Math.floor((min % 1440) / 60)
  const mins = min % 60
  const parts: string[] = []
  if (days) parts.push(`${days} day${days === 1 ? '' : 's'}`)
  if (hours || days) parts.push(`${hours} h`)
  parts.push(`${mins} min`)
  return parts.join(' ')
}

/** ISO or XAPI datetime → epoch ms (NaN when absent or the XAPI epoch placeholder) */
export function parseTime(v: unknown): number {
  if (typeof v !== 'string' || !v) return NaN
  let t = Date.parse(v)
  if (Number.isNaN(t)) {
    // XAPI wire form 20240101T10:00:00Z
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(v)
    if (m) t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
  }
  // 1970-01-01 is XAPI's "never"
  return t > 86_400_000 ? t : NaN
}

export function dateTime(v: unknown): string {
  const t = parseTime(v)
  if (Number.isNaN(t)) return '—'
  return new Date(t).toLocaleString()
}

/** '1 pool', '2 pools', '1 VM running' — `plural` defaults to word + 's' */
export function count(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`
}
/** the word alone, for a number shown apart (cards): 'pool' / 'pools' */
export function noun(n: number, word: string, plural = `${word}s`): string {
  return n === 1 ? word : plural
}
