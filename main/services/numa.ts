/**
 * The NUMA share of the contract (shared/contract/numa.ts). Models are built from the pool's
 * object graph (PoolManagerApi.graph, read in place) plus the dom0 plugin's answer, asked through
 * host.call_plugin(host, 'xenpilot_numa', 'topology', {}) on every request, so the view shows the
 * live vCPU placement. Controls go through XAPI: Host.set_numa_affinity_policy and
 * VM.remove_from/add_to_VCPUs_params('mask').
 *
 *   createServices({ …, modules: [numaModule()] })
 */
import { advise, auditHost, pendingPlacements, poolSummary, type PlacementRequest } from '../../shared/numa/advisor'
import { effectiveHardMasks, parseStoredMask, validateMask } from '../../shared/numa/mask'
import { buildHostNuma, type LooseRecord, type PluginInput, type VmInput } from '../../shared/numa/model'
import type { HostNuma } from '../../shared/numa/schema'
import { PLUGIN_NAME } from '../../shared/numa/xl'
import type { AdviceResult, NumaHostResult, numaMethods } from '../../shared/contract/numa'
import type { PoolGraph, PoolHostAccess, PoolManagerApi } from '../pools/api'
import { fetchHostCpuLoad } from './numa-rrd'
import { ServiceError } from './errors'
import { connectedAction, moduleActions } from './guard'
import type { HistorySink } from '../operations/runner'
import { explainXapiError } from '../../shared/xapi/error-text'
import type { ModuleFactory } from './module'

export interface NumaServiceOptions {
  /** where the policy change is recorded (the one action history); absent → not recorded (tests of the model) */
  history?: HistorySink
  /** TLS to each host (PoolManager), for the per-pCPU load in its RRD; absent → load shown as unknown */
  hostAccess?: PoolHostAccess
  now?: () => Date
}

function graphOf(pools: PoolManagerApi, connectionId: string): PoolGraph {
  const graph = pools.graph(connectionId)
  if (!graph) throw new ServiceError('not-found', `There is no connection ${connectionId}.`)
  return graph
}

/** the objects of `cls` for which `keep` holds (one pass over the class, no copy of it) */
function where(graph: PoolGraph, cls: string, keep: (rec: LooseRecord, ref: string) => boolean): [string, LooseRecord][] {
  const out: [string, LooseRecord][] = []
  for (const [ref, rec] of graph.all(cls)) if (keep(rec, ref)) out.push([ref, rec])
  return out
}

const refOf = (r: LooseRecord | undefined, k: string): string | undefined => {
  const v = r?.[k]
  return typeof v === 'string' && v !== 'OpaqueRef:NULL' ? v : undefined
}

/** A XAPI failure from the pools layer: `{code, params, message}`. */
function xapiCode(e: unknown): { code: string; params: string[]; message: string } {
  if (typeof e === 'object' && e !== null) {
    const r = e as Record<string, unknown>
    const params = Array.isArray(r['params']) ? r['params'].filter((p): p is string => typeof p === 'string') : []
    return { code: typeof r['code'] === 'string' ? r['code'] : 'internal', params, message: typeof r['message'] === 'string' ? r['message'] : String(e) }
  }
  return { code: 'internal', params: [], message: String(e) }
}

async function askPlugin(pools: PoolManagerApi, connectionId: string, hostRef: string): Promise<PluginInput> {
  try {
    const answer = await pools.call(connectionId, 'host.call_plugin', [hostRef, PLUGIN_NAME, 'topology', {}])
    return { kind: 'answer', data: answer }
  } catch (e) {
    const f = xapiCode(e)
    if (f.code === 'XENAPI_MISSING_PLUGIN' || f.code === 'UNKNOWN_XENAPI_PLUGIN_FUNCTION') return { kind: 'absent' }
    // a status is a sentence, never a code: an older XAPI without the call is a legacy host
    const { sentence } = explainXapiError(f.code, f.params)
    if (f.code === 'MESSAGE_METHOD_UNKNOWN') return { kind: 'unsupported', message: sentence }
    return { kind: 'error', message: `host.call_plugin failed: ${sentence}` }
  }
}

export async function hostModel(pools: PoolManagerApi, connectionId: string, hostRef: string, opts: NumaServiceOptions = {}, graph = graphOf(pools, connectionId)): Promise<HostNuma> {
  const host = graph.get('host', hostRef)
  if (!host) throw new ServiceError('not-found', `Host ${hostRef} is not in this pool (it may have been removed).`)
  const metricsRef = refOf(host, 'metrics')
  const vms: VmInput[] = where(graph, 'VM', (vm) => vm['resident_on'] === hostRef && (vm['power_state'] === 'Running' || vm['power_state'] === 'Paused'))
    .map(([ref, vm]) => {
      const m = refOf(vm, 'metrics')
      const metrics = m ? graph.get('VM_metrics', m) : undefined
      return metrics ? { ref, vm, metrics } : { ref, vm }
    })
  const address = typeof host['address'] === 'string' ? host['address'] : ''
  const uuid = typeof host['uuid'] === 'string' ? host['uuid'] : ''
  const [plugin, load] = await Promise.all([
    askPlugin(pools, connectionId, hostRef),
    opts.hostAccess && address
      ? fetchHostCpuLoad(opts.hostAccess, connectionId, address, uuid).then(
          (r) => ({ load: r.load, note: `RRD cpuN, 5 s average at ${new Date(r.at * 1000).toISOString().slice(11, 19)} UTC` }),
          (e: unknown) => ({ load: undefined, note: `per-pCPU load unavailable: ${e instanceof Error ? e.message : String(e)}` }),
        )
      : Promise.resolve({ load: undefined, note: 'per-pCPU load is not read in this configuration' }),
  ])
  const hostMetrics = metricsRef ? graph.get('host_metrics', metricsRef) : undefined
  return buildHostNuma({
    hostRef,
    host,
    ...(hostMetrics ? { hostMetrics } : {}),
    vms,
    plugin,
    ...(load.load ? { pcpuLoad: load.load } : {}),
    pcpuLoadNote: load.note,
    collectedAt: (opts.now?.() ?? new Date()).toISOString(),
  })
}

async function poolModels(pools: PoolManagerApi, connectionId: string, opts: NumaServiceOptions): Promise<HostNuma[]> {
  const graph = graphOf(pools, connectionId)
  const hosts = [...graph.all('host')].sort(([, a], [, b]) => String(a['name_label']).localeCompare(String(b['name_label'])))
  return Promise.all(hosts.map(([ref]) => hostModel(pools, connectionId, ref, opts, graph)))
}

function isHostAccess(v: unknown): v is PoolHostAccess {
  return typeof v === 'object' && v !== null && typeof Reflect.get(v, 'connectHostTls') === 'function'
}

export function numaModule(opts: NumaServiceOptions = {}): ModuleFactory<keyof typeof numaMethods> {
  return (ctx) => {
    const { pools } = ctx
    // The PoolManager implements PoolHostAccess too; use it for RRD unless told otherwise.
    const o: NumaServiceOptions = !opts.hostAccess && isHostAccess(pools) ? { ...opts, hostAccess: pools } : opts
    const actions = moduleActions(ctx, opts.history ?? { append: () => undefined }, (id, ref) => {
      const rec = pools.graph(id)?.get('host', ref)
      return rec ? `Server '${String(rec['name_label'])}'` : undefined
    })
    const guarded = connectedAction(pools, 'its NUMA policy')
    return {
      handlers: {
        'numa.host': async ({ connectionId, hostRef }): Promise<NumaHostResult> => {
          const model = await hostModel(pools, connectionId, hostRef, o)
          return { model, audit: auditHost(model) }
        },
        'numa.pool': async ({ connectionId }) => {
          const hosts = await poolModels(pools, connectionId, o)
          return { hosts, summary: poolSummary(hosts) }
        },
        'numa.advise': async ({ connectionId, vmRef, destConnectionId }): Promise<AdviceResult> => {
          const graph = graphOf(pools, connectionId)
          const vm = graph.get('VM', vmRef)
          if (!vm) throw new ServiceError('not-found', `VM ${vmRef} is not in this pool (it may have been deleted).`)
          if (vm['is_a_template'] === true || vm['is_control_domain'] === true)
            throw new ServiceError('invalid-args', `${String(vm['name_label'])} is ${vm['is_control_domain'] === true ? 'a control domain' : 'a template'}: it is not placed on a host.`)
          // a cross-pool migration is placed on the destination's servers, among the VMs starting there
          const dest = destConnectionId ?? connectionId
          const destGraph = dest === connectionId ? graph : graphOf(pools, dest)
          const hosts = await poolModels(pools, dest, o)
          const num = (k: string): number => (typeof vm[k] === 'number' ? (vm[k] as number) : 0)
          const stored = parseStoredMask(typeof (vm['VCPUs_params'] as LooseRecord | undefined)?.['mask'] === 'string' ? String((vm['VCPUs_params'] as LooseRecord)['mask']) : undefined)
          const base: PlacementRequest = {
            name: String(vm['name_label'] ?? vmRef),
            vmRef,
            memory: num('memory_static_max') + num('memory_overhead'),
            vcpus: num('VCPUs_max'),
            hardMasks: effectiveHardMasks(stored.groups, null, num('VCPUs_max')),
            residentOn: dest === connectionId ? (refOf(vm, 'resident_on') ?? null) : null,
          }
          // VMs being started right now will take memory xenopsd cannot see yet (the parallel-boot race)
          const starting = where(destGraph, 'VM', (v, ref) => ref !== vmRef && v['power_state'] !== 'Running' && v['power_state'] !== 'Paused' && refOf(v, 'scheduled_to_be_resident_on') !== undefined)
            .map(([ref, v]) => {
              const n = (k: string): number => (typeof v[k] === 'number' ? (v[k] as number) : 0)
              const mask = parseStoredMask(typeof (v['VCPUs_params'] as LooseRecord | undefined)?.['mask'] === 'string' ? String((v['VCPUs_params'] as LooseRecord)['mask']) : undefined)
              return { name: String(v['name_label'] ?? ref), vmRef: ref, memory: n('memory_static_max') + n('memory_overhead'), vcpus: n('VCPUs_max'), hardMasks: effectiveHardMasks(mask.groups, null, n('VCPUs_max')), hostRef: refOf(v, 'scheduled_to_be_resident_on') ?? '' }
            })
          const pending = pendingPlacements(hosts, starting)
          const result = advise(hosts, base, { pending, perHost: (h) => ({ ...base, hardMasks: effectiveHardMasks(stored.groups, h.guestMask, base.vcpus) }) })
          return { vmRef, vmName: base.name, memory: base.memory, vcpus: base.vcpus, hosts: result.hosts, warnings: result.warnings }
        },
        'numa.setPolicy': guarded(async ({ connectionId, hostRef, policy }) => {
          const graph = graphOf(pools, connectionId)
          const host = graph.get('host', hostRef)
          if (!host) throw new ServiceError('not-found', `Host ${hostRef} is not in this pool.`)
          const name = String(host['name_label'] ?? hostRef)
          const before = host['numa_affinity_policy']
          if (typeof before !== 'string')
            throw new ServiceError('not-supported', `${name} has no NUMA affinity policy: it needs XAPI 24.0 or later (XCP-ng 8.3, XenServer 8).`)
          const result = await actions.run({
            connectionId,
            cls: 'host',
            ref: hostRef,
            objectName: name,
            title: 'Change NUMA policy',
            params: { from: before, to: policy },
            steps: 1,
            work: async (a) => {
              await a.task('Async.host.set_numa_affinity_policy', [hostRef, policy])
              return { note: `VMs started on ${name} from now on are placed by ${policy}; running VMs keep their placement until they restart or migrate.` }
            },
          })
          if (result.ok) ctx.log(`numa: ${name} numa_affinity_policy ${before} → ${policy}`)
          return result
        }),
        'numa.setMask': async ({ connectionId, vmRef, mask }) => {
          const graph = graphOf(pools, connectionId)
          const vm = graph.get('VM', vmRef)
          if (!vm) throw new ServiceError('not-found', `VM ${vmRef} is not in this pool.`)
          const name = String(vm['name_label'] ?? vmRef)
          let canonical: string | null = null
          if (mask !== null) {
            const resident = refOf(vm, 'resident_on') ?? refOf(vm, 'affinity')
            const hosts = resident ? [graph.get('host', resident)].filter((h): h is LooseRecord => h !== undefined) : [...graph.all('host').values()]
            const counts = hosts.map((h) => Number((h['cpu_info'] as LooseRecord | undefined)?.['cpu_count'])).filter((n) => Number.isInteger(n) && n > 0)
            const pcpuCount = counts.length > 0 ? Math.min(...counts) : undefined
            const scope = resident ? String(hosts[0]?.['name_label'] ?? 'this host') : 'the smallest host of the pool'
            const vcpus = typeof vm['VCPUs_max'] === 'number' ? vm['VCPUs_max'] : undefined
            const v = validateMask(mask, { ...(pcpuCount !== undefined ? { pcpuCount, pcpuScope: scope } : {}), ...(vcpus !== undefined ? { vcpus } : {}) })
            if (!v.ok) throw new ServiceError('invalid-mask', `Mask not saved for ${name}: ${v.error}`)
            canonical = v.canonical
          }
          const params = (vm['VCPUs_params'] as LooseRecord | undefined) ?? {}
          // add_to_ fails with MAP_DUPLICATE_KEY when the key exists, so replace = remove + add
          if (typeof params['mask'] === 'string') await pools.call(connectionId, 'VM.remove_from_VCPUs_params', [vmRef, 'mask'])
          if (canonical !== null) await pools.call(connectionId, 'VM.add_to_VCPUs_params', [vmRef, 'mask', canonical])
          ctx.log(`numa: ${name} VCPUs_params mask → ${canonical ?? '(none)'}`)
          return { mask: canonical }
        },
      },
    }
  }
}
