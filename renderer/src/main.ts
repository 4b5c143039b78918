import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { createApi } from './api'
import './styles/theme.css'
import './views/numa/register'
import './views/console/register'
import ConsoleWindow from './views/console/ConsoleWindow.vue'
import { parseConsoleRoute } from './views/console/route'
import { useSettingsStore } from './stores/settings'
import { applyTheme } from './theme'

const api = createApi()
// a popped-out console (#/console/…): the page shows only that console
const consoleRoute = parseConsoleRoute(window.location.hash)
const app = consoleRoute ? createApp(ConsoleWindow, { api, target: consoleRoute }) : createApp(App, { api })
app.use(createPinia())
// before the first paint, and for popped-out consoles too (App.vue then follows changes)
applyTheme(useSettingsStore().theme)
app.mount('#app')
