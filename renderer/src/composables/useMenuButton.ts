/**
 * useMenuButton: the one way a button opens a drop-down menu (WAI-ARIA menu button). The menu
 * closes on Esc (focus back on its button), on Tab, and on a press anywhere outside it or its
 * button; opening it focuses its first enabled item; ArrowUp/ArrowDown/Home/End move between items.
 *
 *   const keys = useMenuButton()
 *   <button :ref="keys.button" aria-haspopup="menu" :aria-expanded="keys.open.value" @click="keys.toggle">Keys ▾</button>
 *   <ul v-if="keys.open.value" :ref="keys.menu" role="menu" @keydown="keys.onKey">
 *     <li role="none"><button role="menuitem" @click="keys.close(true); …">…</button></li>
 *   </ul>
 *
 * `button` and `menu` are function refs (pass them to `:ref`), so a component may hold several.
 */
import { nextTick, onBeforeUnmount, onMounted, ref, type Ref } from 'vue'

export interface MenuButton {
  open: Ref<boolean>
  button: (el: unknown) => void
  menu: (el: unknown) => void
  toggle(): Promise<void>
  close(refocus: boolean): void
  onKey(ev: KeyboardEvent): void
}

export function useMenuButton(): MenuButton {
  const open = ref(false)
  let buttonEl: HTMLElement | null = null
  let menuEl: HTMLElement | null = null

  const items = (): HTMLElement[] => (menuEl ? [...menuEl.querySelectorAll<HTMLElement>('[role="menuitem"]')] : [])
  const enabled = (el: HTMLElement): boolean => el.getAttribute('aria-disabled') !== 'true' && !(el instanceof HTMLButtonElement && el.disabled)

  function close(refocus: boolean): void {
    if (!open.value) return
    open.value = false
    if (refocus) buttonEl?.focus()
  }
  async function toggle(): Promise<void> {
    open.value = !open.value
    if (!open.value) return
    await nextTick()
    const list = items()
    ;(list.find(enabled) ?? list[0])?.focus()
  }
  function onKey(ev: KeyboardEvent): void {
    const list = items()
    const i = list.indexOf(document.activeElement as HTMLElement)
    if (ev.key === 'ArrowDown') list[(i + 1) % list.length]?.focus()
    else if (ev.key === 'ArrowUp') list[(i - 1 + list.length) % list.length]?.focus()
    else if (ev.key === 'Home') list[0]?.focus()
    else if (ev.key === 'End') list.at(-1)?.focus()
    else if (ev.key === 'Escape') close(true)
    else if (ev.key === 'Tab') close(false)
    else return
    if (ev.key !== 'Tab') ev.preventDefault()
    ev.stopPropagation()
  }
  function onOutside(ev: Event): void {
    if (!open.value) return
    const t = ev.target
    if (t instanceof Node && (menuEl?.contains(t) || buttonEl?.contains(t))) return
    open.value = false
  }
  onMounted(() => document.addEventListener('pointerdown', onOutside, true))
  onBeforeUnmount(() => document.removeEventListener('pointerdown', onOutside, true))

  return {
    open,
    button: (el) => {
      buttonEl = el instanceof HTMLElement ? el : null
    },
    menu: (el) => {
      menuEl = el instanceof HTMLElement ? el : null
    },
    toggle,
    close,
    onKey,
  }
}
