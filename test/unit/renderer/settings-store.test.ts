/**
 * The renderer's settings store is a mirror of main's (issue 18): it starts from main, shows a
 * change at once, sends a burst once, and is not reverted by main's echo of an older state.
 */
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_UI_SETTINGS, type EventName, type SettingsPatch, type UiSettings } from '../../../shared/contract'
import { applySettingsPatch } from '../../../main/services/settings'
import { useSettingsStore } from '../../../renderer/src/stores/settings'

describe('the renderer settings store mirrors main', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    vi.useFakeTimers()
  })
  afterEach(() => vi.useRealTimers())

  function fakeMain() {
    let stored: UiSettings = { ...DEFAULT_UI_SETTINGS, treeWidth: 300 }
    const listeners = new Map<string, (p: unknown) => void>()
    const updates: SettingsPatch[] = []
    const api = {
      call: async (method: string, args: unknown): Promise<never> => {
        if (method === 'settings.get') return structuredClone(stored) as never
        if (method === 'settings.update') {
          updates.push(args as SettingsPatch)
          stored = applySettingsPatch(stored, args as SettingsPatch)
          return structuredClone(stored) as never
        }
        throw new Error(`unexpected ${method}`)
      },
      on: (event: EventName, cb: (p: never) => void) => {
        listeners.set(event, cb as (p: unknown) => void)
        return () => undefined
      },
    }
    return { api, updates, emit: (e: string, p: unknown) => listeners.get(e)?.(p), stored: () => stored }
  }

  it('starts from main, shows a change at once, sends a burst as one update', async () => {
    const main = fakeMain()
    const settings = useSettingsStore()
    await settings.attach(main.api)
    expect(settings.treeWidth).toBe(300)
    for (const w of [310, 320, 330, 340]) settings.treeWidth = w
    expect(settings.treeWidth).toBe(340)
    expect(main.updates).toEqual([])
    await vi.advanceTimersByTimeAsync(300)
    expect(main.updates).toEqual([{ treeWidth: 340 }])
    expect(main.stored().treeWidth).toBe(340)
  })

  it('an echo of an older state from main does not undo a change still on its way', async () => {
    const main = fakeMain()
    const settings = useSettingsStore()
    await settings.attach(main.api)
    settings.treeWidth = 500
    main.emit('settings.changed', { ...main.stored(), treeWidth: 300, theme: 'dark' })
    expect(settings.treeWidth).toBe(500)
    expect(settings.theme).toBe('dark')
    await vi.advanceTimersByTimeAsync(300)
    expect(settings.treeWidth).toBe(500)
    // another window changed it later: that wins
    main.emit('settings.changed', { ...main.stored(), treeWidth: 420 })
    expect(settings.treeWidth).toBe(420)
  })

  it('console prefs are per console and merged', async () => {
    const main = fakeMain()
    const settings = useSettingsStore()
    await settings.attach(main.api)
    settings.setConsolePrefs('k1', { scale: '1:1' })
    settings.setConsolePrefs('k1', { layout: 'fr' })
    expect(settings.consolePrefs('k1')).toEqual({ scale: '1:1', layout: 'fr' })
    expect(settings.consolePrefs('k2')).toEqual({})
    await vi.advanceTimersByTimeAsync(300)
    expect(main.stored().consoles['k1']).toEqual({ scale: '1:1', layout: 'fr' })
  })
})
