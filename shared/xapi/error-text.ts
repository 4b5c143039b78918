/**
 * XAPI failures as sentences a person can act on: what happened, to which object, what to do.
 * The common codes an admin meets have hand-written text; every other code falls back to XAPI's own
 * description (xapi_errors.json) with its parameters named. The code and raw parameters always stay
 * available to the UI ("details") — this only adds the sentence.
 */
import { MIGRATE_ERROR_TEXT } from './error-text-migrate'
import { NETWORK_ERROR_TEXT } from './error-text-network'
import { VM_ERROR_TEXT } from './error-text-vm'
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
  VM_IS_TEMPLATE: (p, name) =>
    // check_template lets destroy pass only for custom templates: a built-in one is refused this way
    p[1] === 'destroy'
      ? { sentence: `${name(0)} is a built-in template, which XAPI does not delete.`, action: 'Only custom templates can be deleted.' }
      : {
          sentence: `${name(0)} is a template; ${(p[1] ?? 'this operation').replace(/_/g, ' ')} does not apply to templates.`,
          action: 'Create a VM from the template first.',
        },
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
  /** XenPilot's own transfer failures (main/transfer): the sentence is the first param */
  TRANSFER_FAILED: (p) => ({ sentence: p[0] ?? 'The transfer failed.' }),
  // not XAPI's refusal: the call itself failed on the way (an HTTP 500, a dropped connection); its parameter is what happened, in words
  CLIENT_ERROR: (p) => ({ sentence: p[0] ? (/[.!?]$/.test(p[0]) ? p[0] : `${p[0]}.`) : 'The call failed before the server answered it.' }),
  IMPORT_ERROR_SOME_CHECKSUMS_FAILED: () => ({ sentence: 'The server refused the file: some of its data does not match its checksums (the file is damaged).', action: 'Export the VM again, or copy the file again.' }),
  IMPORT_ERROR_PREMATURE_EOF: () => ({ sentence: 'The server refused the file: it ends too early (the file is incomplete).', action: 'Copy or export the file again.' }),
  IMPORT_ERROR_CANNOT_HANDLE_CHUNKED: () => ({ sentence: 'The server takes an upload only with its length announced (no chunked upload).' }),
  IMPORT_ERROR: (p) => ({ sentence: `The server could not import the file${p[0] ? `: ${p[0]}` : ''}.` }),
  SR_FULL: (p) => ({
    sentence: `The storage repository is full: ${bytes(p[0])} requested, ${bytes(p[1])} maximum.`,
    action: 'Free space on the SR or choose another one.',
  }),
  VDI_IN_USE: (p, name) => {
    // [vdi, operation] from a disk operation; [vdi] from plugging a drive whose disk another VM has plugged;
    // [vdi, vdi, …] from disconnecting an SR whose disks running VMs use
    if (p.length === 1) return { sentence: `Disk ${name(0)} is plugged into another running VM.`, action: 'Detach it there first, or attach it read-only.' }
    if (p.length > 2 || p[1]?.startsWith('OpaqueRef:')) return { sentence: `${p.length} disks on this SR are in use by running VMs (${p.map((_, i) => name(i)).slice(0, 3).join(', ')}${p.length > 3 ? ', …' : ''}).`, action: 'Shut those VMs down or move their disks first.' }
    return { sentence: `Disk ${name(0)} is in use (${(p[1] ?? '').replace(/_/g, ' ')}).`, action: 'Detach it from its VM or wait for the other operation to finish.' }
  },
  VBD_NOT_UNPLUGGABLE: (_p, name) => ({
    sentence: `${name(0)} cannot be unplugged while the VM runs: XAPI marks it not unpluggable (as it does a boot disk).`,
    action: 'Shut the VM down, then detach it.',
  }),
  VBD_NOT_EMPTY: (_p, name) => ({ sentence: `${name(0)} already holds a disc.`, action: 'Eject it first.' }),
  VBD_IS_EMPTY: (_p, name) => ({ sentence: `${name(0)} is empty: there is no disc to eject.` }),
  VBD_NOT_REMOVABLE_MEDIA: (_p, name) => ({ sentence: `${name(0)} is not a DVD drive: only DVD drives take and eject discs.` }),
  DEVICE_DETACH_REJECTED: (_p, name) => ({
    sentence: `The guest refused to release ${name(1)}: it is probably still using the disk.`,
    action: 'Unmount it in the guest and try again, or force the detach (the guest may lose data it has not written).',
  }),
  DEVICE_ALREADY_EXISTS: (p) => ({ sentence: `The VM already has a drive at position ${p[0] ?? '?'}.`, action: 'Try again: XenPilot picks the next free position.' }),
  VDI_READONLY: (_p, name) => ({ sentence: `Disk ${name(0)} is read-only and cannot be attached read-write.`, action: 'Attach it read-only.' }),
  VDI_NEEDS_VM_FOR_MIGRATE: (_p, name) => ({ sentence: `Disk ${name(0)} is not attached to a VM, so XAPI cannot mirror it to another SR.`, action: 'Move it while it is not in use: XenPilot copies it instead.' }),
  SR_HAS_PBD: (_p, name) => ({ sentence: `SR ${name(0)} is still connected to a server.`, action: 'Disconnect it from every server first.' }),
  SR_HAS_NO_PBDS: (_p, name) => ({ sentence: `SR ${name(0)} is not connected to any server.`, action: 'Repair the SR (connect it to its servers) first.' }),
  SR_NOT_EMPTY: () => ({ sentence: 'The SR still holds disks, so XAPI will not destroy it.', action: 'Delete its disks first, or forget the SR instead.' }),
  SR_NOT_ATTACHED: (_p, name) => ({ sentence: `SR ${name(0)} is not connected to the VM's server.`, action: 'Connect (repair) the SR on that server, or choose another disc.' }),
  SR_OPERATION_NOT_SUPPORTED: (_p, name) => ({ sentence: `The storage backend of SR ${name(0)} does not support this operation.` }),
  PBD_EXISTS: (_p, name) => ({ sentence: `SR ${name(0)} already has a connection to server ${name(1)}.` }),
  SR_NOT_SHARABLE: (_p, name) => ({ sentence: `SR ${name(0)} is local to another server and cannot be connected to ${name(1)} too.` }),
  HOST_OFFLINE: (_p, name) => ({ sentence: `Server ${name(0)} cannot be reached.`, action: 'Bring the server back, then try again.' }),
  HOST_IN_USE: (_p, name) => ({ sentence: `${name(0)} is still in use.`, action: 'Migrate or shut down its VMs first.' }),
  HOST_NOT_DISABLED: (_p) => ({ sentence: 'The server must be disabled first.', action: 'Enter maintenance mode, then try again.' }),
  RBAC_PERMISSION_DENIED: (p) => ({
    sentence: `Your role does not allow ${p[0] ?? 'this operation'}${p[1] ? ` (${p[1]})` : ''}.`,
    action: 'Ask a pool administrator, or connect with an account that has the permission.',
  }),
  VM_SHUTDOWN_TIMEOUT: (_p, name) => ({
    sentence: `${name(0)} did not shut down in time.`,
    action: 'Check the guest, or use Force Shutdown.',
  }),
  MESSAGE_METHOD_UNKNOWN: (p) => ({
    sentence: `This server's XAPI version does not know ${p[0] ?? 'this call'}.`,
    action: 'The feature needs a newer XCP-ng/XenServer.',
  }),
  ...NETWORK_ERROR_TEXT,
  ...VM_ERROR_TEXT,
  ...MIGRATE_ERROR_TEXT,
}

/**
 * SR_BACKEND_FAILURE_<n> [status, stdout, stderr]: the storage manager's own error number and text
 * (sm's XE_SR_ERRORCODES.xml), e.g. SR_BACKEND_FAILURE_79 'VDI Invalid size [opterr=shrinking not allowed]'.
 */
function backendFailure(code: string, p: string[]): { sentence: string; action?: string } | undefined {
  const m = /^SR_BACKEND_FAILURE_(\d+)$/.exec(code)
  if (!m) return undefined
  const text = (p[1] || p[2] || p[0] || '').trim()
  const opterr = /\[opterr=([^\]]*)\]/.exec(text)?.[1]
  const what = text.replace(/\s*\[opterr=[^\]]*\]/, '')
  return {
    sentence: `The storage backend refused (error ${m[1]}): ${what || 'no details'}${opterr ? ` — ${opterr}` : ''}.`,
    action: 'Check the SR and its server; the storage manager log (/var/log/SMlog) has the details.',
  }
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
  if (specific) {
    const x = specific(p, name)
    // a sentence may open with a name ('the drive 3 of VM …')
    return { code, params: p, ...x, sentence: x.sentence.charAt(0).toUpperCase() + x.sentence.slice(1) }
  }
  const backend = backendFailure(code, p)
  if (backend) return { code, params: p, ...backend }
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
