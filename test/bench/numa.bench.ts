/**
 * NUMA: what one refresh of the NUMA tab costs in main for the biggest host shape we simulate
 * (2 sockets, 4 nodes, 128 threads, ~600 resident VMs from bench-10k): the simulator's plugin
 * answer (xl text generated and parsed), the model build, the audit, and a pool-wide advice.
 * Baselines are the budgets we hold these to on this 2-core machine (one UI refresh ≪ 100 ms).
 */
import { advise, auditHost, requestFromVm } from '../../shared/numa/advisor'
import { buildHostNuma, type VmInput } from '../../shared/numa/model'
import { buildFleet } from '../sim/fleet'
import { numaPluginCall } from '../sim/numa-plugin'
import type { SimPoolSpec, SimRecord } from '../sim/model'

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? NaN
}
function bench(name: string, unit: string, baseline: number, runs: number, f: () => void): void {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    f()
    times.push(performance.now() - t0)
  }
  const value = Math.round(median(times) * 100) / 100
  console.log(`BENCH ${JSON.stringify({ name, value, unit, baseline, ratio: Math.round((value / baseline) * 100) / 100 })}`)
}

const fleet = buildFleet('bench-10k')
const pool = fleet.pools[0] as SimPoolSpec
const host = pool.hosts.find((h) => h.numa.nodes === 4)
if (!host) throw new Error('bench-10k has a 4-node host')
const vmsOf = (ref: string): VmInput[] =>
  [...(pool.objects.get('VM') ?? new Map<string, SimRecord>()).entries()]
    .filter(([, v]) => v['resident_on'] === ref && v['power_state'] === 'Running')
    .map(([r, vm]) => {
      const m = pool.objects.get('VM_metrics')?.get(String(vm['metrics']))
      return m ? { ref: r, vm, metrics: m } : { ref: r, vm }
    })
const hostRec = pool.objects.get('host')?.get(host.ref) ?? {}
const vms = vmsOf(host.ref)
let answer = ''
bench('numa.plugin-answer.128t', 'ms', 50, 15, () => {
  answer = numaPluginCall('topology', {}, { host, pool })
})
let model = buildHostNuma({ hostRef: host.ref, host: hostRec, vms, plugin: { kind: 'answer', data: answer } })
bench('numa.model-build.128t', 'ms', 30, 15, () => {
  model = buildHostNuma({ hostRef: host.ref, host: hostRec, vms, plugin: { kind: 'answer', data: answer } })
})
const bytes = JSON.stringify(model).length
console.log(`BENCH ${JSON.stringify({ name: 'numa.model-json.128t', value: bytes, unit: 'bytes', baseline: 500_000, ratio: Math.round((bytes / 500_000) * 100) / 100 })}`)
bench('numa.audit.128t', 'ms', 5, 15, () => void auditHost(model))
const models = pool.hosts.map((h) =>
  buildHostNuma({ hostRef: h.ref, host: pool.objects.get('host')?.get(h.ref) ?? {}, vms: vmsOf(h.ref), plugin: { kind: 'answer', data: numaPluginCall('topology', {}, { host: h, pool }) } }),
)
const vm = model.vms.find((v) => !v.isControlDomain)
if (!vm) throw new Error('no VM')
bench(`numa.advise.${models.length}-hosts`, 'ms', 20, 15, () => void advise(models, requestFromVm(vm)))
console.log(`# host ${String(hostRec['name_label'])}: ${model.pcpus.length} pCPUs, ${model.nodes.length} nodes, ${vms.length} VMs, plugin answer ${answer.length} bytes`)
