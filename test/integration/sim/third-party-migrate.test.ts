/**
 * Cross-pool migration (issue 17) works for clients written by others against real XAPI: the
 * official XenAPI Python client (XML-RPC) and Xen Orchestra's `xen-api` (JSON-RPC) — the call
 * sequence of XenCenter's cross-pool migrate wizard (Host.migrate_receive on the destination,
 * VM.assert_can_migrate and Async.VM.migrate_send on the source), task progress, the moved VM in
 * the destination pool, and XAPI's refusals as they expect them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Xapi } from 'xen-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import { runPython } from '../../helpers/python'
import type { SimControl, SimPoolHandle } from '../../sim/model'

let sim: SimControl
let tmp: string

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('demo', { addressBase: '127.142', opDurationMs: 100 }) })
  tmp = await mkdtemp(join(tmpdir(), 'xenpilot-sim-migrate-clients-'))
}, 60_000)
afterAll(async () => {
  await sim?.stop()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

async function poolArgs(pool: SimPoolHandle): Promise<string[]> {
  const master = pool.hosts[0]
  if (!master) throw new Error('no master')
  const cafile = join(tmp, `${pool.name}.pem`)
  await writeFile(cafile, master.certPem)
  return [pool.masterUrl, cafile, pool.username, pool.password]
}

describe('official XenAPI Python client (os_xenapi, XML-RPC)', () => {
  it('moves a running VM from Lab to Production with XenCenter’s call sequence and reads VDI_NOT_IN_MAP', async () => {
    const script = fileURLToPath(new URL('./xenapi_migrate.py', import.meta.url))
    const args = [...(await poolArgs(sim.pool('Lab'))), ...(await poolArgs(sim.pool('Production'))), 'app-01']
    const out = JSON.parse(await runPython(script, args)) as Record<string, unknown>
    expect(out['dest_keys']).toEqual(['SM', 'host', 'master', 'session_id', 'xenops'])
    expect((out['not_in_map'] as string[])[0]).toBe('VDI_NOT_IN_MAP')
    expect(out).toMatchObject({ status: 'success', error: [], dest_power: 'Running', dest_host_ok: true, dest_disks_on_sr: true, source_gone: 'HANDLE_INVALID' })
    expect(out['progress_seen']).toBeGreaterThan(0)
  })
})

describe('official XenAPI Python client: VDI.disable_cbt (the answer to VDI_CBT_ENABLED)', () => {
  it('CBT on a disk makes assert_can_migrate refuse; VDI.disable_cbt lets it through; a snapshot disk and an ISO are refused as XAPI does', async () => {
    const script = fileURLToPath(new URL('./xenapi_cbt.py', import.meta.url))
    const args = [...(await poolArgs(sim.pool('Lab'))), ...(await poolArgs(sim.pool('Production'))), 'app-01']
    const out = JSON.parse(await runPython(script, args)) as Record<string, unknown>
    expect(out).toMatchObject({ enabled: true, refused: ['VDI_CBT_ENABLED', out['disk']], disabled: false, after: 'succeeded' })
    expect(out['snapshot_disk']).toEqual(['OPERATION_NOT_ALLOWED', `VDI ${String(out['snap'])} is a snapshot`])
    expect(out['iso']).toEqual(['SR_OPERATION_NOT_SUPPORTED', out['iso_sr']])
  })
})

describe('Xen Orchestra xen-api (JSON-RPC)', () => {
  it('moves a halted VM from Legacy to Production with copy, and reads VM_HOST_INCOMPATIBLE_VERSION_MIGRATE the other way', async () => {
    const connect = async (pool: SimPoolHandle): Promise<Xapi> => {
      const x = new Xapi({ url: pool.masterUrl, auth: { user: pool.username, password: pool.password }, allowUnauthorized: true, debounce: 50 })
      await x.connect()
      await x.objectsFetched
      return x
    }
    const legacy = await connect(sim.pool('Legacy'))
    const prod = await connect(sim.pool('Production'))
    try {
      const vmRefs = (await legacy.call('VM.get_by_name_label', 'k8s-node-02')) as string[]
      const vm = vmRefs[0] ?? ''
      const hosts = (await prod.call('host.get_all')) as string[]
      const host = hosts[0] ?? ''
      const pifs = (await prod.call('PIF.get_all_records')) as Record<string, Record<string, unknown>>
      const mgmt = String(Object.values(pifs).find((p) => p['management'] === true && p['host'] === host)?.['network'])
      const dest = (await prod.call('host.migrate_receive', host, mgmt, {})) as Record<string, string>
      const srs = (await prod.call('SR.get_all_records')) as Record<string, Record<string, unknown>>
      const sr = Object.entries(srs).find(([, s]) => s['name_label'] === 'NFS VM storage')?.[0] ?? ''
      const rec = (await legacy.call('VM.get_record', vm)) as Record<string, unknown>
      const vdiMap: Record<string, string> = {}
      for (const vbd of rec['VBDs'] as string[]) {
        const v = (await legacy.call('VBD.get_record', vbd)) as Record<string, unknown>
        if (v['type'] === 'Disk') vdiMap[String(v['VDI'])] = sr
      }
      const vifMap = Object.fromEntries((rec['VIFs'] as string[]).map((v) => [v, mgmt]))
      await legacy.call('VM.assert_can_migrate', vm, dest, false, vdiMap, vifMap, { copy: 'true' }, {})
      const newVm = String(await legacy.callAsync('VM.migrate_send', vm, dest, false, vdiMap, vifMap, { copy: 'true' }, {}))
      expect(((await prod.call('VM.get_record', newVm)) as Record<string, unknown>)['name_label']).toBe('k8s-node-02')
      // the source keeps its VM
      expect(((await legacy.call('VM.get_record', vm)) as Record<string, unknown>)['power_state']).toBe('Halted')
      // Production (XenServer 8) → Legacy (7.2): older destination
      const back = ((await legacy.call('host.get_all')) as string[])[0] ?? ''
      const lpifs = (await legacy.call('PIF.get_all_records')) as Record<string, Record<string, unknown>>
      const lmgmt = String(Object.values(lpifs).find((p) => p['management'] === true && p['host'] === back)?.['network'])
      const ldest = (await legacy.call('host.migrate_receive', back, lmgmt, {})) as Record<string, string>
      const err = await prod.call('VM.assert_can_migrate', newVm, ldest, false, {}, {}, {}, {}).then(
        () => undefined,
        (e: unknown) => e as { code?: string; params?: unknown[] },
      )
      expect(err?.code).toBe('VM_HOST_INCOMPATIBLE_VERSION_MIGRATE')
      expect(err?.params).toEqual([back, newVm])
    } finally {
      await legacy.disconnect()
      await prod.disconnect()
    }
  })
})

describe('Xen Orchestra xen-api (JSON-RPC): VDI.enable_cbt / VDI.disable_cbt (the answer to VDI_CBT_ENABLED)', () => {
  it('CBT on a disk makes assert_can_migrate refuse with VDI_CBT_ENABLED [vdi]; Async.VDI.disable_cbt lets it through and the client sees the change by events; a snapshot disk and an ISO are refused with their params', async () => {
    const connect = async (pool: SimPoolHandle): Promise<Xapi> => {
      const x = new Xapi({ url: pool.masterUrl, auth: { user: pool.username, password: pool.password }, allowUnauthorized: true, debounce: 50, transport: 'json-rpc' })
      await x.connect()
      await x.objectsFetched
      return x
    }
    const fail = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => ({ code: (e as { code?: string }).code, params: (e as { params?: unknown[] }).params }),
      )
    const lab = await connect(sim.pool('Lab'))
    const prod = await connect(sim.pool('Production'))
    try {
      const vms = (await lab.call('VM.get_all_records')) as Record<string, Record<string, unknown>>
      const diskOf = async (vbds: unknown): Promise<string[]> => {
        const out: string[] = []
        for (const b of vbds as string[]) {
          const v = (await lab.call('VBD.get_record', b)) as Record<string, unknown>
          if (v['type'] === 'Disk') out.push(String(v['VDI']))
        }
        return out
      }
      // the last halted VM with a disk by name (the Python client's test takes the first)
      const candidates = Object.entries(vms)
        .filter(([, v]) => v['is_a_template'] !== true && v['is_control_domain'] !== true && v['is_a_snapshot'] !== true && v['power_state'] === 'Halted')
        .sort((a, b) => String(b[1]['name_label']).localeCompare(String(a[1]['name_label'])))
      let vm = ''
      let disks: string[] = []
      for (const [ref, v] of candidates) {
        disks = await diskOf(v['VBDs'])
        if (disks.length > 0) {
          vm = ref
          break
        }
      }
      const disk = disks[0] ?? ''
      expect(vm).not.toBe('')
      await lab.call('VDI.enable_cbt', disk)
      expect(await lab.call('VDI.get_cbt_enabled', disk)).toBe(true)
      const host = ((await prod.call('host.get_all')) as string[])[0] ?? ''
      const pifs = (await prod.call('PIF.get_all_records')) as Record<string, Record<string, unknown>>
      const mgmt = String(Object.values(pifs).find((p) => p['management'] === true && p['host'] === host)?.['network'])
      const dest = (await prod.call('host.migrate_receive', host, mgmt, {})) as Record<string, string>
      const srs = (await prod.call('SR.get_all_records')) as Record<string, Record<string, unknown>>
      const sr = Object.entries(srs).find(([, s]) => s['name_label'] === 'NFS VM storage')?.[0] ?? ''
      const vdiMap = Object.fromEntries(disks.map((d) => [d, sr]))
      const vifMap = Object.fromEntries(((vms[vm]?.['VIFs'] as string[] | undefined) ?? []).map((v) => [v, mgmt]))
      expect(await fail(lab.call('VM.assert_can_migrate', vm, dest, false, vdiMap, vifMap, {}, {}))).toEqual({ code: 'VDI_CBT_ENABLED', params: [disk] })
      // the answer: Async.VDI.disable_cbt (a task), seen by the client's event-fed objects
      await lab.callAsync('VDI.disable_cbt', disk)
      expect(await lab.call('VDI.get_cbt_enabled', disk)).toBe(false)
      await expect.poll(() => lab.getObjectByRef(disk, null)?.['cbt_enabled'], { timeout: 10_000 }).toBe(false)
      expect(await fail(lab.call('VM.assert_can_migrate', vm, dest, false, vdiMap, vifMap, {}, {}))).toBeUndefined()
      // XAPI's checks on the VDI: a snapshot's disk, an ISO
      const snap = String(await lab.call('VM.snapshot', vm, 'xen-api cbt test'))
      const snapDisk = (await diskOf(((await lab.call('VM.get_record', snap)) as Record<string, unknown>)['VBDs']))[0] ?? ''
      expect(await fail(lab.call('VDI.enable_cbt', snapDisk))).toEqual({ code: 'OPERATION_NOT_ALLOWED', params: [`VDI ${snapDisk} is a snapshot`] })
      const labSrs = (await lab.call('SR.get_all_records')) as Record<string, Record<string, unknown>>
      const isoSr = Object.entries(labSrs).find(([, s]) => s['content_type'] === 'iso')?.[0] ?? ''
      const vdis = (await lab.call('VDI.get_all_records')) as Record<string, Record<string, unknown>>
      const iso = Object.entries(vdis).find(([, v]) => v['SR'] === isoSr)?.[0] ?? ''
      expect(iso).not.toBe('')
      expect(await fail(lab.call('VDI.disable_cbt', iso))).toEqual({ code: 'SR_OPERATION_NOT_SUPPORTED', params: [isoSr] })
    } finally {
      await lab.disconnect()
      await prod.disconnect()
    }
  })
})
