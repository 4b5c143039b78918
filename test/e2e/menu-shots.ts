/**
 * Screenshots of the command menus and the multi-selection (issue 18's one menu and one details
 * header) at 1024×700 and 1920×1080, light and dark, to look at: `npx tsx test/e2e/menu-shots.ts [OUTDIR]`
 * (default /tmp/xenpilot-menu-shots): the tree's context menu on a VM, the toolbar's More ▾, and
 * the details pane of three selected objects (its "3 objects selected" header).
 */
import { mkdirSync } from 'node:fs'
import { buildFleet } from '../sim/fleet'
import { detailsPane, selectInTree, serversTree, startApp } from './harness'
import { screens } from './screens'

const dir = process.argv[2] ?? '/tmp/xenpilot-menu-shots'
mkdirSync(dir, { recursive: true })
const LONG = 60_000
const VIEW = { width: 1280, height: 800 }

const h = await startApp({ fleet: buildFleet('tiny', { addressBase: '127.72', opDurationMs: 0 }), trustPools: true })
try {
  const { page } = h
  await page.setViewportSize(VIEW)
  const item = (name: string) => serversTree(page).getByRole('treeitem', { name, exact: true }).first()
  await serversTree(page).getByRole('treeitem', { name: 'tiny-host-1', exact: true }).waitFor({ timeout: LONG })
  await selectInTree(page, 'web-01')

  // the tree's context menu on a VM (opened again at each size: a resize may close it)
  const contextMenu = page.getByRole('menu', { name: 'Actions' })
  const openContext = async (): Promise<void> => {
    await page.keyboard.press('Escape')
    await item('web-01').click({ button: 'right' })
    await contextMenu.waitFor({ timeout: LONG })
  }
  console.log(await screens(page, 'context-menu', VIEW, { dir, before: openContext }))
  await page.keyboard.press('Escape')

  // the toolbar's More ▾
  const moreMenu = page.getByRole('menu', { name: 'More commands' })
  const openMore = async (): Promise<void> => {
    if (!(await moreMenu.isVisible())) await page.getByRole('button', { name: 'More commands' }).click()
    await moreMenu.waitFor({ timeout: LONG })
  }
  console.log(await screens(page, 'more-menu', VIEW, { dir, before: openMore }))
  await page.keyboard.press('Escape')

  // three objects selected: the details pane's header and the multi-selection's body
  // (the tiny fleet's tree shows these VMs without a search: a search's Escape would not keep the selection)
  await item('web-01').click()
  for (const name of ['web-02', 'db-01']) await item(name).click({ modifiers: ['Control'] })
  await detailsPane(page).getByText('3 objects selected').waitFor({ timeout: LONG })
  console.log(await screens(page, 'multi-select', VIEW, { dir }))
  if (h.pageErrors.length > 0) console.log('page errors:', h.pageErrors)
} finally {
  await h.close()
}
