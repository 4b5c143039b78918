/**
 * The bridge's ConsoleSource on top of the pools layer: records from the pool's live graph
 * (PoolManagerApi.graph — no round trip per object; the graph is at least as new as what the window
 * showed when the user asked for the console) and pinned TLS through PoolHostAccess.
 *
 *   VM:   power_state, consoles, resident_on → console (protocol rfb) → host (address)
 *   host: control_domain (ely+; older hosts: the control-domain VM resident there) → as VM
 */
import { z } from 'zod'
import type { ConsoleTargetArgs } from '../../shared/contract/console'
import { STATUS_PHRASE } from '../../shared/contract/connection'
import type { PoolHostAccess, PoolManagerApi } from '../pools/api'
import type { ConsoleSource, LocatedConsole } from './bridge'
import { ConsoleError } from './errors'

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
export type ConsolePools = Pick<PoolManagerApi, 'get' | 'graph' | 'call'>

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
      throw new ConsoleError('pool-offline', `Pool '${state.label}' is ${STATUS_PHRASE[state.status]}: consoles need a connected pool. Connect it and try again.`)
    }
    let vmRef: string
    if ('hostRef' in target) {
      const host = this.record('host', target.hostRef, HostFields, connectionId)
      const dom0 = host.control_domain
      if (isRef(dom0)) vmRef = dom0
      else vmRef = this.controlDomainOf(connectionId, target.hostRef, host.name_label)
    } else {
      vmRef = target.vmRef
    }
    const vm = this.record('VM', vmRef, VmFields, connectionId)
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
      const rec = this.pools.graph(connectionId)?.get('console', ref)
      if (!rec) dangling.push(ref)
      const c = ConsoleFields.safeParse(rec)
      if (c.success && c.data.protocol === 'rfb') {
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
    const host = this.record('host', vm.resident_on, HostFields, connectionId)
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

  private controlDomainOf(connectionId: string, hostRef: string, hostName: string): string {
    for (const [ref, vm] of this.pools.graph(connectionId)?.all('VM') ?? []) if (vm.is_control_domain === true && vm.resident_on === hostRef) return ref
    throw new ConsoleError('not-found', `Host '${hostName}' has no control domain in the pool's database.`)
  }

  private record<T extends z.ZodTypeAny>(cls: string, ref: string, schema: T, connectionId: string): z.output<T> {
    const raw = this.pools.graph(connectionId)?.get(cls, ref)
    if (!raw) throw new ConsoleError('not-found', `The ${cls} ${ref} no longer exists in the pool.`)
    const parsed = schema.safeParse(raw)
    if (!parsed.success) throw new ConsoleError('not-found', `The pool's ${cls} ${ref} is not a record a console can use: ${parsed.error.issues[0]?.message ?? 'invalid'}.`)
    return parsed.data
  }
}
