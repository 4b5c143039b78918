/**
 * Registers the storage views (issue 13): a VM's Storage tab (its drives) and an SR's Storage
 * view (usage, connections, disks). Imported once by the tabs index.
 */
import { registerTab } from '../../components/tabs/registry'
import SrView from './SrView.vue'
import StorageTab from './StorageTab.vue'

registerTab({ id: 'storage', label: 'Storage', order: 10, appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'VM' && n.kind === 'VM', component: StorageTab })
registerTab({ id: 'sr', label: 'Storage', order: 10, appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'SR', component: SrView })
