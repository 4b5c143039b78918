/**
 * Keys the console sends on the user's behalf: the combo palette (Ctrl+Alt+Del, Ctrl+Alt+Fn, …)
 * and "Type clipboard", which turns text into key events.
 *
 * Typed text assumes a guest keyboard layout, **US QWERTY unless the user picks another**
 * (layouts.ts: US, UK, German, French). Each character becomes the X11 keysym of the character
 * (what RFB's KeyEvent carries) plus the DOM `code` of the key that produces it on that layout
 * (what QEMU's extended key events turn into a scancode), with Shift and/or AltGr held as that
 * layout needs. Keysym servers (vncterm, Xvnc) get the right characters whatever the layout;
 * QEMU guests get them when the chosen layout is the guest's.
 */
import { chordFor, type KeyboardLayoutId } from './layouts'

export interface KeyStroke {
  keysym: number
  /** DOM KeyboardEvent.code of the physical US key, null when no US key produces it */
  code: string | null
  down: boolean
}

export const XK = {
  BackSpace: 0xff08,
  Tab: 0xff09,
  Return: 0xff0d,
  Escape: 0xff1b,
  Delete: 0xffff,
  Sys_Req: 0xff15,
  Print: 0xff61,
  Shift_L: 0xffe1,
  ISO_Level3_Shift: 0xfe03,
  Control_L: 0xffe3,
  Alt_L: 0xffe9,
  Super_L: 0xffeb,
  F1: 0xffbe,
} as const

interface ComboKey {
  keysym: number
  code: string
}

export interface KeyCombo {
  id: string
  label: string
  /** pressed in this order, released in reverse */
  keys: ComboKey[]
}

const CTRL: ComboKey = { keysym: XK.Control_L, code: 'ControlLeft' }
const ALT: ComboKey = { keysym: XK.Alt_L, code: 'AltLeft' }
const fn = (n: number): ComboKey => ({ keysym: XK.F1 + n - 1, code: `F${n}` })

export const CTRL_ALT_DEL: KeyCombo = { id: 'ctrl-alt-del', label: 'Ctrl+Alt+Del', keys: [CTRL, ALT, { keysym: XK.Delete, code: 'Delete' }] }

/** The palette: what users ask for (Ctrl+Alt+Del, the Linux virtual terminals, Alt+F4/Alt+Tab) and what a stuck guest needs. */
export const KEY_COMBOS: KeyCombo[] = [
  CTRL_ALT_DEL,
  ...Array.from({ length: 12 }, (_, i): KeyCombo => ({ id: `ctrl-alt-f${i + 1}`, label: `Ctrl+Alt+F${i + 1}`, keys: [CTRL, ALT, fn(i + 1)] })),
  { id: 'alt-f4', label: 'Alt+F4', keys: [ALT, fn(4)] },
  { id: 'alt-tab', label: 'Alt+Tab', keys: [ALT, { keysym: XK.Tab, code: 'Tab' }] },
  { id: 'ctrl-esc', label: 'Ctrl+Esc', keys: [CTRL, { keysym: XK.Escape, code: 'Escape' }] },
  // Linux magic SysRq is Alt+SysRq(+command key); SysRq is the Print Screen key with Alt held
  { id: 'alt-sysrq', label: 'Alt+SysRq', keys: [ALT, { keysym: XK.Sys_Req, code: 'PrintScreen' }] },
  { id: 'super', label: 'Windows / Super', keys: [{ keysym: XK.Super_L, code: 'MetaLeft' }] },
]

export function comboStrokes(combo: KeyCombo): KeyStroke[] {
  return [...combo.keys.map((k) => ({ ...k, down: true })), ...[...combo.keys].reverse().map((k) => ({ ...k, down: false }))]
}

export interface TypedText {
  strokes: KeyStroke[]
  /** characters that were left out (control characters) */
  skipped: string[]
  /** characters sent as bare keysyms because no key of the layout types them (é on US, …) */
  notOnLayout: string[]
}

/** Longest text "Type clipboard" sends in one go (a paste of a whole file is a mistake). */
export const MAX_TYPED_CHARS = 20_000

/** X11 keysym of a character: Latin-1 is the code point, € has its legacy keysym, the rest Unicode */
export function keysymOf(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0
  if (cp <= 0xff) return cp
  if (cp === 0x20ac) return 0x20ac
  return 0x01000000 + cp
}

export function textToStrokes(text: string, layout: KeyboardLayoutId = 'us'): TypedText {
  const strokes: KeyStroke[] = []
  const skipped: string[] = []
  const notOnLayout: string[] = []
  const press = (keysym: number, code: string | null): void => {
    strokes.push({ keysym, code, down: true }, { keysym, code, down: false })
  }
  const normalised = text.replace(/\r\n?/g, '\n')
  for (const ch of normalised) {
    if (ch === '\n') {
      press(XK.Return, 'Enter')
      continue
    }
    if (ch === '\t') {
      press(XK.Tab, 'Tab')
      continue
    }
    const cp = ch.codePointAt(0) ?? 0
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
      skipped.push(ch)
      continue
    }
    const chord = chordFor(layout, ch)
    if (!chord) {
      press(keysymOf(ch), null)
      notOnLayout.push(ch)
      continue
    }
    if (chord.shift) strokes.push({ keysym: XK.Shift_L, code: 'ShiftLeft', down: true })
    if (chord.altgr) strokes.push({ keysym: XK.ISO_Level3_Shift, code: 'AltRight', down: true })
    press(keysymOf(ch), chord.code)
    if (chord.altgr) strokes.push({ keysym: XK.ISO_Level3_Shift, code: 'AltRight', down: false })
    if (chord.shift) strokes.push({ keysym: XK.Shift_L, code: 'ShiftLeft', down: false })
  }
  return { strokes, skipped, notOnLayout }
}
