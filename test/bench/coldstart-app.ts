/**
 * The app process of the coldstart bench (coldstart.bench.ts): `<entry> <dataDir> <staticDir>`.
 * Run two ways, so both figures exist: bundled the way `npm run build:web` bundles browser mode
 * (web.vite.config.ts, plus this entry: `node <out>/web/coldstart-app.js`, the cache's writer
 * thread as worker.js next to it — what ships), and from the TypeScript sources under tsx (`node
 * --import tsx test/bench/coldstart-app.ts` — what `npm run web` runs in development).
 *
 * Its modules are imported statically (so they are loaded before the first line is read); on 'go'
 * it starts the runtime and the web door and answers `url <url> <runtime ms>`; on 'mem' answers
 * its memory usage; on 'cache' the cache's status; on 'exit' closes. Nothing else runs in it, so its
 * RSS and its event loop are the app's alone.
 */
import { createInterface } from 'node:readline'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { MemoryKeychain } from '../../main/pools/keychain'
import { memoryKeychainStatus } from '../../main/services/keychain-status'
import { startRuntime, type Runtime } from '../../main/services/runtime'
import { startWebServer } from '../../main/web/server'

async function app(dataDir: string, staticDir: string): Promise<void> {
  let close: (() => Promise<void>) | undefined
  let runtime: Runtime | undefined
  const say = (line: string): void => void process.stdout.write(`${line}\n`)
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'go') {
      const t0 = performance.now()
      const rt = await startRuntime({
        dataDir,
        mode: 'browser',
        keychain: new MemoryKeychain(),
        keychainStatus: memoryKeychainStatus(),
        appVersion: '0.0.0-bench',
        versions: { node: process.versions.node },
        log: () => undefined,
        connectOnStart: false,
      })
      runtime = rt
      const runtimeMs = performance.now() - t0
      const web = await startWebServer({ services: rt.services, staticDir, extraConnectSrc: [rt.consoles.wsOrigin], log: () => undefined })
      close = async () => {
        await web.close().catch(() => undefined)
        await rt.close().catch(() => undefined)
      }
      say(`url ${web.url} ${runtimeMs}`)
    } else if (line === 'mem') say(`mem ${JSON.stringify(process.memoryUsage())}`)
    else if (line === 'cache') say(`cache ${JSON.stringify(runtime?.cache?.status() ?? null)}`)
    else if (line === 'exit') break
  }
  await close?.()
  process.exit(0)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dataDir, staticDir] = process.argv.slice(2)
  if (!dataDir || !staticDir) {
    process.stderr.write('usage: coldstart-app <dataDir> <staticDir>\n')
    process.exit(2)
  }
  await app(dataDir, staticDir)
}
