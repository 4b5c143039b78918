/**
 * `npm test`: type-check, then every vitest project (unit, integration, fuzz, e2e), then one plain line
 * `N passed, N failed` (CI reads it). Type errors count as one failed check.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'

const extra = process.argv.slice(2)
let passed = 0
let failed = 0
let skipped = 0

const tc = spawnSync('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit'], { stdio: 'inherit' })
if (tc.status === 0) passed++
else failed++
if (existsSync('renderer/tsconfig.json')) {
  const vtc = spawnSync('npx', ['vue-tsc', '-p', existsSync('renderer/tsconfig.tests.json') ? 'renderer/tsconfig.tests.json' : 'renderer/tsconfig.json', '--noEmit'], { stdio: 'inherit' })
  if (vtc.status === 0) passed++
  else failed++
}

const out = '.test-results.json'
rmSync(out, { force: true })
const run = spawnSync('npx', ['vitest', 'run', '--passWithNoTests', '--reporter=default', '--reporter=json', `--outputFile=${out}`, ...extra], {
  stdio: 'inherit',
})
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number; testResults: { status: string; assertionResults: unknown[] }[] }
  passed += r.numPassedTests
  failed += r.numFailedTests
  skipped += r.numPendingTests + r.numTodoTests
  // A test file that fails to load has no assertion results: count it as a failure.
  failed += r.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length
} else if (run.status !== 0) {
  failed++
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failed > 0 ? 1 : 0)
