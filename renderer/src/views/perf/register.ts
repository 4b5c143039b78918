/**
 * Registers the Performance tabs (issue 16): a host's and a VM's graphs, and a pool's hosts side by
 * side. Imported once at startup (renderer/src/main.ts).
 */
import { defineAsyncComponent } from 'vue'
import { registerTab } from '../../components/tabs/registry'

const PerfPoolTab = defineAsyncComponent(() => import('./PerfPoolTab.vue'))
const PerfTab = defineAsyncComponent(() => import('./PerfTab.vue'))

registerTab({
  id: 'performance',
  label: 'Performance',
  order: 15,
  appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && (n.cls === 'host' || (n.cls === 'VM' && n.kind === 'VM')),
  component: PerfTab,
})
registerTab({ id: 'performance-pool', label: 'Performance', order: 16, appliesTo: (n) => n.connectionId !== undefined && n.cls === 'pool', component: PerfPoolTab })
