/**
 * Browser-mode door: the contract over a WebSocket.
 *   page:      http://127.0.0.1:PORT/?token=TOKEN          (printed as the first stdout line)
 *   websocket: ws://127.0.0.1:PORT/api?token=TOKEN         (Origin must be http://127.0.0.1:PORT)
 * Electron door: preload exposes `window.xenpilot = { call(method, args), on(event, cb) }` over
 * ipcRenderer.invoke('xenpilot:call', method, args) and the 'xenpilot:event' channel; main answers
 * an envelope { ok: true, result } | { ok: false, error: ContractError } and the preload turns a
 * failure into a rejected plain ContractError object (an Error would lose `code` crossing the bridge).
 *
 * Errors that belong to no call (a message that is not JSON, or not a call) come back with id -1.
 */
import { z } from 'zod'
import { ContractError } from './index'

export const ClientMessage = z.object({ t: z.literal('call'), id: z.number().int(), method: z.string(), args: z.unknown() })
export type ClientMessage = z.infer<typeof ClientMessage>

export const ServerMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('result'), id: z.number().int(), result: z.unknown() }),
  z.object({ t: z.literal('error'), id: z.number().int(), error: ContractError }),
  z.object({ t: z.literal('event'), event: z.string(), payload: z.unknown() }),
])
export type ServerMessage = z.infer<typeof ServerMessage>

export { IPC_CALL, IPC_EVENT } from './channels'
