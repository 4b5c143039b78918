/**
 * Issue 12 item 2, end to end: a hostile pool sends values nested 12,000 levels deep (simulator
 * fault `deep-value`) — tiny-legacy in its XML-RPC VM.get_all_records from the start, tiny-current
 * in its JSON-RPC event.from once it has connected and been cached. Both passwords are remembered
 * (passphrase keychain), so every start connects on its own. XenPilot is started three times
 * against them: each time it stays up, the user reaches the window, the tree shows both pools with
 * a sentence naming what was wrong, tiny-current's cached inventory is still there, no pool asks
 * again in a loop, and no start is taken for an interrupted one (automatic connection not paused).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConnectionState } from '../../shared/contract'
import { startSimulator } from '../sim'
import { buildFleet } from '../sim/fleet'
import type { SimControl, SimPoolHandle } from '../sim/model'
import { startApp, type AppHarness } from './harness'

const ENV = { XENPILOT_PASSPHRASE: 'hostile pool spec passphrase' }
/** fast ordinary retries: only the refusal rule can keep a pool from asking again within a test */
const POOL_OPTIONS = { reconnect: { initialMs: 200, maxMs: 1000, factor: 2, jitter: 0.1 } }
const DEEP = /sent a value nested more than 256 levels deep in its (VM\.get_all_records|event\.from) answer/

const servers = (page: Page) => page.getByRole('tree', { name: 'Servers' })
const poolRow = (page: Page, name: string) => servers(page).getByRole('treeitem').filter({ hasText: name }).first()

function firstVm(pool: SimPoolHandle): { ref: string; name: string } {
  for (const [ref, r] of pool.objects.get('VM') ?? []) if (r.is_a_template === false && r.is_control_domain === false && r.is_a_snapshot !== true) return { ref, name: String(r.name_label) }
  throw new Error(`no VM in ${pool.name}`)
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe('three restarts against a pool that sends values nested 12,000 levels deep', { timeout: 300_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-e2e-hostile-'))
  let sim: SimControl
  let legacy: SimPoolHandle
  let current: SimPoolHandle
  let vm = { ref: '', name: '' }
  const runs: AppHarness[] = []

  beforeAll(async () => {
    sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.144', opDurationMs: 0 }) })
    legacy = sim.pool('tiny-legacy')
    current = sim.pool('tiny-current')
    vm = firstVm(current)
    // tiny-legacy is hostile from the start: its records never load
    legacy.injectFault({ kind: 'deep-value', levels: 12_000, method: 'VM.get_all_records' })
  }, 120_000)

  afterAll(async () => {
    for (const h of runs.reverse()) await h.close()
    await sim?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('first run: both servers added with remembered passwords; the one that never loaded fails in words, the other turns hostile in its event stream and waits', async () => {
    const h = await startApp({ sim, dataDir, trustPools: true, env: ENV, page: false, poolOptions: POOL_OPTIONS })
    runs.push(h)
    const byName = async (): Promise<Map<string, ConnectionState>> => new Map((await h.api.call('connections.list', {})).map((c) => [c.label, c]))
    await until('tiny-current connected, tiny-legacy failed', async () => {
      const m = await byName()
      return m.get('tiny-current')?.status === 'connected' && m.get('tiny-legacy')?.status === 'failed'
    })
    expect((await byName()).get('tiny-legacy')?.detail).toMatch(/in its VM\.get_all_records answer; refused .* XenPilot does not fetch it again on its own; Connect tries once more\.$/)
    // tiny-current turns hostile: a VM changes and its event carries the deep value
    current.injectFault({ kind: 'deep-value', levels: 12_000, method: 'event.from' })
    await current.call('VM.add_to_other_config', [vm.ref, 'hostile', 'from now on'])
    await until('tiny-current refused and waiting', async () => {
      const c = (await byName()).get('tiny-current')
      return c?.status === 'reconnecting' && DEEP.test(c.detail ?? '')
    })
    const listed = await h.api.call('connections.list', {})
    expect(listed.every((c) => c.rememberPassword && c.hasPassword)).toBe(true)
    // the runtime's close flushes the cache
    await h.close()
    runs.pop()
  })

  for (const run of [1, 2, 3]) {
    it(`restart ${run}: the window opens, both pools say what was wrong, the cached inventory is there, nothing asks again in a loop`, async () => {
      const h = await startApp({ sim, dataDir, env: ENV, poolOptions: POOL_OPTIONS, viewport: { width: 1024, height: 700 } })
      runs.push(h)
      try {
        await checkRun(h, run)
      } finally {
        await h.close()
        runs.pop()
      }
    })
  }

  async function checkRun(h: AppHarness, run: number): Promise<void> {
    const { page } = h
    await servers(page).waitFor({ timeout: 60_000 })
    // connecting on its own with the remembered passwords, each pool ends in a sentence
    // the tree is virtualised: with tiny-current expanded, tiny-legacy can be below the fold at 700 px — found by search, as a user would
    const search = page.getByRole('searchbox', { name: 'Search' })
    await search.fill('tiny-legacy')
    await expect.poll(() => poolRow(page, 'tiny-legacy').textContent(), { timeout: 60_000 }).toMatch(/sent a value nested more than 256 levels deep in its VM\.get_all_records answer/)
    await search.fill('tiny-current')
    await expect.poll(() => poolRow(page, 'tiny-current').textContent(), { timeout: 60_000 }).toMatch(/sent a value nested more than 256 levels deep in its event\.from answer/)
    const states = await h.api.call('connections.list', {})
    const legacyState = states.find((c) => c.label === 'tiny-legacy')
    const currentState = states.find((c) => c.label === 'tiny-current')
    expect(legacyState?.status).toBe('failed')
    expect(currentState?.status).toBe('reconnecting')
    expect(currentState?.detail).toMatch(/tries again in 1 min/)
    // the cached inventory of the pool that connected before is still browsable
    await page.getByRole('searchbox', { name: 'Search' }).fill(vm.name)
    await servers(page).getByRole('treeitem', { name: vm.name, exact: true }).first().waitFor({ timeout: 30_000 })
    await page.getByRole('searchbox', { name: 'Search' }).fill('')
    // no loop: with retries of 0.2–1 s, neither pool says it again within 3 s
    const said = (): number => h.api.events.filter((e) => e.event === 'connection.state' && DEEP.test((e.payload as ConnectionState).detail ?? '')).length
    const before = said()
    await new Promise((r) => setTimeout(r, 3000))
    expect(said()).toBe(before)
    // the previous run finished its start: automatic connection is not paused
    const notices = (await h.api.call('app.info', {})).notices ?? []
    expect(notices.filter((n) => n.kind === 'startup')).toEqual([])
    if (run === 1) {
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme })
        await page.screenshot({ path: join(tmpdir(), `xenpilot-hostile-pool-${scheme}.png`) })
      }
    }
    expect(h.pageErrors.filter((e) => !/WebSocket|net::/.test(e))).toEqual([])
  }
})
