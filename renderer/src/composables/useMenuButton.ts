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

/** a menu's items (role=menuitem) in order */
function menuItems(menu: HTMLElement | null): HTMLElement[] {
  return menu ? [...menu.querySelectorAll<HTMLElement>('[role="menuitem"]')] : []
}

/**
 * The keys every menu shares (this one, the tree's context menu): ArrowDown/ArrowUp (wrapping),
 * Home and End focus another item. true when `key` was one of them.
 */
export function moveMenuFocus(menu: HTMLElement | null, key: string): boolean {
  const list = menuItems(menu)
  const i = list.indexOf(document.activeElement as HTMLElement)
  if (key === 'ArrowDown') list[(i + 1) % list.length]?.focus()
  else if (key === 'ArrowUp') list[(i - 1 + list.length) % list.length]?.focus()
  else if (key === 'Home') list[0]?.focus()
  else if (key === 'End') list.at(-1)?.focus()
  else return false
  return true
}

/** a menu that opens focuses its first enabled item (else its first) */
export function focusFirstItem(menu: HTMLElement | null): void {
  const list = menuItems(menu)
  const enabled = (el: HTMLElement): boolean => el.getAttribute('aria-disabled') !== 'true' && !(el instanceof HTMLButtonElement && el.disabled)
  ;(list.find(enabled) ?? list[0])?.focus()
}

export function useMenuButton(): MenuButton {
  const open = ref(false)
  let buttonEl: HTMLElement | null = null
  let menuEl: HTMLElement | null = null

  function close(refocus: boolean): void {
    if (!open.value) return
    open.value = false
    if (refocus) buttonEl?.focus()
  }
  async function toggle(): Promise<void> {
    open.value = !open.value
    if (!open.value) return
    await nextTick()
    focusFirstItem(menuEl)
  }
  function onKey(ev: KeyboardEvent): void {
    if (ev.key === 'Escape') close(true)
    else if (ev.key === 'Tab') close(false)
    else if (!moveMenuFocus(menuEl, ev.key)) return
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
