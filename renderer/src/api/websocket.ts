/**
 * Browser-mode door: the contract over ws://127.0.0.1:PORT/api?token=T (shared/contract/wire.ts).
 * Reconnects on its own when the socket drops (the service restarted, laptop slept) and tells
 * listeners through `onLink` so the app can re-subscribe.
 */
import { ServerMessage } from '../../../shared/contract/wire'
import { ContractError, events, type EventName, type EventPayload, type MethodArgs, type MethodName, type MethodResult, type XenPilotApi } from '../../../shared/contract'
import { ApiError } from './errors'
import { parsePoolDiff } from './pool-diff'

type Listener = (payload: unknown) => void
interface Pending {
  resolve: (v: unknown) => void
  reject: (e: Error) => void
}

export type LinkState = 'connecting' | 'open' | 'closed'

const MAX_BACKOFF_MS = 5000

export class WebSocketApi implements XenPilotApi {
  private ws: WebSocket | null = null
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly linkListeners = new Set<(s: LinkState) => void>()
  private readonly queue: string[] = []
  private backoff = 250
  private stopped = false
  linkState: LinkState = 'connecting'

  constructor(private readonly url: string) {
    this.open()
  }

  call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
    const id = this.nextId++
    const text = JSON.stringify({ t: 'call', id, method, args })
    return new Promise<MethodResult<M>>((resolve, reject) => {
      this.pending.set(id, { resolve: (v) => resolve(v as MethodResult<M>), reject })
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(text)
      else this.queue.push(text)
    })
  }

  on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void {
    const listener = cb as Listener
    let set = this.listeners.get(event)
    if (!set) this.listeners.set(event, (set = new Set()))
    set.add(listener)
    return () => set.delete(listener)
  }

  onLink(cb: (s: LinkState) => void): () => void {
    this.linkListeners.add(cb)
    return () => this.linkListeners.delete(cb)
  }

  close(): void {
    this.stopped = true
    this.ws?.close()
  }

  private setLink(s: LinkState): void {
    this.linkState = s
    for (const cb of this.linkListeners) cb(s)
  }

  private open(): void {
    const ws = new WebSocket(this.url)
    this.ws = ws
    ws.onopen = () => {
      this.backoff = 250
      this.setLink('open')
      for (const text of this.queue.splice(0)) ws.send(text)
    }
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data === 'string') this.receive(ev.data)
    }
    ws.onclose = () => {
      this.ws = null
      // Calls in flight are lost with the socket: fail them instead of leaving the UI waiting.
      for (const p of this.pending.values()) p.reject(new ApiError({ code: 'DISCONNECTED', message: 'Lost the connection to the XenPilot service' }))
      this.pending.clear()
      if (this.stopped) return
      this.setLink('closed')
      setTimeout(() => this.open(), this.backoff)
      this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2)
    }
  }

  private receive(text: string): void {
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch {
      console.warn('XenPilot service sent a message that is not JSON; ignored')
      return
    }
    const parsed = ServerMessage.safeParse(raw)
    if (!parsed.success) {
      console.warn(`XenPilot service sent a malformed message; ignored: ${parsed.error.message}`)
      return
    }
    const msg = parsed.data
    if (msg.t === 'event') {
      this.dispatch(msg.event, msg.payload)
      return
    }
    const p = this.pending.get(msg.id)
    if (!p) return
    this.pending.delete(msg.id)
    if (msg.t === 'result') p.resolve(msg.result)
    else p.reject(new ApiError(msg.error))
  }

  private dispatch(event: string, payload: unknown): void {
    const set = this.listeners.get(event)
    if (!set || set.size === 0) return
    const value = validateEvent(event, payload)
    if (value === INVALID) return
    for (const cb of set) {
      try {
        cb(value)
      } catch (err) {
        console.error(`handler of event '${event}' failed`, err)
      }
    }
  }
}

export const INVALID = Symbol('invalid')

/** Every event is checked against the contract: an event it does not name, or a payload that does not fit, is dropped (and said). */
export function validateEvent(event: string, payload: unknown): unknown {
  if (!Object.hasOwn(events, event)) {
    console.warn(`event '${event}' is not in the contract; ignored`)
    return INVALID
  }
  if (event === 'pool.diff') {
    const diff = parsePoolDiff(payload)
    if (typeof diff === 'string') {
      console.warn(`event 'pool.diff' ignored: ${diff}`)
      return INVALID
    }
    return diff
  }
  const schema = events[event as EventName]
  const r = schema.safeParse(payload)
  if (!r.success) {
    console.warn(`event '${event}' has an invalid payload; ignored: ${r.error.message}`)
    return INVALID
  }
  return r.data
}

export { ContractError }
