/** Filter keystrokes as a user types them, for the tree and cold-start benchmarks. */

/** In the page: set the search box to each prefix of `query` in turn, timing input → next painted frame. */
export const KEYSTROKE_SCRIPT = (query: string): string => `(async () => {
  const input = document.querySelector('input[type=search]')
  const times = []
  const counts = []
  for (let i = 1; i <= ${JSON.stringify(query)}.length; i++) {
    const t0 = performance.now()
    input.value = ${JSON.stringify(query)}.slice(0, i)
    input.dispatchEvent(new Event('input', { bubbles: true }))
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))
    times.push(performance.now() - t0)
    counts.push(document.querySelectorAll('[role=treeitem]').length)
  }
  input.value = ''
  input.dispatchEvent(new Event('input', { bubbles: true }))
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))
  return { times, counts }
})()`

/** median and worst of a list of times */
export function stats(xs: number[]): { median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b)
  return { median: s[Math.floor(s.length / 2)] ?? NaN, max: s[s.length - 1] ?? NaN }
}
