/**
 * Keyboard layouts for "Type clipboard": which physical key (DOM `code`) and which modifiers type a
 * character on the GUEST's layout. This matters for QEMU (HVM guests), which receives scancodes and
 * lets the guest's own layout pick the character: to type "z" into a German guest, the key that
 * US keyboards label "Y" must be pressed. Servers that take keysyms (vncterm, Xvnc) only look at
 * the keysym, which is always the character itself.
 *
 * Each key: [plain, Shift, AltGr]; a trailing '*' marks a dead key. Dead keys only type their
 * character when followed by another key, which keysym servers would take literally, so characters
 * that only a dead key gives are sent as bare keysyms instead (and reported as such).
 */

export type KeyboardLayoutId = 'us' | 'uk' | 'de' | 'fr'

export const KEYBOARD_LAYOUTS: { id: KeyboardLayoutId; label: string }[] = [
  { id: 'us', label: 'US (QWERTY)' },
  { id: 'uk', label: 'UK (QWERTY)' },
  { id: 'de', label: 'German (QWERTZ)' },
  { id: 'fr', label: 'French (AZERTY)' },
]

export interface KeyChord {
  code: string
  shift: boolean
  altgr: boolean
}

type KeyTable = Record<string, [string, string, string?]>

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'

/** letter keys: code → letter printed on it in the layout */
function letterKeys(swaps: Record<string, string>): KeyTable {
  const t: KeyTable = {}
  for (const l of LETTERS) {
    const code = `Key${l.toUpperCase()}`
    const letter = swaps[code] ?? l
    t[code] = [letter, letter.toUpperCase()]
  }
  return t
}

const US: KeyTable = {
  ...letterKeys({}),
  Backquote: ['`', '~'],
  Digit1: ['1', '!'],
  Digit2: ['2', '@'],
  Digit3: ['3', '#'],
  Digit4: ['4', '$'],
  Digit5: ['5', '%'],
  Digit6: ['6', '^'],
  Digit7: ['7', '&'],
  Digit8: ['8', '*'],
  Digit9: ['9', '('],
  Digit0: ['0', ')'],
  Minus: ['-', '_'],
  Equal: ['=', '+'],
  BracketLeft: ['[', '{'],
  BracketRight: [']', '}'],
  Backslash: ['\\', '|'],
  Semicolon: [';', ':'],
  Quote: ["'", '"'],
  Comma: [',', '<'],
  Period: ['.', '>'],
  Slash: ['/', '?'],
  Space: [' ', ' '],
}

const UK: KeyTable = {
  ...US,
  Backquote: ['`', '¬', '¦'],
  Digit2: ['2', '"'],
  Digit3: ['3', '£'],
  Digit4: ['4', '$', '€'],
  Quote: ["'", '@'],
  Backslash: ['#', '~'],
  IntlBackslash: ['\\', '|'],
}

const DE: KeyTable = {
  ...letterKeys({ KeyY: 'z', KeyZ: 'y' }),
  KeyQ: ['q', 'Q', '@'],
  KeyE: ['e', 'E', '€'],
  KeyM: ['m', 'M', 'µ'],
  Backquote: ['^*', '°'],
  Digit1: ['1', '!'],
  Digit2: ['2', '"', '²'],
  Digit3: ['3', '§', '³'],
  Digit4: ['4', '$'],
  Digit5: ['5', '%'],
  Digit6: ['6', '&'],
  Digit7: ['7', '/', '{'],
  Digit8: ['8', '(', '['],
  Digit9: ['9', ')', ']'],
  Digit0: ['0', '=', '}'],
  Minus: ['ß', '?', '\\'],
  Equal: ['´*', '`*'],
  BracketLeft: ['ü', 'Ü'],
  BracketRight: ['+', '*', '~'],
  Backslash: ['#', "'"],
  Semicolon: ['ö', 'Ö'],
  Quote: ['ä', 'Ä'],
  IntlBackslash: ['<', '>', '|'],
  Comma: [',', ';'],
  Period: ['.', ':'],
  Slash: ['-', '_'],
  Space: [' ', ' '],
}

const FR: KeyTable = {
  ...letterKeys({ KeyQ: 'a', KeyA: 'q', KeyW: 'z', KeyZ: 'w', KeyM: ',' }),
  KeyM: [',', '?'],
  Semicolon: ['m', 'M'],
  KeyE: ['e', 'E', '€'],
  Backquote: ['²', '²'],
  Digit1: ['&', '1'],
  Digit2: ['é', '2', '~*'],
  Digit3: ['"', '3', '#'],
  Digit4: ["'", '4', '{'],
  Digit5: ['(', '5', '['],
  Digit6: ['-', '6', '|'],
  Digit7: ['è', '7', '`*'],
  Digit8: ['_', '8', '\\'],
  Digit9: ['ç', '9', '^'],
  Digit0: ['à', '0', '@'],
  Minus: [')', '°', ']'],
  Equal: ['=', '+', '}'],
  BracketLeft: ['^*', '¨*'],
  BracketRight: ['$', '£', '¤'],
  Quote: ['ù', '%'],
  Backslash: ['*', 'µ'],
  IntlBackslash: ['<', '>'],
  Comma: [';', '.'],
  Period: [':', '/'],
  Slash: ['!', '§'],
  Space: [' ', ' '],
}

const TABLES: Record<KeyboardLayoutId, KeyTable> = { us: US, uk: UK, de: DE, fr: FR }

/** character → chord, per layout; the first (plainest) way to type a character wins */
const CHORDS = new Map<KeyboardLayoutId, Map<string, KeyChord>>()
for (const [id, table] of Object.entries(TABLES) as [KeyboardLayoutId, KeyTable][]) {
  const map = new Map<string, KeyChord>()
  const levels: [number, boolean, boolean][] = [
    [0, false, false],
    [1, true, false],
    [2, false, true],
  ]
  for (const [level, shift, altgr] of levels) {
    for (const [code, chars] of Object.entries(table)) {
      const raw = chars[level]
      if (!raw) continue
      if (raw.length > 1 && raw.endsWith('*')) continue
      if (!map.has(raw)) map.set(raw, { code, shift, altgr })
    }
  }
  CHORDS.set(id, map)
}

export function chordFor(layout: KeyboardLayoutId, ch: string): KeyChord | undefined {
  return CHORDS.get(layout)?.get(ch)
}

export function isKeyboardLayoutId(v: unknown): v is KeyboardLayoutId {
  return v === 'us' || v === 'uk' || v === 'de' || v === 'fr'
}
