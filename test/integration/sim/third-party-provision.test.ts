/**
 * The calls of the New VM wizard and VM Properties (issue 14) work for clients written by others
 * against real XAPI: the official XenAPI Python client (XML-RPC, as XenCenter's CreateVMAction
 * sequence) and Xen Orchestra's `xen-api` (JSON-RPC) — results, Async tasks and XAPI's refusals.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Xapi } from 'xen-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle, SimRecord } from '../../sim/model'

const GiB = 1024 ** 3
let sim: SimControl
let tmp: string

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.94', opDurationMs: 0 }) })
  tmp = await mkdtemp(join(tmpdir(), 'xenpilot-sim-provision-clients-'))
})
afterAll(async () => {
  await sim?.stop()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

function runPython(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('/usr/bin/python3', [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.on('data', (c: Buffer) => (out += c.toString()))
    p.stderr.on('data', (c: Buffer) => (err += c.toString()))
    const timer = setTimeout(() => p.kill('SIGKILL'), 90_000)
    p.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`python exited ${code}: ${err}`))
    })
  })
}

describe('official XenAPI Python client (os_xenapi, XML-RPC): New VM as XenCenter makes it', () => {
  it('clones a template, provisions it without its provision XML, sets vCPUs/memory/boot order, adds a disk and a VIF, starts it — and reads XAPI’s refusals', async () => {
    const pool = sim.pool('tiny-current')
    const master = pool.hosts[0]
    if (!master) throw new Error('no master')
    const cafile = join(tmp, 'master.pem')
    await writeFile(cafile, master.certPem)
    const script = fileURLToPath(new URL('./xenapi_provision.py', import.meta.url))
    const out = JSON.parse(await runPython(script, [pool.masterUrl, cafile, pool.username, pool.password, 'Windows 11'])) as Record<string, unknown>
    expect(out['recommendations']).toContain('<restriction field="supports-secure-boot" value="yes"/>')
    expect(out['install_methods']).toBe('cdrom')
    expect(out['provision_xml']).toMatch(/^<provision><disk device="0" size="\d+" sr="" bootable="true" type="system"\/><\/provision>$/)
    expect(out).toMatchObject({ clone_status: 'success', clone_is_template: true, provision_status: 'success', provisioned_is_template: false })
    expect(out['provision_again']).toEqual(['PROVISION_ONLY_ALLOWED_ON_TEMPLATE'])
    // int64 arrives as a string of digits over XML-RPC
    expect(out['vcpus']).toEqual(['4', '2'])
    expect(out['vcpus_bad']).toEqual(['INVALID_VALUE', 'VCPU values must satisfy: 0 < VCPUs_at_startup ≤ VCPUs_max', '5'])
    expect(out['memory']).toEqual([String(4 * GiB), String(2 * GiB)])
    expect(out['memory_bad']).toEqual(['MEMORY_CONSTRAINT_VIOLATION_ORDER'])
    expect(out).toMatchObject({ boot_order: 'dcn', disk_status: 'success', vif_network: true, vbds: 1, start_status: 'success', power: 'Running' })
    expect((out['static_live'] as string[]).slice(0, 1).concat((out['static_live'] as string[]).slice(2))).toEqual(['VM_BAD_POWER_STATE', 'halted', 'running'])
    expect((out['vcpus_live'] as string[])[0]).toBe('VM_BAD_POWER_STATE')
    expect((out['to_template_live'] as string[])[0]).toBe('VM_BAD_POWER_STATE')
    expect(out).toMatchObject({ now_template: true, copy_status: 'success', back_to_vm: false })
  }, 120_000)
})

describe("Xen Orchestra's xen-api client: New VM calls", () => {
  const clients: Xapi[] = []
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.disconnect().catch(() => undefined)))
  })
  const find = (pool: SimPoolHandle, cls: string, pred: (r: SimRecord) => boolean): string => {
    for (const [ref, r] of pool.objects.get(cls) ?? []) if (pred(r)) return ref
    throw new Error(`no ${cls}`)
  }

  it('JSON-RPC: Async VM.copy of a template to an SR, VM.provision with the provision XML pointing at that SR, memory and vCPU setters with their refusals', async () => {
    const pool = sim.pool('tiny-current')
    const x = new Xapi({ url: pool.masterUrl, auth: { user: pool.username, password: pool.password }, allowUnauthorized: true, debounce: 50 })
    clients.push(x)
    await x.connect()
    const template = find(pool, 'VM', (r) => r.name_label === 'AlmaLinux 9' && r.is_a_template === true)
    const sr = find(pool, 'SR', (r) => r.name_label === 'NFS VM storage')
    const srUuid = String(pool.objects.get('SR')?.get(sr)?.uuid)
    const vm = (await x.callAsync('VM.copy', template, 'xo-vm', sr)) as string
    // Xen Orchestra keeps the provision XML and points its disks at the chosen SR
    await x.call('VM.remove_from_other_config', vm, 'disks')
    await x.call('VM.add_to_other_config', vm, 'disks', `<provision><disk device="0" size="${10 * GiB}" sr="${srUuid}" bootable="true" type="system"/></provision>`)
    await x.callAsync('VM.provision', vm)
    const rec = pool.objects.get('VM')?.get(vm)
    expect(rec?.is_a_template).toBe(false)
    expect(rec?.other_config).not.toHaveProperty('disks')
    const vbd = (rec?.VBDs as string[]).map((r) => pool.objects.get('VBD')?.get(r)).find((b) => b?.userdevice === '0')
    expect(pool.objects.get('VDI')?.get(String(vbd?.VDI))).toMatchObject({ SR: sr, virtual_size: 10 * GiB, name_label: '0' })
    await x.call('VM.set_memory_dynamic_range', vm, GiB, 2 * GiB)
    await expect(x.call('VM.set_memory_dynamic_range', vm, 3 * GiB, 2 * GiB)).rejects.toMatchObject({ code: 'MEMORY_CONSTRAINT_VIOLATION_ORDER' })
    await expect(x.call('VM.set_VCPUs_at_startup', vm, 99)).rejects.toMatchObject({ code: 'INVALID_VALUE', params: ['VCPU values must satisfy: 0 < VCPUs_at_startup ≤ VCPUs_max', '99'] })
    await expect(x.call('VM.provision', vm)).rejects.toMatchObject({ code: 'PROVISION_ONLY_ALLOWED_ON_TEMPLATE' })
  })
})
