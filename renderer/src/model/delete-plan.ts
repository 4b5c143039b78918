/**
 * What deleting a VM takes with it, for the confirmation: the VM, and — only when "delete disks" is
 * ticked — the disks the one rule (shared/operations/vm-delete.ts, which main's runner uses too)
 * deletes: its Disk VBDs' VDIs that no other VM or snapshot uses. CDs are never deleted; a disk
 * another VM also uses is kept and said so.
 */
import { planVmDisks } from '../../../shared/operations/vm-delete'
import type { PoolObjects } from './objects'

export interface DiskFate {
  vdiRef: string
  name: string
  size: number | undefined
  /** names of the other VMs using it (then it is kept) */
  sharedWith: string[]
  /** deleted when "delete disks" is ticked (the shared rule's answer) */
  deleted: boolean
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
/** a drive's userdevice as a number (a drive without one goes last) */
const position = (v: unknown): number => {
  const n = Number(str(v))
  return str(v) !== '' && Number.isInteger(n) ? n : 1000
}

export function deletePlan(pool: PoolObjects | undefined, vmRef: string, fallbackName: string): DeletePlan {
  const vm = pool?.get('VM', vmRef)
  const plan: DeletePlan = { vmRef, name: str(vm?.name_label) || fallbackName, disks: [], cds: [] }
  if (!pool || !vm) return plan
  // the VM's drives by their own VM field (a window's VM records carry no VBDs list: shared/model/slim.ts), in the guest's order
  const vbds = pool
    .referencing('VBD', 'VM', vmRef)
    .map(([ref, vbd]) => ({ ref, type: str(vbd.type), VDI: str(vbd.VDI), position: position(vbd.userdevice) }))
    .sort((a, b) => a.position - b.position)
  const rule = planVmDisks(vbds, (vdiRef) => {
    const vdi = pool.get('VDI', vdiRef)
    return vdi ? strs(vdi.VBDs) : undefined
  })
  for (const cd of rule.cds) {
    const vdi = pool.get('VDI', cd.vdiRef)
    if (vdi) plan.cds.push(str(vdi.name_label) || 'CD')
  }
  for (const disk of rule.disks) {
    const vdi = pool.get('VDI', disk.vdiRef)
    if (!vdi) continue
    const sharedWith = (disk.otherVbds ?? []).map((r) => str(pool.get('VM', pool.get('VBD', r)?.VM)?.name_label) || 'another VM')
    plan.disks.push({ vdiRef: disk.vdiRef, name: str(vdi.name_label) || disk.vdiRef, size: typeof vdi.virtual_size === 'number' ? vdi.virtual_size : undefined, sharedWith, deleted: disk.deleted })
  }
  return plan
}
