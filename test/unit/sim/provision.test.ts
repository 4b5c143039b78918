import { describe, expect, it } from 'vitest'
import { parseProvisionXml } from '../../sim/server/provision'
import { makePool } from './harness'

const GiB = 1024 ** 3

/** the tiny pool's default template (a disk at 0), cloned into a template whose provision XML names `disks` */
async function templateWith(h: ReturnType<typeof makePool>, xml: string): Promise<string> {
  const clone = String(await h.call('VM.clone', h.t.refs.defaultTemplate, 'new-vm'))
  await h.call('VM.remove_from_other_config', clone, 'disks')
  await h.call('VM.add_to_other_config', clone, 'disks', xml)
  return clone
}

const srUuid = (h: ReturnType<typeof makePool>): string => {
  const [sr] = [...h.pool.db.table('SR').values()]
  return String(sr?.['uuid'])
}

describe('VM.provision (xapi_vm.ml + xapi_templates.ml)', () => {
  it('makes a VDI and VBD per <disk>, named after its device, then drops the provision keys and the template flag', async () => {
    const h = makePool()
    const sr = srUuid(h)
    const vm = await templateWith(h, `<provision><disk device="1" size="${8 * GiB}" sr="${sr}" bootable="true" type="system"/><disk device="2" size="${GiB}" sr="${sr}" bootable="false" type="user"/></provision>`)
    await h.call('VM.add_to_other_config', vm, 'postinstall', 'echo hi')
    const before = (h.rec('VM', vm)['VBDs'] as string[]).length
    await h.call('VM.provision', vm)
    const rec = h.rec('VM', vm)
    expect(rec['is_a_template']).toBe(false)
    expect(rec['other_config']).not.toHaveProperty('disks')
    expect(rec['other_config']).not.toHaveProperty('postinstall')
    const vbds = (rec['VBDs'] as string[]).slice(before).map((r) => h.rec('VBD', r))
    expect(vbds.map((v) => [v['userdevice'], v['bootable'], v['mode'], v['type'], v['unpluggable']])).toEqual([
      ['1', true, 'RW', 'Disk', false],
      ['2', false, 'RW', 'Disk', true],
    ])
    const vdis = vbds.map((v) => h.rec('VDI', String(v['VDI'])))
    expect(vdis.map((d) => [d['name_label'], d['name_description'], d['virtual_size'], d['type']])).toEqual([
      ['1', 'Created by template provisioner', 8 * GiB, 'system'],
      ['2', 'Created by template provisioner', GiB, 'user'],
    ])
  })

  it('refuses a VM that is not a template, an SR that is no UUID (deleting the disks made before), and a malformed document', async () => {
    const h = makePool()
    expect(await h.fails('VM.provision', h.t.refs.halted)).toEqual(['PROVISION_ONLY_ALLOWED_ON_TEMPLATE'])
    const sr = srUuid(h)
    const vm = await templateWith(h, `<provision><disk device="1" size="${GiB}" sr="${sr}" bootable="true" type="system"/><disk device="2" size="${GiB}" sr="" bootable="false" type="user"/></provision>`)
    const vdisBefore = h.pool.db.table('VDI').size
    expect(await h.fails('VM.provision', vm)).toEqual(['UUID_INVALID', 'sr', ''])
    expect(h.pool.db.table('VDI').size).toBe(vdisBefore)
    expect(h.rec('VM', vm)['other_config']).toHaveProperty('disks')
    expect(() => parseProvisionXml('<provision><disk device="0"/></provision>')).toThrow()
    expect(() => parseProvisionXml('<provision><cdrom/></provision>')).toThrow()
    expect(parseProvisionXml('<provision></provision>')).toEqual([])
  })

  it('an SR too small for the disk: SR_FULL and nothing left behind', async () => {
    const h = makePool()
    // a thick SR (the tiny one is thin: it would take any size)
    for (const [ref, sm] of h.pool.db.table('SM')) h.pool.db.update('SM', ref, { capabilities: (sm['capabilities'] as string[]).filter((c) => c !== 'THIN_PROVISIONING') })
    const sr = srUuid(h)
    const vm = await templateWith(h, `<provision><disk device="1" size="${GiB}" sr="${sr}" bootable="true" type="system"/><disk device="2" size="${4096 * GiB}" sr="${sr}" bootable="false" type="user"/></provision>`)
    const vdisBefore = h.pool.db.table('VDI').size
    const vbdsBefore = h.pool.db.table('VBD').size
    const err = await h.fails('VM.provision', vm)
    expect(err[0]).toBe('SR_FULL')
    expect(h.pool.db.table('VDI').size).toBe(vdisBefore)
    expect(h.pool.db.table('VBD').size).toBe(vbdsBefore)
  })
})

describe('VCPU and memory setters with XAPI’s checks', () => {
  it('VCPUs_max / VCPUs_at_startup: halted only, 0 < at_startup ≤ max in XAPI’s words', async () => {
    const h = makePool()
    const vm = h.t.refs.halted
    await h.call('VM.set_VCPUs_max', vm, 8)
    await h.call('VM.set_VCPUs_at_startup', vm, 4)
    expect(h.rec('VM', vm)).toMatchObject({ VCPUs_max: 8, VCPUs_at_startup: 4 })
    expect(await h.fails('VM.set_VCPUs_at_startup', vm, 9)).toEqual(['INVALID_VALUE', 'VCPU values must satisfy: 0 < VCPUs_at_startup ≤ VCPUs_max', '9'])
    expect(await h.fails('VM.set_VCPUs_max', vm, 2)).toEqual(['INVALID_VALUE', 'VCPU values must satisfy: 0 < VCPUs_at_startup ≤ VCPUs_max', '2'])
    expect(await h.fails('VM.set_VCPUs_at_startup', vm, 0)).toEqual(['INVALID_VALUE', 'VCPU values must satisfy: 0 < VCPUs_at_startup ≤ VCPUs_max', '0'])
    expect(await h.fails('VM.set_VCPUs_max', h.t.refs.running, 4)).toEqual(['VM_BAD_POWER_STATE', h.t.refs.running, 'halted', 'running'])
  })

  it('VM.start builds the domain as xapi_xenops does (Vm_platform.sanity_check): VCPUs_max a multiple of cores-per-socket, a device model that boots the firmware', async () => {
    const h = makePool()
    const vm = h.t.refs.halted
    // another client set 3 vCPUs on a VM with 2 cores per socket: XAPI takes both, and refuses to start it
    await h.call('VM.add_to_platform', vm, 'cores-per-socket', '2')
    await h.call('VM.set_VCPUs_max', vm, 3)
    expect(await h.fails('VM.start', vm, false, false)).toEqual(['VCPU_MAX_NOT_CORES_PER_SOCKET_MULTIPLE', '3', '2'])
    expect(await h.fails('VM.start_on', vm, h.t.refs.hosts[0] ?? '', false, false)).toEqual(['VCPU_MAX_NOT_CORES_PER_SOCKET_MULTIPLE', '3', '2'])
    await h.call('VM.remove_from_platform', vm, 'cores-per-socket')
    await h.call('VM.add_to_platform', vm, 'cores-per-socket', 'two')
    expect(await h.fails('VM.start', vm, false, false)).toEqual(['INVALID_VALUE', 'platform:cores-per-socket', 'two'])
    await h.call('VM.remove_from_platform', vm, 'cores-per-socket')
    await h.call('VM.add_to_platform', vm, 'cores-per-socket', '3')
    // Xapi_vm.start wrote the default device model before xenopsd refused (as XAPI does)
    expect(h.rec('VM', vm)['platform']).toMatchObject({ 'device-model': 'qemu-upstream-compat' })
    // a device model for the other firmware
    await h.call('VM.remove_from_platform', vm, 'device-model')
    await h.call('VM.add_to_platform', vm, 'device-model', 'qemu-upstream-uefi')
    expect(await h.fails('VM.start', vm, false, false)).toEqual(['INVALID_VALUE', 'platform:device-model', 'BIOS boot is not supported with qemu-upstream-uefi'])
    await h.call('VM.remove_from_platform', vm, 'device-model')
    // none at all: xapi adds the default for the firmware (ensure_device_model_profile_present) and starts
    await h.call('VM.start', vm, false, false)
    expect(h.rec('VM', vm)['platform']).toMatchObject({ 'device-model': 'qemu-upstream-compat' })
    expect(Object.keys(h.rec('VM', vm)['last_boot_CPU_flags'] as Record<string, string>)).toEqual(['vendor', 'features'])
    // a PV guest has no cores-per-socket rule
    const pv = makePool()
    await pv.call('VM.add_to_platform', pv.t.refs.halted, 'cores-per-socket', '2')
    pv.pool.db.update('VM', pv.t.refs.halted, { domain_type: 'pv', HVM_boot_policy: '' })
    await pv.call('VM.set_VCPUs_max', pv.t.refs.halted, 3)
    await pv.call('VM.start', pv.t.refs.halted, false, false)
  })

  it('vCPU hot-plug (VM.set_VCPUs_number_live): running only, up to VCPUs_max, in XAPI’s words (xapi_xenops.ml set_vcpus)', async () => {
    const h = makePool()
    await h.call('VM.set_VCPUs_number_live', h.t.refs.running, 1)
    expect(h.rec('VM', h.t.refs.running)['VCPUs_at_startup']).toBe(1)
    expect(await h.fails('VM.set_VCPUs_number_live', h.t.refs.running, 3)).toEqual(['INVALID_VALUE', 'VCPU values must satisfy: 0 < VCPUs ≤ VCPUs_max', '3'])
    expect(await h.fails('VM.set_VCPUs_number_live', h.t.refs.halted, 1)).toEqual(['VM_BAD_POWER_STATE', h.t.refs.halted, 'running', 'halted'])
  })

  it('memory: static limits halted only, the dynamic range live too, the order kept (7.2 says it in words)', async () => {
    const h = makePool()
    expect(await h.fails('VM.set_memory_limits', h.t.refs.running, 512 * 1024 ** 2, 4 * GiB, GiB, 2 * GiB)).toEqual(['VM_BAD_POWER_STATE', h.t.refs.running, 'halted', 'running'])
    expect(await h.fails('VM.set_memory_static_max', h.t.refs.running, 4 * GiB)).toEqual(['VM_BAD_POWER_STATE', h.t.refs.running, 'halted', 'running'])
    await h.call('VM.set_memory_dynamic_max', h.t.refs.running, 1536 * 1024 ** 2)
    expect(h.rec('VM', h.t.refs.running)['memory_dynamic_max']).toBe(1536 * 1024 ** 2)
    expect(await h.fails('VM.set_memory_dynamic_max', h.t.refs.running, 4 * GiB)).toEqual(['MEMORY_CONSTRAINT_VIOLATION_ORDER'])
    await h.call('VM.set_memory', h.t.refs.halted, 4 * GiB)
    expect(h.rec('VM', h.t.refs.halted)).toMatchObject({ memory_static_max: 4 * GiB, memory_dynamic_min: 4 * GiB, memory_dynamic_max: 4 * GiB })
    const old = makePool({ release: 'falcon' })
    expect(await old.fails('VM.set_memory_dynamic_range', old.t.refs.halted, 3 * GiB, 2 * GiB)).toEqual([
      'MEMORY_CONSTRAINT_VIOLATION',
      'Memory limits must satisfy: static_min ≤ dynamic_min ≤ dynamic_max ≤ static_max',
    ])
  })

  it('is_a_template: a running VM cannot become one; a VM from a default template is no default template', async () => {
    const h = makePool()
    expect(await h.fails('VM.set_is_a_template', h.t.refs.running, true)).toEqual(['VM_BAD_POWER_STATE', h.t.refs.running, 'halted', 'running'])
    await h.call('VM.set_is_a_template', h.t.refs.halted, true)
    expect(h.rec('VM', h.t.refs.halted)['allowed_operations']).not.toContain('start')
    await h.call('VM.set_is_a_template', h.t.refs.halted, false)
    expect(h.rec('VM', h.t.refs.halted)['allowed_operations']).toContain('start')
  })

  it('VM.copy refuses an ISO library as the target SR', async () => {
    const h = makePool()
    const iso = 'OpaqueRef:iso-sr'
    h.pool.db.insert('SR', iso, h.pool.db.blank('SR', { name_label: 'ISOs', content_type: 'iso', type: 'iso' }))
    expect(await h.fails('VM.copy', h.t.refs.halted, 'c', iso)).toEqual(['OPERATION_NOT_ALLOWED', "Cannot copy a VM's disks to an ISO SR"])
  })
})

describe('HA restart priority and templates (xapi_vm_helpers.ml)', () => {
  it('set_ha_restart_priority: restart / best-effort / "" only; with HA on, protecting a running VM that is not agile breaks the failover plan (a halted one, or HA off, is not checked)', async () => {
    const h = makePool()
    const vm = h.t.refs.running
    // the tiny pool's network has no PIF yet: give it one on every host so that the VM is agile
    for (const host of h.t.refs.hosts) {
      const pif = `OpaqueRef:pif-${host}`
      h.pool.db.insert('PIF', pif, h.pool.db.blank('PIF', { host, network: h.t.refs.network, device: 'eth0', currently_attached: true, bond_slave_of: 'OpaqueRef:NULL' }))
    }
    h.pool.db.update('network', h.t.refs.network, { PIFs: h.t.refs.hosts.map((host) => `OpaqueRef:pif-${host}`) })
    await h.call('VM.assert_agile', vm)
    expect(await h.fails('VM.set_ha_restart_priority', vm, '1')).toEqual(['INVALID_VALUE', 'ha_restart_priority', '1'])
    await h.call('VM.set_ha_restart_priority', vm, 'best-effort')
    expect(h.rec('VM', vm)).toMatchObject({ ha_restart_priority: 'best-effort', ha_always_run: false })
    // the VM's SR no longer shared: Agility.vm_assert_agile names it
    h.pool.db.update('SR', h.t.refs.sr, { shared: false })
    expect(await h.fails('VM.assert_agile', vm)).toEqual(['HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED', h.t.refs.sr])
    // HA off: XAPI keeps the priority without asking the planner
    await h.call('VM.set_ha_restart_priority', vm, 'restart')
    expect(h.rec('VM', vm)).toMatchObject({ ha_restart_priority: 'restart', ha_always_run: true })
    await h.call('VM.set_ha_restart_priority', vm, 'best-effort')
    // HA on: the planner refuses a VM it could not restart elsewhere; best-effort stays
    h.pool.db.update('pool', h.t.refs.pool, { ha_enabled: true })
    expect(await h.fails('VM.set_ha_restart_priority', vm, 'restart')).toEqual(['HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN'])
    expect(h.rec('VM', vm)['ha_restart_priority']).toBe('best-effort')
    // a halted VM is not planned for until it starts
    await h.call('VM.set_ha_restart_priority', h.t.refs.halted, 'restart')
    expect(h.rec('VM', h.t.refs.halted)).toMatchObject({ ha_restart_priority: 'restart', ha_always_run: false })
    h.pool.db.update('SR', h.t.refs.sr, { shared: true })
    await h.call('VM.set_ha_restart_priority', vm, 'restart')
    expect(h.rec('VM', vm)).toMatchObject({ ha_restart_priority: 'restart', ha_always_run: true })
  })

  it('VM.assert_agile: a network without PIFs (private) or missing on a server, a vGPU, an SR not plugged everywhere', async () => {
    const h = makePool()
    const vm = h.t.refs.running
    expect(await h.fails('VM.assert_agile', vm)).toEqual(['HA_CONSTRAINT_VIOLATION_NETWORK_NOT_SHARED', h.t.refs.network])
    const [first, second] = h.t.refs.hosts
    h.pool.db.insert('PIF', 'OpaqueRef:pif-1', h.pool.db.blank('PIF', { host: first ?? '', network: h.t.refs.network, device: 'eth0', currently_attached: true }))
    h.pool.db.update('network', h.t.refs.network, { PIFs: ['OpaqueRef:pif-1'] })
    expect(await h.fails('VM.assert_agile', vm)).toEqual(['HA_CONSTRAINT_VIOLATION_NETWORK_NOT_SHARED', h.t.refs.network])
    // the second server disabled: it does not count
    h.pool.db.update('host', second ?? '', { enabled: false })
    await h.call('VM.assert_agile', vm)
    const pbd = (h.rec('SR', h.t.refs.sr)['PBDs'] as string[])[0] ?? ''
    h.pool.db.update('PBD', pbd, { currently_attached: false })
    expect(await h.fails('VM.assert_agile', vm)).toEqual(['HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED', h.t.refs.sr])
    h.pool.db.update('PBD', pbd, { currently_attached: true })
    h.pool.db.update('VM', vm, { VGPUs: ['OpaqueRef:vgpu'] })
    expect(await h.fails('VM.assert_agile', vm)).toEqual(['VM_HAS_VGPU', vm])
  })

  it('a default template cannot be destroyed (xapi_vm_lifecycle.ml check_template: VM_IS_TEMPLATE … destroy); a custom one can', async () => {
    const h = makePool()
    expect(await h.fails('VM.destroy', h.t.refs.defaultTemplate)).toEqual(['VM_IS_TEMPLATE', h.t.refs.defaultTemplate, 'destroy'])
    const custom = String(await h.call('VM.clone', h.t.refs.defaultTemplate, 'my template'))
    expect(h.rec('VM', custom)).toMatchObject({ is_a_template: true, is_default_template: false })
    await h.call('VM.destroy', custom)
    expect(h.pool.db.get('VM', custom)).toBeUndefined()
  })

  it('the clone of a snapshot is a template (xapi_vm_clone.ml): new template from snapshot', async () => {
    const h = makePool()
    const snap = String(await h.call('VM.snapshot', h.t.refs.halted, 'before upgrade'))
    const t = String(await h.call('VM.clone', snap, 'golden'))
    expect(h.rec('VM', t)).toMatchObject({ name_label: 'golden', is_a_template: true, is_a_snapshot: false, is_default_template: false })
  })
})
