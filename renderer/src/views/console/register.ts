/**
 * Registers the Console tab for VMs (not templates or snapshots) and hosts (their control
 * domain), and a host's "VM consoles" grid. Imported once at startup.
 */
import { defineAsyncComponent } from 'vue'
import { registerTab } from '../../components/tabs/registry'

const ConsoleGrid = defineAsyncComponent(() => import('./ConsoleGrid.vue'))
const ConsoleTab = defineAsyncComponent(() => import('./ConsoleTab.vue'))

registerTab({
  id: 'console',
  label: 'Console',
  order: 20,
  appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && ((n.cls === 'VM' && n.kind === 'VM') || n.cls === 'host'),
  component: ConsoleTab,
})

registerTab({
  id: 'consoles',
  label: 'VM consoles',
  order: 21,
  appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'host',
  component: ConsoleGrid,
})
