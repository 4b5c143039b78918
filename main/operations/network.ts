/**
 * Networking actions (issue 13) as XAPI call sequences, the way XenCenter's actions run them
 * (XenModel/Actions/VIF, Network): each is one user action (ActionRunner: one Activity row, one
 * history entry, XAPI's refusal as a sentence with its code and params).
 *
 * XAPI decides what is allowed; main checks first only what XAPI cannot refuse cleanly: a rule
 * XenCenter adds (2–4 NICs per bond), or a sequence that must not stop half way (removing a
 * network destroys its VLANs and bonds first, so a network of a physical NIC is refused before
 * anything is touched). Multi-step actions clean up after a failed step where they can: a bond's
 * or VLAN's new network is destroyed again when the bond or VLAN could not be made.
 */
import { randomBytes } from 'node:crypto'
import type { NetworkResult } from '../../shared/contract/network'
import * as rules from '../../shared/operations/network'
import type { NetGraph } from '../../shared/operations/network'
import { ActionRefusal, ActionRunner, asXapiFailure, type ActionContext } from './action'

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {})
const isRef = (v: string): boolean => v.startsWith('OpaqueRef:') && v !== rules.NULL_REF

/** a locally administered unicast MAC, for a VM XAPI gave no mac_seed */
export function randomMac(): string {
  const b = randomBytes(6)
  b[0] = ((b[0] ?? 0) | 0x02) & 0xfe
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')
}

/** a new network (automatic, as XenCenter makes them) for what `use` builds on it (a bond, a VLAN); it goes again when that fails */
async function onNewNetwork<T>(ctx: ActionContext, name: string, mtu: number, use: (net: string) => Promise<T>): Promise<T> {
  const net = str(await ctx.call('network.create', [{ name_label: name, name_description: '', MTU: mtu, other_config: { automatic: 'true' }, tags: [] }]))
  try {
    return await use(net)
  } catch (e) {
    await ctx.call('network.destroy', [net]).catch(() => undefined)
    throw e
  }
}

export interface VifSettings {
  mac?: string
  rateLimitKbps?: number | null
  lockingMode?: rules.LockingMode
  ipv4Allowed?: string[]
  ipv6Allowed?: string[]
}

export class NetworkRunner {
  constructor(
    private readonly actions: ActionRunner,
    private readonly graphOf: (connectionId: string) => NetGraph | undefined,
  ) {}

  private graph(connectionId: string): NetGraph {
    const g = this.graphOf(connectionId)
    if (!g) throw new ActionRefusal('The pool’s objects are not loaded yet')
    return g
  }

  /** names a ref in an error sentence: VM 'web-01', server 'h1', network 'Storage', NIC 'NIC 1 on h1', … */
  static nameOf(g: NetGraph | undefined, ref: string): string | undefined {
    if (!g) return undefined
    for (const [cls, label] of [['VM', 'VM'], ['host', 'Server'], ['network', 'Network']] as const) {
      const rec = g.get(cls, ref)
      if (rec) return `${label} '${str(rec.name_label) || ref}'`
    }
    const pif = g.get('PIF', ref)
    if (pif) return `${rules.pifName(g, ref)} on ${rules.hostName(g, str(pif.host))}`
    const vif = g.get('VIF', ref)
    if (vif) return `NIC ${str(vif.device)} of ${rules.vmName(g, str(vif.VM))}`
    const bond = g.get('Bond', ref)
    if (bond) return `the bond ${rules.pifName(g, str(bond.master))}`
    const vlan = g.get('VLAN', ref)
    if (vlan) return `VLAN ${String(vlan.tag)}`
    return undefined
  }

  private vifOf(g: NetGraph, vif: string): { rec: Record<string, unknown>; vm: string } {
    const rec = g.get('VIF', vif)
    if (!rec) throw new ActionRefusal('The NIC no longer exists')
    return { rec, vm: str(rec.VM) }
  }

  private running(g: NetGraph, vm: string): boolean {
    const p = str(g.get('VM', vm)?.power_state)
    return p === 'Running' || p === 'Paused'
  }

  // -------------------------------------------------------------------------------------------
  // VIFs

  /** XenCenter's CreateVIFAction: VIF.create on the first free device, then plug when the VM runs and can */
  createVif(a: { connectionId: string; vm: string; network: string } & VifSettings): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const net = g.get('network', a.network)
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: a.vm,
      title: 'Add NIC',
      params: { network: rules.networkName(g, a.network), ...settingsParams(a) },
      check: () => (net ? rules.canAddVif(g, a.vm) : 'Choose a network'),
      steps: 1,
      work: async (ctx) => {
        const devices = strs(await ctx.call('VM.get_allowed_VIF_devices', [a.vm]))
        const device = devices[0]
        if (device === undefined) throw new ActionRefusal(`${rules.vmName(g, a.vm)} has no free NIC device left`)
        const seeded = str(obj(g.get('VM', a.vm)?.other_config).mac_seed) !== ''
        const vif = str(
          await ctx.task('VIF.create', [
            vifRecord({ device, network: a.network, vm: a.vm, mac: a.mac ?? (seeded ? '' : randomMac()), mtu: Number(net?.MTU) || 1500, settings: a }),
          ]),
        )
        await this.allowedAddresses(ctx, vif, a)
        return { created: vif, ...(await this.plugIfRunning(ctx, g, a.vm, vif)) }
      },
    })
  }

  private async allowedAddresses(ctx: ActionContext, vif: string, s: VifSettings): Promise<void> {
    if (s.ipv4Allowed) await ctx.call('VIF.set_ipv4_allowed', [vif, s.ipv4Allowed])
    if (s.ipv6Allowed) await ctx.call('VIF.set_ipv6_allowed', [vif, s.ipv6Allowed])
  }

  /** hot-plug a new VIF into a running VM when XAPI allows it; otherwise say when it appears */
  private async plugIfRunning(ctx: ActionContext, g: NetGraph, vm: string, vif: string): Promise<{ note?: string }> {
    if (str(g.get('VM', vm)?.power_state) !== 'Running') return {}
    const ops = strs(await ctx.call('VIF.get_allowed_operations', [vif]))
    if (!ops.includes('plug')) return { note: `The NIC is added; ${rules.vmName(g, vm)} sees it after its next restart (it cannot hot-plug NICs now).` }
    // a task of this action, not a stray one in the Activity panel
    ctx.steps(2)
    await ctx.task('VIF.plug', [vif])
    return {}
  }

  /** XenCenter's DeleteVIFAction: unplug when attached to a running VM (already detached is fine), then VIF.destroy */
  removeVif(a: { connectionId: string; vif: string }): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const { rec, vm } = this.vifOf(g, a.vif)
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: vm,
      title: 'Remove NIC',
      params: { device: str(rec.device), MAC: str(rec.MAC), network: rules.networkName(g, str(rec.network)) },
      check: () => rules.canRemoveVif(g, a.vif),
      steps: 1,
      work: async (ctx) => {
        // the live state, not the graph's (it may lag XAPI by a batch)
        const power = str(await ctx.call('VM.get_power_state', [vm]))
        if ((power === 'Running' || power === 'Paused') && (await ctx.call('VIF.get_currently_attached', [a.vif])) === true) {
          ctx.steps(2)
          await unplugTolerant(ctx, a.vif)
        }
        await ctx.task('VIF.destroy', [a.vif])
        return undefined
      },
    })
  }

  plugVif(a: { connectionId: string; vif: string }, plug: boolean): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const { rec, vm } = this.vifOf(g, a.vif)
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: vm,
      title: plug ? 'Connect NIC' : 'Disconnect NIC',
      params: { device: str(rec.device), network: rules.networkName(g, str(rec.network)) },
      check: () => (plug ? rules.canPlugVif(g, a.vif) : rules.canUnplugVif(g, a.vif)),
      steps: 1,
      work: async (ctx) => {
        await ctx.task(plug ? 'VIF.plug' : 'VIF.unplug', [a.vif])
        return undefined
      },
    })
  }

  /**
   * VIF.move (XenServer 7.1 and later; a running NIC moves bridge without the guest noticing). A
   * host that does not know the call (MESSAGE_METHOD_UNKNOWN) gets XenCenter's older way: the VIF
   * re-created on the new network with the same device, MAC and settings, plugged again if it was.
   */
  moveVif(a: { connectionId: string; vif: string; network: string }): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const { rec, vm } = this.vifOf(g, a.vif)
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: vm,
      title: 'Move NIC',
      params: { device: str(rec.device), from: rules.networkName(g, str(rec.network)), to: rules.networkName(g, a.network) },
      check: () => rules.canMoveVif(g, a.vif, a.network),
      steps: 1,
      work: async (ctx) => {
        try {
          await ctx.task('VIF.move', [a.vif, a.network])
          return undefined
        } catch (e) {
          if (asXapiFailure(e).code !== 'MESSAGE_METHOD_UNKNOWN') throw e
        }
        const created = await this.recreate(ctx, g, vm, a.vif, { network: a.network })
        return { created, note: 'This server predates VIF.move (XenServer 7.1): the NIC was re-created on the new network with the same device and MAC.' }
      },
    })
  }

  /** remove a VIF and make it again with changes (a new MAC, an old host's move), keeping everything else */
  private async recreate(ctx: ActionContext, g: NetGraph, vm: string, vif: string, change: { network?: string; mac?: string; settings?: VifSettings }): Promise<string> {
    const r = obj(await ctx.call('VIF.get_record', [vif]))
    const wasAttached = r.currently_attached === true && this.running(g, vm)
    if (wasAttached) {
      const hp = rules.hotplugReason(g, vm)
      if (hp !== true) throw new ActionRefusal(`${hp}; shut it down to change this NIC`)
      ctx.steps(3)
      await unplugTolerant(ctx, vif)
    }
    await ctx.call('VIF.destroy', [vif])
    const network = change.network ?? str(r.network)
    const s = change.settings ?? {}
    const settings: VifSettings = {
      rateLimitKbps: s.rateLimitKbps !== undefined ? s.rateLimitKbps : str(r.qos_algorithm_type) === 'ratelimit' ? Number(obj(r.qos_algorithm_params).kbps) || null : null,
      lockingMode: s.lockingMode ?? ((rules.LOCKING_MODES as readonly string[]).includes(str(r.locking_mode)) ? (str(r.locking_mode) as rules.LockingMode) : 'network_default'),
    }
    const created = str(
      await ctx.task('VIF.create', [vifRecord({ device: str(r.device), network, vm, mac: change.mac ?? str(r.MAC), mtu: Number(r.MTU) || 1500, settings, otherConfig: obj(r.other_config) })]),
    )
    await this.allowedAddresses(ctx, created, { ipv4Allowed: s.ipv4Allowed ?? strs(r.ipv4_allowed), ipv6Allowed: s.ipv6Allowed ?? strs(r.ipv6_allowed) })
    if (wasAttached) await ctx.task('VIF.plug', [created])
    return created
  }

  /**
   * A NIC's settings. A new MAC means a new VIF (re-created, plugged again if it was); locking mode
   * and allowed addresses change in place (applied at once); the rate limit is stored in place and
   * xenopsd applies it when the NIC is next plugged, which the result says.
   */
  updateVif(a: { connectionId: string; vif: string } & VifSettings): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const { rec, vm } = this.vifOf(g, a.vif)
    const newMac = a.mac !== undefined && a.mac.toLowerCase() !== str(rec.MAC).toLowerCase()
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'VM',
      ref: vm,
      title: newMac ? 'Change NIC MAC address' : 'Change NIC settings',
      params: { device: str(rec.device), ...settingsParams(a) },
      check: () => (newMac ? rules.canChangeMac(g, a.vif, a.mac ?? '') : rules.canEditVifSettings(g, a.vif)),
      steps: 1,
      work: async (ctx) => {
        if (newMac) return { created: await this.recreate(ctx, g, vm, a.vif, { mac: a.mac, settings: a }) }
        let note: string | undefined
        if (a.rateLimitKbps !== undefined) {
          await ctx.call('VIF.set_qos_algorithm_type', [a.vif, a.rateLimitKbps === null ? '' : 'ratelimit'])
          await ctx.call('VIF.set_qos_algorithm_params', [a.vif, a.rateLimitKbps === null ? {} : { kbps: String(a.rateLimitKbps) }])
          if (rec.currently_attached === true && this.running(g, vm)) note = 'The new rate limit applies when the NIC is next connected (disconnect and connect it, or restart the VM).'
        }
        if (a.lockingMode !== undefined) await ctx.task('VIF.set_locking_mode', [a.vif, a.lockingMode])
        await this.allowedAddresses(ctx, a.vif, a)
        return note ? { note } : undefined
      },
    })
  }

  // -------------------------------------------------------------------------------------------
  // a host's NICs

  /** PIF.scan; the result names the NICs it found */
  scanPifs(a: { connectionId: string; host: string }): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'host',
      ref: a.host,
      title: 'Rescan NICs',
      params: {},
      check: () => rules.canScanPifs(g, a.host),
      steps: 1,
      work: async (ctx) => {
        const before = new Set(strs(await ctx.call('host.get_PIFs', [a.host])))
        await ctx.task('PIF.scan', [a.host])
        const found = strs(await ctx.call('host.get_PIFs', [a.host])).filter((p) => !before.has(p))
        const devices: string[] = []
        for (const p of found) devices.push(str(await ctx.call('PIF.get_device', [p])))
        return { note: found.length === 0 ? 'No new NICs found.' : `Found ${found.length} new NIC${found.length === 1 ? '' : 's'}: ${devices.sort().join(', ')}.` }
      },
    })
  }

  /** XenCenter's CreateBondAction on one server: a new network, then Bond.create; the network goes again if the bond cannot be made */
  createBond(a: { connectionId: string; host: string; members: string[]; mode: rules.BondMode; name: string; mtu?: number; hashingAlgorithm?: 'src_mac' | 'tcpudp_ports' }): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const takesManagement = rules.bondTakesManagement(g, a.members)
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'host',
      ref: a.host,
      title: 'Create bond',
      params: { name: a.name, mode: a.mode, members: a.members.map((m) => rules.pifName(g, m)), ...(a.mtu ? { mtu: a.mtu } : {}) },
      // XenCenter's limits and same-server rule; XAPI refuses the rest (PIF_ALREADY_BONDED, …) itself
      check: () => {
        const uniq = [...new Set(a.members)]
        if (uniq.length < rules.BOND_MIN_MEMBERS) return `Choose at least ${rules.BOND_MIN_MEMBERS} NICs`
        if (uniq.length > rules.BOND_MAX_MEMBERS) return `A bond takes at most ${rules.BOND_MAX_MEMBERS} NICs`
        const other = uniq.find((m) => g.get('PIF', m) && str(g.get('PIF', m)?.host) !== a.host)
        return other ? `${rules.pifName(g, other)} is not a NIC of ${rules.hostName(g, a.host)}` : true
      },
      steps: 1,
      work: async (ctx) => {
        return onNewNetwork(ctx, a.name, a.mtu ?? 1500, async (net) => {
          const props = a.mode === 'lacp' && a.hashingAlgorithm ? { hashing_algorithm: a.hashingAlgorithm } : {}
          const bond = str(await ctx.task('Bond.create', [net, a.members, '', a.mode, props]))
          return { created: bond, ...(takesManagement ? { note: 'The management interface moved to the bond.' } : {}) }
        })
      },
    })
  }

  /** Bond.destroy; the bond's network goes too when no other server uses it and no NIC is on it */
  destroyBond(a: { connectionId: string; bond: string }): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const b = g.get('Bond', a.bond)
    const master = g.get('PIF', str(b?.master))
    const host = str(master?.host)
    const net = str(master?.network)
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'host',
      ref: host || a.bond,
      title: 'Delete bond',
      params: { bond: b ? rules.pifName(g, str(b.master)) : a.bond, network: rules.networkName(g, net) },
      check: () => rules.canDestroyBond(g, a.bond),
      steps: 1,
      work: async (ctx) => {
        await ctx.task('Bond.destroy', [a.bond])
        if (!isRef(net)) return undefined
        const left = strs(await ctx.call('network.get_PIFs', [net]))
        const vifs = strs(await ctx.call('network.get_VIFs', [net]))
        if (left.length > 0 || vifs.length > 0) {
          return { note: `The network ${rules.networkName(g, net)} stays: ${left.length > 0 ? 'other servers still have a NIC on it' : 'VMs still have NICs on it'}.` }
        }
        await ctx.call('network.destroy', [net])
        return undefined
      },
    })
  }

  setBondMode(a: { connectionId: string; bond: string; mode: rules.BondMode }): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const b = g.get('Bond', a.bond)
    const host = str(g.get('PIF', str(b?.master))?.host)
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'host',
      ref: host || a.bond,
      title: 'Change bond mode',
      params: { bond: b ? rules.pifName(g, str(b.master)) : a.bond, mode: a.mode },
      check: () => (b ? true : 'The bond no longer exists'),
      steps: 1,
      work: async (ctx) => {
        await ctx.task('Bond.set_mode', [a.bond, a.mode])
        return undefined
      },
    })
  }

  /** a new network, then pool.create_VLAN_from_PIF (every server whose NIC shares the chosen NIC's network); the network goes again on failure */
  createVlan(a: { connectionId: string; pif: string; tag: number; name: string; mtu?: number }): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const pif = g.get('PIF', a.pif)
    const plan = rules.vlanPlan(g, a.pif, a.tag)
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'host',
      ref: str(pif?.host) || a.pif,
      title: 'Create VLAN',
      params: { name: a.name, tag: a.tag, on: rules.pifName(g, a.pif), servers: plan.on.map((h) => h.hostName) },
      check: () => (pif ? true : 'The NIC no longer exists'),
      steps: 1,
      work: async (ctx) => {
        return onNewNetwork(ctx, a.name, a.mtu ?? (Number(pif?.MTU) || 1500), async (net) => {
          const pifs = strs(await ctx.task('pool.create_VLAN_from_PIF', [a.pif, net, a.tag]))
          const missing = plan.notOn.map((h) => h.hostName)
          return { created: net, ...(missing.length > 0 ? { note: `Created on ${pifs.length} server${pifs.length === 1 ? '' : 's'}; not on ${missing.join(', ')} (no NIC on the same network).` } : {}) }
        })
      },
    })
  }

  /** VLAN.destroy on one server (the network stays for the others) */
  destroyVlan(a: { connectionId: string; vlan: string }): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const v = g.get('VLAN', a.vlan)
    const untagged = g.get('PIF', str(v?.untagged_PIF))
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'host',
      ref: str(untagged?.host) || a.vlan,
      title: 'Delete VLAN',
      params: { tag: Number(v?.tag), network: rules.networkName(g, str(untagged?.network)) },
      check: () => (v ? true : 'The VLAN no longer exists'),
      steps: 1,
      work: async (ctx) => {
        await ctx.task('VLAN.destroy', [a.vlan])
        return undefined
      },
    })
  }

  // -------------------------------------------------------------------------------------------
  // networks

  createNetwork(a: { connectionId: string; name: string; description?: string; mtu?: number; autoPlug?: boolean }): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const pool = [...g.all('pool').keys()][0] ?? ''
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'pool',
      ref: pool,
      title: 'New network',
      params: { name: a.name, ...(a.mtu ? { mtu: a.mtu } : {}) },
      steps: 1,
      work: async (ctx) => {
        const net = str(
          await ctx.task('network.create', [{ name_label: a.name, name_description: a.description ?? '', MTU: a.mtu ?? 1500, other_config: { automatic: a.autoPlug === false ? 'false' : 'true' }, tags: [] }]),
        )
        return { created: net }
      },
    })
  }

  setMtu(a: { connectionId: string; network: string; mtu: number }): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const net = g.get('network', a.network)
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'network',
      ref: a.network,
      title: 'Change MTU',
      params: { mtu: a.mtu },
      check: () => (net ? rules.mtuReason(a.mtu) : 'The network no longer exists'),
      steps: 1,
      work: async (ctx) => {
        await ctx.call('network.set_MTU', [a.network, a.mtu])
        const users = rules.runningVmsOn(g, a.network)
        return users.length > 0 ? { note: 'Running VMs on this network keep the old MTU until their NICs are next connected.' } : undefined
      },
    })
  }

  /** XenCenter's NetworkAction (destroy): the network's bonds and VLANs on every server, then network.destroy */
  removeNetwork(a: { connectionId: string; network: string }): Promise<NetworkResult> {
    const g = this.graph(a.connectionId)
    const removal = rules.networkRemoval(g, a.network)
    return this.actions.run({
      connectionId: a.connectionId,
      cls: 'network',
      ref: a.network,
      title: 'Remove network',
      params: removal.ok ? { bonds: removal.plan.bonds.length, vlans: removal.plan.vlans.length, nics: removal.plan.vifs.length } : {},
      check: () => (removal.ok ? true : removal.reason),
      steps: removal.ok ? removal.plan.bonds.length + 1 : 1,
      work: async (ctx) => {
        if (!removal.ok) return undefined
        for (const bond of removal.plan.bonds) await ctx.task('Bond.destroy', [bond])
        for (const vlan of removal.plan.vlans) await ctx.call('VLAN.destroy', [vlan])
        await ctx.task('network.destroy', [a.network])
        return undefined
      },
    })
  }
}

async function unplugTolerant(ctx: ActionContext, vif: string): Promise<void> {
  try {
    await ctx.task('VIF.unplug', [vif])
  } catch (e) {
    // already detached is what we wanted (XenCenter's DeleteVIFAction)
    if (asXapiFailure(e).code !== 'DEVICE_ALREADY_DETACHED') throw e
  }
}

function vifRecord(o: { device: string; network: string; vm: string; mac: string; mtu: number; settings: VifSettings; otherConfig?: Record<string, unknown> }): Record<string, unknown> {
  const rate = o.settings.rateLimitKbps
  return {
    device: o.device,
    network: o.network,
    VM: o.vm,
    MAC: o.mac,
    MTU: o.mtu,
    other_config: o.otherConfig ?? {},
    currently_attached: false,
    qos_algorithm_type: rate ? 'ratelimit' : '',
    qos_algorithm_params: rate ? { kbps: String(rate) } : {},
    locking_mode: o.settings.lockingMode ?? 'network_default',
    ipv4_allowed: [],
    ipv6_allowed: [],
  }
}

function settingsParams(s: VifSettings): Record<string, unknown> {
  return {
    ...(s.mac !== undefined ? { mac: s.mac } : {}),
    ...(s.rateLimitKbps !== undefined ? { rateLimitKbps: s.rateLimitKbps } : {}),
    ...(s.lockingMode !== undefined ? { lockingMode: s.lockingMode } : {}),
    ...(s.ipv4Allowed !== undefined ? { ipv4Allowed: s.ipv4Allowed } : {}),
    ...(s.ipv6Allowed !== undefined ? { ipv6Allowed: s.ipv6Allowed } : {}),
  }
}
