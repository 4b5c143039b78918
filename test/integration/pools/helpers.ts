/** Shared helpers for the pool-connection integration tests (real HTTPS simulator). */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect } from 'vitest'
import type { ConnectionState } from '../../../shared/contract/connection'
import type { PoolDiff } from '../../../shared/model/diff'
import { NO_EVENT_CLASSES } from '../../../shared/xapi/datamodel.generated'
import { IGNORED_CLASSES } from '../../../main/pools/eventloop'
import { MemoryKeychain, type Keychain } from '../../../main/pools/keychain'
import { PoolManager, type PoolManagerOptions } from '../../../main/pools/manager'
import { buildFleet } from '../../sim/fleet'
import { startSimulator } from '../../sim/index'
import type { SimControl, SimPoolHandle } from '../../sim/model'

export async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const start = Date.now()
  for (;;) {
    const v = fn()
    if (v !== undefined && v !== false) return v
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export interface Harness {
  manager: PoolManager
  dataDir: string
  keychain: Keychain
  states: ConnectionState[]
  diffs: PoolDiff[]
  logs: string[]
  close(): Promise<void>
}

export function makeManager(opts: Partial<PoolManagerOptions> = {}, dataDir?: string): Harness {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'xp-pools-'))
  const keychain = opts.keychain ?? new MemoryKeychain()
  const logs: string[] = []
  const manager = new PoolManager({
    dataDir: dir,
    keychain,
    heartbeatMs: 500,
    batchMs: 50,
    eventTimeoutS: 2,
    failoverGiveUpMs: 60_000,
    reconnect: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.2 },
    callTimeoutMs: 20_000,
    log: (l) => logs.push(l),
    ...opts,
  })
  const states: ConnectionState[] = []
  const diffs: PoolDiff[] = []
  manager.onState((s) => states.push(s))
  manager.onDiff((d) => diffs.push(d))
  return {
    manager,
    dataDir: dir,
    keychain,
    states,
    diffs,
    logs,
    async close() {
      await manager.close()
      if (!dataDir) rmSync(dir, { recursive: true, force: true })
    },
  }
}

export function addressOf(url: string): string {
  return url.replace(/^https:\/\//, '')
}

/** adds the pool, confirms the master certificate the test knows, waits for connected */
export async function connectTrusted(h: Harness, pool: SimPoolHandle, extra: { forceXmlRpc?: boolean; rememberPassword?: boolean } = {}): Promise<string> {
  const st = await h.manager.add({ address: addressOf(pool.masterUrl), username: pool.username, password: pool.password, rememberPassword: extra.rememberPassword ?? false, ...(extra.forceXmlRpc ? { forceXmlRpc: true } : {}) })
  const waiting = await waitFor('awaiting-trust', () => {
    const s = h.manager.get(st.id)
    return s?.status === 'awaiting-trust' ? s : undefined
  })
  const master = pool.hosts[0]
  expect(waiting.certificate?.fingerprint256).toBe(master?.fingerprint256)
  await h.manager.trust(st.id, waiting.certificate?.fingerprint256 ?? '')
  await waitFor('connected', () => h.manager.get(st.id)?.status === 'connected')
  return st.id
}

/** every class the simulator keeps that a client sees through events */
export function comparableClasses(pool: SimPoolHandle): string[] {
  return [...pool.objects.keys()].filter((c) => !NO_EVENT_CLASSES.includes(c) && !IGNORED_CLASSES.has(c))
}

/** the client's graph equals the simulator's tables: same refs per class, same key fields */
export function expectGraphMatchesSim(h: Harness, id: string, pool: SimPoolHandle): void {
  const g = h.manager.graph(id)
  expect(g).toBeDefined()
  if (!g) return
  for (const cls of comparableClasses(pool)) {
    const simRefs = [...(pool.objects.get(cls)?.keys() ?? [])].sort()
    const ours = [...g.all(cls).keys()].sort()
    expect(ours, `refs of ${cls}`).toEqual(simRefs)
    for (const ref of simRefs) {
      const s = pool.objects.get(cls)?.get(ref)
      const o = g.get(cls, ref)
      if (s && 'uuid' in s) expect(o?.uuid, `${cls} ${ref} uuid`).toBe(s.uuid)
      if (s && 'name_label' in s) expect(o?.name_label, `${cls} ${ref} name_label`).toBe(s.name_label)
    }
  }
  // nothing in the graph that the simulator does not have (no ghost of a class it never had)
  for (const cls of g.classes()) {
    if (g.all(cls).size > 0) expect(pool.objects.get(cls)?.size ?? 0, `class ${cls} exists in the simulator`).toBe(g.all(cls).size)
  }
}

/** the diffs seen by a subscriber replayed from the last reset give the same graph as the manager's */
export function replayDiffs(diffs: PoolDiff[], id: string): Map<string, Map<string, unknown>> {
  const tables = new Map<string, Map<string, unknown>>()
  let lastSeq = 0
  for (const d of diffs) {
    if (d.connectionId !== id) continue
    expect(d.seq).toBeGreaterThan(lastSeq)
    lastSeq = d.seq
    if (d.reset) tables.clear()
    for (const u of d.upserts) {
      let t = tables.get(u.cls)
      if (!t) tables.set(u.cls, (t = new Map()))
      t.set(u.ref, u.record)
    }
    for (const r of d.removes) tables.get(r.cls)?.delete(r.ref)
  }
  return tables
}

export function expectReplayMatchesGraph(h: Harness, id: string): void {
  const replay = replayDiffs(h.diffs, id)
  const g = h.manager.graph(id)
  if (!g) throw new Error('no graph')
  for (const cls of new Set([...replay.keys(), ...g.classes()])) {
    expect([...(replay.get(cls)?.keys() ?? [])].sort(), `replayed ${cls}`).toEqual([...g.all(cls).keys()].sort())
  }
}

/** the tiny fleet's first pool (tiny-current), its simulator started before the file's tests and stopped after them */
export function tinyPoolForTests(): () => SimPoolHandle {
  let sim: SimControl | undefined
  let pool: SimPoolHandle | undefined
  beforeAll(async () => {
    sim = await startSimulator({ fleet: buildFleet('tiny', { opDurationMs: 0 }) })
    pool = sim.pools[0]
  })
  afterAll(async () => {
    await sim?.stop()
  })
  return () => {
    if (!pool) throw new Error('no pool')
    return pool
  }
}
