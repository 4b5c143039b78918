/**
 * What every networking view needs: the classes main does not send a window by default (a VM's
 * VIFs, a host's PIF_metrics, bonds and VLANs) scoped while the view is shown, the command context,
 * and whether the pool can be changed now — when it cannot (offline), the view is read-only and
 * says from when its data is ("as of 14:02").
 */
import { computed, toValue, type MaybeRefOrGetter } from 'vue'
import { useCommandContext } from '../../app'
import { clock, offlineReason } from '../../commands/vm'
import { usePoolScope } from '../../composables/usePoolScope'
import { useConnectionsStore } from '../../stores/connections'

/** the networking classes main sends only on request (shared/model/slim.ts SCOPABLE_CLASSES) */
export const NET_CLASSES = ['VIF', 'VIF_metrics', 'PIF_metrics', 'Bond', 'VLAN'] as const

export function useNetView(connectionId: MaybeRefOrGetter<string | undefined>) {
  usePoolScope(connectionId, NET_CLASSES)
  const ctx = useCommandContext()
  const connections = useConnectionsStore()
  /** why nothing can be changed now (the pool is offline), or null */
  const offline = computed(() => {
    const id = toValue(connectionId)
    return id ? offlineReason(ctx, id) : 'Not loaded yet'
  })
  /** 'as of 14:02' for data shown from the offline cache, '' when live */
  const asOf = computed(() => {
    const id = toValue(connectionId)
    const s = id ? connections.get(id) : undefined
    if (!s || s.status === 'connected') return ''
    const at = s.cachedAt ?? s.offlineSince
    return at ? `as of ${clock(at)}` : 'last known state'
  })
  return { ctx, offline, asOf }
}
