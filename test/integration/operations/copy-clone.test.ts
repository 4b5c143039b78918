/**
 * Copy / clone / templates end to end (issue 14, "Must show: copy/clone/template conversions"):
 * contract arguments → operations module (vm.run) → XAPI on the real HTTPS simulator. A fast clone
 * (VM.clone) keeps its disks on the source's SR as new VDIs; a full copy (VM.copy to a chosen SR)
 * puts every disk there; a copy or clone of a template is a template; a running VM is refused
 * in words (XAPI's refusal: vm.run lets XAPI decide; the menu says it before, canRunVm); a custom
 * template is deleted with its disks, a built-in one is not. The
 * conversions (VM ⇄ template, template from snapshot) are in vm-properties.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methods } from '../../../shared/contract'
import type { OperationResult, operationMethods } from '../../../shared/contract/operations'
import { MemoryHistory, operationsModule } from '../../../main/services/operations'
import type { HandlerArgs, ServiceModule } from '../../../main/services'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { simRecords } from '../../helpers/sim-records'
import { connectTrusted, makeManager, waitFor, type Harness } from '../pools/helpers'

let sim: SimControl
let h: Harness
let pool: SimPoolHandle
let cur = ''
let mod: ServiceModule<keyof typeof operationMethods>

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.93', opDurationMs: 0 }) })
  pool = sim.pool('tiny-current')
  h = makeManager()
  cur = await connectTrusted(h, pool)
  mod = operationsModule({ history: new MemoryHistory() })({ pools: h.manager, broadcast: () => {}, log: () => {} })
}, 120_000)

afterAll(async () => {
  await h?.close()
  await sim?.stop()
})

const { table, rec, find } = simRecords(() => pool)
/** the VDI and SR of each disk (not DVD) of a VM */
const disks = (vm: string) =>
  (rec('VM', vm).VBDs as string[])
    .map((b) => rec('VBD', b))
    .filter((b) => b.type === 'Disk')
    .map((b) => ({ vdi: String(b.VDI), sr: String(rec('VDI', String(b.VDI)).SR) }))

async function vmRun(args: Record<string, unknown>): Promise<OperationResult> {
  const parsed = methods['vm.run'].args.parse({ ...args }) as HandlerArgs<'vm.run'>
  const handler = mod.handlers['vm.run'] as (a: HandlerArgs<'vm.run'>, ctx: never) => Promise<OperationResult[]>
  const [r] = await handler(parsed, undefined as never)
  if (!r) throw new Error('no result')
  return r
}
/** main's graph has the new object (the next rule reads it) */
const inGraph = (ref: string) => waitFor(`${ref} in main’s graph`, () => h.manager.graph(cur)?.get('VM', ref) !== undefined)

describe('copy and clone', () => {
  it('a fast clone keeps each disk on its SR as a new VDI; the source is unchanged', async () => {
    const src = find('VM', (r) => r.name_label === 'build-01' && r.is_a_template !== true)
    const before = disks(src)
    const r = await vmRun({ targets: [{ connectionId: cur, ref: src }], op: 'clone', name: 'build-01 clone' })
    expect(r).toMatchObject({ ok: true })
    const made = String(r.created)
    expect(rec('VM', made)).toMatchObject({ name_label: 'build-01 clone', power_state: 'Halted', is_a_template: false })
    const after = disks(made)
    expect(after.map((d) => d.sr)).toEqual(before.map((d) => d.sr))
    expect(after.some((d) => before.some((b) => b.vdi === d.vdi))).toBe(false)
    expect(disks(src)).toEqual(before)
  })

  it('a full copy puts every disk on the SR chosen', async () => {
    const src = find('VM', (r) => r.name_label === 'legacy-app' && r.is_a_template !== true)
    const local = find('SR', (r) => r.name_label === 'Local storage' && r.type === 'lvm')
    expect(disks(src).every((d) => d.sr !== local)).toBe(true)
    const r = await vmRun({ targets: [{ connectionId: cur, ref: src }], op: 'copy', name: 'legacy-app local', sr: local })
    expect(r).toMatchObject({ ok: true })
    const made = String(r.created)
    expect(disks(made).length).toBe(disks(src).length)
    expect(disks(made).every((d) => d.sr === local)).toBe(true)
  })

  it('a copy or clone of a template is a template (XenCenter’s Copy Template…); a running VM is refused in words and nothing is made', async () => {
    const tpl = find('VM', (r) => r.name_label === 'debian12-golden')
    const c = await vmRun({ targets: [{ connectionId: cur, ref: tpl }], op: 'clone', name: 'debian12-golden 2' })
    expect(rec('VM', String(c.created))).toMatchObject({ is_a_template: true, is_default_template: false })
    const nfs = find('SR', (r) => r.name_label === 'NFS VM storage')
    const p = await vmRun({ targets: [{ connectionId: cur, ref: tpl }], op: 'copy', name: 'debian12-golden 3', sr: nfs })
    expect(rec('VM', String(p.created))).toMatchObject({ is_a_template: true })
    const running = find('VM', (r) => r.name_label === 'web-01' && r.is_a_template !== true)
    const vms = table('VM').size
    const refused = await vmRun({ targets: [{ connectionId: cur, ref: running }], op: 'copy', name: 'web copy', sr: nfs })
    expect(refused.ok).toBe(false)
    // vm.run lets XAPI decide (main/operations/runner.ts): its refusal comes back as a sentence; the menu said it first (canRunVm)
    expect(refused.error).toMatchObject({ code: 'VM_BAD_POWER_STATE', message: "VM 'web-01' is running; this needs it halted." })
    expect(table('VM').size).toBe(vms)
  })

  it('a custom template is deleted with its disks; a built-in one is refused in words', async () => {
    const tpl = find('VM', (r) => r.name_label === 'debian12-golden 2')
    await inGraph(tpl)
    const its = disks(tpl).map((d) => d.vdi)
    expect(await vmRun({ targets: [{ connectionId: cur, ref: tpl }], op: 'destroy', withDisks: true })).toMatchObject({ ok: true })
    expect(table('VM').has(tpl)).toBe(false)
    expect(its.every((v) => !table('VDI').has(v))).toBe(true)
    const builtIn = find('VM', (r) => r.is_default_template === true)
    const r = await vmRun({ targets: [{ connectionId: cur, ref: builtIn }], op: 'destroy' })
    expect(r.ok).toBe(false)
    expect(r.error?.message).toMatch(/default template|built-in/)
    expect(table('VM').has(builtIn)).toBe(true)
  })
})
