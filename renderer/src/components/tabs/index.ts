import GeneralTab from './GeneralTab.vue'
import { registerTab } from './registry'
import '../../views/snapshots/register'
import '../../views/storage/register'
import '../../views/certificates/register'

registerTab({ id: 'general', label: 'General', order: 0, appliesTo: (n) => n.cls !== undefined || n.isConnectionRoot === true, component: GeneralTab })

export { registerTab, tabsFor, type DetailsTab } from './registry'
