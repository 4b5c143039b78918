/**
 * The view preferences (tree mode, toggles, theme) in `<dataDir>/settings.json`. One owner in main
 * so Electron's native menu and the renderer always agree; a damaged file falls back to defaults
 * (and says so in the log) instead of failing the start.
 */
import { join } from 'node:path'
import { DEFAULT_UI_SETTINGS, UiSettings } from '../../shared/contract'
import { readJsonFile, writeJsonFile } from './json-file'

export interface SettingsStore {
  get(): UiSettings
  update(patch: Partial<UiSettings>): UiSettings
}

/** Unknown keys from newer versions are dropped; missing keys take their defaults. */
const StoredSettings = UiSettings.partial()

export function openSettingsStore(dataDir: string, log: (line: string) => void = () => {}): SettingsStore {
  const file = join(dataDir, 'settings.json')
  const read = readJsonFile(file, StoredSettings)
  let current: UiSettings = { ...DEFAULT_UI_SETTINGS }
  if (read.ok) current = { ...current, ...stripUndefined(read.value) }
  else if (!read.missing) log(`settings: ${read.problem}; using defaults`)
  return {
    get: () => ({ ...current }),
    update(patch) {
      current = UiSettings.parse({ ...current, ...stripUndefined(patch) })
      writeJsonFile(file, current)
      return { ...current }
    },
  }
}

/** A store that never touches disk (tests, or a read-only data dir). */
export function memorySettingsStore(initial: Partial<UiSettings> = {}): SettingsStore {
  let current: UiSettings = { ...DEFAULT_UI_SETTINGS, ...stripUndefined(initial) }
  return {
    get: () => ({ ...current }),
    update(patch) {
      current = UiSettings.parse({ ...current, ...stripUndefined(patch) })
      return { ...current }
    },
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v
  return out
}
