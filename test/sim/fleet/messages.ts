/** The pool's message log: alarms and lifecycle messages about its VMs, hosts, SRs and the pool. */
import type { SimRecord } from '../model'
import { str, type BuildContext } from './context'

export function buildMessages(b: BuildContext): void {
  const vms = [...(b.objects.get('VM') ?? new Map<string, SimRecord>()).values()].filter((v) => v.is_a_template === false && v.is_control_domain === false)
  const kinds: { name: string; priority: number; cls: string; body: (uuid: string, label: string) => string; target: 'host' | 'vm' | 'pool' | 'sr' }[] = [
    { name: 'VM_STARTED', priority: 5, cls: 'VM', target: 'vm', body: (_u, l) => `VM '${l}' started` },
    { name: 'VM_SHUTDOWN', priority: 5, cls: 'VM', target: 'vm', body: (_u, l) => `VM '${l}' shutdown` },
    { name: 'ALARM', priority: 3, cls: 'Host', target: 'host', body: () => `value: ${(0.9 + b.rng.next() * 0.09).toFixed(6)}\nconfig:\n<variable>\n\n<name value="cpu_usage"/>\n\n<alarm_trigger_level value="0.9"/>\n\n</variable>\n` },
    { name: 'HOST_CLOCK_SKEW_DETECTED', priority: 3, cls: 'Host', target: 'host', body: () => 'The clock on this host has drifted from the pool master by more than 5 seconds' },
    { name: 'PBD_PLUG_FAILED_ON_SERVER_START', priority: 2, cls: 'Host', target: 'host', body: () => '' },
    { name: 'LICENSE_EXPIRES_SOON', priority: 2, cls: 'Host', target: 'host', body: () => 'The license for this host expires in 14 days' },
    { name: 'SR_BACKEND_FAILURE_PBD_PLUG', priority: 1, cls: 'SR', target: 'sr', body: () => 'Error code: SR_BACKEND_FAILURE_73 Error parameters: , NFS mount error [opterr=mount failed with return code 32]' },
    { name: 'POOL_MASTER_TRANSITION', priority: 4, cls: 'Pool', target: 'pool', body: () => 'The pool master has changed' },
  ]
  const hosts = b.hosts
  const srs = [...(b.objects.get('SR') ?? new Map<string, SimRecord>()).values()]
  for (let i = 0; i < b.plan.messages; i++) {
    const k = kinds[i % kinds.length]
    if (!k) continue
    let uuid = str(b.pool.rec, 'uuid')
    let label = b.plan.name
    if (k.target === 'vm' && vms.length) {
      const vm = b.rng.pick(vms)
      uuid = str(vm, 'uuid')
      label = str(vm, 'name_label')
    } else if (k.target === 'host' && hosts.length) {
      const h = b.rng.pick(hosts)
      uuid = str(h.rec, 'uuid')
      label = str(h.rec, 'name_label')
    } else if (k.target === 'sr' && srs.length) {
      const sr = b.rng.pick(srs)
      uuid = str(sr, 'uuid')
      label = str(sr, 'name_label')
    }
    b.add('message', { name: k.name, priority: k.priority, cls: k.cls, obj_uuid: uuid, timestamp: b.date(b.rng.int(10)), body: k.body(uuid, label) })
  }
}
