/**
 * New VM end to end (issue 14): contract arguments → provision module → ActionRunner → XAPI calls
 * on the real HTTPS simulator. Each kind of template gives exactly the VM, disks and VIFs chosen
 * (HVM from an ISO, UEFI Secure Boot started on a chosen server, PV network install on XenServer
 * 7.2, PXE); a failure at the disk step leaves nothing behind and says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methods } from '../../../shared/contract'
import type { ProvisionMethodName } from '../../../shared/contract/provision'
import { MemoryHistory } from '../../../main/services/operations'
import { provisionModule } from '../../../main/services/provision'
import type { HandlerArgs, ServiceModule } from '../../../main/services'
import type { PoolManagerApi } from '../../../main/pools/api'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle, SimRecord, SimValue } from '../../sim/model'
import { connectTrusted, makeManager, waitFor, type Harness } from '../pools/helpers'

const GiB = 1024 ** 3
let sim: SimControl
let h: Harness
let cur: SimPoolHandle
let old: SimPoolHandle
let curId = ''
let oldId = ''
const history = new MemoryHistory()
let mod: ServiceModule<ProvisionMethodName>
/** runs just before XenPilot's n-th call of a method (another client acting at that moment) */
const before = new Map<string, () => Promise<void>>()
const calls: string[] = []

function spy(pools: PoolManagerApi): PoolManagerApi {
  return new Proxy(pools, {
    get(target, prop, receiver) {
      if (prop === 'callAsync' || prop === 'call') {
        return async (id: string, method: string, params: unknown[], onProgress?: (p: number, t: string) => void) => {
          calls.push(method)
          const n = calls.filter((c) => c === method).length
          const hook = before.get(`${method}#${n}`)
          if (hook) await hook()
          return prop === 'call' ? target.call(id, method, params) : target.callAsync(id, method, params, onProgress)
        }
      }
      const v: unknown = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.89', opDurationMs: 0 }) })
  cur = sim.pool('tiny-current')
  old = sim.pool('tiny-legacy')
  h = makeManager()
  curId = await connectTrusted(h, cur)
  oldId = await connectTrusted(h, old)
  mod = provisionModule({ history })({ pools: spy(h.manager), broadcast: () => {}, log: () => {} })
}, 120_000)

afterAll(async () => {
  await h?.close()
  await sim?.stop()
})

const table = (p: SimPoolHandle, cls: string) => p.objects.get(cls) ?? new Map<string, SimRecord>()
const rec = (p: SimPoolHandle, cls: string, ref: string): SimRecord => {
  const r = table(p, cls).get(ref)
  if (!r) throw new Error(`${cls} ${ref} is gone`)
  return r
}
function find(p: SimPoolHandle, cls: string, pred: (r: SimRecord) => boolean): string {
  for (const [ref, r] of table(p, cls)) if (pred(r)) return ref
  throw new Error(`no ${cls} matches`)
}
const template = (p: SimPoolHandle, name: string) => find(p, 'VM', (r) => r.name_label === name && r.is_a_template === true)
const network = (p: SimPoolHandle, name: string) => find(p, 'network', (r) => r.name_label === name)
const srNamed = (p: SimPoolHandle, name: string, host?: string) =>
  find(p, 'SR', (r) => r.name_label === name && (host === undefined || (r.PBDs as string[]).some((x) => table(p, 'PBD').get(x)?.host === host)))
const iso = (p: SimPoolHandle, name: string) => find(p, 'VDI', (r) => r.name_label === name)

async function run(args: unknown) {
  const parsed = methods['vm.create'].args.parse(args) as HandlerArgs<'vm.create'>
  const handler = mod.handlers['vm.create']
  if (!handler) throw new Error('no handler')
  return handler(parsed, undefined as never)
}

/** what the VM has, read from the pool: disks (size, SR, position, bootable), DVD, VIFs */
function inventory(p: SimPoolHandle, vm: string) {
  const r = rec(p, 'VM', vm)
  const vbds = (r.VBDs as string[]).map((b) => rec(p, 'VBD', b))
  return {
    disks: vbds
      .filter((b) => b.type === 'Disk')
      .map((b) => {
        const d = rec(p, 'VDI', String(b.VDI))
        return { name: d.name_label, size: d.virtual_size, sr: d.SR, at: b.userdevice, bootable: b.bootable }
      })
      .sort((a, b) => String(a.at).localeCompare(String(b.at))),
    cds: vbds.filter((b) => b.type === 'CD').map((b) => ({ at: b.userdevice, empty: b.empty, vdi: b.VDI, bootable: b.bootable })),
    vifs: (r.VIFs as string[]).map((v) => rec(p, 'VIF', v)).map((v) => ({ device: v.device, network: v.network })),
  }
}

const base = {
  description: 'made by the wizard',
  vcpusMax: 4,
  vcpusAtStartup: 2,
  coresPerSocket: 2,
  memoryStaticMax: 4 * GiB,
  memoryDynamicMin: 2 * GiB,
  memoryDynamicMax: 4 * GiB,
}

describe('New VM from each kind of template', () => {
  it('HVM from an ISO (UEFI): clone, provision without the XML, the disk and two NICs chosen, CD first, the ISO in the drive', async () => {
    const nfs = srNamed(cur, 'NFS VM storage')
    const eth0 = network(cur, 'Pool-wide network associated with eth0')
    const eth1 = network(cur, 'Pool-wide network associated with eth1')
    const disc = iso(cur, 'debian-12.7.0-amd64-netinst.iso')
    const r = await run({
      ...base,
      connectionId: curId,
      template: template(cur, 'AlmaLinux 9'),
      name: 'alma-new',
      install: { method: 'cd', vdi: disc },
      bootMode: 'uefi',
      disks: [{ device: '0', size: 30 * GiB, sr: nfs, name: 'alma-new 0' }],
      vifs: [{ network: eth0 }, { network: eth1 }],
    })
    expect(r.ok).toBe(true)
    const vm = String(r.created)
    const v = rec(cur, 'VM', vm)
    expect(v).toMatchObject({ name_label: 'alma-new', name_description: 'made by the wizard', is_a_template: false, power_state: 'Halted', VCPUs_max: 4, VCPUs_at_startup: 2 })
    expect(v).toMatchObject({ memory_static_max: 4 * GiB, memory_dynamic_min: 2 * GiB, memory_dynamic_max: 4 * GiB })
    expect(v.HVM_boot_params).toMatchObject({ order: 'dcn', firmware: 'uefi' })
    expect(v.platform).toMatchObject({ 'cores-per-socket': '2', secureboot: 'false' })
    expect(v.other_config).not.toHaveProperty('disks')
    expect(inventory(cur, vm)).toEqual({
      disks: [{ name: 'alma-new 0', size: 30 * GiB, sr: nfs, at: '0', bootable: false }],
      cds: [{ at: '3', empty: false, vdi: disc, bootable: true }],
      vifs: [
        { device: '0', network: eth0 },
        { device: '1', network: eth1 },
      ],
    })
    expect(history.list({}).at(-1)).toMatchObject({ action: 'New VM', ok: true })
  })

  it('UEFI Secure Boot (Windows 11), started on the chosen home server', async () => {
    const host2 = cur.hosts[1]?.ref ?? ''
    const local = srNamed(cur, 'Local storage', host2)
    const r = await run({
      ...base,
      connectionId: curId,
      template: template(cur, 'Windows 11'),
      name: 'win11-new',
      install: { method: 'cd' },
      bootMode: 'uefi-secure',
      homeServer: host2,
      disks: [{ device: '0', size: 64 * GiB, sr: local, name: 'win11-new 0' }],
      vifs: [{ network: network(cur, 'Pool-wide network associated with eth0') }],
      start: true,
    })
    expect(r).toMatchObject({ ok: true })
    expect(r).not.toHaveProperty('note')
    const v = rec(cur, 'VM', String(r.created))
    expect(v).toMatchObject({ power_state: 'Running', resident_on: host2, affinity: host2 })
    expect(v.HVM_boot_params).toMatchObject({ firmware: 'uefi', order: 'dcn' })
    expect(v.platform).toMatchObject({ secureboot: 'true' })
    expect(inventory(cur, String(r.created)).cds).toEqual([{ at: '3', empty: true, vdi: 'OpaqueRef:NULL', bootable: true }])
  })

  it('PV network install on XenServer 7.2 (Debian Jessie, eliloader): install-repository and kernel arguments, no HVM boot settings', async () => {
    const sr = srNamed(old, 'Local storage')
    const r = await run({
      ...base,
      vcpusMax: 2,
      coresPerSocket: 1,
      connectionId: oldId,
      template: template(old, 'Debian Jessie 8.0'),
      name: 'jessie-new',
      install: { method: 'url', url: 'http://deb.debian.org/debian/' },
      pvArgs: 'console=hvc0 auto=true',
      disks: [{ device: '0', size: 8 * GiB, sr, name: 'jessie-new 0' }],
      vifs: [{ network: network(old, 'Pool-wide network associated with eth0') }],
    })
    expect(r).toMatchObject({ ok: true })
    const v = rec(old, 'VM', String(r.created))
    expect(v.other_config).toMatchObject({ 'install-repository': 'http://deb.debian.org/debian/' })
    expect(v).toMatchObject({ PV_args: 'console=hvc0 auto=true', PV_bootloader: 'eliloader', HVM_boot_policy: '' })
    expect(inventory(old, String(r.created)).disks).toEqual([{ name: 'jessie-new 0', size: 8 * GiB, sr, at: '0', bootable: true }])
  })

  it('PXE (CentOS 7): network first in the boot order, the disk bootable, an empty DVD drive', async () => {
    const nfs = srNamed(cur, 'NFS VM storage')
    const r = await run({
      ...base,
      vcpusMax: 2,
      vcpusAtStartup: 1,
      connectionId: curId,
      template: template(cur, 'CentOS 7'),
      name: 'pxe-new',
      install: { method: 'pxe' },
      bootMode: 'bios',
      disks: [{ device: '0', size: 20 * GiB, sr: nfs, name: 'pxe-new 0' }],
      vifs: [{ network: network(cur, 'Pool-wide network associated with eth1') }],
    })
    expect(r).toMatchObject({ ok: true })
    const v = rec(cur, 'VM', String(r.created))
    expect(v.HVM_boot_params).toMatchObject({ order: 'ncd', firmware: 'bios' })
    expect(v).toMatchObject({ VCPUs_max: 2, VCPUs_at_startup: 1 })
    const inv = inventory(cur, String(r.created))
    expect(inv.disks).toEqual([{ name: 'pxe-new 0', size: 20 * GiB, sr: nfs, at: '0', bootable: true }])
    expect(inv.cds).toEqual([{ at: '3', empty: true, vdi: 'OpaqueRef:NULL', bootable: false }])
  })
})

describe('New VM from a snapshot (XenCenter’s New VM from Snapshot…: the wizard with the snapshot as its source)', () => {
  it('the snapshot’s clone is provisioned into a VM with copies of the snapshot’s disks and the NICs chosen, and started; the snapshot and its VM stay as they were', async () => {
    const snap = find(cur, 'VM', (r) => r.is_a_snapshot === true && r.name_label === 'web-01 before upgrade')
    const before = structuredClone(rec(cur, 'VM', snap))
    const snapDisks = inventory(cur, snap).disks
    const eth1 = network(cur, 'Pool-wide network associated with eth1')
    const r = await run({
      ...base,
      vcpusMax: 2,
      vcpusAtStartup: 2,
      coresPerSocket: 1,
      connectionId: curId,
      template: snap,
      name: 'web-01 restored',
      install: { method: 'none' },
      disks: [],
      vifs: [{ network: eth1 }],
      start: true,
    })
    expect(r).toMatchObject({ ok: true })
    expect(r).not.toHaveProperty('note')
    const vm = String(r.created)
    expect(rec(cur, 'VM', vm)).toMatchObject({ name_label: 'web-01 restored', is_a_template: false, is_a_snapshot: false, power_state: 'Running', VCPUs_max: 2 })
    const inv = inventory(cur, vm)
    // the snapshot's disks, copied (new VDIs of the same sizes on the same SRs), and only the NIC chosen
    expect(inv.disks.map((d) => ({ size: d.size, sr: d.sr, at: d.at }))).toEqual(snapDisks.map((d) => ({ size: d.size, sr: d.sr, at: d.at })))
    const snapVdis = new Set((before.VBDs as string[]).map((b) => String(rec(cur, 'VBD', b).VDI)))
    for (const b of rec(cur, 'VM', vm).VBDs as string[]) expect(snapVdis.has(String(rec(cur, 'VBD', b).VDI)) && rec(cur, 'VBD', b).type === 'Disk').toBe(false)
    expect(inv.vifs).toEqual([{ device: '0', network: eth1 }])
    const after = rec(cur, 'VM', snap)
    expect(after).toMatchObject({ is_a_snapshot: true, is_a_template: true, name_label: before.name_label, snapshot_of: before.snapshot_of })
    expect(after.VBDs).toEqual(before.VBDs)
    expect(after.VIFs).toEqual(before.VIFs)
    expect(calls.slice(-40)).toContain('VM.provision')
  })

  it('a snapshot that has booted keeps its firmware family: BIOS for a UEFI one is refused with XenCenter’s reason', async () => {
    const snap = find(cur, 'VM', (r) => r.is_a_snapshot === true && r.name_label === 'web-01 before upgrade')
    // web-01 (Debian 12) boots UEFI; its template supports BIOS too, so only XenCenter's rule refuses
    expect((rec(cur, 'VM', snap).HVM_boot_params as Record<string, string>).firmware).toBe('uefi')
    const n = calls.length
    await expect(
      run({ ...base, connectionId: curId, template: snap, name: 'wrong firmware', install: { method: 'none' }, bootMode: 'bios', disks: [], vifs: [] }),
    ).rejects.toMatchObject({ code: 'refused', message: 'web-01 before upgrade has already started with UEFI: the OS installed on it would not boot with BIOS' })
    expect(calls.length).toBe(n)
  })
})

describe('what XenPilot refuses and what a failure leaves', () => {
  it('a spec the wizard would refuse is refused with its sentence before XAPI is asked', async () => {
    const n = calls.length
    await expect(
      run({ ...base, vcpusMax: 200, connectionId: curId, template: template(cur, 'Alpine Linux 3.20'), name: 'too-big', install: { method: 'cd' }, disks: [], vifs: [] }),
    ).rejects.toMatchObject({ code: 'refused', message: 'This template allows at most 32 vCPUs' })
    // a home server that cannot reach the disk's storage (local to the other server): VM.start_on would fail with VM_REQUIRES_SR
    const [host1, host2] = [cur.hosts[0]?.ref ?? '', cur.hosts[1]?.ref ?? '']
    const local2 = srNamed(cur, 'Local storage', host2)
    await expect(
      run({ ...base, connectionId: curId, template: template(cur, 'Alpine Linux 3.20'), name: 'far', install: { method: 'pxe' }, homeServer: host1, disks: [{ size: 1024 ** 3, sr: local2, name: 'far 0' }], vifs: [] }),
    ).rejects.toMatchObject({ code: 'refused', message: "tiny-host-1 cannot reach 'Local storage', where far 0 goes: choose the server it is on, or no home server" })
    expect(calls.length).toBe(n)
  })

  it('XAPI refuses the second disk (SR_FULL: another client filled the SR a moment before): the VM, its first disk and everything else are removed, and the error says so', async () => {
    const host1 = cur.hosts[0]?.ref ?? ''
    const local = srNamed(cur, 'Local storage', host1)
    const vdisBefore = new Set(table(cur, 'VDI').keys())
    const vmsBefore = new Set(table(cur, 'VM').keys())
    let filler = ''
    before.set(`VDI.create#${calls.filter((c) => c === 'VDI.create').length + 2}`, async () => {
      const s = rec(cur, 'SR', local)
      const free = Number(s.physical_size) - Number(s.physical_utilisation)
      filler = String(await cur.call('VDI.create', [{ name_label: 'filler', SR: local, virtual_size: String(Math.floor(free / GiB) * GiB - GiB), type: 'user', sharable: false, read_only: false, other_config: {} } as SimValue]))
    })
    const r = await run({
      ...base,
      connectionId: curId,
      template: template(cur, 'AlmaLinux 9'),
      name: 'doomed',
      install: { method: 'cd' },
      bootMode: 'bios',
      disks: [
        { device: '0', size: 10 * GiB, sr: local, name: 'doomed 0' },
        { device: '1', size: 10 * GiB, sr: local, name: 'doomed 1' },
      ],
      vifs: [{ network: network(cur, 'Pool-wide network associated with eth0') }],
    })
    expect(r.ok).toBe(false)
    expect(r.error?.code).toBe('SR_FULL')
    expect(r.error?.message).toMatch(/^The storage repository is full: .* Nothing was left behind: the new VM and its disks were removed\.$/)
    expect([...table(cur, 'VM').keys()].filter((x) => !vmsBefore.has(x))).toEqual([])
    expect([...table(cur, 'VDI').keys()].filter((x) => !vdisBefore.has(x))).toEqual([filler])
    expect([...table(cur, 'VM').values()].some((v) => v.name_label === 'doomed')).toBe(false)
    await cur.call('VDI.destroy', [filler])
    await waitFor('graph without the filler', () => h.manager.graph(curId)?.get('VDI', filler) === undefined)
  })
})
