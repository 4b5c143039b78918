import { defineStore } from 'pinia'
import { computed, markRaw, nextTick, shallowRef } from 'vue'
import { resetPieces, type PoolDiff } from '../../../shared/model/diff'
import { ScopeCounts } from '../../../shared/model/scopes'
import { ObjectGraph } from '../model/objects'

/** a reset larger than this is applied in staged slices of this many upserts */
export const APPLY_SLICE = 2000
/** time the renderer spends applying queued diffs before it yields to input and rendering (ms) */
const APPLY_BUDGET_MS = 8
/**
 * least time between two version bumps of queued batches (ms): each bump rebuilds the tree's rows
 * (20,000 VMs: ≈20,000 row objects and their index), garbage that lives until the next bump.
 * While a fleet streams in pool by pool, a bump per frame made that ≈50 times over.
 */
const BUMP_INTERVAL_MS = 250
/**
 * …and at least this many times what the last bump cost (the tree, the overview and every view
 * that follows the graph recomputed): views derived from the whole fleet cost in proportion to it
 * (100,000 VMs: tens of ms per bump), so a fleet streaming in spends at most ≈1/(1+this) of the
 * page's time on showing its progress instead of a share that grows with the fleet.
 */
const BUMP_COST_FACTOR = 4

/** next macrotask (a MessageChannel message: not clamped like nested timers, input runs in between) */
function nextTask(fn: () => void): void {
  if (typeof MessageChannel === 'function') {
    const ch = new MessageChannel()
    ch.port1.onmessage = () => {
      ch.port1.close()
      fn()
    }
    ch.port2.postMessage(null)
  } else setTimeout(fn, 0)
}

function nextFrame(fn: () => void): void {
  if (typeof requestAnimationFrame === 'function' && typeof document !== 'undefined' && document.visibilityState !== 'hidden') requestAnimationFrame(() => fn())
  else setTimeout(fn, 16)
}

/**
 * Every pool's records. The graph itself is not reactive (20k deep-reactive records would cost more
 * than the tree); `version` bumps once per applied batch. Views never read it: they go through the
 * selectors of stores/select.ts (useRecord, usePool, useGraph, useLinked), which call `track()`.
 *
 * A small diff arriving while nothing is queued is applied at once (the steady state of a
 * connected pool). Reset pieces and large resets go through a queue applied in slices of
 * ≤ APPLY_BUDGET_MS per task, so clicks and keys are answered while a fleet streams in; `version`
 * then bumps at most once per animation frame (one tree rebuild per frame at most).
 */
export const useObjectsStore = defineStore('objects', () => {
  const graph = markRaw(new ObjectGraph())
  const version = shallowRef(0)
  /** a diff arrived out of sequence: the owner re-subscribes to get a full resync */
  let onGap: (() => void) | null = null

  const queue: PoolDiff[] = []
  /** the queued slices that finish a received diff (its last slice) */
  const lastSlices = new WeakSet<PoolDiff>()
  let head = 0
  /** received diffs fully applied since `onApplied`'s listener was last told */
  let appliedCount = 0
  let appliedListener: ((count: number) => void) | null = null
  let draining = false
  let bumpWanted = false
  let frameRequested = false
  /** when `version` last bumped for queued batches (performance.now()), and what that bump cost (ms) */
  let lastBump = -Infinity
  let lastBumpCost = 0
  let idleWaiters: (() => void)[] = []
  let drainWaiters: (() => void)[] = []

  function applyOne(diff: PoolDiff): boolean {
    const r = graph.apply(diff)
    if (r.gap && onGap) onGap()
    return r.changed
  }

  function apply(diff: PoolDiff): void {
    const idle = head >= queue.length && !draining
    if (idle && diff.part === undefined && (!diff.reset || diff.upserts.length <= APPLY_SLICE)) {
      if (applyOne(diff)) version.value++
      appliedCount++
      tellApplied()
      return
    }
    let last: PoolDiff | undefined
    for (const piece of resetPieces(diff, APPLY_SLICE)) queue.push((last = piece))
    if (last) lastSlices.add(last)
    else {
      appliedCount++
      tellApplied()
    }
    if (!draining) {
      draining = true
      nextTask(drain)
    }
  }

  function drain(): void {
    const start = performance.now()
    while (head < queue.length && performance.now() - start < APPLY_BUDGET_MS) {
      const d = queue[head]
      queue[head++] = undefined as unknown as PoolDiff
      if (d && applyOne(d)) bumpWanted = true
      if (d && lastSlices.has(d)) appliedCount++
    }
    tellApplied()
    if (head >= queue.length) {
      queue.length = 0
      head = 0
      draining = false
      const w = drainWaiters
      drainWaiters = []
      for (const fn of w) fn()
    } else nextTask(drain)
    if (bumpWanted && !frameRequested) {
      frameRequested = true
      const wait = lastBump + Math.max(BUMP_INTERVAL_MS, lastBumpCost * BUMP_COST_FACTOR) - performance.now()
      if (wait > 0) setTimeout(() => nextFrame(bump), wait)
      else nextFrame(bump)
    } else if (!draining && !frameRequested) wakeIdle()
  }

  function bump(): void {
    frameRequested = false
    if (bumpWanted) {
      bumpWanted = false
      const start = performance.now()
      lastBump = start
      version.value++
      // what the views following the graph took to catch up (Vue flushes them before nextTick resolves)
      void nextTick(() => {
        lastBumpCost = performance.now() - start
      })
    }
    if (!draining) wakeIdle()
  }

  function wakeIdle(): void {
    const w = idleWaiters
    idleWaiters = []
    for (const fn of w) fn()
  }

  /** the listener learns, after each slice of work, how many more received diffs are applied (flow control: app.ts acknowledges them) */
  function onApplied(fn: ((count: number) => void) | null): void {
    appliedListener = fn
  }
  function tellApplied(): void {
    if (appliedCount === 0 || !appliedListener) return
    const n = appliedCount
    appliedCount = 0
    appliedListener(n)
  }

  /** resolves once every diff received so far is applied to the graph (maybe not rendered yet) */
  function applied(): Promise<void> {
    if (!draining) return Promise.resolve()
    return new Promise((ok) => drainWaiters.push(ok))
  }

  /** resolves once every diff received so far is applied and visible (tests; the bench) */
  function settled(): Promise<void> {
    if (!draining && !frameRequested) return Promise.resolve()
    return new Promise((ok) => idleWaiters.push(ok))
  }

  /** per pool: the classes shown views asked for (usePoolScope), counted */
  const scopes = new ScopeCounts()

  function drop(connectionId: string): void {
    // queued diffs of the forgotten connection must not bring it back (they count as handled)
    for (let i = head; i < queue.length; i++) {
      const d = queue[i]
      if (d?.connectionId !== connectionId) continue
      if (lastSlices.has(d)) appliedCount++
      queue.splice(i--, 1)
    }
    tellApplied()
    scopes.forget(connectionId)
    if (graph.drop(connectionId)) version.value++
  }

  /**
   * a view needs these classes of the pool: they are kept from now on; answers the ones no view
   * needed before (usePoolScope asks main for those: objects.scope)
   */
  function scope(connectionId: string, classes: readonly string[]): string[] {
    const fresh = scopes.add(connectionId, classes)
    graph.keep(connectionId, fresh)
    return fresh
  }
  /** a view no longer needs them; answers the ones no view needs any more (usePoolScope tells main: objects.unscope, whose answer drops them) */
  function unscope(connectionId: string, classes: readonly string[]): string[] {
    const ended = scopes.remove(connectionId, classes)
    graph.unkeep(connectionId, ended)
    return ended
  }
  /** what views asked for, per pool (a new link to main asks for it again before subscribing) */
  function scoped(): { connectionId: string; classes: string[] }[] {
    return scopes.entries()
  }
  function setGapHandler(fn: () => void): void {
    onGap = fn
  }
  /** makes the calling computed/effect depend on the graph (for selectors; views use stores/select.ts) */
  function track(): void {
    void version.value
  }
  /** a record; reactive (the caller re-runs when the graph changes) */
  function record(connectionId: string, cls: string, ref: string): Record<string, unknown> | undefined {
    track()
    return graph.pool(connectionId)?.tables.get(cls)?.get(ref)
  }

  const pendingTasks = computed(() => {
    track()
    let n = 0
    for (const p of graph.pools.values()) n += p.pendingTasks()
    return n
  })

  return { graph, version, track, apply, applied, onApplied, settled, drop, setGapHandler, record, pendingTasks, scope, unscope, scoped }
})
