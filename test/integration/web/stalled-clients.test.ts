/**
 * Issue 12 item 4: six browser-mode clients that stop reading a bench-10k stream must not take
 * main's memory with them. What the door holds for its clients is counted in bytes (their sockets'
 * unread bytes plus the live diffs queued for them) and bounded in total; the client holding most
 * is disconnected with the reason; a client that reads gets everything. (RSS figures: npm run bench
 * stalled-clients.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { PoolDiff } from '../../../shared/model/diff'
import { createServices, type Services } from '../../../main/services'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { HIGH_WATER_BYTES } from '../../../main/services/outbox'
import { memorySettingsStore } from '../../../main/services/settings'
import { startWebServer, type WebServer } from '../../../main/web/server'
import { graphOfBench10k, StubPools } from '../../helpers/bench10k-pools'
import { waitFor } from '../pools/helpers'

const LIMIT = 64 * 1024 * 1024
let pools: StubPools
let services: Services
let server: WebServer
let dir: string
const logs: string[] = []
/** called when the budget ends the n-th session the door opened (0: the reader, 1–6: the stalled clients, in the order they connected) */
let onBudgetDisconnect: (n: number, reason: string) => void = () => {}
let bigDiff: (seq: number) => PoolDiff

beforeAll(async () => {
  const upserts = graphOfBench10k()
  pools = new StubPools({ connectionId: 'bench', seq: 1, reset: true, upserts, removes: [] })
  const vms = upserts.filter((u) => u.cls === 'VM').slice(0, 300)
  // a live diff touching 300 VMs (≈0.3 MB of JSON), as a busy pool's batched events do
  bigDiff = (seq) => ({ connectionId: 'bench', seq, reset: false, upserts: vms.map((u) => ({ ...u, record: { ...u.record, name_description: `change ${seq}` } })), removes: [] })
  services = createServices({ pools, settings: memorySettingsStore(), keychain: memoryKeychainStatus(), app: { name: 'XenPilot', version: 'test', mode: 'browser', versions: {} } })
  dir = mkdtempSync(join(tmpdir(), 'xp-stalled-'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html>')
  // the door opens one session per client, in the order they connect (the test connects one at a
  // time): knowing which session the budget ends tells which client to let read again
  let opened = 0
  const door: Services = {
    ...services,
    openSession: (emit, o) => {
      const n = opened++
      const unread = o?.unread
      if (!unread) return services.openSession(emit, o)
      const sink = { backlog: () => unread.sink.backlog(), disconnect: (reason: string) => (unread.sink.disconnect(reason), onBudgetDisconnect(n, reason)) }
      return services.openSession(emit, { ...o, unread: { budget: unread.budget, sink } })
    },
  }
  server = await startWebServer({ services: door, staticDir: dir, maxUnreadBytes: LIMIT, log: (l) => logs.push(l) })
}, 120_000)

afterAll(async () => {
  await server?.close()
  await services?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

interface Client {
  ws: WebSocket
  socket: Socket
  closed: Promise<{ code: number; reason: string }>
}

async function connect(): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, { headers: { Origin: server.origin }, maxPayload: 1024 * 1024 * 1024 })
  let socket: Socket | undefined
  ws.once('upgrade', (res) => (socket = res.socket))
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)))
  if (!socket) throw new Error('no socket')
  return { ws, socket, closed }
}

describe('six clients that stop reading a bench-10k stream', () => {
  it('hold no more than the bound together; the ones holding most are disconnected with the reason; a reading client gets everything', async () => {
    const reader = await connect()
    let resetDone = false
    const liveSeqs: number[] = []
    reader.ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { t: string; event?: string; payload?: { reset?: boolean; more?: boolean; seq?: number } }
      if (msg.t !== 'event' || msg.event !== 'pool.diff') return
      if (msg.payload?.reset && msg.payload.more !== true) resetDone = true
      if (msg.payload?.reset === false) liveSeqs.push(msg.payload.seq ?? -1)
    })
    reader.ws.send(JSON.stringify({ t: 'call', id: 1, method: 'objects.subscribe', args: {} }))

    const stalled: Client[] = []
    // a stalled client reads again as soon as the budget has closed it (its close frame waits behind
    // what it had not read; ws drops a socket whose close is not answered within 30 s, and a client
    // that reads only after that sees 1006 without a reason)
    const closedBy = new Map<number, string>()
    onBudgetDisconnect = (n, reason) => {
      closedBy.set(n, reason)
      stalled[n - 1]?.ws.resume()
    }
    for (let i = 0; i < 6; i++) {
      const c = await connect()
      c.ws.pause() // stops reading: what main sends it piles up on main's side
      c.ws.send(JSON.stringify({ t: 'call', id: 1, method: 'objects.subscribe', args: {} }))
      stalled.push(c)
    }
    let most = 0
    const sampler = setInterval(() => (most = Math.max(most, server.unread().bytes)), 10)
    try {
      // the graph goes out to all seven; the stalled ones stop at the high-water mark
      await waitFor('reader got the whole graph', () => resetDone, 60_000)
      // then the pool keeps changing: 300 live diffs of ≈0.3 MB each (≈100 MB per client), one
      // every 10 ms (a busy pool's batches come ≤ 1 per 50 ms; this is faster)
      for (let seq = 2; seq < 302; seq++) {
        for (const cb of pools.diffCbs) cb(bigDiff(seq))
        most = Math.max(most, server.unread().bytes)
        await new Promise((r) => setTimeout(r, 10))
      }
      await waitFor('reader got every live diff', () => liveSeqs.length === 300, 60_000)
      expect(liveSeqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 2))
      await waitFor('six stalled clients disconnected', () => logs.filter((l) => l.includes("closed this window's connection")).length === 6 || undefined, 30_000)
    } finally {
      clearInterval(sampler)
    }
    // never more than the bound held at once (one more diff may be counted before the check that ends a client)
    expect(most).toBeLessThanOrEqual(LIMIT + 1024 * 1024)
    expect(server.unread().bytes).toBeLessThan(HIGH_WATER_BYTES * 2)
    const said = logs.filter((l) => /closed this window's connection: it left .* unread \(all windows together may hold 64 MiB\)/.test(l))
    expect(said.length).toBe(6)
    // each one, reading again, gets everything it had been sent and then the close frame: 1013 (try
    // again later) with the reason the budget gave
    expect([...closedBy.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6])
    const ends = await Promise.all(stalled.map((c) => c.closed))
    ends.forEach((e, i) => {
      expect(e.code).toBe(1013)
      expect(e.reason).toBe(closedBy.get(i + 1))
      expect(e.reason).toMatch(/^XenPilot closed this window's connection: it left .* unread \(all windows together may hold 64 MiB\)\.$/)
    })
    await waitFor('main let go of them', () => server.clientCount() === 1 || undefined, 40_000)
    reader.ws.close()
  }, 180_000)
})
