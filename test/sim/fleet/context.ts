/**
 * The state one pool's build shares between its steps (hosts.ts, storage.ts, network.ts, guest.ts,
 * …): the object tables, the seeded generator every value comes from, and what was built so far.
 * Every step draws from the one generator in a fixed order, so a seed always gives the same fleet.
 */
import { NO_EVENT_CLASSES } from '../../../shared/xapi/datamodel.generated'
import type { SimHostSpec, SimRecord, SimTable, SimValue } from '../model'
import { classesOf, defaultRecord, newUuid, Rng, xapiDate } from '../records'
import type { HardwareSpec } from './hardware'
import type { PoolPlan } from './plan'
import { PRODUCTS, releaseAtLeast, type ProductSpec } from './products'

export const MiB = 1024 * 1024
export const GiB = 1024 * MiB
const PAGE = 4096

/** Every date in a fleet derives from this instant, so a seed always gives the same records. */
export const FLEET_EPOCH_MS = Date.UTC(2026, 9, 19, 6, 0, 0)

/** other_config key carrying an external VNC endpoint ('host:port') for a VM's console. */
export const EXTERNAL_VNC_KEY = 'xenpilot_sim_vnc'

export const roundPages = (bytes: number): number => Math.floor(bytes / PAGE) * PAGE

export interface HostState {
  ref: string
  rec: SimRecord
  metrics: SimRecord
  hw: HardwareSpec
  spec: SimHostSpec
  totalBytes: number
  freeBytes: number
  nodeFree: number[]
  localSr: string
  nextDomid: number
  pifs: { eth0: string; eth1: string; vlan?: string }
}

export interface PoolState {
  ref: string
  rec: SimRecord
  nfsSr?: string
  isoSr?: string
  toolsSr: string
  toolsIso: string
  isoVdis: string[]
  networks: { eth0: string; eth1: string; vlan?: string; internal: string }
}

export function arr(rec: SimRecord, field: string): SimValue[] {
  const v = rec[field]
  if (!Array.isArray(v)) throw new Error(`builder: ${field} is not a set`)
  return v
}

export function map(rec: SimRecord, field: string): Record<string, SimValue> {
  const v = rec[field]
  if (v === undefined || typeof v !== 'object' || Array.isArray(v)) throw new Error(`builder: ${field} is not a map`)
  return v
}

export function num(rec: SimRecord, field: string): number {
  const v = rec[field]
  if (typeof v !== 'number') throw new Error(`builder: ${field} is not a number`)
  return v
}

export function str(rec: SimRecord, field: string): string {
  const v = rec[field]
  if (typeof v !== 'string') throw new Error(`builder: ${field} is not a string`)
  return v
}

export class BuildContext {
  readonly product: ProductSpec
  readonly release: string
  readonly objects = new Map<string, SimTable>()
  readonly hosts: HostState[] = []
  readonly rng: Rng
  readonly hasThreadsPerCore: boolean
  readonly hasNrNodes: boolean
  readonly hasVmNuma: boolean
  /** XenServer 7.x and older (xapi before 1.250) */
  readonly legacy: boolean
  private poolState: PoolState | undefined
  private ipCounter = 10

  constructor(
    readonly plan: PoolPlan,
    seed: number,
  ) {
    this.product = PRODUCTS[plan.product]
    this.release = plan.release ?? this.product.release
    this.rng = new Rng(seed)
    this.hasThreadsPerCore = releaseAtLeast(this.release, '24.12.0')
    this.hasNrNodes = releaseAtLeast(this.release, '25.34.0')
    this.hasVmNuma = releaseAtLeast(this.release, '26.2.0')
    this.legacy = !releaseAtLeast(this.release, '1.250.0')
    for (const cls of classesOf(this.release)) if (!NO_EVENT_CLASSES.includes(cls)) this.objects.set(cls, new Map())
  }

  /** the pool object and the pool-wide SRs and networks; set by the first build step */
  get pool(): PoolState {
    if (!this.poolState) throw new Error('builder: the pool object is built first')
    return this.poolState
  }
  set pool(p: PoolState) {
    this.poolState = p
  }

  ref(): string {
    return `OpaqueRef:${newUuid(this.rng)}`
  }
  uuid(): string {
    return newUuid(this.rng)
  }
  table(cls: string): SimTable {
    let t = this.objects.get(cls)
    if (!t) {
      t = new Map()
      this.objects.set(cls, t)
    }
    return t
  }
  add(cls: string, overrides: SimRecord, ref = this.ref()): { ref: string; rec: SimRecord } {
    const rec = defaultRecord(cls, this.release, { uuid: this.uuid(), ...overrides })
    this.table(cls).set(ref, rec)
    return { ref, rec }
  }
  get(cls: string, ref: string): SimRecord {
    const rec = this.objects.get(cls)?.get(ref)
    if (!rec) throw new Error(`builder: no ${cls} ${ref}`)
    return rec
  }
  /** a date `daysAgo` before the fleet epoch, with seeded jitter so records differ */
  date(daysAgo: number): string {
    const jitter = this.rng.int(86400) * 1000
    return xapiDate(new Date(FLEET_EPOCH_MS - daysAgo * 86400000 - jitter))
  }
  mac(): string {
    const first = (this.rng.int(64) * 4 + 2).toString(16).padStart(2, '0')
    const rest = Array.from({ length: 5 }, () => this.rng.int(256).toString(16).padStart(2, '0'))
    return [first, ...rest].join(':')
  }
  guestIp(): string {
    this.ipCounter++
    const n = this.ipCounter
    return `${this.plan.guestNet}.${Math.floor(n / 250)}.${(n % 250) + 2}`
  }
}
