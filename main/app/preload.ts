/**
 * The preload (sandboxed, CommonJS): exposes exactly `window.xenpilot = { call, on }` and nothing
 * of Electron or Node. Calls go to main over one invoke channel; main answers an envelope
 * (main/app/ipc-door.ts) which becomes a resolved value or a rejected ContractError object.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { IPC_CALL, IPC_EVENT } from '../../shared/contract/channels'

type Listener = (payload: unknown) => void
const listeners = new Map<string, Set<Listener>>()

ipcRenderer.on(IPC_EVENT, (_e: IpcRendererEvent, event: unknown, payload: unknown) => {
  if (typeof event !== 'string') return
  const set = listeners.get(event)
  if (!set) return
  for (const cb of set) {
    try {
      cb(payload)
    } catch (err) {
      console.error(`XenPilot: a handler of '${event}' failed`, err)
    }
  }
})

function isEnvelope(v: unknown): v is { ok: true; result: unknown } | { ok: false; error: { code: string; message: string; params?: string[] } } {
  return typeof v === 'object' && v !== null && typeof (v as { ok?: unknown }).ok === 'boolean'
}

contextBridge.exposeInMainWorld('xenpilot', {
  async call(method: string, args: unknown): Promise<unknown> {
    if (typeof method !== 'string') throw { code: 'bad-message', message: 'call(method, args): method must be a string.' }
    const reply: unknown = await ipcRenderer.invoke(IPC_CALL, method, args)
    if (!isEnvelope(reply)) throw { code: 'internal', message: 'XenPilot’s main process sent an unexpected answer.' }
    if (reply.ok) return reply.result
    // A plain object crosses the context bridge intact; an Error would lose its code.
    throw reply.error
  },
  on(event: string, cb: Listener): () => void {
    if (typeof event !== 'string' || typeof cb !== 'function') throw { code: 'bad-message', message: 'on(event, callback) needs an event name and a function.' }
    let set = listeners.get(event)
    if (!set) listeners.set(event, (set = new Set()))
    set.add(cb)
    return () => {
      set.delete(cb)
    }
  },
})
