/**
 * The Migrate wizard's reading of the pools (issue 17): the shared rules of
 * shared/operations/migrate.ts on the renderer's object graph, and the one rule the Confirm button
 * follows. Plain TypeScript (unit-tested without Vue).
 */
import type { MigrateView, PlanSummary } from '../../../shared/operations/migrate'
import type { PoolObjects } from './objects'

export function migrateView(p: PoolObjects): MigrateView {
  // read-only use of the tables (the shared rules read any class by name). A window's VM records
  // carry no VIFs field (shared/model/slim.ts): a VM's NICs are the scoped VIFs that point at it.
  return {
    get: (cls, ref) => {
      const r = p.tables.get(cls)?.get(ref)
      if (cls !== 'VM' || !r || Array.isArray(r.VIFs)) return r
      return { ...r, VIFs: p.referencing('VIF', 'VM', ref).map(([v]) => v) }
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
 * disk without an SR, a NIC without a network.
 */
export function confirmProblem(o: {
  host: string
  plan: PlanSummary | null
  verdicts: readonly HostVerdict[] | undefined
  unmappedDisks: number
  unmappedNics: number
  vmCount: number
}): string | null {
  if (o.vmCount === 0) return 'Select at least one VM'
  if (!o.host) return 'Choose a destination server'
  if (o.unmappedDisks > 0) return `${o.unmappedDisks} disk${o.unmappedDisks === 1 ? ' has' : 's have'} no storage chosen`
  if (o.unmappedNics > 0) return `${o.unmappedNics} network interface${o.unmappedNics === 1 ? ' has' : 's have'} no network chosen`
  if (!o.verdicts) return 'Checking with the destination server…'
  const refused = o.verdicts.find((v) => !v.ok)
  if (refused) return `${refused.vmName}: ${refused.sentence ?? 'the server cannot take it'}`
  const full = o.plan?.srs.find((s) => !s.fits)
  if (full) return full.sentence
  return null
}

/** what the Migrate wizard is opened on (a command, a drop on a server or pool of another pool) */
export interface MigrateRequest {
  /** VMs of one pool */
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
