/**
 * Contract entries for networking (issue 13): a VM's NICs (VIFs), a host's NICs (PIFs, bonds,
 * VLANs) and the pool's networks. Each method is one action on one object: one XAPI task shows in
 * the Activity panel, the history records it, a refusal comes back as a sentence with XAPI's code
 * and parameters. Merged into shared/contract/index.ts.
 */
import { z } from 'zod'
import { BOND_MODES, LOCKING_MODES, MTU_MAX, MTU_MIN, isIpv4, isIpv6, isValidMac } from '../operations/network'
import { OperationResult } from './operations'

const Ref = z.string().regex(/^OpaqueRef:[0-9a-fA-F-]+$/, 'must be an OpaqueRef')
const Conn = z.string().min(1)
const Mac = z.string().refine(isValidMac, 'A MAC address is six pairs of hex digits, like 02:16:3e:aa:bb:cc')
const Mtu = z.number().int().min(MTU_MIN, `The MTU is at least ${MTU_MIN}`).max(MTU_MAX, `The MTU is at most ${MTU_MAX}`)
/** kB/s; XenCenter's QoS limit field */
const RateLimit = z.number().int().min(1, 'A rate limit is at least 1 kB/s').max(100_000_000)
const Ipv4List = z.array(z.string().refine(isIpv4, 'Not an IPv4 address')).max(64)
const Ipv6List = z.array(z.string().refine(isIpv6, 'Not an IPv6 address')).max(64)
const Name = z.string().trim().min(1, 'A name is required').max(255)

export const NetworkResult = OperationResult.extend({
  /** what the user should know although it worked ('the NIC appears after the VM restarts') */
  note: z.string().optional(),
})
export type NetworkResult = z.infer<typeof NetworkResult>

export const networkMethods = {
  /** VIF.create on the lowest free device (VM.get_allowed_VIF_devices), MTU of the network; plugged when the VM runs */
  'vif.create': {
    args: z
      .object({
        connectionId: Conn,
        vm: Ref,
        network: Ref,
        /** omitted: XAPI generates one from the VM's mac_seed */
        mac: Mac.optional(),
        rateLimitKbps: RateLimit.optional(),
        lockingMode: z.enum(LOCKING_MODES).optional(),
        ipv4Allowed: Ipv4List.optional(),
        ipv6Allowed: Ipv6List.optional(),
      })
      .strict(),
    result: NetworkResult,
  },
  /** unplug when attached to a running VM, then VIF.destroy */
  'vif.remove': { args: z.object({ connectionId: Conn, vif: Ref }).strict(), result: NetworkResult },
  'vif.plug': { args: z.object({ connectionId: Conn, vif: Ref }).strict(), result: NetworkResult },
  'vif.unplug': { args: z.object({ connectionId: Conn, vif: Ref }).strict(), result: NetworkResult },
  /** VIF.move; on hosts without it (before XenServer 7.1) the NIC is re-created on the network */
  'vif.move': { args: z.object({ connectionId: Conn, vif: Ref, network: Ref }).strict(), result: NetworkResult },
  /**
   * Settings of one NIC. A new MAC re-creates the VIF (MAC is set at creation); the rate limit is
   * VIF.qos_algorithm_* (null removes it); locking mode and allowed addresses are set in place.
   */
  'vif.update': {
    args: z
      .object({
        connectionId: Conn,
        vif: Ref,
        mac: Mac.optional(),
        rateLimitKbps: RateLimit.nullable().optional(),
        lockingMode: z.enum(LOCKING_MODES).optional(),
        ipv4Allowed: Ipv4List.optional(),
        ipv6Allowed: Ipv6List.optional(),
      })
      .strict(),
    result: NetworkResult,
  },
  /** PIF.scan: introduce NICs the host has and XAPI does not know yet */
  'pif.scan': { args: z.object({ connectionId: Conn, host: Ref }).strict(), result: NetworkResult },
  /** a new network named `name`, then Bond.create of `members` (NICs of one host) on it */
  'bond.create': {
    args: z
      .object({
        connectionId: Conn,
        host: Ref,
        members: z.array(Ref).min(2, 'Choose at least 2 NICs').max(4, 'A bond takes at most 4 NICs'),
        mode: z.enum(BOND_MODES),
        name: Name,
        mtu: Mtu.optional(),
        /** LACP only */
        hashingAlgorithm: z.enum(['src_mac', 'tcpudp_ports']).optional(),
      })
      .strict(),
    result: NetworkResult,
  },
  /** Bond.destroy; then the bond's network too when no other host uses it */
  'bond.destroy': { args: z.object({ connectionId: Conn, bond: Ref }).strict(), result: NetworkResult },
  'bond.setMode': { args: z.object({ connectionId: Conn, bond: Ref, mode: z.enum(BOND_MODES) }).strict(), result: NetworkResult },
  /** a new network, then pool.create_VLAN_from_PIF: the VLAN on every host whose PIF shares `pif`'s network */
  'vlan.create': {
    args: z
      .object({
        connectionId: Conn,
        pif: Ref,
        tag: z.number().int(),
        name: Name,
        mtu: Mtu.optional(),
      })
      .strict(),
    result: NetworkResult,
  },
  /** VLAN.destroy on one host */
  'vlan.destroy': { args: z.object({ connectionId: Conn, vlan: Ref }).strict(), result: NetworkResult },
  /** network.create: a network with no NIC yet (private to the pool's VMs until a VLAN or bond puts it on NICs) */
  'network.create': {
    args: z.object({ connectionId: Conn, name: Name, description: z.string().max(4096).optional(), mtu: Mtu.optional(), autoPlug: z.boolean().optional() }).strict(),
    result: NetworkResult,
  },
  'network.setMtu': { args: z.object({ connectionId: Conn, network: Ref, mtu: Mtu }).strict(), result: NetworkResult },
  /** its bonds and VLANs first (XenCenter's NetworkAction), then network.destroy */
  'network.remove': { args: z.object({ connectionId: Conn, network: Ref }).strict(), result: NetworkResult },
} as const
