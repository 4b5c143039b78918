import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('.', import.meta.url))

// The renderer is served from disk by Electron (file://) and by browser mode (http): relative base.
export default defineConfig({
  root,
  base: './',
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // loaded from disk or loopback, never over a network: one bundle is fine (noVNC included)
    chunkSizeWarningLimit: 1500,
  },
})
