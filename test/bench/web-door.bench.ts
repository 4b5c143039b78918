/**
 * Browser-mode door benchmarks (`npm run bench web-door`): what the contract WebSocket adds on top
 * of the unavoidable cost of JSON.
 *  - web-door.reset-10k: objects.subscribe → the bench-10k pool's whole graph (a reset pool.diff,
 *    ≈ 80,000 objects, in pieces of main/services PIECE_UPSERTS) received and parsed by a client on
 *    loopback, until its last piece. Baseline: JSON.stringify +
 *    JSON.parse of the same message in one process (no socket, no services). Medians of 3.
 *  - web-door.small-diffs: 5,000 one-VM diffs pushed through services and the socket; diffs/s
 *    delivered and parsed. Baseline: the same stringify + parse in one process.
 * Records: the simulator's bench-10k fleet normalised by the client's own normaliser, i.e. what
 * the pools layer emits. The PoolManager is a stub that hands out that graph (this measures the
 * door, not XAPI).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import type { PoolDiff } from '../../shared/model/diff'
import { createServices } from '../../main/services'
import { memoryKeychainStatus } from '../../main/services/keychain-status'
import { memorySettingsStore } from '../../main/services/settings'
import { startWebServer } from '../../main/web/server'
import { graphOfBench10k, StubPools } from '../helpers/bench10k-pools'

function bench(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  const load1 = Math.round((loadavg()[0] ?? 0) * 10) / 10
  console.log(`BENCH ${JSON.stringify({ name, value: Math.round(value * 100) / 100, unit, ...extra, load1 })}`)
}

async function main(): Promise<void> {
  const upserts = graphOfBench10k()
  const reset: PoolDiff = { connectionId: 'bench', seq: 1, reset: true, upserts, removes: [] }
  const pools = new StubPools(reset)
  const services = createServices({ pools, settings: memorySettingsStore(), keychain: memoryKeychainStatus(), app: { name: 'XenPilot', version: 'bench', mode: 'browser', versions: {} } })
  const dir = mkdtempSync(join(tmpdir(), 'xp-door-bench-'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html>')
  const server = await startWebServer({ services, staticDir: dir })
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, { headers: { Origin: server.origin }, maxPayload: 2 * 1024 * 1024 * 1024 })
  await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)))
  try {
    // Baseline: the JSON work alone, in one process.
    // Median of 3 each, so neither side pays the JIT warm-up alone.
    const baselines: number[] = []
    let mb = 0
    for (let i = 0; i < 3; i++) {
      const b0 = performance.now()
      const text = JSON.stringify({ t: 'event', event: 'pool.diff', payload: reset })
      JSON.parse(text)
      baselines.push(performance.now() - b0)
      mb = Buffer.byteLength(text) / 1024 / 1024
    }
    baselines.sort((a, b) => a - b)
    const baselineMs = baselines[1] ?? 0

    const runs: number[] = []
    for (let i = 0; i < 3; i++) {
      const received = new Promise<number>((resolve) => {
        const onMsg = (data: WebSocket.RawData): void => {
          const msg = JSON.parse(String(data)) as { t: string; event?: string; payload?: { more?: boolean } }
          // a reset this large arrives in pieces (PoolDiff.part/more): received when the last one is
          if (msg.t === 'event' && msg.event === 'pool.diff' && msg.payload?.more !== true) {
            ws.off('message', onMsg)
            resolve(performance.now())
          }
        }
        ws.on('message', onMsg)
      })
      const t0 = performance.now()
      ws.send(JSON.stringify({ t: 'call', id: i + 1, method: 'objects.subscribe', args: {} }))
      runs.push((await received) - t0)
    }
    runs.sort((a, b) => a - b)
    const median = runs[1] ?? 0
    bench('web-door.reset-10k', median, 'ms', { objects: upserts.length, mb: Math.round(mb * 10) / 10, baseline: Math.round(baselineMs), ratio: Math.round((median / baselineMs) * 100) / 100 })

    // Many small diffs: the per-event cost of services + socket.
    const N = 5000
    const vm = upserts.find((u) => u.cls === 'VM')
    if (!vm) throw new Error('no VM')
    const small = (seq: number): PoolDiff => ({ connectionId: 'bench', seq, reset: false, upserts: [{ ...vm, record: { ...vm.record, power_state: seq % 2 ? 'Running' : 'Halted' } }], removes: [] })
    const sb0 = performance.now()
    for (let s = 0; s < N; s++) JSON.parse(JSON.stringify({ t: 'event', event: 'pool.diff', payload: small(s) }))
    const smallBaselineMs = performance.now() - sb0
    let got = 0
    const done = new Promise<number>((resolve) => {
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as { t: string; event?: string; payload?: { reset?: boolean } }
        if (msg.t === 'event' && msg.event === 'pool.diff' && msg.payload?.reset === false && ++got === N) resolve(performance.now())
      })
    })
    const s0 = performance.now()
    for (let s = 0; s < N; s++) for (const cb of pools.diffCbs) cb(small(1000 + s))
    const elapsed = (await done) - s0
    bench('web-door.small-diffs', (N / elapsed) * 1000, 'diffs/s', { diffs: N, baseline: Math.round((N / smallBaselineMs) * 1000), ratio: Math.round((smallBaselineMs / elapsed) * 100) / 100 })
  } finally {
    ws.close()
    await server.close()
    await services.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
