/**
 * The viewer side of the console benchmark in its own process (as a browser would be), so the
 * process running the bridge does only the bridge's work.
 *
 *   node --import tsx bench-client-process.ts tcp HOST PORT
 *   node --import tsx bench-client-process.ts ws URL ORIGIN
 *   env: XP_THROUGHPUT_MS (default 4000), XP_LATENCY_ROUNDS (default 2000)
 *   stdout: THROUGHPUT_START, THROUGHPUT_DONE {"bytes":…} (so the parent can time its own CPU use
 *           over exactly that phase), then RESULT {"mbps":…,"latencyMs":…,"bytes":…}
 */
import { connect } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocket, createWebSocketStream } from 'ws'
import { RfbTestClient } from './client'

const THROUGHPUT_MS = Number(process.env['XP_THROUGHPUT_MS'] ?? 4000)
const LATENCY_ROUNDS = Number(process.env['XP_LATENCY_ROUNDS'] ?? 2000)

async function open(): Promise<Duplex> {
  const [kind, a, b] = process.argv.slice(2)
  if (kind === 'tcp' && a && b) {
    const sock = connect({ host: a, port: Number(b) })
    sock.setNoDelay(true)
    return sock
  }
  if (kind === 'ws' && a && b) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(a, ['binary'], { origin: b, perMessageDeflate: false })
      ws.once('open', () => resolve(createWebSocketStream(ws)))
      ws.once('error', reject)
    })
  }
  throw new Error('usage: bench-client-process.ts tcp HOST PORT | ws URL ORIGIN')
}

async function throughput(client: RfbTestClient): Promise<{ mbps: number; bytes: number }> {
  await client.refresh()
  process.stdout.write('THROUGHPUT_START\n')
  const start = client.bytesIn
  const t0 = performance.now()
  let inFlight = 0
  await new Promise<void>((resolve) => {
    const next = (): void => {
      if (performance.now() - t0 >= THROUGHPUT_MS) {
        if (inFlight === 0) resolve()
        return
      }
      inFlight++
      client.requestUpdate(false)
      void client.nextUpdate().then(() => {
        inFlight--
        next()
      })
    }
    // two full updates in flight so the pipe never idles
    next()
    next()
  })
  const bytes = client.bytesIn - start
  process.stdout.write(`THROUGHPUT_DONE ${JSON.stringify({ bytes })}\n`)
  return { mbps: bytes / ((performance.now() - t0) / 1000) / 1e6, bytes }
}

async function latency(client: RfbTestClient): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < LATENCY_ROUNDS; i++) {
    const t0 = performance.now()
    const p = client.nextUpdate()
    client.requestUpdate(false, { x: 0, y: 0, w: 1, h: 1 })
    await p
    samples.push(performance.now() - t0)
  }
  samples.sort((x, y) => x - y)
  return samples[Math.floor(samples.length / 2)] ?? NaN
}

const client = new RfbTestClient(await open(), { decode: false })
await client.handshake('3.8')
const { mbps, bytes } = await throughput(client)
const latencyMs = await latency(client)
client.close()
process.stdout.write(`RESULT ${JSON.stringify({ mbps, latencyMs, bytes })}\n`)
process.exit(0)
