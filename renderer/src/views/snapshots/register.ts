/**
 * Registers the operations tabs (issue 5): Snapshots (VMs), History (any object XenPilot can act
 * on) and Alerts (objects XAPI has messages about). Imported once by the tabs index.
 */
import { defineAsyncComponent } from 'vue'
import { alertCountFor } from '../../model/alerts'
import { registerTab } from '../../components/tabs/registry'
import { useObjectsStore } from '../../stores/objects'

const AlertsTab = defineAsyncComponent(() => import('../../components/alerts/AlertsTab.vue'))
const HistoryTab = defineAsyncComponent(() => import('../../components/history/HistoryTab.vue'))
const SnapshotsTab = defineAsyncComponent(() => import('./SnapshotsTab.vue'))

registerTab({ id: 'snapshots', label: 'Snapshots', order: 20, appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'VM' && n.kind === 'VM', component: SnapshotsTab })
registerTab({
  id: 'history',
  label: 'History',
  order: 80,
  // networks too: their MTU, rename and removal are actions (issue 13)
  appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && (n.cls === 'VM' || n.cls === 'host' || n.cls === 'network') && n.kind !== 'template',
  component: HistoryTab,
})
registerTab({
  id: 'alerts',
  label: 'Alerts',
  order: 85,
  appliesTo: (n) => {
    if (!n.connectionId || !n.ref || !n.cls) return false
    // read in the details pane's computed: objects.record makes it follow the graph
    const objects = useObjectsStore()
    const uuid = objects.record(n.connectionId, n.cls, n.ref)?.uuid
    return typeof uuid === 'string' && alertCountFor(objects.graph, n.connectionId, uuid) > 0
  },
  component: AlertsTab,
})
