/**
 * Registers the storage views (issue 13): a VM's Storage tab (its drives) and an SR's Storage
 * view (usage, connections, disks). Imported once by the tabs index.
 */
import { defineAsyncComponent } from 'vue'
import { registerTab } from '../../components/tabs/registry'

const SrView = defineAsyncComponent(() => import('./SrView.vue'))
const StorageTab = defineAsyncComponent(() => import('./StorageTab.vue'))

registerTab({ id: 'storage', label: 'Storage', order: 10, appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'VM' && n.kind === 'VM', component: StorageTab })
registerTab({ id: 'sr', label: 'Storage', order: 10, appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'SR', component: SrView })
