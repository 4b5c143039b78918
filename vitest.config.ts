import { defineConfig } from 'vitest/config'

// One runner for everything `npm test` runs: unit (pure code), integration (real HTTPS simulator,
// real SQLite, real VNC servers) and e2e (the built renderer in Debian's Chromium, browser mode).
export default defineConfig({
  test: {
    environment: 'node',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'] } },
      // seeded fuzzing of what pools send (FUZZ_SEED=<n> reproduces a failure it names)
      { extends: true, test: { name: 'fuzz', include: ['test/fuzz/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], maxWorkers: 1 } },
    ],
  },
})
