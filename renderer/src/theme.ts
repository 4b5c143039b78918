/**
 * The page's effective theme. The user picks System, Light or Dark; the root element carries the
 * resolved palette (`data-theme="light" | "dark"`), following the OS live when the choice is
 * System — so the stylesheet needs one dark palette, not a copy inside a media query.
 */
import type { ThemeChoice } from './stores/settings'

let choice: ThemeChoice = 'system'
let osDark: MediaQueryList | undefined

function apply(): void {
  const dark = choice === 'dark' || (choice === 'system' && osDark?.matches === true)
  document.documentElement.dataset.theme = dark ? 'dark' : 'light'
}

export function applyTheme(next: ThemeChoice): void {
  choice = next
  if (!osDark) {
    osDark = window.matchMedia('(prefers-color-scheme: dark)')
    osDark.addEventListener('change', apply)
  }
  apply()
}
