/**
 * `npm start` (electron-vite dev) and `npm run dist` (electron-vite build): three bundles for
 * electron@45 —
 *   out/main/index.js        main/app/main.ts (ESM; deps stay in node_modules)
 *   out/main/worker.js       main/cache/worker.ts, the cache's writer thread: main/cache/backend.ts
 *                            loads it as `./worker.js` next to the bundle (import.meta.url)
 *   out/preload/preload.cjs  main/app/preload.ts (CommonJS: a sandboxed preload cannot be ESM)
 *   out/renderer/            renderer/ (the same Vue app browser mode serves)
 */
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'electron-vite'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('.', import.meta.url))
/** where the bundles go; tests build into a folder of their own inside the repo (XENPILOT_OUT_DIR) */
const out = process.env.XENPILOT_OUT_DIR ? resolve(root, process.env.XENPILOT_OUT_DIR) : resolve(root, 'out')

export default defineConfig({
  main: {
    build: {
      outDir: resolve(out, 'main'),
      rollupOptions: { input: { index: resolve(root, 'main/app/main.ts'), worker: resolve(root, 'main/cache/worker.ts') } },
    },
  },
  preload: {
    build: {
      outDir: resolve(out, 'preload'),
      // Sandboxed preloads get a bundled CommonJS file, no node_modules access.
      externalizeDeps: false,
      rollupOptions: {
        input: { preload: resolve(root, 'main/app/preload.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    base: './',
    plugins: [vue()],
    build: {
      outDir: resolve(out, 'renderer'),
      target: 'es2022',
      rollupOptions: { input: { index: resolve(root, 'renderer/index.html') } },
    },
  },
})
