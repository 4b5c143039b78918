/** Registers a host's Terminal tab (SSH to its dom0, issue 19). Imported once at startup. */
import { registerTab } from '../../components/tabs/registry'
import TerminalTab from './TerminalTab.vue'

registerTab({
  id: 'terminal',
  label: 'Terminal',
  order: 22,
  appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && n.cls === 'host',
  component: TerminalTab,
})
