/**
 * main/services beyond what the doors show: modules contribute handlers, failures of every kind
 * become ContractErrors with sentences, results are checked against the contract, and pool diffs
 * are passed on as they come (no per-event copying or re-validation).
 */
import { describe, expect, it } from 'vitest'
import type { PoolDiff } from '../../../shared/model/diff'
import { createServices, ServiceError, toContractError, type EventSink } from '../../../main/services'
import { memoryKeychainStatus } from '../../../main/services/keychain-status'
import { memorySettingsStore } from '../../../main/services/settings'
import { FakePools } from '../../integration/contract/fake-pools'

function setup(modules: Parameters<typeof createServices>[0]['modules'] = []) {
  const pools = new FakePools()
  const logs: string[] = []
  const services = createServices({
    pools,
    settings: memorySettingsStore(),
    keychain: memoryKeychainStatus(),
    app: { name: 'XenPilot', version: 't', mode: 'browser', versions: {} },
    modules,
    log: (l) => logs.push(l),
  })
  const events: { event: string; payload: unknown }[] = []
  const emit: EventSink = (event, payload) => events.push({ event, payload })
  const session = services.openSession(emit)
  const attempt = (method: string, args: unknown) =>
    session.call(method, args).then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error: toContractError(error) }),
    )
  return { pools, services, session, events, logs, attempt }
}

describe('the services', () => {
  it('run a module’s handler for its contract method', async () => {
    const { attempt } = setup([() => ({ handlers: { 'console.close': () => null } })])
    expect(await attempt('console.close', { consoleId: 'c1' })).toEqual({ ok: true, result: null })
  })

  it('answer not-implemented for a method no module registered, and say so once in the log', async () => {
    const { attempt, logs } = setup()
    const r = await attempt('console.close', { consoleId: 'c1' })
    expect(r).toMatchObject({ ok: false, error: { code: 'not-implemented' } })
    expect(logs.filter((l) => l.includes('no module registered'))).toHaveLength(1)
  })

  it('pass a XAPI failure through with its code and params', async () => {
    const { attempt } = setup([
      () => ({
        handlers: {
          'console.close': () => {
            throw { code: 'VM_BAD_POWER_STATE', params: ['OpaqueRef:1', 'running', 'halted'], message: 'The VM web-01 must be running, but it is halted.' }
          },
        },
      }),
    ])
    expect(await attempt('console.close', { consoleId: 'c' })).toEqual({
      ok: false,
      error: { code: 'VM_BAD_POWER_STATE', params: ['OpaqueRef:1', 'running', 'halted'], message: 'The VM web-01 must be running, but it is halted.' },
    })
  })

  it('turn a bug in a handler into an internal error with its message, and log the stack', async () => {
    const { attempt, logs } = setup([
      () => ({
        handlers: {
          'console.close': () => {
            throw new TypeError('cannot read properties of undefined')
          },
        },
      }),
    ])
    expect(await attempt('console.close', { consoleId: 'c' })).toEqual({ ok: false, error: { code: 'internal', message: 'cannot read properties of undefined' } })
    expect(logs.some((l) => l.includes('console.close failed') && l.includes('TypeError'))).toBe(true)
  })

  it('pass a refusal (a plain Error) on as failed with its sentence', async () => {
    const { attempt, logs } = setup([
      () => ({
        handlers: {
          'console.close': () => {
            throw new Error('the host now presents another certificate; review it again')
          },
        },
      }),
    ])
    expect(await attempt('console.close', { consoleId: 'c' })).toEqual({ ok: false, error: { code: 'failed', message: 'the host now presents another certificate; review it again' } })
    expect(logs.some((l) => l.includes('console.close refused'))).toBe(true)
  })

  it('refuse to hand the renderer a result that does not match the contract', async () => {
    const { attempt, logs } = setup([() => ({ handlers: { 'console.close': () => ({ sessionId: 'OpaqueRef:secret' }) as unknown as null } })])
    const r = await attempt('console.close', { consoleId: 'c' })
    expect(r).toMatchObject({ ok: false, error: { code: 'internal' } })
    expect(JSON.stringify(r)).not.toContain('OpaqueRef:secret')
    expect(logs.some((l) => l.includes('does not match the contract'))).toBe(true)
  })

  it('strip fields the contract does not declare from results, so nothing extra reaches the renderer', async () => {
    const { pools, attempt } = setup()
    await pools.add({ address: 'pool.example', username: 'root', password: 'pw', rememberPassword: false })
    const original = pools.list.bind(pools)
    pools.list = () => original().map((c) => Object.assign({}, c, { sessionId: 'OpaqueRef:secret-session' }))
    const r = await attempt('connections.list', {})
    expect(r.ok).toBe(true)
    expect(JSON.stringify(r)).not.toContain('secret-session')
  })

  it('forward each pool diff object as it is, only to sessions that subscribed', async () => {
    const { pools, services, session, events } = setup()
    const quiet: unknown[] = []
    services.openSession((e, p) => quiet.push([e, p]))
    await session.call('objects.subscribe', {})
    const diff: PoolDiff = { connectionId: 'c', seq: 7, reset: false, upserts: [], removes: [{ cls: 'VM', ref: 'OpaqueRef:x' }] }
    ;(pools as unknown as { emitDiff(d: PoolDiff): void }).emitDiff(diff)
    const got = events.filter((e) => e.event === 'pool.diff')
    expect(got).toHaveLength(1)
    expect(got[0]?.payload).toBe(diff) // the same object: no per-event copy or re-validation
    expect(quiet.filter((q) => (q as [string])[0] === 'pool.diff')).toHaveLength(0)
  })

  it('refuse calls on a closed session, and stop listening to the pools when closed', async () => {
    const { pools, services, session, events } = setup()
    session.close()
    await expect(session.call('app.info', {})).rejects.toBeInstanceOf(ServiceError)
    await services.close()
    expect(pools.closed).toBe(true)
    await pools.add({ address: 'a.example', username: 'root', password: '', rememberPassword: false })
    expect(events).toEqual([])
  })
})
