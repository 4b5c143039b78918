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
  /** the host's clock this many seconds ahead of the real time (negative: behind): host.get_servertime */
  clockSkewS?: number
  /** host.timezone (XAPI ≥ 26.0 reports it; default 'UTC') */
  timezone?: string
  /** custom NTP servers (host.ntp_mode 'ntp_mode_custom'); default DHCP-given */
  ntpServers?: string[]
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
  /** XenCenter custom field values by field name (other_config["XenCenter.CustomFields.<name>"]) */
  customFields?: Record<string, string>
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
  /** the product's first N default templates, all of them, or these names */
  defaultTemplates: number | 'all' | readonly string[]
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
  /** NIC hardware and the networking beyond eth0/eth1: bonds, VLANs, hidden networks (network.ts) */
  network?: NetworkPlan
  /**
   * disks no VM uses any more (left behind by deleted VMs or failed imports: what the SR view flags
   * as orphans); on the shared SR, or on the first host's local SR with `local`
   */
  orphanDisks?: { name: string; gib: number; usedShare: number; local?: boolean; description?: string }[]
  /** the ISO library is not connected on this host (index): its PBD is unplugged, as after a failed mount */
  isoLibraryUnpluggedOn?: number
  /** pool.gui_config entries as XenCenter leaves them (custom field definitions, saved searches), over the generated ones */
  guiConfig?: Record<string, string>
}

/** NIC models the fleet's hosts carry (vendor, PCI ids, speed as PIF_metrics reports them) */
export type NicModel = 'x710' | 'i350' | 'i219' | 'rtl8111' | 'bcm57414' | 'cx5' | '82599'

export interface NetworkPlan {
  /** models of eth0 and eth1 (default: Intel X710 10 GbE) */
  nicModels?: [NicModel, NicModel]
  /** host indexes whose eth1 has no link (cable unplugged) */
  eth1DownOn?: number[]
  /**
   * further ports: on `network` (a named network, made once for the pool) or else on their own
   * pool-wide network ('Pool-wide network associated with ethN'); `introduced: false` ports have no
   * PIF yet, so PIF.scan finds them
   */
  nics?: { device: string; model: NicModel; hosts?: number[]; network?: string; introduced?: boolean; carrier?: boolean }[]
  /** bonds of ports listed in `nics`, on a network named `name`; `vms`: VMs whose first NIC is on the bond network (name prefix) */
  bonds?: { name: string; devices: string[]; mode: 'balance-slb' | 'active-backup' | 'lacp'; hosts?: number[]; mtu?: number; vms?: string }[]
  /** VLANs on a device of the listed hosts (every host when omitted), on a network named `name` */
  vlans?: { name: string; tag: number; device: string; hosts?: number[]; mtu?: number }[]
  /** private networks marked other_config.HideFromXenCenter */
  hidden?: { name: string; description: string }[]
}
