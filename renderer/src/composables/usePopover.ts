/**
 * usePopover: the one way a button opens a panel that is not a menu (a group of checkboxes, a
 * list with a form — the Objects grid's Columns ▾, Saved searches ▾): it closes when focus moves
 * outside its root and on a press outside its root (not when a button inside is disabled while it
 * runs: focus then goes nowhere), and on Esc where the template says so. Menus (role=menu) use
 * useMenuButton. The panel's look is theme.css `.popover`.
 *
 *   const { open, root, onFocusOut } = usePopover()
 *   <div :ref="root" @focusout="onFocusOut" @keydown.esc.stop="open = false">
 *     <button aria-haspopup="true" :aria-expanded="open" @click="open = !open">Columns ▾</button>
 *     <div v-if="open" class="popover" role="group" aria-label="…">…</div>
 *   </div>
 */
import { onBeforeUnmount, ref, watch, type Ref } from 'vue'

export interface Popover {
  open: Ref<boolean>
  /** a function ref for the element holding the button and the panel */
  root: (el: unknown) => void
  onFocusOut(ev: FocusEvent): void
}

export function usePopover(): Popover {
  const open = ref(false)
  let rootEl: HTMLElement | null = null
  const outside = (target: EventTarget | null): boolean => target instanceof Node && rootEl !== null && !rootEl.contains(target)
  const onDown = (ev: MouseEvent): void => {
    if (outside(ev.target)) open.value = false
  }
  watch(open, (o) => (o ? window.addEventListener('mousedown', onDown, true) : window.removeEventListener('mousedown', onDown, true)))
  onBeforeUnmount(() => window.removeEventListener('mousedown', onDown, true))
  const root = (el: unknown): void => void (rootEl = el instanceof HTMLElement ? el : null)
  const onFocusOut = (ev: FocusEvent): void => void (outside(ev.relatedTarget) && (open.value = false))
  return { open, root, onFocusOut }
}
