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
import { parseConsoleRoute } from './views/console/route'
import { parseTerminalRoute } from '../../shared/terminal/route'

async function start(): Promise<void> {
  const api = createApi()
  // a popped-out console (#/console/…): the page shows only that console
  const consoleRoute = parseConsoleRoute(window.location.hash)
  // a popped-out host terminal (#/terminal/…): the page shows only that terminal
  const terminalRoute = consoleRoute ? undefined : parseTerminalRoute(window.location.hash)
  // (each loaded only for its route: the main window's first paint does not pay for noVNC or xterm)
  const app = consoleRoute
    ? createApp((await import('./views/console/ConsoleWindow.vue')).default, { target: consoleRoute })
    : terminalRoute
      ? createApp((await import('./views/terminal/TerminalWindow.vue')).default, { target: terminalRoute })
      : createApp(App)
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
