import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import type { UiSettings } from '../../../shared/contract'
import type { TreeMode } from '../model/tree/types'

export type ThemeChoice = 'system' | 'light' | 'dark'

export interface Settings {
  theme: ThemeChoice
  treeMode: TreeMode
  showTemplates: boolean
  showSnapshots: boolean
  showHidden: boolean
  /** width of the tree pane in px */
  treeWidth: number
}

export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  treeMode: 'infrastructure',
  showTemplates: false,
  showSnapshots: false,
  showHidden: false,
  treeWidth: 320,
}

const KEY = 'xenpilot.settings.v1'
const THEMES: readonly ThemeChoice[] = ['system', 'light', 'dark']
const MODES: readonly TreeMode[] = ['infrastructure', 'objects', 'tags', 'folders']

/** Whatever is in storage, field by field: a bad value falls back to the default, never breaks the app. */
export function parseSettings(text: string | null): Settings {
  const s: Settings = { ...DEFAULT_SETTINGS }
  if (!text) return s
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return s
  }
  if (typeof raw !== 'object' || raw === null) return s
  const r = raw as Record<string, unknown>
  if (THEMES.includes(r.theme as ThemeChoice)) s.theme = r.theme as ThemeChoice
  if (MODES.includes(r.treeMode as TreeMode)) s.treeMode = r.treeMode as TreeMode
  if (typeof r.showTemplates === 'boolean') s.showTemplates = r.showTemplates
  if (typeof r.showSnapshots === 'boolean') s.showSnapshots = r.showSnapshots
  if (typeof r.showHidden === 'boolean') s.showHidden = r.showHidden
  if (typeof r.treeWidth === 'number' && r.treeWidth >= 200 && r.treeWidth <= 900) s.treeWidth = Math.round(r.treeWidth)
  return s
}

interface KeyValueStore {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
}

// localStorage through globalThis: this module is also loaded by unit tests in plain Node
function storage(): KeyValueStore | null {
  try {
    const s: unknown = Reflect.get(globalThis, 'localStorage')
    return typeof s === 'object' && s !== null && 'getItem' in s && 'setItem' in s ? (s as KeyValueStore) : null
  } catch {
    return null
  }
}

export const useSettingsStore = defineStore('settings', () => {
  const initial = parseSettings(storage()?.getItem(KEY) ?? null)
  const theme = ref<ThemeChoice>(initial.theme)
  const treeMode = ref<TreeMode>(initial.treeMode)
  const showTemplates = ref(initial.showTemplates)
  const showSnapshots = ref(initial.showSnapshots)
  const showHidden = ref(initial.showHidden)
  const treeWidth = ref(initial.treeWidth)

  watch([theme, treeMode, showTemplates, showSnapshots, showHidden, treeWidth], () => {
    const value: Settings = {
      theme: theme.value,
      treeMode: treeMode.value,
      showTemplates: showTemplates.value,
      showSnapshots: showSnapshots.value,
      showHidden: showHidden.value,
      treeWidth: treeWidth.value,
    }
    storage()?.setItem(KEY, JSON.stringify(value))
  })

  /** the part main keeps (settings.get / settings.update / settings.changed) */
  function shared(): UiSettings {
    return { theme: theme.value, treeMode: treeMode.value, showTemplates: showTemplates.value, showSnapshots: showSnapshots.value, showHidden: showHidden.value }
  }
  function applyFromMain(s: UiSettings): void {
    if (theme.value !== s.theme) theme.value = s.theme
    if (treeMode.value !== s.treeMode) treeMode.value = s.treeMode
    if (showTemplates.value !== s.showTemplates) showTemplates.value = s.showTemplates
    if (showSnapshots.value !== s.showSnapshots) showSnapshots.value = s.showSnapshots
    if (showHidden.value !== s.showHidden) showHidden.value = s.showHidden
  }

  return { theme, treeMode, showTemplates, showSnapshots, showHidden, treeWidth, shared, applyFromMain }
})
