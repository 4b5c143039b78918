/**
 * Export and import throughput through main (`npm run bench transfer`), issue 14: a halted VM with
 * a 4 GiB disk full of data on the simulator (its own process, test/bench/transfer-sim.ts; a 7.2
 * pool, whose SHA-1 chunk checksums are computed natively, so the simulator is not the bottleneck
 * of either side); main's TransferService exports it to an XVA and imports that file back; `curl`
 * does the same two transfers on the same run (GET /export -o, PUT /import -T). Reports MB/s of
 * each and the ratio (goal ≥ 0.8), and main's RSS growth during its transfers (goal ≤ 64 MB).
 * XFER_BENCH_BYTES changes the disk size (default 4 GiB).
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { TransferState } from '../../shared/contract/transfer'
import { MemoryKeychain } from '../../main/pools/keychain'
import { PoolManager } from '../../main/pools/manager'
import { moduleActions } from '../../main/services/guard'
import { MemoryHistory } from '../../main/services/operations'
import { TransferService } from '../../main/transfer/service'

const MB = 1024 * 1024
const run = promisify(execFile)

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

async function startSim(): Promise<{ info: SimInfo; stop: () => void }> {
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
  return { info: JSON.parse(line) as SimInfo, stop: () => p.stdin.end() }
}

async function main(): Promise<void> {
  const { info, stop } = await startSim()
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
    const measure = async (fn: () => Promise<TransferState>): Promise<{ ms: number; growthMB: number; state: TransferState }> => {
      global.gc?.()
      const before = process.memoryUsage().rss
      let peak = before
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
      const t0 = performance.now()
      const state = await fn()
      const ms = performance.now() - t0
      clearInterval(sampler)
      return { ms, growthMB: Math.round(((peak - before) / MB) * 10) / 10, state }
    }
    const cafile = join(dir, 'master.pem')
    writeFileSync(cafile, info.certPem)
    /** curl rides on main's session, as a script given one would */
    const sessionRef = async (): Promise<string> => manager.hostHttp(id).sessionId() ?? ''

    // main: export
    const mainFile = join(dir, 'main.xva')
    const exp = await measure(async () => ended(await service.exportVm({ connectionId: id, ref: info.vm, path: mainFile, compression: 'none', overwrite: false })))
    if (exp.state.status !== 'done') throw new Error(`main export: ${exp.state.message ?? exp.state.status}`)
    const bytes = statSync(mainFile).size
    // curl: export
    const curlFile = join(dir, 'curl.xva')
    const sid = await sessionRef()
    let t0 = performance.now()
    await run('curl', ['-sS', '--fail', '--cacert', cafile, '-o', curlFile, `${info.masterUrl}/export?session_id=${sid}&uuid=${info.vmUuid}`], { maxBuffer: 1 << 20 })
    const curlExportMs = performance.now() - t0
    // main: import
    const imp = await measure(async () => ended(await service.importVm({ connectionId: id, path: mainFile, sr: info.sr, networks: {}, start: false })))
    if (imp.state.status !== 'done') throw new Error(`main import: ${imp.state.message ?? imp.state.status}`)
    // curl: import
    t0 = performance.now()
    await run('curl', ['-sS', '--fail', '--cacert', cafile, '-T', curlFile, '-o', '/dev/null', `${info.masterUrl}/import?session_id=${sid}&sr_id=${info.sr}`], { maxBuffer: 1 << 20 })
    const curlImportMs = performance.now() - t0
    const load1 = Math.round((loadavg()[0] ?? 0) * 10) / 10
    const rate = (ms: number): number => Math.round((bytes / MB / (ms / 1000)) * 10) / 10
    for (const [name, mainMs, curlMs, growth] of [
      ['transfer.export', exp.ms, curlExportMs, exp.growthMB],
      ['transfer.import', imp.ms, curlImportMs, imp.growthMB],
    ] as const) {
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
          load1,
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
