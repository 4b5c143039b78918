/**
 * NICs after an import into another pool whose networks do not match the file's (issue 14: "then
 * remap VIFs to chosen networks (VIF.move)"): XAPI's import makes a network for a NIC whose network
 * it cannot match; XenPilot moves each NIC onto the chosen network and removes the network the
 * import made once nothing uses it. On a pool older than XenServer 7.1 (no VIF.move: here the
 * simulator's tiny-legacy pool run as 'dundee', 7.0) the NIC is made again on the chosen network
 * with the same device and MAC.
 */
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { TransferState } from '../../../shared/contract/transfer'
import { buildFleet } from '../../sim/fleet'
import type { SimPoolHandle } from '../../sim/model'
import { waitFor } from '../pools/helpers'
import { setUpTransfers } from './setup'

const setup = setUpTransfers({
  fleet: () => {
    const fleet = buildFleet('tiny', { addressBase: '127.159', opDurationMs: 0 })
    const legacy = fleet.pools.find((p) => p.name === 'tiny-legacy')
    if (legacy) legacy.xapiRelease = 'dundee'
    return fleet
  },
  pools: ['tiny-current', 'tiny-legacy'],
  dirPrefix: 'xp-vif-remap-',
})
const { h, dir, callContract, ended } = setup
let src: SimPoolHandle
let dst: SimPoolHandle
let srcId = ''
let dstId = ''
beforeAll(() => void ([src, dst, srcId, dstId] = [setup.pool('tiny-current'), setup.pool('tiny-legacy'), setup.id('tiny-current'), setup.id('tiny-legacy')]))

/** a halted VM of the pool with a disk (not dom0, a template or a snapshot) */
function someVm(p: SimPoolHandle): string {
  for (const [ref, r] of p.objects.get('VM') ?? []) if (r.power_state === 'Halted' && r.is_a_snapshot === false && r.is_a_template === false && r.is_control_domain === false && (r.VBDs as string[]).length > 0) return ref
  throw new Error('no halted VM')
}

function defaultSr(p: SimPoolHandle): string {
  return String([...(p.objects.get('pool')?.values() ?? [])][0]?.default_SR)
}

/** a NIC-bearing halted VM of the source pool on a network whose name the destination does not have, exported */
async function exportOddNetworkVm(src: SimPoolHandle, srcId: string, name: string): Promise<{ file: string; macs: string[] }> {
  const vm = String(await h.manager.call(srcId, 'VM.copy', [someVm(src), name, defaultSr(src)]))
  const net = String(await h.manager.call(srcId, 'network.create', [{ name_label: `${name} lab network`, name_description: '', MTU: '1500', other_config: {}, tags: [] }]))
  const vif = String(await h.manager.call(srcId, 'VIF.create', [{ device: '3', network: net, VM: vm, MAC: '', MTU: '1500', other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {}, locking_mode: 'network_default', ipv4_allowed: [], ipv6_allowed: [] }]))
  void vif
  await waitFor('the graph has the VM with its NIC', () => ((h.manager.graph(srcId)?.get('VM', vm)?.VIFs as string[] | undefined)?.length ?? 0) > 0)
  const file = join(dir, `${name}.xva`)
  const t = await ended(await callContract<TransferState>('transfer.exportVm', { connectionId: srcId, ref: vm, path: file }))
  expect(t.status).toBe('done')
  const macs = (src.objects.get('VM')?.get(vm)?.VIFs as string[]).map((v) => String(src.objects.get('VIF')?.get(v)?.MAC))
  return { file, macs }
}

async function importOnto(p: SimPoolHandle, id: string, file: string): Promise<{ vm: string; target: string }> {
  const target = [...(p.objects.get('network') ?? [])].find(([, n]) => (n.PIFs as string[]).length > 0)?.[0] ?? ''
  const info = await callContract<{ vm?: { vifs: { device: string }[] } }>('transfer.inspect', { path: file })
  const networks = Object.fromEntries((info.vm?.vifs ?? []).map((v) => [v.device, target]))
  const t = await ended(await callContract<TransferState>('transfer.importVm', { connectionId: id, path: file, sr: defaultSr(p), networks, start: false }))
  expect(t.message).toBeUndefined()
  expect(t.status).toBe('done')
  return { vm: t.ref ?? '', target }
}

describe('NICs after an import into a pool whose networks differ', () => {
  for (const which of ['into a current pool (VIF.move)', 'into a 7.0 pool (no VIF.move)'] as const) {
    it(`${which}: every NIC on the chosen network with its MAC; the network the import made is gone`, async () => {
      const legacy = which.includes('7.0')
      const [p, id] = legacy ? [dst, dstId] : [src, srcId]
      const { file, macs } = legacy ? await exportOddNetworkVm(src, srcId, 'remap-legacy') : await exportOddNetworkVm(dst, dstId, 'remap-current')
      const before = new Set(p.objects.get('network')?.keys())
      const { vm, target } = await importOnto(p, id, file)
      const vifs = (p.objects.get('VM')?.get(vm)?.VIFs as string[]).map((v) => p.objects.get('VIF')?.get(v))
      expect(vifs.map((v) => v?.network)).toEqual(vifs.map(() => target))
      expect(vifs.map((v) => String(v?.MAC)).sort()).toEqual([...macs].sort())
      expect(vifs.map((v) => String(v?.device)).sort()).toContain('3')
      const after = [...(p.objects.get('network')?.keys() ?? [])].filter((n) => !before.has(n))
      expect(after).toEqual([])
    }, 180_000)
  }
})
