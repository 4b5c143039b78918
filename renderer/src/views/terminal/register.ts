/** Registers a host's Terminal tab (SSH to its dom0, issue 19). Imported once at startup. */
import { defineAsyncComponent } from 'vue'
import { registerTab } from '../../components/tabs/registry'

const TerminalTab = defineAsyncComponent(() => import('./TerminalTab.vue'))

registerTab({
  id: 'terminal',
  label: 'Terminal',
  order: 22,
  appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'host',
  component: TerminalTab,
})
