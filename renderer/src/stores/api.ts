import type { RendererApi } from '../api'

let current: RendererApi | null = null

/** Set once at startup (main.ts) or by a test. */
export function setApi(api: RendererApi): void {
  current = api
}

export function useApi(): RendererApi {
  if (!current) throw new Error('XenPilot API used before startup chose a door')
  return current
}
