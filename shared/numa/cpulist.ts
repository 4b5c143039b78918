/**
 * CPU lists as `xl` prints them (tools/xl/xl_utils.c print_bitmap): comma-separated ids and
 * ranges (`0-15,32`), `all` when every CPU 0..n-1 is set, `none` when no CPU is.
 */

/** Expands an xl CPU list. `nrCpus` (max_cpu_id + 1) gives `all` its meaning. Throws on garbage. */
export function parseCpuList(text: string, nrCpus: number): number[] {
  const t = text.trim()
  if (t === 'all') return Array.from({ length: nrCpus }, (_, i) => i)
  if (t === 'none') return []
  const out = new Set<number>()
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (!m || m[1] === undefined) throw new Error(`not an xl CPU list: "${text}" (bad element "${part}")`)
    const a = Number(m[1])
    const b = m[2] === undefined ? a : Number(m[2])
    if (b < a) throw new Error(`not an xl CPU list: "${text}" (descending range "${part}")`)
    for (let i = a; i <= b; i++) out.add(i)
  }
  return [...out].sort((x, y) => x - y)
}

/** Formats like xl's print_bitmap: `all`, `none`, or ranges. */
export function formatCpuList(cpus: readonly number[], nrCpus: number): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b)
  if (sorted.length === 0) return 'none'
  if (sorted.length === nrCpus && sorted[0] === 0 && sorted[sorted.length - 1] === nrCpus - 1) return 'all'
  return compactRanges(sorted)
}

/** `[0,1,2,3,8]` → `0-3,8` (for people; XAPI masks never use ranges). */
export function compactRanges(sortedUnique: readonly number[]): string {
  const parts: string[] = []
  let i = 0
  while (i < sortedUnique.length) {
    const start = sortedUnique[i] as number
    let end = start
    while (i + 1 < sortedUnique.length && sortedUnique[i + 1] === end + 1) {
      end++
      i++
    }
    parts.push(end > start ? `${start}-${end}` : `${start}`)
    i++
  }
  return parts.join(',')
}
