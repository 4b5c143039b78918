/**
 * A selectable grid's keys (role="grid": the disks, a VM's NICs, a host's NICs, bonds and VLANs): the row
 * ArrowDown/ArrowUp/Home/End move to from row `i` (-1: none chosen yet), or undefined for any other key.
 */
export function rowAfterKey<T>(rows: readonly T[], i: number, key: string): T | undefined {
  if (key === 'ArrowDown') return rows[Math.min(rows.length - 1, i + 1)]
  if (key === 'ArrowUp') return rows[Math.max(0, i - 1)]
  if (key === 'Home') return rows[0]
  if (key === 'End') return rows[rows.length - 1]
  return undefined
}
