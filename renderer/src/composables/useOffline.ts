/**
 * Whether a connection's objects can be changed now, for a view of them: `reason` is why not (the
 * pool is offline, reconnecting, no longer saved) or null when connected; `asOf` is 'as of 14:02'
 * while the view shows the offline cache, '' when live. Buttons take `reason` as their canRun;
 * components/OfflineNotice.vue says both in one line.
 */
import { computed, toValue, type ComputedRef, type MaybeRefOrGetter } from 'vue'
import { useCommandContext } from '../app'
import { clock, offlineReason } from '../commands/vm'
import { useConnectionsStore } from '../stores/connections'

export function useOffline(connectionId: MaybeRefOrGetter<string | undefined>): { reason: ComputedRef<string | null>; asOf: ComputedRef<string> } {
  const ctx = useCommandContext()
  const connections = useConnectionsStore()
  const reason = computed(() => {
    const id = toValue(connectionId)
    return id ? offlineReason(ctx, id) : 'Not loaded yet'
  })
  const asOf = computed(() => {
    const id = toValue(connectionId)
    const s = id ? connections.get(id) : undefined
    if (!s || s.status === 'connected') return ''
    const at = s.cachedAt ?? s.offlineSince
    return at ? `as of ${clock(at)}` : 'as last seen'
  })
  return { reason, asOf }
}
