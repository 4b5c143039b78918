/**
 * Simulator data benchmarks (`npm run bench fleet`). Prints BENCH lines:
 *  - sim.fleet.build.<fleet>: wall time of buildFleet() for each fleet, fresh heap state per fleet;
 *  - sim.fleet.bench-10k.objects: objects in the bench-10k pool;
 *  - sim.fleet.bench-10k.vm-records-xmlrpc / -json: VM.get_all_records payload as the server encodes
 *    it (its XmlEncoder) and as JSON, plus the average VM record size (a real 7.2 VM ≈ 9.1-9.7 KB,
 *    a real xapi-24 VM ≈ 11.4 KB with the same encoding);
 *  - sim.rrd.bench-host.*: one /rrd_updates answer for a 128-thread host with its resident VMs.
 */
import { performance } from 'node:perf_hooks'
import { buildFleet } from '../sim/fleet'
import type { FleetName, SimPoolSpec } from '../sim/model'
import { rrdUpdates } from '../sim/rrd'
import { schemaFor } from '../sim/server/schema'
import { XmlEncoder } from '../sim/server/xmlrpc'

function bench(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  console.log(`BENCH ${JSON.stringify({ name, value: Math.round(value * 100) / 100, unit, ...extra })}`)
}
const gc = (): void => (globalThis as { gc?: () => void }).gc?.()

let bench10k: SimPoolSpec | undefined
for (const name of ['tiny', 'demo', 'bench-10k', 'many-pools', 'huge'] as FleetName[]) {
  gc()
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const fleet = buildFleet(name)
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  let objects = 0
  for (const p of fleet.pools) for (const t of p.objects.values()) objects += t.size
  // cpuMs (user+system, GC threads included) is less sensitive than wall time to other load on the machine
  bench(`sim.fleet.build.${name}`, ms, 'ms', { pools: fleet.pools.length, objects, cpuMs: Math.round((cpu.user + cpu.system) / 1000) })
  if (name === 'bench-10k') bench10k = fleet.pools[0]
}

if (bench10k) {
  const pool = bench10k
  let objects = 0
  for (const t of pool.objects.values()) objects += t.size
  bench('sim.fleet.bench-10k.objects', objects, 'objects')
  const vms = pool.objects.get('VM') ?? new Map()
  const enc = new XmlEncoder(schemaFor(pool.xapiRelease))
  const t0 = performance.now()
  let xml = 0
  let json = 0
  for (const [ref, rec] of vms) {
    xml += enc.record('VM', rec).length + `<member><name>${ref}</name></member>`.length
    json += Buffer.byteLength(JSON.stringify(rec)) + ref.length + 4
  }
  bench('sim.fleet.bench-10k.vm-records-xmlrpc', xml / 1e6, 'MB', { vms: vms.size, avgKB: Math.round(xml / vms.size / 10) / 100, encodeMs: Math.round(performance.now() - t0) })
  bench('sim.fleet.bench-10k.vm-records-json', json / 1e6, 'MB', { avgKB: Math.round(json / vms.size / 10) / 100 })

  const host = pool.hosts[0]
  if (host) {
    const now = Math.floor(Date.now() / 1000)
    for (const json of [false, true]) {
      const t1 = performance.now()
      const r = rrdUpdates(pool, { hostRef: host.ref, start: now - 600, interval: 5, cf: 'AVERAGE', json, includeHost: true, now })
      bench(`sim.rrd.bench-host.${json ? 'json' : 'xml'}`, performance.now() - t1, 'ms', { bytes: r.body.length })
    }
  }
}
