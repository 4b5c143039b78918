/** Colours of the performance graphs: a series palette readable on light and dark, axes from the theme. */
const PALETTE = ['#3b82f6', '#e5533d', '#22a06b', '#d98a00', '#8b5cf6', '#0ea5b7', '#db2777', '#65a30d', '#f97316', '#64748b']

export function paletteColour(i: number): string {
  return PALETTE[i % PALETTE.length] ?? '#3b82f6'
}

/** the theme's text and grid colours, read from the CSS custom properties */
export function themeColours(): { fg: string; grid: string } {
  const s = getComputedStyle(document.documentElement)
  const v = (name: string, fallback: string): string => s.getPropertyValue(name).trim() || fallback
  return { fg: v('--fg-muted', '#5f6b7a'), grid: v('--border-subtle', '#e6eaef') }
}
