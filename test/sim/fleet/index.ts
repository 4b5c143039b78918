// OWNER: fleets helper. Boundary signature fixed by the lead; implementation replaces this body.
/**
 * The simulator's fleets, deterministic from opts.seed (default DEFAULT_SEED). Host addresses are
 * `${addressBase}.<pool index + 1>.<host index + 1>` (default 127.77.x.y); username 'root' everywhere.
 *
 *  tiny        tiny-current  XenServer 8, xapi 26.2.0, JSON-RPC, password 'tiny-current-secret'
 *                            hosts tiny-host-1 (2 sockets, 2 nodes, 32 threads, adjacent siblings,
 *                            numa_affinity_policy best_effort) and tiny-host-2 (1 node, 32 threads, split)
 *                            VMs web-01 (Running, host 1, 1 snapshot 'web-01 before upgrade'),
 *                            web-02 (Running, host 2), db-01 (Running, host 1, 80 GiB: spans 2 nodes),
 *                            win-app-01 (Running, host 2, tools ISO in its CD), pinned-01 (Running,
 *                            host 1, VCPUs_params.mask '2,3,4,5'), build-01 (Halted), legacy-app
 *                            (Halted, no tools, blocked destroy), suspended-01 (Suspended);
 *                            3 default templates, custom template 'debian12-golden'; NICs eth0, eth1
 *                            (+ VLAN 20 on eth1) and spare eth2, eth3 (1 GbE) on each host
 *              tiny-legacy   XenServer 7.2 ('falcon'), XML-RPC only, password 'tiny-legacy-secret',
 *                            host tiny-xs72; VMs old-web (Running), old-db (Running), old-win (Halted)
 *  demo        Lab (XCP-ng 8.3, xapi 25.34.0, 1 host, 1 node), Production (XenServer 8, 26.2.0, 4 hosts
 *              with 2 nodes, 200 VMs incl. sap-hana-01 / db-warehouse-0x spanning nodes; xs-prod-03's
 *              clock 252 s ahead), Legacy (XenServer 7.2, 2 hosts, 30 VMs), Production-DR (XenServer 8,
 *              2 hosts, 12 VMs, its own NTP servers and time zone: the fleet drift); opDurationMs 1000
 *              networking: Production has a 25 GbE LACP bond (k8s-node VMs on it), 'iSCSI path B'
 *              on eth4 of hosts 1–3 but eth5 of host 4 and 'Backup (VLAN 40)' missing on host 4 (the
 *              per-host mismatch), a hidden 'Replication' network; Legacy an active-backup bond with
 *              one member down on xs72-02; Lab a NIC without link and a card PIF.scan introduces
 *  bench-10k   one XenServer 8 pool, 16 hosts (4-node SNC and 2-node), 10,000 VMs
 *  many-pools  50 pools × 2 hosts × 400 VMs, mixed XCP-ng 8.3 / XenServer 8 / 7.2
 *  huge        200 pools × 2 hosts × 500 VMs (100,000 VMs), mixed as many-pools; opts.scale (0 < s ≤ 1)
 *              keeps round(200 × s) pools of the same 500 VMs for the sizes in between
 *
 * opts.externalConsoles puts `other_config[EXTERNAL_VNC_KEY] = 'host:port'` on the named VMs.
 */
import type { FleetName, SimFleet } from '../model'
import { Rng } from '../records'
import { PoolBuilder, type HostPlan, type PoolPlan, type PowerState, type VmSpec } from './builder'
import { epycHost, haswellHost, labHost, sncHost, twoNodeHost } from './hardware'
import { OSES, PRODUCTS, type OsKey, type ProductId } from './products'
import { CUSTOM_FIELDS_KEY, writeCustomFieldDefinitions } from '../../../shared/xencenter/custom-fields'
import { searchKey } from '../../../shared/xencenter/search'

/**
 * What XenCenter leaves in the Production pool's gui_config (issue 19): its custom field
 * definitions and two saved searches — one XenPilot runs, one using a condition it cannot run
 * yet (listed as such, never rewritten).
 */
const DEMO_SEARCH_FINANCE = '0f1e2d3c-5a6b-4c7d-8e9f-0a1b2c3d4e5f'
const DEMO_SEARCH_SUBNET = '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d'
const PRODUCTION_GUI_CONFIG: Record<string, string> = {
  [CUSTOM_FIELDS_KEY]: writeCustomFieldDefinitions([
    { name: 'owner', type: 'String' },
    { name: 'cost-centre', type: 'String' },
    { name: 'expires', type: 'Date' },
  ]),
  [searchKey(DEMO_SEARCH_FINANCE)]:
    `<Search uuid="${DEMO_SEARCH_FINANCE}" name="Finance VMs" major_version="2" minor_version="0" show_expanded="yes"><Query><QueryScope><VM /></QueryScope><CustomFieldQuery query="finance" type="contains"><CustomFieldDefinition name="owner" type="String" defaultValue="" /></CustomFieldQuery></Query><sorting><sort column="name" ascending="yes" /></sorting></Search>`,
  [searchKey(DEMO_SEARCH_SUBNET)]:
    `<Search uuid="${DEMO_SEARCH_SUBNET}" name="VMs in 10.20.0.0/16" major_version="2" minor_version="0"><Query><QueryScope><VM /></QueryScope><IPAddressQuery property="ip_address" address="10.20.0.0/16" /></Query><sorting /></Search>`,
}

export { EXTERNAL_VNC_KEY, FLEET_EPOCH_MS } from './builder'

export interface BuildFleetOptions {
  seed?: number
  opDurationMs?: number
  /** first two octets of the fleet's loopback addresses, e.g. '127.77' → hosts 127.77.<pool>.<host> */
  addressBase?: string
  /** `huge` only: the share of its 200 pools to build (0 < scale ≤ 1; 0.25 → 50 pools, 25,000 VMs) */
  scale?: number
  /** put a real VNC server (host:port) behind this VM's console (by name_label) */
  externalConsoles?: Record<string, { host: string; port: number }>
}

export const DEFAULT_SEED = 20261019
export const DEFAULT_ADDRESS_BASE = '127.77'

export function buildFleet(name: FleetName, opts: BuildFleetOptions = {}): SimFleet {
  const seed = opts.seed ?? DEFAULT_SEED
  const base = opts.addressBase ?? DEFAULT_ADDRESS_BASE
  if (!/^127\.\d{1,3}$/.test(base)) throw new Error(`addressBase '${base}' must be two octets inside 127.0.0.0/8, like '127.77'`)
  if (opts.scale !== undefined && !(opts.scale > 0 && opts.scale <= 1)) throw new Error(`scale ${opts.scale} must be more than 0 and at most 1`)
  const plans = fleetPlans(name, seed, base, opts.externalConsoles, opts.scale ?? 1)
  const pools = plans.map((plan, i) => new PoolBuilder(plan, poolSeed(seed, i)).build())
  return { name, seed, opDurationMs: opts.opDurationMs ?? (name === 'demo' ? 1000 : 0), pools }
}

function poolSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 31) + Math.imul(index + 1, 0x9e3779b1)) >>> 0
}

const addr = (base: string, poolIndex: number): string => `${base}.${poolIndex + 1}`

function host(name: string, hw: HostPlan['hw'], extra: Partial<HostPlan> = {}): HostPlan {
  const threads = hw.topology.sockets * hw.topology.coresPerSocket * hw.topology.threadsPerCore
  return { name, hw, dom0MemGiB: hw.topology.nodeMemMiB.length > 1 ? 8 : 4, dom0Vcpus: Math.min(16, threads), ...extra }
}

function fleetPlans(name: FleetName, seed: number, base: string, ext: BuildFleetOptions['externalConsoles'], scale: number): PoolPlan[] {
  switch (name) {
    case 'tiny':
      return tinyPlans(base, ext)
    case 'demo':
      return demoPlans(seed, base, ext)
    case 'bench-10k':
      return [benchPlan(seed, base, ext)]
    case 'many-pools':
      return manyPoolPlans(seed, base, ext, 50, 400)
    case 'huge':
      return manyPoolPlans(seed ^ 0x4855, base, ext, Math.max(1, Math.round(HUGE_POOLS * scale)), 500)
  }
}

// ---------------------------------------------------------------------------------------------
// tiny: two small pools with hand-written VMs, for tests that need to know names and states.

function tinyPlans(base: string, ext: BuildFleetOptions['externalConsoles']): PoolPlan[] {
  const current: PoolPlan = {
    name: 'tiny-current',
    product: 'xenserver-8',
    username: 'root',
    password: 'tiny-current-secret',
    addressPrefix: addr(base, 0),
    guestNet: '10.1',
    hosts: [host('tiny-host-1', twoNodeHost('TINY0001', 'adjacent', 64), { numaAffinityPolicy: 'best_effort' }), host('tiny-host-2', epycHost('TINY0002', 128))],
    vms: [
      { name: 'web-01', os: 'debian12', power: 'Running', host: 0, memGiB: 4, vcpus: 2, folder: '/Production/Web', tags: ['web'], snapshots: 1 },
      { name: 'web-02', os: 'ubuntu2204', power: 'Running', host: 1, memGiB: 4, vcpus: 2, folder: '/Production/Web', tags: ['web'] },
      { name: 'db-01', os: 'rocky9', power: 'Running', host: 0, memGiB: 80, vcpus: 8, dataDisksGiB: [200], folder: '/Production/Databases', tags: ['db', 'backup-daily'], haRestart: true },
      { name: 'win-app-01', os: 'win2022', power: 'Running', host: 1, memGiB: 8, vcpus: 4, nics: 2, cdTools: true },
      { name: 'pinned-01', os: 'debian12', power: 'Running', host: 0, memGiB: 2, vcpus: 2, mask: '2,3,4,5' },
      { name: 'build-01', os: 'debian12', power: 'Halted', memGiB: 2, vcpus: 2, folder: '/Dev' },
      { name: 'legacy-app', os: 'centos7', power: 'Halted', memGiB: 2, vcpus: 1, blocked: { destroy: 'Protected: holds the 2019 archive' }, tools: false },
      { name: 'suspended-01', os: 'ubuntu2404', power: 'Suspended', memGiB: 4, vcpus: 2 },
    ],
    // three plain ones and a UEFI Secure Boot one (New VM wizard tests)
    defaultTemplates: ['AlmaLinux 9', 'Alpine Linux 3.20', 'CentOS 7', 'Windows 11'],
    customTemplates: [{ name: 'debian12-golden', os: 'debian12', diskGiB: 20 }],
    sharedStorage: true,
    isoLibrary: true,
    vlan: true,
    messages: 4,
    externalConsoles: ext,
    // two spare 1 GbE ports on each host, free to bond
    network: { nics: [{ device: 'eth2', model: 'i350' }, { device: 'eth3', model: 'i350' }] },
    orphanDisks: [{ name: 'restore-2025-03', gib: 20, usedShare: 0.6, description: 'Restored from backup for a file recovery' }],
  }
  const legacy: PoolPlan = {
    name: 'tiny-legacy',
    product: 'xenserver-7.2',
    username: 'root',
    password: 'tiny-legacy-secret',
    addressPrefix: addr(base, 1),
    guestNet: '10.2',
    hosts: [host('tiny-xs72', haswellHost('TINY0072'))],
    vms: [
      { name: 'old-web', os: 'centos7', power: 'Running', host: 0, memGiB: 2, vcpus: 2, folder: '/Legacy' },
      { name: 'old-win', os: 'win2012r2', power: 'Halted', memGiB: 4, vcpus: 2 },
      { name: 'old-db', os: 'debian8', power: 'Running', host: 0, memGiB: 4, vcpus: 2 },
    ],
    defaultTemplates: 3,
    customTemplates: [],
    sharedStorage: false,
    isoLibrary: false,
    vlan: false,
    messages: 2,
    externalConsoles: ext,
  }
  return [current, legacy]
}

// ---------------------------------------------------------------------------------------------
// generated VM populations

interface Role {
  prefix: string
  os: readonly OsKey[]
  folder?: string
  tags?: readonly string[]
  mem: readonly number[]
  vcpus: readonly number[]
  dataDisksGiB?: readonly number[]
  weight: number
  noToolsShare?: number
}

const ROLES: readonly Role[] = [
  { prefix: 'web', os: ['debian12', 'ubuntu2204', 'ubuntu2404', 'centos7', 'debian8', 'ubuntu1604'], folder: '/Production/Web', tags: ['web'], mem: [2, 4], vcpus: [2, 4], weight: 6 },
  { prefix: 'app', os: ['rocky9', 'alma9', 'debian12', 'rhel7', 'centos7'], folder: '/Production/App', tags: ['app'], mem: [4, 8], vcpus: [2, 4], weight: 5 },
  { prefix: 'db', os: ['rhel9', 'rocky9', 'oracle7', 'rhel7'], folder: '/Production/Databases', tags: ['db', 'backup-daily'], mem: [16, 32], vcpus: [4, 8], dataDisksGiB: [100, 250], weight: 2 },
  { prefix: 'k8s-node', os: ['ubuntu2404', 'debian12', 'ubuntu1604'], folder: '/Platform/Kubernetes', tags: ['k8s'], mem: [8, 16], vcpus: [4, 8], weight: 4 },
  { prefix: 'dc', os: ['win2022', 'win2019', 'win2016', 'win2012r2'], folder: '/Infrastructure/Directory', mem: [4, 8], vcpus: [2], weight: 1 },
  { prefix: 'rds', os: ['win2022', 'win2016'], folder: '/Infrastructure/RDS', tags: ['windows'], mem: [16, 32], vcpus: [8], weight: 1 },
  { prefix: 'ci-runner', os: ['debian12', 'alpine', 'debian8'], folder: '/Dev/CI', mem: [2, 4], vcpus: [2, 4], weight: 3, noToolsShare: 0.3 },
  { prefix: 'test', os: ['debian11', 'ubuntu2204', 'freebsd14', 'other', 'centos7', 'sles12'], folder: '/Dev/Test', mem: [1, 2], vcpus: [1, 2], weight: 3, noToolsShare: 0.4 },
  { prefix: 'mon', os: ['debian11', 'sles15', 'sles12'], folder: '/Infrastructure/Monitoring', mem: [2, 4], vcpus: [2], weight: 1 },
  { prefix: 'desktop', os: ['win10', 'win11'], folder: '/Desktops', mem: [4, 8], vcpus: [2, 4], weight: 2 },
]

interface PopulationOptions {
  count: number
  product: ProductId
  hosts: number
  /** share of Running; the rest is Halted, plus exact counts of Suspended / Paused */
  runningShare: number
  suspended: number
  paused: number
  /** cap on generated memory sizes (GiB), to fit dense benchmark pools */
  maxMemGiB: number
  snapshotShare: number
  /** name suffix digits */
  digits: number
  /** fixed large VMs added first (they span NUMA nodes) */
  big?: VmSpec[]
}

function population(rng: Rng, o: PopulationOptions): VmSpec[] {
  const available = new Set<OsKey>(PRODUCTS[o.product].templates.map((t) => t.os))
  const roles = ROLES.map((r) => ({ ...r, os: r.os.filter((k) => available.has(k)) })).filter((r) => r.os.length > 0)
  const totalWeight = roles.reduce((a, r) => a + r.weight, 0)
  const seq = new Map<string, number>()
  const out: VmSpec[] = [...(o.big ?? [])]
  const powers: PowerState[] = []
  const generated = o.count - out.length
  for (let i = 0; i < generated; i++) powers.push(i < o.suspended ? 'Suspended' : i < o.suspended + o.paused ? 'Paused' : rng.next() < o.runningShare ? 'Running' : 'Halted')
  for (let i = 0; i < generated; i++) {
    let w = rng.next() * totalWeight
    let role = roles[0]
    for (const r of roles) {
      w -= r.weight
      if (w < 0) {
        role = r
        break
      }
    }
    if (!role) throw new Error('no VM role fits the product')
    const n = (seq.get(role.prefix) ?? 0) + 1
    seq.set(role.prefix, n)
    const os = rng.pick(role.os)
    const osSpec = OSES[os]
    const mem = Math.min(o.maxMemGiB, rng.pick(role.mem))
    const vcpus = Math.min(osSpec.maxVcpus, rng.pick(role.vcpus))
    const power = powers[i] ?? 'Halted'
    const spec: VmSpec = {
      name: `${role.prefix}-${String(n).padStart(o.digits, '0')}`,
      os,
      power,
      host: rng.int(o.hosts),
      memGiB: mem,
      vcpus,
      tools: !(role.noToolsShare && rng.chance(role.noToolsShare)),
      nics: rng.chance(0.12) ? 2 : 1,
    }
    if (role.folder && rng.chance(0.7)) spec.folder = role.folder
    if (role.tags && rng.chance(0.6)) spec.tags = [...role.tags]
    if (role.dataDisksGiB) spec.dataDisksGiB = [rng.pick(role.dataDisksGiB)]
    else if (rng.chance(0.15)) spec.dataDisksGiB = [rng.pick([10, 20, 50])]
    if (rng.chance(0.02)) spec.mask = rng.pick(['0,1,2,3', '4,5,6,7', '8,9,10,11,12,13,14,15'])
    if (rng.chance(0.03)) spec.blocked = rng.pick<Record<string, string>>([{ destroy: 'Protected by change CHG-1042' }, { destroy: '', clean_shutdown: 'Shut down through the application console' }, { migrate_send: 'Licensed to this host' }])
    if (power === 'Running' && role.prefix === 'db' && rng.chance(0.5)) spec.haRestart = true
    if (rng.chance(o.snapshotShare)) spec.snapshots = rng.chance(0.25) ? 2 : 1
    if (rng.chance(0.01)) spec.danglingParent = true
    if (rng.chance(0.08)) spec.cdTools = true
    if (rng.chance(0.1)) spec.localDisk = true
    if (rng.chance(0.05)) spec.affinity = rng.int(o.hosts)
    if (rng.chance(0.15)) spec.description = rng.pick(['Managed by Ansible', 'Owner: platform team', 'Do not reboot during business hours', 'Created by XenCenter'])
    out.push(spec)
  }
  return out
}

// ---------------------------------------------------------------------------------------------

function demoPlans(seed: number, base: string, ext: BuildFleetOptions['externalConsoles']): PoolPlan[] {
  const rng = new Rng(seed ^ 0xde30)
  const lab: PoolPlan = {
    name: 'Lab',
    product: 'xcp-ng-8.3',
    username: 'root',
    password: 'lab-demo-secret',
    addressPrefix: addr(base, 0),
    guestNet: '10.10',
    hosts: [host('xcp-lab', labHost('LAB00001'))],
    vms: population(rng.fork(1), { count: 12, product: 'xcp-ng-8.3', hosts: 1, runningShare: 0.6, suspended: 1, paused: 1, maxMemGiB: 8, snapshotShare: 0.2, digits: 2 }),
    defaultTemplates: 'all',
    customTemplates: [{ name: 'alpine-base', os: 'alpine', diskGiB: 4 }],
    sharedStorage: false,
    isoLibrary: true,
    vlan: false,
    messages: 6,
    externalConsoles: ext,
    // a desktop-class box: onboard Intel, a Realtek with no cable, and a new card XAPI has not scanned yet
    network: {
      nicModels: ['i219', 'rtl8111'],
      eth1DownOn: [0],
      nics: [{ device: 'eth2', model: 'i350', introduced: false }],
      hidden: [{ name: 'Lab sandbox', description: 'Throw-away test network (hidden from XenCenter)' }],
    },
    orphanDisks: [{ name: 'import-ova-disk1', gib: 40, usedShare: 0.35, local: true, description: 'Left by a failed OVA import' }],
  }
  const production: PoolPlan = {
    name: 'Production',
    product: 'xenserver-8',
    username: 'root',
    password: 'production-demo-secret',
    addressPrefix: addr(base, 1),
    guestNet: '10.20',
    hosts: [
      host('xs-prod-01', twoNodeHost('PROD0001', 'adjacent', 128), { numaAffinityPolicy: 'best_effort' }),
      host('xs-prod-02', twoNodeHost('PROD0002', 'adjacent', 128)),
      // its clock runs 4 min 12 s ahead of the master's (the drift report's time skew)
      host('xs-prod-03', twoNodeHost('PROD0003', 'split', 192), { numaAffinityPolicy: 'best_effort', clockSkewS: 252 }),
      host('xs-prod-04', twoNodeHost('PROD0004', 'split', 192), { numaAffinityPolicy: 'any' }),
    ],
    vms: population(rng.fork(2), {
      count: 200,
      product: 'xenserver-8',
      hosts: 4,
      runningShare: 0.7,
      suspended: 2,
      paused: 1,
      maxMemGiB: 8,
      snapshotShare: 0.06,
      digits: 2,
      big: [
        { name: 'sap-hana-01', os: 'sles15', power: 'Running', host: 2, memGiB: 224, vcpus: 16, dataDisksGiB: [512], folder: '/Production/Databases', tags: ['sap', 'numa-sensitive'], haRestart: true, customFields: { owner: 'finance', 'cost-centre': 'CC-4711', expires: '2027-06-30 00:00:00Z' } },
        { name: 'db-warehouse-01', os: 'rhel9', power: 'Running', host: 0, memGiB: 96, vcpus: 16, dataDisksGiB: [1024], folder: '/Production/Databases', tags: ['db'], customFields: { owner: 'finance-bi', 'cost-centre': 'CC-4712' } },
        { name: 'db-warehouse-02', os: 'rhel9', power: 'Running', host: 1, memGiB: 96, vcpus: 16, dataDisksGiB: [1024], folder: '/Production/Databases', tags: ['db'] },
      ],
    }),
    defaultTemplates: 'all',
    customTemplates: [
      { name: 'rocky9-hardened', os: 'rocky9', diskGiB: 40 },
      { name: 'win2022-sysprep', os: 'win2022', diskGiB: 80 },
    ],
    sharedStorage: true,
    isoLibrary: true,
    vlan: true,
    messages: 24,
    externalConsoles: ext,
    // 25 GbE LACP bond for guest traffic; iSCSI path B cabled to eth4 on hosts 1–3 but to eth5 on
    // host 4, whose eth4 is dark; the backup VLAN was never set up on host 4 (the per-host drift
    // the Network view and the pool drift report show); a hidden replication network
    network: {
      nicModels: ['x710', 'x710'],
      nics: [
        { device: 'eth2', model: 'cx5' },
        { device: 'eth3', model: 'cx5' },
        { device: 'eth4', model: 'bcm57414', hosts: [0, 1, 2], network: 'iSCSI path B' },
        { device: 'eth4', model: 'bcm57414', hosts: [3], introduced: false, carrier: false },
        { device: 'eth5', model: 'bcm57414', hosts: [3], network: 'iSCSI path B' },
        { device: 'eth5', model: 'bcm57414', hosts: [0, 1, 2], introduced: false, carrier: false },
      ],
      bonds: [{ name: 'Bond 2+3 (guest traffic)', devices: ['eth2', 'eth3'], mode: 'lacp', vms: 'k8s-node' }],
      vlans: [{ name: 'Backup (VLAN 40)', tag: 40, device: 'eth1', hosts: [0, 1, 2] }],
      hidden: [{ name: 'Replication', description: 'Storage replication between sites (hidden from XenCenter)' }],
    },
    orphanDisks: [
      { name: 'db-warehouse-old-data', gib: 500, usedShare: 0.8, description: 'Detached during the 2025 migration' },
      { name: 'scratch', gib: 60, usedShare: 0.1 },
    ],
    isoLibraryUnpluggedOn: 3,
    guiConfig: PRODUCTION_GUI_CONFIG,
  }
  const legacy: PoolPlan = {
    name: 'Legacy',
    product: 'xenserver-7.2',
    username: 'root',
    password: 'legacy-demo-secret',
    addressPrefix: addr(base, 2),
    guestNet: '10.30',
    hosts: [host('xs72-01', haswellHost('LEG00001')), host('xs72-02', haswellHost('LEG00002'))],
    vms: population(rng.fork(3), { count: 30, product: 'xenserver-7.2', hosts: 2, runningShare: 0.6, suspended: 1, paused: 0, maxMemGiB: 16, snapshotShare: 0.1, digits: 2 }),
    defaultTemplates: 'all',
    customTemplates: [],
    sharedStorage: true,
    isoLibrary: true,
    vlan: false,
    messages: 8,
    externalConsoles: ext,
    // an active-backup bond of two 1 GbE ports; on the second host one member has lost its link
    network: {
      nicModels: ['82599', '82599'],
      nics: [
        { device: 'eth2', model: 'i350' },
        { device: 'eth3', model: 'i350', hosts: [0] },
        { device: 'eth3', model: 'i350', hosts: [1], carrier: false },
      ],
      bonds: [{ name: 'Bond 2+3', devices: ['eth2', 'eth3'], mode: 'active-backup' }],
    },
  }
  // the disaster-recovery site: the same product as Production (so the Drift tab's "Fleet drift" compares the two),
  // set up by another team — its own NTP servers and time zone, no iSCSI path B, no backup VLAN
  const dr: PoolPlan = {
    name: 'Production-DR',
    product: 'xenserver-8',
    username: 'root',
    password: 'production-dr-demo-secret',
    addressPrefix: addr(base, 3),
    guestNet: '10.40',
    hosts: [
      host('xs-dr-01', twoNodeHost('DR000001', 'adjacent', 128), { timezone: 'Europe/Berlin', ntpServers: ['ntp1.dr.example.net', 'ntp2.dr.example.net'] }),
      host('xs-dr-02', twoNodeHost('DR000002', 'adjacent', 128), { timezone: 'Europe/Berlin', ntpServers: ['ntp1.dr.example.net', 'ntp2.dr.example.net'] }),
    ],
    vms: population(rng.fork(4), { count: 12, product: 'xenserver-8', hosts: 2, runningShare: 0.5, suspended: 0, paused: 0, maxMemGiB: 8, snapshotShare: 0, digits: 2 }),
    defaultTemplates: 3,
    customTemplates: [],
    sharedStorage: true,
    isoLibrary: false,
    vlan: false,
    messages: 2,
    externalConsoles: ext,
  }
  return [lab, production, legacy, dr]
}

function benchPlan(seed: number, base: string, ext: BuildFleetOptions['externalConsoles']): PoolPlan {
  const rng = new Rng(seed ^ 0xbe4c)
  const hosts: HostPlan[] = []
  for (let i = 0; i < 16; i++) {
    const name = `bench-${String(i + 1).padStart(2, '0')}`
    const serial = `BENCH${String(i + 1).padStart(3, '0')}`
    hosts.push(host(name, i % 2 === 0 ? sncHost(serial, 384) : twoNodeHost(serial, i % 4 === 1 ? 'adjacent' : 'split', 768)))
  }
  return {
    name: 'bench-10k',
    product: 'xenserver-8',
    username: 'root',
    password: 'bench-10k-secret',
    addressPrefix: addr(base, 0),
    guestNet: '10.100',
    hosts,
    vms: population(rng, { count: 10000, product: 'xenserver-8', hosts: 16, runningShare: 0.6, suspended: 20, paused: 5, maxMemGiB: 4, snapshotShare: 0.02, digits: 5 }),
    defaultTemplates: 'all',
    customTemplates: [{ name: 'bench-golden', os: 'debian12', diskGiB: 20 }],
    sharedStorage: true,
    isoLibrary: true,
    vlan: true,
    messages: 50,
    externalConsoles: ext,
  }
}

const SITES = ['Amsterdam', 'Berlin', 'Chicago', 'Dublin', 'Edinburgh', 'Frankfurt', 'Geneva', 'Helsinki', 'Istanbul', 'Johannesburg']

/** the `huge` fleet's pools at scale 1 (a hosting provider's size); addresses run to 127.x.200.y */
export const HUGE_POOLS = 200

function manyPoolPlans(seed: number, base: string, ext: BuildFleetOptions['externalConsoles'], pools: number, vmsPerPool: number): PoolPlan[] {
  const rng = new Rng(seed ^ 0x3a4e)
  const plans: PoolPlan[] = []
  for (let i = 0; i < pools; i++) {
    const product: ProductId = i % 10 === 9 ? 'xenserver-7.2' : i % 3 === 0 ? 'xenserver-8' : 'xcp-ng-8.3'
    const site = `${SITES[i % SITES.length] ?? 'Site'} ${Math.floor(i / SITES.length) + 1}`
    const slug = site.toLowerCase().replace(/\s+/g, '-')
    const hw = (k: number): HostPlan['hw'] => {
      const serial = `MP${String(i).padStart(2, '0')}${k}`
      if (product === 'xenserver-7.2') return haswellHost(serial)
      if (i % 5 === 2) return sncHost(serial, 192)
      return i % 2 === 0 ? epycHost(serial, 512) : twoNodeHost(serial, k === 0 ? 'adjacent' : 'split', 192)
    }
    plans.push({
      name: site,
      product,
      username: 'root',
      password: `${slug}-secret`,
      addressPrefix: addr(base, i),
      guestNet: `10.${100 + i}`,
      hosts: [host(`${slug}-h1`, hw(0)), host(`${slug}-h2`, hw(1))],
      vms: population(rng.fork(i), { count: vmsPerPool, product, hosts: 2, runningShare: 0.5, suspended: 2, paused: 0, maxMemGiB: 8, snapshotShare: 0.03, digits: 3 }),
      defaultTemplates: 'all',
      customTemplates: [],
      sharedStorage: true,
      isoLibrary: i % 4 === 0,
      vlan: i % 2 === 0,
      messages: 5,
      externalConsoles: ext,
    })
  }
  return plans
}
