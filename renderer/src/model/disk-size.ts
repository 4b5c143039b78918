/** Disk sizes as people type them: GiB, decimals allowed, stored in bytes rounded to whole MiB. */
const MiB = 1024 ** 2
export const GiB = 1024 ** 3

/** bytes of a GiB figure typed by the user, NaN when it is not a number */
export function gibToBytes(text: string | number): number {
  const n = typeof text === 'number' ? text : Number(String(text).trim().replace(',', '.'))
  if (!Number.isFinite(n) || String(text).trim() === '') return NaN
  return Math.round((n * GiB) / MiB) * MiB
}

/** a GiB figure for an input: 10, 12.5 */
export function bytesToGib(n: number): string {
  return String(Math.round((n / GiB) * 100) / 100)
}
