/**
 * Issue 12 item 7: on a host whose XAPI lacks a call the NUMA view uses, XAPI answers
 * MESSAGE_METHOD_UNKNOWN; the tab says so in a sentence (as for other legacy hosts) and shows
 * what XAPI reports, never the raw code.
 */
import { describe, expect, it } from 'vitest'
import { numaModule } from '../../../main/services/numa'
import type { PoolDiff } from '../../../shared/model/diff'
import { FakePools } from '../../integration/contract/fake-pools'

class OldXapi extends FakePools {
  override snapshot(id: string): PoolDiff | undefined {
    return {
      connectionId: id,
      seq: 1,
      reset: true,
      removes: [],
      upserts: [
        { cls: 'host', ref: 'OpaqueRef:h', record: { uuid: 'h-uuid', name_label: 'xs72-host', address: '', cpu_info: { cpu_count: '8', socket_count: '1' }, software_version: { xapi: '1.20' } } },
      ],
    }
  }
  override async call(...args: unknown[]): Promise<unknown> {
    const method = String(args[1])
    throw { code: 'MESSAGE_METHOD_UNKNOWN', params: [method], message: `MESSAGE_METHOD_UNKNOWN ${method}` }
  }
}

describe('NUMA tab on a host without the newer calls', () => {
  it('says in a sentence that this XAPI does not offer the call, and falls back to what XAPI reports', async () => {
    const pools = new OldXapi()
    const numa = numaModule()({ pools, broadcast: () => {}, log: () => {} })
    const handler = numa.handlers['numa.host']
    if (!handler) throw new Error('no numa.host')
    const { model } = (await handler({ connectionId: 'c', hostRef: 'OpaqueRef:h' }, { emit: () => {}, subscribeObjects: () => {} } as never)) as { model: { plugin: { status: string; message?: string }; notes: string[]; cpuCount: { source: string } } }
    const said = [model.plugin.message ?? '', ...model.notes].join(' ')
    expect(said).not.toMatch(/MESSAGE_METHOD_UNKNOWN/)
    expect(model.plugin).toMatchObject({ status: 'unsupported', message: expect.stringMatching(/XAPI .*does not (know|offer) host\.call_plugin/) })
    expect(model.cpuCount.source).toBe('xapi')
  })
})
