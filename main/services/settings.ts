/**
 * The user's preferences (tree mode, toggles, theme, pane sizes, per-console scale and keyboard
 * layout) in `<dataDir>/settings.json`. Main is their one owner, so Electron's native menu, every
 * window and the next start agree; the renderer keeps a mirror (renderer/src/stores/settings.ts).
 *
 * Read field by field: a damaged or out-of-range value falls back to its default (and says so in
 * the log) without losing the others; unknown keys from newer versions are dropped.
 */
import { join } from 'node:path'
import { DEFAULT_UI_SETTINGS, MAX_CONSOLE_PREFS, UiSettings, type ConsolePrefs, type SettingsPatch } from '../../shared/contract'
import { readJsonFile, writeJsonFile } from './json-file'
import { z } from 'zod'

export interface SettingsStore {
  get(): UiSettings
  update(patch: SettingsPatch): UiSettings
}

/** stored settings as they are read: any object; each known field is checked on its own */
const StoredSettings = z.record(z.string(), z.unknown())

/** the stored object's valid fields over the defaults; `problems` names the fields that were not valid */
export function settingsFromStored(raw: Record<string, unknown>): { settings: UiSettings; problems: string[] } {
  const out: Record<string, unknown> = { ...DEFAULT_UI_SETTINGS }
  const problems: string[] = []
  const shape = UiSettings.shape
  for (const key of Object.keys(shape) as (keyof typeof shape)[]) {
    if (!(key in raw)) continue
    if (key === 'consoles') {
      // one bad console entry does not cost the others
      const consoles: Record<string, ConsolePrefs> = {}
      const v = raw[key]
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        for (const [k, prefs] of Object.entries(v)) {
          const one = shape.consoles.safeParse({ [k]: prefs })
          if (one.success) Object.assign(consoles, one.data)
          else problems.push(`consoles.${k}`)
        }
      } else problems.push(key)
      out.consoles = trimConsoles(consoles)
      continue
    }
    const r = shape[key].safeParse(raw[key])
    if (r.success) out[key] = r.data
    else problems.push(key)
  }
  return { settings: UiSettings.parse(out), problems }
}

function trimConsoles(c: Record<string, ConsolePrefs>): Record<string, ConsolePrefs> {
  const keys = Object.keys(c)
  if (keys.length <= MAX_CONSOLE_PREFS) return c
  const out: Record<string, ConsolePrefs> = {}
  for (const k of keys.slice(keys.length - MAX_CONSOLE_PREFS)) out[k] = c[k] ?? {}
  return out
}

/** `patch` applied to `current` (see SettingsPatch): a new object, validated */
export function applySettingsPatch(current: UiSettings, patch: SettingsPatch): UiSettings {
  const { consoles, ...rest } = patch
  const next: Record<string, unknown> = { ...current }
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) next[k] = v
  if (consoles) {
    const merged: Record<string, ConsolePrefs> = { ...current.consoles }
    for (const [key, prefs] of Object.entries(consoles)) {
      const before = merged[key]
      // the most recently changed console goes last: trimming drops the least recent
      delete merged[key]
      if (prefs === null) continue
      const one: ConsolePrefs = { ...before }
      for (const [f, v] of Object.entries(prefs)) if (v !== undefined) (one as Record<string, unknown>)[f] = v
      merged[key] = one
    }
    next.consoles = trimConsoles(merged)
  }
  return UiSettings.parse(next)
}

export function openSettingsStore(dataDir: string, log: (line: string) => void = () => {}): SettingsStore {
  const file = join(dataDir, 'settings.json')
  const read = readJsonFile(file, StoredSettings)
  let current: UiSettings = { ...DEFAULT_UI_SETTINGS }
  if (read.ok) {
    const r = settingsFromStored(read.value)
    current = r.settings
    if (r.problems.length) log(`settings: ${file} has invalid ${r.problems.join(', ')}; using the defaults for those`)
  } else if (!read.missing) log(`settings: ${read.problem}; using defaults`)
  return {
    get: () => structuredClone(current),
    update(patch) {
      const next = applySettingsPatch(current, patch)
      // memory changes only once the file took it
      writeJsonFile(file, next)
      current = next
      return structuredClone(current)
    },
  }
}

/** A store that never touches disk (tests, or a read-only data dir). */
export function memorySettingsStore(initial: Partial<UiSettings> = {}): SettingsStore {
  let current: UiSettings = settingsFromStored(initial).settings
  return {
    get: () => structuredClone(current),
    update(patch) {
      current = applySettingsPatch(current, patch)
      return structuredClone(current)
    },
  }
}
