/**
 * Issue 12 item 7: the real XenServer 7.2 records (../shared/xapi/samples/ansible-xenserver, captured
 * over XML-RPC: ints as strings, no domain_type) through main's normaliser into the renderer's
 * graph, as a connected pool's records travel, and what the General tab then says.
 */
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { recordNormaliser } from '../../../main/xapi/normalise'
import type { WireValue } from '../../../main/xapi/wire'
import { generalSections, type Section } from '../../../renderer/src/model/details'
import { ObjectGraph } from '../../../renderer/src/model/objects'
import { domainType } from '../../../shared/operations/vm'

// the samples are not copied into the project (their licence): read from ../shared beside the checkout
const SAMPLES = [process.env.XAPI_SAMPLES, fileURLToPath(new URL('../../../../shared/xapi/samples/ansible-xenserver', import.meta.url)), '/work/shared/xapi/samples/ansible-xenserver'].find(
  (d): d is string => typeof d === 'string' && existsSync(`${d}/ansible-test-vm-1-params.json`),
)
const field = (s: Section[] | null, label: string): string | undefined => s?.flatMap((x) => x.fields).find((f) => f.label === label)?.value

function load(n: number): { graph: ObjectGraph; vmRef: string } {
  const data = JSON.parse(readFileSync(`${SAMPLES ?? ''}/ansible-test-vm-${n}-params.json`, 'utf8')) as Record<string, Record<string, WireValue>>
  const upserts: { cls: string; ref: string; record: Record<string, unknown> }[] = []
  for (const [cls, records] of Object.entries(data)) {
    for (const [ref, rec] of Object.entries(records)) upserts.push({ cls, ref, record: recordNormaliser(cls)(structuredClone(rec)) as Record<string, unknown> })
  }
  const graph = new ObjectGraph()
  graph.apply({ connectionId: 'xs72', seq: 0, reset: true, removes: [], upserts })
  const vmRef = Object.keys(data.VM ?? {})[0] ?? ''
  return { graph, vmRef }
}
describe.skipIf(SAMPLES === undefined)('XenServer 7.2 records (no domain_type; skipped when ../shared/xapi/samples is not beside the checkout and XAPI_SAMPLES is not set)', () => {
  it('virtualization mode comes from HVM_boot_policy, as XenCenter does: "BIOS order" → HVM, empty → PV', () => {
    const one = load(1)
    expect(field(generalSections(one.graph.pool('xs72'), 'VM', one.vmRef, undefined, Date.now()), 'Virtualization mode')).toBe('HVM')
    const three = load(3)
    expect(field(generalSections(three.graph.pool('xs72'), 'VM', three.vmRef, undefined, Date.now()), 'Virtualization mode')).toBe('PV')
  })

  it('a Windows guest’s OS name is the part before the first "|" (the rest is its system folder and boot partition)', () => {
    const one = load(1)
    expect(field(generalSections(one.graph.pool('xs72'), 'VM', one.vmRef, undefined, Date.now()), 'Operating system')).toBe('Microsoft Windows Server 2016 Standard')
    const two = load(2)
    expect(field(generalSections(two.graph.pool('xs72'), 'VM', two.vmRef, undefined, Date.now()), 'Operating system')).toBe('CentOS Linux release 7.2.1511 (Core)')
  })
})

describe('domain type (shared/operations/vm.ts)', () => {
  it('domain_type when the server has it (unspecified counts as absent), else HVM_boot_policy', () => {
    expect(domainType({ domain_type: 'pvh', HVM_boot_policy: 'BIOS order' })).toBe('pvh')
    expect(domainType({ domain_type: 'unspecified', HVM_boot_policy: 'BIOS order' })).toBe('hvm')
    expect(domainType({ HVM_boot_policy: 'BIOS order' })).toBe('hvm')
    expect(domainType({ HVM_boot_policy: '' })).toBe('pv')
    expect(domainType({})).toBeUndefined()
  })
})
