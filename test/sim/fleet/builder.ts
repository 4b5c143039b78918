/**
 * Builds one pool's object graph the way XAPI holds it: every cross reference kept consistent in
 * both directions (VM.VBDs ↔ VBD.VM, host.resident_VMs ↔ VM.resident_on, SR.VDIs ↔ VDI.SR, …),
 * host memory and NUMA node accounting consistent with the resident VMs. The steps live beside it:
 * hosts.ts, storage.ts, network.ts, templates.ts, guest.ts (+ snapshot.ts, vm-settings.ts,
 * placement.ts), messages.ts; context.ts holds what they share.
 */
import type { SimPoolSpec } from '../model'
import { NULL_DATE, NULL_REF } from '../records'
import { arr, BuildContext, map, MiB, num } from './context'
import { buildGuest } from './guest'
import { cpuCount } from './hardware'
import { buildHost } from './hosts'
import { buildMessages } from './messages'
import { buildHostNetwork, buildNetworks, buildNetworkTopology } from './network'
import type { PoolPlan } from './plan'
import { licenseParams } from './products'
import { CUSTOM_FIELDS_KEY, writeCustomFieldDefinitions } from '../../../shared/xencenter/custom-fields'
import { buildHostStorage, buildSharedStorage, buildStorageLeftovers } from './storage'
import { buildTemplates } from './templates'

export { EXTERNAL_VNC_KEY, FLEET_EPOCH_MS } from './context'
export type { HostPlan, PoolPlan, PowerState, VmSpec } from './plan'

/** Builds one pool from its plan; `build()` returns the SimPoolSpec the server serves. */
export class PoolBuilder {
  private readonly b: BuildContext

  constructor(plan: PoolPlan, seed: number) {
    this.b = new BuildContext(plan, seed)
  }

  build(): SimPoolSpec {
    const b = this.b
    const plan = b.plan
    buildPoolShell(b)
    plan.hosts.forEach((h, i) => buildHost(b, h, i))
    buildSharedStorage(b)
    buildNetworks(b)
    b.hosts.forEach((h, i) => {
      buildHostNetwork(b, h)
      buildHostStorage(b, h, i)
    })
    buildTemplates(b)
    for (const spec of plan.vms) buildGuest(b, spec)
    buildMessages(b)
    buildNetworkTopology(b)
    // after everything else, so the draws above (and the fleets they make) do not move
    buildStorageLeftovers(b)
    finish(b)
    const master = b.hosts[0]
    if (!master) throw new Error(`pool ${plan.name} has no host`)
    return {
      name: plan.name,
      xapiRelease: b.release,
      jsonRpc: b.product.jsonRpc,
      username: plan.username,
      password: plan.password,
      hosts: b.hosts.map((h) => h.spec),
      objects: b.objects,
    }
  }
}

/** the pool object; its SRs, networks and master are filled in by the later steps */
function buildPoolShell(b: BuildContext): void {
  const { ref, rec } = b.add('pool', {
    name_label: b.plan.name,
    name_description: '',
    other_config: {
      cpuid_feature_mask: 'ffffff7f-ffffffff-ffffffff-ffffffff',
      'memory-ratio-hvm': '0.25',
      'memory-ratio-pv': '0.25',
      auto_poweron: 'false',
    },
    tls_verification_enabled: !b.legacy,
    coordinator_bias: true,
    migration_compression: false,
    restrictions: Object.fromEntries(Object.entries(licenseParams(b.product, 2)).filter(([k]) => k.startsWith('restrict_'))),
    // XenCenter's custom field definitions, as XenCenter writes them (the values are on the VMs: guest.ts)
    gui_config: {
      ...(b.rng.chance(0.5) ? { [CUSTOM_FIELDS_KEY]: writeCustomFieldDefinitions([{ name: 'owner', type: 'String' }, { name: 'cost-centre', type: 'String' }]) } : {}),
      ...b.plan.guiConfig,
    },
    telemetry_next_collection: b.legacy ? NULL_DATE : b.date(-3),
    last_update_sync: b.product.brand === 'XenServer' && !b.legacy ? b.date(2) : NULL_DATE,
  })
  b.pool = { ref, rec, toolsSr: NULL_REF, toolsIso: NULL_REF, isoVdis: [], networks: { eth0: NULL_REF, eth1: NULL_REF, internal: NULL_REF } }
}

/** what XAPI derives from the rest: host free memory, pool.cpu_info and master, SR usage from its VDIs */
function finish(b: BuildContext): void {
  for (const h of b.hosts) h.metrics.memory_free = Math.max(0, h.freeBytes)
  // pool.cpu_info sums only cpu_count and socket_count (create_pool_cpuinfo)
  const first = b.hosts[0]
  if (first) {
    const info = map(first.rec, 'cpu_info')
    b.pool.rec.cpu_info = {
      cpu_count: String(b.hosts.reduce((a, h) => a + cpuCount(h.hw.topology), 0)),
      socket_count: String(b.hosts.reduce((a, h) => a + h.hw.topology.sockets, 0)),
      vendor: String(info.vendor ?? ''),
      features_pv: String(info.features_pv ?? ''),
      features_hvm: String(info.features_hvm ?? ''),
      ...(b.legacy ? {} : { features_pv_host: String(info.features_pv_host ?? ''), features_hvm_host: String(info.features_hvm_host ?? '') }),
    }
    b.pool.rec.master = first.ref
  }
  // SR usage follows its VDIs
  for (const sr of b.objects.get('SR')?.values() ?? []) {
    let virt = 0
    let phys = 0
    for (const v of arr(sr, 'VDIs')) {
      if (typeof v !== 'string') continue
      const vdi = b.get('VDI', v)
      virt += num(vdi, 'virtual_size')
      phys += num(vdi, 'physical_utilisation')
    }
    sr.virtual_allocation = virt
    if (sr.type === 'iso' || sr.type === 'udev') {
      sr.physical_utilisation = phys
      if (num(sr, 'physical_size') < phys) sr.physical_size = phys
    } else sr.physical_utilisation = phys + 4 * MiB * arr(sr, 'VDIs').length
  }
}
