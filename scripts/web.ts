/**
 * `npm run web -- [--port P] [--data-dir DIR] [--connect-demo FILE]`: browser mode from the
 * sources. Builds renderer/dist first when it is missing or older than its sources (output on
 * stderr, so the first stdout line stays the URL), then runs the product's CLI (main/web/cli.ts).
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseWebCliArgs, runWebCli } from '../main/web/cli'
import { ensureRendererBuilt } from './renderer-build'

const argv = process.argv.slice(2)
const log = (line: string): void => void process.stderr.write(`${line}\n`)
try {
  if (!parseWebCliArgs(argv).customStaticDir) ensureRendererBuilt(join(dirname(fileURLToPath(import.meta.url)), '..'), log)
  await runWebCli(argv)
} catch (err) {
  log(`XenPilot browser mode could not start: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
}
