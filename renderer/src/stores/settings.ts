/**
 * The user's preferences as this window sees them: a mirror of main's (settings.get, kept current by
 * `settings.changed`). Main owns them — settings.json in the data dir — so the native menu, a
 * popped-out console and the next start agree; nothing is kept in localStorage.
 *
 * Writing a field (`settings.treeWidth = 360`, `v-model="settings.showTemplates"`) shows at once
 * and is sent to main; a burst (dragging a splitter) is sent as one update when it pauses. Until
 * main confirms, what this window changed wins over what main echoes.
 */
import { defineStore } from 'pinia'
import { computed, shallowRef, type WritableComputedRef } from 'vue'
import { DEFAULT_UI_SETTINGS, type ConsolePrefs, type SettingsPatch, type UiSettings } from '../../../shared/contract'
import type { RendererApi } from '../api'

export type ThemeChoice = UiSettings['theme']

/** a burst of changes (a splitter being dragged) goes to main once it pauses this long (ms) */
const SEND_AFTER_MS = 250
/** how long startup waits for main's settings before painting with the defaults (ms) */
const LOAD_TIMEOUT_MS = 2000

type Plain = Omit<UiSettings, 'consoles'>

export const useSettingsStore = defineStore('settings', () => {
  /** main's last word */
  const fromMain = shallowRef<UiSettings>(structuredClone(DEFAULT_UI_SETTINGS))
  /** this window's changes not yet confirmed by main: unsent, then in flight */
  let pending: SettingsPatch = {}
  let inFlight: SettingsPatch = {}
  let calls = 0
  const local = shallowRef<SettingsPatch>({})
  let api: Pick<RendererApi, 'call' | 'on'> | null = null
  let timer: ReturnType<typeof setTimeout> | null = null

  function overlay(base: UiSettings, patch: SettingsPatch): UiSettings {
    const { consoles, ...rest } = patch
    const out = { ...base, ...stripUndefined(rest) } as UiSettings
    if (consoles) {
      const merged = { ...base.consoles }
      for (const [k, v] of Object.entries(consoles)) {
        if (v === null) delete merged[k]
        else merged[k] = { ...merged[k], ...stripUndefined(v) }
      }
      out.consoles = merged
    }
    return out
  }
  const current = computed(() => overlay(fromMain.value, local.value))

  function merge(a: SettingsPatch, b: SettingsPatch): SettingsPatch {
    const out: SettingsPatch = { ...a, ...stripUndefined(b) }
    if (a.consoles || b.consoles) {
      const c: Record<string, ConsolePrefs | null> = { ...a.consoles }
      for (const [k, v] of Object.entries(b.consoles ?? {})) c[k] = v === null ? null : { ...(c[k] ?? {}), ...stripUndefined(v) }
      out.consoles = c
    }
    return out
  }

  /** change some preferences: shown now, sent to main (bursts coalesced) */
  function update(patch: SettingsPatch): void {
    pending = merge(pending, patch)
    local.value = merge(inFlight, pending)
    if (timer) clearTimeout(timer)
    timer = setTimeout(flush, SEND_AFTER_MS)
  }

  async function flush(): Promise<void> {
    timer = null
    if (!api || Object.keys(pending).length === 0) return
    const sending = pending
    pending = {}
    inFlight = merge(inFlight, sending)
    calls++
    try {
      fromMain.value = await api.call('settings.update', sending)
    } catch (err) {
      // main refused it (a value out of range): main's copy stands; say so in the console, the UI follows main
      console.warn(`settings not saved: ${err instanceof Error ? err.message : String(err)}`)
    } finally {
      if (--calls === 0) inFlight = {}
      local.value = merge(inFlight, pending)
    }
  }

  /** take main's settings and follow its changes; resolves once they are here (or after LOAD_TIMEOUT_MS with the defaults) */
  async function attach(a: Pick<RendererApi, 'call' | 'on'>): Promise<void> {
    api = a
    a.on('settings.changed', (s) => (fromMain.value = s))
    await load()
  }
  /** ask main again (after the link to it came back) */
  async function load(): Promise<void> {
    if (!api) return
    const call = api.call('settings.get', {})
    const timeout = new Promise<null>((ok) => setTimeout(() => ok(null), LOAD_TIMEOUT_MS))
    try {
      const s = await Promise.race([call, timeout])
      if (s) fromMain.value = s
    } catch (err) {
      console.warn(`could not read the settings: ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  function field<K extends keyof Plain>(key: K): WritableComputedRef<UiSettings[K]> {
    return computed({
      get: () => current.value[key],
      set: (v) => update({ [key]: v } as SettingsPatch),
    })
  }

  /** what a console remembers (scale, guest keyboard layout) */
  function consolePrefs(key: string): ConsolePrefs {
    return current.value.consoles[key] ?? {}
  }
  function setConsolePrefs(key: string, prefs: ConsolePrefs): void {
    update({ consoles: { [key]: prefs } })
  }

  return {
    theme: field('theme'),
    treeMode: field('treeMode'),
    showTemplates: field('showTemplates'),
    showSnapshots: field('showSnapshots'),
    showHidden: field('showHidden'),
    treeWidth: field('treeWidth'),
    activityHeight: field('activityHeight'),
    activityOpen: field('activityOpen'),
    perfHistoryMiB: field('perfHistoryMiB'),
    overviewColumns: field('overviewColumns'),
    current,
    update,
    flush,
    attach,
    load,
    consolePrefs,
    setConsolePrefs,
  }
})

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v
  return out
}
