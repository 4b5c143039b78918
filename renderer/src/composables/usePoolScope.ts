/**
 * A view that reads classes main does not send a window by default (a VM's VIFs, a host's bonds and
 * PIF_metrics, the VBDs and VDIs of an offline pool: shared/model/slim.ts SCOPABLE_CLASSES) asks for
 * them while it is shown:
 *
 *   usePoolScope(() => props.connectionId, ['VIF', 'VIF_metrics'])
 *   // then read them through the objects store like any other record, e.g.
 *   objects.graph.pool(id)?.referencing('VIF', 'VM', vmRef)
 *
 * Scoped when the component is set up and whenever the pool changes, unscoped when it unmounts.
 * Counted: two views scoping the same class share it; the records go when the last one unmounts.
 * Main sends every current record of those classes (from its graph, or from the offline cache for
 * a pool that is not connected), then their changes (shared/contract/objects.ts objects.scope).
 */
import { onScopeDispose, toValue, watch, type MaybeRefOrGetter } from 'vue'
import { useApi } from '../api/inject'
import { useObjectsStore } from '../stores/objects'

export function usePoolScope(connectionId: MaybeRefOrGetter<string | undefined | null>, classes: readonly string[]): void {
  const objects = useObjectsStore()
  const api = useApi()
  let current: string | undefined

  const acquire = (id: string): void => {
    const fresh = objects.scope(id, classes)
    if (fresh.length > 0) void api.call('objects.scope', { connectionId: id, classes: fresh }).catch(() => undefined)
  }
  const release = (id: string): void => {
    const ended = objects.unscope(id, classes)
    if (ended.length > 0) void api.call('objects.unscope', { connectionId: id, classes: ended }).catch(() => undefined)
  }

  watch(
    () => toValue(connectionId) ?? undefined,
    (id) => {
      if (id === current) return
      if (current !== undefined) release(current)
      current = id
      if (id !== undefined) acquire(id)
    },
    { immediate: true },
  )
  onScopeDispose(() => {
    if (current !== undefined) release(current)
    current = undefined
  })
}
