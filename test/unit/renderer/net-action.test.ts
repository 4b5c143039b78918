/**
 * A networking action from a button (renderer/src/views/network/useNetAction.ts on useAction): a
 * refusal XAPI answered (`ok: false`) becomes the action's sentence with XAPI's code and parameters
 * for "Details"; a note that came with success is kept; a refusal main made itself ('refused',
 * 'offline') carries its code too shown under Details like XAPI’s.
 */
import { describe, expect, it } from 'vitest'
import { effectScope } from 'vue'
import type { NetworkResult } from '../../../shared/contract/network'
import { ApiError } from '../../../renderer/src/api/errors'
import { useNetAction } from '../../../renderer/src/views/network/useNetAction'

const inScope = <T>(fn: () => T): T => {
  const s = effectScope()
  const out = s.run(fn)
  if (out === undefined) throw new Error('no result')
  return out
}

describe('useNetAction', () => {
  it('turns XAPI’s refusal into a sentence with its code and parameters, and clears it on the next run', async () => {
    let answer: NetworkResult = {
      connectionId: 'c',
      ref: 'OpaqueRef:1',
      ok: false,
      error: { code: 'VLAN_TAG_INVALID', message: '5000 is not a valid VLAN tag: a tag is a whole number from 0 to 4094.', params: ['5000'] },
    }
    const a = inScope(() => useNetAction(() => Promise.resolve(answer)))
    expect(await a.run()).toBeUndefined()
    expect(a.action.error).toBe('5000 is not a valid VLAN tag: a tag is a whole number from 0 to 4094.')
    expect(a.action.detail).toEqual({ code: 'VLAN_TAG_INVALID', params: ['5000'] })
    answer = { connectionId: 'c', ref: 'OpaqueRef:1', ok: true, note: 'Found 1 new NIC: eth3.' }
    expect((await a.run())?.ok).toBe(true)
    expect(a.action.error).toBeNull()
    expect(a.action.detail).toBeNull()
    expect(a.note).toBe('Found 1 new NIC: eth3.')
    a.dismiss()
    expect(a.note).toBeNull()
  })

  it('keeps the code of a call main refused, and does not run when canRun says why not', async () => {
    const a = inScope(() => useNetAction(() => Promise.reject(new ApiError({ code: 'offline', message: 'tiny is not connected.', params: [] }))))
    await a.run()
    expect(a.action.error).toBe('tiny is not connected.')
    expect(a.action.detail).toEqual({ code: 'offline', params: [] })
    let ran = false
    const b = inScope(() =>
      useNetAction(
        () => {
          ran = true
          return Promise.resolve({ connectionId: 'c', ref: 'r', ok: true })
        },
        () => 'Select a NIC',
      ),
    )
    expect(await b.run()).toBeUndefined()
    expect(ran).toBe(false)
    expect(b.action.error).toBe('Select a NIC')
    expect(b.action.detail).toBeNull()
  })
})
