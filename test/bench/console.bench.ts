/**
 * Console bridge cost, against a direct TCP connection to the same VNC server in the same run.
 *
 *   direct:  viewer process ──TCP──▶ Xvnc
 *   bridged: viewer process ──WebSocket──▶ ConsoleBridge (this process) ──TLS CONNECT /console──▶
 *            host process ──TCP──▶ Xvnc
 * The viewer and the "XAPI host" run in their own processes, as the browser and the host would.
 *
 * Throughput: back-to-back full-screen Raw updates (1920×1080×4 bytes each) for a fixed time.
 * Latency: sequential 1×1 non-incremental update requests (one small message each way); the added
 * latency is the bridged median minus the direct median.
 * Goals (issue 3): ≥ 100 MB/s through the bridge, ≤ 1 ms added per message.
 * On a busy shared machine the measured rate says more about the scheduler than about the bridge,
 * so the bridge's own CPU time per MB (and the rate one core could carry) is printed too.
 */
import { spawn } from 'node:child_process'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConsoleBridge, type ConsoleSource } from '../../main/console/bridge'
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

interface ViewerResult {
  mbps: number
  latencyMs: number
  bytes: number
  /** CPU seconds THIS process (the bridge) used while the viewer measured throughput */
  ownCpuSeconds: number
}

/** runs the viewer in its own process (like the browser): throughput (MB/s) and median round trip (ms) */
function viewer(args: string[]): Promise<ViewerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, '../sim/rfb/bench-client-process.ts'), ...args], {
      env: { ...process.env, XP_THROUGHPUT_MS: String(THROUGHPUT_MS), XP_LATENCY_ROUNDS: String(LATENCY_ROUNDS) },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    let cpuStart: NodeJS.CpuUsage | undefined
    let ownCpuSeconds = 0
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (!cpuStart && out.includes('THROUGHPUT_START')) cpuStart = process.cpuUsage()
      if (cpuStart && ownCpuSeconds === 0 && out.includes('THROUGHPUT_DONE')) {
        const used = process.cpuUsage(cpuStart)
        ownCpuSeconds = (used.user + used.system) / 1e6
      }
    })
    child.once('exit', (code) => {
      const m = /RESULT (\{.*\})/.exec(out)
      if (code !== 0 || !m?.[1]) return reject(new Error(`viewer ${args.join(' ')} exited ${code}: ${out}`))
      const r: unknown = JSON.parse(m[1])
      if (typeof r !== 'object' || r === null) return reject(new Error('bad viewer result'))
      const mbps = Reflect.get(r, 'mbps')
      const latencyMs = Reflect.get(r, 'latencyMs')
      const bytes = Reflect.get(r, 'bytes')
      if (typeof mbps !== 'number' || typeof latencyMs !== 'number' || typeof bytes !== 'number') return reject(new Error('bad viewer result'))
      resolve({ mbps, latencyMs, bytes, ownCpuSeconds })
    })
  })
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

  try {
    const direct = await viewer(['tcp', xvnc.host, String(xvnc.port)])
    const opened = await bridge.open({ connectionId: 'bench', vmRef: 'OpaqueRef:vm' })
    const bridged = await viewer(['ws', opened.wsUrl, ORIGIN])
    // the machine is shared: say how busy it was, figures under load are lower
    console.log(`# load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
    bench('console.bridge.throughput', bridged.mbps, 'MB/s', direct.mbps)
    bench('console.bridge.latency.median', bridged.latencyMs, 'ms', direct.latencyMs)
    bench('console.bridge.latency.added', bridged.latencyMs - direct.latencyMs, 'ms', null)
    // independent of how busy the machine is: what one core of the bridge can carry
    const cpuPerMB = (bridged.ownCpuSeconds * 1000) / (bridged.bytes / 1e6)
    bench('console.bridge.cpu_ms_per_MB', cpuPerMB, 'ms', null)
    bench('console.bridge.single_core_capacity', 1000 / cpuPerMB, 'MB/s', direct.mbps)
  } finally {
    await bridge.stop()
    host.stdin.end()
    host.kill()
    await xvnc.stop()
  }
}

await main()
