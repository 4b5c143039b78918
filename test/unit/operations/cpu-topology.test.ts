/**
 * The vCPU topology rule (shared/operations/cpu-topology.ts) the New VM wizard, VM Properties and
 * main all apply: cores per socket divide the maximum vCPUs, at most 16 sockets, no more cores per
 * socket than the server (host.cpu_info cpu_count / socket_count) — XenCenter's topology list.
 */
import { describe, expect, it } from 'vitest'
import { coresPerSocketChoices, hostCoresPerSocket, topologyHome, topologyLimit, topologyProblem, topologyText } from '../../../shared/operations/cpu-topology'
import { checkNewVm } from '../../../shared/operations/provision'
import { checkVmChanges, vmTopologyLimit } from '../../../shared/operations/vm-properties'
import type { StorageView } from '../../../shared/operations/storage'

const GiB = 1024 ** 3
const host = (name: string, cpus: number, sockets: number) => ({ name_label: name, cpu_info: { cpu_count: String(cpus), socket_count: String(sockets) } })
// two servers: 2 sockets of 8 (16 logical CPUs) and 1 socket of 32
const HOSTS: Record<string, Record<string, unknown>> = { 'OpaqueRef:h1': host('small', 16, 2), 'OpaqueRef:h2': host('big', 32, 1) }
const view = (extra: Record<string, Record<string, unknown>> = {}): StorageView => ({
  get: (cls, ref) => (cls === 'host' ? HOSTS[ref] : extra[ref]),
  vbdsOf: () => [],
  vdisOf: () => [],
  pbdsOf: () => [],
  hosts: () => Object.keys(HOSTS),
})

describe('vCPU topology', () => {
  it('a server’s cores per socket as XenCenter reads cpu_info; unknown is 0 (no limit)', () => {
    expect(hostCoresPerSocket(HOSTS['OpaqueRef:h1'])).toBe(8)
    expect(hostCoresPerSocket({ cpu_info: { cpu_count: '16' } })).toBe(0)
    expect(hostCoresPerSocket(undefined)).toBe(0)
    expect(topologyLimit(Object.values(HOSTS))).toEqual({ coresPerSocket: 32 })
    expect(topologyLimit(Object.values(HOSTS), HOSTS['OpaqueRef:h1'])).toEqual({ coresPerSocket: 8, host: 'small' })
  })

  it('offers only what divides the vCPUs, makes at most 16 sockets and fits the server', () => {
    expect(coresPerSocketChoices(12, { coresPerSocket: 8 })).toEqual([1, 2, 3, 4, 6])
    expect(coresPerSocketChoices(12, { coresPerSocket: 0 })).toEqual([1, 2, 3, 4, 6, 12])
    // 32 vCPUs: 1 core per socket would be 32 sockets
    expect(coresPerSocketChoices(32, { coresPerSocket: 32 })).toEqual([2, 4, 8, 16, 32])
    expect(topologyProblem(32, 1, { coresPerSocket: 32 })).toBe("32 vCPUs with 1 core per socket make 32 sockets; a VM has at most 16 (Xen's limit): choose more cores per socket")
    expect(topologyProblem(6, 4, { coresPerSocket: 0 })).toBe('The maximum vCPUs (6) must be a multiple of the cores per socket (4)')
    expect(topologyProblem(16, 16, { coresPerSocket: 8, host: 'small' })).toBe('small has 8 logical CPUs per socket: a VM cannot have more cores per socket (16 chosen)')
    expect(topologyProblem(64, 64, { coresPerSocket: 32 })).toBe('The largest server of this pool has 32 logical CPUs per socket: a VM cannot have more cores per socket (64 chosen)')
    expect(topologyProblem(4, 0, { coresPerSocket: 0 })).toMatch(/at least 1/)
    expect(topologyText(8, 4)).toBe('2 sockets with 4 cores each')
    expect(topologyText(4, 4)).toBe('1 socket with 4 cores')
  })

  it('the server a VM must fit: where it runs, else the home server being chosen, else its affinity', () => {
    expect(topologyHome({ power_state: 'Running', resident_on: 'OpaqueRef:h1', affinity: 'OpaqueRef:h2' }, 'OpaqueRef:h2')).toBe('OpaqueRef:h1')
    expect(topologyHome({ power_state: 'Halted', affinity: 'OpaqueRef:h2' }, '')).toBeUndefined()
    expect(topologyHome({ power_state: 'Halted', affinity: 'OpaqueRef:h2' })).toBe('OpaqueRef:h2')
  })

  it('VM Properties refuses a topology the home server cannot give, and takes it without a home server', () => {
    const vm = { name_label: 'db', power_state: 'Halted', HVM_boot_policy: 'BIOS order', VCPUs_max: 4, VCPUs_at_startup: 4, affinity: 'OpaqueRef:h1', platform: {}, allowed_operations: [] }
    const change = { vcpusMax: 16, coresPerSocket: 16 }
    expect(checkVmChanges(vm, change, { topology: vmTopologyLimit(view(), vm, change), agility: true })).toBe('small has 8 logical CPUs per socket: a VM cannot have more cores per socket (16 chosen).')
    const unhomed = { ...change, homeServer: '' }
    expect(checkVmChanges(vm, unhomed, { topology: vmTopologyLimit(view(), vm, unhomed), agility: true })).toBe(true)
    expect(checkVmChanges(vm, { vcpusMax: 32 }, { topology: vmTopologyLimit(view(), vm), agility: true })).toMatch(/32 sockets; a VM has at most 16/)
  })

  it('the New VM wizard applies the same rule to the home server chosen', () => {
    const template = { name_label: 'Debian', is_a_template: true, HVM_boot_policy: 'BIOS order', memory_static_min: GiB, recommendations: '' }
    const spec = {
      connectionId: 'c',
      template: 'OpaqueRef:t',
      name: 'db',
      description: '',
      install: { method: 'pxe' as const },
      vcpusMax: 16,
      vcpusAtStartup: 16,
      coresPerSocket: 16,
      memoryStaticMax: 2 * GiB,
      memoryDynamicMin: 2 * GiB,
      memoryDynamicMax: 2 * GiB,
      disks: [],
      vifs: [],
      start: false,
    }
    expect(checkNewVm(view(), { ...spec, homeServer: 'OpaqueRef:h1' }, template).cpu).toBe('small has 8 logical CPUs per socket: a VM cannot have more cores per socket (16 chosen)')
    expect(checkNewVm(view(), { ...spec, homeServer: 'OpaqueRef:h2' }, template).cpu).toBeUndefined()
    expect(checkNewVm(view(), spec, template).cpu).toBeUndefined()
    expect(checkNewVm(view(), { ...spec, vcpusMax: 32, vcpusAtStartup: 32, coresPerSocket: 1 }, template).cpu).toMatch(/make 32 sockets/)
  })
})
