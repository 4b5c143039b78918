/** Registers a pool's Drift tab (issue 19: how its hosts differ, and how it differs from pools of its kind). */
import { defineAsyncComponent } from 'vue'
import { registerTab } from '../../components/tabs/registry'

const DriftTab = defineAsyncComponent(() => import('./DriftTab.vue'))

registerTab({ id: 'drift', label: 'Drift', order: 40, appliesTo: (n) => n.connectionId !== undefined && n.cls === 'pool', component: DriftTab })
