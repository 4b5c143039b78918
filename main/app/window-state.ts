/**
 * The main window's size and position, remembered in `<userData>/window-state.json` through the one
 * small-file store (main/storage/small-file.ts; a damaged file is set aside). Restored only where it
 * is still visible (a monitor may have gone), otherwise centred at the default size.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { SmallFile } from '../storage/small-file'

export const WindowState = z.object({
  x: z.number().int(),
  y: z.number().int(),
  width: z.number().int().min(200).max(100_000),
  height: z.number().int().min(150).max(100_000),
  maximized: z.boolean(),
})
export type WindowState = z.infer<typeof WindowState>

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

export const DEFAULT_SIZE = { width: 1280, height: 800 }

export function windowStateFile(userData: string): string {
  return join(userData, 'window-state.json')
}

const WindowStateFile = WindowState.extend({ version: z.literal(1) })
type WindowStateFile = z.infer<typeof WindowStateFile>

function store(file: string): SmallFile<WindowStateFile | undefined> {
  return new SmallFile<WindowStateFile | undefined>({
    file,
    what: 'the window position',
    version: 1,
    schema: WindowStateFile,
    empty: () => undefined,
    // version 0: the same fields without a version
    migrate: (_from, doc) => ({ ...doc, version: 1 }),
  })
}

/** the saved state, or undefined (none, or damaged: then the file is set aside) */
export function loadWindowState(file: string, log: (line: string) => void = () => undefined): WindowState | undefined {
  const r = store(file).read()
  if (r.problem) log(`window: ${r.problem.message}`)
  if (!r.value) return undefined
  const { version: _version, ...state } = r.value
  return state
}

/** resolves once it is on disk; rejects with a sentence (the old state is kept) */
export function saveWindowState(file: string, state: WindowState): Promise<void> {
  return store(file).write({ version: 1, ...state })
}

/**
 * Where to open the window: the saved bounds when at least a 100×50 piece of its title area lies
 * on some display's work area, else undefined (the caller centres a default-size window).
 */
export function restorableBounds(saved: WindowState | undefined, workAreas: Rect[]): Rect | undefined {
  if (!saved) return undefined
  const title: Rect = { x: saved.x, y: saved.y, width: saved.width, height: Math.min(50, saved.height) }
  const visible = workAreas.some((a) => overlap(title, a).width >= Math.min(100, saved.width) && overlap(title, a).height >= Math.min(30, title.height))
  if (!visible) return undefined
  return { x: saved.x, y: saved.y, width: saved.width, height: saved.height }
}

function overlap(a: Rect, b: Rect): { width: number; height: number } {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y)
  return { width: Math.max(0, width), height: Math.max(0, height) }
}
