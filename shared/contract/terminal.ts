// OWNER: ssh (issue 19). Host terminal methods/events of the contract (merged into shared/contract/index.ts).
/**
 * A shell on a host's dom0 over SSH, held by main (ssh2) and shown by the window (xterm). The stream crosses the
 * contract like everything else, so browser mode works the same: `terminal.data` events to the window that opened
 * it, `terminal.input` / `terminal.resize` back, and `terminal.ack` for flow control — main stops reading the host
 * while the window has more than a few hundred KiB unacknowledged (main/terminal/session.ts).
 *
 * Host keys are pinned on first use, as TLS certificates are: `terminal.open` fails with code 'hostkey-unknown'
 * (params [fingerprint, keyType, host:port]) until the user trusts the key (`terminal.trustHostKey`), and with
 * 'hostkey-changed' (params [fingerprint, previousFingerprint, keyType, host:port]) when the host presents another
 * key than the pinned one; only an explicit re-trust naming the key it replaces changes the pin.
 */
import { z } from 'zod'
import { OperationResult } from './operations'

const ConnectionId = z.string().min(1).max(200)
const Ref = z.string().regex(/^OpaqueRef:[A-Za-z0-9-]{1,100}$/, 'must be an OpaqueRef')
const TerminalId = z.string().min(1).max(200)
export const SshFingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an SSH SHA-256 fingerprint (SHA256:…)')

export const TerminalTarget = z.object({ connectionId: ConnectionId, hostRef: Ref }).strict()
export type TerminalTarget = z.infer<typeof TerminalTarget>

const Port = z.number().int().min(1).max(65535)

/** how to log in: a typed password (remembered in the keychain if asked), the remembered one, or a key file on main's side */
export const TerminalAuth = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('password'), password: z.string().max(1024), remember: z.boolean().default(false) }).strict(),
  z.object({ kind: z.literal('saved') }).strict(),
  /** a private key file (OpenSSH / PEM) on the machine main runs on; passphrase if it is encrypted */
  z.object({ kind: z.literal('key'), path: z.string().min(1).max(4096), passphrase: z.string().max(1024).optional() }).strict(),
])
export type TerminalAuth = z.input<typeof TerminalAuth>

export const PinnedHostKeyInfo = z.object({
  fingerprint: z.string(),
  keyType: z.string(),
  pinnedAt: z.string(),
  source: z.enum(['user', 'demo']),
})

export const TerminalInfo = z.object({
  hostName: z.string(),
  /** the host's management address (host.address) */
  address: z.string(),
  /** the port XenPilot last used for this host (22 unless changed) */
  port: Port,
  username: z.string(),
  /** the SSH host key pinned for address:port, if any */
  pinned: PinnedHostKeyInfo.nullable(),
  /** a password for this host is remembered in the keychain */
  savedPassword: z.boolean(),
  /**
   * switching SSH on through XAPI: 'timeout' (XAPI ≥ 25.21: for N minutes), 'enable' (25.13 … 25.20: on, without a
   * timeout), 'none' (older: SSH is managed on the host itself)
   */
  sshControl: z.enum(['timeout', 'enable', 'none']),
  /** host.ssh_enabled where XAPI reports it, else null */
  sshEnabled: z.boolean().nullable(),
  /** when XAPI switches SSH off again (host.ssh_expiry), ISO, or null */
  sshExpiry: z.string().nullable(),
  /** the pool is connected (an offline pool's host can still be reached, but XAPI cannot switch SSH) */
  poolOnline: z.boolean(),
})
export type TerminalInfo = z.infer<typeof TerminalInfo>

export const TerminalOpenArgs = TerminalTarget.extend({
  port: Port.default(22),
  username: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'must be a user name')
    .default('root'),
  auth: TerminalAuth,
  cols: z.number().int().min(2).max(1000),
  rows: z.number().int().min(2).max(500),
}).strict()

export const TerminalOpenResult = z.object({
  terminalId: z.string(),
  hostName: z.string(),
  address: z.string(),
  port: Port,
  username: z.string(),
  fingerprint: z.string(),
})
export type TerminalOpenResult = z.infer<typeof TerminalOpenResult>

/** ContractError codes of terminal.open */
export const TerminalErrorCode = z.enum(['hostkey-unknown', 'hostkey-changed', 'auth-failed', 'unreachable', 'ssh-refused', 'key-file', 'no-password', 'not-found', 'too-many-terminals', 'not-supported'])
export type TerminalErrorCode = z.infer<typeof TerminalErrorCode>

const TerminalRef = z.object({ terminalId: TerminalId }).strict()

export const terminalMethods = {
  /** what the terminal dialog shows before connecting: address, pinned key, remembered password, whether XAPI can switch SSH on */
  'terminal.info': { args: TerminalTarget, result: TerminalInfo },
  /** connect and open a shell; output follows as terminal.data events to this window only */
  'terminal.open': { args: TerminalOpenArgs, result: TerminalOpenResult },
  /** keystrokes or pasted text */
  'terminal.input': { args: TerminalRef.extend({ data: z.string().max(65536) }).strict(), result: z.null() },
  /** the window's terminal size changed (SSH window-change) */
  'terminal.resize': { args: TerminalRef.extend({ cols: z.number().int().min(2).max(1000), rows: z.number().int().min(2).max(500) }).strict(), result: z.null() },
  /** the window wrote this many more bytes of terminal.data to its screen */
  'terminal.ack': { args: TerminalRef.extend({ bytes: z.number().int().min(0).max(1_000_000_000) }).strict(), result: z.null() },
  'terminal.close': { args: TerminalRef, result: z.null() },
  /**
   * pin the host key the user saw (it must be the one the host last presented); `replaces`: the pinned key the
   * user agrees to replace — required when one is pinned, refused when it does not name it
   */
  'terminal.trustHostKey': { args: TerminalTarget.extend({ port: Port.default(22), fingerprint: SshFingerprint, replaces: SshFingerprint.optional() }).strict(), result: z.null() },
  /** forget a remembered SSH password of this host */
  'terminal.forgetPassword': { args: TerminalTarget, result: z.null() },
  /** switch SSH on through XAPI, for `minutes` where the host supports a timeout (host.set_ssh_enabled_timeout + host.enable_ssh) */
  'terminal.enableSsh': { args: TerminalTarget.extend({ minutes: z.number().int().min(1).max(2880) }).strict(), result: OperationResult },
  /** Electron: the terminal in its own window; other doors answer 'not-supported' (the window opens a new tab) */
  'terminal.popout': { args: TerminalTarget, result: z.null() },
} as const

export const terminalEvents = {
  /** output of a terminal (UTF-8 text) and the bytes it was, to acknowledge once shown */
  'terminal.data': z.object({ terminalId: z.string(), data: z.string(), bytes: z.number() }),
  /** the shell or the connection ended */
  'terminal.ended': z.object({ terminalId: z.string(), reason: z.string() }),
} as const
