/**
 * Screenshots of the demo fleet at the sizes issue 15 asks to look at (1024×700, 1400×900,
 * 1920×1080, light and dark): `npx tsx test/e2e/shots.ts [OUTDIR] [select-name[,ctrl-click-name…]]`.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { buildFleet } from '../sim/fleet'
import { startApp } from './harness'

const out = process.argv[2] ?? '/tmp/xenpilot-shots'
const pick = process.argv[3] ?? ''
mkdirSync(out, { recursive: true })
const h = await startApp({ fleet: buildFleet('demo', { addressBase: '127.69', opDurationMs: 0 }), trustPools: true })
try {
  const { page, context } = h
  if (!context) throw new Error('no browser context')
  await page.getByRole('tree', { name: 'Servers' }).getByRole('treeitem').first().waitFor({ timeout: 120_000 })
  await page.waitForTimeout(4000)
  // 'a,b,c': a is clicked, the others Ctrl-clicked (a multi-selection)
  for (const [i, name] of pick.split(',').filter(Boolean).entries()) {
    await page.getByRole('searchbox', { name: 'Search' }).fill(name)
    await page.getByRole('tree', { name: 'Servers' }).getByRole('treeitem', { name, exact: true }).first().click(i ? { modifiers: ['Control'] } : {})
    await page.getByRole('searchbox', { name: 'Search' }).press('Escape')
  }
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    for (const [w, ht] of [[1024, 700], [1400, 900], [1920, 1080]] as const) {
      await page.setViewportSize({ width: w, height: ht })
      await page.waitForTimeout(400)
      const file = join(out, `${w}x${ht}-${scheme}.png`)
      await page.screenshot({ path: file })
      console.log(file)
    }
  }
} finally {
  await h.close()
}
