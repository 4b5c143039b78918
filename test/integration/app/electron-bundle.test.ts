/**
 * The Electron build (electron-vite, the bundles `npm run dist` packages) — what can be checked
 * without an Electron binary: the main bundle carries the cache's writer thread as its own entry
 * (out/main/worker.js, which main/cache/backend.ts loads next to the bundle), and that entry really
 * runs: a cache opened with it writes through the worker, in plain Node, to a real SQLite file.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { pathToFileURL, fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectBundledWorkerWrites } from './bundled-worker'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..')
// inside the repo, so the bundle resolves better-sqlite3 from the project's node_modules as it does in out/
const OUT = join(ROOT, 'test/.tmp', `electron-out-${process.pid}`)

describe('electron-vite build', () => {
  beforeAll(() => {
    mkdirSync(dirname(OUT), { recursive: true })
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build', '--logLevel', 'error'], {
      cwd: ROOT,
      env: { ...process.env, XENPILOT_OUT_DIR: OUT },
      encoding: 'utf8',
      timeout: 180_000,
    })
    if (r.status !== 0) throw new Error(`electron-vite build failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`)
  }, 200_000)
  afterAll(() => rmSync(OUT, { recursive: true, force: true }))

  it('emits the main process, its cache writer thread, the sandboxed preload (CommonJS) and the renderer', () => {
    expect(existsSync(join(OUT, 'main/index.js'))).toBe(true)
    expect(existsSync(join(OUT, 'main/worker.js'))).toBe(true)
    expect(readFileSync(join(OUT, 'preload/preload.cjs'), 'utf8')).toContain('contextBridge')
    expect(readdirSync(join(OUT, 'renderer'))).toContain('index.html')
    // the worker must run in a worker thread of Electron's main process: nothing of Electron in it
    const workerFiles = [join(OUT, 'main/worker.js'), ...readdirSync(join(OUT, 'main/chunks')).map((f) => join(OUT, 'main/chunks', f))]
    for (const f of workerFiles) expect(readFileSync(f, 'utf8'), f).not.toMatch(/from ["']electron["']/)
    // main/cache/backend.ts resolves `./worker.js` against its own file: that code must be in
    // index.js itself — in chunks/ it would look for chunks/worker.js and quietly write inline
    expect(readFileSync(join(OUT, 'main/index.js'), 'utf8')).toContain('new URL(`./worker${ext}`, import.meta.url)')
  })

  it('the bundled writer thread writes the cache to disk, and a reopened cache reads it back', async () => {
    const dataDir = join(OUT, 'data')
    const workerUrl = pathToFileURL(join(OUT, 'main/worker.js'))
    await expectBundledWorkerWrites(workerUrl, dataDir)
  })
})
