/**
 * `npm run build:web`: browser mode as plain bundled JavaScript for Node ≥ 20 — what a jump host
 * runs without the dev toolchain (no tsx, no TypeScript): `node out/web/cli.js [--port P] [--data-dir DIR]`.
 *   out/web/cli.js      main/web/cli.ts (ESM; the runtime and the web door)
 *   out/web/worker.js   main/cache/worker.ts, the cache's writer thread: main/cache/backend.ts loads
 *                       it as `./worker.js` next to the bundle (import.meta.url), as out/main/worker.js
 *                       in the Electron build (electron.vite.config.ts) — same inputs, same layout
 *   out/web/chunks/     code both entries share
 * The packages in package.json "dependencies" (better-sqlite3 and its native addon, ws, zod…) stay
 * in node_modules, as in the Electron build. The page itself is renderer/dist (`npm run
 * build:renderer`, which build:web runs first), found two folders up from out/web/cli.js like from
 * main/web/cli.ts. To run elsewhere: copy out/web, renderer/dist, package.json and node_modules
 * (`npm ci --omit=dev` is enough) keeping that layout.
 */
import { readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig, type UserConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))
/** where the bundle goes; tests build into a folder of their own inside the repo (XENPILOT_OUT_DIR) */
const out = process.env.XENPILOT_OUT_DIR ? resolve(root, process.env.XENPILOT_OUT_DIR) : resolve(root, 'out')
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
const deps = Object.keys(pkg.dependencies ?? {})
const escaped = deps.map((d) => d.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))

/**
 * The build options for browser-mode entries (`name → source`); the cache's writer thread is always
 * added as `worker`. One entry besides the worker: then main/cache/backend.ts lands in the entry
 * file itself, never in a shared chunk, and its `./worker.js` (resolved against its own
 * import.meta.url) is the worker.js next to the entry. The coldstart bench builds its own app entry
 * with this instead of cli.
 */
export function webBuildConfig(entries: Record<string, string>): UserConfig {
  return {
    root,
    // nothing of the page here: no public dir, no .env prefixes leaking into the bundle
    publicDir: false,
    envPrefix: 'XENPILOT_WEB_BUILD_',
    logLevel: 'warn',
    build: {
      outDir: resolve(out, 'web'),
      emptyOutDir: true,
      target: 'node20',
      ssr: true,
      ssrEmitAssets: true,
      assetsDir: 'chunks',
      minify: false,
      sourcemap: true,
      copyPublicDir: false,
      modulePreload: false,
      reportCompressedSize: false,
      rolldownOptions: {
        input: { ...entries, worker: resolve(root, 'main/cache/worker.ts') },
        external: [...builtinModules.flatMap((m) => [m, `node:${m}`]), ...deps, ...(deps.length > 0 ? [new RegExp(`^(${escaped.join('|')})/.+`)] : [])],
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
      },
    },
    // bundle every module of ours (the dependencies above stay external)
    ssr: { noExternal: true, target: 'node' },
  }
}

export default defineConfig(webBuildConfig({ cli: resolve(root, 'main/web/cli.ts') }))
