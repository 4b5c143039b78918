/**
 * `npm run bench`: runs every test/bench/*.bench.ts (or those named on the command line) one after
 * another in its own process, so each gets a clean heap; each prints `BENCH {...}` lines.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = dirname(fileURLToPath(import.meta.url))
const wanted = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort()
let failed = 0
for (const f of files) {
  console.log(`# ${f}`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(dir, f)], { stdio: 'inherit' })
  if (r.status !== 0) {
    failed++
    console.log(`# ${f} exited with ${r.status ?? r.signal}`)
  }
}
process.exit(failed ? 1 : 0)
