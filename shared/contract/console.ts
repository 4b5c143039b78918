// OWNER: console helper. Console methods/events of the contract (merged into shared/contract/index.ts).
/**
 * Consoles: the renderer asks main for the console of a VM (or of a host's control domain); main
 * checks the VM, opens the host's CONNECT /console through pinned TLS and hands back a loopback
 * WebSocket URL carrying a single-use token for exactly that console. The renderer never sees a
 * XAPI session id, a host certificate or an arbitrary host:port.
 */
import { z } from 'zod'

const ConnectionId = z.string().min(1).max(200)
const Ref = z
  .string()
  .regex(/^OpaqueRef:[A-Za-z0-9-]{1,100}$/, 'must be an OpaqueRef')

/** Whose console: a VM's, or the control domain (dom0) of a host. */
export const ConsoleTargetArgs = z.union([
  z.object({ connectionId: ConnectionId, vmRef: Ref }).strict(),
  z.object({ connectionId: ConnectionId, hostRef: Ref }).strict(),
])
export type ConsoleTargetArgs = z.infer<typeof ConsoleTargetArgs>

export const ConsoleOpenResult = z.object({
  /** this bridge session (for console.close), not a XAPI id */
  consoleId: z.string(),
  /** ws://127.0.0.1:PORT/console/TOKEN — single use, valid until expiresAt */
  wsUrl: z.string(),
  expiresAt: z.string(),
  vmRef: z.string(),
  vmUuid: z.string(),
  vmName: z.string(),
  /** the XAPI console object used; a new one after a reboot means: reconnect */
  consoleRef: z.string(),
  /** where the VM runs; another host after a migration means: reconnect */
  hostRef: z.string(),
  hostName: z.string(),
  isControlDomain: z.boolean(),
  protocol: z.literal('rfb'),
})
export type ConsoleOpenResult = z.infer<typeof ConsoleOpenResult>

/**
 * Error codes console.open fails with (ContractError.code), so the viewer can show a state rather
 * than only a sentence.
 */
export const ConsoleErrorCode = z.enum([
  /** the VM is halted (or otherwise not running): nothing to show */
  'vm-not-running',
  /** the VM is suspended: resume it to see its console */
  'vm-suspended',
  /** the VM (or host) is not in the pool's object graph */
  'not-found',
  /** the VM runs but has no rfb console (yet): e.g. still booting */
  'no-console',
  /** the VM runs but every console ref it names points nowhere: waiting will not fix it (not retried) */
  'console-missing',
  /** the admin switched the console off (other_config:disable_pv_vnc) */
  'console-disabled',
  /** the pool is not connected */
  'pool-offline',
  /** the host refused CONNECT /console (status in the message) */
  'console-refused',
  /** the pool's session was rejected even after logging in again */
  'session-expired',
  /** the host's certificate is not the pinned one */
  'certificate-changed',
  /** the host did not answer (TCP/TLS) */
  'host-unreachable',
  /** pool.limit_console_sessions reached (503) */
  'console-limit',
  /** too many console sessions open in this app */
  'too-many-consoles',
  /** this door cannot do it (e.g. console.popout outside Electron) */
  'not-supported',
])
export type ConsoleErrorCode = z.infer<typeof ConsoleErrorCode>

export const consoleMethods = {
  /** open the console of a VM or of a host's control domain; the result's wsUrl is for noVNC */
  'console.open': { args: ConsoleTargetArgs, result: ConsoleOpenResult },
  /** close a console session (its WebSocket and TLS connection) */
  'console.close': { args: z.object({ consoleId: z.string().min(1).max(200) }).strict(), result: z.null() },
  /**
   * Electron: open this console in its own window. Other doors answer 'not-supported' and the
   * renderer opens a new tab on its console route instead.
   */
  'console.popout': { args: ConsoleTargetArgs, result: z.null() },
} as const

export const consoleEvents = {
  /** a console session ended on the server side (VM rebooted, host went away, idle timeout) */
  'console.ended': z.object({ consoleId: z.string(), reason: z.string() }),
} as const
