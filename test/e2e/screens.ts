/**
 * The screenshots every e2e spec takes of what it adds (the brief: 1024×700 and 1920×1080, light and
 * dark), to look at with an image viewer: <dir>/<name>-<w>x<h>-<scheme>.png (dir: /tmp). `before`
 * runs after each size and scheme is set, before the picture (to open again what a resize closes).
 * Afterwards the page is back at `restore` in the light scheme.
 */
import type { Page } from 'playwright-core'

export async function screens(page: Page, name: string, restore: { width: number; height: number }, opts: { dir?: string; before?: () => Promise<void> } = {}): Promise<string[]> {
  const files: string[] = []
  for (const [width, height] of [
    [1024, 700],
    [1920, 1080],
  ] as const) {
    await page.setViewportSize({ width, height })
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      await opts.before?.()
      const path = `${opts.dir ?? '/tmp'}/${name}-${width}x${height}-${scheme}.png`
      await page.screenshot({ path })
      files.push(path)
    }
  }
  await page.setViewportSize(restore)
  await page.emulateMedia({ colorScheme: 'light' })
  return files
}
