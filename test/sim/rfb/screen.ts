/**
 * The simulated screen of one VM: a true-colour framebuffer that shows the VM's name and what was
 * typed on it, plus a record of every input event, so tests can type and then look (at pixels or
 * at the record). One screen per VM uuid, kept across connections like a real VM's display.
 */
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphRows } from './font'

export interface SimKeyEvent {
  keysym: number
  down: boolean
}

/** a QEMU extended key event: the keysym plus the key's scancode (XT set 1, 0x80 bit for E0 keys) */
export interface SimScancodeEvent {
  scancode: number
  keysym: number
  down: boolean
}

export interface SimPointerEvent {
  x: number
  y: number
  buttonMask: number
}

export interface Rect {
  x: number
  y: number
  w: number
  h: number
}

export interface ScreenListener {
  /** pixels inside `rect` changed */
  damage(rect: Rect): void
  /** the guest changed resolution (the whole framebuffer is new) */
  resize(width: number, height: number): void
  /** the guest put text on its clipboard (ServerCutText) */
  cutText(text: string): void
  /** the guest went away (shutdown, reboot): the VNC server closes its connections */
  end(reason: string): void
}

const BACKGROUND = 0x10202c
const TITLE = 0xffffff
const DETAIL = 0x9fb3c8
const TYPED = 0x8ae234
const KEYS = 0xfcaf3e

/** Names shown on screen for non-printable keysyms, so special keys are visible too. */
const KEY_NAMES: Record<number, string> = {
  0xff08: 'BackSpace',
  0xff09: 'Tab',
  0xff0d: 'Return',
  0xff1b: 'Escape',
  0xffff: 'Delete',
  0xff15: 'SysRq',
  0xff61: 'Print',
  0xffe1: 'Shift_L',
  0xffe2: 'Shift_R',
  0xffe3: 'Control_L',
  0xffe4: 'Control_R',
  0xffe9: 'Alt_L',
  0xffea: 'Alt_R',
  0xffeb: 'Super_L',
  0xff51: 'Left',
  0xff52: 'Up',
  0xff53: 'Right',
  0xff54: 'Down',
}

export function keysymName(keysym: number): string {
  const known = KEY_NAMES[keysym]
  if (known) return known
  if (keysym >= 0xffbe && keysym <= 0xffd5) return `F${keysym - 0xffbe + 1}`
  if (keysym >= 0x20 && keysym <= 0x7e) return String.fromCharCode(keysym)
  return `0x${keysym.toString(16)}`
}

export class SimScreen {
  width: number
  height: number
  /** 0xRRGGBB per pixel, row-major */
  pixels: Uint32Array
  /** every key event received, in order */
  readonly keysyms: SimKeyEvent[] = []
  /** the scancodes of QEMU extended key events (3.8 screens; noVNC uses them when offered) */
  readonly scancodes: SimScancodeEvent[] = []
  /** printable characters typed (key-down), Return as '\n', BackSpace applied */
  text = ''
  readonly pointerEvents: SimPointerEvent[] = []
  /** ClientCutText payloads received, in order */
  readonly cutText: string[] = []
  /** RFB connections accepted over the screen's lifetime */
  connections = 0
  /** protocol the last connection negotiated ('3.3' | '3.7' | '3.8') */
  lastProtocol = ''
  private readonly listeners = new Set<ScreenListener>()

  constructor(
    readonly vmUuid: string,
    public name: string,
    width = 800,
    height = 600,
  ) {
    this.width = width
    this.height = height
    this.pixels = new Uint32Array(width * height)
    this.render()
  }

  /** currently attached RFB connections */
  get attached(): number {
    return this.listeners.size
  }

  listen(listener: ScreenListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  key(keysym: number, down: boolean): void {
    this.keysyms.push({ keysym, down })
    if (down) {
      if (keysym === 0xff0d || keysym === 0xff8d) this.text += '\n'
      else if (keysym === 0xff08) this.text = this.text.slice(0, -1)
      else if (keysym >= 0x20 && keysym <= 0x7e) this.text += String.fromCharCode(keysym)
    }
    this.redraw()
  }

  /** a QEMU extended key event: recorded with its scancode, and typed like any key */
  scancodeKey(scancode: number, keysym: number, down: boolean): void {
    this.scancodes.push({ scancode, keysym, down })
    this.key(keysym, down)
  }

  pointer(x: number, y: number, buttonMask: number): void {
    this.pointerEvents.push({ x, y, buttonMask })
  }

  clientCutText(text: string): void {
    this.cutText.push(text)
  }

  /** the guest copies text: every attached client receives a ServerCutText */
  setGuestClipboard(text: string): void {
    for (const l of this.listeners) l.cutText(text)
  }

  /** the guest switches resolution (clients that support DesktopSize follow, others are closed) */
  resize(width: number, height: number): void {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width > 8192 || height > 8192) {
      throw new Error(`SimScreen.resize: invalid size ${width}x${height}`)
    }
    this.width = width
    this.height = height
    this.pixels = new Uint32Array(width * height)
    this.render()
    for (const l of this.listeners) l.resize(width, height)
  }

  /**
   * The VM reboots: the display server goes away (connections close) and the guest comes back
   * with an empty screen, possibly at another resolution.
   */
  reboot(size?: { width: number; height: number }): void {
    this.end('VM rebooted')
    this.text = ''
    if (size) this.resize(size.width, size.height)
    else this.redraw()
  }

  /** the VM stopped: close every console connection */
  end(reason: string): void {
    for (const l of [...this.listeners]) l.end(reason)
    this.listeners.clear()
  }

  private redraw(): void {
    const before = this.pixels.slice()
    this.render()
    const damage = diffBounds(before, this.pixels, this.width, this.height)
    if (damage) for (const l of this.listeners) l.damage(damage)
  }

  private render(): void {
    this.pixels.fill(BACKGROUND)
    const margin = 16
    this.drawText(this.name, margin, margin, 3, TITLE)
    this.drawText(`${this.vmUuid}  ${this.width}x${this.height}`, margin, margin + 30, 1, DETAIL)
    const keys = this.keysyms
      .filter((k) => k.down)
      .slice(-10)
      .map((k) => keysymName(k.keysym))
      .join(' ')
    this.drawText(`keys: ${keys}`, margin, margin + 46, 1, KEYS)
    // typed text as a terminal: wrap at the width, keep the last lines that fit
    const scale = 2
    const cols = Math.max(1, Math.floor((this.width - 2 * margin) / ((GLYPH_WIDTH + 1) * scale)))
    const lines: string[] = []
    for (const raw of `login: ${this.text}_`.split('\n')) {
      let rest = raw
      do {
        lines.push(rest.slice(0, cols))
        rest = rest.slice(cols)
      } while (rest.length > 0)
    }
    const top = margin + 70
    const lineHeight = (GLYPH_HEIGHT + 3) * scale
    const fit = Math.max(1, Math.floor((this.height - top - margin) / lineHeight))
    lines.slice(-fit).forEach((line, i) => this.drawText(line, margin, top + i * lineHeight, scale, TYPED))
  }

  private drawText(text: string, x0: number, y0: number, scale: number, colour: number): void {
    let x = x0
    for (const ch of text) {
      const rows = glyphRows(ch)
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        const bits = rows[row] ?? 0
        if (bits === 0) continue
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if (!(bits & (1 << (GLYPH_WIDTH - 1 - col)))) continue
          this.fillRect(x + col * scale, y0 + row * scale, scale, scale, colour)
        }
      }
      x += (GLYPH_WIDTH + 1) * scale
      if (x >= this.width) break
    }
  }

  private fillRect(x: number, y: number, w: number, h: number, colour: number): void {
    const x1 = Math.min(this.width, x + w)
    const y1 = Math.min(this.height, y + h)
    for (let yy = Math.max(0, y); yy < y1; yy++) this.pixels.fill(colour, yy * this.width + Math.max(0, x), yy * this.width + x1)
  }
}

function diffBounds(a: Uint32Array, b: Uint32Array, width: number, height: number): Rect | undefined {
  if (a.length !== b.length) return { x: 0, y: 0, w: width, h: height }
  let minX = width
  let minY = height
  let maxX = -1
  let maxY = -1
  for (let y = 0; y < height; y++) {
    const row = y * width
    for (let x = 0; x < width; x++) {
      if (a[row + x] !== b[row + x]) {
        if (x < minX) minX = x
        if (x > maxX) maxX = x
        if (y < minY) minY = y
        maxY = y
      }
    }
  }
  if (maxX < 0) return undefined
  return { x: minX, y: minY, w: maxX - minX + 1, h: maxY - minY + 1 }
}
