/**
 * Sentences for the XAPI refusals of making and changing VMs (issue 14: New VM, VM Properties,
 * templates), merged into error-text.ts. Parameters as xapi_errors.json names them.
 */
import type { Explainer } from './error-text'

const ORDER = 'Memory must satisfy: static minimum ≤ dynamic minimum ≤ dynamic maximum ≤ static maximum.'

export const VM_ERROR_TEXT: Record<string, Explainer> = {
  INVALID_VALUE: (p) => {
    // [field, value]; xapi puts its own rule in the first parameter for VCPU counts
    const field = p[0] ?? ''
    if (field.startsWith('VCPU values must satisfy')) {
      return { sentence: `${p[1] ?? 'That'} vCPUs is not allowed: vCPUs at startup must be at least 1 and at most the maximum.`, action: 'Raise the maximum first, or lower vCPUs at startup.' }
    }
    // Vm_platform.sanity_check at start: [platform:key; why or value]
    if (field === 'platform:device-model') {
      return { sentence: `The VM's device model cannot boot its firmware: ${(p[1] ?? '').replace(/\.$/, '')}.`, action: 'Set the boot mode again in VM Properties (the device model follows it).' }
    }
    if (field === 'platform:cores-per-socket') {
      return { sentence: `The cores per socket '${p[1] ?? ''}' is not a number.`, action: 'Set the cores per socket in VM Properties.' }
    }
    return { sentence: `${p[1] === undefined ? 'The value' : `'${p[1]}'`} is not a valid ${field.replace(/_/g, ' ') || 'value'}.` }
  },
  MEMORY_CONSTRAINT_VIOLATION_ORDER: () => ({ sentence: `These memory limits are out of order. ${ORDER}`, action: 'Adjust the limits so each is at most the next.' }),
  MEMORY_CONSTRAINT_VIOLATION: (p) => ({ sentence: `These memory limits are not allowed${p[0] ? `: ${p[0].replace(/\.$/, '')}` : ''}.`, action: ORDER }),
  MEMORY_CONSTRAINT_VIOLATION_MAXPIN: () => ({
    sentence: 'This pool cannot balloon memory: the dynamic range must equal the static maximum.',
    action: 'Set dynamic minimum and maximum to the static maximum.',
  }),
  PROVISION_ONLY_ALLOWED_ON_TEMPLATE: () => ({ sentence: 'Only a template can be provisioned; this VM already was.' }),
  UUID_INVALID: (p) => ({ sentence: `The ${p[0] ?? 'object'} with UUID '${p[1] ?? ''}' does not exist in the pool.`, action: 'Choose another one.' }),
  VM_CANNOT_DELETE_DEFAULT_TEMPLATE: (_p, name) => ({ sentence: `${name(0)} is a default template, which XAPI does not delete.`, action: 'Delete only custom templates.' }),
  VCPU_MAX_NOT_CORES_PER_SOCKET_MULTIPLE: (p) => ({
    sentence: `The maximum vCPUs (${p[0] ?? '?'}) must be a multiple of the cores per socket (${p[1] ?? '?'}).`,
    action: 'Change the maximum vCPUs or the cores per socket.',
  }),
  HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED: (_p, name) => ({
    sentence: `HA can restart a VM only if every server can run it, and ${name(0)} is not shared by all servers of the pool.`,
    action: 'Move the VM’s disks to shared storage, or choose “restart if possible” instead.',
  }),
  HA_CONSTRAINT_VIOLATION_NETWORK_NOT_SHARED: (_p, name) => ({
    sentence: `HA can restart a VM only if every server can run it, and ${name(0) === 'the object' ? 'one of its networks' : name(0)} is not on every server of the pool.`,
    action: 'Connect the VM to a network every server has, or choose “restart if possible” instead.',
  }),
  HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN: () => ({
    sentence: 'This would break the pool’s HA failover plan.',
    action: 'Lower the restart priority of other VMs, or raise the number of failures the pool tolerates.',
  }),
}
