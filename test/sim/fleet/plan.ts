/** What a fleet asks the pool builder for: pools, hosts and VMs as plans (test/sim/fleet/index.ts writes them). */
import type { HardwareSpec } from './hardware'
import type { OsKey, ProductId } from './products'

export type PowerState = 'Running' | 'Halted' | 'Suspended' | 'Paused'

export interface HostPlan {
  name: string
  hw: HardwareSpec
  numaAffinityPolicy?: 'any' | 'best_effort' | 'default_policy'
  dom0MemGiB: number
  dom0Vcpus: number
}

export interface VmSpec {
  name: string
  os: OsKey
  power: PowerState
  /** preferred host index for running/paused VMs; the builder falls back to the emptiest host */
  host?: number
  memGiB: number
  vcpus: number
  /** data disks beyond the system disk, GiB */
  dataDisksGiB?: number[]
  nics?: number
  /** false: no guest agent (no guest_metrics, fewer allowed operations) */
  tools?: boolean
  description?: string
  folder?: string
  tags?: string[]
  /** VCPUs_params.mask (hard affinity, skips NUMA placement) */
  mask?: string
  blocked?: Record<string, string>
  haRestart?: boolean
  /** keep the system disk on the host's local SR (otherwise shared storage when the pool has it) */
  localDisk?: boolean
  /** VM.affinity host index */
  affinity?: number
  /** take this many snapshots of the VM */
  snapshots?: number
  /** a dangling VM.parent: the snapshot it was reverted from has since been deleted (real pools have these) */
  danglingParent?: boolean
  /** tools ISO inserted in the CD drive */
  cdTools?: boolean
}

export interface PoolPlan {
  name: string
  product: ProductId
  /** overrides the product's default XAPI release */
  release?: string
  username: string
  password: string
  /** '127.77.3' → hosts 127.77.3.1, 127.77.3.2, … */
  addressPrefix: string
  /** private guest subnet, '10.3' → guests 10.3.x.y */
  guestNet: string
  hosts: HostPlan[]
  vms: VmSpec[]
  /** default templates to install: all of the product's, or the first n */
  defaultTemplates: number | 'all'
  customTemplates: { name: string; os: OsKey; diskGiB: number }[]
  sharedStorage: boolean
  isoLibrary: boolean
  vlan: boolean
  messages: number
  externalConsoles?: Record<string, { host: string; port: number }>
  /**
   * Highest share of a host's memory the generated running VMs may take (default 0.8), so a fresh
   * fleet can still start VMs; VMs that do not fit anywhere stay Halted.
   */
  maxFill?: number
}
