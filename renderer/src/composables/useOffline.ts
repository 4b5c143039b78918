/**
 * Whether a connection's objects can be changed now, for a view of them: why not (the pool is
 * offline, reconnecting, no longer saved), or null when connected. Buttons take it as their canRun;
 * components/ReadOnlyNotice.vue says it above a tab (the details pane's banner says "as of" when).
 */
import { computed, toValue, type ComputedRef, type MaybeRefOrGetter } from 'vue'
import { useCommandContext } from '../app'
import { offlineReason } from '../commands/vm'

export function useOffline(connectionId: MaybeRefOrGetter<string | undefined>): ComputedRef<string | null> {
  const ctx = useCommandContext()
  return computed(() => {
    const id = toValue(connectionId)
    return id ? offlineReason(ctx, id) : 'Not loaded yet'
  })
}
