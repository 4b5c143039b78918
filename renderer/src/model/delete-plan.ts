/**
 * What deleting a VM takes with it, computed exactly as main does (main/operations/runner.ts): the
 * VM, and — only when "delete disks" is ticked — its Disk VBDs' VDIs that no other VM uses. CDs are
 * never deleted; a disk another VM also uses is kept and said so.
 */
import type { PoolObjects } from './objects'

export interface DiskFate {
  vdiRef: string
  name: string
  size: number | undefined
  /** names of the other VMs using it (then it is kept) */
  sharedWith: string[]
}

export interface DeletePlan {
  vmRef: string
  name: string
  disks: DiskFate[]
  /** CD drives: never deleted, listed so nobody wonders */
  cds: string[]
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])

export function deletePlan(pool: PoolObjects | undefined, vmRef: string, fallbackName: string): DeletePlan {
  const vm = pool?.get('VM', vmRef)
  const plan: DeletePlan = { vmRef, name: str(vm?.name_label) || fallbackName, disks: [], cds: [] }
  if (!pool || !vm) return plan
  for (const vbdRef of strs(vm.VBDs)) {
    const vbd = pool.get('VBD', vbdRef)
    if (!vbd) continue
    const vdiRef = str(vbd.VDI)
    const vdi = vdiRef ? pool.get('VDI', vdiRef) : undefined
    if (vbd.type === 'CD') {
      if (vdi) plan.cds.push(str(vdi.name_label) || 'CD')
      continue
    }
    if (!vdi) continue
    const others = strs(vdi.VBDs)
      .filter((r) => r !== vbdRef)
      .map((r) => str(pool.get('VM', pool.get('VBD', r)?.VM)?.name_label) || 'another VM')
    plan.disks.push({ vdiRef, name: str(vdi.name_label) || vdiRef, size: typeof vdi.virtual_size === 'number' ? vdi.virtual_size : undefined, sharedWith: others })
  }
  return plan
}
