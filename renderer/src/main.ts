import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { createApi, provideApi } from './api'
import { useSettingsStore } from './stores/settings'
import './styles/theme.css'
import { applyTheme } from './theme'
import './views/numa/register'
import './views/console/register'
import './views/network/register'
import './views/perf/register'
import './views/terminal/register'
import './views/drift/register'
import './views/xencenter/register'
import ConsoleWindow from './views/console/ConsoleWindow.vue'
import { parseConsoleRoute } from './views/console/route'

async function start(): Promise<void> {
  const api = createApi()
  // a popped-out console (#/console/…): the page shows only that console
  const consoleRoute = parseConsoleRoute(window.location.hash)
  const app = consoleRoute ? createApp(ConsoleWindow, { target: consoleRoute }) : createApp(App)
  const pinia = createPinia()
  provideApi(app, api)
  app.use(pinia)
  applyTheme('system')
  // main owns the settings: the first paint already has the user's theme and pane sizes
  const settings = useSettingsStore(pinia)
  await settings.attach(api)
  applyTheme(settings.theme)
  app.mount('#app')
}
void start()
