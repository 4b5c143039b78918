/**
 * Memory with clients that stop reading (`npm run bench stalled-clients`), issue 12 item 4: the
 * browser-mode door serving the bench-10k graph, one client that reads and six that stop reading
 * after subscribing, while the pool sends 300 live diffs of ≈0.3 MB (one per 10 ms). Reports main's
 * peak RSS, the peak of what the door held unread for its clients (bounded by maxUnreadBytes,
 * default 256 MiB) and how many stalled clients were disconnected.
 * Baseline: peak RSS of the same process serving only the reading client (graph, services, one
 * stream) — what the six stalled clients add on top of it is the figure to watch.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Socket } from 'node:net'
import WebSocket from 'ws'
import type { PoolDiff } from '../../shared/model/diff'
import { createServices } from '../../main/services'
import { memoryKeychainStatus } from '../../main/services/keychain-status'
import { memorySettingsStore } from '../../main/services/settings'
import { startWebServer, type WebServer } from '../../main/web/server'
import { graphOfBench10k, StubPools } from '../helpers/bench10k-pools'

const MB = 1024 * 1024
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function client(server: WebServer): Promise<{ ws: WebSocket; socket: Socket }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, { headers: { Origin: server.origin }, maxPayload: 1024 * MB })
  let socket: Socket | undefined
  ws.once('upgrade', (res) => (socket = res.socket))
  ws.on('error', () => undefined)
  await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)))
  if (!socket) throw new Error('no socket')
  return { ws, socket }
}

async function scenario(stalledCount: number): Promise<{ peakRss: number; peakUnread: number; disconnected: number }> {
  const upserts = graphOfBench10k()
  const pools = new StubPools({ connectionId: 'bench', seq: 1, reset: true, upserts, removes: [] })
  const vms = upserts.filter((u) => u.cls === 'VM').slice(0, 300)
  const diff = (seq: number): PoolDiff => ({ connectionId: 'bench', seq, reset: false, upserts: vms.map((u) => ({ ...u, record: { ...u.record, name_description: `change ${seq}` } })), removes: [] })
  const services = createServices({ pools, settings: memorySettingsStore(), keychain: memoryKeychainStatus(), app: { name: 'XenPilot', version: 'bench', mode: 'browser', versions: {} } })
  const dir = mkdtempSync(join(tmpdir(), 'xp-stalled-bench-'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html>')
  let disconnected = 0
  const server = await startWebServer({ services, staticDir: dir, log: (l) => (l.includes("closed this window's connection") ? disconnected++ : undefined) })
  let peakRss = 0
  let peakUnread = 0
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    peakUnread = Math.max(peakUnread, server.unread().bytes)
  }, 20)
  try {
    const reader = await client(server)
    let live = 0
    let resetDone = false
    reader.ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { t: string; payload?: { reset?: boolean; more?: boolean } }
      if (m.t !== 'event' || !m.payload) return
      if (m.payload.reset && m.payload.more !== true) resetDone = true
      if (m.payload.reset === false) live++
    })
    reader.ws.send(JSON.stringify({ t: 'call', id: 1, method: 'objects.subscribe', args: {} }))
    for (let i = 0; i < stalledCount; i++) {
      const c = await client(server)
      c.socket.pause()
      c.ws.send(JSON.stringify({ t: 'call', id: 1, method: 'objects.subscribe', args: {} }))
    }
    while (!resetDone) await sleep(20)
    for (let seq = 2; seq < 302; seq++) {
      for (const cb of pools.diffCbs) cb(diff(seq))
      await sleep(10)
    }
    while (live < 300) await sleep(20)
    await sleep(500)
  } finally {
    clearInterval(sampler)
    await server.close()
    await services.close()
    rmSync(dir, { recursive: true, force: true })
  }
  return { peakRss, peakUnread, disconnected }
}

async function main(): Promise<void> {
  // one scenario per process run keeps the heaps apart: the baseline runs in a child
  const stalled = Number(process.env.STALLED ?? '-1')
  if (stalled >= 0) {
    const r = await scenario(stalled)
    console.log(`RESULT ${JSON.stringify(r)}`)
    return
  }
  const { spawnSync } = await import('node:child_process')
  const { fileURLToPath } = await import('node:url')
  const self = fileURLToPath(import.meta.url)
  const once = (n: number): { peakRss: number; peakUnread: number; disconnected: number } => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', self], { env: { ...process.env, STALLED: String(n) }, encoding: 'utf8' })
    const m = /RESULT (.*)/.exec(r.stdout)
    if (!m?.[1]) throw new Error(`scenario ${n} failed: ${r.stderr.slice(-2000)}`)
    return JSON.parse(m[1]) as { peakRss: number; peakUnread: number; disconnected: number }
  }
  const base = once(0)
  const six = once(6)
  const load1 = Math.round((loadavg()[0] ?? 0) * 10) / 10
  console.log(
    `BENCH ${JSON.stringify({
      name: 'stalled-clients.rss',
      value: Math.round(six.peakRss / MB),
      unit: 'MB',
      baseline: Math.round(base.peakRss / MB),
      baselineName: 'one reading client, no stalled ones',
      peakUnreadMB: Math.round(six.peakUnread / MB),
      disconnected: six.disconnected,
      load1,
    })}`,
  )
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
