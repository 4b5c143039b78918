/**
 * The hosts' clocks (issue 19, the drift report's time skew): the simulator's host.get_servertime answers each host's
 * own clock — one host of the pool set 4 min 12 s ahead — for real clients (official XenAPI Python client over
 * XML-RPC, Xen Orchestra's xen-api over JSON-RPC) and for XenPilot's `drift.clocks` (runtime: PoolManager + services),
 * which says the skew from the master; an offline pool is refused with a sentence (skew cannot come from the cache).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Xapi } from 'xen-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryKeychain } from '../../../main/pools/keychain'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { startRuntime, type ConnectionSeed, type Runtime } from '../../../main/services/runtime'
import { clockSkews } from '../../../shared/drift/clocks'
import type { PoolClocks } from '../../../shared/contract/drift'
import { startSimulator } from '../../sim'
import { buildFleet } from '../../sim/fleet'
import type { SimControl, SimPoolHandle } from '../../sim/model'
import { runPython } from '../../helpers/python'
import { waitFor } from '../pools/helpers'

const SKEW_S = 252
let sim: SimControl
let current: SimPoolHandle
let tmp: string

beforeAll(async () => {
  sim = await startSimulator({ fleet: buildFleet('tiny', { addressBase: '127.98', opDurationMs: 0 }) })
  current = sim.pool('tiny-current')
  const second = current.hosts[1]
  if (!second) throw new Error('tiny-current has two hosts')
  current.setClockSkew(second.address, SKEW_S * 1000)
  tmp = await mkdtemp(join(tmpdir(), 'xenpilot-sim-clocks-'))
}, 60_000)
afterAll(async () => {
  await sim?.stop()
  if (tmp) await rm(tmp, { recursive: true, force: true })
})

describe('host.get_servertime, real clients', () => {
  it('official XenAPI Python client: each host its own clock (one 252 s ahead) as an XML-RPC dateTime; a bad ref is HANDLE_INVALID', async () => {
    const master = current.hosts[0]
    if (!master) throw new Error('no master')
    const cafile = join(tmp, 'master.pem')
    await writeFile(cafile, master.certPem)
    const script = fileURLToPath(new URL('./xenapi_clocks.py', import.meta.url))
    const out = JSON.parse(await runPython(script, [current.masterUrl, cafile, current.username, current.password])) as { offsets: Record<string, number>; types: string[]; bad_ref: string[] } & Record<string, unknown>
    expect(out.types).toEqual(['DateTime', 'DateTime'])
    expect(Math.abs(out.offsets['tiny-host-1'] ?? 99)).toBeLessThanOrEqual(1.5)
    expect(Math.abs((out.offsets['tiny-host-2'] ?? 0) - SKEW_S)).toBeLessThanOrEqual(1.5)
    expect(String(out['localtime_tiny-host-2'])).toMatch(/^\d{8}T\d\d:\d\d:\d\d/)
    expect(out.bad_ref).toEqual(['HANDLE_INVALID', 'host', 'OpaqueRef:nope'])
  }, 120_000)

  it("Xen Orchestra's xen-api (JSON-RPC): the skewed host's time is ahead of the master's by the skew", async () => {
    const x = new Xapi({ url: current.masterUrl, auth: { user: current.username, password: current.password }, allowUnauthorized: true, debounce: 50 })
    await x.connect()
    try {
      const [a, b] = [current.hosts[0]?.ref ?? '', current.hosts[1]?.ref ?? '']
      const parse = (v: unknown): number => {
        const m = /^(\d{4})(\d\d)(\d\d)T(\d\d):(\d\d):(\d\d)Z$/.exec(String(v))
        if (!m) throw new Error(`not a XAPI datetime: ${String(v)}`)
        return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
      }
      const ta = parse(await x.call('host.get_servertime', a))
      const tb = parse(await x.call('host.get_servertime', b))
      expect(Math.abs((tb - ta) / 1000 - SKEW_S)).toBeLessThanOrEqual(2)
      await expect(x.call('host.get_servertime', 'OpaqueRef:nope')).rejects.toMatchObject({ code: 'HANDLE_INVALID' })
    } finally {
      await x.disconnect()
    }
  }, 60_000)
})

describe('drift.clocks (XenPilot)', () => {
  let runtime: Runtime | undefined
  let dataDir = ''
  afterAll(async () => {
    await runtime?.close()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('reads every host of a connected pool and says the skewed one is 4 min 12 s ahead of the master; an offline pool is refused', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'xenpilot-clocks-'))
    const pools = [current, sim.pool('tiny-legacy')]
    const seed: ConnectionSeed = {
      pools: pools.map((pool) => ({
        address: new URL(pool.masterUrl).host,
        username: pool.username,
        password: pool.password,
        hosts: pool.hosts.map((h) => ({ host: new URL(h.url).hostname, port: Number(new URL(h.url).port), certPem: h.certPem })),
      })),
    }
    const rt = await startRuntime({ dataDir, mode: 'browser', keychain: new MemoryKeychain(), keychainStatus: memoryKeychainStatus(), appVersion: '0.0.0-test', versions: {}, log: () => undefined, seed })
    runtime = rt
    const ids: string[] = []
    for (const pool of pools) {
      const address = new URL(pool.masterUrl).host
      ids.push(await waitFor(`${pool.name} connected`, () => rt.pools.list().find((c) => c.address === address && c.status === 'connected')?.id, 60_000))
    }
    const session = rt.services.openSession(() => undefined)
    const clocks = (await session.call('drift.clocks', { connectionId: ids[0] })) as PoolClocks
    expect(clocks.masterRef).toBe(current.hosts[0]?.ref)
    expect(clocks.hosts.map((h) => h.hostName).sort()).toEqual(['tiny-host-1', 'tiny-host-2'])
    const skews = clockSkews(clocks)
    expect(skews.skewed.map((h) => h.hostName)).toEqual(['tiny-host-2'])
    expect(Math.abs((skews.skewed[0]?.skewMs ?? 0) - SKEW_S * 1000)).toBeLessThanOrEqual(2000)
    expect(skews.summary).toMatch(/^tiny-host-2 is 4 min 1[123] s ahead of the master\.$/)

    await session.call('connections.disconnect', { id: ids[1] })
    await waitFor('tiny-legacy offline', () => rt.pools.get(ids[1] ?? '')?.status !== 'connected' || undefined, 30_000)
    await expect(session.call('drift.clocks', { connectionId: ids[1] })).rejects.toMatchObject({ code: 'offline', message: expect.stringMatching(/cannot be known from the cache/) })
    session.close()
  }, 120_000)
})
