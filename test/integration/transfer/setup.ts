/**
 * The set-up every transfer integration test shares: the HTTPS simulator with a fleet, a PoolManager
 * connected (trusting) to the pools named, main's transfer module over it, and a temporary folder
 * for the files. `setUpTransfers` registers its own beforeAll/afterAll; the simulator's pools and the
 * connection ids are there once the tests run.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { methods, type MethodName } from '../../../shared/contract'
import type { TransferState } from '../../../shared/contract/transfer'
import { MemoryHistory } from '../../../main/services/operations'
import { transferModule } from '../../../main/services/transfer'
import { startSimulator } from '../../sim'
import type { SimControl, SimFleet, SimPoolHandle } from '../../sim/model'
import { connectTrusted, makeManager, waitFor, type Harness } from '../pools/helpers'

export interface TransferSetup {
  readonly h: Harness
  /** the temporary folder the tests write their files in (removed afterwards) */
  readonly dir: string
  /** the simulator's pool and the connection id of a pool named in `pools` */
  pool(name: string): SimPoolHandle
  id(name: string): string
  /** the last state of every transfer (transfer.changed), by id */
  readonly states: Map<string, TransferState>
  /** a contract method of the transfer module, its arguments parsed as main's door does */
  callContract<T>(method: MethodName, args: unknown): Promise<T>
  /** the transfer's state once it is done, failed or cancelled */
  ended(t: TransferState, timeoutMs?: number): Promise<TransferState>
}

export function setUpTransfers(opts: {
  fleet: () => SimFleet
  pools: readonly string[]
  /** the temporary folder's name starts with this */
  dirPrefix: string
  /** every event the module broadcasts (after `states` has the transfer's) */
  onEvent?: (event: string, payload: unknown) => void
}): TransferSetup {
  let sim: SimControl | undefined
  const h = makeManager()
  const dir = mkdtempSync(join(tmpdir(), opts.dirPrefix))
  const ids = new Map<string, string>()
  const states = new Map<string, TransferState>()
  let handlers: Record<string, (a: unknown, c: never) => unknown> = {}
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`the transfer set-up has no ${what} (read it inside a test)`)
    return v
  }

  beforeAll(async () => {
    sim = await startSimulator({ fleet: opts.fleet() })
    for (const name of opts.pools) ids.set(name, await connectTrusted(h, sim.pool(name)))
    const mod = transferModule({ history: new MemoryHistory(), hosts: h.manager })({
      pools: h.manager,
      broadcast: (event, payload) => {
        if (event === 'transfer.changed') states.set((payload as TransferState).id, payload as TransferState)
        opts.onEvent?.(event, payload)
      },
      log: () => {},
    })
    handlers = mod.handlers as unknown as typeof handlers
  }, 120_000)

  afterAll(async () => {
    await h.close()
    await sim?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  return {
    h,
    dir,
    pool: (name) => ready(sim, 'simulator').pool(name),
    id: (name) => ready(ids.get(name), `connection to ${name}`),
    states,
    async callContract<T>(method: MethodName, args: unknown): Promise<T> {
      const handler = handlers[method]
      if (!handler) throw new Error(`no handler for ${method}`)
      return (await handler(methods[method].args.parse(args), undefined as never)) as T
    },
    ended: (t, timeoutMs = 120_000) =>
      waitFor(
        `transfer ${t.title} to end`,
        () => {
          const s = states.get(t.id)
          return s && (s.status === 'done' || s.status === 'failed' || s.status === 'cancelled') ? s : undefined
        },
        timeoutMs,
      ),
  }
}
