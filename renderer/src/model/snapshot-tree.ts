/**
 * A VM's snapshot tree, as XenCenter draws it: each snapshot under the snapshot it was taken from,
 * and "Now" (the VM itself) under the snapshot it was last taken or reverted from. XAPI's
 * `VM.parent` says that when it is set; when it is not (older servers, some tools), the snapshots
 * form a chain by `snapshot_time`, each under the previous one. Siblings are ordered oldest first,
 * so the newest is at the bottom, under its parent.
 */
export interface SnapshotNode {
  ref: string
  name: string
  /** epoch ms (NaN when unknown) */
  time: number
  /** taken with memory (checkpoint): the VM resumes running when reverted */
  withMemory: boolean
  /** the "Now" node: the VM itself */
  isNow: boolean
  children: SnapshotNode[]
}

type Rec = Record<string, unknown>
const str = (v: unknown): string => (typeof v === 'string' ? v : '')

function time(v: unknown): number {
  const s = str(v)
  const t = Date.parse(s)
  if (!Number.isNaN(t)) return t
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(s)
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : NaN
}

const byTime = (a: SnapshotNode, b: SnapshotNode): number => (a.time || 0) - (b.time || 0) || (a.ref < b.ref ? -1 : 1)

/**
 * @param vmRef the VM
 * @param vm its record
 * @param snapshots its snapshots' records by ref (the graph's snapshotOf index)
 * @returns the roots (usually one: the oldest snapshot, or "Now" when there are none)
 */
export function buildSnapshotTree(vmRef: string, vm: Rec, snapshots: ReadonlyMap<string, Rec>): SnapshotNode[] {
  const nodes = new Map<string, SnapshotNode>()
  for (const [ref, rec] of snapshots) {
    nodes.set(ref, {
      ref,
      name: str(rec.name_label) || ref,
      time: time(rec.snapshot_time),
      withMemory: rec.power_state === 'Suspended' || (typeof rec.suspend_VDI === 'string' && rec.suspend_VDI.startsWith('OpaqueRef:') && rec.suspend_VDI !== 'OpaqueRef:NULL'),
      isNow: false,
      children: [],
    })
  }
  const now: SnapshotNode = { ref: vmRef, name: 'Now', time: Infinity, withMemory: false, isNow: true, children: [] }
  const chron = [...nodes.values()].sort(byTime)
  const parentOf = (ref: string, rec: Rec): SnapshotNode | undefined => {
    const p = str(rec.parent)
    if (p && p !== ref && nodes.has(p)) return nodes.get(p)
    return undefined
  }
  const roots: SnapshotNode[] = []
  chron.forEach((node, i) => {
    const rec = snapshots.get(node.ref) ?? {}
    const explicit = parentOf(node.ref, rec)
    // no parent recorded: the previous snapshot in time (a linear history)
    const parent = explicit ?? (str(rec.parent) ? undefined : chron[i - 1])
    if (parent && !isAncestor(node, parent)) parent.children.push(node)
    else roots.push(node)
  })
  const nowParent = parentOf(vmRef, vm) ?? (str(vm.parent) && nodes.has(str(vm.parent)) ? undefined : chron.at(-1))
  if (nowParent) nowParent.children.push(now)
  else roots.push(now)
  const sort = (list: SnapshotNode[]): void => {
    list.sort(byTime)
    for (const n of list) sort(n.children)
  }
  sort(roots)
  return roots
}

/** guards against a parent loop in bad data */
function isAncestor(node: SnapshotNode, candidate: SnapshotNode): boolean {
  const stack = [...node.children]
  while (stack.length) {
    const n = stack.pop()
    if (!n) break
    if (n === candidate) return true
    stack.push(...n.children)
  }
  return false
}

/** depth-first rows for a list view with indentation */
export function flattenSnapshotTree(roots: readonly SnapshotNode[]): { node: SnapshotNode; depth: number }[] {
  const out: { node: SnapshotNode; depth: number }[] = []
  const walk = (list: readonly SnapshotNode[], depth: number): void => {
    for (const n of list) {
      out.push({ node: n, depth })
      walk(n.children, depth + 1)
    }
  }
  walk(roots, 0)
  return out
}
