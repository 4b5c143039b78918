/**
 * usePoolScope (renderer/src/composables/usePoolScope.ts): a view asks main for the classes it
 * needs in a pool while it is shown — scoped on setup and when the pool changes, unscoped when it
 * goes, counted across views; the objects store keeps those classes only while scoped, and a class
 * reset (PoolDiff.scope) replaces what it holds of them, staged when in pieces.
 */
import { createPinia } from 'pinia'
import { describe, expect, it } from 'vitest'
import { createApp, effectScope, nextTick, ref } from 'vue'
import type { PoolDiff } from '../../../shared/model/diff'
import type { RendererApi } from '../../../renderer/src/api'
import { provideApi } from '../../../renderer/src/api/inject'
import { usePoolScope } from '../../../renderer/src/composables/usePoolScope'
import { useObjectsStore } from '../../../renderer/src/stores/objects'

function setup() {
  const calls: [string, unknown][] = []
  const api = {
    call: (method: string, args: unknown) => {
      calls.push([method, args])
      return Promise.resolve(null)
    },
    on: () => () => undefined,
  } as unknown as RendererApi
  const app = createApp({})
  const pinia = createPinia()
  app.use(pinia)
  provideApi(app, api)
  const objects = app.runWithContext(() => useObjectsStore())
  /** a view using usePoolScope, set up in the app's context; stop() is its unmount */
  const view = (id: () => string | undefined, classes: string[]) => {
    const scope = effectScope()
    app.runWithContext(() => scope.run(() => usePoolScope(id, classes)))
    return { stop: () => scope.stop() }
  }
  return { calls, objects, view }
}

const vifs = (id: string, refs: string[], part?: { part: number; more?: boolean }): PoolDiff => ({
  connectionId: id,
  seq: 3,
  reset: false,
  scope: ['VIF'],
  ...(part ? { part: part.part, ...(part.more ? { more: true } : {}) } : {}),
  upserts: refs.map((ref) => ({ cls: 'VIF', ref, record: { uuid: ref, VM: 'OpaqueRef:vm' } })),
  removes: [],
})

describe('usePoolScope', () => {
  it('scopes on setup, counts views, unscopes with the last one, follows a change of pool', async () => {
    const { calls, objects, view } = setup()
    const a = view(() => 'c1', ['VIF', 'VIF_metrics'])
    const b = view(() => 'c1', ['VIF'])
    expect(calls).toEqual([['objects.scope', { connectionId: 'c1', classes: ['VIF', 'VIF_metrics'] }]])
    expect(objects.scoped()).toEqual([{ connectionId: 'c1', classes: ['VIF', 'VIF_metrics'] }])
    a.stop()
    expect(calls.at(-1)).toEqual(['objects.unscope', { connectionId: 'c1', classes: ['VIF_metrics'] }])
    b.stop()
    expect(calls.at(-1)).toEqual(['objects.unscope', { connectionId: 'c1', classes: ['VIF'] }])
    expect(objects.scoped()).toEqual([])

    const pool = ref<string | undefined>('c1')
    const c = view(() => pool.value, ['Bond'])
    pool.value = 'c2'
    await nextTick()
    expect(calls.slice(-3)).toEqual([
      ['objects.scope', { connectionId: 'c1', classes: ['Bond'] }],
      ['objects.unscope', { connectionId: 'c1', classes: ['Bond'] }],
      ['objects.scope', { connectionId: 'c2', classes: ['Bond'] }],
    ])
    pool.value = undefined
    await nextTick()
    expect(calls.at(-1)).toEqual(['objects.unscope', { connectionId: 'c2', classes: ['Bond'] }])
    c.stop()
    expect(calls).toHaveLength(7)
  })

  it('the store keeps a scoped class only while scoped; class resets replace it, in pieces staged until the last', () => {
    const { objects, view } = setup()
    objects.apply({ connectionId: 'c1', seq: 2, reset: true, upserts: [{ cls: 'VM', ref: 'OpaqueRef:vm', record: { uuid: 'vm', name_label: 'web' } }], removes: [] })
    const held = (): string[] => [...(objects.graph.pool('c1')?.tables.get('VIF')?.keys() ?? [])]
    // not scoped: a VIF that arrives anyway is not kept
    objects.apply({ connectionId: 'c1', seq: 3, reset: false, upserts: [{ cls: 'VIF', ref: 'OpaqueRef:stray', record: { uuid: 'stray' } }], removes: [] })
    expect(held()).toEqual([])

    const v = view(() => 'c1', ['VIF'])
    objects.apply(vifs('c1', ['OpaqueRef:v1']))
    expect(held()).toEqual(['OpaqueRef:v1'])
    // a class reset in two pieces: nothing changes until the last, then it replaces what was held
    objects.apply(vifs('c1', ['OpaqueRef:v2'], { part: 0, more: true }))
    objects.apply(vifs('c1', ['OpaqueRef:v3'], { part: 1 }))
    return objects.applied().then(() => {
      expect(held()).toEqual(['OpaqueRef:v2', 'OpaqueRef:v3'])
      expect(objects.graph.pool('c1')?.referencing('VIF', 'VM', 'OpaqueRef:vm').map(([r]: [string, unknown]) => r)).toEqual(['OpaqueRef:v2', 'OpaqueRef:v3'])
      // the pool's seq is not a class reset's business
      expect(objects.graph.pool('c1')?.seq).toBe(3)
      v.stop()
      // main's answer to the unscope: an empty class reset
      objects.apply({ connectionId: 'c1', seq: 0, reset: false, scope: ['VIF'], upserts: [], removes: [] })
      expect(held()).toEqual([])
      objects.apply({ connectionId: 'c1', seq: 4, reset: false, upserts: [{ cls: 'VIF', ref: 'OpaqueRef:late', record: { uuid: 'late' } }], removes: [] })
      expect(held()).toEqual([])
    })
  })
})
