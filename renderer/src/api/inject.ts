/**
 * The api a window talks to main with, handed down by Vue's provide/inject: main.ts provides it
 * once per app (`provideApi`), every component and composable takes it with `useApi()` in its
 * setup (not in an event handler: inject only works while a component or app context is set up).
 */
import { inject, type App, type InjectionKey } from 'vue'
import type { RendererApi } from './index'

export const API_KEY: InjectionKey<RendererApi> = Symbol('xenpilot.api')

export function provideApi(app: App, api: RendererApi): void {
  app.provide(API_KEY, api)
}

export function useApi(): RendererApi {
  const api = inject(API_KEY, null)
  if (!api) throw new Error('useApi() outside a XenPilot app (or outside setup): provideApi(app, api) first')
  return api
}
