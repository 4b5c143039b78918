/**
 * Registers the Console tab for VMs (not templates or snapshots) and hosts (their control
 * domain). Imported once at startup.
 */
import { registerTab } from '../../components/tabs/registry'
import ConsoleTab from './ConsoleTab.vue'

registerTab({
  id: 'console',
  label: 'Console',
  order: 20,
  appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && ((n.cls === 'VM' && n.kind === 'VM') || n.cls === 'host'),
  component: ConsoleTab,
})
