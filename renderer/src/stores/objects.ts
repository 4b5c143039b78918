import { defineStore } from 'pinia'
import { computed, markRaw, shallowRef } from 'vue'
import type { PoolDiff } from '../../../shared/model/diff'
import { ObjectGraph } from '../model/objects'

/**
 * Every pool's records. The graph itself is not reactive (20k deep-reactive records would cost more
 * than the tree); `version` bumps once per applied batch and everything derived reads it.
 */
export const useObjectsStore = defineStore('objects', () => {
  const graph = markRaw(new ObjectGraph())
  const version = shallowRef(0)
  /** a diff arrived out of sequence: the owner re-subscribes to get a full resync */
  let onGap: (() => void) | null = null

  function apply(diff: PoolDiff): void {
    const r = graph.apply(diff)
    version.value++
    if (r.gap && onGap) onGap()
  }
  function drop(connectionId: string): void {
    if (graph.drop(connectionId)) version.value++
  }
  function setGapHandler(fn: () => void): void {
    onGap = fn
  }
  function record(connectionId: string, cls: string, ref: string): Record<string, unknown> | undefined {
    return graph.pool(connectionId)?.tables.get(cls)?.get(ref)
  }

  const pendingTasks = computed(() => {
    void version.value
    let n = 0
    for (const p of graph.pools.values()) n += p.pendingTasks()
    return n
  })

  return { graph, version, apply, drop, setGapHandler, record, pendingTasks }
})
