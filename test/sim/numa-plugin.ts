/**
 * The XenPilot dom0 plugin (build/xenpilot_numa) as a simulated host runs it. The host's
 * SimNumaTopology and the pool's live VMs become the TEXT `xl info -n` and `xl vcpu-list` would
 * print on that host (printf formats of tools/xl), which is then parsed by the same parsers the
 * real plugin is held to (shared/numa/xl.ts, twin of the Python module, same fixtures). So the
 * simulator answers with what the plugin would return on that host, not with a shortcut.
 *
 * Where xenopsd would have placed a VM: VM_metrics.numa_node_memory when the emulated XAPI has
 * it; otherwise xenopsd's best_effort algorithm (shared/numa/advisor planPlacement) replayed in
 * domid order against the node free memory, as xenopsd did at each boot.
 *
 * A test can make the plugin absent on a host with host.other_config["xenpilot-sim-plugin"]="absent"
 * (XENAPI_MISSING_PLUGIN, as XAPI answers), or broken with "garbage" (invalid JSON).
 */
import { planPlacement } from '../../shared/numa/advisor'
import { effectiveHardMasks, parseHostGuestMask, parseStoredMask } from '../../shared/numa/mask'
import { formatCpuList } from '../../shared/numa/cpulist'
import { buildPluginTopology, PLUGIN_NAME, PLUGIN_VERSION } from '../../shared/numa/xl'
import { cpuLocation } from './fleet/hardware'
import { SimXapiError, type SimHostSpec, type SimNumaTopology, type SimPoolSpec, type SimRecord, type SimValue } from './model'

const MiB = 1024 * 1024

/** host.call_plugin(host, 'xenpilot_numa', fn, args) as the dom0 plugin in build/ answers it (a JSON string). */
export function numaPluginCall(fn: string, args: Record<string, string>, ctx: PluginContext): string {
  const hostRec = ctx.pool.objects.get('host')?.get(ctx.host.ref)
  const mode = hostRec ? strMap(hostRec['other_config'])['xenpilot-sim-plugin'] : undefined
  if (mode === 'absent') throw new SimXapiError(['XENAPI_MISSING_PLUGIN', PLUGIN_NAME])
  if (fn === 'version') return JSON.stringify({ version: PLUGIN_VERSION })
  if (fn !== 'topology') throw new SimXapiError(['XENAPI_PLUGIN_FAILURE', 'dispatch', 'UnknownMethod', `${PLUGIN_NAME} has no function ${fn} (args ${JSON.stringify(args)})`])
  if (mode === 'garbage') return '{"version": 1, "cpus": [tru'
  const { info, vcpuList } = simulatedXlOutput(ctx.host, ctx.pool, ctx.bootPolicy)
  return JSON.stringify(buildPluginTopology(info, vcpuList))
}

export interface PluginContext {
  host: SimHostSpec
  pool: SimPoolSpec
  /** the policy a running domain was built under, when the host's has changed since (PoolState.numaBootPolicy) */
  bootPolicy?: BootPolicy
}
export type BootPolicy = (vmRef: string, domid: number) => string | undefined

/** does xenopsd place VMs on one node under this host's policy (best_effort, or the default from xapi 25.20) */
export function placesOnOneNode(hostRec: SimRecord, policy = String(hostRec['numa_affinity_policy'] ?? 'any')): boolean {
  const release = strMap(hostRec['software_version'])['xapi_build'] ?? strMap(hostRec['software_version'])['xapi'] ?? '0'
  return policy === 'best_effort' || (policy === 'default_policy' && versionAtLeast(release, [25, 20, 0]))
}

interface DomainOnHost {
  name: string
  domid: number
  vcpusMax: number
  vcpusOnline: number
  /** per vCPU hard affinity ([] = all) */
  hard: number[][]
  soft: number[]
  memByNode: number[]
}

/** Both command outputs for one simulated host, from its topology and the pool's live objects. */
export function simulatedXlOutput(host: SimHostSpec, pool: SimPoolSpec, bootPolicy?: BootPolicy): { info: string; vcpuList: string } {
  const t = host.numa
  const nrCpus = t.sockets * t.coresPerSocket * t.threadsPerCore
  const loc = Array.from({ length: nrCpus }, (_, c) => cpuLocation(t, c))
  const nodeCpus = Array.from({ length: t.nodes }, (_, n) => loc.map((l, c) => (l.node === n ? c : -1)).filter((c) => c >= 0))
  const hostRec = pool.objects.get('host')?.get(host.ref) ?? {}
  const domains = domainsOnHost(host, pool, hostRec, nodeCpus, bootPolicy)

  // memfree = spanned − MMIO hole (node 0) − Xen's own memory (node 0) − each domain's pages
  const holeMiB = (t.nodeMemMiB[0] ?? 0) % 4096
  const xenMiB = Math.round(num(hostRec['memory_overhead']) / MiB)
  const usedMiB = t.nodeMemMiB.map((_, n) => (n === 0 ? holeMiB + xenMiB : 0))
  for (const d of domains) d.memByNode.forEach((b, n) => (usedMiB[n] = (usedMiB[n] ?? 0) + Math.ceil(b / MiB)))
  const memfree = t.nodeMemMiB.map((m, n) => Math.max(0, m - (usedMiB[n] ?? 0)))

  return { info: xlInfoText(t, String(hostRec['hostname'] ?? hostRec['name_label'] ?? host.address), strMap(hostRec['software_version'])['xen'] ?? '4.17.5', memfree, loc), vcpuList: xlVcpuListText(domains, nrCpus) }
}

function domainsOnHost(host: SimHostSpec, pool: SimPoolSpec, hostRec: SimRecord, nodeCpus: number[][], bootPolicy?: BootPolicy): DomainOnHost[] {
  const t = host.numa
  const vms = pool.objects.get('VM') ?? new Map<string, SimRecord>()
  const metricsTable = pool.objects.get('VM_metrics') ?? new Map<string, SimRecord>()
  const guestMask = parseHostGuestMask(strMap(hostRec['guest_VCPUs_params'])['mask'])
  const resident = [...vms.entries()]
    .filter(([, v]) => v['resident_on'] === host.ref && (v['power_state'] === 'Running' || v['power_state'] === 'Paused'))
    .map(([ref, v]) => ({ ref, v, domid: num(v['domid']) }))
    .sort((a, b) => a.domid - b.domid)

  const nodeFree = t.nodeMemMiB.map((m) => m * MiB)
  const out: DomainOnHost[] = []
  for (const { ref, v, domid } of resident) {
    // a running domain keeps the placement of the policy it was built under
    const bestEffort = placesOnOneNode(hostRec, bootPolicy?.(ref, domid))
    const isDom0 = v['is_control_domain'] === true
    const metrics = typeof v['metrics'] === 'string' ? metricsTable.get(v['metrics']) : undefined
    const vcpusMax = Math.max(1, num(v['VCPUs_max']))
    const vcpusOnline = Math.min(vcpusMax, Math.max(1, num(metrics?.['VCPUs_number']) || num(v['VCPUs_at_startup']) || vcpusMax))
    const memBytes = num(metrics?.['memory_actual']) || num(v['memory_static_max'])
    const stored = parseStoredMask(strMap(v['VCPUs_params'])['mask'])
    const hard = isDom0 ? [] : effectiveHardMasks(stored.groups, guestMask, vcpusMax)

    let memByNode: number[] = t.nodeMemMiB.map(() => 0)
    const known = numMap(metrics?.['numa_node_memory'])
    if (isDom0) memByNode[0] = memBytes
    else if (Object.keys(known).length > 0) for (const [n, b] of Object.entries(known)) memByNode[Number(n)] = b
    else if (!bestEffort || hard.length > 0 || t.nodes === 1) memByNode = stripe(memBytes, hard.length > 0 ? nodesOfCpus(hard.flat(), nodeCpus) : nodeCpus.map((_, n) => n), t.nodes)
    else {
      const plan = planPlacement(
        nodeCpus.map((cpus, n) => ({ id: n, memAvail: nodeFree[n] ?? 0, threads: cpus.length, cores: cpus.length / t.threadsPerCore, vcpusAffine: 0 })),
        t.distances,
        { memory: memBytes, vcpus: vcpusMax, cores: 0 },
      )
      memByNode = stripe(memBytes, plan.chosen ?? nodeCpus.map((_, n) => n), t.nodes)
    }
    memByNode.forEach((b, n) => (nodeFree[n] = (nodeFree[n] ?? 0) - b))

    const memNodes = memByNode.map((b, n) => (b > 4096 * 4096 ? n : -1)).filter((n) => n >= 0)
    // xenopsd soft-pins only single-node plans, and only when no hard mask was given
    const soft = !isDom0 && bestEffort && hard.length === 0 && memNodes.length === 1 && t.nodes > 1 ? (nodeCpus[memNodes[0] ?? 0] ?? []) : []
    out.push({ name: isDom0 ? 'Domain-0' : String(v['name_label'] ?? `domain-${domid}`), domid: isDom0 ? 0 : domid, vcpusMax, vcpusOnline, hard, soft, memByNode })
  }
  return out
}

function stripe(bytes: number, nodes: number[], count: number): number[] {
  const out = Array.from({ length: count }, () => 0)
  const targets = nodes.length > 0 ? nodes : Array.from({ length: count }, (_, n) => n)
  for (const n of targets) out[n] = Math.floor(bytes / targets.length)
  return out
}

function nodesOfCpus(cpus: number[], nodeCpus: number[][]): number[] {
  return nodeCpus.map((cs, n) => (cs.some((c) => cpus.includes(c)) ? n : -1)).filter((n) => n >= 0)
}

function xlInfoText(t: SimNumaTopology, hostname: string, xen: string, memfree: number[], loc: ReturnType<typeof cpuLocation>[]): string {
  const [major, minor, ...rest] = xen.split('.')
  const total = t.nodeMemMiB.reduce((a, b) => a + b, 0)
  const free = memfree.reduce((a, b) => a + b, 0)
  const kv = (k: string, v: string | number): string => `${k.padEnd(23)}: ${v}\n`
  let s = ''
  s += kv('host', hostname)
  s += kv('release', '4.19.0+1')
  s += kv('version', '#1 SMP Tue Jan 14 10:00:00 CET 2025')
  s += kv('machine', 'x86_64')
  s += kv('nr_cpus', loc.length)
  s += kv('max_cpu_id', loc.length - 1)
  s += kv('nr_nodes', t.nodes)
  s += kv('cores_per_socket', t.coresPerSocket)
  s += kv('threads_per_core', t.threadsPerCore)
  s += kv('cpu_mhz', '2394.454')
  s += kv('hw_caps', 'bfebfbff:77fefbff:2c100800:00000121:0000000f:009c6fbb:00000000:00000100')
  s += kv('virt_caps', 'pv hvm hvm_directio pv_directio hap')
  s += kv('total_memory', total)
  s += kv('free_memory', free)
  s += kv('sharing_freed_memory', 0)
  s += kv('sharing_used_memory', 0)
  s += kv('outstanding_claims', 0)
  s += kv('free_cpus', 0)
  s += 'cpu_topology           :\n'
  s += 'cpu:    core    socket     node\n'
  loc.forEach((l, c) => (s += `${pad(c, 3)}:    ${pad(l.core, 4)}     ${pad(l.socket, 4)}     ${pad(l.node, 4)}\n`))
  s += 'device topology        :\n'
  s += 'device           node\n'
  s += `0000:3b:00.0      0\n`
  s += 'numa_info              :\n'
  s += 'node:    memsize    memfree    distances\n'
  t.nodeMemMiB.forEach((m, n) => (s += `${pad(n, 4)}:    ${pad(m, 6)}     ${pad(memfree[n] ?? 0, 6)}      ${(t.distances[n] ?? []).join(',')}\n`))
  s += kv('xen_major', Number(major ?? 4))
  s += kv('xen_minor', Number(minor ?? 17))
  s += kv('xen_extra', rest.length ? `.${rest.join('.')}` : '')
  s += kv('xen_version', xen)
  s += kv('xen_caps', 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64')
  s += kv('xen_scheduler', 'credit')
  s += kv('xen_pagesize', 4096)
  s += kv('xend_config_format', 4)
  return s
}

function xlVcpuListText(domains: DomainOnHost[], nrCpus: number): string {
  let s = `${'Name'.padEnd(32)} ${'ID'.padStart(5)} ${'VCPU'.padStart(5)} ${'CPU'.padStart(5)} ${'State'.padStart(5)} ${'Time(s)'.padStart(9)} Affinity (Hard / Soft)\n`
  for (const d of domains)
    for (let v = 0; v < d.vcpusMax; v++) {
      const hard = d.hard[v] ?? []
      const runnable = hard.length > 0 ? hard : d.soft.length > 0 ? d.soft : Array.from({ length: nrCpus }, (_, i) => i)
      const online = v < d.vcpusOnline
      // deterministic "where it runs now" within its affinity
      const cpu = runnable[(d.domid * 7 + v * 3) % runnable.length] ?? 0
      const running = (d.domid + v) % 5 === 0
      const time = online ? ((d.domid + 1) * 97.3 + v * 13.1) % 100000 : 0
      s += `${d.name.padEnd(32)} ${pad(d.domid, 5)} ${pad(v, 5)}`
      s += online ? `${pad(cpu, 5)} ${'  ' + (running ? 'r' : '-')}${running ? '-' : 'b'}- ` : `${pad('-', 5)}   --p `
      s += `${time.toFixed(1).padStart(9)}  `
      s += `${formatCpuList(hard.length > 0 ? hard : Array.from({ length: nrCpus }, (_, i) => i), nrCpus)} / ${formatCpuList(d.soft.length > 0 ? d.soft : Array.from({ length: nrCpus }, (_, i) => i), nrCpus)}\n`
    }
  return s
}

const pad = (v: number | string, w: number): string => String(v).padStart(w)

function num(v: SimValue | undefined): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}
function strMap(v: SimValue | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x
  return out
}
function numMap(v: SimValue | undefined): Record<string, number> {
  const out: Record<string, number> = {}
  if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'number') out[k] = x
  return out
}
function versionAtLeast(v: string, min: [number, number, number]): boolean {
  const p = v.split('.').map((x) => Number(x) || 0)
  for (let i = 0; i < 3; i++) if ((p[i] ?? 0) !== (min[i] ?? 0)) return (p[i] ?? 0) > (min[i] ?? 0)
  return true
}
