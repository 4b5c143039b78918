/**
 * Sentences for the XAPI refusals networking meets (VIF, PIF, bond, VLAN, network), merged into
 * error-text.ts. Parameters as xapi_errors.json names them; `name(i)` names a ref for a person.
 */
import type { Explainer } from './error-text'

export const NETWORK_ERROR_TEXT: Record<string, Explainer> = {
  PIF_ALREADY_BONDED: (_p, name) => ({
    sentence: `${name(0)} is already part of a bond.`,
    action: 'Choose NICs that are not bonded, or delete the bond first.',
  }),
  PIF_IS_MANAGEMENT_INTERFACE: (_p, name) => ({
    sentence: `${name(0)} is the server's management interface, so XAPI will not take it down.`,
    action: 'Move the management interface to another NIC first.',
  }),
  VLAN_TAG_INVALID: (p) => ({
    sentence: `${p[0] ?? 'That'} is not a valid VLAN tag: a tag is a whole number from 0 to 4094.`,
    action: 'Choose a tag between 0 and 4094.',
  }),
  PIF_VLAN_EXISTS: (p) => ({
    sentence: `${p[0] ? `NIC ${p[0]}` : 'This NIC'} already carries a VLAN, or is one.`,
    action: 'Use another tag, or another NIC.',
  }),
  PIF_IS_VLAN: (_p, name) => ({ sentence: `${name(0)} is itself a VLAN; a VLAN goes on the physical NIC or bond underneath.` }),
  CANNOT_ADD_VLAN_TO_BOND_SLAVE: (_p, name) => ({ sentence: `${name(0)} is a member of a bond; put the VLAN on the bond instead.` }),
  NETWORK_ALREADY_CONNECTED: (_p, name) => ({
    sentence: `${name(0)} already has a NIC on this network (${name(1)}).`,
    action: 'A server reaches a network through one NIC: choose another network.',
  }),
  PIF_BOND_NEEDS_MORE_MEMBERS: () => ({ sentence: 'A bond needs at least two NICs.' }),
  PIF_CANNOT_BOND_CROSS_HOST: () => ({ sentence: 'A bond can only join NICs of the same server.' }),
  PIF_BOND_MORE_THAN_ONE_IP: () => ({
    sentence: 'More than one of these NICs has an IP address; a bond may take over only one.',
    action: 'Remove the IP configuration from all but one of them.',
  }),
  INCOMPATIBLE_PIF_PROPERTIES: () => ({ sentence: 'These NICs have different settings (such as GRO) and cannot be bonded.' }),
  HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE: () => ({
    sentence: 'HA is on, so the bond of the management interface cannot be created or deleted.',
    action: 'Turn HA off, change the bond, then turn HA back on.',
  }),
  NETWORK_CONTAINS_PIF: (p) => ({
    sentence: `The network is still connected to ${p.length === 1 ? 'a NIC' : `${p.length} NICs`} of the pool's servers and cannot be removed.`,
    action: 'Remove its VLANs or bonds first; a physical NIC\u2019s network stays.',
  }),
  NETWORK_CONTAINS_VIF: (p) => ({
    sentence: `${p.length === 1 ? 'A running VM is' : `${p.length} running VMs are`} connected to this network.`,
    action: 'Disconnect or move their NICs first.',
  }),
  CANNOT_DESTROY_SYSTEM_NETWORK: (_p, name) => ({ sentence: `${name(0)} is a system network and cannot be removed.` }),
  DEVICE_ALREADY_EXISTS: (p) => ({ sentence: `The VM already has a NIC with device number ${p[0] ?? '?'}.` }),
  INVALID_DEVICE: (p) => ({ sentence: `${p[0] ? `'${p[0]}'` : 'That'} is not a NIC device number.` }),
  MAC_INVALID: (p) => ({
    sentence: `${p[0] ? `'${p[0]}'` : 'An empty address'} is not a valid MAC address.`,
    action: 'Use six pairs of hex digits, like 02:16:3e:aa:bb:cc.',
  }),
  DEVICE_ALREADY_ATTACHED: (_p, name) => ({ sentence: `${name(0)} is already connected.` }),
  DEVICE_ALREADY_DETACHED: (_p, name) => ({ sentence: `${name(0)} is already disconnected.` }),
  HOST_CANNOT_ATTACH_NETWORK: (_p, name) => ({
    sentence: `${name(0)} has no NIC on ${name(1)}, so a running VM there cannot be connected to it.`,
    action: 'Shut the VM down first, or migrate it to a server that has that network.',
  }),
  VM_REQUIRES_NETWORK: (_p, name) => ({
    sentence: `${name(0)} needs ${name(1)}, which this server has no NIC on.`,
    action: 'Choose a server that has that network, or move the VM\u2019s NIC to another network.',
  }),
  VIF_IN_USE: (_p, name) => ({
    sentence: `${name(1)} is still connected to ${name(0)} on this server.`,
    action: 'Disconnect or move the VM\u2019s NIC first.',
  }),
  PIF_DOES_NOT_ALLOW_UNPLUG: (_p, name) => ({ sentence: `${name(0)} is set to never be unplugged (disallow_unplug).` }),
  INVALID_IP_ADDRESS_SPECIFIED: (p) => ({ sentence: `The ${p[0] ?? 'address'} list contains something that is not a single IP address.` }),
  BRIDGE_NAME_EXISTS: (p) => ({ sentence: `Another network already uses the bridge ${p[0] ?? ''}.`.replace(' .', '.') }),
}
