import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { createApi } from './api'
import './styles/theme.css'
import './views/numa/register'

const app = createApp(App, { api: createApi() })
app.use(createPinia())
app.mount('#app')
