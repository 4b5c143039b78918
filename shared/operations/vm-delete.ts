/**
 * The one rule for deleting a VM "with its disks" (issue 12 item 8): the VDIs of its Disk VBDs that
 * no other VM — nor a snapshot or template, which are VMs too — uses. A disk another VM uses is
 * kept; CDs and empty drives are never deleted; a disk whose users are not known is kept.
 *
 * Pure code, used by the renderer's confirmation (renderer/src/model/delete-plan.ts, from the
 * object graph) and by main's runner (main/operations/runner.ts: the VM's drives from main's graph,
 * each disk's users from XAPI just before it deletes), so what the dialog promises is what main does.
 */

export interface VbdFacts {
  ref: string
  /** VBD.type: 'Disk', 'CD', 'Floppy' */
  type: string
  /** VBD.VDI ('OpaqueRef:NULL' or '' when the drive is empty) */
  VDI: string
}

export interface VmDiskFate {
  vbdRef: string
  vdiRef: string
  /** VBDs of other VMs (or snapshots/templates) using this VDI; undefined when not known */
  otherVbds: string[] | undefined
  /** destroyed after the VM when "delete disks" is chosen */
  deleted: boolean
}

export interface VmDiskPlan {
  /** one entry per disk VDI (a VDI attached twice appears once) */
  disks: VmDiskFate[]
  cds: { vbdRef: string; vdiRef: string }[]
  /** the VDIs to destroy after VM.destroy, in VBD order */
  toDelete: string[]
}

const isRef = (r: string): boolean => r !== '' && r !== 'OpaqueRef:NULL'

/**
 * @param vbds the VM's VBDs
 * @param vbdsOfVdi VDI.VBDs of a VDI (every VBD using it, this VM's included); undefined if not known
 */
export function planVmDisks(vbds: readonly VbdFacts[], vbdsOfVdi: (vdiRef: string) => readonly string[] | undefined): VmDiskPlan {
  const own = new Set(vbds.map((v) => v.ref))
  const plan: VmDiskPlan = { disks: [], cds: [], toDelete: [] }
  const seen = new Set<string>()
  for (const vbd of vbds) {
    if (!isRef(vbd.VDI)) continue
    if (vbd.type === 'CD') {
      plan.cds.push({ vbdRef: vbd.ref, vdiRef: vbd.VDI })
      continue
    }
    if (vbd.type !== 'Disk' || seen.has(vbd.VDI)) continue
    seen.add(vbd.VDI)
    const users = vbdsOfVdi(vbd.VDI)
    const otherVbds = users?.filter((r) => !own.has(r))
    const deleted = otherVbds !== undefined && otherVbds.length === 0
    plan.disks.push({ vbdRef: vbd.ref, vdiRef: vbd.VDI, otherVbds, deleted })
    if (deleted) plan.toDelete.push(vbd.VDI)
  }
  return plan
}
