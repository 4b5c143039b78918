/**
 * Migration (issue 17) through the one ActionRunner: each VM is one user action (one Activity row,
 * one history entry, XAPI's refusal as a sentence with code and params), run as XenCenter's
 * VMCrossPoolMigrateAction does it:
 *
 *   1. Host.migrate_receive(host, transfer network, {}) with the DESTINATION pool's session → dest
 *   2. VM.assert_can_migrate(vm, dest, live, vdi_map, vif_map, options, {}) with the SOURCE session
 *   3. Async.VM.migrate_send(same) with the source session → the VM's ref in the destination
 *
 * Maps are completed with the shared defaults (shared/operations/migrate.ts): a snapshot's disk goes
 * where its VM's disk goes, a snapshot NIC with a MAC of the VM follows that NIC; within one pool
 * vif_map stays empty. Options: force / copy / compress as "true".
 *
 * The bulk queue: at most `perSource` migrations run from one pool and `perDestination` into one
 * pool; XAPI's TOO_MANY_STORAGE_MIGRATES gives the slot back, waits `retryMs` and queues the VM
 * again (one row, one history entry, however many tries). One VM refused does not stop the others.
 * A VM still queued can be taken out (cancel); a running one is cancelled through its task.
 */
import { randomUUID } from 'node:crypto'
import type { MigrationCheck, MigrationItem, MigrationResult } from '../../shared/contract/migrate'
import type { EventPayload } from '../../shared/contract'
import { managementNetwork, mapLimited, migrationMaps, type MigrateView } from '../../shared/operations/migrate'
import { explainXapiError } from '../../shared/xapi/error-text'
import type { PoolGraph, PoolManagerApi } from '../pools/api'
import { ActionRefusal, asXapiFailure, type ActionResult, type ActionRunner } from './action'
import type { HistorySink } from './runner'

export interface MigrationRunnerOptions {
  /** wait before trying again after TOO_MANY_STORAGE_MIGRATES (ms) */
  retryMs?: number
  /** give up after waiting this long for XAPI to take the migration (ms) */
  waitMaxMs?: number
}

export interface Concurrency {
  perSource: number
  perDestination: number
}

type StateEvent = EventPayload<'migrate.state'>

/** servers one migrate.check asks at once (each: migrate_receive on the destination, assert_can_migrate on the source) */
export const CHECKS_AT_ONCE = 4

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const str = (v: unknown): string => (typeof v === 'string' ? v : '')

const LABELS = [
  ['VM', 'VM'],
  ['host', 'server'],
  ['VDI', 'disk'],
  ['SR', 'SR'],
  ['network', 'network'],
  ['VIF', 'NIC'],
  ['pool', 'pool'],
] as const

export function viewOfGraph(g: Pick<PoolGraph, 'get' | 'all'>): MigrateView {
  return { get: (cls, ref) => g.get(cls, ref), refs: (cls) => g.all(cls).keys() }
}

interface Job {
  item: MigrationItem
  actionId: string
  cancelled: boolean
  /** resolves when the job may run (a slot of both pools is free) */
  wake?: () => void
}

class CancelledInQueue extends Error {
  readonly code = 'TASK_CANCELLED'
  readonly params: string[] = []
}

export class MigrationRunner {
  private readonly retryMs: number
  private readonly waitMaxMs: number
  private readonly waiting: Job[] = []
  private readonly jobs = new Map<string, Job>()
  private readonly running = { src: new Map<string, number>(), dst: new Map<string, number>() }
  private limits: Concurrency = { perSource: 2, perDestination: 2 }

  constructor(
    private readonly actions: ActionRunner,
    private readonly pools: Pick<PoolManagerApi, 'call' | 'graph' | 'get' | 'list'>,
    private readonly history: HistorySink,
    private readonly onState: (e: StateEvent) => void = () => {},
    opts: MigrationRunnerOptions = {},
  ) {
    this.retryMs = opts.retryMs ?? 5000
    this.waitMaxMs = opts.waitMaxMs ?? 30 * 60_000
  }

  /** "VM 'web-01'", "server 'xs-prod-03'", "NIC 1 of VM 'web-01'" from whichever pool holds the ref */
  nameOf(connectionId: string, ref: string): string | undefined {
    const graphs = [this.pools.graph(connectionId), ...this.pools.list().filter((c) => c.id !== connectionId).map((c) => this.pools.graph(c.id))]
    for (const g of graphs) {
      if (!g) continue
      for (const [cls, label] of LABELS) {
        const rec = g.get(cls, ref)
        if (!rec) continue
        if (cls === 'VIF') return `NIC ${str(rec.device)} of ${this.nameOf(connectionId, str(rec.VM)) ?? 'a VM'}`
        return `${label} '${str(rec.name_label) || ref}'`
      }
    }
    return undefined
  }

  private view(connectionId: string): MigrateView {
    const g = this.pools.graph(connectionId)
    if (!g) throw new ActionRefusal(`There is no saved server with id “${connectionId}”.`)
    return viewOfGraph(g)
  }

  private poolName(connectionId: string): string {
    return this.pools.get(connectionId)?.label ?? connectionId
  }

  /** vdi_map / vif_map as XAPI gets them: the caller's choices, completed with the shared defaults */
  private maps(item: MigrationItem): { vdiMap: Record<string, string>; vifMap: Record<string, string> } {
    const samePool = item.connectionId === item.destConnectionId
    const src = this.view(item.connectionId)
    const dst = samePool ? src : this.view(item.destConnectionId)
    // the caller's choices; what it left out gets the default
    const choices = { disks: item.vdiMap, nics: item.vifMap }
    // within a pool, a disk the caller left out stays on its SR when the server sees it
    return migrationMaps(src, dst, item.vm, item.host, samePool, choices)
  }

  private options(item: MigrationItem): Record<string, string> {
    const o: Record<string, string> = {}
    if (item.force) o['force'] = 'true'
    if (item.copy) o['copy'] = 'true'
    if (item.compress) o['compress'] = 'true'
    return o
  }

  private live(item: MigrationItem): boolean {
    const p = str(this.pools.graph(item.connectionId)?.get('VM', item.vm)?.power_state)
    return p === 'Running' || p === 'Paused'
  }

  /** Host.migrate_receive on the destination pool: the dest map for the source */
  private async receive(item: Pick<MigrationItem, 'destConnectionId' | 'network'>, host: string): Promise<Record<string, string>> {
    const network = item.network ?? managementNetwork(this.view(item.destConnectionId), host)
    const dest = await this.pools.call(item.destConnectionId, 'host.migrate_receive', [host, network, {}])
    const out: Record<string, string> = {}
    if (dest && typeof dest === 'object') for (const [k, v] of Object.entries(dest)) out[k] = String(v)
    return out
  }

  /**
   * each server: can it take the VM (VM.assert_can_migrate with the real maps, the caller's choices
   * completed with the defaults for THAT server), and if not, XAPI's reason in words. At most
   * CHECKS_AT_ONCE servers are asked at once (two calls each, on two pools).
   */
  async check(args: Omit<MigrationItem, 'host'> & { hosts: string[] }): Promise<MigrationCheck[]> {
    const { hosts, ...rest } = args
    return mapLimited(hosts, CHECKS_AT_ONCE, async (host): Promise<MigrationCheck> => {
      const item: MigrationItem = { ...rest, host }
      try {
        const dest = await this.receive(item, host)
        const { vdiMap, vifMap } = this.maps(item)
        await this.pools.call(item.connectionId, 'VM.assert_can_migrate', [item.vm, dest, this.live(item), vdiMap, vifMap, this.options(item), {}])
        return { host, ok: true }
      } catch (e) {
        if (e instanceof ActionRefusal) return { host, ok: false, error: { code: 'refused', params: [], message: e.message } }
        const f = asXapiFailure(e)
        const x = explainXapiError(f.code, f.params, (r) => this.nameOf(item.connectionId, r))
        return { host, ok: false, error: { code: f.code, params: f.params, message: x.sentence, ...(x.action ? { action: x.action } : {}) } }
      }
    })
  }

  /** every VM through the queue; answers when all are done, in the order given */
  async run(items: MigrationItem[], limits: Concurrency, actionIds: string[]): Promise<MigrationResult[]> {
    this.limits = limits
    return Promise.all(items.map((item, i) => this.one(item, actionIds[i] ?? randomUUID())))
  }

  /** a VM still waiting leaves the queue (true); false when it is not waiting (running: cancel its task) */
  cancel(actionId: string): boolean {
    const job = this.jobs.get(actionId)
    if (!job || job.cancelled) return false
    const i = this.waiting.indexOf(job)
    if (i < 0) return false
    job.cancelled = true
    this.waiting.splice(i, 1)
    job.wake?.()
    return true
  }

  private state(job: Job, state: StateEvent['state'], detail?: string): void {
    const { connectionId, vm, destConnectionId } = job.item
    this.onState({ actionId: job.actionId, connectionId, ref: vm, destConnectionId, state, ...(detail ? { detail } : {}) })
  }

  private hasRoom(item: MigrationItem): boolean {
    return (this.running.src.get(item.connectionId) ?? 0) < this.limits.perSource && (this.running.dst.get(item.destConnectionId) ?? 0) < this.limits.perDestination
  }

  private take(item: MigrationItem, delta: 1 | -1): void {
    this.running.src.set(item.connectionId, (this.running.src.get(item.connectionId) ?? 0) + delta)
    this.running.dst.set(item.destConnectionId, (this.running.dst.get(item.destConnectionId) ?? 0) + delta)
  }

  /** waits for a slot of both pools (first come, first served among those that fit) */
  private async acquire(job: Job): Promise<void> {
    if (this.waiting.length === 0 && this.hasRoom(job.item)) {
      this.take(job.item, 1)
      return
    }
    await new Promise<void>((resolve) => {
      job.wake = resolve
      this.waiting.push(job)
      this.pump()
    })
    job.wake = undefined
    if (job.cancelled) throw new CancelledInQueue('cancelled while queued')
  }

  private release(item: MigrationItem): void {
    this.take(item, -1)
    this.pump()
  }

  private pump(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const job = this.waiting[i]
      if (job && this.hasRoom(job.item)) {
        this.waiting.splice(i, 1)
        this.take(job.item, 1)
        job.wake?.()
      } else i++
    }
  }

  private async one(item: MigrationItem, actionId: string): Promise<MigrationResult> {
    const job: Job = { item, actionId, cancelled: false }
    this.jobs.set(actionId, job)
    const samePool = item.connectionId === item.destConnectionId
    const destName = this.poolName(item.destConnectionId)
    const title = samePool ? 'Migrate VM' : item.copy ? `Copy VM to ${destName}` : `Migrate VM to ${destName}`
    let retries = 0
    let holding = false
    // its name now: once moved, the source pool no longer has it
    const vmName = str(this.pools.graph(item.connectionId)?.get('VM', item.vm)?.name_label)
    this.state(job, 'queued')
    try {
      const result = await this.actions.run({
        connectionId: item.connectionId,
        cls: 'VM',
        ref: item.vm,
        title,
        id: actionId,
        params: { destination: destName, host: this.nameOf(item.destConnectionId, item.host) ?? item.host, copy: item.copy === true, compress: item.compress === true },
        steps: 1,
        work: async (ctx) => {
          await this.acquire(job)
          holding = true
          this.state(job, 'running')
          const started = Date.now()
          const options = this.options(item)
          for (;;) {
            const dest = await this.receive(item, item.host)
            const { vdiMap, vifMap } = this.maps(item)
            const live = this.live(item)
            try {
              await ctx.call('VM.assert_can_migrate', [item.vm, dest, live, vdiMap, vifMap, options, {}])
              const created = await ctx.task('VM.migrate_send', [item.vm, dest, live, vdiMap, vifMap, options, {}])
              return { created: str(created) }
            } catch (e) {
              if (asXapiFailure(e).code !== 'TOO_MANY_STORAGE_MIGRATES' || Date.now() - started + this.retryMs > this.waitMaxMs) throw e
              // XAPI is moving as many disks as it will: give the slot back, wait, queue again
              retries++
              holding = false
              this.release(item)
              this.state(job, 'retrying', `XAPI is already running its most storage migrations at once; trying again in ${Math.round(this.retryMs / 1000)} s (try ${retries + 1}).`)
              await sleep(this.retryMs)
              await this.acquire(job)
              holding = true
              this.state(job, 'running')
            }
          }
        },
      }).catch((e: unknown): ActionResult => {
        // a rule of ours refused this VM (its pool went away): said for it alone, the others go on
        if (e instanceof ActionRefusal) return { connectionId: item.connectionId, ref: item.vm, ok: false, error: { code: 'refused', params: [], message: e.message } }
        throw e
      })
      const out: MigrationResult = {
        connectionId: item.connectionId,
        ref: item.vm,
        destConnectionId: item.destConnectionId,
        ok: result.ok,
        actionId,
        retries,
        ...(result.created ? { created: result.created } : {}),
        ...(result.error ? { error: result.error } : {}),
      }
      if (result.ok && result.created && !samePool) this.arrived(item, result.created, vmName)
      this.state(job, result.ok ? 'done' : result.error?.code === 'TASK_CANCELLED' ? 'cancelled' : 'failed', result.error?.message)
      return out
    } finally {
      if (holding) this.release(item)
      this.jobs.delete(actionId)
    }
  }

  /** the destination's history learns where the VM came from (the VM has a new ref there) */
  private arrived(item: MigrationItem, created: string, vmName: string): void {
    const name = vmName || str(this.pools.graph(item.destConnectionId)?.get('VM', created)?.name_label) || created
    this.history.append({
      at: new Date().toISOString(),
      connectionId: item.destConnectionId,
      cls: 'VM',
      ref: created,
      objectName: name,
      action: item.copy ? `Copied here from ${this.poolName(item.connectionId)}` : `Migrated here from ${this.poolName(item.connectionId)}`,
      // a moved VM: where its earlier history is (the History tab follows it there); a copy's is the original's
      params: { source: this.poolName(item.connectionId), ...(item.copy ? {} : { fromConnectionId: item.connectionId, fromRef: item.vm }) },
      ok: true,
      durationMs: 0,
      user: this.pools.get(item.destConnectionId)?.username ?? 'unknown user',
    })
  }
}
