/**
 * Development tooling: browser mode serves the BUILT renderer (renderer/dist). Before serving,
 * `npm run web` (scripts/web.ts) and `npm run demo` rebuild it when it is missing or older than
 * its sources, with the build's output on stderr so the first stdout line stays the URL. The
 * product's CLI (main/web/cli.ts, shipped as out/web/cli.js) never builds anything.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  let newest = st.mtimeMs
  for (const entry of readdirSync(path)) if (entry !== 'node_modules' && entry !== 'dist') newest = Math.max(newest, newestMtime(join(path, entry)))
  return newest
}

/** renderer/dist must exist and be newer than everything it is built from (renderer/, shared/). */
export function rendererIsStale(root: string): boolean {
  const built = join(root, 'renderer/dist/index.html')
  if (!existsSync(built)) return true
  const sources = Math.max(newestMtime(join(root, 'renderer/src')), newestMtime(join(root, 'renderer/index.html')), newestMtime(join(root, 'renderer/vite.config.ts')), newestMtime(join(root, 'shared')))
  return sources > statSync(built).mtimeMs
}

/** Build renderer/dist if stale; build output goes to stderr. Throws when the build fails. */
export function ensureRendererBuilt(root: string, log: (line: string) => void): void {
  if (!rendererIsStale(root)) return
  log('building the renderer (vite build --config renderer/vite.config.ts)…')
  const r = spawnSync('npx', ['vite', 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'], { cwd: root, stdio: ['ignore', 2, 2] })
  if (r.status !== 0) throw new Error('the renderer build failed (see above); fix it or run `npm run build:renderer` to see why')
}
