/**
 * Registers the Custom Fields tab (issue 19) for the objects XenCenter keeps custom fields on:
 * VMs and templates, servers, pools and SRs. Imported once at startup.
 */
import { defineAsyncComponent } from 'vue'
import { registerTab } from '../../components/tabs/registry'

const CustomFieldsTab = defineAsyncComponent(() => import('./CustomFieldsTab.vue'))

registerTab({
  id: 'custom-fields',
  label: 'Custom Fields',
  order: 70,
  appliesTo: (n) => n.connectionId !== undefined && n.ref !== undefined && (n.cls === 'VM' || n.cls === 'host' || n.cls === 'pool' || n.cls === 'SR') && n.kind !== 'snapshot',
  component: CustomFieldsTab,
})
