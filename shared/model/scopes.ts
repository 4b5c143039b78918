/**
 * Which classes of which pool a window asked for (objects.scope), counted: the same bookkeeping on
 * both sides — main's per-window stream (main/services/outbox.ts) and the renderer's objects store
 * (usePoolScope) — so the two agree on when a class starts and stops being needed.
 */
const NONE: ReadonlySet<string> = new Set()

export class ScopeCounts {
  /** per pool: class → how many scopes are not undone yet */
  private readonly counts = new Map<string, Map<string, number>>()
  /** per pool: the classes of `counts`, as a set readers can keep */
  private readonly sets = new Map<string, Set<string>>()

  /** one more scope of each class; answers the classes nobody needed before */
  add(id: string, classes: Iterable<string>): string[] {
    let counts = this.counts.get(id)
    if (!counts) this.counts.set(id, (counts = new Map()))
    const fresh: string[] = []
    for (const cls of new Set(classes)) {
      const n = counts.get(cls) ?? 0
      counts.set(cls, n + 1)
      if (n === 0) fresh.push(cls)
    }
    this.sets.set(id, new Set(counts.keys()))
    return fresh
  }

  /** undoes one scope of each class (one never scoped is ignored); answers the classes nobody needs any more */
  remove(id: string, classes: Iterable<string>): string[] {
    const counts = this.counts.get(id)
    if (!counts) return []
    const ended: string[] = []
    for (const cls of new Set(classes)) {
      const n = counts.get(cls)
      if (n === undefined) continue
      if (n > 1) counts.set(cls, n - 1)
      else {
        counts.delete(cls)
        ended.push(cls)
      }
    }
    if (counts.size === 0) this.forget(id)
    else this.sets.set(id, new Set(counts.keys()))
    return ended
  }

  /** the pool's scoped classes now (a new set after every change: safe to keep) */
  of(id: string): ReadonlySet<string> {
    return this.sets.get(id) ?? NONE
  }

  forget(id: string): void {
    this.counts.delete(id)
    this.sets.delete(id)
  }

  /** every pool with scoped classes */
  entries(): { connectionId: string; classes: string[] }[] {
    return [...this.sets].map(([connectionId, set]) => ({ connectionId, classes: [...set] }))
  }
}
