/**
 * The console's share of the contract: console.open / console.close / console.popout, and the
 * console.ended event. The bridge is started before the doors so a door can put its WebSocket
 * origin into the page's CSP (browser mode: `extraConnectSrc: [consoles.wsOrigin]`) and, once its
 * own origin is known, allow it (`consoles.bridge.allowOrigin(web.origin)`).
 *
 *   const consoles = await startConsoleService({ pools: manager, hostAccess: manager })
 *   const web = await startWebServer({ services: createServices({ …, modules: [consoles.module] }),
 *                                      extraConnectSrc: [consoles.wsOrigin], … })
 *   consoles.bridge.allowOrigin(web.origin)
 */
import type { ConsoleTargetArgs, consoleMethods } from '../../shared/contract/console'
import { ConsoleBridge } from '../console/bridge'
import { ConsoleError } from '../console/errors'
import { PoolConsoleSource } from '../console/pool-source'
import type { PoolHostAccess, PoolManagerApi } from '../pools/api'
import type { EventSink, ModuleFactory, ServiceModule, ServiceModuleContext } from './module'

export interface ConsoleServiceOptions {
  pools: PoolManagerApi
  hostAccess: PoolHostAccess
  /** page origins allowed to open console WebSockets (more can be added with bridge.allowOrigin) */
  allowedOrigins?: string[]
  /** Electron only: open the console in its own window (main/app/console-window.ts) */
  popout?: (target: ConsoleTargetArgs) => Promise<void>
  /** fixed port for the bridge (default: a free one) */
  port?: number
  log?: (line: string) => void
}

export interface ConsoleService {
  bridge: ConsoleBridge
  /** ws://127.0.0.1:PORT, for the page's CSP connect-src */
  wsOrigin: string
  /** pass in ServicesDeps.modules */
  module: ModuleFactory<keyof typeof consoleMethods>
}

export async function startConsoleService(opts: ConsoleServiceOptions): Promise<ConsoleService> {
  let broadcast: EventSink | undefined
  const bridge = new ConsoleBridge({
    source: new PoolConsoleSource(opts.pools, opts.hostAccess),
    allowedOrigins: opts.allowedOrigins ?? [],
    onEnded: (consoleId, reason) => broadcast?.('console.ended', { consoleId, reason }),
    log: opts.log,
  })
  const { origin } = await bridge.listen(opts.port ?? 0)
  // a pool the user disconnects takes its consoles with it (a reconnecting pool keeps them: the
  // host may still be there even when the master is not)
  const unsubscribe = opts.pools.onState((state) => {
    if (state.status === 'disconnected' || state.status === 'auth-failed' || state.status === 'cert-changed' || state.status === 'password-needed') {
      bridge.closeConnection(state.id, `the pool connection is ${state.status}`)
    }
  })
  const module = (ctx: ServiceModuleContext): ServiceModule<keyof typeof consoleMethods> => {
    broadcast = ctx.broadcast
    return {
      handlers: {
        'console.open': (args) => bridge.open(args),
        'console.close': (args) => {
          bridge.close(args.consoleId)
          return null
        },
        'console.popout': async (args) => {
          if (!opts.popout) throw new ConsoleError('not-supported', 'Pop-out windows are made by the desktop app; in a browser the console opens in a new tab.')
          await opts.popout(args)
          return null
        },
      },
      close: () => {
        unsubscribe()
        return bridge.stop()
      },
    }
  }
  return { bridge, wsOrigin: origin, module }
}
