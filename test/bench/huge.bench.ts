/**
 * Scale ×5 (issue 20, `npm run bench huge`): the `huge` fleet — 200 pools × 2 hosts × 500 VMs,
 * 100,000 VMs — through the same cold start as P3 (test/bench/coldstart.bench.ts, which says what
 * each figure is), lines named `huge.coldstart.*`, goals: the tree interactive ≤ 1 s, every VM in
 * the page ≤ 10 s, main + page renderer RSS after settling ≤ 1 GB. The many-pools figures of the
 * same machine are the baseline: `npm run bench coldstart` in the same session.
 */
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, 'coldstart.bench.ts'), 'huge'], { stdio: 'inherit' })
process.exit(r.status ?? 1)
