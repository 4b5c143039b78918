/**
 * Whether an element is on screen now (any part of it inside the viewport and its scrolling ancestors).
 * For views derived from the whole fleet that sit below the fold: the overview's Objects grid walks every
 * object of the tree, which a cold start of many pools would otherwise do on every applied batch for rows
 * nobody can see. Measured with `node --import tsx --expose-gc test/bench/coldstart.bench.ts` (2 bundled runs each,
 * load1 ≈ 1.5, 2026-12-08): main + page RSS after settling 410 / 412 → 367 / 380 MB (goal 400), filter keystroke
 * 26 → 17 ms; tree 0.6–0.8 s and interactive 0.9–1.1 s either way (an earlier 2.0 s reading was the machine's load).
 * Where IntersectionObserver does not exist, the element counts as in view.
 */
import { onBeforeUnmount, onMounted, shallowRef, type Ref, type ShallowRef } from 'vue'

export function useInView(el: Ref<Element | null>): Readonly<ShallowRef<boolean>> {
  const inView = shallowRef(typeof IntersectionObserver !== 'function')
  let observer: IntersectionObserver | undefined
  onMounted(() => {
    if (typeof IntersectionObserver !== 'function' || !el.value) return
    observer = new IntersectionObserver((entries) => {
      const last = entries[entries.length - 1]
      if (last) inView.value = last.isIntersecting
    })
    observer.observe(el.value)
  })
  onBeforeUnmount(() => observer?.disconnect())
  return inView
}
