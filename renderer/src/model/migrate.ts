/**
 * The Migrate wizard's reading of the pools (issue 17): the shared rules of
 * shared/operations/migrate.ts on the renderer's object graph, and the one rule the Confirm button
 * follows. Plain TypeScript (unit-tested without Vue).
 */
import type { MigrationCheck, MigrationItem } from '../../../shared/contract/migrate'
import type { MigrateView, PlanSummary } from '../../../shared/operations/migrate'
import type { PoolObjects } from './objects'

export function migrateView(p: PoolObjects): MigrateView {
  // read-only use of the tables (the shared rules read any class by name). A window's VM records
  // carry no VIFs or VBDs field (shared/model/slim.ts): a VM's NICs are the scoped VIFs that point
  // at it, its drives the VBDs that do.
  return {
    get: (cls, ref) => {
      const r = p.tables.get(cls)?.get(ref)
      if (cls !== 'VM' || !r || (Array.isArray(r.VIFs) && Array.isArray(r.VBDs))) return r
      return {
        ...r,
        VIFs: Array.isArray(r.VIFs) ? r.VIFs : p.referencing('VIF', 'VM', ref).map(([v]) => v),
        VBDs: Array.isArray(r.VBDs) ? r.VBDs : p.referencing('VBD', 'VM', ref).map(([b]) => b),
      }
    },
    refs: (cls) => (p.tables.get(cls) ?? new Map<string, unknown>()).keys(),
  }
}

/** one server's answer for one VM (migrate.check), as the wizard keeps it */
export interface HostVerdict {
  vm: string
  vmName: string
  ok: boolean
  sentence?: string
  action?: string
  code?: string
  params?: string[]
}

/**
 * Why the migration may not start yet, or null. Never starts a migration the destination cannot
 * take: a destination SR without room for the disks, a server XAPI refused for one of the VMs, a
 * VM without a server, a disk without an SR, a NIC without a network.
 */
export function confirmProblem(o: {
  /** VMs that have no destination server */
  unplaced: number
  plan: PlanSummary | null
  /** XAPI's answer for each VM on its server; undefined while one is not in yet */
  verdicts: readonly HostVerdict[] | undefined
  unmappedDisks: number
  unmappedNics: number
  vmCount: number
}): string | null {
  if (o.vmCount === 0) return 'Select at least one VM'
  if (o.unplaced > 0) return o.vmCount === 1 ? 'Choose a destination server' : `${o.unplaced} VM${o.unplaced === 1 ? ' has' : 's have'} no destination server`
  if (o.unmappedDisks > 0) return `${o.unmappedDisks} disk${o.unmappedDisks === 1 ? ' has' : 's have'} no storage chosen`
  if (o.unmappedNics > 0) return `${o.unmappedNics} network interface${o.unmappedNics === 1 ? ' has' : 's have'} no network chosen`
  if (!o.verdicts) return 'Checking with the destination server…'
  const refused = o.verdicts.find((v) => !v.ok)
  if (refused) return `${refused.vmName}: ${refused.sentence ?? 'the server cannot take it'}`
  const full = o.plan?.srs.find((s) => !s.fits)
  if (full) return full.sentence
  return null
}

/** the common choice 'each VM to its best server' (the NUMA advisor's first that XAPI did not refuse) */
export const BEST_SERVER = 'best'

/**
 * The server a VM goes to: the one the user picked for it; else the common choice unless XAPI
 * refused it for this VM; else the NUMA advisor's best server XAPI did not refuse; else any server
 * XAPI did not refuse; else the common choice (the plan then shows XAPI's reason).
 */
export function serverFor(o: {
  picked?: string
  /** a server, BEST_SERVER, or '' (not chosen) */
  common: string
  /** the destination's servers */
  hosts: readonly string[]
  /** true when XAPI refused this server for this VM */
  refused: (host: string) => boolean
  /** the NUMA advisor's ranking for this VM (feasible servers first) */
  ranked: readonly string[]
}): string {
  const known = new Set(o.hosts)
  if (o.picked && known.has(o.picked)) return o.picked
  if (o.common === '') return ''
  if (o.common !== BEST_SERVER && known.has(o.common) && !o.refused(o.common)) return o.common
  for (const h of [...o.ranked, ...o.hosts]) if (known.has(h) && !o.refused(h)) return h
  if (known.has(o.common)) return o.common
  return o.ranked.find((h) => known.has(h)) ?? o.hosts[0] ?? ''
}

/**
 * A refusal that is about the VM, not the server: every server answered, and all refused it for
 * the same reason (CBT on a disk, a licence, a NIC without a network). Such a VM does not make
 * servers look refused — the plan says what to do about it.
 */
export function refusedEverywhere(answers: readonly (MigrationCheck | undefined)[]): MigrationCheck | undefined {
  if (answers.length === 0 || answers.some((a) => !a || a.ok)) return undefined
  const codes = new Set(answers.map((a) => a?.error?.code))
  return codes.size === 1 ? answers[0] : undefined
}

/** 'From Lab (4 VMs) and Legacy (16 VMs).' for a plan with VMs of several pools; '' for one pool */
export function sourcesSentence(poolNames: readonly string[]): string {
  const counts = new Map<string, number>()
  for (const n of poolNames) counts.set(n, (counts.get(n) ?? 0) + 1)
  if (counts.size < 2) return ''
  const parts = [...counts].sort((a, b) => a[0].localeCompare(b[0])).map(([n, c]) => `${n} (${c} VM${c === 1 ? '' : 's'})`)
  return `From ${parts.slice(0, -1).join(', ')} and ${parts.at(-1) ?? ''}.`
}

/** what one migrate.check asks for a VM: the item without its server */
export type CheckItem = Omit<MigrationItem, 'host'>

/** a key that does not depend on the order of an object's keys */
export function stableKey(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableKey).join(',')}]`
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableKey((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v) ?? 'undefined'
}

/**
 * XAPI's answers (migrate.check) for one wizard run, per VM × server × the VM's choices: a server
 * is asked once for the same choices; at most `limit` migrate.check calls are in flight (each asks
 * several servers; main bounds those too). `ask` is the contract call; `onAnswer` is told when
 * answers came in (the wizard's reactive tick).
 */
export class MigrationChecks {
  private readonly answers = new Map<string, MigrationCheck>()
  /** the answers' keys of each VM ('connectionId ref') */
  private readonly byVm = new Map<string, Set<string>>()
  private readonly asking = new Map<string, Promise<void>>()
  private active = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    private readonly ask: (args: CheckItem & { hosts: string[] }) => Promise<MigrationCheck[]>,
    private readonly onAnswer: () => void = () => {},
    readonly limit = 3,
  ) {}

  /** the items' keys (an item object is asked about many servers) */
  private readonly itemKeys = new WeakMap<CheckItem, string>()

  private key(item: CheckItem, host: string): string {
    let k = this.itemKeys.get(item)
    if (k === undefined) {
      k = stableKey(item)
      this.itemKeys.set(item, k)
    }
    return `${host} ${k}`
  }

  /** XAPI's answer for this VM (with these choices) on this server, when in */
  get(item: CheckItem, host: string): MigrationCheck | undefined {
    return this.answers.get(this.key(item, host))
  }

  /** asks for the servers without an answer for these choices (`fresh`: asks again for all of them); resolves when they are in */
  async ensure(item: CheckItem, hosts: readonly string[], fresh = false): Promise<void> {
    const pending: Promise<void>[] = []
    const todo: string[] = []
    for (const h of new Set(hosts)) {
      const k = this.key(item, h)
      const inFlight = this.asking.get(k)
      if (inFlight) pending.push(inFlight)
      else if (fresh || !this.answers.has(k)) todo.push(h)
    }
    if (todo.length > 0) {
      const call = this.run(item, todo)
      for (const h of todo) this.asking.set(this.key(item, h), call)
      pending.push(call)
    }
    await Promise.all(pending)
  }

  /** forgets every answer for this VM (its disks changed: CBT turned off) */
  forget(connectionId: string, vm: string): void {
    const id = `${connectionId} ${vm}`
    for (const k of this.byVm.get(id) ?? []) this.answers.delete(k)
    this.byVm.delete(id)
  }

  /** how many migrate.check calls are in flight */
  get inFlight(): number {
    return this.active
  }

  private async run(item: CheckItem, hosts: string[]): Promise<void> {
    while (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r))
    this.active++
    try {
      const answers = await this.ask({ ...item, hosts })
      const id = `${item.connectionId} ${item.vm}`
      const keys = this.byVm.get(id) ?? new Set<string>()
      this.byVm.set(id, keys)
      for (const a of answers) {
        const k = this.key(item, a.host)
        this.answers.set(k, a)
        keys.add(k)
      }
      this.onAnswer()
    } finally {
      for (const h of hosts) this.asking.delete(this.key(item, h))
      this.active--
      this.waiting.shift()?.()
    }
  }
}

/** what the Migrate wizard is opened on (a command, a drop on a server or pool of another pool) */
export interface MigrateRequest {
  /** the VMs (of one pool or several: each migrates with its own pool's session) */
  targets: { connectionId: string; ref: string; name: string }[]
  /** 'storage': storage motion within the VM's pool (its disks to other SRs) */
  mode: 'migrate' | 'storage'
  /** preset destination (a drop) */
  destConnectionId?: string
  host?: string
}

export interface MigrateCandidate {
  connectionId: string
  ref: string
  name: string
  /** true, or why this VM cannot be migrated now */
  reason: true | string
}

/** XAPI's rule for VM.migrate_send (vmops: Halted / Suspended / Running; allowed_operations), in words */
export function migrateReason(rec: Record<string, unknown> | undefined, name: string, mode: MigrateRequest['mode']): true | string {
  if (!rec) return `${name} is not loaded`
  if (rec.is_control_domain === true) return `${name} is a control domain`
  if (rec.is_a_snapshot === true) return `${name} is a snapshot: it travels with its VM`
  if (rec.is_a_template === true) return `${name} is a template`
  const power = typeof rec.power_state === 'string' ? rec.power_state : ''
  if (power === 'Paused') return `${name} is paused: unpause it first`
  if (mode === 'storage' && power === 'Suspended') return `${name} is suspended: resume it or shut it down first`
  const blocked = typeof rec.blocked_operations === 'object' && rec.blocked_operations !== null ? (rec.blocked_operations as Record<string, unknown>)['migrate_send'] : undefined
  if (blocked !== undefined) return `Migration is blocked on ${name}${typeof blocked === 'string' && blocked ? `: ${blocked}` : ''}`
  const allowed = Array.isArray(rec.allowed_operations) ? rec.allowed_operations : []
  if (!allowed.includes('migrate_send')) {
    const busy = typeof rec.current_operations === 'object' && rec.current_operations !== null ? Object.values(rec.current_operations as Record<string, unknown>)[0] : undefined
    return busy ? `${name} is busy (${String(busy).replace(/_/g, ' ')})` : `XAPI does not allow migrating ${name} now`
  }
  return true
}
