/**
 * Registers the networking views (issue 13): a VM's Networking tab, a server's NICs tab, and the
 * Network tab of a network selected in the tree. Imported once at startup (main.ts).
 */
import { defineAsyncComponent } from 'vue'
import { registerTab } from '../../components/tabs/registry'

const HostNicsTab = defineAsyncComponent(() => import('./HostNicsTab.vue'))
const NetworkTab = defineAsyncComponent(() => import('./NetworkTab.vue'))
const VmNetworkingTab = defineAsyncComponent(() => import('./VmNetworkingTab.vue'))

registerTab({
  id: 'vm-networking',
  label: 'Networking',
  order: 12,
  appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'VM' && n.kind === 'VM',
  component: VmNetworkingTab,
})
registerTab({ id: 'host-nics', label: 'NICs', order: 13, appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'host', component: HostNicsTab })
registerTab({ id: 'network', label: 'Network', order: 5, appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'network', component: NetworkTab })
