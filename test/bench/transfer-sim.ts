/**
 * The simulator side of `npm run bench transfer`, in its own process (its CPU and memory stay out of
 * main's figures): the tiny fleet with a halted VM `bench-4g` whose one disk holds SIZE bytes of
 * data in every chunk. Prints one JSON line with what the bench needs, then serves until stdin ends.
 */
import { poolStateOf, startSimulator } from '../sim'
import { buildFleet } from '../sim/fleet'
import { disksOf } from '../sim/server/disks'

const SIZE = Number(process.env['XFER_BENCH_BYTES'] ?? String(4 * 1024 ** 3))
const POOL = process.env['XFER_BENCH_POOL'] ?? 'tiny-legacy'

async function main(): Promise<void> {
  const sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.99', opDurationMs: 0 }) })
  const pool = sim.pool(POOL)
  const state = poolStateOf(pool)
  if (!state) throw new Error('no pool state')
  let master = ''
  for (const [ref, h] of pool.objects.get('host') ?? []) if (ref === String([...(pool.objects.get('pool')?.values() ?? [])][0]?.['master'])) master = String(h['address'])
  let sr = ''
  for (const [ref, r] of pool.objects.get('SR') ?? []) {
    const pbd = pool.objects.get('PBD')?.get(String((r['PBDs'] as string[])[0]))
    if (r['type'] === 'lvm' && pool.objects.get('host')?.get(String(pbd?.['host']))?.['address'] === master) sr = ref
  }
  const vm = String(await pool.call('VM.create', [{ name_label: 'bench-4g', name_description: '', user_version: 1, is_a_template: false, affinity: 'OpaqueRef:NULL', memory_target: 1073741824, memory_static_max: 1073741824, memory_dynamic_max: 1073741824, memory_dynamic_min: 1073741824, memory_static_min: 1073741824, VCPUs_params: {}, VCPUs_max: 1, VCPUs_at_startup: 1, actions_after_shutdown: 'destroy', actions_after_reboot: 'restart', actions_after_crash: 'restart', PV_bootloader: '', PV_kernel: '', PV_ramdisk: '', PV_args: '', PV_bootloader_args: '', PV_legacy_args: '', HVM_boot_policy: 'BIOS order', HVM_boot_params: { order: 'dc' }, platform: {}, PCI_bus: '', other_config: {}, recommendations: '' }]))
  const vdi = String(await pool.call('VDI.create', [{ name_label: 'bench-4g disk', name_description: '', SR: sr, virtual_size: SIZE, type: 'user', sharable: false, read_only: false, other_config: {}, xenstore_data: {}, sm_config: {}, tags: [] }]))
  await pool.call('VBD.create', [{ VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk', unpluggable: false, empty: false, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} }])
  disksOf(state).setDensity(vdi, 1)
  const h = pool.hosts.find((x) => x.address === master) ?? pool.hosts[0]
  process.stdout.write(`${JSON.stringify({ masterUrl: pool.masterUrl, certPem: h?.certPem, username: pool.username, password: pool.password, vm, vmUuid: String(pool.objects.get('VM')?.get(vm)?.['uuid']), sr, size: SIZE, release: pool.xapiRelease })}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => void sim.stop().then(() => process.exit(0)))
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
