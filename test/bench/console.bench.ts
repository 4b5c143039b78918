/**
 * Console bridge cost, against a direct TCP connection to the same VNC server in the same run.
 *
 *   direct:  RFB client ──TCP──▶ Xvnc
 *   bridged: RFB client ──WebSocket──▶ ConsoleBridge ──TLS CONNECT /console──▶ host process ──TCP──▶ Xvnc
 *
 * Throughput: back-to-back full-screen Raw updates (1920×1080×4 bytes each) for a fixed time.
 * Latency: sequential 1×1 non-incremental update requests (one small message each way); the added
 * latency is the bridged median minus the direct median.
 * Goals (issue 3): ≥ 100 MB/s through the bridge, ≤ 1 ms added per message.
 */
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Duplex } from 'node:stream'
import { WebSocket, createWebSocketStream } from 'ws'
import { ConsoleBridge, type ConsoleSource } from '../../main/console/bridge'
import { RfbTestClient } from '../sim/rfb/client'
import { startXvnc, xvncAvailable } from '../sim/rfb/xvnc'
import { makeCert, pinnedTls } from '../integration/console/fake-host'

const here = dirname(fileURLToPath(import.meta.url))
const SESSION = 'OpaqueRef:bench-session'
const ORIGIN = 'http://127.0.0.1:1'
const THROUGHPUT_MS = 4000
const LATENCY_ROUNDS = 2000

function bench(name: string, value: number, unit: string, baseline: number | null): void {
  const ratio = baseline ? value / baseline : null
  console.log(`BENCH ${JSON.stringify({ name, value: Number(value.toFixed(3)), unit, baseline: baseline === null ? null : Number(baseline.toFixed(3)), ratio: ratio === null ? null : Number(ratio.toFixed(3)) })}`)
}

async function throughput(client: RfbTestClient): Promise<number> {
  // warm up, then keep two full updates in flight so the pipe never idles
  await client.refresh()
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
    next()
    next()
  })
  const seconds = (performance.now() - t0) / 1000
  return (client.bytesIn - start) / seconds / 1e6
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
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)] ?? NaN
}

async function main(): Promise<void> {
  if (!xvncAvailable()) {
    console.log('# console.bench: Xvnc not installed (tigervnc-standalone-server); skipped')
    return
  }
  const xvnc = await startXvnc({ geometry: '1920x1080', desktop: 'bench' })
  const cert = makeCert('bench-host')
  const host = spawn(process.execPath, ['--import', 'tsx', join(here, '../sim/rfb/console-host-process.ts')], {
    env: { ...process.env, XP_CERT: cert.cert, XP_KEY: cert.key, XP_SESSION: SESSION, XP_VNC_HOST: xvnc.host, XP_VNC_PORT: String(xvnc.port) },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const hostPort = await new Promise<number>((resolve, reject) => {
    let out = ''
    host.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /PORT (\d+)/.exec(out)
      if (m?.[1]) resolve(Number(m[1]))
    })
    host.once('exit', (code) => reject(new Error(`host process exited ${code}`)))
  })
  const source: ConsoleSource = {
    locate: async () => ({
      connectionId: 'bench',
      vmRef: 'OpaqueRef:vm',
      vmUuid: 'vm',
      vmName: 'bench',
      consoleRef: 'OpaqueRef:console',
      hostRef: 'OpaqueRef:host',
      hostName: 'bench-host',
      hostAddress: '127.0.0.1',
      isControlDomain: false,
    }),
    connectTls: async () => ({ socket: await pinnedTls('127.0.0.1', hostPort, cert.fingerprint256), sessionId: SESSION }),
    refreshSession: async () => undefined,
  }
  const bridge = new ConsoleBridge({ source, allowedOrigins: [ORIGIN] })
  await bridge.listen()

  const direct = async (): Promise<RfbTestClient> => {
    const sock = connect({ host: xvnc.host, port: xvnc.port })
    sock.setNoDelay(true)
    const c = new RfbTestClient(sock, { decode: false })
    await c.handshake('3.8')
    return c
  }
  const bridged = async (): Promise<RfbTestClient> => {
    const opened = await bridge.open({ connectionId: 'bench', vmRef: 'OpaqueRef:vm' })
    const stream: Duplex = await new Promise((resolve, reject) => {
      const ws = new WebSocket(opened.wsUrl, ['binary'], { origin: ORIGIN, perMessageDeflate: false })
      ws.once('open', () => resolve(createWebSocketStream(ws)))
      ws.once('error', reject)
    })
    const c = new RfbTestClient(stream, { decode: false })
    await c.handshake('3.8')
    return c
  }

  try {
    const d = await direct()
    const directMBps = await throughput(d)
    const directMs = await latency(d)
    d.close()
    const b = await bridged()
    const bridgedMBps = await throughput(b)
    const bridgedMs = await latency(b)
    b.close()
    // the machine is shared: say how busy it was, figures under load are lower
    console.log(`# load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
    bench('console.bridge.throughput', bridgedMBps, 'MB/s', directMBps)
    bench('console.bridge.latency.median', bridgedMs, 'ms', directMs)
    bench('console.bridge.latency.added', bridgedMs - directMs, 'ms', null)
  } finally {
    await bridge.stop()
    host.stdin.end()
    host.kill()
    await xvnc.stop()
  }
}

await main()
