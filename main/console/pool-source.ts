/**
 * The bridge's ConsoleSource on top of the pools layer: XAPI calls through PoolManagerApi (live
 * values, not a possibly stale graph) and pinned TLS through PoolHostAccess.
 *
 *   VM:   VM.get_record → power_state, consoles, resident_on → console.get_record (protocol rfb)
 *         → host.get_record (address)
 *   host: host.get_record → control_domain (ely+; older hosts: the control-domain VM resident
 *         there) → as VM
 */
import { z } from 'zod'
import type { ConsoleTargetArgs } from '../../shared/contract/console'
import type { PoolHostAccess, PoolManagerApi } from '../pools/api'
import type { ConsoleSource, LocatedConsole } from './bridge'
import { ConsoleError, describe } from './errors'

const NULL_REF = 'OpaqueRef:NULL'

function isRef(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith('OpaqueRef:') && v !== NULL_REF
}

/** the fields we read, whatever else the record carries; refs may be normalised NULL → null */
const VmFields = z.object({
  uuid: z.string(),
  name_label: z.string(),
  power_state: z.string(),
  consoles: z.array(z.string()),
  resident_on: z.string().nullable(),
  is_control_domain: z.boolean(),
  other_config: z.record(z.string(), z.unknown()).optional(),
  domain_type: z.string().optional(),
})
const HostFields = z.object({
  name_label: z.string(),
  address: z.string(),
  control_domain: z.string().nullable().optional(),
})
const ConsoleFields = z.object({ protocol: z.string() })

/** the part of the PoolManager the source needs */
export type ConsolePools = Pick<PoolManagerApi, 'get' | 'call'>

export class PoolConsoleSource implements ConsoleSource {
  constructor(
    private readonly pools: ConsolePools,
    private readonly hosts: PoolHostAccess,
  ) {}

  async locate(target: ConsoleTargetArgs): Promise<LocatedConsole> {
    const { connectionId } = target
    const state = this.pools.get(connectionId)
    if (!state) throw new ConsoleError('not-found', `There is no saved connection ${JSON.stringify(connectionId)}.`)
    if (state.status !== 'connected') {
      throw new ConsoleError('pool-offline', `Pool '${state.label}' is ${state.status}: consoles need a connected pool. Connect it and try again.`)
    }
    let vmRef: string
    if ('hostRef' in target) {
      const host = await this.record('host', target.hostRef, HostFields, connectionId)
      const dom0 = host.control_domain
      if (isRef(dom0)) vmRef = dom0
      else vmRef = await this.controlDomainOf(connectionId, target.hostRef, host.name_label)
    } else {
      vmRef = target.vmRef
    }
    const vm = await this.record('VM', vmRef, VmFields, connectionId)
    const vmLabel = vm.is_control_domain ? `The control domain '${vm.name_label}'` : `VM '${vm.name_label}'`
    if (vm.power_state === 'Suspended') throw new ConsoleError('vm-suspended', `${vmLabel} is suspended: resume it to see its console.`)
    if (vm.power_state !== 'Running' && vm.power_state !== 'Paused') {
      throw new ConsoleError('vm-not-running', `${vmLabel} is not running (${vm.power_state}): start it to see its console.`)
    }
    if (!isRef(vm.resident_on)) throw new ConsoleError('vm-not-running', `${vmLabel} is not resident on any host yet: wait until it has started.`)
    // the admin switched the text console of a PV guest off (XAPI then starts no vncterm for it)
    const disabled = vm.other_config?.['disable_pv_vnc']
    if ((disabled === '1' || disabled === 'true') && vm.domain_type !== 'hvm') {
      throw new ConsoleError('console-disabled', `${vmLabel} has its console switched off (other_config:disable_pv_vnc=${disabled}). Remove that key to use the console.`)
    }
    let consoleRef: string | undefined
    const dangling: string[] = []
    for (const ref of vm.consoles) {
      const c = await this.record('console', ref, ConsoleFields, connectionId).catch((e: unknown) => {
        if (e instanceof ConsoleError && e.code === 'not-found') dangling.push(ref)
        return undefined
      })
      if (c?.protocol === 'rfb') {
        consoleRef = ref
        break
      }
    }
    if (!consoleRef && dangling.length > 0 && dangling.length === vm.consoles.length) {
      // every console ref the VM names points nowhere (seen in real XenServer 7.2 records): waiting
      // will not fix it, so say what is wrong instead of retrying
      throw new ConsoleError(
        'console-missing',
        `${vmLabel} is running but its console (${dangling.join(', ')}) does not exist in the pool's database, so there is nothing to connect to. Rebooting the VM makes XAPI create its console again.`,
      )
    }
    if (!consoleRef) throw new ConsoleError('no-console', `${vmLabel} has no graphical (rfb) console yet; it may still be starting.`)
    const host = await this.record('host', vm.resident_on, HostFields, connectionId)
    return {
      connectionId,
      vmRef,
      vmUuid: vm.uuid,
      vmName: vm.name_label,
      consoleRef,
      hostRef: vm.resident_on,
      hostName: host.name_label,
      hostAddress: host.address,
      isControlDomain: vm.is_control_domain,
    }
  }

  connectTls(connectionId: string, hostAddress: string): ReturnType<ConsoleSource['connectTls']> {
    return this.hosts.connectHostTls(connectionId, hostAddress)
  }

  async refreshSession(connectionId: string): Promise<void> {
    // any call makes the pool notice SESSION_INVALID and log in again
    await this.pools.call(connectionId, 'pool.get_all', []).catch(() => undefined)
  }

  private async controlDomainOf(connectionId: string, hostRef: string, hostName: string): Promise<string> {
    const found = await this.pools.call(connectionId, 'VM.get_all_records_where', [`field "is_control_domain"="true" and field "resident_on"="${hostRef}"`])
    if (typeof found === 'object' && found !== null) {
      const ref = Object.keys(found).find(isRef)
      if (ref) return ref
    }
    throw new ConsoleError('not-found', `Host '${hostName}' has no control domain in the pool's database.`)
  }

  private async record<T extends z.ZodTypeAny>(cls: string, ref: string, schema: T, connectionId: string): Promise<z.output<T>> {
    let raw: unknown
    try {
      raw = await this.pools.call(connectionId, `${cls}.get_record`, [ref])
    } catch (err) {
      const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
      if (code === 'HANDLE_INVALID') throw new ConsoleError('not-found', `The ${cls} ${ref} no longer exists in the pool.`)
      throw new ConsoleError('pool-offline', `Reading ${cls} ${ref} from the pool failed: ${describe(err)}`)
    }
    const parsed = schema.safeParse(normaliseNullRefs(raw))
    if (!parsed.success) throw new ConsoleError('not-found', `The pool answered ${cls}.get_record for ${ref} with an unexpected record: ${parsed.error.issues[0]?.message ?? 'invalid'}.`)
    return parsed.data
  }
}

/** the pools layer may return refs raw ('OpaqueRef:NULL') or normalised (null): accept both */
function normaliseNullRefs(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(raw)) out[k] = v === NULL_REF ? null : v
  return out
}
