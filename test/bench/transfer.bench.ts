/**
 * Export and import throughput through main (`npm run bench transfer`), issue 14: a halted VM with
 * a 4 GiB disk full of data on the simulator (its own process, test/bench/transfer-sim.ts; a 7.2
 * pool, whose SHA-1 chunk checksums are computed natively, so the simulator is not the bottleneck
 * of either side); main's TransferService exports it to an XVA and imports that file back; `curl`
 * does the same two transfers on the same run (GET /export -o, PUT /import -T of main's own file:
 * the same bytes; curl's export is checked to be main's byte for byte, then deleted). Reports MB/s
 * of each and the ratio (goal ≥ 0.8), the TLS version and cipher each side used (the same), and
 * main's RSS growth during its transfers (goal ≤ 64 MB: this process runs main's TransferService,
 * PoolManager and HTTP helper; RSS sampled every 20 ms while the transfer runs, peak − before).
 * Each imported VM and its disks are destroyed after the import (the simulator's disk files go with
 * them). Disk: about 2 × the size in the temporary folder (main's XVA and curl's, the latter deleted
 * once compared; one imported disk at a time on the simulator's side); checked before starting.
 * XFER_BENCH_BYTES changes the disk size (default 4 GiB). Each BENCH line carries load1 (taken
 * right after the pair of runs) and the CPU seconds of each side (main or curl, and the simulator
 * meanwhile): on a 2-core machine shared with the simulator, a client's CPU per byte decides its pace.
 * XENPILOT_BENCH_PROFILE=<folder>: a V8 CPU profile of main per transfer (export/import.cpuprofile)
 * and its heaviest functions as PROFILE lines.
 */
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { subscribe } from 'node:diagnostics_channel'
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs'
import type { ClientRequest } from 'node:http'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { TransferState } from '../../shared/contract/transfer'
import { MemoryKeychain } from '../../main/pools/keychain'
import { PoolManager } from '../../main/pools/manager'
import { moduleActions } from '../../main/services/guard'
import { MemoryHistory } from '../../main/services/operations'
import { TransferService } from '../../main/transfer/service'

const MB = 1024 * 1024
const GiB = 1024 * MB
const run = promisify(execFile)
interface Cpu {
  /** main (this process) or curl */
  client: number
  /** the simulator meanwhile */
  sim: number
}

interface SimInfo {
  masterUrl: string
  certPem: string
  username: string
  password: string
  vm: string
  vmUuid: string
  sr: string
  size: number
  release: string
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux) */
function cpuOfPid(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return Number.NaN
  }
}

/** main's own CPU seconds so far */
const cpuOfMain = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

/**
 * With XENPILOT_BENCH_PROFILE=<folder>: V8's CPU profile of main during one transfer, written as
 * <name>.cpuprofile there, and its heaviest functions by self time printed as `PROFILE` lines.
 */
async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env['XENPILOT_BENCH_PROFILE']
  if (!dir) return fn()
  const { Session } = await import('node:inspector/promises')
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 500 })
  await session.post('Profiler.start')
  try {
    return await fn()
  } finally {
    const { profile } = await session.post('Profiler.stop')
    session.disconnect()
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
    // self time by function (samples × interval), heaviest first
    const byNode = new Map<number, string>()
    for (const n of profile.nodes) {
      const cf = n.callFrame
      const where = cf.url ? `${cf.url.replace(/^.*\/(main|shared|test|node_modules)\//, '$1/').replace(/^node:/, 'node:')}:${cf.lineNumber + 1}` : ''
      byNode.set(n.id, `${cf.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`)
    }
    const self = new Map<string, number>()
    const deltas = profile.timeDeltas ?? []
    ;(profile.samples ?? []).forEach((id, i) => {
      const key = byNode.get(id) ?? '?'
      self.set(key, (self.get(key) ?? 0) + (deltas[i] ?? 0))
    })
    const total = [...self.values()].reduce((a, b) => a + b, 0)
    const busy = total - (self.get('(idle)') ?? 0)
    console.log(`PROFILE ${name}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s not idle`)
    for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`PROFILE ${name}: ${(us / 1e6).toFixed(2).padStart(7)} s ${((us / Math.max(1, total)) * 100).toFixed(1).padStart(5)} %  ${k}`)
  }
}

/**
 * The TLS version and cipher of main's transfer connections (its pinned agent's sockets), seen
 * through Node's http client diagnostics channel: the last one used for /export or /import.
 */
let mainTls = ''
subscribe('http.client.request.start', (m: unknown) => {
  const request = (m as { request: ClientRequest }).request
  if (!/^\/(export|import)\?/.test(request.path)) return
  // published once the request is under way: its socket may be there already, even connected
  const withSocket = (sock: unknown): void => {
    const s = sock as TLSSocket
    const note = (): boolean => {
      // (getCipher() is undefined until the handshake is done)
      const c = s.getCipher() as ReturnType<TLSSocket['getCipher']> | undefined
      if (c) mainTls = `${s.getProtocol() ?? '?'} ${c.name}`
      return c !== undefined
    }
    if (!note()) s.once('secureConnect', note)
  }
  if (request.socket) withSocket(request.socket)
  else request.once('socket', withSocket)
})

/** SHA-256 of a file, hex */
async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const c of createReadStream(file, { highWaterMark: 4 * MB })) h.update(c as Buffer)
  return h.digest('hex')
}

async function startSim(): Promise<{ info: SimInfo; stop: () => void; pid: number | undefined }> {
  const script = fileURLToPath(new URL('./transfer-sim.ts', import.meta.url))
  const p = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'], env: process.env })
  const line = await new Promise<string>((resolve, reject) => {
    let buf = ''
    p.stdout.on('data', (c: Buffer) => {
      buf += c.toString()
      const i = buf.indexOf('\n')
      if (i >= 0) resolve(buf.slice(0, i))
    })
    p.on('exit', (code) => reject(new Error(`simulator exited ${code}`)))
  })
  return { info: JSON.parse(line) as SimInfo, stop: () => p.stdin.end(), pid: p.pid }
}

async function main(): Promise<void> {
  const size = Number(process.env['XFER_BENCH_BYTES'] ?? String(4 * GiB))
  // in the temporary folder at once: main's XVA and curl's (until compared), or main's XVA and the
  // simulator's imported disk (each destroyed after its import)
  const fs = statfsSync(tmpdir())
  const free = fs.bavail * fs.bsize
  const need = 2 * size + GiB
  if (free < need) throw new Error(`${tmpdir()} has ${(free / GiB).toFixed(1)} GiB free; a ${(size / GiB).toFixed(1)} GiB transfer bench needs ${(need / GiB).toFixed(1)} GiB (set XFER_BENCH_BYTES lower or TMPDIR elsewhere)`)
  const { info, stop, pid: simPid } = await startSim()
  const dir = mkdtempSync(join(tmpdir(), 'xp-transfer-bench-'))
  const dataDir = mkdtempSync(join(tmpdir(), 'xp-transfer-bench-data-'))
  const manager = new PoolManager({ dataDir, keychain: new MemoryKeychain() })
  try {
    const address = new URL(info.masterUrl).host
    const st = await manager.add({ address, username: info.username, password: info.password, rememberPassword: false })
    for (;;) {
      const s = manager.get(st.id)
      if (s?.status === 'awaiting-trust' && s.certificate) await manager.trust(st.id, s.certificate.fingerprint256)
      if (s?.status === 'connected') break
      await new Promise((r) => setTimeout(r, 50))
    }
    const id = st.id
    const states = new Map<string, TransferState>()
    const actions = moduleActions({ pools: manager, broadcast: () => undefined, log: () => undefined }, new MemoryHistory())
    const service = new TransferService({ pools: manager, hosts: manager, actions, onChange: (s) => states.set(s.id, s) })
    while (!manager.graph(id)?.get('VM', info.vm)) await new Promise((r) => setTimeout(r, 50))
    const ended = async (t: TransferState): Promise<TransferState> => {
      for (;;) {
        const s = states.get(t.id)
        if (s && (s.status === 'done' || s.status === 'failed' || s.status === 'cancelled')) return s
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    const measure = async (name: string, fn: () => Promise<TransferState>): Promise<{ ms: number; growthMB: number; state: TransferState; cpu: Cpu }> => {
      global.gc?.()
      const before = process.memoryUsage.rss()
      let peak = before
      // memoryUsage.rss() only: the full memoryUsage() walks the heap and cost main seconds of CPU per GiB
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20)
      const cpu0 = { main: cpuOfMain(), sim: cpuOfPid(simPid) }
      const t0 = performance.now()
      const state = await profiled(name, fn)
      const ms = performance.now() - t0
      clearInterval(sampler)
      const cpu = { client: cpuOfMain() - cpu0.main, sim: cpuOfPid(simPid) - cpu0.sim }
      return { ms, growthMB: Math.round(((peak - before) / MB) * 10) / 10, state, cpu }
    }
    /** curl under /usr/bin/time: its wall time and its CPU seconds, the simulator's meanwhile, and its TLS (from -v) */
    const curl = async (args: string[]): Promise<{ ms: number; cpu: Cpu; tls: string }> => {
      const sim0 = cpuOfPid(simPid)
      const t0 = performance.now()
      const r = await run('/usr/bin/time', ['-f', 'CPU %U %S', 'curl', '-v', ...args], { maxBuffer: 1 << 20 })
      const ms = performance.now() - t0
      const m = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr)
      const tls = /SSL connection using (\S+) \/ (\S+)/.exec(r.stderr)
      return { ms, cpu: { client: m ? Number(m[1]) + Number(m[2]) : Number.NaN, sim: cpuOfPid(simPid) - sim0 }, tls: tls ? `${tls[1]} ${tls[2]}` : '?' }
    }
    /** the VMs an import made (named as the bench's VM) go, with their disks: the simulator's disk files with them */
    const dropImported = async (): Promise<void> => {
      const vms = (await manager.call(id, 'VM.get_by_name_label', ['bench-4g'])) as string[]
      for (const vm of vms.filter((v) => v !== info.vm)) {
        const vdis: string[] = []
        for (const vbd of (await manager.call(id, 'VM.get_VBDs', [vm])) as string[]) vdis.push(String(await manager.call(id, 'VBD.get_VDI', [vbd])))
        await manager.call(id, 'VM.destroy', [vm])
        for (const vdi of vdis) if (vdi !== 'OpaqueRef:NULL') await manager.call(id, 'VDI.destroy', [vdi])
      }
    }
    const cafile = join(dir, 'master.pem')
    writeFileSync(cafile, info.certPem)
    /** curl rides on main's session, as a script given one would */
    const sessionRef = async (): Promise<string> => manager.hostHttp(id).sessionId() ?? ''

    // main: export
    const mainFile = join(dir, 'main.xva')
    const exp = await measure('export', async () => ended(await service.exportVm({ connectionId: id, ref: info.vm, path: mainFile, compression: 'none', overwrite: false })))
    if (exp.state.status !== 'done') throw new Error(`main export: ${exp.state.message ?? exp.state.status}`)
    const exportTls = mainTls
    const bytes = statSync(mainFile).size
    // curl: export
    const curlFile = join(dir, 'curl.xva')
    const sid = await sessionRef()
    const curlExport = await curl(['-sS', '--fail', '--cacert', cafile, '-o', curlFile, `${info.masterUrl}/export?session_id=${sid}&uuid=${info.vmUuid}`])
    const load1Export = loadavg()[0] ?? 0
    // the same transfer: curl's file is main's, byte for byte (checked outside the timed runs)
    const curlSha = await sha256Of(curlFile)
    if (curlSha !== exp.state.sha256) throw new Error(`curl's export (${statSync(curlFile).size} bytes, sha256 ${curlSha}) differs from main's (${bytes} bytes, sha256 ${exp.state.sha256 ?? '?'})`)
    rmSync(curlFile)
    // main: import
    const imp = await measure('import', async () => ended(await service.importVm({ connectionId: id, path: mainFile, sr: info.sr, networks: {}, start: false })))
    if (imp.state.status !== 'done') throw new Error(`main import: ${imp.state.message ?? imp.state.status}`)
    const importTls = mainTls
    await dropImported()
    // curl: import of the same file
    const curlImport = await curl(['-sS', '--fail', '--cacert', cafile, '-T', mainFile, '-o', '/dev/null', `${info.masterUrl}/import?session_id=${sid}&sr_id=${info.sr}`])
    const load1Import = loadavg()[0] ?? 0
    await dropImported()
    const rate = (ms: number): number => Math.round((bytes / MB / (ms / 1000)) * 10) / 10
    const r1 = (n: number): number => Math.round(n * 10) / 10
    for (const [name, mainRun, curlRun, load, tlsMain] of [
      ['transfer.export', exp, curlExport, load1Export, exportTls],
      ['transfer.import', imp, curlImport, load1Import, importTls],
    ] as const) {
      const mainMs = mainRun.ms
      const curlMs = curlRun.ms
      const growth = mainRun.growthMB
      const load1 = r1(load)
      console.log(
        `BENCH ${JSON.stringify({
          name: `${name}.throughput`,
          value: rate(mainMs),
          unit: 'MB/s',
          baseline: rate(curlMs),
          baselineName: 'curl, same transfer, same run',
          ratio: Math.round((curlMs / mainMs) * 100) / 100,
          goal: '>= 0.8',
          bytes,
          release: info.release,
          tls: { main: tlsMain, curl: curlRun.tls },
          load1,
          // CPU seconds spent on the transfer: by main (this process) or curl, and by the simulator meanwhile
          cpuS: { main: r1(mainRun.cpu.client), curl: r1(curlRun.cpu.client), simWithMain: r1(mainRun.cpu.sim), simWithCurl: r1(curlRun.cpu.sim) },
        })}`,
      )
      console.log(`BENCH ${JSON.stringify({ name: `${name}.rss-growth`, value: growth, unit: 'MB', goal: '<= 64', baselineName: 'main RSS before the transfer', load1 })}`)
    }
  } finally {
    await manager.close()
    stop()
    rmSync(dir, { recursive: true, force: true })
    rmSync(dataDir, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
