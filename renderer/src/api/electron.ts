/** Electron door: the preload exposes `window.xenpilot = { call, on }` through contextBridge. */
import { ContractError, type EventName, type EventPayload, type MethodArgs, type MethodName, type MethodResult, type XenPilotApi } from '../../../shared/contract'
import { ApiError } from './errors'
import { INVALID, validateEvent } from './websocket'

export interface PreloadBridge {
  call(method: string, args: unknown): Promise<unknown>
  on(event: string, cb: (payload: unknown) => void): () => void
}

export function findPreloadBridge(): PreloadBridge | null {
  const candidate: unknown = Reflect.get(window, 'xenpilot')
  if (typeof candidate !== 'object' || candidate === null) return null
  const call: unknown = Reflect.get(candidate, 'call')
  const on: unknown = Reflect.get(candidate, 'on')
  if (typeof call !== 'function' || typeof on !== 'function') return null
  return candidate as PreloadBridge
}

export class ElectronApi implements XenPilotApi {
  constructor(private readonly bridge: PreloadBridge) {}

  async call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
    try {
      return (await this.bridge.call(method, args)) as MethodResult<M>
    } catch (err) {
      // ipcRenderer.invoke flattens thrown errors into Error('… Error: {json}'); recover the contract error.
      throw toApiError(err)
    }
  }

  on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void {
    return this.bridge.on(event, (payload) => {
      const value = validateEvent(event, payload)
      if (value !== INVALID) cb(value as EventPayload<E>)
    })
  }
}

function toApiError(err: unknown): Error {
  const direct = ContractError.safeParse(err)
  if (direct.success) return new ApiError(direct.data)
  if (err instanceof Error) {
    const brace = err.message.indexOf('{')
    if (brace >= 0) {
      try {
        const parsed = ContractError.safeParse(JSON.parse(err.message.slice(brace)))
        if (parsed.success) return new ApiError(parsed.data)
      } catch {
        /* not JSON: keep the original error */
      }
    }
    return err
  }
  return new Error(String(err))
}
