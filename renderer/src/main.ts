import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { createApi } from './api'
import './styles/theme.css'
import './views/numa/register'
import './views/console/register'
import ConsoleWindow from './views/console/ConsoleWindow.vue'
import { parseConsoleRoute } from './views/console/route'

const api = createApi()
// a popped-out console (#/console/…): the page shows only that console
const consoleRoute = parseConsoleRoute(window.location.hash)
const app = consoleRoute ? createApp(ConsoleWindow, { api, target: consoleRoute }) : createApp(App, { api })
app.use(createPinia())
app.mount('#app')
