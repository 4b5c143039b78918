/**
 * Registers the NUMA tabs: the layout of a host, the pool-level summary, and a VM's placement
 * (mask editor and advice). Imported once at startup.
 */
import { defineAsyncComponent } from 'vue'
import { registerTab } from '../../components/tabs/registry'

const NumaPoolTab = defineAsyncComponent(() => import('./NumaPoolTab.vue'))
const NumaTab = defineAsyncComponent(() => import('./NumaTab.vue'))
const NumaVmTab = defineAsyncComponent(() => import('./NumaVmTab.vue'))

registerTab({ id: 'numa', label: 'NUMA', order: 30, appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'host', component: NumaTab })
registerTab({ id: 'numa-pool', label: 'NUMA', order: 31, appliesTo: (n) => n.connectionId !== undefined && n.cls === 'pool', component: NumaPoolTab })
registerTab({
  id: 'numa-vm',
  label: 'NUMA',
  order: 32,
  appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'VM' && n.kind === 'VM',
  component: NumaVmTab,
})
