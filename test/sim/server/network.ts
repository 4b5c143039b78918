/**
 * Networking as xapi does it: VIFs (xapi_vif.ml, xapi_vif_helpers.ml, the VIF part of
 * message_forwarding.ml), PIFs (xapi_pif.ml: scan, plug, unplug), bonds (xapi_bond.ml), VLANs
 * (xapi_vlan.ml, xapi_pool.ml create_VLAN_from_PIF) and networks (xapi_network.ml create/destroy).
 * Every check is made in xapi's order with xapi's error codes and parameters, and every change
 * to the network graph is a database change, so clients see it through event.from:
 *  - a bond gets a master PIF (device bondN, physical false, its own PIF_metrics) on the bond's
 *    network; its members get bond_slave_of and go down; the primary member's IP configuration
 *    and the management role move to the master; VLANs on the members move onto the master; the
 *    VIFs of VMs local to the host move from the members' networks to the bond network. Destroying
 *    the bond undoes all of that towards the primary member.
 *  - a VLAN is a VLAN record plus an untagged PIF (device of the tagged PIF, MAC fe:ff:ff:ff:ff:ff,
 *    VLAN = tag, the tagged PIF's metrics) on the VLAN's network.
 * What the simulator cannot know (kernel VLANs, SR-IOV, tunnels, FCoE, clustering) is left out;
 * HA checks read pool.ha_enabled.
 */
import { createHash, randomUUID } from 'node:crypto'
import { SimXapiError, type SimRecord, type SimValue } from '../model'
import { newRef } from './db'
import type { CallInfo, Handler } from './generic'
import type { PoolState } from './pool'
import { NULL_DATE, NULL_REF, type XType } from './schema'
import type { TaskHandle } from './tasks'

const str = (v: SimValue | undefined): string => (typeof v === 'string' ? v : '')
const arr = (v: SimValue | undefined): SimValue[] => (Array.isArray(v) ? v : [])
const refs = (v: SimValue | undefined): string[] => arr(v).filter((x): x is string => typeof x === 'string')
const obj = (v: SimValue | undefined): Record<string, SimValue> => (v && typeof v === 'object' && !Array.isArray(v) ? v : {})
const num = (v: SimValue | undefined): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) || 0 : 0)
const isRef = (r: string): boolean => r !== '' && r !== NULL_REF

function fail(...description: string[]): never {
  throw new SimXapiError(description)
}

// ---------------------------------------------------------------------------------------------
// Small database helpers: XAPI keeps these reverse sets itself (network.VIFs, VM.VIFs,
// host.PIFs, network.PIFs, Bond.slaves, PIF.bond_master_of, PIF.VLAN_slave_of).

function addTo(pool: PoolState, cls: string, ref: string, field: string, value: string): void {
  const rec = pool.db.get(cls, ref)
  if (!rec) return
  const cur = refs(rec[field])
  if (!cur.includes(value)) pool.db.update(cls, ref, { [field]: [...cur, value] })
}

function removeFrom(pool: PoolState, cls: string, ref: string, field: string, value: string): void {
  const rec = pool.db.get(cls, ref)
  if (!rec) return
  const cur = refs(rec[field])
  if (cur.includes(value)) pool.db.update(cls, ref, { [field]: cur.filter((x) => x !== value) })
}

/** a record argument (VIF.create, network.create) with its fields coerced as the datamodel types them */
function recordArg(pool: PoolState, cls: string, v: SimValue | undefined): SimRecord {
  const given = obj(v)
  const c = pool.schema.cls(cls)
  const out: SimRecord = {}
  for (const f of c.fields) {
    const x = given[f.name]
    if (x === undefined) continue
    out[f.name] = coerceField(f.name, f.type, x)
  }
  return out
}

function coerceField(name: string, t: XType, v: SimValue): SimValue {
  switch (t.k) {
    case 'int':
      if (typeof v === 'number' && Number.isInteger(v)) return v
      if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim())
      return fail('FIELD_TYPE_ERROR', name)
    case 'float':
      if (typeof v === 'number') return v
      if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v)
      return fail('FIELD_TYPE_ERROR', name)
    case 'bool':
      if (typeof v === 'boolean') return v
      if (v === 'true' || v === 'false') return v === 'true'
      return fail('FIELD_TYPE_ERROR', name)
    case 'set':
      if (!Array.isArray(v)) return fail('FIELD_TYPE_ERROR', name)
      return v.map((x) => coerceField(name, t.of, x))
    case 'map': {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return fail('FIELD_TYPE_ERROR', name)
      const out: Record<string, SimValue> = {}
      for (const [k, x] of Object.entries(v)) out[k] = coerceField(name, t.val, x)
      return out
    }
    default:
      if (typeof v !== 'string') return fail('FIELD_TYPE_ERROR', name)
      return v
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** the task a call runs under: the client's Async task, or a hidden one for a sync call */
function taskOf(pool: PoolState, call: CallInfo): { task: TaskHandle; done: () => void } {
  const visible = call.taskRef ? pool.tasks.running.get(call.taskRef) : undefined
  if (visible) return { task: visible, done: () => {} }
  const task = pool.tasks.create(call.wire, pool.masterRef, call.session, false)
  return { task, done: () => pool.tasks.discard(task) }
}

/** a share of the fleet's operation time, in steps with progress (networkd is quicker than a VM start) */
async function work(pool: PoolState, task: TaskHandle, share: number, from: number, to: number): Promise<void> {
  const total = pool.opDurationMs * share
  if (total <= 0) {
    await new Promise((r) => setImmediate(r))
    return
  }
  const steps = Math.max(1, Math.min(5, Math.round(total / 100)))
  for (let i = 1; i <= steps; i++) {
    await sleep(total / steps)
    task.progress(from + ((to - from) * i) / steps)
  }
}

function liveHost(pool: PoolState, host: string): boolean {
  const h = pool.db.get('host', host)
  return pool.db.get('host_metrics', str(h?.['metrics']))?.['live'] !== false
}

function haEnabled(pool: PoolState): boolean {
  return pool.poolRecord['ha_enabled'] === true
}

// ---------------------------------------------------------------------------------------------
// VIFs

const VIF_OPS = ['attach', 'plug', 'unplug'] as const
type VifOp = (typeof VIF_OPS)[number]

/** xapi_vif_helpers.ml valid_operations: for each operation, the error that forbids it (or none) */
function vifErrors(pool: PoolState, ref: string, vif: SimRecord): Map<VifOp, string[]> {
  const errors = new Map<VifOp, string[]>()
  const set = (ops: readonly VifOp[], e: string[]): void => {
    for (const op of ops) if (!errors.has(op)) errors.set(op, e)
  }
  const current = Object.entries(obj(vif['current_operations']))
  if (current.length > 0) {
    set(VIF_OPS, ['OTHER_OPERATION_IN_PROGRESS', 'VIF', ref, `{${current.map(([, op]) => str(op)).join('; ')}}`, `{${current.map(([t]) => t).join('; ')}}`])
  }
  const vmRef = str(vif['VM'])
  const vm = pool.db.get('VM', vmRef)
  if (!vm) return errors
  if (vm['is_control_domain'] === true) set(['plug'], ['OPERATION_NOT_ALLOWED', 'Control domain does not support hotplug'])
  const power = str(vm['power_state']) || 'Halted'
  const plugged = vif['currently_attached'] === true || vif['reserved'] === true
  if (power === 'Running' && plugged) set(['plug'], ['DEVICE_ALREADY_ATTACHED', ref])
  else if (power === 'Running') set(['unplug'], ['DEVICE_ALREADY_DETACHED', ref])
  else set(['plug', 'unplug'], ['VM_BAD_POWER_STATE', vmRef, 'running', power.toLowerCase()])
  for (const op of Object.values(obj(vm['current_operations']))) {
    if (['clean_shutdown', 'hard_shutdown', 'suspend', 'pause'].includes(str(op))) {
      set(['plug', 'unplug'], ['OPERATION_NOT_ALLOWED', `Current operation on VM:${vmRef} is ${str(op)}`])
    }
  }
  // HVM guests hot-plug only with PV drivers (xapi_pv_driver_version.ml); PV and PVH always can
  if (power === 'Running' && (str(vm['domain_type']) || 'hvm') === 'hvm') {
    const gm = pool.db.get('VM_guest_metrics', str(vm['guest_metrics']))
    const hotplug = str(gm?.['can_use_hotplug_vif'])
    if (hotplug === 'no') set(['plug', 'unplug'], ['OPERATION_NOT_ALLOWED', 'VM states it does not support VIF hotplug.'])
    else if (hotplug !== 'yes' && gm?.['PV_drivers_detected'] !== true) set(['plug', 'unplug'], ['VM_MISSING_PV_DRIVERS', vmRef])
  }
  return errors
}

function allowedVifOperations(pool: PoolState, ref: string, vif: SimRecord): string[] {
  const errors = vifErrors(pool, ref, vif)
  return VIF_OPS.filter((op) => !errors.has(op))
}

/** update_allowed_operations for one VIF (written only when it changed) */
export function refreshVifOperations(pool: PoolState, ref: string): void {
  const vif = pool.db.get('VIF', ref)
  if (!vif) return
  const next = allowedVifOperations(pool, ref, vif)
  const cur = vif['allowed_operations']
  if (Array.isArray(cur) && cur.length === next.length && cur.every((x, i) => x === next[i])) return
  pool.db.update('VIF', ref, { allowed_operations: next })
}

/** a VM's VIFs follow its power state and current operations (message_forwarding.ml after every VM operation) */
export function refreshVmVifOperations(pool: PoolState, vm: SimRecord): void {
  for (const vif of refs(vm['VIFs'])) refreshVifOperations(pool, vif)
}

function assertVifOperation(pool: PoolState, ref: string, op: VifOp): void {
  const e = vifErrors(pool, ref, pool.db.must('VIF', ref)).get(op)
  if (e) fail(...e)
}

/** with_vif_marked: the operation in current_operations under the call's task while it runs */
async function vifOperation(pool: PoolState, call: CallInfo, ref: string, op: VifOp, body: () => void): Promise<SimValue> {
  assertVifOperation(pool, ref, op)
  const { task, done } = taskOf(pool, call)
  pool.db.update('VIF', ref, { current_operations: { ...obj(pool.db.must('VIF', ref)['current_operations']), [task.ref]: op } })
  refreshVifOperations(pool, ref)
  try {
    await work(pool, task, 0.3, 0, 0.9)
    if (!pool.db.get('VIF', ref)) fail('HANDLE_INVALID', 'VIF', ref)
    body()
    return ''
  } finally {
    const v = pool.db.get('VIF', ref)
    if (v) {
      const ops = { ...obj(v['current_operations']) }
      delete ops[task.ref]
      pool.db.update('VIF', ref, { current_operations: ops })
      refreshVifOperations(pool, ref)
    }
    done()
  }
}

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/

/** xapi_vif_helpers.ml gen_mac: md5 chained 2·device times over the VM's mac_seed; locally administered, unicast */
function genMac(device: number, seed: string): string {
  const md5 = (b: Buffer): Buffer => createHash('md5').update(b).digest()
  let acc: Buffer = Buffer.from(seed)
  for (let i = 0; i < device * 2; i++) acc = md5(acc)
  const d1 = md5(acc)
  const d2 = md5(d1)
  const bytes = [d1[0] ?? 0, d1[1] ?? 0, d1[2] ?? 0, d1[3] ?? 0, d2[1] ?? 0, d2[2] ?? 0]
  bytes[0] = ((bytes[0] ?? 0) | 0x2) & ~0x1
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':')
}

/** Helpers.assert_is_valid_ip_addr: xapi refuses only what parses as a CIDR but not as an address */
function assertIpAddr(kind: 4 | 6, field: string, address: string): void {
  const cidr = kind === 4 ? /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/ : /^[0-9a-fA-F:]+\/\d{1,3}$/
  if (cidr.test(address)) fail('INVALID_IP_ADDRESS_SPECIFIED', field)
}

/** VIF.create (xapi_vif.ml create + xapi_vif_helpers.ml create) */
function createVif(pool: PoolState, given: SimRecord): string {
  const vmRef = str(given['VM'])
  const vm = pool.db.must('VM', vmRef)
  const netRef = str(given['network'])
  pool.db.must('network', netRef)
  const device = str(given['device'])
  if (!/^\d+$/.test(device)) fail('INVALID_DEVICE', device)
  let mac = str(given['MAC'])
  let autogenerated = false
  const seed = obj(vm['other_config'])['mac_seed']
  if (typeof seed === 'string' && mac === '') {
    mac = genMac(Number(device), seed)
    autogenerated = true
  }
  if (!MAC_RE.test(mac)) fail('MAC_INVALID', mac)
  const taken = refs(vm['VIFs']).some((v) => Number(str(pool.db.get('VIF', v)?.['device'])) === Number(device))
  if (taken) fail('DEVICE_ALREADY_EXISTS', device)
  const metrics = newRef()
  pool.db.insert('VIF_metrics', metrics, pool.db.blank('VIF_metrics', { io_read_kbs: 0, io_write_kbs: 0, last_updated: NULL_DATE, other_config: {} }))
  const ref = newRef()
  // only a suspended VM keeps the attached flag it is given (its device comes back on resume)
  const attached = str(vm['power_state']) === 'Suspended' ? given['currently_attached'] === true : false
  pool.db.insert(
    'VIF',
    ref,
    pool.db.blank('VIF', {
      ...given,
      uuid: randomUUID(),
      device,
      MAC: mac,
      MAC_autogenerated: autogenerated,
      currently_attached: attached,
      current_operations: {},
      allowed_operations: [],
      status_code: 0,
      status_detail: '',
      runtime_properties: {},
      qos_supported_algorithms: [],
      metrics,
    }),
  )
  addTo(pool, 'VM', vmRef, 'VIFs', ref)
  addTo(pool, 'network', netRef, 'VIFs', ref)
  refreshVifOperations(pool, ref)
  return ref
}

function destroyVifRecord(pool: PoolState, ref: string): void {
  const vif = pool.db.get('VIF', ref)
  if (!vif) return
  pool.db.remove('VIF_metrics', str(vif['metrics']))
  pool.db.remove('VIF', ref)
  removeFrom(pool, 'VM', str(vif['VM']), 'VIFs', ref)
  removeFrom(pool, 'network', str(vif['network']), 'VIFs', ref)
}

/** Xapi_vif.move_internal: the VIF's network changes (a running device moves bridge in dom0) */
function moveVif(pool: PoolState, ref: string, network: string): void {
  const vif = pool.db.must('VIF', ref)
  const old = str(vif['network'])
  if (old === network) return
  pool.db.update('VIF', ref, { network })
  removeFrom(pool, 'network', old, 'VIFs', ref)
  addTo(pool, 'network', network, 'VIFs', ref)
}

/** xapi_network_attach_helpers.ml assert_can_see_named_networks for one network on one host */
function hostCanSeeNetwork(pool: PoolState, host: string, network: string): boolean {
  const net = pool.db.must('network', network)
  const pifs = refs(net['PIFs'])
  if (pifs.length > 0) return pifs.some((p) => str(pool.db.get('PIF', p)?.['host']) === host)
  return true
}

const vifHandlers: Record<string, Handler> = {
  'VM.get_allowed_VIF_devices': (pool, [vm]) => {
    const rec = pool.db.must('VM', str(vm))
    const used = new Set(refs(rec['VIFs']).map((v) => str(pool.db.get('VIF', v)?.['device'])))
    return Array.from({ length: 16 }, (_, i) => String(i)).filter((d) => !used.has(d))
  },
  'VIF.create': (pool, [args]) => createVif(pool, recordArg(pool, 'VIF', args)),
  'VIF.destroy': (pool, [self]) => {
    const ref = str(self)
    const vif = pool.db.must('VIF', ref)
    const power = str(pool.db.get('VM', str(vif['VM']))?.['power_state'])
    if ((power === 'Running' || power === 'Paused') && vif['currently_attached'] === true) {
      fail('OPERATION_NOT_ALLOWED', 'VIF currently attached to a running VM')
    }
    destroyVifRecord(pool, ref)
    return ''
  },
  'VIF.plug': (pool, [self], call) => {
    const ref = str(self)
    return vifOperation(pool, call, ref, 'plug', () => pool.db.update('VIF', ref, { currently_attached: true }))
  },
  'VIF.unplug': (pool, [self], call) => {
    const ref = str(self)
    return vifOperation(pool, call, ref, 'unplug', () => pool.db.update('VIF', ref, { currently_attached: false }))
  },
  'VIF.unplug_force': (pool, [self], call) => {
    const ref = str(self)
    return vifOperation(pool, call, ref, 'unplug', () => pool.db.update('VIF', ref, { currently_attached: false }))
  },
  'VIF.move': async (pool, [self, network], call) => {
    const ref = str(self)
    const netRef = str(network)
    const vif = pool.db.must('VIF', ref)
    pool.db.must('network', netRef)
    const vm = pool.db.must('VM', str(vif['VM']))
    const active = vif['currently_attached'] === true && str(vm['power_state']) !== 'Suspended'
    if (active) {
      const host = str(vm['resident_on'])
      if (!hostCanSeeNetwork(pool, host, netRef)) fail('HOST_CANNOT_ATTACH_NETWORK', host, netRef)
    }
    const { task, done } = taskOf(pool, call)
    try {
      if (active) await work(pool, task, 0.3, 0, 0.9)
      moveVif(pool, ref, netRef)
    } finally {
      done()
    }
    return ''
  },
  'VIF.set_locking_mode': (pool, [self, value]) => {
    const ref = str(self)
    pool.db.must('VIF', ref)
    pool.db.update('VIF', ref, { locking_mode: str(value) })
    return ''
  },
  ...allowedAddressHandlers(4),
  ...allowedAddressHandlers(6),
}

function allowedAddressHandlers(kind: 4 | 6): Record<string, Handler> {
  const field = kind === 4 ? 'ipv4_allowed' : 'ipv6_allowed'
  return {
    [`VIF.set_${field}`]: (pool, [self, value]) => {
      const ref = str(self)
      pool.db.must('VIF', ref)
      const set = [...new Set(arr(value).map(str))]
      for (const a of set) assertIpAddr(kind, field, a)
      pool.db.update('VIF', ref, { [field]: set })
      return ''
    },
    [`VIF.add_${field}`]: (pool, [self, value]) => {
      const ref = str(self)
      const vif = pool.db.must('VIF', ref)
      assertIpAddr(kind, field, str(value))
      const cur = arr(vif[field]).map(str)
      if (!cur.includes(str(value))) pool.db.update('VIF', ref, { [field]: [...cur, str(value)] })
      return ''
    },
    [`VIF.remove_${field}`]: (pool, [self, value]) => {
      const ref = str(self)
      const vif = pool.db.must('VIF', ref)
      pool.db.update('VIF', ref, { [field]: arr(vif[field]).map(str).filter((a) => a !== str(value)) })
      return ''
    },
  }
}

// ---------------------------------------------------------------------------------------------
// PIFs

type PifKind = 'tunnel' | 'vlan' | 'sriov' | 'bond' | 'physical'

/** xapi_pif_helpers.ml get_pif_type */
function pifKind(pif: SimRecord): PifKind {
  if (refs(pif['tunnel_access_PIF_of']).length > 0) return 'tunnel'
  if (isRef(str(pif['VLAN_master_of']))) return 'vlan'
  if (refs(pif['sriov_logical_PIF_of']).length > 0) return 'sriov'
  if (refs(pif['bond_master_of']).length > 0) return 'bond'
  return 'physical'
}

function pifOfHostOnNetwork(pool: PoolState, host: string, network: string): string | undefined {
  return refs(pool.db.get('network', network)?.['PIFs']).find((p) => str(pool.db.get('PIF', p)?.['host']) === host)
}

/** Xapi_pif.assert_no_other_local_pifs */
function assertNoOtherLocalPifs(pool: PoolState, host: string, network: string): void {
  const other = pifOfHostOnNetwork(pool, host, network)
  if (other) fail('NETWORK_ALREADY_CONNECTED', host, other)
}

function assertNetworkManaged(pool: PoolState, network: string): void {
  if (pool.db.must('network', network)['managed'] === false) fail('NETWORK_UNMANAGED', network)
}

function assertPifManaged(pool: PoolState, pif: string): void {
  if (pool.db.must('PIF', pif)['managed'] === false) fail('PIF_UNMANAGED', pif)
}

/** Xapi_pif.assert_no_protection_enabled */
function assertNoProtection(pool: PoolState, pif: SimRecord): void {
  if (pif['currently_attached'] !== true) return
  if (haEnabled(pool)) fail('HA_IS_ENABLED')
  if (pool.poolRecord['redo_log_enabled'] === true) fail('REDO_LOG_IS_ENABLED')
}

function newPifMetrics(pool: PoolState, fields: SimRecord = {}): string {
  const ref = newRef()
  pool.db.insert(
    'PIF_metrics',
    ref,
    pool.db.blank('PIF_metrics', {
      io_read_kbs: 0,
      io_write_kbs: 0,
      carrier: false,
      vendor_id: '',
      vendor_name: '',
      device_id: '',
      device_name: '',
      speed: 0,
      duplex: false,
      pci_bus_path: '',
      last_updated: NULL_DATE,
      other_config: {},
      ...fields,
    }),
  )
  return ref
}

function insertPif(pool: PoolState, fields: SimRecord): string {
  const ref = newRef()
  const rec = pool.db.blank('PIF', {
    VLAN: -1,
    physical: false,
    currently_attached: false,
    ip_configuration_mode: 'None',
    IP: '',
    netmask: '',
    gateway: '',
    DNS: '',
    bond_slave_of: NULL_REF,
    bond_master_of: [],
    VLAN_master_of: NULL_REF,
    VLAN_slave_of: [],
    management: false,
    other_config: {},
    disallow_unplug: false,
    ipv6_configuration_mode: 'None',
    IPv6: [],
    ipv6_gateway: '',
    primary_address_type: 'IPv4',
    managed: true,
    properties: {},
    capabilities: [],
    igmp_snooping_status: 'unknown',
    ...fields,
  })
  pool.db.insert('PIF', ref, rec)
  addTo(pool, 'host', str(rec['host']), 'PIFs', ref)
  addTo(pool, 'network', str(rec['network']), 'PIFs', ref)
  return ref
}

function removePif(pool: PoolState, ref: string): void {
  const pif = pool.db.get('PIF', ref)
  if (!pif) return
  pool.db.remove('PIF', ref)
  removeFrom(pool, 'host', str(pif['host']), 'PIFs', ref)
  removeFrom(pool, 'network', str(pif['network']), 'PIFs', ref)
}

/** Nm.bring_pif_up: the PIF is attached; a bond master takes its members down and gives their networks its MTU */
function bringUp(pool: PoolState, ref: string): void {
  const pif = pool.db.must('PIF', ref)
  const bond = refs(pif['bond_master_of'])[0]
  if (bond) {
    const mtu = num(pool.db.get('network', str(pif['network']))?.['MTU']) || 1500
    for (const m of bondMembers(pool, bond)) {
      pool.db.update('PIF', m, { currently_attached: false })
      const net = str(pool.db.get('PIF', m)?.['network'])
      const netRec = pool.db.get('network', net)
      if (netRec && num(netRec['MTU']) !== mtu) pool.db.update('network', net, { MTU: mtu })
    }
  }
  const slaveOf = str(pif['bond_slave_of'])
  if (isRef(slaveOf)) pool.db.updateIfExists('PIF', str(pool.db.get('Bond', slaveOf)?.['master']), { currently_attached: false })
  const mtu = num(pool.db.get('network', str(pif['network']))?.['MTU'])
  pool.db.update('PIF', ref, { currently_attached: true, ...(mtu > 0 && pif['VLAN'] === -1 ? { MTU: mtu } : {}) })
}

/** Xapi_pif.unplug's checks, then the PIF goes down */
function unplugPif(pool: PoolState, ref: string): void {
  assertPifManaged(pool, ref)
  const pif = pool.db.must('PIF', ref)
  assertNoProtection(pool, pif)
  if (pif['management'] === true) fail('PIF_IS_MANAGEMENT_INTERFACE', ref)
  const host = str(pif['host'])
  const network = str(pif['network'])
  for (const vif of refs(pool.db.get('network', network)?.['VIFs'])) {
    const v = pool.db.get('VIF', vif)
    const vm = pool.db.get('VM', str(v?.['VM']))
    const live = vm && (vm['power_state'] === 'Running' || vm['power_state'] === 'Paused')
    if (v?.['currently_attached'] === true && str(vm?.['resident_on']) === host && live) fail('VIF_IN_USE', network, vif)
  }
  if (pif['disallow_unplug'] === true) fail('PIF_DOES_NOT_ALLOW_UNPLUG', ref)
  if (!isRef(str(pif['bond_slave_of']))) pool.db.update('PIF', ref, { currently_attached: false })
}

/** Xapi_bond.move_configuration: IP settings go from one PIF to another */
function moveConfiguration(pool: PoolState, from: string, to: string): void {
  const f = pool.db.must('PIF', from)
  pool.db.update('PIF', to, { ip_configuration_mode: f['ip_configuration_mode'] ?? 'None', IP: f['IP'] ?? '', netmask: f['netmask'] ?? '', gateway: f['gateway'] ?? '', DNS: f['DNS'] ?? '' })
  pool.db.update('PIF', from, { ip_configuration_mode: 'None', IP: '', netmask: '', gateway: '', DNS: '' })
}

/** Xapi_bond.move_management: the management role (and its attachment) moves */
function moveManagement(pool: PoolState, from: string, to: string): void {
  pool.db.update('PIF', from, { management: false })
  bringUp(pool, to)
  pool.db.update('PIF', to, { management: true })
}

/**
 * PIF.scan introduces the host's NICs that have no PIF yet (the simulated host's `nics`), on the
 * network whose bridge follows xapi's naming (xenbrN for ethN), creating that network if needed.
 */
function scan(pool: PoolState, host: string): void {
  pool.db.must('host', host)
  const nics = pool.hostSpec(host)?.nics ?? []
  const known = new Set<string>()
  for (const p of refs(pool.db.must('host', host)['PIFs'])) {
    const pif = pool.db.get('PIF', p)
    if (pif && pif['physical'] === true) known.add(str(pif['MAC']).toLowerCase())
  }
  for (const nic of nics) {
    if (known.has(nic.mac.toLowerCase())) continue
    const n = /^eth(\d+)$/.exec(nic.device)?.[1]
    const bridge = n !== undefined ? `xenbr${n}` : `br${nic.device}`
    let network = [...pool.db.table('network')].find(([, r]) => r['bridge'] === bridge)?.[0]
    if (!network) {
      network = newRef()
      pool.db.insert(
        'network',
        network,
        pool.db.blank('network', { name_label: `Pool-wide network associated with ${nic.device}`, name_description: '', MTU: 1500, bridge, managed: true, other_config: {}, VIFs: [], PIFs: [] }),
      )
    }
    const metrics = newPifMetrics(pool, {
      carrier: nic.carrier,
      vendor_id: nic.vendorId,
      vendor_name: nic.vendorName,
      device_id: nic.deviceId,
      device_name: nic.deviceName,
      speed: nic.speedMbit,
      duplex: nic.carrier,
      pci_bus_path: nic.pciBusPath,
    })
    insertPif(pool, { device: nic.device, network, host, MAC: nic.mac, MTU: 1500, metrics, physical: true, properties: { gro: 'on' } })
  }
}

// ---------------------------------------------------------------------------------------------
// Bonds

function bondMembers(pool: PoolState, bond: string): string[] {
  const fromBond = refs(pool.db.get('Bond', bond)?.['slaves'])
  return fromBond.filter((p) => str(pool.db.get('PIF', p)?.['bond_slave_of']) === bond)
}

/** Xapi_bond.requirements_of_mode: which properties a mode takes, their defaults and valid values */
const LACP_PROPERTIES: Record<string, { dflt?: string; valid: (v: string) => boolean }> = {
  hashing_algorithm: { dflt: 'tcpudp_ports', valid: (v) => v === 'src_mac' || v === 'tcpudp_ports' },
  'lacp-time': { dflt: 'slow', valid: (v) => v === 'fast' || v === 'slow' },
  'lacp-aggregation-key': { valid: (v) => /^-?\d+$/.test(v) },
  'lacp-fallback-ab': { dflt: 'true', valid: (v) => v === 'true' || v === 'false' },
}

function requirements(mode: string): Record<string, { dflt?: string; valid: (v: string) => boolean }> {
  return mode === 'lacp' ? LACP_PROPERTIES : {}
}

function validProperty(mode: string, key: string, value: string): boolean {
  const r = requirements(mode)[key]
  return r !== undefined && r.valid(value)
}

function withDefaults(mode: string, props: Record<string, string>): Record<string, string> {
  const out = { ...props }
  for (const [k, r] of Object.entries(requirements(mode))) if (out[k] === undefined && r.dflt !== undefined) out[k] = r.dflt
  return out
}

/** VIFs of VMs on `networks` that belong to this host (Xapi_bond.get_local_vifs) */
function localVifs(pool: PoolState, host: string, networks: readonly string[]): string[] {
  const usable = [...pool.db.table('host').keys()].filter((h) => pool.db.get('host', h)?.['enabled'] !== false && liveHost(pool, h))
  const out: string[] = []
  for (const net of networks) {
    for (const vif of refs(pool.db.get('network', net)?.['VIFs'])) {
      const vm = pool.db.get('VM', str(pool.db.get('VIF', vif)?.['VM']))
      if (!vm) continue
      const resident = str(vm['resident_on'])
      // resident here, or a halted VM that can only start here (or nowhere)
      const local = isRef(resident) ? resident === host : usable.length === 0 || (usable.length === 1 && usable[0] === host)
      if (local) out.push(vif)
    }
  }
  return out
}

/** the bond master's PIF_metrics as the monitor reports them from its members */
function bondMetrics(pool: PoolState, bond: string, mode: string): SimRecord {
  const members = bondMembers(pool, bond).map((m) => pool.db.get('PIF_metrics', str(pool.db.get('PIF', m)?.['metrics'])))
  const up = members.filter((m) => m?.['carrier'] === true)
  const speed = mode === 'active-backup' ? num(up[0]?.['speed']) : up.reduce((s, m) => s + num(m?.['speed']), 0)
  return { carrier: up.length > 0, speed, duplex: up.length > 0 }
}

function refreshBondLinks(pool: PoolState, bond: string): void {
  const b = pool.db.get('Bond', bond)
  if (!b) return
  const master = pool.db.get('PIF', str(b['master']))
  const linksUp = bondMembers(pool, bond).filter((m) => pool.db.get('PIF_metrics', str(pool.db.get('PIF', m)?.['metrics']))?.['carrier'] === true).length
  if (num(b['links_up']) !== linksUp) pool.db.update('Bond', bond, { links_up: linksUp })
  const mref = str(master?.['metrics'])
  if (pool.db.get('PIF_metrics', mref)) pool.db.update('PIF_metrics', mref, bondMetrics(pool, bond, str(b['mode'])))
}

/** Xapi_vlan.create_internal: a VLAN record and its untagged PIF on `network` */
function createVlanInternal(pool: PoolState, host: string, tagged: string, tag: number, network: string, device: string): { vlan: string; untagged: string } {
  const t = pool.db.must('PIF', tagged)
  const vlan = newRef()
  const untagged = insertPif(pool, {
    device,
    network,
    host,
    MAC: 'fe:ff:ff:ff:ff:ff',
    MTU: num(t['MTU']) || 1500,
    VLAN: tag,
    metrics: str(t['metrics']) || NULL_REF,
    physical: false,
    VLAN_master_of: vlan,
    primary_address_type: t['primary_address_type'] ?? 'IPv4',
  })
  pool.db.insert('VLAN', vlan, pool.db.blank('VLAN', { tagged_PIF: tagged, untagged_PIF: untagged, tag, other_config: {} }))
  addTo(pool, 'PIF', tagged, 'VLAN_slave_of', vlan)
  return { vlan, untagged }
}

function destroyVlanRecords(pool: PoolState, vlan: string): void {
  const v = pool.db.get('VLAN', vlan)
  if (!v) return
  pool.db.remove('VLAN', vlan)
  removeFrom(pool, 'PIF', str(v['tagged_PIF']), 'VLAN_slave_of', vlan)
  removePif(pool, str(v['untagged_PIF']))
}

/** Xapi_bond.move_vlan: a VLAN on one PIF is remade on another with the same tag and network */
function moveVlan(pool: PoolState, host: string, to: string, oldVlan: string): void {
  const v = pool.db.must('VLAN', oldVlan)
  const oldMaster = str(v['untagged_PIF'])
  const om = pool.db.must('PIF', oldMaster)
  const tag = num(v['tag'])
  const network = str(om['network'])
  const plugged = om['currently_attached'] === true
  const management = om['management'] === true
  const same = refs(pool.db.must('PIF', to)['VLAN_slave_of']).find((x) => num(pool.db.get('VLAN', x)?.['tag']) === tag)
  let newMaster: string
  if (same) {
    newMaster = str(pool.db.must('VLAN', same)['untagged_PIF'])
    const newNetwork = str(pool.db.must('PIF', newMaster)['network'])
    for (const vif of localVifs(pool, host, [network])) moveVif(pool, vif, newNetwork)
  } else {
    newMaster = createVlanInternal(pool, host, to, tag, network, str(pool.db.must('PIF', to)['device'])).untagged
  }
  moveConfiguration(pool, oldMaster, newMaster)
  destroyVlanRecords(pool, oldVlan)
  if (plugged) {
    if (management) {
      pool.db.update('PIF', newMaster, { management: true })
      bringUp(pool, newMaster)
    } else bringUp(pool, newMaster)
  }
}

function chooseBondDevice(pool: PoolState, host: string): string {
  const used = new Set(refs(pool.db.must('host', host)['PIFs']).filter((p) => refs(pool.db.get('PIF', p)?.['bond_master_of']).length > 0).map((p) => str(pool.db.get('PIF', p)?.['device'])))
  let n = 0
  while (used.has(`bond${n}`)) n++
  return `bond${n}`
}

async function bondCreate(pool: PoolState, call: CallInfo, args: SimValue[]): Promise<SimValue> {
  const [networkArg, membersArg, macArg, modeArg, propsArg] = args
  const network = str(networkArg)
  const given = refs(membersArg)
  if (given.length === 0) fail('PIF_BOND_NEEDS_MORE_MEMBERS')
  assertNetworkManaged(pool, network)
  const host = str(pool.db.must('PIF', given[0] ?? '')['host'])
  assertNoOtherLocalPifs(pool, host, network)
  const mac = str(macArg)
  if (mac !== '' && !MAC_RE.test(mac)) fail('MAC_INVALID', mac)
  const mode = str(modeArg)
  const props: Record<string, string> = {}
  for (const [k, v] of Object.entries(obj(propsArg))) {
    if (!validProperty(mode, k, str(v))) fail('INVALID_VALUE', 'properties', `${k} = ${str(v)}`)
    props[k] = str(v)
  }
  const members = [...new Set(given)]
  const recs = members.map((m) => pool.db.must('PIF', m))
  const hasIp = (p: SimRecord): boolean => (str(p['primary_address_type']) === 'IPv6' ? str(p['ipv6_configuration_mode']) : str(p['ip_configuration_mode'])) !== 'None'
  const managementIdx = recs.findIndex((p) => p['management'] === true)
  const withIp = members.filter((_, i) => hasIp(recs[i] ?? {}))
  const primary = managementIdx >= 0 ? (members[managementIdx] ?? '') : (withIp[0] ?? members[0] ?? '')
  const primaryType = str(pool.db.must('PIF', primary)['primary_address_type']) || 'IPv4'
  members.forEach((m, i) => {
    if ((str(recs[i]?.['primary_address_type']) || 'IPv4') !== primaryType) fail('PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE', m)
  })
  members.forEach((m, i) => {
    const p = recs[i] ?? {}
    assertPifManaged(pool, m)
    // Xapi_pif_helpers.bond_is_allowed_on_pif
    const kind = pifKind(p)
    if (kind === 'physical' && isRef(str(p['bond_slave_of'])) && pool.db.get('Bond', str(p['bond_slave_of']))) fail('PIF_ALREADY_BONDED', m)
    if (kind === 'vlan') fail('PIF_VLAN_EXISTS', str(p['device']))
    if (kind === 'tunnel') fail('IS_TUNNEL_ACCESS_PIF', m)
    if (kind === 'sriov') fail('PIF_IS_SRIOV_LOGICAL', m)
    if (haEnabled(pool) && p['management'] === true) fail('HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE')
  })
  if (new Set(recs.map((p) => str(p['host']))).size !== 1) fail('PIF_CANNOT_BOND_CROSS_HOST')
  const firstProps = JSON.stringify(sortedMap(obj(recs[0]?.['properties'])))
  if (recs.some((p) => JSON.stringify(sortedMap(obj(p['properties']))) !== firstProps)) fail('INCOMPATIBLE_PIF_PROPERTIES')
  if (withIp.length > 1) fail('PIF_BOND_MORE_THAN_ONE_IP')

  const { task, done } = taskOf(pool, call)
  try {
    const memberNetworks = members.map((_, i) => str(recs[i]?.['network']))
    const vifs = localVifs(pool, host, memberNetworks)
    const vlans = members.flatMap((m) => refs(pool.db.must('PIF', m)['VLAN_slave_of']))
    const managementOnVlan = vlans.some((v) => pool.db.get('PIF', str(pool.db.get('VLAN', v)?.['untagged_PIF']))?.['management'] === true)
    const bond = newRef()
    const device = chooseBondDevice(pool, host)
    const metrics = newPifMetrics(pool)
    const master = insertPif(pool, {
      device,
      network,
      host,
      MAC: mac || str(pool.db.must('PIF', primary)['MAC']),
      MTU: num(pool.db.must('network', network)['MTU']) || 1500,
      metrics,
      physical: false,
      bond_master_of: [bond],
      primary_address_type: primaryType,
      properties: obj(recs[0]?.['properties']),
    })
    pool.db.insert(
      'Bond',
      bond,
      pool.db.blank('Bond', { master, slaves: members, other_config: {}, primary_slave: primary, mode, properties: withDefaults(mode, props), links_up: 0, auto_update_mac: mac === '' }),
    )
    for (const m of members) pool.db.update('PIF', m, { bond_slave_of: bond })
    moveConfiguration(pool, primary, master)
    if (managementIdx >= 0) moveManagement(pool, primary, master)
    else if (!managementOnVlan) bringUp(pool, master)
    await work(pool, task, 0.5, 0, 0.4)
    for (const v of vlans) moveVlan(pool, host, master, v)
    if (managementOnVlan) bringUp(pool, master)
    task.progress(0.6)
    for (const vif of vifs) moveVif(pool, vif, network)
    task.progress(0.8)
    if (members.some((m) => pool.db.get('PIF', m)?.['disallow_unplug'] === true)) {
      pool.db.update('PIF', master, { disallow_unplug: true })
      for (const m of members) pool.db.update('PIF', m, { disallow_unplug: false })
    }
    refreshBondLinks(pool, bond)
    await work(pool, task, 0.5, 0.8, 1)
    return bond
  } finally {
    done()
  }
}

function sortedMap(m: Record<string, SimValue>): [string, string][] {
  return Object.entries(m)
    .map(([k, v]): [string, string] => [k, str(v)])
    .sort((a, b) => a[0].localeCompare(b[0]))
}

async function bondDestroy(pool: PoolState, call: CallInfo, self: string): Promise<SimValue> {
  const b = pool.db.must('Bond', self)
  const master = str(b['master'])
  const mrec = pool.db.must('PIF', master)
  const members = bondMembers(pool, self)
  const plugged = mrec['currently_attached'] === true
  const masterNetwork = str(mrec['network'])
  const host = str(mrec['host'])
  const primary = isRef(str(b['primary_slave'])) && pool.db.get('PIF', str(b['primary_slave'])) ? str(b['primary_slave']) : (members[0] ?? '')
  const primaryNetwork = str(pool.db.must('PIF', primary)['network'])
  const vifs = localVifs(pool, host, [masterNetwork])
  const vlans = refs(mrec['VLAN_slave_of'])
  const managementOnVlan = vlans.some((v) => pool.db.get('PIF', str(pool.db.get('VLAN', v)?.['untagged_PIF']))?.['management'] === true)
  if (haEnabled(pool) && mrec['management'] === true) fail('HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE')
  const { task, done } = taskOf(pool, call)
  try {
    moveConfiguration(pool, master, primary)
    // members leave the bond first so bringing them up does not take the master down again
    for (const m of members) pool.db.update('PIF', m, { bond_slave_of: NULL_REF })
    if (mrec['management'] === true) {
      moveManagement(pool, master, primary)
      for (const m of members) if (m !== primary) bringUp(pool, m)
    } else if (plugged && !managementOnVlan) for (const m of members) bringUp(pool, m)
    await work(pool, task, 0.5, 0, 0.4)
    for (const v of vlans) moveVlan(pool, host, primary, v)
    if (managementOnVlan) for (const m of members) bringUp(pool, m)
    for (const vif of vifs) moveVif(pool, vif, primaryNetwork)
    task.progress(0.8)
    if (mrec['disallow_unplug'] === true) pool.db.update('PIF', primary, { disallow_unplug: true })
    pool.db.remove('Bond', self)
    pool.db.remove('PIF_metrics', str(mrec['metrics']))
    removePif(pool, master)
    await work(pool, task, 0.5, 0.8, 1)
    return ''
  } finally {
    done()
  }
}

const bondHandlers: Record<string, Handler> = {
  'Bond.create': (pool, args, call) => bondCreate(pool, call, args),
  'Bond.destroy': (pool, [self], call) => bondDestroy(pool, call, str(self)),
  'Bond.set_mode': (pool, [self, value]) => {
    const ref = str(self)
    const b = pool.db.must('Bond', ref)
    const mode = str(value)
    const kept: Record<string, string> = {}
    for (const [k, v] of Object.entries(obj(b['properties']))) if (validProperty(mode, k, str(v))) kept[k] = str(v)
    pool.db.update('Bond', ref, { mode, properties: withDefaults(mode, kept) })
    bringUp(pool, str(b['master']))
    refreshBondLinks(pool, ref)
    return ''
  },
  'Bond.set_property': (pool, [self, name, value]) => {
    const ref = str(self)
    const b = pool.db.must('Bond', ref)
    if (!validProperty(str(b['mode']), str(name), str(value))) fail('INVALID_VALUE', 'properties', `${str(name)} = ${str(value)}`)
    pool.db.update('Bond', ref, { properties: { ...obj(b['properties']), [str(name)]: str(value) } })
    return ''
  },
}

// ---------------------------------------------------------------------------------------------
// VLANs

/** VLAN.create (xapi_vlan.ml create), in xapi's order of checks */
function vlanCreate(pool: PoolState, tagged: string, tag: number, network: string): string {
  assertNetworkManaged(pool, network)
  const pif = pool.db.must('PIF', tagged)
  const host = str(pif['host'])
  assertNoOtherLocalPifs(pool, host, network)
  assertPifManaged(pool, tagged)
  // Xapi_pif_helpers.vlan_is_allowed_on_pif
  const kind = pifKind(pif)
  if (kind === 'physical' && isRef(str(pif['bond_slave_of']))) fail('CANNOT_ADD_VLAN_TO_BOND_SLAVE', tagged)
  if (kind === 'vlan') fail('PIF_IS_VLAN', tagged)
  if (kind === 'tunnel') fail('IS_TUNNEL_ACCESS_PIF', tagged)
  if (tag < 0 || tag > 4094) fail('VLAN_TAG_INVALID', String(tag))
  const device = str(pif['device'])
  const exists = [...pool.db.table('VLAN').values()].some((v) => v['tagged_PIF'] === tagged && num(v['tag']) === tag)
  if (exists) fail('PIF_VLAN_EXISTS', device)
  const { vlan, untagged } = createVlanInternal(pool, host, tagged, tag, network, device)
  bringUp(pool, untagged)
  return vlan
}

function vlanDestroy(pool: PoolState, self: string): void {
  const v = pool.db.must('VLAN', self)
  const untagged = str(v['untagged_PIF'])
  const pif = pool.db.get('PIF', untagged)
  if (!pif) {
    pool.db.remove('VLAN', self)
    removeFrom(pool, 'PIF', str(v['tagged_PIF']), 'VLAN_slave_of', self)
    return
  }
  // Xapi_pif.assert_not_in_bond
  if ((isRef(str(pif['bond_slave_of'])) && pool.db.get('Bond', str(pif['bond_slave_of']))) || refs(pif['bond_master_of']).length > 0) fail('PIF_ALREADY_BONDED', untagged)
  // Xapi_pif.assert_not_slave_management_pif: the host doing the work is a pool member
  if (str(pif['host']) !== pool.masterRef && pif['currently_attached'] === true && pif['management'] === true) fail('PIF_IS_MANAGEMENT_INTERFACE', untagged)
  assertNoProtection(pool, pif)
  if (num(pif['VLAN']) < 0) fail('PIF_IS_PHYSICAL', untagged)
  unplugPif(pool, untagged)
  destroyVlanRecords(pool, self)
}

const vlanHandlers: Record<string, Handler> = {
  'VLAN.create': (pool, [tagged, tag, network]) => vlanCreate(pool, str(tagged), num(tag), str(network)),
  'VLAN.destroy': (pool, [self]) => {
    vlanDestroy(pool, str(self))
    return ''
  },
  /** on every live host whose PIF is on the same network as `pif`; all or nothing; the new PIFs are plugged */
  'pool.create_VLAN_from_PIF': async (pool, [pifArg, networkArg, tagArg], call) => {
    const pif = pool.db.must('PIF', str(pifArg))
    const on = refs(pool.db.get('network', str(pif['network']))?.['PIFs']).filter((p) => liveHost(pool, str(pool.db.get('PIF', p)?.['host'])))
    const created: string[] = []
    const { task, done } = taskOf(pool, call)
    try {
      for (const [i, p] of on.entries()) {
        try {
          created.push(vlanCreate(pool, p, num(tagArg), str(networkArg)))
        } catch (e) {
          for (const v of created) {
            try {
              vlanDestroy(pool, v)
            } catch {
              // best effort, as xapi's safe_destroy_VLANs
            }
          }
          throw e
        }
        await work(pool, task, 0.3 / Math.max(1, on.length), i / on.length, (i + 1) / on.length)
      }
      return created.map((v) => str(pool.db.get('VLAN', v)?.['untagged_PIF']))
    } finally {
      done()
    }
  },
}

// ---------------------------------------------------------------------------------------------
// Networks

const BRIDGE_BLACKLIST = ['xen', 'xapi', 'vif', 'tap', 'eth']

const networkHandlers: Record<string, Handler> = {
  'network.create': (pool, [args]) => {
    const given = recordArg(pool, 'network', args)
    const bridges = new Set([...pool.db.table('network').values()].map((n) => str(n['bridge'])))
    let bridge = str(given['bridge'])
    if (bridge === '') {
      let i = 0
      while (bridges.has(`xapi${i}`)) i++
      bridge = `xapi${i}`
    } else {
      if (bridge.length > 15 || BRIDGE_BLACKLIST.some((p) => bridge.startsWith(p))) fail('INVALID_VALUE', 'bridge', bridge)
      if (bridges.has(bridge)) fail('BRIDGE_NAME_EXISTS', bridge)
    }
    const mtu = num(given['MTU'])
    const ref = newRef()
    pool.db.insert(
      'network',
      ref,
      pool.db.blank('network', {
        ...given,
        uuid: randomUUID(),
        MTU: mtu <= 0 ? 1500 : mtu,
        bridge,
        VIFs: [],
        PIFs: [],
        current_operations: {},
        allowed_operations: [],
        default_locking_mode: 'unlocked',
        assigned_ips: {},
        purpose: [],
        managed: given['managed'] ?? true,
      }),
    )
    return ref
  },
  'network.destroy': (pool, [self]) => {
    const ref = str(self)
    const net = pool.db.must('network', ref)
    const vifs = refs(net['VIFs'])
    const connected = vifs.filter((v) => pool.db.get('VIF', v)?.['currently_attached'] === true || pool.db.get('VIF', v)?.['reserved'] === true)
    if (connected.length > 0) fail('NETWORK_CONTAINS_VIF', ...connected)
    const pifs = refs(net['PIFs'])
    if (pifs.length > 0) fail('NETWORK_CONTAINS_PIF', ...pifs)
    if (obj(net['other_config'])['is_host_internal_management_network'] === 'true') fail('CANNOT_DESTROY_SYSTEM_NETWORK', ref)
    for (const v of vifs) destroyVifRecord(pool, v)
    pool.db.remove('network', ref)
    return ''
  },
}

const pifHandlers: Record<string, Handler> = {
  'PIF.scan': async (pool, [host], call) => {
    const { task, done } = taskOf(pool, call)
    try {
      await work(pool, task, 0.5, 0, 0.9)
      scan(pool, str(host))
      return ''
    } finally {
      done()
    }
  },
  'PIF.unplug': (pool, [self]) => {
    unplugPif(pool, str(self))
    return ''
  },
  'PIF.plug': (pool, [self]) => {
    const ref = str(self)
    assertPifManaged(pool, ref)
    const pif = pool.db.must('PIF', ref)
    if (pifKind(pif) === 'physical' && isRef(str(pif['bond_slave_of']))) fail('CANNOT_PLUG_BOND_SLAVE', ref)
    if (!isRef(str(pif['bond_slave_of']))) bringUp(pool, ref)
    return ''
  },
}

export const NETWORK_HANDLERS: Record<string, Handler> = {
  ...vifHandlers,
  ...pifHandlers,
  ...bondHandlers,
  ...vlanHandlers,
  ...networkHandlers,
}
