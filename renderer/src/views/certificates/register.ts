/**
 * Registers the Certificates tab (issue 18): on a saved connection's root, a pool and a server, the
 * pinned certificate of each server and where the pin came from. Imported once at startup (main.ts).
 */
import { defineAsyncComponent } from 'vue'
import { registerTab } from '../../components/tabs/registry'

const CertificatesTab = defineAsyncComponent(() => import('./CertificatesTab.vue'))

registerTab({
  id: 'certificates',
  label: 'Certificates',
  order: 40,
  appliesTo: (n) => n.connectionId !== undefined && (n.isConnectionRoot === true || n.cls === 'pool' || (n.cls === 'host' && n.ref !== undefined)),
  component: CertificatesTab,
})
