/**
 * XAPI failures as sentences a person can act on: what happened, to which object, what to do.
 * The common codes an admin meets have hand-written text; every other code falls back to XAPI's own
 * description (xapi_errors.json) with its parameters named. The code and raw parameters always stay
 * available to the UI ("details") — this only adds the sentence.
 */
import { NETWORK_ERROR_TEXT } from './error-text-network'
import { XAPI_ERRORS } from './errors.generated'

export interface ExplainedXapiError {
  code: string
  params: string[]
  /** what happened, naming the object */
  sentence: string
  /** what to do about it, when there is something sensible to suggest */
  action?: string
}

/** Names a ref for a person ("VM 'web-01'"), or undefined if the caller doesn't know it. */
export type RefNamer = (ref: string) => string | undefined

const GiB = 1024 ** 3

function bytes(v: string | undefined): string {
  const n = Number(v)
  if (!Number.isFinite(n)) return v ?? '?'
  if (n >= 1024 * GiB) return `${(n / (1024 * GiB)).toFixed(1)} TiB`
  return n >= GiB ? `${(n / GiB).toFixed(1)} GiB` : `${Math.round(n / 1024 ** 2)} MiB`
}

export type Explainer = (p: string[], name: (i: number) => string) => { sentence: string; action?: string }

const TEXT: Record<string, Explainer> = {
  VM_BAD_POWER_STATE: (p, name) => ({
    sentence: `${name(0)} is ${p[2] ?? 'in another power state'}; this needs it ${(p[1] ?? '').split(', ').join(' or ')}.`,
    action: 'Wait for the current state to settle, or change the power state first.',
  }),
  HOST_NOT_ENOUGH_FREE_MEMORY: (p) => ({
    sentence: `The server does not have enough free memory: ${bytes(p[0])} needed, ${bytes(p[1])} available.`,
    action: 'Choose another server, shut down or migrate other VMs, or reduce this VM\'s memory.',
  }),
  VM_REQUIRES_SR: (_p, name) => ({
    sentence: `${name(0)} needs storage ${name(1)}, which this server cannot reach.`,
    action: 'Choose a server with access to that storage repository, or plug its PBD on this one.',
  }),
  OTHER_OPERATION_IN_PROGRESS: (p, name) => ({
    sentence: `${p[0] ?? 'The object'} ${name(1)} is busy with another operation (${(p[2] ?? 'unknown').replace(/_/g, ' ')}).`,
    action: 'Wait for it to finish (see the task list), then try again.',
  }),
  OPERATION_BLOCKED: (p, name) => ({
    sentence: `This operation is blocked on ${name(0)}${p[1] ? `: ${p[1]}` : ''}.`,
    action: 'Remove the block (VM blocked_operations) if you are sure, then try again.',
  }),
  VM_MISSING_PV_DRIVERS: (_p, name) => ({
    sentence: `${name(0)} has no guest tools (PV drivers) running, so it cannot do this cleanly.`,
    action: 'Install or start the guest tools, or use the forced variant (Force Shutdown / Force Reboot).',
  }),
  NO_HOSTS_AVAILABLE: () => ({
    sentence: 'No server in the pool can run this VM right now.',
    action: 'Check free memory, storage access and networks on the pool\'s servers.',
  }),
  VM_IS_TEMPLATE: (p, name) => ({
    sentence: `${name(0)} is a template; ${(p[1] ?? 'this operation').replace(/_/g, ' ')} does not apply to templates.`,
    action: 'Create a VM from the template first.',
  }),
  VM_IS_SNAPSHOT: (p, name) => ({
    sentence: `${name(0)} is a snapshot; ${(p[1] ?? 'this operation').replace(/_/g, ' ')} does not apply to snapshots.`,
    action: 'Revert to it, or create a new VM from it.',
  }),
  SESSION_AUTHENTICATION_FAILED: (p) => ({
    sentence: `The server refused the user name or password${p[0] ? ` for ${p[0]}` : ''}.`,
    action: 'Check the credentials and try again.',
  }),
  SESSION_INVALID: () => ({ sentence: 'The session with the pool has expired.', action: 'Reconnect to the pool.' }),
  HOST_IS_SLAVE: (p) => ({
    sentence: `This server is a pool member; the pool master is ${p[0] ?? 'another server'}.`,
    action: 'Connect to the pool master instead.',
  }),
  HANDLE_INVALID: (p) => ({
    sentence: `The ${p[0] ?? 'object'} no longer exists (it may have been deleted by someone else).`,
  }),
  TASK_CANCELLED: () => ({ sentence: 'The task was cancelled.' }),
  SR_FULL: (p) => ({
    sentence: `The storage repository is full: ${bytes(p[0])} requested, ${bytes(p[1])} maximum.`,
    action: 'Free space on the SR or choose another one.',
  }),
  VDI_IN_USE: (p, name) => ({
    sentence: `Disk ${name(0)} is in use (${(p[1] ?? '').replace(/_/g, ' ')}).`,
    action: 'Detach it from its VM or wait for the other operation to finish.',
  }),
  HOST_IN_USE: (_p, name) => ({ sentence: `${name(0)} is still in use.`, action: 'Migrate or shut down its VMs first.' }),
  HOST_NOT_DISABLED: (_p) => ({ sentence: 'The server must be disabled first.', action: 'Enter maintenance mode, then try again.' }),
  RBAC_PERMISSION_DENIED: (p) => ({
    sentence: `Your role does not allow ${p[0] ?? 'this operation'}${p[1] ? ` (${p[1]})` : ''}.`,
    action: 'Ask a pool administrator, or connect with an account that has the permission.',
  }),
  LICENCE_RESTRICTION: (p) => ({ sentence: `The pool's licence does not include ${p[0] ?? 'this feature'}.` }),
  VM_SHUTDOWN_TIMEOUT: (_p, name) => ({
    sentence: `${name(0)} did not shut down in time.`,
    action: 'Check the guest, or use Force Shutdown.',
  }),
  MESSAGE_METHOD_UNKNOWN: (p) => ({
    sentence: `This server's XAPI version does not know ${p[0] ?? 'this call'}.`,
    action: 'The feature needs a newer XCP-ng/XenServer.',
  }),
  ...NETWORK_ERROR_TEXT,
}

/** Explain a XAPI failure. `nameOf` lets the caller name refs from its object graph. */
export function explainXapiError(code: string, params: readonly string[], nameOf?: RefNamer): ExplainedXapiError {
  const p = [...params]
  const name = (i: number): string => {
    const v = p[i]
    if (v === undefined || v === '') return 'the object'
    if (v.startsWith('OpaqueRef:')) return nameOf?.(v) ?? 'the object'
    return nameOf?.(v) ?? v
  }
  const specific = TEXT[code]
  if (specific) return { code, params: p, ...specific(p, name) }
  const known = XAPI_ERRORS[code]
  if (known) {
    const [names, doc] = known
    const detail = names
      .map((n, i) => (p[i] !== undefined ? `${n}: ${p[i]?.startsWith('OpaqueRef:') ? name(i) : p[i]}` : undefined))
      .filter((x): x is string => x !== undefined)
      .join(', ')
    const sentence = (doc || code.replace(/_/g, ' ').toLowerCase()).trim()
    return { code, params: p, sentence: detail ? `${sentence.replace(/\.$/, '')} (${detail}).` : sentence }
  }
  return { code, params: p, sentence: `The server reported ${code}${p.length ? ` (${p.join(', ')})` : ''}.` }
}
