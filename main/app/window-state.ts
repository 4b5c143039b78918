/**
 * The main window's size and position, remembered in `<userData>/window-state.json`. Restored
 * only where it is still visible (a monitor may have gone), otherwise centred at the default size.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { readJsonFile, writeJsonFile } from '../services/json-file'

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

export function loadWindowState(file: string): WindowState | undefined {
  const r = readJsonFile(file, WindowState)
  return r.ok ? r.value : undefined
}

export function saveWindowState(file: string, state: WindowState): void {
  writeJsonFile(file, state)
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
