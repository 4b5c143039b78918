/**
 * What the console sends on the user's behalf: key combos and typed text as RFB keysyms (US QWERTY).
 */
import { describe, expect, it } from 'vitest'
import { CTRL_ALT_DEL, KEY_COMBOS, comboStrokes, textToStrokes } from '../../../renderer/src/views/console/keys'
import { consoleRouteHash, parseConsoleRoute, popoutUrl } from '../../../renderer/src/views/console/route'

const downs = (s: { keysym: number; down: boolean }[]): number[] => s.filter((k) => k.down).map((k) => k.keysym)

describe('key combos', () => {
  it('Ctrl+Alt+Del presses Control_L, Alt_L, Delete and releases them in reverse', () => {
    expect(comboStrokes(CTRL_ALT_DEL).map((s) => [s.keysym, s.down])).toEqual([
      [0xffe3, true],
      [0xffe9, true],
      [0xffff, true],
      [0xffff, false],
      [0xffe9, false],
      [0xffe3, false],
    ])
  })

  it('offers Ctrl+Alt+F1…F12, Alt+F4, Alt+Tab, Ctrl+Esc and Alt+SysRq', () => {
    const labels = KEY_COMBOS.map((c) => c.label)
    for (let i = 1; i <= 12; i++) expect(labels).toContain(`Ctrl+Alt+F${i}`)
    expect(labels).toEqual(expect.arrayContaining(['Alt+F4', 'Alt+Tab', 'Ctrl+Esc', 'Alt+SysRq']))
    const f12 = KEY_COMBOS.find((c) => c.id === 'ctrl-alt-f12')
    expect(f12 && downs(comboStrokes(f12))).toEqual([0xffe3, 0xffe9, 0xffc9])
    const sysrq = KEY_COMBOS.find((c) => c.id === 'alt-sysrq')
    expect(sysrq && downs(comboStrokes(sysrq))).toEqual([0xffe9, 0xff15])
  })
})

describe('typing text (US QWERTY)', () => {
  it('sends lower case as plain keys and upper case and shifted symbols with Shift held', () => {
    const { strokes } = textToStrokes('aB!')
    expect(strokes.map((s) => [s.keysym, s.code, s.down])).toEqual([
      [0x61, 'KeyA', true],
      [0x61, 'KeyA', false],
      [0xffe1, 'ShiftLeft', true],
      [0x42, 'KeyB', true],
      [0x42, 'KeyB', false],
      [0xffe1, 'ShiftLeft', false],
      [0xffe1, 'ShiftLeft', true],
      [0x21, 'Digit1', true],
      [0x21, 'Digit1', false],
      [0xffe1, 'ShiftLeft', false],
    ])
  })

  it('turns new lines (any convention) into Return and tabs into Tab', () => {
    expect(downs(textToStrokes('a\r\nb\rc\nd\te').strokes)).toEqual([0x61, 0xff0d, 0x62, 0xff0d, 0x63, 0xff0d, 0x64, 0xff09, 0x65])
  })

  it('types every printable ASCII character with its own keysym', () => {
    let all = ''
    for (let c = 0x20; c < 0x7f; c++) all += String.fromCharCode(c)
    const typed = textToStrokes(all)
    expect(typed.notOnLayout).toEqual([])
    expect(downs(typed.strokes).filter((k) => k !== 0xffe1)).toEqual([...all].map((ch) => ch.charCodeAt(0)))
  })

  it('sends characters without a US key as X11 keysyms and says so; drops control characters', () => {
    const typed = textToStrokes('é€ł\u0007')
    expect(downs(typed.strokes)).toEqual([0xe9, 0x20ac, 0x0100_0142])
    expect(typed.notOnLayout).toEqual(['é', '€', 'ł'])
    expect(typed.skipped).toEqual(['\u0007'])
  })
})

describe('typing text for other guest layouts (keys that QEMU turns into scancodes)', () => {
  const chords = (text: string, layout: 'us' | 'uk' | 'de' | 'fr'): string[] =>
    textToStrokes(text, layout).strokes.filter((s) => s.down).map((s) => s.code ?? `keysym:${s.keysym.toString(16)}`)

  it('German QWERTZ: z and y swap keys, @ is AltGr+Q, ß has its own key, € is AltGr+E', () => {
    expect(chords('zy', 'de')).toEqual(['KeyY', 'KeyZ'])
    expect(chords('@', 'de')).toEqual(['AltRight', 'KeyQ'])
    expect(chords('ß€', 'de')).toEqual(['Minus', 'AltRight', 'KeyE'])
    expect(chords('Ä', 'de')).toEqual(['ShiftLeft', 'Quote'])
    const at = textToStrokes('@', 'de').strokes
    expect(at.map((s) => [s.keysym, s.down])).toEqual([
      [0xfe03, true],
      [0x40, true],
      [0x40, false],
      [0xfe03, false],
    ])
  })

  it('French AZERTY: a is on Q, digits need Shift, é is the 2 key', () => {
    expect(chords('aqzwm', 'fr')).toEqual(['KeyQ', 'KeyA', 'KeyW', 'KeyZ', 'Semicolon'])
    expect(chords('1', 'fr')).toEqual(['ShiftLeft', 'Digit1'])
    expect(chords('é', 'fr')).toEqual(['Digit2'])
  })

  it('UK: " is Shift+2, @ is Shift+quote, £ is Shift+3, # has its own key', () => {
    expect(chords('"@£#', 'uk')).toEqual(['ShiftLeft', 'Digit2', 'ShiftLeft', 'Quote', 'ShiftLeft', 'Digit3', 'Backslash'])
  })

  it('keysyms stay the characters whatever the layout (what vncterm and Xvnc read)', () => {
    for (const layout of ['us', 'uk', 'de', 'fr'] as const) {
      const typed = textToStrokes('Hello zy@1', layout)
      expect(downs(typed.strokes).filter((k) => k !== 0xffe1 && k !== 0xfe03)).toEqual([...'Hello zy@1'].map((c) => c.charCodeAt(0)))
    }
  })

  it('leaves characters only a dead key gives as bare keysyms (^ on German keyboards)', () => {
    const typed = textToStrokes('^', 'de')
    expect(typed.notOnLayout).toEqual(['^'])
    expect(typed.strokes.map((s) => s.code)).toEqual([null, null])
  })
})

describe('console routes', () => {
  it('round-trips a VM and a host console through the pop-out URL', () => {
    const vm = { connectionId: 'c-1', vmRef: 'OpaqueRef:1234-abcd' }
    const host = { connectionId: 'c 2', hostRef: 'OpaqueRef:ff' }
    expect(parseConsoleRoute(consoleRouteHash(vm))).toEqual(vm)
    expect(parseConsoleRoute(consoleRouteHash(host))).toEqual(host)
    expect(popoutUrl(vm, { pathname: '/', search: '?token=t' })).toBe('/?token=t#/console/c-1/vm/OpaqueRef%3A1234-abcd')
  })

  it('ignores hashes that are not console routes or carry something else than a ref', () => {
    expect(parseConsoleRoute('')).toBeUndefined()
    expect(parseConsoleRoute('#/console/c/vm/javascript:alert(1)')).toBeUndefined()
    expect(parseConsoleRoute('#/console/c/disk/OpaqueRef:1')).toBeUndefined()
    expect(parseConsoleRoute('#/console/%E0%A4%A/vm/OpaqueRef:1')).toBeUndefined()
  })
})
