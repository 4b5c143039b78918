/**
 * The typed contract between the renderer and main. One table of methods (zod schemas for the
 * arguments and the result) and one of events. main/services implements every method once;
 * both doors (Electron IPC via preload, browser-mode WebSocket) validate against these schemas.
 *
 * To add a method: add an entry here, implement it in main/services, call it from the renderer
 * through the `XenPilotApi` client. Nothing else needs to change in the doors.
 */
import { z } from 'zod'
import { ConnectionState } from './connection'
import { consoleMethods, consoleEvents } from './console'
import { numaMethods, numaEvents } from './numa'

export * from './connection'

const Empty = z.object({}).strict()
const Id = z.object({ id: z.string().min(1) }).strict()

export const ObjectUpsertSchema = z.object({ cls: z.string(), ref: z.string(), record: z.record(z.string(), z.unknown()) })
export const ObjectRemoveSchema = z.object({ cls: z.string(), ref: z.string() })
export const PoolDiffSchema = z.object({
  connectionId: z.string(),
  seq: z.number(),
  reset: z.boolean(),
  upserts: z.array(ObjectUpsertSchema),
  removes: z.array(ObjectRemoveSchema),
  token: z.string().optional(),
})

export const AppInfo = z.object({
  name: z.string(),
  version: z.string(),
  mode: z.enum(['electron', 'browser']),
  versions: z.record(z.string(), z.string()),
})

const host = z
  .string()
  .trim()
  .min(1, 'Server is required')
  .max(255)
  .regex(/^[A-Za-z0-9.\-:[\]]+$/, 'Server must be a host name or IP address, optionally with :port')

export const methods = {
  'app.info': { args: Empty, result: AppInfo },
  'connections.list': { args: Empty, result: z.array(ConnectionState) },
  'connections.add': {
    args: z
      .object({
        address: host,
        username: z.string().trim().min(1, 'User name is required').max(255),
        password: z.string().max(1024),
        rememberPassword: z.boolean(),
        forceXmlRpc: z.boolean().optional(),
        doNotCache: z.boolean().optional(),
      })
      .strict(),
    result: ConnectionState,
  },
  'connections.edit': {
    args: z
      .object({
        id: z.string().min(1),
        address: host.optional(),
        username: z.string().trim().min(1).max(255).optional(),
        password: z.string().max(1024).optional(),
        rememberPassword: z.boolean().optional(),
        forceXmlRpc: z.boolean().optional(),
        doNotCache: z.boolean().optional(),
      })
      .strict(),
    result: ConnectionState,
  },
  'connections.connect': { args: z.object({ id: z.string().min(1), password: z.string().max(1024).optional() }).strict(), result: z.null() },
  'connections.disconnect': { args: Id, result: z.null() },
  'connections.forget': { args: Id, result: z.null() },
  'connections.trust': { args: z.object({ id: z.string().min(1), fingerprint256: z.string().min(1) }).strict(), result: z.null() },
  'connections.connectAll': { args: Empty, result: z.null() },
  'connections.disconnectAll': { args: Empty, result: z.null() },
  /** ask main to (re)send every pool's object graph as reset diffs (`pool.diff` events) */
  'objects.subscribe': { args: Empty, result: z.null() },
  ...consoleMethods,
  ...numaMethods,
} as const

export const events = {
  'pool.diff': PoolDiffSchema,
  'connection.state': ConnectionState,
  /** a connection was forgotten */
  'connection.removed': z.object({ id: z.string() }),
  ...consoleEvents,
  ...numaEvents,
} as const

export type Methods = typeof methods
export type MethodName = keyof Methods
export type MethodArgs<M extends MethodName> = z.input<Methods[M]['args']>
export type MethodResult<M extends MethodName> = z.output<Methods[M]['result']>
export type Events = typeof events
export type EventName = keyof Events
export type EventPayload<E extends EventName> = z.output<Events[E]>

/** An error as it crosses the contract: a code for programs, a sentence for people. */
export const ContractError = z.object({
  code: z.string(),
  message: z.string(),
  /** XAPI error params when the failure came from XAPI */
  params: z.array(z.string()).optional(),
})
export type ContractError = z.infer<typeof ContractError>

/** What the renderer holds: the same shape behind both doors. */
export interface XenPilotApi {
  call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>>
  on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void
}
