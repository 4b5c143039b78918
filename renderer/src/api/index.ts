/**
 * One `XenPilotApi` per door, chosen at startup: Electron's preload bridge when present, otherwise
 * the browser-mode WebSocket with the per-run token from the page URL.
 */
import type { XenPilotApi } from '../../../shared/contract'
import { ElectronApi, findPreloadBridge } from './electron'
import { WebSocketApi, type LinkState } from './websocket'

export interface RendererApi extends XenPilotApi {
  /** the link to main: always 'open' in Electron */
  onLink?(cb: (s: LinkState) => void): () => void
}

export function createApi(): RendererApi {
  const bridge = findPreloadBridge()
  if (bridge) return new ElectronApi(bridge)
  const token = new URLSearchParams(window.location.search).get('token') ?? ''
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
  return new WebSocketApi(`${scheme}//${window.location.host}/api?token=${encodeURIComponent(token)}`)
}

export { ApiError, argsProblem, errorMessage } from './errors'
export { provideApi, useApi } from './inject'
export type { LinkState } from './websocket'
