/**
 * Safety rule (issue 12 item 8): deleting a VM "with its disks" destroys only the disks no other VM
 * or snapshot uses. End to end: contract → operations module → PoolManager → the HTTPS simulator,
 * where the disks are really shared (VBD.create, as XenCenter's "Attach disk" does).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methods } from '../../../shared/contract'
import type { OperationResult } from '../../../shared/contract/operations'
import { MemoryHistory, operationsModule } from '../../../main/services/operations'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { connectTrusted, makeManager, waitFor, type Harness } from '../pools/helpers'

let sim: SimControl
let h: Harness
let pool: SimPoolHandle
let id = ''
let vmRun: (args: unknown) => Promise<OperationResult[]>

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.93', opDurationMs: 0 }) })
  pool = sim.pool('tiny-current')
  h = makeManager()
  id = await connectTrusted(h, pool)
  const mod = operationsModule({ history: new MemoryHistory() })({ pools: h.manager, broadcast: () => {}, log: () => {} })
  const handler = mod.handlers['vm.run']
  if (!handler) throw new Error('no vm.run')
  vmRun = async (args) => (await handler(methods['vm.run'].args.parse(args), undefined as never)) as OperationResult[]
}, 120_000)

afterAll(async () => {
  await h?.close()
  await sim?.stop()
})

const call = (method: string, params: unknown[]) => h.manager.call(id, method, params)
const str = (v: unknown): string => (typeof v === 'string' ? v : '')

function vmRef(name: string): string {
  for (const [ref, r] of pool.objects.get('VM') ?? []) if (r.name_label === name && r.is_a_snapshot === false) return ref
  throw new Error(`no VM ${name}`)
}
const vdiExists = (ref: string) => pool.objects.get('VDI')?.has(ref) === true

async function newDisk(vm: string, sr: string, name: string, userdevice: string): Promise<string> {
  const vdi = str(await call('VDI.create', [{ name_label: name, name_description: '', SR: sr, virtual_size: 1 << 30, type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] }]))
  await attach(vm, vdi, userdevice)
  return vdi
}
async function attach(vm: string, vdi: string, userdevice: string): Promise<string> {
  return str(await call('VBD.create', [{ VM: vm, VDI: vdi, userdevice, bootable: false, mode: 'RW', type: 'Disk', unpluggable: true, empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }]))
}

describe('delete a VM with its disks (against the simulator)', () => {
  it('deletes the disks only the VM uses and keeps the one another VM uses and the one a snapshot uses', async () => {
    // victim: a fresh copy of a halted VM (its own disk), plus two more disks of its own
    const [copy] = await vmRun({ targets: [{ connectionId: id, ref: vmRef('legacy-app') }], op: 'copy', name: 'victim' })
    const victim = copy?.created ?? ''
    expect(victim).toMatch(/^OpaqueRef:/)
    const vbds = (await call('VM.get_VBDs', [victim])) as string[]
    const own: string[] = []
    for (const vbd of vbds) {
      const rec = (await call('VBD.get_record', [vbd])) as { type: string; VDI: string }
      if (rec.type === 'Disk') own.push(rec.VDI)
    }
    expect(own).toHaveLength(1)
    const sr = str(await call('VDI.get_SR', [own[0]]))
    const sharedWithVm = await newDisk(victim, sr, 'victim data (also on build-01)', '5')
    const sharedWithSnapshot = await newDisk(victim, sr, 'victim logs (also on a snapshot)', '6')
    // another VM uses one disk; a snapshot of another VM uses the other
    const other = vmRef('build-01')
    await attach(other, sharedWithVm, '7')
    const [snap] = await vmRun({ targets: [{ connectionId: id, ref: other }], op: 'snapshot', name: 'build-01 before' })
    expect(snap?.ok).toBe(true)
    await attach(snap?.created ?? '', sharedWithSnapshot, '8')
    // the confirmation lists the drives main's graph holds: delete once it shows all three (as a user would)
    const graph = h.manager.graph(id)
    await waitFor('the graph shows the three disks of the victim', () => graph?.linked('VM', victim, 'VBDs', 'VBD').filter((b) => graph.get('VBD', b)?.type === 'Disk').length === 3)

    const [deleted] = await vmRun({ targets: [{ connectionId: id, ref: victim }], op: 'destroy', withDisks: true })
    expect(deleted?.error).toBeUndefined()
    expect(pool.objects.get('VM')?.has(victim)).toBe(false)
    expect(vdiExists(own[0] ?? '')).toBe(false)
    expect(vdiExists(sharedWithVm)).toBe(true)
    expect(vdiExists(sharedWithSnapshot)).toBe(true)
    // and they are still attached where they were
    expect(((await call('VDI.get_VBDs', [sharedWithVm])) as string[]).length).toBe(1)
    expect(((await call('VDI.get_VBDs', [sharedWithSnapshot])) as string[]).length).toBe(1)
  })

  it('without "delete disks" every disk stays', async () => {
    const [copy] = await vmRun({ targets: [{ connectionId: id, ref: vmRef('legacy-app') }], op: 'copy', name: 'victim 2' })
    const victim = copy?.created ?? ''
    const vdis: string[] = []
    for (const vbd of (await call('VM.get_VBDs', [victim])) as string[]) {
      const rec = (await call('VBD.get_record', [vbd])) as { type: string; VDI: string }
      if (rec.type === 'Disk') vdis.push(rec.VDI)
    }
    const [deleted] = await vmRun({ targets: [{ connectionId: id, ref: victim }], op: 'destroy' })
    expect(deleted?.ok).toBe(true)
    for (const v of vdis) expect(vdiExists(v)).toBe(true)
  })
})
