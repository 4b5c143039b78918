/**
 * The user's preferences (tree mode, toggles, theme, pane sizes, per-console scale and keyboard
 * layout) in `<dataDir>/settings.json`. Main is their one owner, so Electron's native menu, every
 * window and the next start agree; the renderer keeps a mirror (renderer/src/stores/settings.ts).
 *
 * Kept through the one small-file store (main/storage/small-file.ts): `{ version: 1, settings }`
 * (a file of version 0, the bare settings object, is read too). Inside, read field by field: a
 * damaged or out-of-range value falls back to its default (and says so in the log) without losing
 * the others; unknown keys from newer versions are dropped. `update` changes the settings only after
 * the disk took them; a refused write rejects with a sentence naming the file and the reason.
 */
import { join } from 'node:path'
import { DEFAULT_UI_SETTINGS, MAX_CONSOLE_PREFS, UiSettings, type ConsolePrefs, type SettingsPatch } from '../../shared/contract'
import { SmallFile, type SmallFileProblem } from '../storage/small-file'
import { z } from 'zod'

export interface SettingsStore {
  get(): UiSettings
  /** resolves with the new settings once they are saved; rejects (a sentence) with nothing changed */
  update(patch: SettingsPatch): Promise<UiSettings>
  /** what reading settings.json found wrong, if anything */
  readonly problem?: SmallFileProblem | undefined
}

/** stored settings as they are read: an object of whatever shape; each known field is checked on its own */
const SettingsFile = z.object({ version: z.literal(1), settings: z.record(z.string(), z.unknown()) })
type SettingsFile = z.infer<typeof SettingsFile>

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
  const file = new SmallFile<SettingsFile>({
    file: join(dataDir, 'settings.json'),
    what: 'the settings',
    version: 1,
    schema: SettingsFile,
    empty: () => ({ version: 1, settings: {} }),
    // version 0: the settings object itself
    migrate: (from, doc) => (from === 0 ? { version: 1, settings: doc } : doc),
  })
  const read = file.read()
  if (read.problem) log(`settings: ${read.problem.message}`)
  const r = settingsFromStored(read.value.settings)
  let current: UiSettings = r.settings
  if (r.problems.length) log(`settings: ${file.file} has invalid ${r.problems.join(', ')}; using the defaults for those`)
  let queue: Promise<unknown> = Promise.resolve()
  return {
    problem: read.problem,
    get: () => structuredClone(current),
    update(patch) {
      const run = async (): Promise<UiSettings> => {
        const next = applySettingsPatch(current, patch)
        // memory changes only once the file took it
        await file.write({ version: 1, settings: next })
        current = next
        return structuredClone(current)
      }
      const p = queue.then(run, run)
      queue = p.catch(() => undefined)
      return p
    },
  }
}

/** A store that never touches disk (tests, or a read-only data dir). */
export function memorySettingsStore(initial: Partial<UiSettings> = {}): SettingsStore {
  let current: UiSettings = settingsFromStored(initial).settings
  return {
    get: () => structuredClone(current),
    async update(patch) {
      current = applySettingsPatch(current, patch)
      return structuredClone(current)
    },
  }
}
