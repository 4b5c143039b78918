/**
 * `npm run build:web` (web.vite.config.ts): browser mode as bundled JavaScript, what a jump host
 * runs without the dev toolchain — `node out/web/cli.js`. Built here into a folder of its own and
 * started with plain node (no tsx): it prints its URL first, serves the contract, connects a
 * simulator pool and writes the pool's graph to the offline cache through the bundled writer
 * thread (out/web/worker.js, which main/cache/backend.ts loads next to the bundle), and stops on
 * SIGTERM, the cache holding the pool.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectBundledWorkerWrites } from '../app/bundled-worker'
import { openInventoryCache } from '../../../main/cache'
import { connectContract, seedFromSimulator } from '../../e2e/harness'
import { buildFleet } from '../../sim/fleet'
import { startSimulator } from '../../sim/index'
import type { SimControl } from '../../sim/model'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..')
// inside the repo, so the bundle resolves better-sqlite3, ssh2 (the host terminal), ws and zod from the project's node_modules as out/web does
const OUT = join(ROOT, 'test/.tmp', `web-out-${process.pid}`)
const CLI = join(OUT, 'web/cli.js')

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** open descriptors of a process on exactly this file (one per SQLite connection to it) */
function openDescriptors(pid: number, file: string): number {
  let n = 0
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === file) n++
    } catch {
      // closed meanwhile
    }
  }
  return n
}

describe('the browser-mode bundle (npm run build:web)', () => {
  let sim: SimControl | undefined
  const dirs: string[] = []
  const children: ChildProcessWithoutNullStreams[] = []
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'xenpilot-web-bundle-'))
    dirs.push(d)
    return d
  }

  beforeAll(() => {
    mkdirSync(dirname(OUT), { recursive: true })
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web.vite.config.ts', '--logLevel', 'error'], {
      cwd: ROOT,
      env: { ...process.env, XENPILOT_OUT_DIR: OUT },
      encoding: 'utf8',
      timeout: 180_000,
    })
    if (r.status !== 0) throw new Error(`vite build --config web.vite.config.ts failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`)
  }, 200_000)
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    await sim?.stop()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
    rmSync(OUT, { recursive: true, force: true })
  })

  it('emits the entry and the cache writer thread next to it; the dependencies stay in node_modules', () => {
    expect(existsSync(CLI)).toBe(true)
    expect(existsSync(join(OUT, 'web/worker.js'))).toBe(true)
    const code = [CLI, join(OUT, 'web/worker.js'), ...(existsSync(join(OUT, 'web/chunks')) ? readdirSync(join(OUT, 'web/chunks')).filter((f) => f.endsWith('.js')).map((f) => join(OUT, 'web/chunks', f)) : [])]
    const imported = new Set<string>()
    for (const f of code) for (const m of readFileSync(f, 'utf8').matchAll(/^import [^;]*?from "([^".][^"]*)"/gm)) if (m[1]) imported.add(m[1])
    // nothing of the dev toolchain, nothing of Electron; better-sqlite3 (native) loaded from node_modules
    expect(imported).toContain('better-sqlite3')
    // main/cache/backend.ts resolves `./worker.js` against its own file: it must be in cli.js, not in chunks/
    expect(readFileSync(CLI, 'utf8')).toContain('new URL(`./worker${ext}`, import.meta.url)')
    for (const m of imported) expect(m, m).toMatch(/^(node:|better-sqlite3$|ssh2$|ws$|zod$)/)
  })

  it('started with plain node: prints its URL, serves the contract, writes the cache through its writer thread, stops on SIGTERM', async () => {
    sim = await startSimulator({ fleet: buildFleet('tiny', { opDurationMs: 0 }) })
    const pool = sim.pools[0]
    if (!pool) throw new Error('the tiny fleet has no pool')
    const dataDir = tmp()
    const staticDir = tmp()
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>XenPilot</title>')
    const seedFile = join(tmp(), 'seed.json')
    writeFileSync(seedFile, JSON.stringify({ pools: seedFromSimulator(sim).pools.slice(0, 1) }))

    const child = spawn(process.execPath, [CLI, '--port', '0', '--data-dir', dataDir, '--static-dir', staticDir, '--connect-demo', seedFile], {
      cwd: tmp(),
      env: { ...process.env, XENPILOT_PASSPHRASE: '', NODE_OPTIONS: '' },
    })
    children.push(child)
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    const url = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const nl = out.indexOf('\n')
        if (nl >= 0) resolve(out.slice(0, nl))
      })
      child.on('exit', (code) => reject(new Error(`the bundle exited with ${code} before printing its URL; stderr: ${stderr}`)))
    })
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/)

    const api = await connectContract(url)
    expect(await api.call('keychain.state', {})).toMatchObject({ backend: 'memory', persistent: false })
    const [conn] = await api.call('connections.list', {})
    if (!conn) throw new Error('the seeded pool is not listed')
    await waitFor('the pool to connect', async () => ((await api.call('connections.list', {}))[0]?.status === 'connected' ? true : undefined))
    expect(await api.call('cache.status', {})).toMatchObject({ state: 'ok', path: join(dataDir, 'cache.sqlite'), problems: [] })

    // the writer thread keeps a connection of its own to the file: two descriptors on it
    // (inline — the fallback when worker.js cannot be loaded — writes through the one connection)
    const file = join(dataDir, 'cache.sqlite')
    const pid = child.pid
    if (pid === undefined) throw new Error('no pid')
    if (process.platform === 'linux') await waitFor('the cache writer thread to open the file', () => (openDescriptors(pid, file) >= 2 ? true : undefined))
    expect(await api.call('cache.status', {})).toMatchObject({ state: 'ok', problems: [] })
    api.close()

    child.kill('SIGTERM')
    expect(await exit).toBe(0)
    expect(stderr).toContain('SIGTERM')
    expect(stderr).not.toMatch(/cache: /)

    // what the writer thread wrote is in the file
    const cache = openInventoryCache({ dataDir, mode: 'inline' })
    try {
      const loaded = cache.load(conn.id)
      expect(loaded?.meta.poolName).toBe(pool.name)
      const vms = (loaded?.diff.upserts ?? []).filter((u) => u.cls === 'VM')
      expect(vms.length).toBeGreaterThan(0)
      expect(cache.status()).toMatchObject({ state: 'ok', problems: [] })
    } finally {
      await cache.close()
    }
  }, 90_000)

  it('its writer thread (out/web/worker.js) writes a cache opened with it: mode worker, read back after reopening', async () => {
    const dataDir = tmp()
    const workerUrl = pathToFileURL(join(OUT, 'web/worker.js'))
    await expectBundledWorkerWrites(workerUrl, dataDir)
  })
})
