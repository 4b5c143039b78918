/**
 * `npm run demo` (or `npm run --silent demo` to keep npm's banner off stdout): the XAPI simulator's `demo` fleet and XenPilot on it, its pools already added
 * and their certificates already trusted (pinned to the fingerprints the simulator reports).
 *
 * Electron when its binary can run here (found without downloading: node_modules/electron/path.txt
 * and an executable binary, plus a display on Linux); otherwise browser mode — the renderer is
 * built if renderer/dist is missing or older than its sources, the URL is printed as the first
 * line, and `xdg-open` is tried when a desktop is available. Ctrl-C stops everything and removes
 * the demo's data folder (a fresh one per run: the simulator makes new certificates every run).
 * `--no-renderer-build`: serve renderer/dist as it is (a test that does not look at the page must
 * not rebuild it under the e2e tests' feet).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findElectronBinary } from './electron-binary'
import type { ConnectionSeed } from '../main/services/runtime'
import { startBrowserMode, type BrowserMode } from '../main/web/cli'
import { ensureRendererBuilt, rendererIsStale } from './renderer-build'
import { buildFleet } from '../test/sim/fleet'
import { setTransferRate, startSimulator, type SimControl } from '../test/sim'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const log = (line: string): void => void process.stderr.write(`${line}\n`)

/** The demo fleet as a seed: every pool's master address, credentials and every host's certificate. */
export function seedFromSimulator(sim: SimControl, opts: { ssh?: boolean } = {}): ConnectionSeed {
  return {
    pools: sim.pools.map((p) => ({
      address: new URL(p.masterUrl).host,
      username: p.username,
      password: p.password,
      // the demo also pins each host's SSH key and port (its Terminal tabs open at once); e2e tests trust them in the UI
      hosts: p.hosts.map((h) => ({ host: h.address, port: p.port, certPem: h.certPem, ...(opts.ssh ? { ssh: { port: sim.sshPort, hostKey: h.sshPublicKey } } : {}) })),
    })),
  }
}

/**
 * Changed block tracking on the system disk of one halted Lab VM (the first by name), as an
 * incremental backup tool leaves it: XAPI refuses to migrate that disk (VDI_CBT_ENABLED) and the
 * Migrate wizard offers to turn CBT off (issue 17). Answers the VM's name.
 */
export async function enableDemoCbt(sim: SimControl): Promise<string | undefined> {
  const lab = sim.pools.find((p) => p.name === 'Lab')
  if (!lab) return undefined
  const vms = [...(lab.objects.get('VM') ?? [])]
    .filter(([, r]) => r['is_a_template'] !== true && r['is_a_snapshot'] !== true && r['is_control_domain'] !== true && r['power_state'] === 'Halted')
    .sort((a, b) => String(a[1]['name_label']).localeCompare(String(b[1]['name_label'])))
  for (const [, vm] of vms) {
    const vbds = Array.isArray(vm['VBDs']) ? vm['VBDs'] : []
    const disk = vbds.map((b) => lab.objects.get('VBD')?.get(String(b))).find((b) => b?.['type'] === 'Disk')
    if (!disk) continue
    await lab.call('VDI.enable_cbt', [String(disk['VDI'])])
    return String(vm['name_label'])
  }
  return undefined
}

function hasDesktop(): boolean {
  if (process.platform !== 'linux') return true
  return Boolean(process.env['DISPLAY'] || process.env['WAYLAND_DISPLAY'])
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xenpilot-demo-'))
  let sim: SimControl | undefined
  let browser: BrowserMode | undefined
  let electron: ChildProcess | undefined
  let stopping = false

  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true
      const hard = setTimeout(() => process.exit(code || 1), 15_000)
      hard.unref()
      electron?.kill('SIGTERM')
      await browser?.close().catch((e: unknown) => log(`stopping XenPilot: ${(e as Error).message}`))
      await sim?.stop().catch((e: unknown) => log(`stopping the simulator: ${(e as Error).message}`))
      rmSync(dataDir, { recursive: true, force: true })
    }
    process.exit(code)
  }
  process.on('SIGINT', () => void stop(0))
  process.on('SIGTERM', () => void stop(0))

  try {
    log(`demo data in ${dataDir}; removed when the demo stops`)
    log('starting the XAPI simulator (demo fleet)…')
    sim = await startSimulator({ fleet: buildFleet('demo') })
    // exports and imports at 32 MiB/s: their progress can be watched in the Transfers tab
    for (const p of sim.pools) setTransferRate(p, 32 * 1024 * 1024)
    const seed = seedFromSimulator(sim, { ssh: true })
    // SSH switched off on one Production host: its Terminal tab offers "Enable SSH for N minutes" (XAPI ≥ 25.21)
    const prod = sim.pools.find((p) => p.name === 'Production')
    const off = prod?.hosts.find((h) => h.name === 'xs-prod-04')
    if (prod && off) await prod.call('host.disable_ssh', [off.ref])
    log(`simulated sshd on port ${sim.sshPort} of every host (user root, the pool's password); SSH is off on xs-prod-04 until enabled from its Terminal tab`)
    // beside the app's start (XAPI takes a moment for it): long before anyone opens the Migrate wizard
    void enableDemoCbt(sim).then(
      (cbt) => cbt && log(`changed block tracking is on for the disk of ${cbt} in Lab (as a backup tool leaves it): Migrate VM… to Production offers to turn it off`),
      (e: unknown) => log(`turning changed block tracking on in Lab: ${e instanceof Error ? e.message : String(e)}`),
    )
    log(`simulator: ${sim.pools.map((p) => `${p.name} at ${p.masterUrl}`).join(', ')}`)

    const electronBinary = findElectronBinary()
    if (electronBinary.ok && hasDesktop()) {
      const seedFile = join(dataDir, 'demo-seed.json')
      writeFileSync(seedFile, JSON.stringify(seed), { mode: 0o600 })
      if (!existsSync(join(root, 'out/main/index.js')) || rendererIsStale(root)) {
        log('building the app (electron-vite build)…')
        const b = spawnSync('npx', ['electron-vite', 'build'], { cwd: root, stdio: ['ignore', 2, 2] })
        if (b.status !== 0) throw new Error('electron-vite build failed')
      }
      log('starting XenPilot (Electron)…')
      electron = spawn(electronBinary.path, [root], {
        cwd: root,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, XENPILOT_USER_DATA: join(dataDir, 'app'), XENPILOT_CONNECT_DEMO: seedFile },
      })
      electron.on('exit', (code) => void stop(code ?? 0))
      return
    }
    log(electronBinary.ok ? 'no desktop to show an Electron window: browser mode' : `${electronBinary.reason} (${electronBinary.checked}): browser mode`)

    if (!process.argv.includes('--no-renderer-build')) ensureRendererBuilt(root, log)
    browser = await startBrowserMode({ dataDir: join(dataDir, 'app'), staticDir: join(root, 'renderer/dist'), seed, log })
    process.stdout.write(`${browser.url}\n`)
    log(`XenPilot (browser mode) is at the URL above; Ctrl-C stops the app and the simulator.`)
    if (hasDesktop() && process.platform === 'linux') {
      const opener = spawn('xdg-open', [browser.url], { stdio: 'ignore', detached: true })
      opener.on('error', () => log('xdg-open is not available: open the URL yourself'))
      opener.unref()
    }
  } catch (err) {
    log(`demo failed: ${err instanceof Error ? err.message : String(err)}`)
    await stop(1)
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) void main()
