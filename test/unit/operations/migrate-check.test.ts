/**
 * migrate.check asks XAPI about many servers for one VM (issue 17: the wizard's checks are VMs ×
 * servers): main asks at most CHECKS_AT_ONCE servers at once, and each answer is that server's.
 */
import { describe, expect, it } from 'vitest'
import { CHECKS_AT_ONCE, MigrationRunner } from '../../../main/operations/migrate'
import type { ActionRunner } from '../../../main/operations/action'
import type { PoolManagerApi } from '../../../main/pools/api'

describe('MigrationRunner.check', () => {
  it(`asks at most ${CHECKS_AT_ONCE} servers at once, answering each server with its own verdict`, async () => {
    let now = 0
    let most = 0
    const graph = { get: () => undefined, all: () => new Map() }
    const pools = {
      graph: () => graph,
      get: () => undefined,
      list: () => [],
      call: async (_id: string, method: string, params: unknown[]) => {
        if (method !== 'host.migrate_receive') return undefined
        now++
        most = Math.max(most, now)
        await new Promise((r) => setTimeout(r, 5))
        now--
        if (params[0] === 'OpaqueRef:h-7') throw Object.assign(new Error('HOST_DISABLED'), { code: 'HOST_DISABLED', params: ['OpaqueRef:h-7'] })
        return { session_id: 'x' }
      },
    } as unknown as PoolManagerApi
    const runner = new MigrationRunner({} as ActionRunner, pools, { append: () => undefined })
    const hosts = Array.from({ length: 12 }, (_, i) => `OpaqueRef:h-${i}`)
    const answers = await runner.check({ connectionId: 'a', vm: 'OpaqueRef:vm', destConnectionId: 'b', network: 'OpaqueRef:net', vdiMap: {}, vifMap: {}, hosts })
    expect(most).toBe(CHECKS_AT_ONCE)
    expect(answers.map((a) => a.host)).toEqual(hosts)
    expect(answers.filter((a) => !a.ok).map((a) => [a.host, a.error?.code])).toEqual([['OpaqueRef:h-7', 'HOST_DISABLED']])
  })
})
