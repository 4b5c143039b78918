/**
 * What every networking view needs: the classes main does not send a window by default (a VM's
 * VIFs, a host's PIF_metrics, bonds and VLANs) scoped while the view is shown, the command context,
 * and why the pool cannot be changed now (offline: the view is read-only; components/ReadOnlyNotice
 * says so; the details pane's banner says as of when).
 */
import type { MaybeRefOrGetter } from 'vue'
import { useCommandContext } from '../../app'
import { useOffline } from '../../composables/useOffline'
import { usePoolScope } from '../../composables/usePoolScope'

/** the networking classes main sends only on request (shared/model/slim.ts SCOPABLE_CLASSES) */
export const NET_CLASSES = ['VIF', 'VIF_metrics', 'PIF_metrics', 'Bond', 'VLAN'] as const

export function useNetView(connectionId: MaybeRefOrGetter<string | undefined>) {
  usePoolScope(connectionId, NET_CLASSES)
  const offline = useOffline(connectionId)
  return { ctx: useCommandContext(), offline }
}
