/**
 * Selectors: the one way components, composables and stores read the object graph.
 *
 * The graph (model/objects.ts) is plain, non-reactive TypeScript: 20,000 deep-reactive records
 * would cost more than the tree. The objects store bumps a private change counter once per applied
 * batch; these selectors read it for you and hand back computed values, so nobody writes
 * `void objects.version`. A computed that answers the same record (records are replaced, never
 * mutated) or the same primitive does not wake what depends on it.
 *
 *   const vm = useRecord(() => node.connectionId, 'VM', () => node.ref)   // ComputedRef<Typed<'VM'> | undefined>
 *   const hosts = usePool(() => id, (p) => [...p.all('host').keys()])     // ComputedRef<string[] | undefined>
 *   const alerts = useGraph((g) => collectAlerts(g))                      // across every pool
 *   const vbds = useLinked(id, 'VM', ref, 'VBDs', 'VBD')                  // [{ ref, rec }] a ref-list field points at
 *
 * `fn` derives a value: returning the pool or the graph itself does not follow changes (the same
 * object comes back, so nothing downstream re-runs).
 *
 * Arguments may be plain values, refs or getters (MaybeRefOrGetter). Outside a component (a
 * store's setup, a command) they work the same: computed needs no component.
 */
import { computed, toValue, type ComputedRef, type MaybeRefOrGetter } from 'vue'
import type { XapiRecords } from '../../../shared/xapi/records.generated'
import type { ObjectGraph, PoolObjects, Rec, Typed } from '../model/objects'
import { useObjectsStore } from './objects'

type Id = MaybeRefOrGetter<string | undefined | null>

/** a value derived from every pool's objects, recomputed after each applied batch */
export function useGraph<T>(fn: (graph: ObjectGraph) => T): ComputedRef<T> {
  const objects = useObjectsStore()
  return computed(() => {
    objects.track()
    return fn(objects.graph)
  })
}

/** a value derived from one connection's objects; undefined while that pool has none loaded */
export function usePool<T>(connectionId: Id, fn: (pool: PoolObjects) => T): ComputedRef<T | undefined> {
  const objects = useObjectsStore()
  return computed(() => {
    objects.track()
    const id = toValue(connectionId)
    const pool = id ? objects.graph.pool(id) : undefined
    return pool ? fn(pool) : undefined
  })
}

/** one record, typed by its class (a class known only at run time gives a plain record); undefined when it is not (or no longer) in the graph */
export function useRecord<C extends keyof XapiRecords>(connectionId: Id, cls: C, ref: Id): ComputedRef<Typed<C> | undefined>
export function useRecord(connectionId: Id, cls: MaybeRefOrGetter<string | undefined>, ref: Id): ComputedRef<Rec | undefined>
export function useRecord(connectionId: Id, cls: MaybeRefOrGetter<string | undefined>, ref: Id): ComputedRef<Rec | undefined> {
  return usePool(connectionId, (p) => {
    const c = toValue(cls)
    const r = toValue(ref)
    return c && r ? p.tables.get(c)?.get(r) : undefined
  })
}

/** the records a ref-list field of a record points at (VM.VBDs → VBD, SR.PBDs → PBD, host.PIFs → PIF …), in the field's order, present ones only */
export function useLinked<P extends keyof XapiRecords, C extends keyof XapiRecords>(
  connectionId: Id,
  cls: MaybeRefOrGetter<P>,
  ref: Id,
  field: MaybeRefOrGetter<string>,
  childCls: MaybeRefOrGetter<C>,
): ComputedRef<{ ref: string; rec: Typed<C> }[]> {
  const list = usePool(connectionId, (p) => {
    const parent = p.get(toValue(cls), toValue(ref))
    const refs: unknown = parent?.[toValue(field)]
    const out: { ref: string; rec: Typed<C> }[] = []
    if (!Array.isArray(refs)) return out
    for (const r of refs) {
      const rec = p.get(toValue(childCls), r)
      if (rec && typeof r === 'string') out.push({ ref: r, rec })
    }
    return out
  })
  return computed(() => list.value ?? [])
}
