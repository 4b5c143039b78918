/**
 * The NUMA service against the real HTTPS simulator (demo fleet) through a real PoolManager: the
 * model built over XAPI alone and with the dom0 plugin for every demo topology and the legacy
 * XenServer 7.2 pool, the controls writing to the simulated hosts, and the advisor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AdviceSchema, NumaHostResult, PoolNumaSummarySchema } from '../../../shared/contract/numa'
import { HostNuma } from '../../../shared/numa/schema'
import { numaModule } from '../../../main/services/numa'
import type { ServiceModule } from '../../../main/services/index'
import type { numaMethods } from '../../../shared/contract/numa'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle, SimRecord } from '../../sim/model'
import { connectTrusted, makeManager, waitFor, type Harness } from '../pools/helpers'

let sim: SimControl
let h: Harness
let numa: ServiceModule<keyof typeof numaMethods>
const conn = new Map<string, string>()

type Handlers = ServiceModule<keyof typeof numaMethods>['handlers']
function handler<K extends keyof Handlers>(name: K): Handlers[K] {
  return numa.handlers[name]
}
const ctx = { emit: () => {}, subscribeObjects: () => {} }

async function hostModel(pool: SimPoolHandle, hostRef: string) {
  const r = await handler('numa.host')({ connectionId: conn.get(pool.name) ?? '', hostRef }, ctx)
  return NumaHostResult.parse(r)
}
function simHost(pool: SimPoolHandle, ref: string): SimRecord {
  const r = pool.objects.get('host')?.get(ref)
  if (!r) throw new Error(`no host ${ref}`)
  return r
}
async function setPluginMode(pool: SimPoolHandle, hostRef: string, mode: 'absent' | 'garbage' | null): Promise<void> {
  await pool.call('host.remove_from_other_config', [hostRef, 'xenpilot-sim-plugin'])
  if (mode) await pool.call('host.add_to_other_config', [hostRef, 'xenpilot-sim-plugin', mode])
}

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('demo', { opDurationMs: 0, addressBase: '127.83' }) })
  h = makeManager()
  for (const p of sim.pools) conn.set(p.name, await connectTrusted(h, p))
  numa = numaModule()({ pools: h.manager, broadcast: () => {}, log: () => {} })
}, 180_000)
afterAll(async () => {
  await h?.close()
  await sim?.stop()
})

describe('NUMA model from the simulator, with the dom0 plugin', () => {
  it('matches every demo host topology exactly (both sibling numberings), labelled plugin', async () => {
    const numberings = new Set<string>()
    for (const pool of sim.pools)
      for (const spec of sim.fleet.pools.find((p) => p.name === pool.name)?.hosts ?? []) {
        const { model } = await hostModel(pool, spec.ref)
        const t = spec.numa
        numberings.add(`${t.siblingNumbering}/${t.nodes}`)
        expect(model.plugin.status).toBe('present')
        expect(model.topology.source).toBe('plugin')
        expect(model.pcpus).toHaveLength(t.sockets * t.coresPerSocket * t.threadsPerCore)
        expect(model.nodes.map((n) => n.memSize.value)).toEqual(t.nodeMemMiB.map((m) => m * 1024 * 1024))
        expect(model.distances).toEqual({ value: t.distances, source: 'plugin' })
        if (t.threadsPerCore === 2) {
          const expectedSibling = t.siblingNumbering === 'adjacent' ? 1 : model.pcpus.length / 2
          expect(model.pcpus[0]?.siblings).toEqual([expectedSibling])
        }
        const resident = [...(pool.objects.get('VM')?.values() ?? [])].filter((v) => v['resident_on'] === spec.ref && (v['power_state'] === 'Running' || v['power_state'] === 'Paused'))
        expect(model.vms.length).toBe(resident.length)
        // every running VM whose memory XAPI reports on one node has its vCPUs soft-pinned there when xenopsd placed it
        for (const vm of model.vms.filter((v) => v.placement === 'single-node' && v.placementSource === 'plugin' && model.nodes.length > 1))
          for (const l of vm.vcpuLive ?? []) {
            expect(l.soft).not.toBe('all')
            if (l.soft !== 'all') expect(l.soft.every((c) => model.pcpus[c]?.node === vm.homeNodes[0])).toBe(true)
          }
      }
    expect(numberings.has('adjacent/2')).toBe(true)
    expect(numberings.has('split/2')).toBe(true)
  })
})

describe('per-pCPU load from the host RRD', () => {
  it('reads cpuN from each host\'s own /rrd_updates and labels it XAPI', async () => {
    const pool = sim.pool('Production')
    // the master: this test pinned only its certificate (members need their own trust)
    const spec = sim.fleet.pools.find((p) => p.name === 'Production')?.hosts.find((h) => h.address === new URL(pool.masterUrl).hostname)
    if (!spec) throw new Error('no master host')
    const { model } = await hostModel(pool, spec.ref)
    expect(model.pcpuLoad, model.pcpuLoad.note).toMatchObject({ source: 'xapi' })
    const loads = model.pcpus.map((p) => p.load)
    expect(loads.every((l) => l !== null && l >= 0 && l <= 1)).toBe(true)
    expect(new Set(loads).size).toBeGreaterThan(1)
  })
})

describe('NUMA model over XAPI alone', () => {
  it('labels everything derived or unknown on a current host, and says how to install the plugin', async () => {
    const pool = sim.pool('Production')
    const hostRef = pool.hosts.length ? (sim.fleet.pools.find((p) => p.name === 'Production')?.hosts[0]?.ref ?? '') : ''
    await setPluginMode(pool, hostRef, 'absent')
    try {
      const { model } = await hostModel(pool, hostRef)
      expect(model.plugin.status).toBe('absent')
      if (model.plugin.status === 'absent') expect(model.plugin.install).toMatch(/\/etc\/xapi\.d\/plugins/)
      expect(model.topology.source).toBe('derived')
      expect(model.nrNodes.source).toBe('xapi')
      expect(model.threadsPerCore.source).toBe('xapi')
      expect(model.distances.source).toBe('unknown')
      expect(model.nodes.every((n) => n.memFree.source !== 'plugin')).toBe(true)
      // XenServer 8 (xapi 26.2) reports VM NUMA state
      expect(model.vms.filter((v) => !v.isControlDomain).some((v) => v.numaNodes.source === 'xapi')).toBe(true)
    } finally {
      await setPluginMode(pool, hostRef, null)
    }
  })

  it('draws every demo host from XAPI alone with the right counts, everything else derived or unknown', async () => {
    for (const pool of sim.pools)
      for (const spec of sim.fleet.pools.find((p) => p.name === pool.name)?.hosts ?? []) {
        await setPluginMode(pool, spec.ref, 'absent')
        try {
          const { model } = await hostModel(pool, spec.ref)
          const t = spec.numa
          expect(model.plugin.status).toBe('absent')
          expect(model.pcpus).toHaveLength(t.sockets * t.coresPerSocket * t.threadsPerCore)
          expect(model.topology.source).toBe('derived')
          // node count: from XAPI where it reports nr_nodes, else assumed one per socket (and said so)
          if (model.nrNodes.source === 'xapi') expect(model.nodes).toHaveLength(t.nodes)
          else expect(model.topology.note).toMatch(/one NUMA node per socket/)
          expect(model.nodes.every((n) => n.memSize.source !== 'plugin' && n.memFree.source !== 'plugin')).toBe(true)
          expect(model.distances.value === null || model.nodes.length === 1).toBe(true)
        } finally {
          await setPluginMode(pool, spec.ref, null)
        }
      }
  })

  it('degrades on the legacy XenServer 7.2 host without a crash or an invented fact', async () => {
    const pool = sim.pool('Legacy')
    const hostRef = sim.fleet.pools.find((p) => p.name === 'Legacy')?.hosts[0]?.ref ?? ''
    await setPluginMode(pool, hostRef, 'absent')
    try {
      const { model } = await hostModel(pool, hostRef)
      expect(HostNuma.parse(model)).toBeTruthy()
      expect(model.cpuCount.source).toBe('xapi')
      expect(model.threadsPerCore).toMatchObject({ value: null, source: 'unknown' })
      expect(model.nrNodes).toMatchObject({ value: null, source: 'unknown' })
      expect(model.policy.source).toBe('unknown')
      expect(model.policySettable).toBe(false)
      expect(model.topology.source).toBe('derived')
      expect(model.vms.every((v) => v.numaNodes.source === 'unknown')).toBe(true)
    } finally {
      await setPluginMode(pool, hostRef, null)
    }
    const withPlugin = await hostModel(pool, hostRef)
    expect(withPlugin.model.topology.source).toBe('plugin')
    expect(withPlugin.model.threadsPerCore.source).toBe('plugin')
  })

  it('falls back with a clear note when the plugin answers garbage', async () => {
    const pool = sim.pool('Lab')
    const hostRef = sim.fleet.pools.find((p) => p.name === 'Lab')?.hosts[0]?.ref ?? ''
    await setPluginMode(pool, hostRef, 'garbage')
    try {
      const { model } = await hostModel(pool, hostRef)
      expect(model.plugin.status).toBe('error')
      expect(model.notes.join(' ')).toMatch(/not JSON.*Falling back/)
      expect(model.topology.source).toBe('derived')
    } finally {
      await setPluginMode(pool, hostRef, null)
    }
  })
})

describe('NUMA controls write to the hosts', () => {
  it('numa.setPolicy changes host.numa_affinity_policy in the simulator', async () => {
    const pool = sim.pool('Production')
    const hostRef = sim.fleet.pools.find((p) => p.name === 'Production')?.hosts[1]?.ref ?? ''
    const before = simHost(pool, hostRef)['numa_affinity_policy']
    const next = before === 'any' ? 'best_effort' : 'any'
    const r = await handler('numa.setPolicy')({ connectionId: conn.get('Production') ?? '', hostRef, policy: next }, ctx)
    expect(r).toMatchObject({ ok: true, ref: hostRef, note: expect.stringMatching(/running VMs keep their placement/) })
    expect(simHost(pool, hostRef)['numa_affinity_policy']).toBe(next)
    await handler('numa.setPolicy')({ connectionId: conn.get('Production') ?? '', hostRef, policy: String(before) as 'any' }, ctx)
  })

  it('the simulator answers host.set_numa_affinity_policy as XAPI does, and running domains keep their placement', async () => {
    const pool = sim.pool('Production')
    const spec = sim.fleet.pools.find((p) => p.name === 'Production')?.hosts.find((x) => x.numa.nodes === 2)
    if (!spec) throw new Error('Production has a 2-node host')
    await expect(pool.call('host.set_numa_affinity_policy', ['OpaqueRef:nope', 'any'])).rejects.toMatchObject({ description: ['HANDLE_INVALID', 'host', 'OpaqueRef:nope'] })
    await expect(pool.call('host.set_numa_affinity_policy', [spec.ref, 'sometimes'])).rejects.toMatchObject({ description: ['FIELD_TYPE_ERROR', 'value'] })
    const before = String(simHost(pool, spec.ref)['numa_affinity_policy'])
    const placed = async (): Promise<string> => {
      const { model } = await hostModel(pool, spec.ref)
      return JSON.stringify(model.vms.filter((v) => !v.isControlDomain).map((v) => [v.name, v.placement, v.homeNodes, v.vcpusOnNode]))
    }
    await pool.call('host.set_numa_affinity_policy', [spec.ref, 'best_effort'])
    const underBestEffort = await placed()
    await pool.call('host.set_numa_affinity_policy', [spec.ref, 'any'])
    expect(await placed()).toBe(underBestEffort)
    await pool.call('host.set_numa_affinity_policy', [spec.ref, before])
  })

  it('numa.setPolicy refuses a legacy host that has no policy, saying which XAPI is needed', async () => {
    const hostRef = sim.fleet.pools.find((p) => p.name === 'Legacy')?.hosts[0]?.ref ?? ''
    await expect(handler('numa.setPolicy')({ connectionId: conn.get('Legacy') ?? '', hostRef, policy: 'any' }, ctx)).rejects.toMatchObject({
      code: 'not-supported',
      message: expect.stringMatching(/XAPI 24\.0/),
    })
  })

  it('numa.setMask refuses an invalid mask with a clear message and stores a valid one canonically', async () => {
    const pool = sim.pool('Production')
    const [vmRef, vm] = [...(pool.objects.get('VM')?.entries() ?? [])].find(([, v]) => v['power_state'] === 'Halted' && v['is_a_template'] === false && v['is_a_snapshot'] === false) ?? []
    if (!vmRef || !vm) throw new Error('the demo fleet has a halted VM in Production')
    const connectionId = conn.get('Production') ?? ''
    await expect(handler('numa.setMask')({ connectionId, vmRef, mask: '1,2; 3,4' }, ctx)).rejects.toMatchObject({
      code: 'invalid-mask',
      message: expect.stringMatching(/does not trim spaces/),
    })
    await expect(handler('numa.setMask')({ connectionId, vmRef, mask: '0,999' }, ctx)).rejects.toMatchObject({ message: expect.stringMatching(/pCPU 999 does not exist/) })
    expect(await handler('numa.setMask')({ connectionId, vmRef, mask: '3,2' }, ctx)).toEqual({ mask: '2,3' })
    expect((pool.objects.get('VM')?.get(vmRef)?.['VCPUs_params'] as Record<string, string>)['mask']).toBe('2,3')
    await waitFor('the mask in the graph', () => {
      const rec = h.manager.graph(connectionId)?.get('VM', vmRef) as { VCPUs_params?: Record<string, string> } | undefined
      return rec?.VCPUs_params?.['mask'] === '2,3' ? true : undefined
    })
    expect(await handler('numa.setMask')({ connectionId, vmRef, mask: null }, ctx)).toEqual({ mask: null })
    expect((pool.objects.get('VM')?.get(vmRef)?.['VCPUs_params'] as Record<string, string>)['mask']).toBeUndefined()
  })
})

describe('advisor and pool summary over the simulator', () => {
  it('ranks every host of the pool for a halted VM with a predicted placement', async () => {
    const pool = sim.pool('Production')
    const [vmRef] = [...(pool.objects.get('VM')?.entries() ?? [])].find(([, v]) => v['power_state'] === 'Halted' && v['is_a_template'] === false && v['is_a_snapshot'] === false) ?? []
    if (!vmRef) throw new Error('no halted VM')
    const advice = AdviceSchema.parse(await handler('numa.advise')({ connectionId: conn.get('Production') ?? '', vmRef }, ctx))
    expect(advice.hosts).toHaveLength(pool.hosts.length)
    for (const a of advice.hosts) expect(['single-node', 'interleaved', 'hard-pinned', 'cannot-start']).toContain(a.prediction)
    const feasible = advice.hosts.filter((a) => a.feasible)
    expect(advice.hosts.slice(0, feasible.length).every((a) => a.feasible)).toBe(true)
  })

  it('ranks the servers of another pool for a VM about to migrate there (destConnectionId), not its own pool’s', async () => {
    const lab = sim.pool('Lab')
    const [vmRef] = [...(lab.objects.get('VM')?.entries() ?? [])].find(([, v]) => v['is_a_template'] === false && v['is_a_snapshot'] === false && v['is_control_domain'] === false) ?? []
    if (!vmRef) throw new Error('no Lab VM')
    const advice = AdviceSchema.parse(await handler('numa.advise')({ connectionId: conn.get('Lab') ?? '', vmRef, destConnectionId: conn.get('Production') ?? '' }, ctx))
    expect(advice.hosts.map((a) => a.hostRef).sort()).toEqual(sim.pool('Production').hosts.map((x) => x.ref).sort())
  })

  it('summarises the pool: hosts, VMs spanning nodes, audit findings', async () => {
    const r = await handler('numa.pool')({ connectionId: conn.get('Production') ?? '' }, ctx)
    const summary = PoolNumaSummarySchema.parse(r.summary)
    expect(summary.hosts).toHaveLength(sim.pool('Production').hosts.length)
    for (const s of summary.spanningVms) expect(['multi-node', 'interleaved', 'hard-pinned']).toContain(s.placement)
  })
})
