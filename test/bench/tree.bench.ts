/**
 * Tree benchmarks in Debian's Chromium, browser mode + simulator (`npm run bench tree`):
 *   tree.connect_to_rendered_bench10k  click Connect on the bench-10k pool → every VM in the
 *                                      renderer's stores and the tree painted
 *   tree.filter_keystroke_20k          one keystroke in the search box → filtered tree painted,
 *                                      20,000 VMs in 50 pools (many-pools fleet); goal ≤ 50 ms
 *   tree.renderer_heap_bench10k        renderer JS heap with bench-10k loaded
 * Prints one `BENCH {...}` line per figure.
 */
import type { Page } from 'playwright-core'
import { startTreeEnv, type TreeEnv } from '../e2e/tree-env'
import type { SimControl } from '../sim/model'
import { KEYSTROKE_SCRIPT, stats } from './keystrokes'

interface BenchLine {
  name: string
  value: number
  unit: string
  baseline: number | null
  ratio: number | null
  [k: string]: unknown
}
function report(line: BenchLine): void {
  console.log(`BENCH ${JSON.stringify(line)}`)
}

function plainVmCount(sim: SimControl): number {
  let n = 0
  for (const p of sim.pools) for (const r of p.objects.get('VM')?.values() ?? []) if (r.is_a_template !== true && r.is_a_snapshot !== true && r.is_control_domain !== true) n++
  return n
}

async function waitForVmCount(page: Page, expected: number, timeoutMs: number): Promise<void> {
  // (a locator, not waitForFunction: the page's CSP forbids eval, as it should)
  await page.locator('[data-testid="overview-vms"]', { hasText: new RegExp(`^${expected}$`) }).waitFor({ timeout: timeoutMs })
  // and one painted frame after it
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))')
}

async function connectBench(): Promise<void> {
  const env: TreeEnv = await startTreeEnv({ fleet: 'bench-10k' })
  try {
    const { page, sim } = env
    const pool = sim.pools[0]
    if (!pool) throw new Error('bench-10k has no pool')
    const expected = plainVmCount(sim)
    // the user's path: Add Server → Trust; the clock starts when Trust is clicked
    await page.getByRole('button', { name: 'Add Server…' }).first().click()
    const dialog = page.getByRole('dialog', { name: 'Add Server' })
    await dialog.getByLabel('Server').fill(new URL(pool.masterUrl).host)
    await dialog.getByLabel('User name').fill(pool.username)
    await dialog.getByLabel('Password', { exact: true }).fill(pool.password)
    await dialog.getByRole('button', { name: 'Connect' }).click()
    const trust = page.getByRole('dialog', { name: 'Trust this server certificate?' }).getByRole('button', { name: 'Trust' })
    await trust.waitFor({ timeout: 60_000 })
    const t0 = Date.now()
    await trust.click()
    await waitForVmCount(page, expected, 300_000)
    const ms = Date.now() - t0
    report({ name: 'tree.connect_to_rendered_bench10k', value: ms, unit: 'ms', baseline: null, ratio: null, vms: expected })
    const heap = (await page.evaluate('(() => { const m = performance.memory; return m ? m.usedJSHeapSize : -1 })()')) as number
    if (heap > 0) report({ name: 'tree.renderer_heap_bench10k', value: Math.round(heap / 1048576), unit: 'MiB', baseline: null, ratio: null })
    // a 10k-VM tree: filter keystrokes too (one pool, all hosts expanded)
    const r = (await page.evaluate(KEYSTROKE_SCRIPT('bench-vm-0042'))) as { times: number[]; counts: number[] }
    const s = stats(r.times)
    report({ name: 'tree.filter_keystroke_bench10k', value: Math.round(s.median * 10) / 10, unit: 'ms', baseline: 50, ratio: Math.round((s.median / 50) * 100) / 100, max: Math.round(s.max * 10) / 10 })
  } finally {
    await env.close()
  }
}

async function filterBench(): Promise<void> {
  const env: TreeEnv = await startTreeEnv({ fleet: 'many-pools', seed: true })
  try {
    const { page, sim } = env
    const expected = plainVmCount(sim)
    await waitForVmCount(page, expected, 600_000)
    const rows = (await page.evaluate(`document.querySelector('.tree-canvas').getBoundingClientRect().height / 22`)) as number
    // type a VM-name-like query one character at a time, then an IP-like one
    const names = (await page.evaluate(KEYSTROKE_SCRIPT('amsterdam-1-vm-12'))) as { times: number[]; counts: number[] }
    const ips = (await page.evaluate(KEYSTROKE_SCRIPT('10.117.0.4'))) as { times: number[]; counts: number[] }
    const all = [...names.times, ...ips.times]
    const s = stats(all)
    report({
      name: 'tree.filter_keystroke_20k',
      value: Math.round(s.median * 10) / 10,
      unit: 'ms',
      baseline: 50,
      ratio: Math.round((s.median / 50) * 100) / 100,
      max: Math.round(s.max * 10) / 10,
      vms: expected,
      treeRows: Math.round(rows),
      keystrokes: all.length,
    })
  } finally {
    await env.close()
  }
}

async function main(): Promise<void> {
  const which = process.env.TREE_BENCH ?? 'all'
  if (which === 'all' || which === 'connect') await connectBench()
  if (which === 'all' || which === 'filter') await filterBench()
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
