/**
 * The app process of the benches that drive the app from a page (coldstart.bench.ts,
 * app-memory.bench.ts; started through app-process.ts): `<entry> <dataDir> <staticDir>`. Run
 * bundled the way `npm run build:web` bundles browser mode (web.vite.config.ts, plus this entry:
 * `node <out>/web/bench-app.js`, the cache's writer thread as worker.js next to it — what ships),
 * or (coldstart's run 3) from the TypeScript sources under tsx (`node --import tsx
 * test/bench/bench-app.ts` — what `npm run web` runs in development).
 *
 * Its modules are imported statically (so they are loaded before the first line is read); on 'go'
 * it starts the runtime and the web door and answers `url <url> <runtime ms>`; on 'mem' answers
 * its memory usage; on 'cache' the cache's status; on 'pools' the connections (id, status, the
 * certificate presented); on 'watch <id> <vms>' answers once, when that pool's graph holds that
 * many VMs: `synced {connectedAt, syncedAt, vms, graphObjects}` (epoch ms, performance.timeOrigin
 * based; the graph polled every 20 ms, as app-memory did in its own process before); on 'gc' runs
 * a full GC if node was started with --expose-gc and answers `gc true|false`; on 'exit' closes.
 * Nothing else runs in it, so its RSS and its event loop are the app's alone (app-memory's 'watch'
 * polling aside).
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
  const epochNow = (): number => performance.timeOrigin + performance.now()
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
    else if (line === 'pools') say(`pools ${JSON.stringify((runtime?.pools.list() ?? []).map((p) => ({ id: p.id, status: p.status, fingerprint256: p.certificate?.fingerprint256 ?? null })))}`)
    else if (line.startsWith('watch ')) {
      const [, id = '', want = '0'] = line.split(' ')
      const pools = runtime?.pools
      if (!pools) throw new Error("'watch' before 'go'")
      const vmCount = (): number => {
        let n = 0
        for (const r of pools.graph(id)?.all('VM').values() ?? []) if (r.is_a_template !== true && r.is_a_snapshot !== true && r.is_control_domain !== true) n++
        return n
      }
      let connectedAt = 0
      const off = pools.onState((s) => {
        if (s.id === id && connectedAt === 0 && s.status === 'connected') connectedAt = epochNow()
      })
      const poll = setInterval(() => {
        const vms = vmCount()
        if (vms < Number(want)) return
        clearInterval(poll)
        off()
        say(`synced ${JSON.stringify({ connectedAt, syncedAt: epochNow(), vms, graphObjects: pools.graph(id)?.size ?? 0 })}`)
      }, 20)
    } else if (line === 'gc') {
      const gc = (globalThis as { gc?: () => void }).gc
      gc?.()
      say(`gc ${String(Boolean(gc))}`)
    } else if (line === 'exit') break
  }
  await close?.()
  process.exit(0)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dataDir, staticDir] = process.argv.slice(2)
  if (!dataDir || !staticDir) {
    process.stderr.write('usage: bench-app <dataDir> <staticDir>\n')
    process.exit(2)
  }
  await app(dataDir, staticDir)
}
